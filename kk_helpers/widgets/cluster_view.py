"""ClusterView: nodes as columns, pods as coloured chips grouped by owner, updated live from watches."""

from __future__ import annotations

from html import escape

from .. import reprs
from ..connect import Cluster, current
from ..helpers import list_objects
from ._base import KKWidget, Obj

UNSCHEDULED = "(not scheduled)"


def owner_name(pod: Obj) -> str:
    """The pod's workload: the Deployment behind its ReplicaSet, its Job, another controller, or ``(no owner)``."""
    ref = reprs.controller_of(pod)
    if ref is None:
        return "(no owner)"
    name = str(ref.get("name", ""))
    if ref.get("kind") == "ReplicaSet":
        pth = (reprs.meta(pod).get("labels") or {}).get("pod-template-hash")
        if pth and name.endswith("-" + pth):
            return f"deployment/{name[: -len(pth) - 1]}"
        return f"replicaset/{name}"
    return f"{str(ref.get('kind', '')).lower()}/{name}"


class ClusterView(KKWidget):
    """Nodes as columns, each showing its pods as chips (coloured by status, grouped by owner).

    CSS hooks: ``kk-cluster-view`` (``--live``/``--snapshot``) holds ``kk-node`` columns (``--ready``,
    ``--notready``, ``--unscheduled``; ``data-node``), each with ``kk-owner`` groups (``data-owner``) of
    ``kk-pod kk-pod--<Status>`` chips (``data-pod``, ``data-status``).

    Live, two watches (pods of the namespace, nodes) keep it current until :meth:`close`; static, it is a
    snapshot taken when created (call :meth:`refresh` for a new one).

    Args:
        namespace: whose pods; default: the cluster's (the lab's).
        cluster: default: the current cluster.
        live: force live or static.
    """

    def __init__(self, namespace: str | None = None, *, cluster: Cluster | None = None,
                 live: bool | None = None) -> None:
        super().__init__(live=live)
        self.cluster = current(cluster)
        self.namespace = namespace or self.cluster.namespace
        self.nodes: dict[str, Obj] = {}
        self.pods: dict[str, Obj] = {}
        self.refresh()
        if self.live:
            import ipywidgets as w

            self.view = w.HTML(value=self.render_html())
            self.root = w.VBox([self.view])
            self.root.add_class("kk-cluster-view-widget")
            self.watch(self.cluster, self.cluster.core.list_namespaced_pod, self.namespace, into="pods",
                       name="kk-clusterview-pods")
            self.watch(self.cluster, self.cluster.core.list_node, into="nodes", name="kk-clusterview-nodes")

    def refresh(self) -> None:
        """List nodes and pods again."""
        nodes = list_objects("nodes", cluster=self.cluster)
        pods = list_objects("pods", self.namespace, cluster=self.cluster)
        with self._lock:
            self.nodes = {reprs.name_of(n): n for n in nodes}
            self.pods = {reprs.name_of(p): p for p in pods}
        self.redraw()

    # -- rendering -------------------------------------------------------------------------------

    def layout(self) -> dict[str, dict[str, list[Obj]]]:
        """node -> owner -> pods (sorted), with unscheduled pods under :data:`UNSCHEDULED`."""
        out: dict[str, dict[str, list[Obj]]] = {n: {} for n in sorted(self.nodes)}
        for pod in sorted(self.pods.values(), key=reprs.name_of):
            node = (pod.get("spec") or {}).get("nodeName") or UNSCHEDULED
            out.setdefault(node, {}).setdefault(owner_name(pod), []).append(pod)
        return out

    def render_html(self) -> str:
        columns = []
        for node, groups in self.layout().items():
            obj = self.nodes.get(node)
            if obj is not None:
                status = reprs.node_status(obj)
                ready = status.startswith("Ready")
                head_color = "#2e7d32" if ready else "#c62828"
                badge = reprs.chip(status, head_color, cls=f"kk-node__status kk-status--{reprs.css_token(status)}")
                role = reprs.node_roles(obj)
                sub = (f"<div class='kk-node__info' style='color:#777;font-size:0.8em'>{escape(role)} · "
                       f"{escape(reprs.node_address(obj))}</div>")
                state = "ready" if ready else "notready"
            else:
                badge, sub, head_color = "", "", "#757575"
                state = "unscheduled" if node == UNSCHEDULED else "unknown"
            body = []
            for owner, pods in groups.items():
                short = owner.startswith("deployment/")
                chips = "".join(reprs.pod_chip(p, reprs.name_of(p)[-5:] if short else None) for p in pods)
                body.append(f"<div class='kk-owner' data-owner='{escape(owner, quote=True)}' style='margin:4px 0'>"
                            f"<div class='kk-owner__name' style='font-size:0.8em;color:#555'>{escape(owner)}</div>"
                            f"{chips}</div>")
            if not body:
                body.append("<div class='kk-node__empty' style='color:#aaa;font-size:0.85em'>no pods</div>")
            columns.append(f"<div class='kk-node kk-node--{state}' data-node='{escape(node, quote=True)}' "
                           f"style='flex:1;min-width:11em;border:1px solid {head_color};border-radius:6px;"
                           f"padding:6px;margin:3px'><div class='kk-node__head'><b>{escape(node)}</b> {badge}</div>"
                           f"{sub}{''.join(body)}</div>")
        counts: dict[str, int] = {}
        for p in self.pods.values():
            s = reprs.pod_status(p)
            counts[s] = counts.get(s, 0) + 1
        summary = " · ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no pods"
        mode = "live" if self.live and not self._stop.is_set() else "snapshot"
        return (f"<div class='kk-cluster-view kk-cluster-view--{mode}' data-namespace='{escape(self.namespace, True)}' "
                f"style='font-family:sans-serif'><div class='kk-cluster-view__summary' style='color:#555;"
                f"font-size:0.85em'>namespace <b>{escape(self.namespace)}</b> on {escape(self.cluster.context)} — "
                f"{escape(summary)} ({mode})</div><div class='kk-cluster-view__nodes' style='display:flex;"
                f"flex-wrap:wrap'>{''.join(columns)}</div></div>")

    def render_text(self) -> str:
        lines = [f"namespace {self.namespace} on {self.cluster.context}"]
        for node, groups in self.layout().items():
            obj = self.nodes.get(node)
            lines.append(f"{node}" + (f" [{reprs.node_status(obj)}]" if obj is not None else ""))
            for owner, pods in groups.items():
                lines.append(f"  {owner}: " + ", ".join(f"{reprs.name_of(p)} ({reprs.pod_status(p)})" for p in pods))
            if not groups:
                lines.append("  (no pods)")
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        """Pods per node (unscheduled under :data:`UNSCHEDULED`)."""
        with self._lock:
            return {node: sum(len(v) for v in groups.values()) for node, groups in self.layout().items()}
