"""kk.connect(): which context it picks, the one line it prints, and the one-sentence errors a learner can hit.

Against the session sandbox, plus kubeconfigs that point at a closed port, a missing context or a wrong
token. Nothing may reach stderr (nbgrader scores a cell with stderr output as 0).
"""

from __future__ import annotations

import importlib
import json
import logging
import socket
from pathlib import Path

import pytest
import yaml

import kk_helpers as kk
from kk_helpers import kubeconfig
from kk_helpers.connect import explain_exception, install_error_display
from kk_helpers.errors import ClusterUnreachable, KKError

from test_notebook_support import CONTEXT, cluster, kk_env, sandbox  # noqa: F401


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_context(path: Path, name: str, server: str, *, token: str = "x", current: bool = False) -> None:
    doc = kubeconfig.build(name, server, token=token)
    kubeconfig.merge(path, doc, switch=current)


def test_explicit_context_prints_one_line(kk_env: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Does connect(context) say which cluster and backend, in exactly one line, and nothing on stderr?"""
    c = kk.connect(CONTEXT)
    out, err = capfd.readouterr()
    assert out.count("\n") == 1 and out.startswith(f"Connected to {CONTEXT} (sandbox, Kubernetes v")
    assert err == ""
    assert c.backend == "sandbox" and kk.current() is c
    assert "kk.sandbox" in c.version


def test_kk_context_env_wins_over_current(kk_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Is $KK_CONTEXT used even when the kubeconfig's current context is another one?"""
    add_context(kk_env, "kind-broken", f"http://127.0.0.1:{closed_port()}", current=True)
    monkeypatch.setenv("KK_CONTEXT", CONTEXT)
    assert kk.connect(quiet=True).context == CONTEXT


def test_current_context_used_when_it_answers(kk_env: Path) -> None:
    """Without a context named, is the kubeconfig's current context used?"""
    assert kubeconfig.load(kk_env)["current-context"] == CONTEXT
    assert kk.connect(quiet=True).context == CONTEXT


def fake_docker(bin_dir: Path, *, running: bool) -> None:
    """A `docker` executable whose `info` succeeds (daemon up) or fails (daemon down)."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "docker"
    script.write_text("#!/bin/sh\n" + ("echo 28.0.1\n" if running else
                                        "echo 'Cannot connect to the Docker daemon' >&2\nexit 1\n"))
    script.chmod(0o755)


@pytest.mark.parametrize("docker,hint", [
    ("missing", "Docker is not installed here; install it for kind, or use the sandbox: kk up --backend sandbox"),
    ("stopped", "Docker is not running; start Docker, then run: kk up"),
    ("running", "Docker runs but the kind cluster is stopped or gone; run: kk up"),
])
def test_unreachable_kind_context_names_docker(kk_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
                                               docker: str, hint: str) -> None:
    """Does a kind context on a closed port say what Docker is doing and what to run, in one sentence?"""
    bin_dir = tmp_path / "bin"
    if docker != "missing":
        fake_docker(bin_dir, running=docker == "running")
    monkeypatch.setenv("PATH", str(bin_dir))
    add_context(kk_env, "kind-kk", f"http://127.0.0.1:{closed_port()}")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    with pytest.raises(ClusterUnreachable) as info:
        kk.connect("kind-kk")
    msg = str(info.value)
    assert msg.startswith("no cluster answers at context kind-kk (http://127.0.0.1:")
    assert msg.endswith("— " + hint)
    assert "\n" not in msg and "urllib3" not in msg and "Max retries" not in msg
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert capfd.readouterr().err == ""


def test_kind_context_down_mid_session() -> None:
    """When a kind cluster stops answering later, is the quick hint about Docker given (no docker call)?"""
    msg = str(explain_exception(ConnectionRefusedError("refused"), "kind-kk", "https://127.0.0.1:40000"))
    assert msg == "no cluster answers at context kind-kk (https://127.0.0.1:40000) — is Docker running? Run: kk up"


def test_unreachable_current_context_without_fallback(kk_env: Path) -> None:
    """With start_sandbox=False, does a dead current context raise instead of starting anything?"""
    add_context(kk_env, "shared-class", f"http://127.0.0.1:{closed_port()}", current=True)
    with pytest.raises(ClusterUnreachable, match="check the context"):
        kk.connect(start_sandbox=False)


def test_wrong_context(kk_env: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Does an unknown context name say so, list the known ones, and say what to run?"""
    with pytest.raises(KKError) as info:
        kk.connect("kind-typo")
    msg = str(info.value)
    assert "context 'kind-typo' is not in" in msg and CONTEXT in msg and "kk up" in msg
    assert capfd.readouterr().err == ""


def test_missing_kubeconfig(tmp_path: Path, kk_env: Path) -> None:
    """Does a kubeconfig path that does not exist say how to get one?"""
    with pytest.raises(KKError, match="there is no kubeconfig at .* kk up"):
        kk.connect(CONTEXT, kubeconfig_path=tmp_path / "nope")


def test_wrong_token_is_expired_credentials(kk_env: Path) -> None:
    """Does a refused token (401) read as expired credentials with the fix?"""
    data = kubeconfig.load(kk_env)
    server = data["clusters"][0]["cluster"]
    doc = kubeconfig.build("stale", server["server"], token="not-the-token")
    doc["clusters"][0]["cluster"] = dict(server)
    kubeconfig.merge(kk_env, doc, switch=False)
    with pytest.raises(KKError) as info:
        kk.connect("stale")
    assert "refused your credentials" in str(info.value) and "kk up" in str(info.value)
    assert not isinstance(info.value, ClusterUnreachable)


def test_dead_current_context_with_valid_token_does_not_hide_401(kk_env: Path) -> None:
    """Is a 401 on the current context raised, not papered over by starting the sandbox?"""
    data = kubeconfig.load(kk_env)
    server = data["clusters"][0]["cluster"]
    doc = kubeconfig.build("stale", server["server"], token="nope")
    doc["clusters"][0]["cluster"] = dict(server)
    kubeconfig.merge(kk_env, doc, switch=True)
    with pytest.raises(KKError, match="credentials"):
        kk.connect()


def test_missing_namespace_sentence(cluster: kk.Cluster) -> None:
    """Does acting in a namespace that does not exist say how to get one?"""
    body = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    with pytest.raises(KKError) as info:
        cluster.call(cluster.core.create_namespaced_pod, "no-such-ns", body, what="creating pod web")
    msg = str(info.value)
    assert msg.startswith('namespaces "no-such-ns" not found on context kk-sandbox')
    assert "kk.lab(" in msg and "while creating pod web" in msg


def test_forbidden_sentence() -> None:
    """Does a 403 name the RBAC message and the way out?"""
    from kubernetes.client.exceptions import ApiException

    err = ApiException(status=403, reason="Forbidden")
    err.body = json.dumps({"kind": "Status", "code": 403, "reason": "Forbidden",
                           "message": 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" '
                                      'in the namespace "default"'})
    msg = str(explain_exception(err, "class", "https://k8s.example:6443", what="listing pods"))
    assert msg.startswith("forbidden on context class (https://k8s.example:6443) while listing pods: pods is forbidden")
    assert "your own lab namespace" in msg


def test_sandbox_context_hint() -> None:
    """Is the sandbox context told to run kk up when down?"""
    msg = str(explain_exception(ConnectionRefusedError("refused"), "kk-sandbox"))
    assert msg == "no cluster answers at context kk-sandbox — the sandbox is not running. Run: kk up"


def test_kkerror_in_ipython_is_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    """In IPython, is a KKError shown as its one sentence, without a traceback, and not on stderr?"""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        install_error_display()
        capfd.readouterr()
        shell.run_cell("from kk_helpers.errors import KKError\nraise KKError('no cluster answers — run: kk up')")
        out, err = capfd.readouterr()
    finally:
        InteractiveShell.clear_instance()
    assert "KKError" in out and "no cluster answers — run: kk up" in out
    assert "Traceback" not in out and err == ""


def test_starts_sandbox_when_nothing_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    """With a dead current context, does connect() start the sandbox (kk up) and say so in its one line?"""
    connect_module = importlib.import_module("kk_helpers.connect")
    from kk_helpers.sandbox import daemon

    home = tmp_path / "home"
    kc = tmp_path / "kubeconfig"
    monkeypatch.setenv("KK_HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(kc))
    monkeypatch.setenv("KK_SANDBOX_MODE", "fast")
    monkeypatch.delenv("KK_CONTEXT", raising=False)
    monkeypatch.setattr(connect_module, "_current", None)
    add_context(kc, "kind-kk", f"http://127.0.0.1:{closed_port()}", current=True)
    try:
        c = kk.connect()
        out, err = capfd.readouterr()
        assert c.context == CONTEXT and c.backend == "sandbox"
        assert out.count("\n") == 1 and "kind-kk did not answer, so kk started the sandbox" in out
        assert err == ""
        assert yaml.safe_load(kc.read_text())["current-context"] == CONTEXT
        c.close()
    finally:
        daemon.stop(home / "sandbox")
