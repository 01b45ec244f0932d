"""Do the simulated kubelet and node lifecycle behave as a kind cluster's, seen through the real kubectl?

Against the fast-mode sandbox: ``kubectl get pods -w`` shows a pod's transitions
(Pending, ContainerCreating, Running, Terminating; in realistic mode, where each
stage lasts long enough to see); ``kubectl describe`` shows a
pod's events and a service's endpoints; a pod whose phase is set to ``Failed``
through the status subresource stays terminal (the kubelet never resurrects it)
and its ReplicaSet replaces it; and when a node is stopped, its evicted pods stay
``Terminating`` (the kubelet cannot confirm) while their replacements run on the
other worker with the ReplicaSet and Deployment counts right, until the node
starts again and the old pods are removed.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import VENV_KUBECTL, Kubectl
from kubernetes import client
from waiting import wait_until

from kk_helpers.sandbox.app import SandboxThread

W1, W2 = "kk-worker", "kk-worker2"
STOPPED = "sandbox.kk.dev/stopped"


def core(api: Any) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def apps(api: Any) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def is_ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def live(api: Any, ns: str, selector: str) -> list[client.V1Pod]:
    return [p for p in core(api).list_namespaced_pod(ns, label_selector=selector).items
            if p.metadata.deletion_timestamp is None and p.status.phase not in ("Succeeded", "Failed")]


def deployment_ready(api: Any, ns: str, name: str, replicas: int) -> bool:
    d = apps(api).read_namespaced_deployment(name, ns)
    s = d.status
    return (s.observed_generation == d.metadata.generation and (s.ready_replicas or 0) == replicas
            and (s.available_replicas or 0) == replicas and (s.replicas or 0) == replicas)


def statuses(watch_output: str, pod: str) -> list[str]:
    """The STATUS column of each line about ``pod`` in `kubectl get pods -w` output, repeats collapsed."""
    out: list[str] = []
    for line in watch_output.splitlines():
        cells = line.split()
        if cells and cells[0] == pod and (not out or out[-1] != cells[2]):
            out.append(cells[2])
    return out


# -- kubectl views -----------------------------------------------------------------------------


@pytest.mark.kubectl
def test_get_pods_watch_shows_the_transitions(tmp_path: Path) -> None:
    """In realistic mode, does `kubectl get pods -w` print Pending, ContainerCreating, Running, then Terminating?"""
    if not VENV_KUBECTL.exists():
        pytest.skip("the pinned kubectl is not installed")
    with SandboxThread(tmp_path, mode="realistic") as sb:
        assert sb.kubeconfig_path is not None
        k = Kubectl(str(VENV_KUBECTL), sb.kubeconfig_path, "default")
        cmd = [k.binary, "--kubeconfig", str(k.kubeconfig), "-n", "default", "get", "pods", "--watch",
               "--request-timeout=30s"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={"HOME": str(k.kubeconfig.parent), "PATH": "/usr/bin:/bin"})
        try:
            time.sleep(1.0)  # the watch is open ("No resources found" goes to stderr)
            k("run", "w1", "--image=nginx:1.27")
            k("wait", "--for=condition=Ready", "pod/w1", "--timeout=20s")
            k("delete", "pod", "w1", "--wait=true")
            time.sleep(0.5)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
    seen = statuses(out, "w1")
    assert seen[:3] == ["Pending", "ContainerCreating", "Running"], out
    assert "Terminating" in seen[3:], out
    assert out.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


@pytest.mark.kubectl
def test_describe_shows_pod_events_and_service_endpoints(pinned_kubectl, api) -> None:
    """Does `describe pod` list the kubelet's and scheduler's events, and `describe svc` the ready endpoints?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    k("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")
    k("rollout", "status", "deployment/web", "--timeout=30s")
    k("expose", "deployment", "web", "--port=80", "--type=NodePort")
    pods = live(api, ns, "app=web")
    ips = sorted(p.status.pod_ip for p in pods)
    pod = pods[0].metadata.name
    described = k("describe", "pod", pod).stdout
    events = described.split("\nEvents:\n", 1)[1].splitlines()[2:]
    rows = [line.split(None, 4) for line in events if line.strip()]
    node = pods[0].spec.node_name
    assert rows[0][1:2] + rows[0][3:] == ["Scheduled", "default-scheduler",
                                          f"Successfully assigned {ns}/{pod} to {node}"], described
    if rows[1][1] == "Pulling":  # the node had not pulled the image yet
        assert rows[1][3:] == ["kubelet", 'Pulling image "nginx:1.27"']
        assert rows[2][4].startswith('Successfully pulled image "nginx:1.27" in ')
        rows = rows[2:]
    else:  # IfNotPresent, and an earlier pod on this node pulled it
        assert rows[1][4] == 'Container image "nginx:1.27" already present on machine'
        rows = rows[1:]
    assert [r[1] for r in rows] == ["Pulled", "Created", "Started"], described
    assert rows[1][3:] == ["kubelet", "Created container: nginx"]
    assert rows[2][3:] == ["kubelet", "Started container nginx"]
    assert "Status:           Running" in described and f"IP:               {pods[0].status.pod_ip}" in described

    def endpoints_line() -> str | None:
        out = k("describe", "service", "web").stdout
        line = next((ln for ln in out.splitlines() if ln.startswith("Endpoints:")), "")
        return line if all(f"{ip}:80" in line for ip in ips) else None
    line = wait_until(endpoints_line, what="both endpoints in describe")
    assert line.split(None, 1)[1].strip() == ",".join(f"{ip}:80" for ip in ips)
    out = k("describe", "service", "web").stdout
    assert "Type:                     NodePort" in out and "NodePort:" in out


