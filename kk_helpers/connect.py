"""Find a cluster and talk to it through the official client.

``connect()`` resolves, in order: an explicit context, ``$KK_CONTEXT``, the
current kubeconfig context if it answers, else it starts the sandbox (as
``kk up`` would). It prints one line saying which cluster and backend it uses.
Every low-level failure becomes a :class:`~kk_helpers.errors.KKError` with one
sentence and the fix.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import kubeconfig
from .config import SANDBOX_CONTEXT
from .errors import ClusterUnreachable, KKError

PROBE_TIMEOUT = 3.0


def backend_of(context: str, git_version: str = "") -> str:
    """sandbox, kind or shared, from the context name and the server's version string."""
    if "kk.sandbox" in git_version or context == SANDBOX_CONTEXT:
        return "sandbox"
    if context.startswith("kind-"):
        return "kind"
    return "shared"


@dataclass
class Cluster:
    """A connected cluster: the official client's ApiClient plus where it points."""

    context: str
    backend: str
    server: str
    version: str
    kubeconfig_path: Path
    api_client: Any = field(repr=False)
    namespace: str = "default"

    @property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @property
    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    @property
    def batch(self) -> Any:
        from kubernetes import client

        return client.BatchV1Api(self.api_client)

    @property
    def discovery(self) -> Any:
        from kubernetes import client

        return client.DiscoveryV1Api(self.api_client)

    def describe(self) -> str:
        return f"Connected to {self.context} ({self.backend}, Kubernetes {self.version}) at {self.server}"

    def _repr_html_(self) -> str:
        from html import escape

        return (f"<div style='font-family:monospace'>🟢 <b>{escape(self.context)}</b> "
                f"<span style='color:#666'>({escape(self.backend)}, Kubernetes {escape(self.version)}, "
                f"{escape(self.server)})</span></div>")


def explain_exception(err: BaseException, context: str, server: str = "") -> KKError:
    """Turn a client/urllib3 failure into one sentence with the fix."""
    from kubernetes.client.rest import ApiException

    where = f"context {context}" + (f" ({server})" if server else "")
    if isinstance(err, ApiException):
        status = getattr(err, "status", 0) or 0
        try:
            message = json.loads(err.body or "{}").get("message", "")
        except (ValueError, TypeError):
            message = ""
        if status == 401:
            return KKError(f"the credentials for {where} were refused (expired or wrong token) — "
                           f"run `kk up` again to refresh them, or get a new kubeconfig from your instructor")
        if status == 403:
            return KKError(f"forbidden on {where}: {message or 'RBAC denies this'} — ask your instructor for "
                           f"access, or use your own lab namespace")
        if status == 404 and "namespaces" in message:
            return KKError(f"{message} on {where} — create it (`kubectl create namespace ...`) or rerun the "
                           f"lab's setup cell (`lab = kk.lab(...)`)")
        return KKError(f"the cluster at {where} answered {status}: {message or err.reason}")
    text = str(err)
    if context.startswith("kind-"):
        hint = "is Docker running? Run: kk up"
    elif context == SANDBOX_CONTEXT:
        hint = "the sandbox is not running. Run: kk up"
    else:
        hint = "check the context (kubectl config get-contexts) or run: kk up"
    if "certificate" in text.lower():
        return ClusterUnreachable(f"TLS failed talking to {where} — the kubeconfig is stale; run: kk up")
    return ClusterUnreachable(f"no cluster answers at {where} — {hint}")


def _client_for(path: Path, context: str) -> Any:
    from kubernetes import config

    try:
        return config.new_client_from_config(str(path), context=context)
    except config.ConfigException as err:
        raise KKError(f"context {context!r} is not in {path} — list contexts with "
                      f"`kubectl config get-contexts`, or run: kk up") from err


def probe(api_client: Any, context: str) -> str:
    """Ask the server for its version; returns gitVersion or raises a KKError."""
    from kubernetes import client

    try:
        info = client.VersionApi(api_client).get_code(_request_timeout=PROBE_TIMEOUT)
    except Exception as err:  # urllib3 errors, ApiException, timeouts
        raise explain_exception(err, context, api_client.configuration.host) from err
    return info.git_version


def _silence_urllib3_retries(api_client: Any) -> None:
    """No retry storms (and no urllib3 warnings on stderr) when a cluster is down."""
    api_client.configuration.retries = False
    try:
        api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    except (AttributeError, KeyError, TypeError):
        pass


def connect(context: str | None = None, *, start_sandbox: bool = True, quiet: bool = False,
            kubeconfig_path: str | Path | None = None) -> Cluster:
    """Connect to a cluster and say which one in one line.

    Args:
        context: kubeconfig context to use; default ``$KK_CONTEXT``, else the current context.
        start_sandbox: when no context is given and the current one does not answer, start the sandbox.
        quiet: do not print the one-line summary.
        kubeconfig_path: kubeconfig file; default ``$KUBECONFIG``'s first entry or ``~/.kube/config``.
    """
    path = Path(kubeconfig_path) if kubeconfig_path else kubeconfig.default_path()
    explicit = context or os.environ.get("KK_CONTEXT") or None
    cluster: Cluster | None = None
    if explicit:
        cluster = _connect_to(path, explicit)
    else:
        data = kubeconfig.load(path) if path.exists() else {}
        current = data.get("current-context") if data else ""
        if current:
            try:
                cluster = _connect_to(path, current)
            except KKError:
                if not start_sandbox:
                    raise
        if cluster is None:
            if not start_sandbox:
                raise ClusterUnreachable("no kubeconfig context is set and no cluster answers — run: kk up")
            from .sandbox import daemon

            daemon.ensure_running(mode=os.environ.get("KK_SANDBOX_MODE", "realistic"))
            path = kubeconfig.default_path()
            cluster = _connect_to(path, SANDBOX_CONTEXT)
    if not quiet:
        print(cluster.describe())
    return cluster


def _connect_to(path: Path, context: str) -> Cluster:
    api_client = _client_for(path, context)
    _silence_urllib3_retries(api_client)
    version = probe(api_client, context)
    data = kubeconfig.load(path)
    ctx = next((c.get("context") or {} for c in data["contexts"] if c.get("name") == context), {})
    return Cluster(context=context, backend=backend_of(context, version), server=api_client.configuration.host,
                   version=version, kubeconfig_path=path, api_client=api_client,
                   namespace=ctx.get("namespace") or "default")
