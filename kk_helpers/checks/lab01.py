"""Lab 01 — pods: run pod ``web`` from nginx, then delete it."""

from __future__ import annotations

from .. import reprs
from .base import Context, LabChecks, image_matches

LAB = LabChecks("01", "pods")
POD = "web"
IMAGE = "nginx"


@LAB.task("pod-running", f"pod {POD} runs the {IMAGE} image",
          hints=[f"kubectl run {POD} --image={IMAGE}", f"kubectl describe pod {POD} shows why it is not Running"])
def pod_running(ctx: Context) -> None:
    name = ctx.param("name", POD)
    pod = ctx.get("pod", name)
    if not ctx.found("exists", pod, f"a pod named {name}",
                     hint=f"kubectl run {name} --image={IMAGE}"):
        return
    assert pod is not None
    images = reprs.images_of(pod)
    ctx.require("image", any(image_matches(i, IMAGE) for i in images), f"image {IMAGE}", ", ".join(images) or "none",
                hint=f"delete it (kubectl delete pod {name}) and run it again with --image={IMAGE}")
    status = reprs.pod_status(pod)
    ctx.part("running", status == "Running" and reprs.pod_is_ready(pod), "status Running and ready",
             f"status {status}, ready {reprs.pod_ready(pod)}", hint=f"kubectl describe pod {name}")


@LAB.task("pod-deleted", f"pod {POD} is deleted", hints=[f"kubectl delete pod {POD}"])
def pod_deleted(ctx: Context) -> None:
    name = ctx.param("name", POD)
    pod = ctx.get("pod", name)
    state = "gone" if pod is None else ("terminating" if reprs.meta(pod).get("deletionTimestamp") else "still there")
    ctx.part("gone", pod is None, f"no pod {name}", state, hint=f"kubectl delete pod {name}",
             final=pod is not None and state == "still there")
