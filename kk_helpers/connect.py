"""Find a cluster and talk to it through the official client.

``connect()`` resolves, in order: an explicit context, ``$KK_CONTEXT``, the
current kubeconfig context if it answers, else it starts the sandbox (as
``kk up`` would). It prints one line saying which cluster and backend it uses.

Every low-level failure a learner can meet (nothing listening, Docker stopped,
a context that is not in the kubeconfig, a missing namespace, RBAC, expired
credentials) becomes a :class:`~kk_helpers.errors.KKError` holding one sentence
with the fix. Nothing here writes to stderr: urllib3 retries are switched off
(they log a warning per retry) and, inside IPython, a :class:`KKError` is shown
as that one sentence instead of a traceback through urllib3.

The last cluster connected (by :func:`connect` or :func:`kk_helpers.lab.lab`)
is the default of every helper: :func:`current`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import kubeconfig
from .config import SANDBOX_CONTEXT
from .errors import ClusterUnreachable, KKError

#: Seconds to wait for ``/version`` before saying a cluster does not answer.
PROBE_TIMEOUT = 3.0
#: Seconds a single API call may take (helpers, checks, widgets).
REQUEST_TIMEOUT = 15.0

_current: Cluster | None = None
_lock = threading.Lock()


def backend_of(context: str, git_version: str = "") -> str:
    """Name the backend behind a context.

    Args:
        context: kubeconfig context name.
        git_version: the server's ``/version`` gitVersion.

    Returns:
        ``sandbox`` (our embedded cluster), ``kind`` or ``shared`` (anything else).
    """
    if "kk.sandbox" in git_version or context == SANDBOX_CONTEXT:
        return "sandbox"
    if context.startswith("kind-"):
        return "kind"
    return "shared"


@dataclass
class Cluster:
    """A connected cluster: the official client's ApiClient plus where it points.

    Attributes:
        context: kubeconfig context name.
        backend: ``sandbox``, ``kind`` or ``shared``.
        server: API server URL.
        version: the server's gitVersion.
        kubeconfig_path: the kubeconfig file the client was built from.
        api_client: ``kubernetes.client.ApiClient``.
        namespace: the context's default namespace.
    """

    context: str
    backend: str
    server: str
    version: str
    kubeconfig_path: Path
    api_client: Any = field(repr=False)
    namespace: str = "default"

    @property
    def core(self) -> Any:
        """``CoreV1Api`` on this cluster."""
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @property
    def apps(self) -> Any:
        """``AppsV1Api`` on this cluster."""
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    @property
    def batch(self) -> Any:
        """``BatchV1Api`` on this cluster."""
        from kubernetes import client

        return client.BatchV1Api(self.api_client)

    @property
    def discovery(self) -> Any:
        """``DiscoveryV1Api`` on this cluster."""
        from kubernetes import client

        return client.DiscoveryV1Api(self.api_client)

    def describe(self) -> str:
        """The one line :func:`connect` prints."""
        return f"Connected to {self.context} ({self.backend}, Kubernetes {self.version}) at {self.server}"

    @contextmanager
    def explained(self, what: str = "") -> Iterator[None]:
        """Turn any client failure inside the block into a one-sentence :class:`KKError`.

        Args:
            what: what was being done, e.g. ``"reading deployment myd1"``.
        """
        try:
            yield
        except KKError:
            raise
        except Exception as err:  # urllib3 errors, ApiException, timeouts
            raise explain_exception(err, self.context, self.server, what=what) from err

    def call(self, fn: Any, *args: Any, what: str = "", **kwargs: Any) -> Any:
        """Call an official-client method, explaining failures; JSON responses come back as dicts.

        ``_preload_content=False`` is passed, so the answer is the wire JSON (camelCase), never a
        model object: one representation for reprs, checks and evidence.

        Args:
            fn: a bound method such as ``cluster.core.list_namespaced_pod``.
            *args: its positional arguments.
            what: what is being done, for the error sentence.
            **kwargs: its keyword arguments.

        Returns:
            The decoded JSON body (a dict), or None for an empty body.
        """
        kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
        with self.explained(what):
            resp = fn(*args, _preload_content=False, **kwargs)
            data = resp.data
        if not data:
            return None
        return json.loads(data)

    def close(self) -> None:
        """Close the client's connection pool."""
        try:
            self.api_client.close()
        except Exception:  # closing twice or during interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"<Cluster {self.context} ({self.backend}, {self.version}) namespace={self.namespace}>"

    def _repr_html_(self) -> str:
        from html import escape

        return (f"<div class='kk-cluster' style='font-family:monospace'><span style='color:#2e7d32'>●</span> <b>{escape(self.context)}</b> "
                f"<span style='color:#666'>({escape(self.backend)}, Kubernetes {escape(self.version)}, "
                f"{escape(self.server)}, namespace {escape(self.namespace)})</span></div>")


