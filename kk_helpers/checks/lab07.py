"""Lab 07 — declarative configuration: ``kubectl apply -f`` a deployment and a service, select their pods by
label, then change the file and re-apply."""

from __future__ import annotations

import json

from .. import reprs
from .base import Context, LabChecks, Obj, deployment_counts, live_pods

LAB = LabChecks("07", "declarative configuration")
NAME = "web"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _last_applied(obj: Obj) -> Obj | None:
    raw = (reprs.meta(obj).get("annotations") or {}).get(LAST_APPLIED)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _applied(ctx: Context, kind: str, name: str) -> Obj | None:
    obj = ctx.get(kind, name)
    if not ctx.found("exists", obj, f"{kind} {name}",
                     hint=f"write {name}.yaml and run kubectl apply -f {name}.yaml"):
        return None
    assert obj is not None
    has = _last_applied(obj) is not None
    ctx.require("applied", has, "created by kubectl apply (last-applied annotation)",
                "has the annotation" if has else "no last-applied-configuration annotation",
                hint=f"objects made with kubectl create are not tracked: kubectl delete {kind} {name}, then apply")
    return obj


@LAB.task("applied", f"deployment {NAME} was created with kubectl apply and is ready", points=3,
          hints=[f"kubectl apply -f {NAME}.yaml", "kubectl diff -f shows what apply would change"])
def applied(ctx: Context) -> None:
    name = ctx.param("name", NAME)
    d = _applied(ctx, "deployment", name)
    if d is None:
        return
    want, ready, _, _ = deployment_counts(d)
    ctx.part("ready", ready == want, f"{want}/{want} ready", f"{ready}/{want} ready",
             hint=f"kubectl rollout status deployment/{name}")


@LAB.task("service", f"service {NAME} was created with kubectl apply", points=2,
          hints=[f"add a Service to {NAME}.yaml (separate documents with ---) and apply"])
def service(ctx: Context) -> None:
    name = ctx.param("name", NAME)
    svc = _applied(ctx, "service", name)
    if svc is None:
        return
    selector = (svc.get("spec") or {}).get("selector") or {}
    ctx.part("selector", bool(selector), "a selector matching the deployment's pods",
             ",".join(f"{k}={v}" for k, v in selector.items()) or "none", final=True)


@LAB.task("selector", f"the pods labelled app={NAME} are ready and are the endpoints of service {NAME}", points=2,
          hints=[f"kubectl get pods -l app={NAME}",
                 f"kubectl get endpointslices -l kubernetes.io/service-name={NAME} lists the service's endpoints"])
def selector(ctx: Context) -> None:
    from ..act import ready_endpoints

    name = ctx.param("name", NAME)
    svc = ctx.get("service", name)
    if not ctx.found("service", svc, f"service {name}", hint=f"kubectl apply -f {name}.yaml"):
        return
    pods = [p for p in live_pods(ctx.list("pods", selector=f"app={name}")) if reprs.pod_is_ready(p)]
    ctx.require("pods", bool(pods), f"ready pods labelled app={name}", f"{len(pods)} ready",
                hint=f"kubectl get pods -l app={name} --show-labels")
    ips = sorted(str((p.get("status") or {}).get("podIP") or "") for p in pods)
    endpoints = sorted(ready_endpoints(name, ctx.namespace, cluster=ctx.cluster))
    ctx.part("endpoints", bool(ips) and ips == endpoints, f"the service's endpoints are those {len(ips)} pods",
             f"endpoints {', '.join(endpoints) or 'none'}; pod IPs {', '.join(ips) or 'none'}",
             hint="the endpoints follow the pods after a moment; check again")


@LAB.task("updated", f"deployment {NAME} was changed to 3 replicas by re-applying the file", points=3,
          hints=[f"edit replicas: 3 in {NAME}.yaml and kubectl apply -f {NAME}.yaml again"])
def updated(ctx: Context) -> None:
    name = ctx.param("name", NAME)
    want = int(ctx.param("replicas", 3))
    d = _applied(ctx, "deployment", name)
    if d is None:
        return
    last = _last_applied(d) or {}
    in_file = (last.get("spec") or {}).get("replicas")
    ctx.require("file", in_file == want, f"replicas: {want} in the applied file", f"replicas: {in_file}",
                hint=f"set replicas: {want} in the YAML and apply it")
    desired, ready, _, _ = deployment_counts(d)
    ctx.require("spec", desired == want, f"{want} desired", f"{desired} desired",
                hint="kubectl scale changes the cluster, not your file: apply the file again")
    ctx.part("ready", ready == want, f"{want} ready", f"{ready} ready")
