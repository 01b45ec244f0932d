"""Lab 04 — self-healing: a deleted pod is replaced; a stopped node's pods come back elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import reprs
from .base import Context, LabChecks, Obj, deployment_counts, live_pods

if TYPE_CHECKING:
    from ..lab import Lab

LAB = LabChecks("04", "self-healing")
DEPLOYMENT = "myd1"
IMAGE = "vimal13/apache-webserver-php"
REPLICAS = 3


def _pods(ctx: Context, d: Obj) -> list[Obj]:
    from ..act import selector_string

    return live_pods(ctx.list("pods", selector=selector_string(d)))


@LAB.task("replaced", f"a deleted pod of {DEPLOYMENT} was replaced by a new one", points=4,
          hints=["record the name first: deleted_pod = '<name from kubectl get pods>'",
                 "then kubectl delete pod $deleted_pod (or kk.ChaosButton('myd1'))",
                 "check with lab.check('replaced', deleted=deleted_pod)"])
def replaced(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    deleted = ctx.param("deleted")
    if not ctx.require("recorded", bool(deleted), "the deleted pod's name (deleted=...)",
                       str(deleted) if deleted else "no name given",
                       hint="pass it: lab.check('replaced', deleted=deleted_pod)"):
        return
    d = ctx.get("deployment", name)
    if not ctx.found("deployment", d, f"deployment {name}",
                     hint="rerun the setup cell: lab.reset()"):
        return
    assert d is not None
    if not ctx.require("was a pod of it", str(deleted).startswith(name + "-"), f"a pod name starting with {name}-",
                       str(deleted), hint="copy the name from kubectl get pods"):
        return
    old = ctx.get("pod", str(deleted))
    ctx.part("deleted", old is None, f"pod {deleted} gone",
             "gone" if old is None else ("terminating" if reprs.meta(old).get("deletionTimestamp") else "still running"),
             final=old is not None and not reprs.meta(old).get("deletionTimestamp"),
             hint=f"kubectl delete pod {deleted}")
    want = deployment_counts(d)[0]
    ready = [p for p in _pods(ctx, d) if reprs.pod_is_ready(p)]
    names = [reprs.name_of(p) for p in ready]
    ctx.part("replacement", deleted not in names and len(ready) >= want,
             f"{want} ready pods, none named {deleted}", f"{len(ready)} ready: {', '.join(names) or 'none'}",
             hint="the ReplicaSet creates a replacement with a new name")
    ctx.part("desired", deployment_counts(d)[1] == want, f"{want}/{want} ready in the deployment",
             f"{deployment_counts(d)[1]}/{want}")


def down_names(nodes: list[Obj]) -> set[str]:
    """Names of nodes."""
    return {reprs.name_of(n) for n in nodes}


def _stopped_nodes(ctx: Context) -> list[Obj]:
    from ..act import NODE_STOPPED_ANNOTATION

    nodes = ctx.list("nodes", keep=False)
    return [n for n in nodes if not reprs.node_ready(n)
            or (reprs.meta(n).get("annotations") or {}).get(NODE_STOPPED_ANNOTATION) == "true"]


@LAB.task("node-drill", f"with a node stopped, {DEPLOYMENT} is back to full strength on the other nodes",
          points=4,
          hints=["stop a worker that runs pods: kk.stop_node('kk-worker')",
                 "watch the pods move: kk.ClusterView() or kubectl get pods -o wide -w",
                 "pods on a NotReady node are evicted after a grace period, then recreated elsewhere"])
def node_drill(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    node_name = ctx.param("node")
    stopped = _stopped_nodes(ctx)
    if node_name:
        node = ctx.get("node", str(node_name))
        ok = node is not None and str(node_name) in {reprs.name_of(n) for n in stopped}
        ctx.require("node stopped", ok, f"node {node_name} stopped (NotReady)",
                    "no such node" if node is None else reprs.node_status(node),
                    hint=f"kk.stop_node('{node_name}')")
        down = {str(node_name)} if ok else set()
    else:
        for n in stopped:
            ctx.remember(n)
        ctx.require("node stopped", bool(stopped), "a stopped (NotReady) node",
                    ", ".join(sorted(down_names(stopped))) or "every node is Ready",
                    hint="kk.stop_node('kk-worker')")
        down = down_names(stopped)
    if not down:
        return
    d = ctx.get("deployment", name)
    if not ctx.found("deployment", d, f"deployment {name}"):
        return
    assert d is not None
    want = deployment_counts(d)[0]
    pods = _pods(ctx, d)
    elsewhere = [p for p in pods if reprs.pod_is_ready(p) and (p.get("spec") or {}).get("nodeName") not in down]
    ctx.part("rescheduled", len(elsewhere) >= want, f"{want} ready pods on nodes other than {', '.join(sorted(down))}",
             f"{len(elsewhere)} ready elsewhere", hint="eviction takes a little while; check again shortly")


@LAB.task("node-back", "every node is Ready again", points=2, hints=["kk.start_node('kk-worker')"])
def node_back(ctx: Context) -> None:
    stopped = _stopped_nodes(ctx)
    for n in stopped:
        ctx.remember(n)
    ctx.part("ready", not stopped, "all nodes Ready", ", ".join(f"{reprs.name_of(n)} {reprs.node_status(n)}"
                                                                for n in stopped) or "all Ready",
             hint="kk.start_node('<node>') for each stopped node")


@LAB.set_setup
def setup(lab: Lab) -> None:
    """The lab starts with ``myd1`` at 3 ready replicas and every node running."""
    start_replaced(lab)


@LAB.step("replaced")
def start_replaced(lab: Lab) -> None:
    """``myd1`` at 3 ready replicas."""
    from ..act import ensure_deployment

    ensure_deployment(DEPLOYMENT, IMAGE, REPLICAS, lab.namespace, cluster=lab.cluster)


@LAB.step("node-drill")
def start_node_drill(lab: Lab) -> None:
    """Every node running again, ``myd1`` at 3 ready replicas."""
    from ..act import NODE_STOPPED_ANNOTATION, start_node
    from ..helpers import list_objects

    if lab.cluster.backend == "sandbox":
        for n in list_objects("nodes", cluster=lab.cluster):
            if (reprs.meta(n).get("annotations") or {}).get(NODE_STOPPED_ANNOTATION):
                start_node(reprs.name_of(n), cluster=lab.cluster)
    start_replaced(lab)