def _status_message(err: Any) -> str:
    """The ``message`` of the Status in an ApiException's body, if any."""
    try:
        body = json.loads(err.body or "{}")
    except (ValueError, TypeError):
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def explain_exception(err: BaseException, context: str, server: str = "", *, what: str = "") -> KKError:
    """Turn a client/urllib3 failure into one sentence with the fix.

    Args:
        err: what the official client (or urllib3 under it) raised.
        context: the kubeconfig context in use.
        server: its API server URL, named in the sentence when known.
        what: what was being done (``"listing pods"``), named in the sentence when given.

    Returns:
        A :class:`KKError` (a :class:`ClusterUnreachable` when nothing answered).
    """
    from kubernetes.client.exceptions import ApiException

    where = f"context {context}" + (f" ({server})" if server else "")
    doing = f" while {what}" if what else ""
    if isinstance(err, ApiException) and (err.status or 0) > 0:
        status = err.status or 0
        message = _status_message(err)
        if status == 401:
            return KKError(f"the cluster at {where} refused your credentials{doing} (expired or wrong token) — "
                           f"run `kk up` again to refresh them, or get a new kubeconfig from your instructor")
        if status == 403:
            return KKError(f"forbidden on {where}{doing}: {message or 'RBAC denies this'} — ask your instructor for "
                           f"access, or work in your own lab namespace (lab = kk.lab(...))")
        if status == 404 and message.startswith("namespaces "):
            return KKError(f"{message} on {where}{doing} — create it (`kubectl create namespace ...`) or rerun the "
                           f"lab's setup cell (`lab = kk.lab(...)`)")
        if status == 404:
            return KKError(f"{message or 'not found'} on {where}{doing} — check the name with `kubectl get`")
        return KKError(f"the cluster at {where} answered {status}{doing}: {message or err.reason}")
    text = str(err)
    if "certificate" in text.lower() or "ssl" in type(err).__name__.lower():
        return ClusterUnreachable(f"TLS failed talking to {where}{doing} — the kubeconfig is stale; run: kk up")
    if isinstance(err, TimeoutError) or "timed out" in text.lower() or "timeout" in type(err).__name__.lower():
        return ClusterUnreachable(f"the cluster at {where} did not answer in time{doing} — it may be overloaded "
                                  f"or gone; check `kubectl get nodes`, or run: kk up")
    if context.startswith("kind-"):
        hint = "is Docker running? Run: kk up"
    elif context == SANDBOX_CONTEXT:
        hint = "the sandbox is not running. Run: kk up"
    else:
        hint = "check the context (kubectl config get-contexts) or run: kk up"
    return ClusterUnreachable(f"no cluster answers at {where}{doing} — {hint}")


