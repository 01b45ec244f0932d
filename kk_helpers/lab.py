"""A lab session: an isolated namespace, a kubeconfig that points at it, setup, reset and checks.

``lab = kk.lab("03-scaling")``:

1. connects (:func:`kk_helpers.connect.connect`, quietly);
2. recreates the lab namespace fresh — deletes it, waits until it is gone, creates it — named
   ``<prefix>-<lab>`` (prefix: the ``prefix`` argument, else ``$KK_NAMESPACE_PREFIX``, else none on the
   sandbox and kind and the user name on a shared cluster, so many learners share one cluster);
3. writes ``$KK_HOME/labs/<lab>/kubeconfig`` — one context, the same cluster and credentials, whose default
   namespace is the lab's — and points the kernel's ``KUBECONFIG`` at it, so ``!kubectl`` cells and
   ``kk.*`` calls act on the same place;
4. runs the lab's setup (declared in ``kk_helpers/checks/labNN.py``), e.g. lab 04 starts with a deployment;
5. prints one line saying where the lab lives.

``lab.reset()`` does 2 and 4 again; ``lab.reset("scale")`` brings only one step back to its start.
``lab.check("task")`` runs a check (see :mod:`kk_helpers.checks`).
"""

from __future__ import annotations

import getpass
import os
import re
import time
from html import escape
from pathlib import Path
from typing import Any

from . import kubeconfig
from .checks.base import CheckFailed, CheckReport, CheckResult, LabChecks, checks_for, lab_number
from .config import kk_home
from .connect import Cluster, connect, install_error_display, open_cluster, set_current
from .errors import KKError

#: Seconds to wait for a deleted namespace to disappear.
NAMESPACE_DELETE_TIMEOUT = 90.0
#: Environment variable remembering the kubeconfig in use before the first lab (see :meth:`Lab.activate`).
SOURCE_ENV = "KK_SOURCE_KUBECONFIG"
#: Label put on lab namespaces.
LAB_LABEL = "kk.dev/lab"
_FILE_KEYS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}


