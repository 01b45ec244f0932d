"""Does the sandbox API survive bad input, crashes and races?

- 5,000+ random malformed requests get 4xx Statuses, never a 5xx, and the server still answers.
- Acknowledged writes survive ``kill -9`` of the server process; resourceVersions keep increasing.
- Eight clients racing read-modify-write lose no update; the losers get 409 Conflict.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALID_DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fz"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "fz"}},
             "template": {"metadata": {"labels": {"app": "fz"}},
                          "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
}

PATHS = [
    "/api/v1/namespaces/{ns}/pods", "/api/v1/namespaces/{ns}/pods/x", "/api/v1/namespaces/{ns}/pods/x/log",
    "/api/v1/namespaces/{ns}/services", "/api/v1/namespaces/{ns}/configmaps", "/api/v1/namespaces/{ns}/configmaps/fz",
    "/apis/apps/v1/namespaces/{ns}/deployments", "/apis/apps/v1/namespaces/{ns}/deployments/fz",
    "/apis/apps/v1/namespaces/{ns}/deployments/fz/scale", "/apis/apps/v1/namespaces/{ns}/deployments/fz/status",
    "/apis/batch/v1/namespaces/{ns}/jobs", "/api/v1/nodes", "/api/v1/namespaces", "/api/v1/namespaces/{ns}",
    "/apis/nope/v1/things", "/api/v2/pods", "/api/v1/namespaces/{ns}/foos", "/apis/apps/v1/deployments/x",
    "/api/v1/namespaces/{ns}/pods/x/eviction", "/api/v1/namespaces/{ns}/pods/x/binding",
    "/api/v1/namespaces/{ns}/secrets/%00%ff", "/api/v1/namespaces/../pods", "/openapi/v3/apis/none/v1",
]
CONTENT_TYPES = [
    "application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "text/plain",
    "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
    "application/apply-patch+yaml", "", "application/x-www-form-urlencoded",
]
QUERIES = ["", "?watch=true&timeoutSeconds=0", "?labelSelector=a%20in", "?fieldSelector=spec.foo=1",
           "?limit=abc", "?continue=%%%", "?dryRun=Nope", "?fieldValidation=Loud", "?resourceVersion=abc&watch=1&timeoutSeconds=0",
           "?gracePeriodSeconds=x", "?propagationPolicy=Sideways", "?fieldManager=" + "m" * 200, "?force=true",
           "?fieldValidation=Strict"]


def mutate(obj: object, rnd: random.Random, depth: int = 0) -> object:
    """Replace one random leaf or node with a value of the wrong type."""
    wrong = rnd.choice([None, -1, 2**70, "x" * rnd.randint(0, 300), [], {}, [1, "a"], True, 1.5, {"$patch": "delete"}])
    if isinstance(obj, dict) and obj and depth < 6 and rnd.random() < 0.8:
        k = rnd.choice(list(obj))
        return {**obj, k: mutate(obj[k], rnd, depth + 1)}
    if isinstance(obj, list) and obj and depth < 6 and rnd.random() < 0.8:
        i = rnd.randrange(len(obj))
        return obj[:i] + [mutate(obj[i], rnd, depth + 1)] + obj[i + 1:]
    return wrong


def body_for(rnd: random.Random, draw_bytes: bytes) -> bytes:
    kind = rnd.randrange(9)
    if kind == 0:
        return draw_bytes
    if kind == 1:
        return json.dumps(mutate(VALID_DEPLOYMENT, rnd)).encode()
    if kind == 2:
        raw = json.dumps(VALID_DEPLOYMENT).encode()
        cut = rnd.randrange(len(raw))
        return raw[:cut]
    if kind == 3:
        return b"k8s\x00" + draw_bytes
    if kind == 4:
        return ("[" * rnd.randint(100, 3000)).encode()
    if kind == 5:
        return json.dumps([{"op": rnd.choice(["add", "remove", "replace", "move", "test", "bogus"]),
                            "path": rnd.choice(["/spec/replicas", "/x/y/z", "", "/metadata/name", "~1"]),
                            "value": mutate({"a": 1}, rnd)}]).encode()
    if kind == 6:
        return b"a: [b, c\n  - : {" + draw_bytes
    if kind == 7:
        return json.dumps({"metadata": {"name": rnd.choice(["", "UPPER", "a" * 300, "ok-name", "x/y", None, 5])},
                           "data": mutate({"k": "v"}, rnd)}).encode()
    return b""


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes, ctype: str,
             token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    if ctype:
        headers["Content-Type"] = ctype
    conn.request(method, path, body=body or None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 400 and method != "HEAD":
        # every failure must be a Status
        assert resp.getheader("Content-Type", "").startswith("application/json"), (method, path, resp.status)
        assert json.loads(data)["kind"] == "Status", data[:200]
    return resp.status


@pytest.fixture
def own_sandbox(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A sandbox of its own: the fuzzer deletes whatever its requests name (nodes included)."""
    from kk_helpers.sandbox.app import SandboxThread

    with SandboxThread(tmp_path, mode="fast") as sb:
        yield sb


