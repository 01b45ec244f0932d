"""Benchmark the sandbox's controllers and simulated nodes (issue: sandbox part 2).

Measures, against a real daemon in fast mode, driven by the real kubectl:
  - `kubectl create deployment --replicas=100` until 100 pods are Ready,
  - 1,000 pods over 10 nodes (a 10-worker sandbox): time to Ready, then `kubectl get pods` and RSS,
  - idle CPU of the daemon over 10 s with those pods running (watch-driven controllers: should be ~0).

Run:  .venv/bin/python benchmarks/bench_controllers.py [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kk_helpers.grading.procs import cpu_seconds, rss_mb

KUBECTL = str(Path(sys.executable).parent / "kubectl")


def start(home: Path, workers: int) -> tuple[subprocess.Popen[bytes], Path]:
    state = home / "sandbox"
    state.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-m", "kk_helpers.sandbox.daemon", "--state-dir", str(state),
                             "--mode", "fast", "--workers", str(workers)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    info_path = state / "server.json"
    while not info_path.exists():
        time.sleep(0.02)
    info = json.loads(info_path.read_text())
    kcfg = home / "kubeconfig"
    import base64

    ca = base64.b64encode((state / "tls" / "ca.crt").read_bytes()).decode()
    kcfg.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "b", "cluster": {"server": info["url"], "certificate-authority-data": ca}}],
        "users": [{"name": "b", "user": {"token": info["token"]}}],
        "contexts": [{"name": "b", "context": {"cluster": "b", "user": "b", "namespace": "default"}}],
        "current-context": "b"}))
    return proc, kcfg


def kubectl(kcfg: Path, *args: str) -> str:
    env = {**os.environ, "HOME": str(kcfg.parent)}
    return subprocess.run([KUBECTL, "--kubeconfig", str(kcfg), *args], env=env, capture_output=True, text=True,
                          check=True).stdout


def ready_count(kcfg: Path, selector: str) -> int:
    pods = json.loads(kubectl(kcfg, "get", "pods", "-l", selector, "-o", "json"))["items"]
    return sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                      for c in (p.get("status") or {}).get("conditions") or []))


def wait_ready(kcfg: Path, selector: str, n: int, timeout: float = 600) -> float:
    t = time.perf_counter()
    while ready_count(kcfg, selector) < n:
        if time.perf_counter() - t > timeout:
            raise SystemExit(f"timed out waiting for {n} ready pods")
        time.sleep(0.1)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as d:
        proc, kcfg = start(Path(d) / "a", 2)
        try:
            kubectl(kcfg, "get", "ns")
            t = time.perf_counter()
            kubectl(kcfg, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=100")
            wait_ready(kcfg, "app=web", 100)
            rows.append(("`kubectl create deployment --replicas=100` to 100 Ready pods (2 workers)",
                         f"{time.perf_counter() - t:.2f} s", "< 3 s"))
            c0 = cpu_seconds(proc.pid)
            time.sleep(10)
            rows.append(("idle daemon CPU with 100 pods running, over 10 s", f"{cpu_seconds(proc.pid) - c0:.2f} CPU-s",
                         "near zero"))
        finally:
            proc.terminate()
            proc.wait()
        proc, kcfg = start(Path(d) / "b", 10)
        try:
            kubectl(kcfg, "get", "ns")
            t = time.perf_counter()
            for i in range(10):
                kubectl(kcfg, "create", "deployment", f"big{i}", "--image=httpd:2.4", "--replicas=100")
            for i in range(10):
                wait_ready(kcfg, f"app=big{i}", 100)
            rows.append(("1,000 pods (10 deployments x 100) over 10 workers to Ready", f"{time.perf_counter() - t:.1f} s", ""))
            t = time.perf_counter()
            out = kubectl(kcfg, "get", "pods")
            rows.append(("`kubectl get pods` listing 1,000 running pods", f"{(time.perf_counter() - t) * 1000:.0f} ms "
                         f"({len(out.splitlines()) - 1} rows)", ""))
            rows.append(("daemon RSS with 1,000 running pods", f"{rss_mb(proc.pid):.0f} MB", ""))
            c0 = cpu_seconds(proc.pid)
            time.sleep(10)
            rows.append(("idle daemon CPU with 1,000 pods running, over 10 s",
                         f"{cpu_seconds(proc.pid) - c0:.2f} CPU-s", "near zero"))
        finally:
            proc.terminate()
            proc.wait()
    lines = [f"### Controllers and nodes ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, fast mode)", "",
             "Command: `.venv/bin/python benchmarks/bench_controllers.py`", "",
             "| measure | result | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        with args.write.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
