"""Reach a service from the notebook and see which pod answered.

:func:`service_url` finds a URL the notebook can open for a NodePort (or
LoadBalancer) service on each backend:

* kind: ``http://127.0.0.1:<nodePort>`` (the workshop kind config publishes every
  NodePort on the host's loopback), else a node's InternalIP;
* sandbox: ``http://<node InternalIP>:<nodePort>``, or the URL its NodePort proxy
  publishes on the Service when that port was taken (:data:`SANDBOX_URLS_ANNOTATION`);
* shared cluster: a Ready node's ExternalIP, else its InternalIP.

:func:`http_get` fetches a URL (no proxies, no retries, nothing on stderr) and
names the pod that answered: from a header (the sandbox sends ``X-KK-Pod``),
from the body (``served by pod NAME``, ``pod: NAME``, ``Hostname: NAME``...),
or by finding a pod's name or IP of the namespace in the body.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from . import reprs
from .connect import Cluster, current
from .errors import KKError
from .helpers import get_object, list_objects

Obj = dict[str, Any]

#: Annotations in which the sandbox's NodePort proxy publishes the URLs it really listens on when a node
#: port was taken on the host (see kk_helpers/sandbox/controllers/proxy.py): JSON ``{"<nodePort>": {"<node>":
#: "<url>"}}``, and one URL to use.
SANDBOX_URLS_ANNOTATION = "sandbox.kk.dev/node-port-urls"
SANDBOX_URL_ANNOTATION = "sandbox.kk.dev/url"

_POD_HEADERS = ("X-KK-Pod", "X-Pod-Name", "X-Served-By", "X-Hostname")
_POD_PATTERNS = (
    re.compile(r"served by pod ([a-z0-9][a-z0-9.-]*)", re.I),
    re.compile(r"^\s*pod(?: name)?:\s*([a-z0-9][a-z0-9.-]*)\s*$", re.I | re.M),
    re.compile(r"^\s*Hostname:\s*([a-z0-9][a-z0-9.-]*)\s*$", re.I | re.M),
    re.compile(r"Running on:\s*([a-z0-9][a-z0-9.-]*)", re.I),
    re.compile(r"Server name:\s*(?:</span>\s*<span>)?\s*([a-z0-9][a-z0-9.-]*)", re.I),
)
_DNS_LABELS = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


def _pick_port(svc: Obj, port: int | str | None) -> Obj:
    ports = (svc.get("spec") or {}).get("ports") or []
    name = reprs.name_of(svc)
    if not ports:
        raise KKError(f"service {name} has no ports — recreate it: kubectl expose deployment {name} "
                      f"--type=NodePort --port=80")
    if port is None:
        return dict(ports[0])
    for p in ports:
        if port in (p.get("port"), p.get("name"), p.get("nodePort")):
            return dict(p)
    raise KKError(f"service {name} has no port {port}; it has {reprs.service_ports(svc)}")


def _tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _nodes_in_order(c: Cluster) -> list[Obj]:
    """Nodes to send traffic to: Ready before NotReady, workers before the control plane, then by name."""
    return sorted(list_objects("nodes", cluster=c),
                  key=lambda n: (not reprs.node_ready(n), reprs.node_roles(n) != "<none>", reprs.name_of(n)))


def _node_hosts(nodes: list[Obj], kinds: tuple[str, ...]) -> list[str]:
    for kind in kinds:
        found = [reprs.node_address(n, kind) for n in nodes if reprs.node_address(n, kind)]
        if found:
            return found
    return []


def _published_url(svc: Obj, node_port: int, nodes: list[Obj]) -> str:
    """The URL the sandbox proxy published for ``node_port`` on the first usable node, if any."""
    annotations = reprs.meta(svc).get("annotations") or {}
    raw = annotations.get(SANDBOX_URLS_ANNOTATION)
    if raw:
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        by_node = data.get(str(node_port)) if isinstance(data, dict) else None
        if isinstance(by_node, dict):
            for node in nodes:
                url = by_node.get(reprs.name_of(node))
                if isinstance(url, str) and url.startswith("http"):
                    return url
    one = annotations.get(SANDBOX_URL_ANNOTATION)
    if isinstance(one, str) and one.startswith("http") and len((svc.get("spec") or {}).get("ports") or []) == 1:
        return one
    return ""


def service_url(name: str, port: int | str | None = None, namespace: str | None = None, *, path: str = "/",
                cluster: Cluster | None = None) -> str:
    """A URL the notebook can open for a NodePort or LoadBalancer service.

    Args:
        name: service name.
        port: which service port (number or name); default: the first.
        namespace: default: the cluster's.
        path: appended to the URL.
        cluster: default: the current cluster.

    Raises:
        KKError: the service is missing, or of a type not reachable from outside the cluster.
    """
    c = current(cluster)
    ns = namespace or c.namespace
    svc = get_object("service", name, ns, cluster=c)
    if svc is None:
        raise KKError(f"Could not find Service {name} in namespace {ns}. Create it: kubectl expose deployment "
                      f"{name} --type=NodePort --port=80")
    spec = svc.get("spec") or {}
    stype = spec.get("type", "ClusterIP")
    p = _pick_port(svc, port)
    suffix = path if path.startswith("/") else "/" + path
    for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        host = ing.get("ip") or ing.get("hostname")
        if host:
            return f"http://{host}:{p.get('port')}{suffix}"
    node_port = p.get("nodePort")
    if stype not in ("NodePort", "LoadBalancer") or not node_port:
        raise KKError(f"service {name} is of type {stype}, reachable only inside the cluster — make it a "
                      f"NodePort: kubectl expose deployment {name} --type=NodePort --port=80 "
                      f"(or kubectl patch svc {name} -p '{{\"spec\":{{\"type\":\"NodePort\"}}}}')")
    nodes = _nodes_in_order(c)
    if c.backend == "sandbox":
        published = _published_url(svc, int(node_port), nodes)
        if published:
            return published.rstrip("/") + suffix
        hosts = _node_hosts(nodes, ("InternalIP",))
    elif c.backend == "kind":
        if _tcp_open("127.0.0.1", int(node_port)):
            return f"http://127.0.0.1:{node_port}{suffix}"
        hosts = _node_hosts(nodes, ("InternalIP",))
    else:
        hosts = _node_hosts(nodes, ("ExternalIP", "InternalIP"))
    if not hosts:
        raise KKError(f"no node of context {c.context} publishes an address — ask your instructor how to reach "
                      f"NodePort {node_port}")
    return f"http://{hosts[0]}:{node_port}{suffix}"


@dataclass
class HttpResult:
    """One HTTP answer and who gave it.

    Attributes:
        url: what was asked.
        status: HTTP status, 0 when nothing answered.
        body: the body as text.
        headers: response headers.
        pod: the pod that answered, when it could be told.
        pod_ip: its IP, when it could be told.
        error: why nothing answered (status 0).
        elapsed: seconds the request took.
    """

    url: str
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    pod: str | None = None
    pod_ip: str | None = None
    error: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    def raise_for_status(self) -> HttpResult:
        """Raise a :class:`KKError` unless the answer was 2xx; returns self."""
        if not self.ok:
            raise KKError(self._problem())
        return self

    def _problem(self) -> str:
        if self.status == 0:
            return (f"no answer from {self.url}: {self.error} — check the nodePort (kubectl get svc) and that "
                    f"pods are ready (kubectl get endpoints)")
        return f"{self.url} answered {self.status}"

    def __repr__(self) -> str:
        if self.status == 0:
            return f"<HTTP ✗ {self._problem()}>"
        who = f" from pod {self.pod}" if self.pod else ""
        first = self.body.strip().splitlines()[0][:80] if self.body.strip() else ""
        return f"<HTTP {self.status}{who} ({len(self.body)} bytes, {self.elapsed * 1000:.0f} ms): {first}>"

    def _repr_html_(self) -> str:
        if self.status == 0:
            return f"<div style='color:#c62828'>✗ {escape(self._problem())}</div>"
        color = "#2e7d32" if self.ok else "#c62828"
        who = (f" from pod {reprs.chip(self.pod, '#2e7d32')}" + (f" ({escape(self.pod_ip)})" if self.pod_ip else "")
               if self.pod else "")
        return (f"<div><b style='color:{color}'>HTTP {self.status}</b>{who} "
                f"<span style='color:#666'>{escape(self.url)} · {self.elapsed * 1000:.0f} ms</span>"
                f"<details><summary>body ({len(self.body)} bytes)</summary><pre>{escape(self.body[:4000])}</pre>"
                f"</details></div>")


def pod_from_response(body: str, headers: dict[str, str], known: dict[str, str] | None = None
                      ) -> tuple[str | None, str | None]:
    """Which pod answered: (name, ip) from headers, then body patterns, then known pod names/IPs.

    Args:
        body: response body.
        headers: response headers (any case).
        known: pod IP -> pod name of the namespace, for bodies that only show an IP.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    ip = lower.get("x-kk-pod-ip")
    for h in _POD_HEADERS:
        if lower.get(h.lower()):
            return lower[h.lower()].strip(), ip
    for pattern in _POD_PATTERNS:
        m = pattern.search(body)
        if m:
            return m.group(1).rstrip("."), ip
    text = body.strip()
    if text and "\n" not in text and _DNS_LABELS.match(text) and "-" in text:
        return text, ip
    if known:
        for pod_ip, name in known.items():
            if name and re.search(rf"\b{re.escape(name)}\b", body):
                return name, pod_ip
        for pod_ip, name in known.items():
            if pod_ip and re.search(rf"(?<![\d.]){re.escape(pod_ip)}(?![\d.])", body):
                return name, pod_ip
    return None, ip


