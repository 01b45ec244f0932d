"""Lab 02 — deployments: create ``myd1``, follow its ownership chain, delete it."""

from __future__ import annotations

from .. import reprs
from .base import Context, LabChecks, deployment_counts, image_matches, live_pods

LAB = LabChecks("02", "deployments")
DEPLOYMENT = "myd1"
IMAGE = "vimal13/apache-webserver-php"


@LAB.task("deployment", f"deployment {DEPLOYMENT} runs {IMAGE} with 1/1 ready", points=4,
          hints=[f"kubectl create deployment {DEPLOYMENT} --image={IMAGE}",
                 f"kubectl rollout status deployment/{DEPLOYMENT} waits until it is ready"])
def deployment(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    if not ctx.found("exists", d, f"a deployment named {name}",
                     hint=f"kubectl create deployment {name} --image={IMAGE}"):
        return
    assert d is not None
    images = reprs.images_of(d)
    ctx.require("image", any(image_matches(i, IMAGE) for i in images), f"image {IMAGE}", ", ".join(images) or "none",
                hint=f"kubectl set image deployment/{name} '*={IMAGE}'")
    want, ready, _, _ = deployment_counts(d)
    ctx.require("replicas", want == 1, "1 replica desired", f"{want} desired",
                hint=f"kubectl scale deployment {name} --replicas=1")
    ctx.part("ready", ready == 1 == want, "1/1 ready", f"{ready}/{want} ready", hint=f"kubectl describe deployment {name}")


@LAB.task("owners", f"{DEPLOYMENT} owns a ReplicaSet, which owns the pods", points=3,
          hints=["kubectl get rs,pods -o wide; look at metadata.ownerReferences in -o yaml",
                 "kk.tree() draws the chain"])
def owners(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    if not ctx.found("deployment", d, f"deployment {name}",
                     hint=f"kubectl create deployment {name} --image={IMAGE}"):
        return
    assert d is not None
    uid = reprs.meta(d).get("uid")
    rss = [rs for rs in ctx.list("replicasets", keep=False)
           if (reprs.controller_of(rs) or {}).get("uid") == uid]
    for rs in rss:
        ctx.remember(rs)
    active = [rs for rs in rss if ((rs.get("spec") or {}).get("replicas") or 0) > 0]
    ctx.part("replicaset", bool(active), f"a ReplicaSet owned by deployment {name}",
             f"{len(rss)} owned ({', '.join(reprs.name_of(r) for r in rss) or 'none'})")
    rs_uids = {reprs.meta(rs).get("uid") for rs in rss}
    pods = [p for p in live_pods(ctx.list("pods", keep=False)) if (reprs.controller_of(p) or {}).get("uid") in rs_uids]
    for p in pods:
        ctx.remember(p)
    want = deployment_counts(d)[0]
    ctx.part("pods", len(pods) >= max(1, want), f"{max(1, want)} pod(s) owned by that ReplicaSet",
             f"{len(pods)} owned pod(s)", hint="kubectl get pods -l app=" + name)


@LAB.task("deployment-deleted", f"deployment {DEPLOYMENT} and its pods are gone", points=3,
          hints=[f"kubectl delete deployment {DEPLOYMENT}"])
def deployment_deleted(ctx: Context) -> None:
    name = ctx.param("name", DEPLOYMENT)
    d = ctx.get("deployment", name)
    ctx.part("deployment", d is None, f"no deployment {name}", "still there" if d else "gone",
             final=d is not None and not reprs.meta(d).get("deletionTimestamp"),
             hint=f"kubectl delete deployment {name}")
    left = [p for p in ctx.list("pods", selector=f"app={name}")]
    ctx.part("pods", not left, f"no pods labelled app={name}",
             f"{len(left)} left ({', '.join(reprs.name_of(p) for p in left)})" if left else "none left",
             hint="deleting a deployment deletes its ReplicaSet and pods (it may take a moment)")
