"""Lab 09 — portability: the same workload, from the same files, in two places (namespaces or contexts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import reprs
from .base import Context, LabChecks, Obj, deployment_counts

if TYPE_CHECKING:
    from ..lab import Lab

LAB = LabChecks("09", "portability")
DEPLOYMENT = "myd1"
#: Replicas task 2 scales to, in both places.
SCALED = 3


def other_namespace(namespace: str) -> str:
    """The second place of the lab: ``<lab namespace>-b``."""
    return f"{namespace}-b"[:63]


def _describe(d: Obj | None) -> str:
    if d is None:
        return "missing"
    want, ready, _, _ = deployment_counts(d)
    return f"{', '.join(reprs.images_of(d))}, {ready}/{want} ready"


@LAB.task("portable", f"deployment {DEPLOYMENT} runs the same way in two places", points=5,
          hints=[f"kubectl apply -f myd1.yaml -n <lab namespace>-b (or --context <other>)",
                 "lab.check('portable', namespace_b='...') or context_b='...' names the second place"])
def portable(ctx: Context) -> None:
    _same_in_both(ctx)


@LAB.task("scaled", f"deployment {DEPLOYMENT} runs {SCALED} ready replicas in both places", points=5,
          hints=["patch_namespaced_deployment_scale('myd1', namespace, {'spec': {'replicas': 3}}) for each place",
                 "kubectl scale deployment myd1 --replicas=3 (and again with --context place-b)"])
def scaled(ctx: Context) -> None:
    counts = _same_in_both(ctx)
    if counts is None:
        return
    want = int(ctx.param("replicas", SCALED))
    (a, _, _, _), (b, _, _, _) = counts
    ctx.require("scaled", a == b == want, f"{want} replicas desired in both", f"{a} and {b}",
                hint=f"scale both: replicas {want}")


def _same_in_both(ctx: Context) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]] | None:
    """Parts: ``myd1`` in both places with the same images and replicas, all ready; the counts of both."""
    from ..connect import open_cluster

    name = ctx.param("name", DEPLOYMENT)
    ns_b = str(ctx.param("namespace_b", other_namespace(ctx.namespace)))
    context_b = ctx.param("context_b")
    here = ctx.get("deployment", name)
    if context_b:
        source = ctx.lab.source_kubeconfig if ctx.lab is not None else ctx.cluster.kubeconfig_path
        other_cluster = open_cluster(source, str(context_b))
        there_ctx = Context(other_cluster, ns_b)
        there: Any = there_ctx.get("deployment", name)
        if there is not None:
            ctx.remember(there)
        where_b = f"context {context_b}, namespace {ns_b}"
    else:
        there = ctx.get("deployment", name, ns_b)
        where_b = f"namespace {ns_b}"
    ctx.require("here", here is not None, f"deployment {name} in {ctx.namespace}", _describe(here))
    ctx.require("there", there is not None, f"deployment {name} in {where_b}", _describe(there),
                hint=f"kubectl apply -f myd1.yaml -n {ns_b}")
    if here is None or there is None:
        return None
    ctx.require("same image", reprs.images_of(here) == reprs.images_of(there), "the same images in both",
                f"{reprs.images_of(here)} vs {reprs.images_of(there)}", hint="apply the same file in both places")
    a, b = deployment_counts(here), deployment_counts(there)
    ctx.require("same replicas", a[0] == b[0], "the same replicas in both", f"{a[0]} vs {b[0]}")
    ctx.part("ready", a[1] == a[0] and b[1] == b[0], "all ready in both", f"{a[1]}/{a[0]} and {b[1]}/{b[0]}")
    return a, b


@LAB.set_setup
def setup(lab: Lab) -> None:
    """A fresh second namespace ``<lab namespace>-b`` next to the lab's (skipped where RBAC forbids it)."""
    from ..errors import KKError
    from ..lab import recreate_namespace

    try:
        recreate_namespace(lab.cluster, other_namespace(lab.namespace), labels={"kk.dev/lab": lab.name})
    except KKError:
        pass
