"""Look at a cluster from a notebook: object lists with rich reprs, ``show``, and the ownership tree.

Every call goes through the official client (``Cluster.call`` asks for the
wire JSON, so objects are plain camelCase dicts, the same shape ``kubectl get
-o yaml`` prints). Objects come back wrapped, kr8s-style:

* :class:`Resource` — one object: ``.name``, ``.namespace``, ``.kind``, ``.spec``,
  ``.status``, ``.raw`` (the dict), ``.yaml()``; renders as a one-row table.
* :class:`ResourceList` — a list of them: an HTML table in JupyterLab, the
  kubectl-style text table in a log.

``kk.pods()``, ``kk.deployments()``... list; ``kk.get("deploy/myd1")`` reads one;
``kk.show(x)`` displays anything (a name like ``"pods"``, a wrapper, a dict, an
official-client model, a list of those); ``kk.tree()`` draws Deployment ->
ReplicaSet -> Pods.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import reprs
from .connect import Cluster, current
from .errors import KKError

Obj = dict[str, Any]


@dataclass(frozen=True)
class KindInfo:
    """How to reach one kind through the official client.

    Attributes:
        kind: ``Pod``, ``Deployment``...
        snake: the method stem (``list_namespaced_<snake>``, ``read_namespaced_<snake>``).
        api: ``core``, ``apps``, ``batch`` or ``discovery`` (a :class:`Cluster` property).
        namespaced: whether objects live in a namespace.
        aliases: names kubectl accepts (plural, short names).
    """

    kind: str
    snake: str
    api: str
    namespaced: bool
    aliases: tuple[str, ...]

    def method(self, cluster: Cluster, verb: str, *, all_namespaces: bool = False) -> Any:
        """The bound client method for ``verb`` (``list``, ``read``, ``delete``, ``patch``, ``create``)."""
        api = getattr(cluster, self.api)
        if verb == "list" and all_namespaces and self.namespaced:
            return getattr(api, f"list_{self.snake}_for_all_namespaces")
        infix = "namespaced_" if self.namespaced else ""
        return getattr(api, f"{verb}_{infix}{self.snake}")


KINDS: tuple[KindInfo, ...] = (
    KindInfo("Pod", "pod", "core", True, ("pod", "pods", "po")),
    KindInfo("Deployment", "deployment", "apps", True, ("deployment", "deployments", "deploy")),
    KindInfo("ReplicaSet", "replica_set", "apps", True, ("replicaset", "replicasets", "rs")),
    KindInfo("Service", "service", "core", True, ("service", "services", "svc")),
    KindInfo("Node", "node", "core", False, ("node", "nodes", "no")),
    KindInfo("Event", "event", "core", True, ("event", "events", "ev")),
    KindInfo("Job", "job", "batch", True, ("job", "jobs")),
    KindInfo("CronJob", "cron_job", "batch", True, ("cronjob", "cronjobs", "cj")),
    KindInfo("Namespace", "namespace", "core", False, ("namespace", "namespaces", "ns")),
    KindInfo("Endpoints", "endpoints", "core", True, ("endpoints", "ep")),
    KindInfo("EndpointSlice", "endpoint_slice", "discovery", True, ("endpointslice", "endpointslices")),
    KindInfo("ConfigMap", "config_map", "core", True, ("configmap", "configmaps", "cm")),
    KindInfo("ServiceAccount", "service_account", "core", True, ("serviceaccount", "serviceaccounts", "sa")),
)
_BY_NAME = {alias: k for k in KINDS for alias in (*k.aliases, k.kind.lower())}


def kind_info(kind: str) -> KindInfo:
    """Look a kind up by any name kubectl accepts (``deploy``, ``Deployment``, ``deployments``).

    Raises:
        KKError: the kind is not one the helpers know.
    """
    found = _BY_NAME.get(kind.strip().lower().split(".")[0])
    if found is None:
        known = ", ".join(k.aliases[1] for k in KINDS)
        raise KKError(f"kk does not know the kind {kind!r}; use one of: {known} (or run `kubectl get {kind}`)")
    return found


def _namespace(cluster: Cluster, namespace: str | None) -> str:
    return namespace or cluster.namespace or "default"


def get_object(kind: str, name: str, namespace: str | None = None, *, cluster: Cluster | None = None) -> Obj | None:
    """Read one object as a wire-format dict, or None when it does not exist.

    Args:
        kind: any kind name (``deploy``, ``pod``...).
        name: object name.
        namespace: default: the cluster's (after ``kk.lab()``, the lab's).
        cluster: default: :func:`kk_helpers.connect.current`.
    """
    from kubernetes.client.exceptions import ApiException

    info = kind_info(kind)
    c = current(cluster)
    args: tuple[Any, ...] = (name, _namespace(c, namespace)) if info.namespaced else (name,)
    try:
        obj = c.call(info.method(c, "read"), *args, what=f"reading {info.kind.lower()} {name}")
    except KKError as err:
        cause = err.__cause__
        if isinstance(cause, ApiException) and cause.status == 404:
            return None
        raise
    if not isinstance(obj, dict):
        return None
    obj.setdefault("kind", info.kind)
    return obj


def list_objects(kind: str, namespace: str | None = None, *, selector: str | None = None,
                 field_selector: str | None = None, all_namespaces: bool = False,
                 cluster: Cluster | None = None) -> list[Obj]:
    """List objects as wire-format dicts (each with ``kind`` set).

    Args:
        kind: any kind name.
        namespace: default: the cluster's.
        selector: label selector (``app=myd1``).
        field_selector: field selector (``spec.nodeName=kk-worker``).
        all_namespaces: list across namespaces.
        cluster: default: the current cluster.
    """
    info = kind_info(kind)
    c = current(cluster)
    kwargs: dict[str, Any] = {}
    if selector:
        kwargs["label_selector"] = selector
    if field_selector:
        kwargs["field_selector"] = field_selector
    fn = info.method(c, "list", all_namespaces=all_namespaces)
    args: tuple[Any, ...] = ((_namespace(c, namespace),) if info.namespaced and not all_namespaces else ())
    data = c.call(fn, *args, what=f"listing {info.aliases[1]}", **kwargs) or {}
    items = list(data.get("items") or [])
    for item in items:
        item.setdefault("kind", info.kind)
    return items


def to_obj(x: Any) -> Obj:
    """A wire-format dict from a dict, a :class:`Resource`, or an official-client model."""
    if isinstance(x, Resource):
        return x.raw
    if isinstance(x, dict):
        return x
    if hasattr(x, "to_dict"):
        from kubernetes import client

        out = client.ApiClient().sanitize_for_serialization(x)
        if isinstance(out, dict):
            return out
    raise TypeError(f"cannot show {type(x).__name__}: pass a Kubernetes object, a dict, or a list of them")


class Resource:
    """One Kubernetes object backed by its wire-format dict.

    Args:
        raw: the object as the API server sends it.
        kind: its kind, when ``raw`` lacks one (list items do).
    """

    def __init__(self, raw: Obj, kind: str | None = None) -> None:
        self.raw = raw
        self.kind = str(raw.get("kind") or kind or "")

    @property
    def metadata(self) -> Obj:
        """``metadata``."""
        return self.raw.get("metadata") or {}

    @property
    def name(self) -> str:
        """``metadata.name``."""
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        """``metadata.namespace`` (``""`` for cluster-scoped objects)."""
        return str(self.metadata.get("namespace", ""))

    @property
    def labels(self) -> dict[str, str]:
        """``metadata.labels``."""
        return dict(self.metadata.get("labels") or {})

    @property
    def annotations(self) -> dict[str, str]:
        """``metadata.annotations``."""
        return dict(self.metadata.get("annotations") or {})

    @property
    def spec(self) -> Obj:
        """``spec``."""
        return self.raw.get("spec") or {}

    @property
    def status(self) -> Obj:
        """``status``."""
        return self.raw.get("status") or {}

    @property
    def ref(self) -> str:
        """``kind/name`` (``pod/web``)."""
        return f"{self.kind.lower()}/{self.name}"

    def yaml(self) -> str:
        """The object as YAML (without managedFields)."""
        return reprs.to_yaml(self.raw)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resource) and other.raw == self.raw

    __hash__ = None  # type: ignore[assignment]

    def summary(self) -> str:
        """A few words of status: ``Running on kk-worker``, ``3/3 ready``..."""
        if self.kind == "Pod":
            return f"{reprs.pod_status(self.raw)} on {self.spec.get('nodeName') or 'no node yet'}"
        if self.kind in ("Deployment", "ReplicaSet"):
            return f"{self.status.get('readyReplicas', 0) or 0}/{self.spec.get('replicas', 0) or 0} ready"
        if self.kind == "Service":
            return f"{self.spec.get('type', 'ClusterIP')} {reprs.service_ports(self.raw)}"
        if self.kind == "Node":
            return reprs.node_status(self.raw)
        if self.kind == "Event":
            return f"{self.raw.get('reason', '')}: {self.raw.get('message', '')}"
        return ""

    def __repr__(self) -> str:
        words = self.summary()
        return f"<{self.kind or 'Object'} {self.name}{' ' + words if words else ''}>"

    def _repr_html_(self) -> str:
        return reprs.html_table(self.kind, [self.raw])


class ResourceList(list[Resource]):
    """Objects of one kind (or several): an HTML table in JupyterLab, kubectl's text table in a log."""

    def __init__(self, items: Iterable[Resource] = (), kind: str = "", *, namespaces: bool = False) -> None:
        super().__init__(items)
        self.kind = kind
        self.namespaces = namespaces

    @property
    def names(self) -> list[str]:
        """Every object's name."""
        return [r.name for r in self]

    @property
    def raw(self) -> list[Obj]:
        """The wire-format dicts."""
        return [r.raw for r in self]

    def _groups(self) -> list[tuple[str, list[Obj]]]:
        groups: dict[str, list[Obj]] = {}
        for r in self:
            groups.setdefault(r.kind or self.kind, []).append(r.raw)
        return list(groups.items()) or [(self.kind, [])]

    def __repr__(self) -> str:
        parts = [reprs.text_table(kind, objs, namespaces=self.namespaces) for kind, objs in self._groups()]
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        return "<br>".join(reprs.html_table(kind, objs, namespaces=self.namespaces) for kind, objs in self._groups())


