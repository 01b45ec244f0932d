"""Fixtures and helpers shared by the test_notebook_* modules (this module holds no tests).

The notebook tests run against their own in-process sandbox: ``sandbox`` here overrides the one of
tests/conftest.py (whose ``namespace`` fixture then uses it). Isolation both ways: a lab test must not
depend on what other suites leave in the shared sandbox (cluster-wide objects such as nodes), and the node
stop/start drills here must not disturb them. One such sandbox serves every test_notebook_* module.

``kk_env`` gives each test its own ``$KK_HOME`` and a private copy of the sandbox kubeconfig as
``$KUBECONFIG``; ``cluster`` is a connected :class:`~kk_helpers.connect.Cluster` whose default namespace is
the test's fresh namespace.
"""

from __future__ import annotations

import importlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

connect_module = importlib.import_module("kk_helpers.connect")
from kk_helpers.connect import Cluster, open_cluster, set_current
from kk_helpers.sandbox.app import SandboxThread

CONTEXT = "kk-sandbox"
PHP = "vimal13/apache-webserver-php"

_SANDBOX: SandboxThread | None = None


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    """The notebook tests' fast-mode sandbox (one for all test_notebook_* modules)."""
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = SandboxThread(tmp_path_factory.mktemp("notebook-sandbox"), mode="fast").start()
    yield _SANDBOX
    _SANDBOX.stop()  # once per importing module at session end; stopping twice is a no-op


@pytest.fixture
def kk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxThread) -> Iterator[Path]:
    """A private $KK_HOME and $KUBECONFIG (a copy of the sandbox's); no KK_* overrides; no current cluster."""
    assert sandbox.kubeconfig_path is not None
    monkeypatch.setenv("KK_HOME", str(tmp_path / "kkhome"))
    kc = tmp_path / "kubeconfig"
    shutil.copy(sandbox.kubeconfig_path, kc)
    monkeypatch.setenv("KUBECONFIG", str(kc))
    monkeypatch.setenv("KK_SOURCE_KUBECONFIG", "")  # set by kk.lab(); restored after the test
    for var in ("KK_CONTEXT", "KK_NAMESPACE_PREFIX", "KK_STATIC", "KK_CHECK_TIMEOUT", "JUPYTERHUB_USER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(connect_module, "_current", None)
    yield kc


@pytest.fixture
def cluster(kk_env: Path, namespace: str) -> Iterator[Cluster]:
    """The sandbox as a Cluster whose default namespace is this test's namespace (also the helpers' default)."""
    c = open_cluster(kk_env, CONTEXT)
    c.namespace = namespace
    set_current(c)
    yield c
    c.close()


def unique(prefix: str = "t") -> str:
    """A short unique DNS label."""
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def deployment(c: Cluster, name: str = "myd1", image: str = PHP, replicas: int = 1, **kw: Any) -> Any:
    """Create (or reshape) a deployment and wait until it is ready."""
    from kk_helpers.act import ensure_deployment

    return ensure_deployment(name, image, replicas, c.namespace, cluster=c, **kw)


def expose(c: Cluster, name: str = "myd1", *, type_: str = "NodePort", port: int = 80,
           selector: dict[str, str] | None = None) -> dict[str, Any]:
    """Create a service for a deployment, as `kubectl expose` would."""
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": selector or {"app": name},
                     "ports": [{"port": port, "targetPort": 80, "protocol": "TCP"}]}}
    return c.call(c.core.create_namespaced_service, c.namespace, body)


def run_pod(c: Cluster, name: str = "web", image: str = "nginx") -> dict[str, Any]:
    """Create a bare pod, as `kubectl run` would."""
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"run": name}},
            "spec": {"containers": [{"name": name, "image": image}]}}
    return c.call(c.core.create_namespaced_pod, c.namespace, body)


def drop_namespace(c: Cluster, name: str) -> None:
    """Delete a namespace a test made (ignore errors)."""
    try:
        c.call(c.core.delete_namespace, name)
    except Exception:
        pass