def _pod_index(cluster: Cluster | None, namespace: str | None) -> dict[str, str]:
    try:
        c = current(cluster)
        pods = list_objects("pods", namespace, cluster=c)
    except KKError:
        return {}
    return {str((p.get("status") or {}).get("podIP") or f"?{reprs.name_of(p)}"): reprs.name_of(p) for p in pods}


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, *, timeout: float = 5.0, namespace: str | None = None, cluster: Cluster | None = None,
             resolve: bool = True) -> HttpResult:
    """GET a URL and tell which pod answered; never raises for network errors (``status`` 0 instead).

    Args:
        url: ``http://...`` (a bare ``host:port`` gets ``http://``).
        timeout: seconds.
        namespace: where to look up pods when the body shows only an IP.
        cluster: for that look-up; default: the current cluster (only used when needed).
        resolve: allow that look-up.
    """
    if "://" not in url:
        url = "http://" + url
    req = urllib.request.Request(url, headers={"User-Agent": "kk-notebook/1", "Connection": "close"})
    start = time.monotonic()
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            status = resp.status
            headers = dict(resp.headers.items())
            body = resp.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as err:
        status, headers = err.code, dict(err.headers.items()) if err.headers else {}
        body = err.read().decode("utf-8", errors="replace") if err.fp else ""
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return HttpResult(url, 0, error=str(reason), elapsed=time.monotonic() - start)
    elapsed = time.monotonic() - start
    pod, ip = pod_from_response(body, headers)
    if pod is None and resolve:
        pod, ip = pod_from_response(body, headers, _pod_index(cluster, namespace))
    return HttpResult(url, status, body, headers, pod, ip, elapsed=elapsed)