def _wrap(kind: str, objs: Sequence[Obj], namespaces: bool = False) -> ResourceList:
    return ResourceList((Resource(o, kind) for o in objs), kind, namespaces=namespaces)


def pods(namespace: str | None = None, *, selector: str | None = None, node: str | None = None,
         all_namespaces: bool = False, cluster: Cluster | None = None) -> ResourceList:
    """Pods, like ``kubectl get pods -o wide``.

    Args:
        namespace: default: the cluster's (the lab's after ``kk.lab()``).
        selector: label selector, e.g. ``app=myd1``.
        node: only pods on this node.
        all_namespaces: every namespace.
        cluster: default: the current cluster.
    """
    fs = f"spec.nodeName={node}" if node else None
    objs = list_objects("pods", namespace, selector=selector, field_selector=fs, all_namespaces=all_namespaces,
                        cluster=cluster)
    return _wrap("Pod", sorted(objs, key=reprs.name_of), all_namespaces)


def deployments(namespace: str | None = None, *, selector: str | None = None, all_namespaces: bool = False,
                cluster: Cluster | None = None) -> ResourceList:
    """Deployments, like ``kubectl get deployments -o wide``."""
    objs = list_objects("deployments", namespace, selector=selector, all_namespaces=all_namespaces, cluster=cluster)
    return _wrap("Deployment", sorted(objs, key=reprs.name_of), all_namespaces)


