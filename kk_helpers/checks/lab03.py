"""Lab 03 — scaling: ``myd1`` to 4 ready replicas spread over nodes, then down to 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import reprs
from .base import Context, LabChecks, Obj, deployment_counts, live_pods

if TYPE_CHECKING:
    from ..lab import Lab

LAB = LabChecks("03", "scaling")
DEPLOYMENT = "myd1"
IMAGE = "vimal13/apache-webserver-php"


def ready_pods(ctx: Context, d: Obj) -> list[Obj]:
    """Ready, non-terminating pods the deployment selects."""
    from ..act import selector_string

    return [p for p in live_pods(ctx.list("pods", selector=selector_string(d))) if reprs.pod_is_ready(p)]


def check_replicas(ctx: Context, want: int) -> None:
    """Deployment ``myd1`` wants ``want`` replicas, and exactly that many pods are ready."""
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    if not ctx.found("exists", d, f"deployment {name}",
                     hint="rerun the setup cell: lab.reset()"):
        return
    assert d is not None
    desired, ready, _, _ = deployment_counts(d)
    ctx.require("desired", desired == want, f"{want} replicas desired", f"{desired} desired",
                hint=f"kubectl scale deployment {name} --replicas={want}")
    pods = ready_pods(ctx, d)
    ctx.part("ready", ready == want and len(pods) == want, f"{want} ready pods",
             f"{len(pods)} ready pods ({ready} in the deployment's status)",
             hint=f"watch them arrive: kubectl get pods -l app={name} -w (or kk.ClusterView())")


@LAB.task("scale", f"{DEPLOYMENT} runs 4 ready replicas", points=4,
          hints=[f"kubectl scale deployment {DEPLOYMENT} --replicas=4", "or move kk.ScaleSlider('myd1') to 4"])
def scale(ctx: Context) -> None:
    check_replicas(ctx, int(ctx.param("replicas", 4)))


@LAB.task("spread", f"the pods of {DEPLOYMENT} run on at least 2 nodes", points=3,
          hints=["kubectl get pods -o wide shows the NODE column",
                 "the scheduler spreads replicas; with 4 replicas on 2 workers both get some"])
def spread(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    if not ctx.found("exists", d, f"deployment {name}"):
        return
    assert d is not None
    nodes = sorted({str((p.get("spec") or {}).get("nodeName")) for p in ready_pods(ctx, d)})
    ctx.part("nodes", len(nodes) >= 2, "ready pods on >= 2 nodes", f"{len(nodes)} node(s): {', '.join(nodes) or 'none'}",
             hint=f"scale up first: kubectl scale deployment {name} --replicas=4")


@LAB.task("scale-down", f"{DEPLOYMENT} is scaled down to 2", points=3,
          hints=[f"kubectl scale deployment {DEPLOYMENT} --replicas=2"])
def scale_down(ctx: Context) -> None:
    check_replicas(ctx, int(ctx.param("replicas", 2)))


@LAB.set_setup
def setup(lab: Lab) -> None:
    """The lab starts with ``myd1`` at 1 replica."""
    start_scale(lab)


@LAB.step("scale")
def start_scale(lab: Lab) -> None:
    """Before scaling up: ``myd1`` at 1 replica."""
    from ..act import ensure_deployment

    ensure_deployment(DEPLOYMENT, IMAGE, 1, lab.namespace, cluster=lab.cluster)


@LAB.step("scale-down")
def start_scale_down(lab: Lab) -> None:
    """Before scaling down: ``myd1`` at 4 ready replicas."""
    from ..act import ensure_deployment

    ensure_deployment(DEPLOYMENT, IMAGE, 4, lab.namespace, cluster=lab.cluster)