class _DropUrllib3Warnings(logging.Filter):
    """urllib3 warns on every retry and on full pools; in a notebook that is stderr noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING


_FILTER = _DropUrllib3Warnings()


def quiet_http_logging() -> None:
    """Keep urllib3's retry and pool warnings out of stderr (nbgrader scores a cell with stderr as 0).

    Also silences ``InsecureRequestWarning``, which a class cluster with ``insecure-skip-tls-verify``
    would print on every request.
    """
    import warnings

    from urllib3.exceptions import InsecureRequestWarning

    for name in ("urllib3.connectionpool", "urllib3.poolmanager"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    warnings.filterwarnings("ignore", category=InsecureRequestWarning)


def _kk_error_handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
    """IPython custom-exception handler: a KKError is its one sentence, not a traceback."""
    stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"]
    shell._showtraceback(etype, value, stb)
    return stb


def install_error_display(*extra: type[BaseException]) -> None:
    """Inside IPython, show a :class:`KKError` (and ``extra`` types) as one red line instead of a traceback.

    Args:
        *extra: more exception types to show the same way (the checks add ``CheckFailed``).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    if shell is None:
        return
    global _installed
    existing = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if existing and set(existing) != set(_installed):
        return  # someone else's handler: leave it alone
    wanted = tuple(dict.fromkeys((*existing, KKError, *extra)))
    if wanted != existing:
        shell.set_custom_exc(wanted, _kk_error_handler)
        _installed = wanted


_installed: tuple[type[BaseException], ...] = ()


def new_api_client(path: Path, context: str) -> Any:
    """An official-client ApiClient for one context of a kubeconfig, without urllib3 retries.

    Args:
        path: kubeconfig file.
        context: context name in it.

    Raises:
        KKError: the file or the context is missing, or a credential plugin failed.
    """
    from kubernetes import client, config

    quiet_http_logging()
    if not path.exists():
        raise KKError(f"there is no kubeconfig at {path} — start a cluster with: kk up")
    cfg = client.Configuration()
    try:
        config.load_kube_config(config_file=str(path), context=context, client_configuration=cfg,
                                persist_config=False)
    except config.ConfigException as err:
        text = str(err)
        names = [c.get("name") for c in kubeconfig.load(path).get("contexts", [])]
        if context not in names:
            raise KKError(f"context {context!r} is not in {path} (it has: {', '.join(map(str, names)) or 'none'}) — "
                          f"list contexts with `kubectl config get-contexts`, or run: kk up") from err
        if "exec" in text.lower():
            raise KKError(f"the credential plugin of context {context} failed ({text.splitlines()[0]}) — log in "
                          f"again, or get a fresh kubeconfig from your instructor") from err
        raise KKError(f"context {context} in {path} cannot be used: {text.splitlines()[0] if text else err!r} — "
                      f"fix the kubeconfig or run: kk up") from err
    # No retries: a down cluster fails at once, and urllib3 logs nothing.
    cfg.retries = False
    return client.ApiClient(cfg)


def probe(api_client: Any, context: str) -> str:
    """Ask the server for its version.

    Args:
        api_client: the client to ask with.
        context: its context name, for the error sentence.

    Returns:
        The server's gitVersion.

    Raises:
        KKError: nothing answers, or the server refused.
    """
    from kubernetes import client

    try:
        resp: Any = client.VersionApi(api_client).get_code(_request_timeout=PROBE_TIMEOUT, _preload_content=False)
        info = json.loads(resp.data or b"{}")
    except Exception as err:  # urllib3 errors, ApiException, timeouts
        raise explain_exception(err, context, api_client.configuration.host) from err
    return str(info.get("gitVersion", "unknown"))


def open_cluster(path: Path, context: str) -> Cluster:
    """Connect to one context of a kubeconfig and check that it answers.

    Args:
        path: kubeconfig file.
        context: context name.

    Raises:
        KKError: see :func:`new_api_client` and :func:`probe`.
    """
    api_client = new_api_client(path, context)
    try:
        version = probe(api_client, context)
    except KKError:
        api_client.close()
        raise
    data = kubeconfig.load(path)
    ctx = next((c.get("context") or {} for c in data["contexts"] if c.get("name") == context), {})
    return Cluster(context=context, backend=backend_of(context, version), server=api_client.configuration.host,
                   version=version, kubeconfig_path=path, api_client=api_client,
                   namespace=ctx.get("namespace") or "default")