def replicasets(namespace: str | None = None, *, selector: str | None = None, all_namespaces: bool = False,
                cluster: Cluster | None = None) -> ResourceList:
    """ReplicaSets, like ``kubectl get rs``."""
    objs = list_objects("replicasets", namespace, selector=selector, all_namespaces=all_namespaces, cluster=cluster)
    return _wrap("ReplicaSet", sorted(objs, key=reprs.name_of), all_namespaces)


def services(namespace: str | None = None, *, selector: str | None = None, all_namespaces: bool = False,
             cluster: Cluster | None = None) -> ResourceList:
    """Services, like ``kubectl get svc -o wide``."""
    objs = list_objects("services", namespace, selector=selector, all_namespaces=all_namespaces, cluster=cluster)
    return _wrap("Service", sorted(objs, key=reprs.name_of), all_namespaces)


def jobs(namespace: str | None = None, *, selector: str | None = None, cluster: Cluster | None = None) -> ResourceList:
    """Jobs, like ``kubectl get jobs``."""
    return _wrap("Job", sorted(list_objects("jobs", namespace, selector=selector, cluster=cluster), key=reprs.name_of))


def nodes(*, cluster: Cluster | None = None) -> ResourceList:
    """Nodes, like ``kubectl get nodes -o wide``."""
    return _wrap("Node", sorted(list_objects("nodes", cluster=cluster), key=reprs.name_of))


def events(namespace: str | None = None, *, for_object: str | None = None, limit: int | None = 20,
           cluster: Cluster | None = None) -> ResourceList:
    """Events, oldest first, like ``kubectl get events --sort-by=.lastTimestamp``.

    Args:
        namespace: default: the cluster's.
        for_object: only events about ``kind/name`` (``pod/web``) or a bare name.
        limit: keep the newest ``limit`` events (None: all).
        cluster: default: the current cluster.
    """
    fs = None
    if for_object:
        kind, _, name = for_object.rpartition("/")
        fs = f"involvedObject.name={name}" + (f",involvedObject.kind={kind_info(kind).kind}" if kind else "")
    objs = list_objects("events", namespace, field_selector=fs, cluster=cluster)

    def when(ev: Obj) -> str:
        return str(ev.get("lastTimestamp") or ev.get("eventTime") or reprs.meta(ev).get("creationTimestamp") or "")

    objs.sort(key=when)
    if limit is not None:
        objs = objs[-limit:]
    return _wrap("Event", objs)