def dns_label(text: str, limit: int = 63) -> str:
    """``text`` as a DNS-1123 label: lower case, ``[a-z0-9-]``, no dash at either end, at most ``limit`` long."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)
    return label[:limit].strip("-") or "lab"


def default_prefix(backend: str) -> str:
    """Namespace prefix: ``$KK_NAMESPACE_PREFIX``, else the user name on a shared cluster, else none."""
    env = os.environ.get("KK_NAMESPACE_PREFIX")
    if env is not None:
        return dns_label(env) if env.strip() else ""
    if backend == "shared":
        user = os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or ""
        if not user:
            try:
                user = getpass.getuser()
            except (KeyError, OSError):
                user = "learner"
        return dns_label(user, 30)
    return ""


def namespace_for(name: str, prefix: str) -> str:
    """``<prefix>-<lab>`` (or just ``<lab>``) as a valid namespace name."""
    return dns_label(f"{prefix}-{name}" if prefix else name)


def _status_code(err: KKError) -> int:
    cause = err.__cause__
    return int(getattr(cause, "status", 0) or 0)


def _namespace_state(cluster: Cluster, name: str) -> dict[str, Any] | None:
    from .helpers import get_object

    return get_object("namespace", name, cluster=cluster)


def empty_namespace(cluster: Cluster, name: str) -> None:
    """Delete the lab objects in a namespace one may not delete (shared clusters)."""
    from .helpers import KINDS

    for info in KINDS:
        if info.kind in ("Deployment", "ReplicaSet", "Job", "CronJob", "Service", "Pod", "ConfigMap"):
            fn = getattr(getattr(cluster, info.api), f"delete_collection_namespaced_{info.snake}", None)
            if fn is None:
                continue
            try:
                cluster.call(fn, name, what=f"emptying namespace {name}")
            except KKError as err:
                if _status_code(err) not in (403, 404, 405):
                    raise
    # Services have no deletecollection on older clusters: delete them one by one.
    from .helpers import list_objects

    for svc in list_objects("services", name, cluster=cluster):
        svc_name = svc["metadata"]["name"]
        try:
            cluster.call(cluster.core.delete_namespaced_service, svc_name, name, what=f"deleting service {svc_name}")
        except KKError as err:
            if _status_code(err) not in (403, 404):
                raise


def recreate_namespace(cluster: Cluster, name: str, *, labels: dict[str, str] | None = None,
                       timeout: float = NAMESPACE_DELETE_TIMEOUT) -> None:
    """Delete a namespace, wait until it is gone, create it again (fresh ``default`` ServiceAccount awaited).

    Where RBAC forbids deleting or creating namespaces (a shared cluster with namespaces made by the
    instructor), an existing namespace is emptied instead.

    Raises:
        KKError: it stays Terminating for ``timeout`` seconds, or it cannot be created.
    """
    from .act import WaitTimeout, wait_for

    may_delete = True
    try:
        cluster.call(cluster.core.delete_namespace, name, what=f"deleting namespace {name}")
    except KKError as err:
        code = _status_code(err)
        if code == 403:
            may_delete = False
        elif code != 404:
            raise
    if may_delete:
        def gone() -> tuple[bool, str]:
            ns = _namespace_state(cluster, name)
            return ns is None, "Terminating" if ns else "gone"

        try:
            wait_for(gone, f"namespace {name} to be deleted", timeout=timeout, interval=0.2)
        except WaitTimeout as err:
            raise KKError(f"namespace {name} is still Terminating after {timeout:g} s — something holds it "
                          f"(kubectl get all -n {name}; kubectl get ns {name} -o yaml shows its conditions)") from err
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels or {})}}
    try:
        cluster.call(cluster.core.create_namespace, body, what=f"creating namespace {name}")
    except KKError as err:
        code = _status_code(err)
        if code == 409 and not may_delete:
            empty_namespace(cluster, name)
        elif code == 403:
            if _namespace_exists(cluster, name):
                empty_namespace(cluster, name)
            else:
                raise KKError(f"you may not create namespace {name} on context {cluster.context} — ask your "
                              f"instructor to create it for you, or set KK_NAMESPACE_PREFIX to the prefix of "
                              f"namespaces you own") from err
        else:
            raise
    _await_service_account(cluster, name)


def _namespace_exists(cluster: Cluster, name: str) -> bool:
    try:
        return _namespace_state(cluster, name) is not None
    except KKError:
        return True  # may not read namespaces: assume the instructor made it


def _await_service_account(cluster: Cluster, namespace: str, timeout: float = 15.0) -> None:
    """Pods are refused until the ``default`` ServiceAccount exists; wait for it a little."""
    from .helpers import get_object

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get_object("serviceaccount", "default", namespace, cluster=cluster) is not None:
                return
        except KKError:
            return
        time.sleep(0.1)


def _absolute_files(entry: dict[str, Any], keys: tuple[str, ...], base: Path) -> dict[str, Any]:
    out = dict(entry)
    for key in keys:
        value = out.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            out[key] = str((base / value).resolve())
    return out


def write_lab_kubeconfig(cluster: Cluster, namespace: str, dest: Path) -> Path:
    """Write a one-context kubeconfig for the cluster whose default namespace is ``namespace``.

    The cluster and user entries are copied from the cluster's kubeconfig (relative certificate paths made
    absolute); the context keeps its name, so ``kubectl config current-context`` looks familiar.
    """
    data = kubeconfig.load(cluster.kubeconfig_path)
    ctx = next((c.get("context") or {} for c in data["contexts"] if c.get("name") == cluster.context), None)
    if ctx is None:
        raise KKError(f"context {cluster.context} vanished from {cluster.kubeconfig_path} — rerun kk.lab(...)")
    base = cluster.kubeconfig_path.parent
    cl = next((c for c in data["clusters"] if c.get("name") == ctx.get("cluster")), None)
    user = next((u for u in data["users"] if u.get("name") == ctx.get("user")), None)
    if cl is None:
        raise KKError(f"context {cluster.context} names cluster {ctx.get('cluster')!r}, which is not in "
                      f"{cluster.kubeconfig_path} — fix it or run: kk up")
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": cl["name"], "cluster": _absolute_files(cl.get("cluster") or {},
                                                                       _FILE_KEYS["cluster"], base)}],
        "users": ([{"name": user["name"], "user": _absolute_files(user.get("user") or {}, _FILE_KEYS["user"], base)}]
                  if user else []),
        "contexts": [{"name": cluster.context, "context": {**ctx, "namespace": namespace}}],
        "current-context": cluster.context,
    }
    kubeconfig.save(dest, doc)
    return dest


class Lab:
    """One lab session: where it lives and what it checks.

    Attributes:
        name: the lab's name (``"03-scaling"``).
        number: its two-digit number (``"03"``), ``""`` when the name has none.
        namespace: the lab namespace.
        cluster: a :class:`~kk_helpers.connect.Cluster` whose default namespace is the lab's.
        kubeconfig_path: the lab kubeconfig ``KUBECONFIG`` points at.
        spec: the lab's checks, setup and steps (None for a lab without checks).
        source_kubeconfig: the kubeconfig the lab's was made from (it may hold more contexts).

    Shortcuts to the official client on the lab's cluster: :attr:`core` (CoreV1Api), :attr:`apps`
    (AppsV1Api), :attr:`batch` (BatchV1Api), and :attr:`backend` (``sandbox``, ``kind`` or ``shared``);
    ``lab.core`` is ``lab.cluster.core``.
    """

    def __init__(self, name: str, cluster: Cluster, namespace: str, kubeconfig_path: Path,
                 spec: LabChecks | None, source_kubeconfig: Path | None = None) -> None:
        self.name = name
        self.source_kubeconfig = source_kubeconfig or kubeconfig_path
        self.number = lab_number(name)
        self.cluster = cluster
        self.namespace = namespace
        self.kubeconfig_path = kubeconfig_path
        self.spec = spec

    # -- shortcuts to the lab's cluster (``lab.core`` is ``lab.cluster.core``) --------------------------

    @property
    def core(self) -> Any:
        """``kubernetes.client.CoreV1Api`` on the lab's cluster (pods, services, namespaces, nodes, events).

        Example: ``lab.core.list_namespaced_pod(lab.namespace)``.
        """
        return self.cluster.core

    @property
    def apps(self) -> Any:
        """``kubernetes.client.AppsV1Api`` on the lab's cluster (deployments, replica sets).

        Example: ``lab.apps.read_namespaced_deployment("myd1", lab.namespace)``.
        """
        return self.cluster.apps

    @property
    def batch(self) -> Any:
        """``kubernetes.client.BatchV1Api`` on the lab's cluster (jobs, cron jobs)."""
        return self.cluster.batch

    @property
    def backend(self) -> str:
        """Which kind of cluster the lab runs on: ``sandbox``, ``kind`` or ``shared`` (a class cluster)."""
        return self.cluster.backend

    @property
    def tasks(self) -> list[str]:
        """Names of the lab's checks."""
        return list(self.spec.tasks) if self.spec else []

    @property
    def steps(self) -> list[str]:
        """Names of the steps ``reset(step)`` knows."""
        return list(self.spec.steps) if self.spec else []

    def reset(self, step: str | None = None, *, quiet: bool = False) -> None:
        """Bring the lab (or one step) back to its starting state.

        Args:
            step: one step's name; default: the whole lab (namespace recreated, setup run again).
            quiet: print nothing.
        """
        if step is None:
            recreate_namespace(self.cluster, self.namespace, labels={LAB_LABEL: dns_label(self.name)})
            if self.spec is not None and self.spec.setup is not None:
                self.spec.setup(self)
            if not quiet:
                print(f"Lab {self.name} reset: namespace {self.namespace} is fresh" +
                      (" and set up" if self.spec and self.spec.setup else ""))
            return
        if self.spec is None or step not in self.spec.steps:
            raise KKError(f"lab {self.name} has no step {step!r}; its steps are: {', '.join(self.steps) or 'none'} "
                          f"(lab.reset() resets the whole lab)")
        self.spec.steps[step](self)
        if not quiet:
            print(f"Lab {self.name}: step {step} is back at its start")

    def check(self, task: str | None = None, *, timeout: float | None = None,
              **params: Any) -> CheckResult | CheckReport:
        """Check one task (polling up to ``timeout``/``$KK_CHECK_TIMEOUT`` s), or every task once.

        Args:
            task: the task name; default: all tasks, one look each.
            timeout: seconds to keep polling.
            **params: the task's parameters (``deleted=deleted_pod``).
        """
        from .checks import run, run_all

        if task is None:
            return run_all(self, timeout=0.0 if timeout is None else timeout, **params)
        return run(self, task, timeout=timeout, **params)

    def require(self, task: str, **params: Any) -> CheckResult:
        """Like ``kk.checks.require(lab, task)``: show the result, raise AssertionError unless it passed."""
        from .checks import require

        return require(self, task, **params)

    def activate(self) -> None:
        """Point ``KUBECONFIG`` and the helpers' default cluster at this lab again.

        The kubeconfig in use before the first lab is remembered in ``$KK_SOURCE_KUBECONFIG``, so
        ``kk.connect("other-context")`` and later labs still find every context it has.
        """
        if not os.environ.get(SOURCE_ENV):
            os.environ[SOURCE_ENV] = str(self.source_kubeconfig)
        os.environ["KUBECONFIG"] = str(self.kubeconfig_path)
        set_current(self.cluster)

    def describe(self) -> str:
        """The one line ``kk.lab()`` prints."""
        return (f"Lab {self.name}: namespace {self.namespace} on {self.cluster.context} ({self.cluster.backend}, "
                f"Kubernetes {self.cluster.version}); KUBECONFIG={self.kubeconfig_path}, so !kubectl and kk.* act there")

    def __repr__(self) -> str:
        tasks = f", tasks: {', '.join(self.tasks)}" if self.tasks else ""
        return f"<Lab {self.name} namespace={self.namespace} context={self.cluster.context}{tasks}>"

    def _repr_html_(self) -> str:
        tasks = " ".join(f"<code>{escape(t)}</code>" for t in self.tasks) or "none"
        return (f"<div class='kk-lab' style='border-left:4px solid #1565c0;padding:4px 10px'><b>Lab "
                f"{escape(self.name)}</b> — "
                f"namespace <code>{escape(self.namespace)}</code> on <code>{escape(self.cluster.context)}</code> "
                f"({escape(self.cluster.backend)})<br><span style='color:#666'>tasks: {tasks}</span></div>")


