"""Benchmark the sandbox API server (issue: sandbox part 1).

Measures, against a real daemon process on 127.0.0.1:
  - start-to-ready (process spawn until /readyz answers),
  - server-side list of 1,000 pods (JSON and Table), and `kubectl get pods` over them,
  - list of 5,000 pods through the official Python client,
  - watch fan-out: 20 watchers each receiving 200 changes,
  - RSS of the server holding 5,000 pods.

Run:  .venv/bin/python benchmarks/bench_api.py [--write docs/benchmarks.md]
The API-only numbers run the daemon with --no-controllers so pods are pure stored objects.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from kk_helpers.grading.procs import rss_mb

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = Path(sys.executable).parent / "kubectl"


def start(state: Path, *extra: str) -> tuple[subprocess.Popen[bytes], dict, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kk_helpers.sandbox.daemon", "--state-dir", str(state),
                             "--mode", "fast", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    info_path = state / "server.json"
    while True:
        if info_path.exists():
            try:
                info = json.loads(info_path.read_text())
                if info["pid"] == proc.pid:
                    info["ssl"] = ssl.create_default_context(cafile=str(state / "tls" / "ca.crt"))
                    info["ca"] = str(state / "tls" / "ca.crt")
                    u = urlparse(info["url"])
                    c = http.client.HTTPSConnection(u.hostname, u.port, timeout=5, context=info["ssl"])
                    c.request("GET", "/readyz")
                    if c.getresponse().status == 200:
                        return proc, info, time.perf_counter() - t0
            except (ValueError, OSError):
                pass
        if proc.poll() is not None:
            raise SystemExit("daemon died")
        time.sleep(0.005)


class Client:
    def __init__(self, info: dict) -> None:
        u = urlparse(info["url"])
        self.conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=60, context=info["ssl"])
        self.token = info["token"]

    def req(self, method: str, path: str, body: object = None, accept: str = "application/json") -> tuple[int, bytes]:
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                                   "Accept": accept})
        r = self.conn.getresponse()
        return r.status, r.read()


def pod(i: int) -> dict:
    return {"metadata": {"name": f"p{i:05d}", "labels": {"app": f"a{i % 10}"}},
            "spec": {"nodeName": "kk-worker", "containers": [{"name": "web", "image": "nginx:1.27",
                                                               "ports": [{"containerPort": 80}]}]}}


def timeit(fn, n: int = 10) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", type=Path, help="append the results as a markdown section to this file")
    args = ap.parse_args()
    results: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as d:
        # start-to-ready, with and without controllers (median of 5 fresh starts)
        fresh, again = [], []
        for i in range(5):
            proc, info, ready = start(Path(d) / f"s{i}")
            fresh.append(ready)
            proc.terminate()
            proc.wait()
            proc, info, ready = start(Path(d) / f"s{i}")
            again.append(ready)
            proc.terminate()
            proc.wait()
        results.append(("start-to-ready, first start (new CA + bootstrap), median of 5",
                        f"{statistics.median(fresh)*1000:.0f} ms", "< 500 ms"))
        results.append(("start-to-ready, restart on existing state (what `kk up` does after `kk down`), median of 5",
                        f"{statistics.median(again)*1000:.0f} ms", "< 500 ms"))

        proc, info, _ = start(Path(d) / "api", "--no-controllers")
        c = Client(info)
        c.req("POST", "/api/v1/namespaces", {"metadata": {"name": "bench"}})
        t = time.perf_counter()
        for i in range(1000):
            st, _ = c.req("POST", "/api/v1/namespaces/bench/pods", pod(i))
            assert st == 201, st
        create_rate = 1000 / (time.perf_counter() - t)
        results.append(("create pods (sequential, one connection)", f"{create_rate:.0f} pods/s", ""))
        list_json = timeit(lambda: c.req("GET", "/api/v1/namespaces/bench/pods"))
        results.append(("server list of 1,000 pods, JSON", f"{list_json*1000:.1f} ms", "< 100 ms"))
        table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        list_table = timeit(lambda: c.req("GET", "/api/v1/namespaces/bench/pods?limit=500", accept=table))
        results.append(("server list of 500 pods as Table (kubectl's page)", f"{list_table*1000:.1f} ms", ""))
        kcfg = Path(d) / "kubeconfig"
        kcfg.write_text(json.dumps({"apiVersion": "v1", "kind": "Config",
                                    "clusters": [{"name": "b", "cluster": {"server": info["url"],
                                                                           "certificate-authority": info["ca"]}}],
                                    "users": [{"name": "b", "user": {"token": info["token"]}}],
                                    "contexts": [{"name": "b", "context": {"cluster": "b", "user": "b"}}],
                                    "current-context": "b"}))
        env = {**os.environ, "HOME": d}
        subprocess.run([str(KUBECTL), "--kubeconfig", str(kcfg), "get", "ns"], env=env, capture_output=True)
        kget = timeit(lambda: subprocess.run([str(KUBECTL), "--kubeconfig", str(kcfg), "-n", "bench", "get", "pods"],
                                             env=env, capture_output=True, check=True), n=5)
        results.append(("`kubectl get pods` with 1,000 pods (whole command)", f"{kget*1000:.0f} ms", ""))

        for i in range(1000, 5000):
            c.req("POST", "/api/v1/namespaces/bench/pods", pod(i))
        list5k = timeit(lambda: c.req("GET", "/api/v1/namespaces/bench/pods"), n=5)
        results.append(("server list of 5,000 pods, JSON", f"{list5k*1000:.0f} ms", ""))
        from kubernetes import client as kclient, config as kconfig

        api = kconfig.new_client_from_config(str(kcfg))
        core = kclient.CoreV1Api(api)
        py_list = timeit(lambda: core.list_namespaced_pod("bench"), n=3)
        results.append(("official Python client list of 5,000 pods (incl. its model decoding)", f"{py_list*1000:.0f} ms", ""))
        py_raw = timeit(lambda: core.list_namespaced_pod("bench", _preload_content=False).read(), n=3)
        results.append(("official Python client list of 5,000 pods, raw (_preload_content=False)", f"{py_raw*1000:.0f} ms", ""))
        results.append(("server RSS holding 5,000 pods", f"{rss_mb(proc.pid):.0f} MB", "< 150 MB"))

        # watch fan-out: 20 watchers, 200 changes
        n_watch, n_events = 20, 200
        got = [0] * n_watch
        done = threading.Event()
        ready = threading.Barrier(n_watch + 1)

        def watcher(idx: int) -> None:
            u = urlparse(info["url"])
            conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=60, context=info["ssl"])
            conn.request("GET", "/api/v1/namespaces/bench/configmaps?watch=true&timeoutSeconds=60",
                         headers={"Authorization": f"Bearer {info['token']}"})
            r = conn.getresponse()
            ready.wait()
            while got[idx] < n_events:
                line = r.fp.readline()
                if not line:
                    break
                if line.strip() and not line.strip().isalnum():
                    if b'"type"' in line:
                        got[idx] += 1
            conn.close()

        threads = [threading.Thread(target=watcher, args=(i,)) for i in range(n_watch)]
        for th in threads:
            th.start()
        time.sleep(0.5)
        ready.wait()
        t = time.perf_counter()
        for i in range(n_events):
            c.req("POST", "/api/v1/namespaces/bench/configmaps", {"metadata": {"name": f"w{i}"}})
        for th in threads:
            th.join(60)
        fan = time.perf_counter() - t
        assert all(g == n_events for g in got), got
        results.append((f"watch fan-out: {n_events} writes delivered to {n_watch} watchers", f"{fan*1000:.0f} ms total "
                        f"({n_events*n_watch/fan:.0f} events/s)", ""))
        proc.terminate()
        proc.wait()

    lines = [f"### API server ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()})", "", "Command: `.venv/bin/python benchmarks/bench_api.py`", "",
             "| measure | result | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in results]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        with args.write.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