def connect(context: str | None = None, *, start_sandbox: bool = True, quiet: bool = False,
            kubeconfig_path: str | Path | None = None) -> Cluster:
    """Connect to a cluster and say which one in one line.

    The context is, in order: ``context``, ``$KK_CONTEXT``, the kubeconfig's current context if it
    answers; otherwise the sandbox is started (as ``kk up --backend sandbox`` would). The result becomes
    the default cluster of every helper.

    Args:
        context: kubeconfig context to use.
        start_sandbox: when no context is named and the current one does not answer, start the sandbox.
        quiet: do not print the one-line summary.
        kubeconfig_path: kubeconfig file; default ``$KUBECONFIG``'s first entry or ``~/.kube/config`` (a named
            context missing there is also looked for in the kubeconfig in use before ``kk.lab()``).

    Returns:
        The connected :class:`Cluster`.

    Raises:
        KKError: one sentence saying what is wrong and what to run.
    """
    install_error_display()
    quiet_http_logging()
    path = Path(kubeconfig_path) if kubeconfig_path else kubeconfig.default_path()
    explicit = context or os.environ.get("KK_CONTEXT") or None
    cluster: Cluster | None = None
    note = ""
    if explicit:
        if not kubeconfig_path:
            path = _file_with_context(path, explicit)
        try:
            cluster = open_cluster(path, explicit)
        except ClusterUnreachable as err:
            if explicit.startswith("kind-") and "no cluster answers" in str(err):
                raise ClusterUnreachable(str(err).split(" — ")[0] + " — " + _kind_hint()) from err
            raise
    else:
        data = kubeconfig.load(path) if path.exists() else {}
        current_ctx = str(data.get("current-context") or "") if data else ""
        if current_ctx:
            try:
                cluster = open_cluster(path, current_ctx)
            except ClusterUnreachable:
                if not start_sandbox:
                    raise
                note = f" ({current_ctx} did not answer, so kk started the sandbox)"
            except KKError:
                # A dangling current-context falls back; credentials and RBAC problems do not.
                names = [c.get("name") for c in data.get("contexts", [])]
                if current_ctx in names or not start_sandbox:
                    raise
                note = f" (the current context {current_ctx} is not in {path}, so kk started the sandbox)"
        if cluster is None:
            if not start_sandbox:
                raise ClusterUnreachable("no kubeconfig context is set and no cluster answers — run: kk up")
            from .sandbox import daemon

            daemon.ensure_running(mode=os.environ.get("KK_SANDBOX_MODE", "realistic"))
            path = kubeconfig.default_path()
            cluster = open_cluster(path, SANDBOX_CONTEXT)
    set_current(cluster)
    if not quiet:
        print(cluster.describe() + note)
    return cluster


def docker_state(timeout: float = 5.0) -> str:
    """``missing``, ``stopped`` or ``running``: what ``docker info`` says (for a kind context that is down)."""
    exe = shutil.which("docker")
    if exe is None:
        return "missing"
    try:
        proc = subprocess.run([exe, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "stopped"
    return "running" if proc.returncode == 0 and proc.stdout.strip() else "stopped"


def _kind_hint() -> str:
    state = docker_state()
    if state == "missing":
        return "Docker is not installed here; install it for kind, or use the sandbox: kk up --backend sandbox"
    if state == "stopped":
        return "Docker is not running; start Docker, then run: kk up"
    return "Docker runs but the kind cluster is stopped or gone; run: kk up"


def _file_with_context(path: Path, context: str) -> Path:
    """``path``, or the kubeconfig in use before ``kk.lab()`` ($KK_SOURCE_KUBECONFIG) when only it has ``context``."""
    source = os.environ.get("KK_SOURCE_KUBECONFIG")
    for candidate in (path, Path(source) if source else None):
        if candidate is not None and candidate.exists():
            try:
                names = [c.get("name") for c in kubeconfig.load(candidate).get("contexts", [])]
            except (OSError, ValueError):
                continue
            if context in names:
                return candidate
    return path


def set_current(cluster: Cluster) -> None:
    """Make ``cluster`` the default of every helper."""
    global _current
    with _lock:
        _current = cluster


def current(cluster: Cluster | None = None) -> Cluster:
    """The cluster helpers act on: ``cluster`` if given, else the last connected, else :func:`connect`.

    Args:
        cluster: an explicit cluster, returned as is.
    """
    if cluster is not None:
        return cluster
    with _lock:
        found = _current
    if found is not None:
        return found
    return connect()
