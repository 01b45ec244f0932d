"""Reaching services from the notebook: service_url per backend, http_get and which pod answered, traffic counts.

Against the session sandbox's NodePort proxy (real HTTP on 127.0.10.x), plus pure parsing of answers.
"""

from __future__ import annotations

import json
import socket

import pytest

import kk_helpers as kk
from kk_helpers import net
from kk_helpers.errors import KKError

from test_notebook_support import cluster, deployment, expose, kk_env, sandbox  # noqa: F401


def test_pod_from_headers_and_bodies() -> None:
    """Is the answering pod read from a header, from common body lines, or by a known IP?"""
    assert net.pod_from_response("", {"x-kk-pod": "myd1-a", "X-KK-Pod-IP": "10.244.1.2"}) == ("myd1-a", "10.244.1.2")
    assert net.pod_from_response("<!-- kk sandbox: served by pod web-1 (10.0.0.1) on n -->", {})[0] == "web-1"
    assert net.pod_from_response("<pre>\npod: myd1-x\nip: 1.2.3.4\n</pre>", {})[0] == "myd1-x"
    assert net.pod_from_response("Hostname: hello-7d\nIP: 1.2.3.4\n", {})[0] == "hello-7d"
    assert net.pod_from_response("Hello | Running on: boot-5 | v=1\n", {})[0] == "boot-5"
    assert net.pod_from_response("serve-hostname-abc12", {})[0] == "serve-hostname-abc12"
    known = {"10.244.2.7": "myd1-q"}
    assert net.pod_from_response("inet 10.244.2.7/24 brd", {}, known) == ("myd1-q", "10.244.2.7")
    assert net.pod_from_response("<h1>It works!</h1>", {}, known) == (None, None)


def test_service_url_sandbox_node_ip(cluster: kk.Cluster) -> None:
    """On the sandbox, is the URL a Ready worker's InternalIP and the nodePort, and does it answer?"""
    deployment(cluster, "myd1", replicas=2)
    svc = expose(cluster, "myd1")
    url = kk.service_url("myd1")
    assert url == f"http://127.0.10.3:{svc['spec']['ports'][0]['nodePort']}/"
    r = kk.wait_for(lambda: (answer := kk.http_get(url)).ok and answer, "an answer", timeout=15)
    assert r.ok and r.status == 200 and r.pod and r.pod.startswith("myd1-")
    assert r.pod in {p.name for p in kk.pods(selector="app=myd1")}
    assert repr(r).startswith(f"<HTTP 200 from pod {r.pod}")
    assert "HTTP 200" in r._repr_html_()


def test_service_url_published_annotation(cluster: kk.Cluster) -> None:
    """When the node port is taken on the host, is the URL the sandbox proxy publishes used, and does it answer?"""
    deployment(cluster, "myd1", replicas=2)
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for port in range(30100, 30400):  # a free port in the NodePort range, held on kk-worker's address
            try:
                blocker.bind(("127.0.10.3", port))
                break
            except OSError:
                continue
        blocker.listen()
        body = {"metadata": {"name": "myd1"},
                "spec": {"type": "NodePort", "selector": {"app": "myd1"},
                         "ports": [{"port": 80, "targetPort": 80, "nodePort": port}]}}
        cluster.call(cluster.core.create_namespaced_service, cluster.namespace, body)

        def published() -> str | None:
            ann = kk.get("svc/myd1").annotations.get(net.SANDBOX_URLS_ANNOTATION)
            return ann and json.loads(ann)[str(port)]["kk-worker"]

        remapped = kk.wait_for(published, timeout=15)
        assert remapped.startswith("http://127.0.10.3:") and not remapped.endswith(f":{port}")
        url = kk.service_url("myd1", path="/info")
        assert url == remapped.rstrip("/") + "/info"
        assert kk.http_get(kk.service_url("myd1")).pod.startswith("myd1-")


def test_service_url_clusterip_is_explained(cluster: kk.Cluster) -> None:
    """Does a ClusterIP service say it is only reachable inside, and how to make it a NodePort?"""
    deployment(cluster, "myd1", wait=False)
    expose(cluster, "myd1", type_="ClusterIP")
    with pytest.raises(KKError, match="is of type ClusterIP, reachable only inside the cluster .* --type=NodePort"):
        kk.service_url("myd1")


def test_service_url_missing(cluster: kk.Cluster) -> None:
    """Does a missing service say how to create it?"""
    with pytest.raises(KKError, match="Could not find Service nope .* kubectl expose deployment nope"):
        kk.service_url("nope")


def test_service_url_other_backends(cluster: kk.Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """On kind, is 127.0.0.1:<nodePort> used when it answers, and on a shared cluster a node address?"""
    deployment(cluster, "myd1", wait=False)
    svc = expose(cluster, "myd1")
    port = svc["spec"]["ports"][0]["nodePort"]
    monkeypatch.setattr(cluster, "backend", "kind")
    monkeypatch.setattr(net, "_tcp_open", lambda host, p, timeout=0.5: host == "127.0.0.1" and p == port)
    assert kk.service_url("myd1") == f"http://127.0.0.1:{port}/"
    monkeypatch.setattr(net, "_tcp_open", lambda host, p, timeout=0.5: False)
    assert kk.service_url("myd1") == f"http://127.0.10.3:{port}/"
    monkeypatch.setattr(cluster, "backend", "shared")
    assert kk.service_url("myd1") == f"http://127.0.10.3:{port}/"


def test_http_get_nothing_listening(capfd: pytest.CaptureFixture[str]) -> None:
    """Is a refused connection a status-0 result with the reason, never an exception or stderr?"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = kk.http_get(f"127.0.0.1:{port}", resolve=False)
    assert r.status == 0 and not r.ok and "refused" in r.error.lower()
    assert repr(r).startswith("<HTTP ✗ no answer from http://127.0.0.1:")
    with pytest.raises(KKError, match="no answer"):
        r.raise_for_status()
    assert capfd.readouterr().err == ""


def test_traffic_counts_pods(cluster: kk.Cluster) -> None:
    """Do N requests through the NodePort spread over the pods, counted per pod?"""
    deployment(cluster, "myd1", replicas=3)
    expose(cluster, "myd1")
    url = kk.service_url("myd1")
    kk.wait_for(lambda: kk.http_get(url).ok, "the proxy to listen", timeout=15)
    t = kk.traffic(url, 12)
    assert sum(t.counts.values()) == 12 and t.failures == 0
    assert t.pods == {p.name for p in kk.pods(selector="app=myd1")}
    assert "12 responses, 3 distinct" in repr(t)
    with pytest.raises(KKError):
        kk.traffic("http://127.0.0.1:1/", 0)
