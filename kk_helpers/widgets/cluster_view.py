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
                head_color = "#2e7d32" if status.startswith("Ready") else "#c62828"
                badge = reprs.chip(status, head_color)
                role = reprs.node_roles(obj)
                sub = f"<div style='color:#777;font-size:0.8em'>{escape(role)} · {escape(reprs.node_address(obj))}</div>"
            else:
                badge, sub, head_color = "", "", "#757575"
            body = []
            for owner, pods in groups.items():
                chips = "".join(reprs.chip(reprs.name_of(p)[-5:] if owner.startswith("deployment/") else reprs.name_of(p),
                                           reprs.status_color(reprs.pod_status(p)),
                                           title=f"{reprs.name_of(p)} · {reprs.pod_status(p)} · "
                                                 f"{(p.get('status') or {}).get('podIP') or 'no IP'}")
                                for p in pods)
                body.append(f"<div style='margin:4px 0'><div style='font-size:0.8em;color:#555'>{escape(owner)}</div>"
                            f"{chips}</div>")
            if not body:
                body.append("<div style='color:#aaa;font-size:0.85em'>no pods</div>")
            columns.append(f"<div style='flex:1;min-width:11em;border:1px solid {head_color};border-radius:6px;"
                           f"padding:6px;margin:3px'><div><b>{escape(node)}</b> {badge}</div>{sub}"
                           f"{''.join(body)}</div>")
        counts: dict[str, int] = {}
        for p in self.pods.values():
            s = reprs.pod_status(p)
            counts[s] = counts.get(s, 0) + 1
        summary = " · ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no pods"
        mode = "live" if self.live and not self._stop.is_set() else "snapshot"
        return (f"<div style='font-family:sans-serif'><div style='color:#555;font-size:0.85em'>"
                f"namespace <b>{escape(self.namespace)}</b> on {escape(self.cluster.context)} — {escape(summary)} "
                f"({mode})</div><div style='display:flex;flex-wrap:wrap'>{''.join(columns)}</div></div>")

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
