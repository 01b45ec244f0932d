"""kube-proxy: every NodePort of every service answers on every running node's address.

For each port of a ``NodePort`` or ``LoadBalancer`` service, an HTTP listener
is opened on each node's InternalIP (``127.0.10.x``; all nodes share
``127.0.0.1`` where extra loopback addresses cannot be bound) at the node
port. A request goes round-robin (or per client with ``sessionAffinity:
ClientIP``) to the service's ready, non-terminating endpoints - only those on
the receiving node with ``externalTrafficPolicy: Local`` - and is answered the
way the pod's program would answer it (see ``images.respond``); the pod writes
the request to its access log, so ``kubectl logs`` shows it. With no ready
endpoint the answer is ``503`` with a body that says so (a real node would
refuse the connection); a target port nothing listens on gives ``502``. A
stopped node's listeners are closed, as a dead node would not answer.

When the address and port are already taken (another sandbox, or any other
program), the listener opens on a free port of the same address instead, a
``NodePortRemapped`` warning event is recorded on the service, and the actual
URLs are published on the Service as annotations, which the notebook helpers
read:

``sandbox.kk.dev/node-port-urls``
    JSON: node port (as a string) -> node name -> URL, for every node port of
    the service, remapped or not, e.g.
    ``{"30080": {"kk-control-plane": "http://127.0.10.2:30080",
    "kk-worker": "http://127.0.10.3:41234"}}``.
``sandbox.kk.dev/url``
    One URL to use: the first node port on the first worker (or the first node).

Both annotations are present only while some listener of the service is
remapped, and removed once none is. Listeners close when the service is
deleted or stops being a NodePort service, and when the sandbox stops.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable

from aiohttp import web

from .. import errors
from ..resources import NODES, SERVICES
from ..store import Event, Obj
from . import images
from .base import Controller, Key, ManagerBase
from .endpoints import ready_backends
from .runtime import Runtime, node_ip, node_stopped

log = logging.getLogger("kk.sandbox.proxy")

URLS_ANNOTATION = "sandbox.kk.dev/node-port-urls"
URL_ANNOTATION = "sandbox.kk.dev/url"
MAX_BODY = 1 << 20


@dataclass
class Listener:
    """One open socket: ``ip:actual_port`` standing for ``nodePort`` on some nodes."""

    ip: str
    node_port: int
    actual_port: int
    nodes: list[str]
    server: asyncio.AbstractServer
    handler: web.Server
    counter: int = 0
    services: set[Key] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.actual_port}"


class KubeProxy(Controller):
    """Opens, re-points and closes NodePort listeners as services and nodes change."""

    name = "kube-proxy"
    watches = (SERVICES, NODES)

    def __init__(self, manager: ManagerBase, runtime: Runtime) -> None:
        super().__init__(manager)
        self.rt = runtime
        self.listeners: dict[tuple[str, int], Listener] = {}  # (ip, nodePort) -> listener
        self.remap_reported: set[tuple[str, str, int]] = set()

    # -- wiring ----------------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is SERVICES:
            md = ev.obj["metadata"]
            return [(md.get("namespace", ""), md["name"])]
        keys = [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in self.store.iter_all(SERVICES)
                if _is_node_port(s)]
        keys += [k for lst in self.listeners.values() for k in lst.services]
        return keys

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        svc = self.store.get(SERVICES, *key)
        wanted: dict[tuple[str, int], list[str]] = {}
        if svc is not None and _is_node_port(svc):
            nodes = [n for n in self.store.list(NODES) if not node_stopped(n)]
            for p in (svc.get("spec") or {}).get("ports") or []:
                np = p.get("nodePort")
                if not np or (p.get("protocol") or "TCP") != "TCP":
                    continue
                for n in nodes:
                    wanted.setdefault((node_ip(n), int(np)), []).append(n["metadata"]["name"])
        for lkey, lst in list(self.listeners.items()):
            if key in lst.services and lkey not in wanted:
                lst.services.discard(key)
                if not lst.services:
                    await self._close(lkey)
        for lkey, nodes in wanted.items():
            lst = self.listeners.get(lkey)
            if lst is None:
                lst = await self._open(lkey[0], lkey[1], nodes, svc)
                if lst is None:
                    continue
            lst.nodes = nodes
            lst.services.add(key)
        if svc is not None:
            self._publish(svc, wanted)

    async def _open(self, ip: str, node_port: int, nodes: list[str], svc: Obj | None) -> Listener | None:
        loop = asyncio.get_running_loop()
        lkey = (ip, node_port)
        handler = web.Server(lambda request: self._handle(lkey, request), access_log=None)
        server = None
        actual = node_port
        for host, port in ((ip, node_port), (ip, 0), ("127.0.0.1", 0)):
            try:
                server = await loop.create_server(handler, host, port, reuse_address=True)
            except OSError as err:
                if err.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                    log.warning("cannot listen on %s:%s: %s", host, port, err)
                continue
            sock = server.sockets[0]
            ip, actual = sock.getsockname()[0], sock.getsockname()[1]
            break
        if server is None:
            await handler.shutdown(0)
            return None
        lst = Listener(ip, node_port, actual, nodes, server, handler)
        self.listeners[lkey] = lst
        if actual != node_port and svc is not None:
            for n in nodes:
                mark = (svc["metadata"].get("uid", ""), n, node_port)
                if mark in self.remap_reported:
                    continue
                self.remap_reported.add(mark)
                self.record(svc, "NodePortRemapped",
                            f"port {node_port} on node {n} ({lkey[0]}) is in use by another program; serving this "
                            f"node port at {lst.url} instead (annotation {URLS_ANNOTATION})", type_="Warning",
                            component="kube-proxy", host=n)
        return lst

    async def _close(self, lkey: tuple[str, int]) -> None:
        lst = self.listeners.pop(lkey, None)
        if lst is None:
            return
        lst.server.close()
        try:
            await asyncio.wait_for(lst.server.wait_closed(), 1.0)
        except (asyncio.TimeoutError, Exception):
            pass
        try:
            await lst.handler.shutdown(0.2)
        except Exception:
            pass

    async def close_all(self) -> None:
        for lkey in list(self.listeners):
            await self._close(lkey)

    def _publish(self, svc: Obj, wanted: dict[tuple[str, int], list[str]]) -> None:
        urls: dict[str, dict[str, str]] = {}
        remapped = False
        for lkey, nodes in sorted(wanted.items(), key=lambda kv: kv[0][1]):
            lst = self.listeners.get(lkey)
            if lst is None:
                continue
            remapped = remapped or lst.actual_port != lst.node_port or lst.ip != lkey[0]
            for n in nodes:
                urls.setdefault(str(lkey[1]), {})[n] = lst.url
        annotations = dict(svc["metadata"].get("annotations") or {})
        before = dict(annotations)
        if remapped and urls:
            annotations[URLS_ANNOTATION] = json.dumps(urls, sort_keys=True, separators=(",", ":"))
            first_port = next(iter(urls.values()))
            workers = [n for n in first_port if "control-plane" not in n]
            annotations[URL_ANNOTATION] = first_port[(workers or sorted(first_port))[0]]
        else:
            annotations.pop(URLS_ANNOTATION, None)
            annotations.pop(URL_ANNOTATION, None)
        if annotations == before:
            return
        new = dict(svc)
        new["metadata"] = dict(svc["metadata"])
        if annotations:
            new["metadata"]["annotations"] = annotations
        else:
            new["metadata"].pop("annotations", None)
        try:
            self.registry.put_status(SERVICES, new)
        except errors.APIError:
            self.enqueue((svc["metadata"]["namespace"], svc["metadata"]["name"]))

    # -- serving ---------------------------------------------------------------------------

    def _service_for(self, node_port: int) -> Obj | None:
        for s in self.store.iter_all(SERVICES):
            if _is_node_port(s) and any(p.get("nodePort") == node_port for p in (s.get("spec") or {}).get("ports") or []):
                return s
        return None

    async def _handle(self, lkey: tuple[str, int], request: web.BaseRequest) -> web.StreamResponse:
        lst = self.listeners.get(lkey)
        node_port = lkey[1]
        svc = self._service_for(node_port)
        if lst is None or svc is None:
            return _text(503, f"kk sandbox: nothing is published on node port {node_port} any more\n")
        md = svc["metadata"]
        spec = svc.get("spec") or {}
        node = lst.nodes[0] if lst.nodes else None
        local = spec.get("externalTrafficPolicy") == "Local"
        backends = ready_backends(self.store, svc, node_port, by="nodePort", node=node if local else None)
        if not backends:
            why = (f"no ready endpoints on node {node}" if local else "no ready endpoints")
            return _text(503, f"kk sandbox: service {md.get('namespace')}/{md['name']} has {why}; a real node would "
                              f"refuse this connection. Check: kubectl get endpointslices -l "
                              f"kubernetes.io/service-name={md['name']} -n {md.get('namespace')}\n")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        client_ip, client_port = (peer[0], peer[1]) if peer else ("127.0.0.1", 0)
        if spec.get("sessionAffinity") == "ClientIP":
            index = zlib.crc32(client_ip.encode()) % len(backends)
        else:
            index = lst.counter % len(backends)
            lst.counter += 1
        pod, target_port = backends[index]
        body = await request.content.read(MAX_BODY) if request.can_read_body else b""
        pod_node = self.rt.node((pod.get("spec") or {}).get("nodeName") or "")
        seen_ip = client_ip if local else self.rt.ipam.gateway(pod_node)
        req = images.Request(method=request.method, path=request.path, query=request.query_string,
                             version=f"HTTP/{request.version.major}.{request.version.minor}",
                             headers=dict(request.headers), client_ip=seen_ip, client_port=client_port, body=body)
        resp = self.rt.http(pod, target_port, req)
        pod_name = pod["metadata"]["name"]
        ip = (pod.get("status") or {}).get("podIP", "")
        if resp is None:
            return _text(502, f"kk sandbox: connection refused: nothing listens on {ip}:{target_port} in pod "
                              f"{pod_name} (check the service's targetPort and the container's port)\n")
        if resp.status == 0:
            return _text(502, f"kk sandbox: pod {pod_name} ({ip}:{target_port}) does not speak HTTP\n")
        headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}
        return web.Response(status=resp.status, body=resp.body if request.method != "HEAD" else None, headers=headers)


def _text(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, headers={"X-KK-Sandbox": "kube-proxy"})


def _is_node_port(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("type") in ("NodePort", "LoadBalancer")


def install(manager: ManagerBase, runtime: Runtime) -> None:
    proxy = KubeProxy(manager, runtime)
    manager.add(proxy)

    async def start() -> None:
        return None

    add_service: Any = getattr(manager, "add_service", None)
    if add_service is not None:
        add_service(start, proxy.close_all)
