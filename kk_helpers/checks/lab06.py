"""Lab 06 — rollouts: update ``myd1``'s image, read the history, roll back, recover from a broken image."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import reprs
from .base import Context, LabChecks, Obj, deployment_counts, image_matches

if TYPE_CHECKING:
    from ..lab import Lab

LAB = LabChecks("06", "rollouts")
DEPLOYMENT = "myd1"
IMAGE_V1 = "httpd:2.4"
IMAGE_V2 = "nginx:1.29.4"
#: The typo the lab rolls out on purpose (an image that does not exist).
BROKEN = "ngnix:1.29.4"
REPLICAS = 4


def _revision(obj: Obj) -> int:
    try:
        return int((reprs.meta(obj).get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
    except ValueError:
        return 0


def _owned_rs(ctx: Context, d: Obj) -> list[Obj]:
    uid = reprs.meta(d).get("uid")
    rss = [rs for rs in ctx.list("replicasets", keep=False) if (reprs.controller_of(rs) or {}).get("uid") == uid]
    for rs in rss:
        ctx.remember(rs)
    return sorted(rss, key=_revision)


def _rolled_out(ctx: Context, d: Obj, image: str, name: str) -> None:
    images = reprs.images_of(d)
    ctx.require("image", any(image_matches(i, image) for i in images), f"image {image}", ", ".join(images),
                hint=f"kubectl set image deployment/{name} '*={image}'")
    want, ready, updated, available = deployment_counts(d)
    fresh = ((d.get("status") or {}).get("observedGeneration") or 0) >= (reprs.meta(d).get("generation") or 0)
    ctx.part("complete", fresh and want == ready == updated == available, f"{want}/{want} updated and ready",
             f"{updated} updated, {ready} ready, {available} available",
             hint=f"kubectl rollout status deployment/{name}")
    old = [rs for rs in _owned_rs(ctx, d) if not any(image_matches(i, image) for i in reprs.images_of(rs))]
    left = sum(int((rs.get("spec") or {}).get("replicas") or 0) for rs in old)
    ctx.part("old scaled down", left == 0, "old ReplicaSets at 0 replicas", f"{left} old replicas left",
             hint="the rollout scales the old ReplicaSet down as new pods become ready")


@LAB.task("rolled-out", f"{DEPLOYMENT} runs {IMAGE_V2} on every replica", points=3,
          hints=[f"kubectl set image deployment/{DEPLOYMENT} '*={IMAGE_V2}'",
                 "kk.RolloutView('myd1') shows old and new pods during the rollout"])
def rolled_out(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    if not ctx.found("exists", d, f"deployment {name}",
                     hint="rerun the setup cell: lab.reset()"):
        return
    assert d is not None
    _rolled_out(ctx, d, str(ctx.param("image", IMAGE_V2)), name)


@LAB.task("history", f"{DEPLOYMENT} has at least 2 revisions", points=2,
          hints=[f"kubectl rollout history deployment/{DEPLOYMENT}"])
def history(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    if not ctx.found("exists", d, f"deployment {name}"):
        return
    assert d is not None
    revs = sorted({_revision(rs) for rs in _owned_rs(ctx, d)})
    ctx.require("revisions", len(revs) >= 2, ">= 2 revisions", f"revisions {', '.join(map(str, revs)) or 'none'}",
                hint="change the image to start a new revision")


@LAB.task("undo", f"{DEPLOYMENT} is rolled back to {IMAGE_V1}", points=3,
          hints=[f"kubectl rollout undo deployment/{DEPLOYMENT}"])
def undo(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    if not ctx.found("exists", d, f"deployment {name}"):
        return
    assert d is not None
    ctx.require("revision", _revision(d) >= 3, "revision 3 or later (a rollback makes a new revision)",
                f"revision {_revision(d)}", hint=f"kubectl rollout undo deployment/{name}")
    _rolled_out(ctx, d, str(ctx.param("image", IMAGE_V1)), name)


@LAB.task("recovered", f"{DEPLOYMENT} recovered from the broken image: back on {IMAGE_V1}, the broken pods gone",
          points=2, hints=[f"kubectl rollout undo deployment/{DEPLOYMENT}",
                           f"kubectl rollout status deployment/{DEPLOYMENT} waits for the rollback"])
def recovered(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    if not ctx.found("exists", d, f"deployment {name}"):
        return
    assert d is not None
    broken = [rs for rs in _owned_rs(ctx, d) if any(image_matches(i, BROKEN) for i in reprs.images_of(rs))]
    ctx.require("broken rollout", bool(broken), f"a ReplicaSet of the broken image {BROKEN}",
                f"{len(broken)} ReplicaSet(s) with {BROKEN}",
                hint="run the cell that rolls out the broken image first")
    _rolled_out(ctx, d, str(ctx.param("image", IMAGE_V1)), name)


@LAB.set_setup
def setup(lab: Lab) -> None:
    """The lab starts with ``myd1`` running httpd:2.4 on 4 replicas (revision 1)."""
    start_rollout(lab)


@LAB.step("rolled-out")
def start_rollout(lab: Lab) -> None:
    """``myd1`` deleted and recreated at revision 1 with httpd:2.4."""
    from ..act import delete, ensure_deployment

    delete("deployment", DEPLOYMENT, lab.namespace, cluster=lab.cluster, wait=True)
    ensure_deployment(DEPLOYMENT, IMAGE_V1, REPLICAS, lab.namespace, cluster=lab.cluster)