@pytest.mark.slow
def test_fuzz_no_5xx(own_sandbox) -> None:
    """Do 5,000 random malformed requests all get answers below 500, with the server still answering?"""
    sandbox = own_sandbox
    namespace = "fuzz"
    from kk_helpers.sandbox.registry import WriteOptions
    from kk_helpers.sandbox.resources import NAMESPACES

    reg = sandbox.sandbox.registry
    sandbox.call(lambda: reg.create(NAMESPACES, None, {"metadata": {"name": namespace}}, WriteOptions()))
    u = urlparse(sandbox.url)
    ctx = sandbox.ssl_context()
    conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=30, context=ctx)
    statuses: dict[int, int] = {}
    count = 0

    @settings(max_examples=5000, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(seed=st.integers(0, 2**32 - 1), raw=st.binary(max_size=512))
    def one(seed: int, raw: bytes) -> None:
        nonlocal count, conn
        rnd = random.Random(seed)
        method = rnd.choice(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
        path = rnd.choice(PATHS).format(ns=namespace) + rnd.choice(QUERIES)
        body = body_for(rnd, raw)
        ctype = rnd.choice(CONTENT_TYPES)
        try:
            status = _request(conn, method, path, body, ctype, sandbox.token)
        except (http.client.HTTPException, ConnectionError):
            conn.close()
            conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=30, context=ctx)
            status = _request(conn, "GET", "/readyz", b"", "", sandbox.token)
        statuses[status] = statuses.get(status, 0) + 1
        count += 1
        assert status < 500, (method, path, ctype, body[:200], status)

    one()
    # a request body over 3 MiB: 413
    big = b'{"metadata":{"name":"big"},"data":{"k":"' + b"x" * (3 * 1024 * 1024 + 10) + b'"}}'
    assert _request(conn, "POST", f"/api/v1/namespaces/{namespace}/configmaps", big, "application/json",
                    sandbox.token) == 413
    assert count >= 5000
    assert _request(conn, "GET", f"/api/v1/namespaces/{namespace}/configmaps", b"", "", sandbox.token) == 200
    assert sum(v for k, v in statuses.items() if 400 <= k < 500) > 1000


def _start_daemon(state: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "kk_helpers.sandbox.daemon", "--state-dir", str(state),
                             "--mode", "fast"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    info_path = state / "server.json"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if info_path.exists():
            try:
                info = json.loads(info_path.read_text())
                if info["pid"] == proc.pid:
                    info["ssl"] = ssl.create_default_context(cafile=str(state / "tls" / "ca.crt"))
                    return proc, info
            except ValueError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("daemon did not start")


def _http(info: dict[str, Any], method: str, path: str, body: object = None) -> tuple[int, dict]:
    u = urlparse(info["url"])
    conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=10, context=info["ssl"])
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Authorization": f"Bearer {info['token']}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = json.loads(resp.read() or b"{}")
    conn.close()
    return resp.status, data


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    """After N acknowledged writes and `kill -9`, does a restart bring all N back with rising resourceVersions?"""
    proc, info = _start_daemon(tmp_path)
    n = 200
    last_rv = 0
    try:
        for i in range(n):
            status, obj = _http(info, "POST", "/api/v1/namespaces/default/configmaps",
                                {"metadata": {"name": f"d{i}"}, "data": {"i": str(i)}})
            assert status == 201
            last_rv = int(obj["metadata"]["resourceVersion"])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    proc, info = _start_daemon(tmp_path)
    try:
        status, lst = _http(info, "GET", "/api/v1/namespaces/default/configmaps")
        assert status == 200
        names = {i["metadata"]["name"] for i in lst["items"]}
        assert {f"d{i}" for i in range(n)} <= names
        assert {i["data"]["i"] for i in lst["items"] if i["metadata"]["name"].startswith("d")} == {str(i) for i in range(n)}
        status, obj = _http(info, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "after"}})
        assert status == 201
        assert int(obj["metadata"]["resourceVersion"]) > last_rv
    finally:
        proc.terminate()
        proc.wait(10)


def test_concurrent_read_modify_write_loses_nothing(sandbox, namespace) -> None:
    """Do 8 clients racing read-modify-write on one object lose no increment, with losers getting 409?"""
    info = {"url": sandbox.url, "token": sandbox.token, "ssl": sandbox.ssl_context()}
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    status, _ = _http(info, "POST", path, {"metadata": {"name": "counter"}, "data": {"n": "0"}})
    assert status == 201
    per_client = 25
    conflicts = [0] * 8

    def worker(idx: int) -> None:
        done = 0
        while done < per_client:
            _, obj = _http(info, "GET", f"{path}/counter")
            obj["data"]["n"] = str(int(obj["data"]["n"]) + 1)
            status, body = _http(info, "PUT", f"{path}/counter", obj)
            if status == 200:
                done += 1
            else:
                assert status == 409 and body["reason"] == "Conflict"
                conflicts[idx] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    _, obj = _http(info, "GET", f"{path}/counter")
    assert obj["data"]["n"] == str(8 * per_client)
    assert sum(conflicts) > 0
