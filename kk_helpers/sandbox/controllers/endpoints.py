"""Endpoints and EndpointSlices for services with a selector.

For each such service the controller keeps:

* an ``Endpoints`` object named as the service: ready pods under
  ``addresses``, not-ready ones under ``notReadyAddresses`` (all of them under
  ``addresses`` with ``publishNotReadyAddresses``), terminating pods left out;
  subsets grouped by the resolved target ports, named as the service ports;
* EndpointSlices ``<service>-<5 random>`` labelled
  ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by:
  endpointslice-controller.k8s.io``, owned by the service, with one endpoint per
  pod and its ``ready``/``serving``/``terminating`` conditions (terminating pods
  stay, with ``ready: false``).

Named ``targetPort``s resolve per pod through its containers' named ports.
The ``kubernetes`` service's endpoints point at the control-plane node on 6443,
as the API server maintains them. Services without a selector are left to
their owners, as in a real cluster.

:func:`ready_backends` is what kube-proxy (``proxy.py``) routes to.
"""

from __future__ import annotations

from typing import Any, Iterable

from .. import errors
from ..registry import WriteOptions, now_rfc3339
from ..resources import ENDPOINTS, ENDPOINTSLICES, NODES, PODS, SERVICES
from ..store import Event, Obj, Store
from .base import Controller, Key, ManagerBase
from .runtime import Runtime, node_ip

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
TRIGGER_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"


