"""Lab 01 — pods: run pod ``web`` from nginx and delete it, with kubectl and then with the Python client."""

from __future__ import annotations

from .. import reprs
from .base import Context, LabChecks, Obj, image_matches

LAB = LabChecks("01", "pods")
POD = "web"
IMAGE = "nginx"
RUN = f"kubectl run {{name}} --image={IMAGE}"


def _running(ctx: Context, how: str) -> Obj | None:
    """Pod ``web`` exists (created as ``how`` says), runs an nginx image, is Running and ready; the pod or None."""
    name = ctx.param("name", POD)
    pod = ctx.get("pod", name)
    if not ctx.found("exists", pod, f"a pod named {name}", hint=how.format(name=name)):
        return None
    assert pod is not None
    images = reprs.images_of(pod)
    ctx.require("image", any(image_matches(i, IMAGE) for i in images), f"image {IMAGE}", ", ".join(images) or "none",
                hint=f"delete it (kubectl delete pod {name}) and run it again with --image={IMAGE}")
    status = reprs.pod_status(pod)
    ctx.part("running", status == "Running" and reprs.pod_is_ready(pod), "status Running and ready",
             f"status {status}, ready {reprs.pod_ready(pod)}", hint=f"kubectl describe pod {name}")
    return pod


def _kubectl_managers(pod: Obj) -> list[str]:
    """The kubectl commands that wrote the pod (``kubectl-run``...), from its ``metadata.managedFields``."""
    return sorted({str(m.get("manager", "")) for m in reprs.meta(pod).get("managedFields") or []
                   if str(m.get("manager", "")).startswith("kubectl")})


def _gone(ctx: Context, how: str) -> None:
    name = ctx.param("name", POD)
    pod = ctx.get("pod", name)
    state = "gone" if pod is None else ("terminating" if reprs.meta(pod).get("deletionTimestamp") else "still there")
    ctx.part("gone", pod is None, f"no pod {name}", state, hint=how.format(name=name),
             final=pod is not None and state == "still there")


@LAB.task("pod-running", f"pod {POD} runs the {IMAGE} image", points=3,
          hints=[f"kubectl run {POD} --image={IMAGE}", f"kubectl describe pod {POD} shows why it is not Running"])
def pod_running(ctx: Context) -> None:
    _running(ctx, RUN)


@LAB.task("pod-deleted", f"pod {POD} is deleted", points=2, hints=[f"kubectl delete pod {POD}"])
def pod_deleted(ctx: Context) -> None:
    _gone(ctx, "kubectl delete pod {name}")


@LAB.task("python-create", f"pod {POD}, created with the Python client, runs the {IMAGE} image", points=2,
          hints=["lab.cluster.core.create_namespaced_pod(lab.namespace, body)",
                 "a pod made by kubectl run does not count: delete it first (kubectl delete pod web)"])
def python_create(ctx: Context) -> None:
    pod = _running(ctx, "lab.cluster.core.create_namespaced_pod(lab.namespace, body)")
    if pod is None:
        return
    by_kubectl = _kubectl_managers(pod)
    ctx.require("from Python", not by_kubectl, "created through the API by Python, not by kubectl",
                f"written by {', '.join(by_kubectl)}" if by_kubectl else "no kubectl involved",
                hint=f"kubectl delete pod {ctx.param('name', POD)}, then create it with create_namespaced_pod")


@LAB.task("python-logs", f"pod {POD} runs and its log can be read", points=1,
          hints=[f"lab.cluster.core.read_namespaced_pod_log('{POD}', lab.namespace)", f"kubectl logs {POD}"])
def python_logs(ctx: Context) -> None:
    name = ctx.param("name", POD)
    if _running(ctx, "create it first (task 3)") is None or not ctx.parts[-1].passed:
        return
    with ctx.cluster.explained(f"reading the log of pod {name}"):  # plain text: not Cluster.call, which wants JSON
        log = ctx.cluster.core.read_namespaced_pod_log(name, ctx.namespace, _request_timeout=10)
    text = log if isinstance(log, str) else ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    ctx.part("log", bool(first), "a log with at least one line", f"first line: {first[:80]}" if first else "empty",
             hint="nginx logs a few lines when it starts: wait a moment and read again")


@LAB.task("python-delete", f"pod {POD} is deleted with the Python client", points=2,
          hints=[f"lab.cluster.core.delete_namespaced_pod('{POD}', lab.namespace)"])
def python_delete(ctx: Context) -> None:
    _gone(ctx, "lab.cluster.core.delete_namespaced_pod('{name}', lab.namespace)")
