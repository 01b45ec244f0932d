"""RolloutView: a deployment's ReplicaSets, old and new, with their pods, during a rollout."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from .. import reprs
from ..connect import Cluster, current
from ..helpers import get_object, list_objects
from ._base import KKWidget, Obj


def revision(obj: Obj) -> int:
    """``deployment.kubernetes.io/revision`` as an int (0 when missing)."""
    try:
        return int((reprs.meta(obj).get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
    except ValueError:
        return 0


@dataclass
class RevisionRow:
    """One ReplicaSet of the deployment and its pods.

    Attributes:
        name: ReplicaSet name.
        revision: its revision.
        images: its pod template's images.
        desired: its replicas.
        ready: its ready replicas.
        new: is it the deployment's new ReplicaSet (the newest revision)?
        pods: its pods (name, status).
    """

    name: str
    revision: int
    images: list[str]
    desired: int
    ready: int
    new: bool
    pods: list[tuple[str, str]] = field(default_factory=list)


class RolloutView(KKWidget):
    """Old vs new ReplicaSets of a deployment with their pods, live during a rollout.

    CSS hooks: ``kk-rollout`` holds one ``kk-revision`` per ReplicaSet (``--new``/``--old``,
    ``data-replicaset``) with ``kk-pod kk-pod--<Status>`` chips.

    Args:
        deployment: deployment name.
        namespace: default: the cluster's (the lab's).
        cluster: default: the current cluster.
        live: force live or static.
    """

    def __init__(self, deployment: str, namespace: str | None = None, *, cluster: Cluster | None = None,
                 live: bool | None = None) -> None:
        super().__init__(live=live)
        self.cluster = current(cluster)
        self.namespace = namespace or self.cluster.namespace
        self.deployment = deployment
        self.deployments: dict[str, Obj] = {}
        self.replicasets: dict[str, Obj] = {}
        self.pods: dict[str, Obj] = {}
        self.refresh()
        if self.live:
            import ipywidgets as w

            self.view = w.HTML(value=self.render_html())
            self.root = w.VBox([self.view])
            self.root.add_class("kk-rollout-view")
            c, ns = self.cluster, self.namespace
            self.watch(c, c.apps.list_namespaced_replica_set, ns, into="replicasets", name="kk-rollout-rs")
            self.watch(c, c.core.list_namespaced_pod, ns, into="pods", name="kk-rollout-pods")
            self.watch(c, c.apps.list_namespaced_deployment, ns, field_selector=f"metadata.name={deployment}",
                       into="deployments", name="kk-rollout-deploy")

    def refresh(self) -> None:
        """Read the deployment, its ReplicaSets and pods again."""
        dep = get_object("deployment", self.deployment, self.namespace, cluster=self.cluster)
        rss = list_objects("replicasets", self.namespace, cluster=self.cluster)
        pods = list_objects("pods", self.namespace, cluster=self.cluster)
        with self._lock:
            self.deployments = {self.deployment: dep} if dep else {}
            self.replicasets = {reprs.name_of(r): r for r in rss}
            self.pods = {reprs.name_of(p): p for p in pods}
        self.redraw()

    @property
    def dep(self) -> Obj | None:
        """The deployment as last seen (None when it does not exist)."""
        return self.deployments.get(self.deployment)

    def rows(self) -> list[RevisionRow]:
        """The deployment's ReplicaSets, newest revision first, each with its pods.

        The new one is the newest revision, not the one the deployment's own revision annotation names: during
        a rollout the deployment controller sets the ReplicaSet's annotation first, and the deployment comes
        through another watch, so the deployment's lags behind (a rollout back to an old template would show
        the scaling-up ReplicaSet as "old" meanwhile).
        """
        if self.dep is None:
            return []
        uid = reprs.meta(self.dep).get("uid")
        owned = [r for r in self.replicasets.values() if (reprs.controller_of(r) or {}).get("uid") == uid]
        newest = max((revision(r) for r in owned), default=0)
        out = []
        for rs in sorted(owned, key=revision, reverse=True):
            rs_uid = reprs.meta(rs).get("uid")
            pods = sorted((reprs.name_of(p), reprs.pod_status(p)) for p in self.pods.values()
                          if (reprs.controller_of(p) or {}).get("uid") == rs_uid)
            out.append(RevisionRow(reprs.name_of(rs), revision(rs), reprs.images_of(rs),
                                   int((rs.get("spec") or {}).get("replicas") or 0),
                                   int((rs.get("status") or {}).get("readyReplicas") or 0),
                                   revision(rs) == newest, pods))
        return out

    def render_html(self) -> str:
        if self.dep is None:
            return (f"<div class='kk-rollout kk-rollout--missing' style='color:#c62828'>deployment "
                    f"{escape(self.deployment)} not found in namespace {escape(self.namespace)}</div>")
        blocks = []
        for row in self.rows():
            color = "#1565c0" if row.new else "#9e9e9e"
            label = "new" if row.new else "old"
            chips = "".join(reprs.pod_chip(self.pods[name], name[-5:]) for name, _ in row.pods if name in self.pods)
            chips = chips or "<span style='color:#aaa'>no pods</span>"
            blocks.append(f"<div class='kk-revision kk-revision--{label}' data-replicaset='{escape(row.name, True)}' "
                          f"style='border-left:4px solid {color};padding:2px 8px;margin:3px 0'>"
                          f"<b>{label}</b> revision {row.revision} · <code>{escape(', '.join(row.images))}</code> · "
                          f"{row.ready}/{row.desired} ready · <span style='color:#666'>{escape(row.name)}</span>"
                          f"<div>{chips}</div></div>")
        st = self.dep.get("status") or {}
        head = (f"deployment <b>{escape(self.deployment)}</b>: {st.get('updatedReplicas', 0) or 0} updated, "
                f"{st.get('readyReplicas', 0) or 0} ready of {(self.dep.get('spec') or {}).get('replicas', 0)}")
        return (f"<div class='kk-rollout' style='font-family:sans-serif'><div class='kk-rollout__summary'>{head}</div>"
                f"{''.join(blocks)}</div>")

    def render_text(self) -> str:
        if self.dep is None:
            return f"deployment {self.deployment} not found in namespace {self.namespace}"
        lines = [f"deployment {self.deployment}"]
        for row in self.rows():
            lines.append(f"  {'new' if row.new else 'old'} revision {row.revision} {', '.join(row.images)} "
                         f"{row.ready}/{row.desired} ready ({row.name})")
            lines += [f"    {name} {status}" for name, status in row.pods]
        return "\n".join(lines)