def selector_matches(selector: dict[str, str] | None, labels: dict[str, str] | None) -> bool:
    """A service's equality selector; empty or missing selects nothing here (no managed endpoints)."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def pod_ready(pod: Obj) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def resolve_target_port(pod: Obj, sp: Obj) -> int | None:
    """The container port a service port sends to on this pod (None: a name the pod does not define)."""
    target = sp.get("targetPort", sp.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str):
        if target.isdigit():
            return int(target)
        for c in (pod.get("spec") or {}).get("containers") or []:
            for p in c.get("ports") or []:
                if p.get("name") == target and (p.get("protocol") or "TCP") == (sp.get("protocol") or "TCP"):
                    return int(p.get("containerPort") or 0) or None
        return None
    return sp.get("port")


def _selected_pods(store: Store, svc: Obj) -> list[Obj]:
    ns = svc["metadata"].get("namespace", "")
    selector = (svc.get("spec") or {}).get("selector")
    return [p for p in store.list(PODS, ns) if selector_matches(selector, p["metadata"].get("labels"))]


def ready_backends(store: Store, svc: Obj, port: int, *, node: str | None = None,
                   by: str = "port") -> list[tuple[Obj, int]]:
    """(pod, target port) for each ready, non-terminating endpoint of a service port.

    Args:
        store: the object store.
        svc: the service.
        port: the service port (``by="port"``) or node port (``by="nodePort"``).
        node: only endpoints on this node (``externalTrafficPolicy: Local``).
        by: which field of the service port ``port`` refers to.
    """
    spec = svc.get("spec") or {}
    sp = next((p for p in spec.get("ports") or [] if p.get(by) == port), None)
    if sp is None:
        if by == "port" and len(spec.get("ports") or []) == 1 and port == 80:
            sp = spec["ports"][0]
        else:
            return []
    ns = svc["metadata"].get("namespace", "")
    out: list[tuple[Obj, int]] = []
    for sl in store.list(ENDPOINTSLICES, ns):
        if (sl["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) != svc["metadata"]["name"]:
            continue
        target = next((p.get("port") for p in sl.get("ports") or [] if (p.get("name") or "") == (sp.get("name") or "")),
                      None)
        if target is None:
            continue
        for ep in sl.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            if not cond.get("ready") or cond.get("terminating"):
                continue
            if node is not None and ep.get("nodeName") != node:
                continue
            ref = ep.get("targetRef") or {}
            pod = store.get(PODS, ref.get("namespace") or ns, ref.get("name", ""))
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                continue
            out.append((pod, int(target)))
    out.sort(key=lambda e: e[0]["metadata"]["name"])
    return out


class EndpointsController(Controller):
    """The endpoints and endpointslice controllers in one."""

    name = "endpoint-controller"
    watches = (SERVICES, PODS, NODES)

    def __init__(self, manager: ManagerBase, runtime: Runtime) -> None:
        super().__init__(manager)
        self.rt = runtime
        self.opts = WriteOptions(field_manager="kube-controller-manager", field_validation="Ignore")

    def keys_for(self, ev: Event) -> Iterable[Key]:
        md = ev.obj.get("metadata", {})
        if ev.rt is SERVICES:
            return [(md.get("namespace", ""), md.get("name", ""))]
        if ev.rt is NODES:
            return [("default", "kubernetes")] if md.get("name", "").endswith("control-plane") else []
        ns = md.get("namespace", "")
        labels = [md.get("labels") or {}]
        if ev.old is not None:
            labels.append(ev.old.get("metadata", {}).get("labels") or {})
        keys = []
        for svc in self.store.list(SERVICES, ns):
            selector = (svc.get("spec") or {}).get("selector")
            if any(selector_matches(selector, lb) for lb in labels):
                keys.append((ns, svc["metadata"]["name"]))
        return keys

    def reconcile(self, key: Key) -> None:
        ns, name = key
        svc = self.store.get(SERVICES, ns, name)
        if svc is None:
            self._delete_all(ns, name)
            return
        spec = svc.get("spec") or {}
        if ns == "default" and name == "kubernetes":
            self._apiserver_endpoints(svc)
            return
        if not spec.get("selector") or spec.get("type") == "ExternalName":
            return
        pods = _selected_pods(self.store, svc)
        publish = bool(spec.get("publishNotReadyAddresses"))
        rows = []
        for pod in pods:
            st = pod.get("status") or {}
            ip = st.get("podIP")
            if not ip or st.get("phase") in ("Succeeded", "Failed"):
                continue
            ports = []
            for sp in spec.get("ports") or []:
                tp = resolve_target_port(pod, sp)
                if tp is not None:
                    ports.append((sp.get("name") or "", tp, sp.get("protocol") or "TCP", sp.get("appProtocol")))
            rows.append({"pod": pod, "ip": ip, "ready": pod_ready(pod) or publish, "serving": pod_ready(pod) or publish,
                         "terminating": bool(pod["metadata"].get("deletionTimestamp")), "ports": tuple(ports)})
        self._write_endpoints(svc, rows)
        self._write_slices(svc, rows)

    # -- Endpoints -------------------------------------------------------------------------

    @staticmethod
    def _address(row: dict[str, Any], svc: Obj) -> Obj:
        pod = row["pod"]
        md = pod["metadata"]
        addr: Obj = {"ip": row["ip"]}
        pspec = pod.get("spec") or {}
        if pspec.get("hostname") and pspec.get("subdomain") == svc["metadata"]["name"]:
            addr["hostname"] = pspec["hostname"]
        if pspec.get("nodeName"):
            addr["nodeName"] = pspec["nodeName"]
        addr["targetRef"] = {"kind": "Pod", "namespace": md.get("namespace"), "name": md["name"], "uid": md.get("uid")}
        return addr

    def _write_endpoints(self, svc: Obj, rows: list[dict[str, Any]]) -> None:
        groups: dict[tuple[Any, ...], dict[str, list[Obj]]] = {}
        for row in rows:
            if row["terminating"] or not row["ports"]:
                continue
            g = groups.setdefault(row["ports"], {"addresses": [], "notReadyAddresses": []})
            g["addresses" if row["ready"] else "notReadyAddresses"].append(self._address(row, svc))
        subsets = []
        for ports, g in sorted(groups.items(), key=lambda kv: str(kv[0])):
            subset: Obj = {}
            for field in ("addresses", "notReadyAddresses"):
                if g[field]:
                    subset[field] = sorted(g[field], key=lambda a: tuple(int(x) for x in a["ip"].split(".")))
            subset["ports"] = [{k: v for k, v in (("name", n), ("port", p), ("protocol", proto),
                                                  ("appProtocol", ap)) if v not in (None, "")}
                               for n, p, proto, ap in ports]
            subsets.append(subset)
        self._put_endpoints(svc, subsets)

    def _put_endpoints(self, svc: Obj, subsets: list[Obj], extra_labels: dict[str, str] | None = None) -> None:
        md = svc["metadata"]
        ns, name = md.get("namespace", ""), md["name"]
        labels = dict(md.get("labels") or {})
        labels.update(extra_labels or {})
        existing = self.store.get(ENDPOINTS, ns, name)
        if existing is not None and (existing.get("subsets") or []) == subsets and \
                (existing["metadata"].get("labels") or {}) == labels:
            return
        body: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": name, "namespace": ns, "labels": labels,
                                  "annotations": {TRIGGER_ANNOTATION: now_rfc3339()}}}
        if not labels:
            body["metadata"].pop("labels")
        if subsets:
            body["subsets"] = subsets
        try:
            if existing is None:
                self.registry.create(ENDPOINTS, ns, body, self.opts)
            else:
                body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
                self.registry.update(ENDPOINTS, ns, name, body, self.opts)
        except errors.APIError as err:
            if err.code in (404, 409):
                self.enqueue((ns, name))
                return
            if err.code == 403:  # the namespace is going away
                return
            raise

    # -- EndpointSlices --------------------------------------------------------------------

    def _slices_of(self, ns: str, name: str) -> list[Obj]:
        return [s for s in self.store.list(ENDPOINTSLICES, ns)
                if (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY]

    def _write_slices(self, svc: Obj, rows: list[dict[str, Any]]) -> None:
        md = svc["metadata"]
        ns, name = md.get("namespace", ""), md["name"]
        spec = svc.get("spec") or {}
        default_ports = tuple((sp.get("name") or "", sp.get("targetPort") if isinstance(sp.get("targetPort"), int)
                               else sp.get("port"), sp.get("protocol") or "TCP", sp.get("appProtocol"))
                              for sp in spec.get("ports") or [])
        groups: dict[tuple[Any, ...], list[Obj]] = {}
        for row in rows:
            if not row["ports"]:
                continue
            pod = row["pod"]
            pmd = pod["metadata"]
            ep: Obj = {"addresses": [row["ip"]],
                       "conditions": {"ready": row["ready"] and not row["terminating"], "serving": row["serving"],
                                      "terminating": row["terminating"]}}
            pspec = pod.get("spec") or {}
            if pspec.get("hostname") and pspec.get("subdomain") == name:
                ep["hostname"] = pspec["hostname"]
            if pspec.get("nodeName"):
                ep["nodeName"] = pspec["nodeName"]
            ep["targetRef"] = {"kind": "Pod", "namespace": pmd.get("namespace"), "name": pmd["name"],
                               "uid": pmd.get("uid")}
            groups.setdefault(row["ports"], []).append(ep)
        if not groups:
            groups[default_ports] = []
        existing = self._slices_of(ns, name)
        labels = dict(md.get("labels") or {})
        labels.update({SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY})
        owner = {"apiVersion": "v1", "kind": "Service", "name": name, "uid": md.get("uid"), "controller": True,
                 "blockOwnerDeletion": True}
        used: set[str] = set()
        for ports, eps in sorted(groups.items(), key=lambda kv: str(kv[0])):
            port_list = [{k: v for k, v in (("name", n), ("port", p), ("protocol", proto), ("appProtocol", ap))
                          if v is not None} for n, p, proto, ap in ports]
            eps = sorted(eps, key=lambda e: tuple(int(x) for x in e["addresses"][0].split(".")))
            match = next((s for s in existing if s["metadata"]["name"] not in used
                          and s.get("ports") == port_list), None)
            if match is None:
                match = next((s for s in existing if s["metadata"]["name"] not in used), None)
            body: Obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                         "metadata": {"generateName": f"{name}-", "namespace": ns, "labels": labels,
                                      "annotations": {TRIGGER_ANNOTATION: now_rfc3339()},
                                      "ownerReferences": [owner]},
                         "addressType": "IPv4", "endpoints": eps, "ports": port_list}
            try:
                if match is None:
                    self.registry.create(ENDPOINTSLICES, ns, body, self.opts)
                    continue
                used.add(match["metadata"]["name"])
                if match.get("endpoints") == eps and match.get("ports") == port_list and \
                        (match["metadata"].get("labels") or {}) == labels:
                    continue
                body["metadata"]["name"] = match["metadata"]["name"]
                body["metadata"]["resourceVersion"] = match["metadata"]["resourceVersion"]
                self.registry.update(ENDPOINTSLICES, ns, match["metadata"]["name"], body, self.opts)
            except errors.APIError as err:
                if err.code in (404, 409):
                    self.enqueue((ns, name))
                    return
                if err.code == 403:
                    return
                raise
        for s in existing:  # slices of port sets that no pod has any more
            if s["metadata"]["name"] not in used:
                self._delete(ENDPOINTSLICES, ns, s["metadata"]["name"])

    # -- the kubernetes service ------------------------------------------------------------

    def _apiserver_endpoints(self, svc: Obj) -> None:
        cp = next((n for n in self.store.list(NODES)
                   if "node-role.kubernetes.io/control-plane" in (n["metadata"].get("labels") or {})), None)
        if cp is None:
            return
        ip = node_ip(cp)
        self._put_endpoints(svc, [{"addresses": [{"ip": ip}],
                                   "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}],
                            {"endpointslice.kubernetes.io/skip-mirror": "true"})
        existing = self.store.get(ENDPOINTSLICES, "default", "kubernetes")
        body: Obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"name": "kubernetes", "namespace": "default",
                                  "labels": {SERVICE_NAME_LABEL: "kubernetes"}},
                     "addressType": "IPv4",
                     "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
                     "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}
        try:
            if existing is None:
                self.registry.create(ENDPOINTSLICES, "default", body, self.opts)
            elif existing.get("endpoints") != body["endpoints"] or existing.get("ports") != body["ports"]:
                body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
                self.registry.update(ENDPOINTSLICES, "default", "kubernetes", body, self.opts)
        except errors.APIError as err:
            if err.code not in (404, 409):
                raise

    # -- cleanup ---------------------------------------------------------------------------

    def _delete(self, rt: Any, ns: str, name: str) -> None:
        try:
            self.registry.delete(rt, ns, name)
        except errors.APIError as err:
            if err.code != 404:
                raise

    def _delete_all(self, ns: str, name: str) -> None:
        if self.store.get(ENDPOINTS, ns, name) is not None:
            self._delete(ENDPOINTS, ns, name)
        for s in self._slices_of(ns, name):
            self._delete(ENDPOINTSLICES, ns, s["metadata"]["name"])


def install(manager: ManagerBase, runtime: Runtime) -> None:
    manager.add(EndpointsController(manager, runtime))