@dataclass
class Traffic:
    """Answers to N requests, counted per pod.

    Attributes:
        url: the URL probed.
        results: every answer.
    """

    url: str
    results: list[HttpResult]

    @property
    def counts(self) -> Counter[str]:
        """Answers per pod (``(no answer)`` and ``(unknown pod)`` for the rest)."""
        return Counter((r.pod or "(unknown pod)") if r.status else "(no answer)" for r in self.results)

    @property
    def pods(self) -> set[str]:
        """Distinct pods that answered."""
        return {r.pod for r in self.results if r.status and r.pod}

    @property
    def failures(self) -> int:
        """Requests nothing answered."""
        return sum(1 for r in self.results if r.status == 0)

    def __repr__(self) -> str:
        return reprs.bars_text(dict(self.counts), title=f"{len(self.results)} requests to {self.url}")

    def _repr_html_(self) -> str:
        return reprs.bars_html(dict(self.counts), title=f"{len(self.results)} requests to {self.url}")


def traffic(url: str, n: int = 20, *, timeout: float = 5.0, namespace: str | None = None,
            cluster: Cluster | None = None, on_result: Callable[[HttpResult], None] | None = None) -> Traffic:
    """Send ``n`` requests (a new connection each, so the service can pick a new pod) and count who answered.

    Args:
        url: where to send them.
        n: how many.
        timeout: seconds per request.
        namespace: where to look up pods when a body shows only an IP.
        cluster: for that look-up (asked once, only when needed).
        on_result: called after each answer (the TrafficProbe redraws its bars).
    """
    if n < 1:
        raise KKError(f"send at least one request, not {n}")
    index: dict[str, str] | None = None
    results = []
    for _ in range(n):
        r = http_get(url, timeout=timeout, resolve=False)
        if r.status and r.pod is None:
            if index is None:
                index = _pod_index(cluster, namespace)
            r.pod, r.pod_ip = pod_from_response(r.body, r.headers, index)
        results.append(r)
        if on_result is not None:
            on_result(r)
    return Traffic(url, results)


__all__ = ["HttpResult", "Traffic", "http_get", "pod_from_response", "service_url", "traffic",
           "SANDBOX_URLS_ANNOTATION", "SANDBOX_URL_ANNOTATION"]