def _split_ref(ref: str, name: str | None) -> tuple[str, str | None]:
    if name is None and "/" in ref:
        kind, _, nm = ref.partition("/")
        return kind, nm
    return ref, name


def get(kind: str, name: str | None = None, namespace: str | None = None, *,
        cluster: Cluster | None = None) -> Resource:
    """Read one object: ``kk.get("deploy/myd1")`` or ``kk.get("deployment", "myd1")``.

    Raises:
        KKError: ``Could not find Deployment myd1 in namespace lab-03.`` when it does not exist.
    """
    kind, name = _split_ref(kind, name)
    if not name:
        raise KKError(f"name the object: kk.get('{kind}/NAME')")
    info = kind_info(kind)
    c = current(cluster)
    obj = get_object(kind, name, namespace, cluster=c)
    if obj is None:
        where = f" in namespace {_namespace(c, namespace)}" if info.namespaced else ""
        raise KKError(f"Could not find {info.kind} {name}{where}. List them with: kubectl get {info.aliases[1]}")
    return Resource(obj, info.kind)


def collect(x: Any, *, namespace: str | None = None, cluster: Cluster | None = None) -> ResourceList:
    """Anything :func:`show` accepts, as a :class:`ResourceList`."""
    if isinstance(x, ResourceList):
        return x
    if isinstance(x, str):
        kind, name = _split_ref(x, None)
        if name:
            return ResourceList([get(kind, name, namespace, cluster=cluster)], kind_info(kind).kind)
        info = kind_info(kind)
        return _wrap(info.kind, sorted(list_objects(kind, namespace, cluster=cluster), key=reprs.name_of))
    if isinstance(x, Resource):
        return ResourceList([x], x.kind)
    if isinstance(x, (list, tuple)):
        out = ResourceList()
        for item in x:
            out.extend(collect(item, namespace=namespace, cluster=cluster))
        out.kind = out[0].kind if out and len({r.kind for r in out}) == 1 else ""
        return out
    obj = to_obj(x)
    if isinstance(obj.get("items"), list):  # a *List object
        kind = str(obj.get("kind", "")).removesuffix("List")
        return _wrap(kind, obj["items"])
    return ResourceList([Resource(obj)], str(obj.get("kind", "")))


def show(*objs: Any, namespace: str | None = None, cluster: Cluster | None = None) -> None:
    """Display objects as tables: ``kk.show("pods")``, ``kk.show(kk.deployments(), "svc/myd1")``.

    Accepts kind names (``"pods"``), references (``"deploy/myd1"``), wrappers, dicts, official-client
    models and lists of them. Inside IPython it displays HTML; elsewhere it prints the text table.
    """
    for x in objs or ("pods",):
        reprs.display_or_print(collect(x, namespace=namespace, cluster=cluster))


class OwnerTree:
    """Deployment -> ReplicaSet -> Pods, drawn as nested boxes (HTML) or with box characters (text).

    Attributes:
        roots: the top :class:`~kk_helpers.reprs.TreeNode` objects.
    """

    def __init__(self, roots: list[reprs.TreeNode]) -> None:
        self.roots = roots

    def __iter__(self) -> Iterator[reprs.TreeNode]:
        for r in self.roots:
            yield from r.walk()

    def __repr__(self) -> str:
        return reprs.tree_text(self.roots)

    def _repr_html_(self) -> str:
        return reprs.tree_html(self.roots)


def tree(deployment: str | None = None, namespace: str | None = None, *, cluster: Cluster | None = None) -> OwnerTree:
    """The ownership tree of one deployment, or of everything in the namespace.

    Args:
        deployment: a deployment name; default: all deployments, plus ReplicaSets and pods without one.
        namespace: default: the cluster's.
        cluster: default: the current cluster.
    """
    c = current(cluster)
    deps = list_objects("deployments", namespace, cluster=c)
    rss = list_objects("replicasets", namespace, cluster=c)
    pds = list_objects("pods", namespace, cluster=c)
    roots = reprs.ownership_tree(deps, rss, pds)
    if deployment is not None:
        roots = [r for r in roots if r.kind == "Deployment" and r.name == deployment]
        if not roots:
            raise KKError(f"Could not find Deployment {deployment} in namespace {_namespace(c, namespace)}. "
                          f"List them with: kubectl get deployments")
    return OwnerTree(roots)