def lab(name: str, *, prefix: str | None = None, context: str | None = None, fresh: bool = True,
        setup: bool = True, quiet: bool = False, cluster: Cluster | None = None) -> Lab:
    """Prepare a lab: a fresh namespace, a kubeconfig pointing at it, and the lab's starting state.

    Args:
        name: the lab (``"03-scaling"``); its number picks the checks (``checks/lab03.py``).
        prefix: namespace prefix; default ``$KK_NAMESPACE_PREFIX``, else none on sandbox/kind and the user
            name on a shared cluster.
        context: kubeconfig context; default as :func:`kk_helpers.connect.connect` chooses.
        fresh: recreate the namespace (False keeps what is there).
        setup: run the lab's setup.
        quiet: print nothing.
        cluster: an already connected cluster to use instead of connecting.

    Returns:
        The :class:`Lab`.
    """
    install_error_display(CheckFailed)
    base = cluster or connect(context, quiet=True)
    pfx = dns_label(prefix) if prefix else default_prefix(base.backend)
    namespace = namespace_for(name, pfx)
    spec = checks_for(name)
    labels = {LAB_LABEL: dns_label(name)}
    if fresh:
        recreate_namespace(base, namespace, labels=labels)
    elif _namespace_state(base, namespace) is None:
        base.call(base.core.create_namespace, {"metadata": {"name": namespace, "labels": labels}},
                  what=f"creating namespace {namespace}")
    dest = kk_home() / "labs" / dns_label(name) / "kubeconfig"
    write_lab_kubeconfig(base, namespace, dest)
    lab_cluster = open_cluster(dest, base.context)
    source = Path(os.environ.get(SOURCE_ENV) or base.kubeconfig_path)
    session = Lab(name, lab_cluster, namespace, dest, spec, source)
    session.activate()
    if setup and spec is not None and spec.setup is not None:
        spec.setup(session)
    if not quiet:
        print(session.describe())
    return session