# -- terminal pods -----------------------------------------------------------------------------


def test_failed_set_through_status_stays_failed_and_is_replaced(api, namespace) -> None:
    """Is a running pod made Failed through the status subresource never resurrected, and replaced by its RS?"""
    ns = namespace
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "term"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "term"}},
                     "template": {"metadata": {"labels": {"app": "term"}}, "spec": {"containers": [
                         {"name": "web", "image": "nginx:1.27"}]}}}}
    apps(api).create_namespaced_deployment(ns, body)
    wait_until(lambda: deployment_ready(api, ns, "term", 1), what="1/1")
    victim = live(api, ns, "app=term")[0].metadata.name
    core(api).patch_namespaced_pod_status(victim, ns, {"status": {"phase": "Failed", "reason": "Evicted",
                                                                  "message": "set from outside"}})
    wait_until(lambda: [p for p in live(api, ns, "app=term") if p.metadata.name != victim and is_ready(p)],
               what="a replacement")
    wait_until(lambda: deployment_ready(api, ns, "term", 1), what="1/1 again")

    def stopped() -> client.V1Pod | None:
        p = core(api).read_namespaced_pod(victim, ns)
        cs = p.status.container_statuses[0]
        return p if cs.state.terminated is not None else None
    p = wait_until(stopped, what="the container to be stopped")
    time.sleep(0.3)  # give the kubelet every chance to write Running back
    p = core(api).read_namespaced_pod(victim, ns)
    assert p.status.phase == "Failed" and p.status.reason == "Evicted"
    assert not p.status.container_statuses[0].ready and p.status.container_statuses[0].state.running is None
    assert not is_ready(p)


# -- stopped nodes -----------------------------------------------------------------------------


@pytest.mark.kubectl
def test_stopped_node_pods_stay_terminating_while_replacements_run(pinned_kubectl, api) -> None:
    """With a worker stopped, do its pods stay Terminating while 4/4 run on the other, until it starts again?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    k("create", "deployment", "drill", "--image=nginx:1.27", "--replicas=4")
    wait_until(lambda: deployment_ready(api, ns, "drill", 4), what="4/4")
    on_w1 = {p.metadata.name for p in live(api, ns, "app=drill") if p.spec.node_name == W1}
    assert on_w1 and len(on_w1) < 4
    k("annotate", "node", W1, f"{STOPPED}=true", namespaced=False)
    try:
        def replaced() -> list[client.V1Pod] | None:
            pods = core(api).list_namespaced_pod(ns, label_selector="app=drill").items
            old = [p for p in pods if p.metadata.name in on_w1]
            fresh = [p for p in pods if p.metadata.deletion_timestamp is None]
            ok = (len(old) == len(on_w1) and all(p.metadata.deletion_timestamp for p in old)
                  and len(fresh) == 4 and all(is_ready(p) and p.spec.node_name == W2 for p in fresh))
            return pods if ok else None
        wait_until(replaced, timeout=20, what="replacements on the other worker, the old pods Terminating")
        wait_until(lambda: deployment_ready(api, ns, "drill", 4), what="the Deployment back to 4/4")
        rs = apps(api).list_namespaced_replica_set(ns).items[0]
        assert (rs.status.replicas, rs.status.ready_replicas, rs.status.available_replicas) == (4, 4, 4)
        time.sleep(1.0)  # the kubelet is down: nobody confirms the deletion
        rows = {line.split()[0]: line.split()[2] for line in k("get", "pods", "--no-headers").stdout.splitlines()}
        assert {rows[name] for name in on_w1} == {"Terminating"}
        assert sorted(v for n, v in rows.items() if n not in on_w1) == ["Running"] * 4
        assert k("get", "deploy", "drill", "--no-headers").stdout.split()[1] == "4/4"
    finally:
        k("annotate", "node", W1, f"{STOPPED}-", namespaced=False)
    wait_until(lambda: not ({p.metadata.name for p in core(api).list_namespaced_pod(ns).items} & on_w1),
               timeout=20, what="the old pods to be removed once the node is back")
    assert len(live(api, ns, "app=drill")) == 4
    wait_until(lambda: all(c.status == "True" for c in core(api).read_node(W1).status.conditions
                           if c.type == "Ready"), what="the node Ready again")
