"""Lab 05 — NodePort: expose ``myd1`` on port 80, reach it from the notebook, see traffic spread over pods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import reprs
from .base import Context, LabChecks

if TYPE_CHECKING:
    from ..lab import Lab

LAB = LabChecks("05", "NodePort services")
SERVICE = "myd1"
IMAGE = "vimal13/apache-webserver-php"
REPLICAS = 3
EXPOSE = f"kubectl expose deployment {SERVICE} --type=NodePort --port=80"


def _http_evidence(result: Any) -> dict[str, Any]:
    """An HTTP answer kept as evidence next to the objects."""
    return {"kind": "HTTPResponse", "metadata": {"name": result.url},
            "status": result.status, "pod": result.pod, "podIP": result.pod_ip, "error": result.error,
            "body": result.body[:500]}


@LAB.task("service", f"service {SERVICE} is a NodePort on port 80 selecting app={SERVICE}", points=3,
          hints=[EXPOSE, f"kubectl get svc {SERVICE} -o wide shows TYPE, PORT(S) and SELECTOR"])
def service(ctx: Context) -> None:
    from ..act import ready_endpoints

    name = ctx.param("name", SERVICE)
    svc = ctx.get("service", name)
    if not ctx.found("exists", svc, f"a service named {name}", hint=EXPOSE):
        return
    assert svc is not None
    spec = svc.get("spec") or {}
    stype = spec.get("type", "ClusterIP")
    ctx.require("type", stype == "NodePort", "type NodePort", f"type {stype}",
                hint=f"kubectl delete svc {name}, then {EXPOSE}")
    ports = [p.get("port") for p in spec.get("ports") or []]
    ctx.require("port", 80 in ports, "port 80", reprs.service_ports(svc), hint="use --port=80")
    selector = spec.get("selector") or {}
    ctx.require("selector", selector.get("app") == name, f"selector app={name}",
                ",".join(f"{k}={v}" for k, v in selector.items()) or "no selector",
                hint="kubectl expose copies the deployment's selector")
    eps = ready_endpoints(name, ctx.namespace, cluster=ctx.cluster)
    ctx.part("endpoints", bool(eps), "at least one ready endpoint", f"{len(eps)} ready endpoint(s)",
             hint=f"kubectl get endpointslices -l kubernetes.io/service-name={name}")


@LAB.task("reachable", f"service {SERVICE} answers HTTP from the notebook", points=3,
          hints=["url = kk.service_url('myd1'); kk.http_get(url)", "curl it: !curl -s $url"])
def reachable(ctx: Context) -> None:
    from ..net import http_get, service_url
    from ..errors import KKError

    name = ctx.param("name", SERVICE)
    svc = ctx.get("service", name)
    if not ctx.found("service", svc, f"service {name}", hint=EXPOSE):
        return
    try:
        url = service_url(name, namespace=ctx.namespace, cluster=ctx.cluster)
    except KKError as err:
        ctx.require("url", False, "a URL reachable from the notebook", str(err))
        return
    result = http_get(url, namespace=ctx.namespace, cluster=ctx.cluster)
    ctx.evidence.append(_http_evidence(result))
    ctx.part("answers", result.ok, f"HTTP 200 from {url}",
             f"HTTP {result.status}" if result.status else f"no answer ({result.error})",
             hint="are the pods ready? kubectl get endpoints " + name)


@LAB.task("traffic", f"requests to {SERVICE} are answered by at least 2 different pods", points=3,
          partial=True, hints=["scale to at least 2 replicas: kubectl scale deployment myd1 --replicas=3",
                 "kk.TrafficProbe('myd1') shows which pod answered each request"])
def traffic(ctx: Context) -> None:
    from ..errors import KKError
    from ..net import service_url
    from ..net import traffic as send

    name = ctx.param("name", SERVICE)
    n = int(ctx.param("n", 20))
    try:
        url = service_url(name, namespace=ctx.namespace, cluster=ctx.cluster)
    except KKError as err:
        ctx.require("url", False, "a URL reachable from the notebook", str(err), hint=EXPOSE)
        return
    result = send(url, n, namespace=ctx.namespace, cluster=ctx.cluster)
    counts = dict(result.counts)
    ctx.evidence.append({"kind": "TrafficProbe", "metadata": {"name": url}, "requests": n, "answers": counts})
    ctx.part("answered", result.failures == 0, f"all {n} requests answered", f"{n - result.failures} answered",
             hint="kubectl get endpoints " + name)
    ctx.part("spread", len(result.pods) >= 2, f">= 2 distinct pods out of {n} requests",
             f"{len(result.pods)} distinct: " + ", ".join(f"{k}×{v}" for k, v in sorted(counts.items())),
             points=2.0, hint="scale to 3 replicas and probe again")


@LAB.set_setup
def setup(lab: Lab) -> None:
    """The lab starts with ``myd1`` at 3 ready replicas and no service."""
    start_service(lab)


@LAB.step("service")
def start_service(lab: Lab) -> None:
    """``myd1`` at 3 ready replicas; service ``myd1`` removed."""
    from ..act import delete, ensure_deployment

    ensure_deployment(SERVICE, IMAGE, REPLICAS, lab.namespace, cluster=lab.cluster)
    delete("service", SERVICE, lab.namespace, cluster=lab.cluster, wait=True)
