"""The simulated node runtime: scheduler, kubelets, kube-proxy, endpoints and node lifecycle.

:func:`install` wires these into the controller manager:

* ``scheduler.py`` binds pending pods to nodes (taints, selectors, resources,
  cordons) or explains why it cannot, as ``default-scheduler`` does;
* ``kubelet.py`` runs the pods bound to each node: pulls (from the offline
  catalog in ``images``), starts containers, runs their programs on a simulated
  clock, probes them, restarts them with back-off, and finishes graceful
  deletions;
* ``endpoints.py`` keeps Endpoints and EndpointSlices in step with ready pods;
* ``nodes.py`` is the node lifecycle controller: cordon taints, and the
  stop-a-node drill (NotReady, unreachable taints, eviction);
* ``proxy.py`` serves every NodePort on every node's address, answering as the
  pods' programs would.

This module holds what they share: per-pod runtime state (container processes,
their logs and files), pod IP allocation, the images each node has pulled, and
the ``kubectl logs``, ``kubectl exec`` and ``kubectl attach`` providers.

For the Job controller: a pod whose containers all end reaches phase
``Succeeded`` (every exit code 0) or ``Failed`` on its own when its
``restartPolicy`` is ``Never`` (``OnFailure``: only success ends it; failures
restart the container with back-off, as on a real node). Nothing else is needed.

Simulated time: ``sleep N`` in a container takes N seconds in ``realistic``
mode; in ``fast`` mode it takes N/100 seconds, except sleeps of 300 s or more
(the "keep the container running" idiom), which stay real.

``kubectl exec`` runs its command in the same simulated image (the pod's files,
environment, network), but on the wall clock in both modes: a person is
watching, so ``sleep 2`` takes two seconds. Nothing caps it but Ctrl-C (with a
TTY) or the client going away, which stops the command at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .. import errors
from ..exec import ContainerUnavailable, ExecFailed, ExecIO, ExecRequest, ProgramIO
from ..resources import CONFIGMAPS, NODES, PODS, SECRETS, SERVICES
from ..store import Obj
from . import images
from .images import Exit, FileOp, Output, Serve, Sleep, Tick
from .images.actions import ExitNow
from .images.parser import Parser, ShellSyntaxError
from .images.terminal import LineDiscipline, debian_based, interactive_shell, prompt

if TYPE_CHECKING:
    from .base import ManagerBase

log = logging.getLogger("kk.sandbox.runtime")

#: Lines kept per container log (current and previous instance each).
LOG_LINES = 5000
#: Seconds of a program's future simulated ahead of the clock (to know when it exits).
LOOKAHEAD = 120.0
#: Actions processed per advance, so a loop without sleeps cannot stall the event loop.
MAX_STEPS = 4000
#: Actions simulated ahead of the clock at most (their output must not push current lines out of the log).
FUTURE_ACTIONS = 400
#: Simulated seconds one shell command takes.
COMMAND_COST = 0.0005
#: A container started at most this long ago shows an attach its output from the start (``kubectl run -i``).
ATTACH_REPLAY = 5.0
#: How often an attach following a program's output looks for new lines (seconds).
ATTACH_POLL = 0.05

#: Annotation that marks a node stopped (the failure drill; see daemon.set_node_running).
NODE_STOPPED = "sandbox.kk.dev/stopped"


def node_stopped(node: Obj | None) -> bool:
    return bool(node) and ((node or {}).get("metadata", {}).get("annotations") or {}).get(NODE_STOPPED) == "true"


def node_ip(node: Obj | None) -> str:
    for a in ((node or {}).get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return str(a.get("address"))
    return "127.0.0.1"


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration`` string, truncated to milliseconds (``1.234s``, ``52ms``)."""
    ms = max(0, int(seconds * 1000))
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    m, rest = divmod(ms, 60_000)
    return f"{m}m" + (f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s")


# ------------------------------------------------------------------------------------------
# Logs
# ------------------------------------------------------------------------------------------


class ContainerLog:
    """One container instance's output: (timestamp, line) pairs, bounded."""

    def __init__(self) -> None:
        self.lines: deque[tuple[float, str]] = deque(maxlen=LOG_LINES)

    def write(self, ts: float, text: str) -> None:
        for line in text.split("\n"):
            self.lines.append((ts, line))

    def view(self, now: float) -> list[tuple[float, str]]:
        return [(ts, line) for ts, line in self.lines if ts <= now]


def render_log(entries: list[tuple[float, str]], params: dict[str, Any], now: float) -> str:
    """Apply ``sinceSeconds``, ``tailLines``, ``timestamps`` and ``limitBytes`` as the kubelet does."""
    since = params.get("sinceSeconds")
    if since is not None:
        entries = [e for e in entries if e[0] >= now - int(since)]
    tail = params.get("tailLines")
    if tail is not None:
        tail = int(tail)
        entries = entries[-tail:] if tail > 0 else []
    if params.get("timestamps"):
        text = "".join(f"{rfc3339_nano(ts)} {line}\n" for ts, line in entries)
    else:
        text = "".join(f"{line}\n" for _, line in entries)
    limit = params.get("limitBytes")
    if limit is not None:
        text = text.encode()[: int(limit)].decode(errors="ignore")
    return text


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------


class PodFS:
    """A pod's files over time: emptyDir volumes shared by its containers, and each container's own files.

    ConfigMap and Secret volumes are read live from the store (read-only).
    """

    def __init__(self, runtime: "Runtime", pod: Obj) -> None:
        self.runtime = runtime
        self.namespace = pod["metadata"].get("namespace", "default")
        self.volumes: dict[str, Obj] = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
        self.mounts: dict[str, list[Obj]] = {}
        spec = pod.get("spec") or {}
        for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
            self.mounts[c.get("name")] = sorted(c.get("volumeMounts") or [], key=lambda m: -len(m.get("mountPath", "")))
        self.data: dict[tuple[str, str], list[tuple[float, str | None]]] = {}

    def _locate(self, container: str, path: str) -> tuple[str, str, Obj | None]:
        """(space, relative path, volume) for a container path; space is a volume or ``@container``."""
        for m in self.mounts.get(container, []):
            mp = m.get("mountPath", "").rstrip("/")
            if path == mp or path.startswith(mp + "/"):
                rel = path[len(mp):].lstrip("/")
                if m.get("subPath"):
                    rel = (m["subPath"].rstrip("/") + "/" + rel).strip("/")
                vol = self.volumes.get(m.get("name"))
                return f"vol:{m.get('name')}", rel, vol
        return f"@{container}", path, None

    def write(self, container: str, ts: float, path: str, content: str | None, append: bool = False) -> None:
        space, rel, vol = self._locate(container, path)
        if vol is not None and ("configMap" in vol or "secret" in vol or "projected" in vol):
            return  # read-only
        hist = self.data.setdefault((space, rel), [])
        if append and content is not None:
            content = (self._at(hist, ts) or "") + content
        hist.append((ts, content))
        hist.sort(key=lambda e: e[0])
        # Keep the version current now and every later (simulated-ahead) one.
        now = self.runtime.now()
        current = max((i for i, (t, _) in enumerate(hist) if t <= now), default=0)
        if current > 0:
            del hist[:current]

    @staticmethod
    def _at(hist: list[tuple[float, str | None]], ts: float) -> str | None:
        value = None
        for t, content in hist:
            if t <= ts:
                value = content
            else:
                break
        return value

    def read(self, container: str, path: str, ts: float) -> str | None:
        space, rel, vol = self._locate(container, path)
        if vol is not None:
            source = self._volume_file(vol, rel)
            if source is not None or "configMap" in vol or "secret" in vol:
                return source
        hist = self.data.get((space, rel))
        return self._at(hist, ts) if hist else None

    def list(self, container: str, path: str, ts: float) -> list[str]:
        space, rel, vol = self._locate(container, path.rstrip("/") + "/x")
        rel_dir = rel[:-1].rstrip("/")
        names = set()
        if vol is not None:
            names |= set(self._volume_keys(vol))
        for (sp, r), hist in self.data.items():
            if sp == space and r.rsplit("/", 1)[0] == rel_dir.rstrip("/") and self._at(hist, ts) is not None:
                names.add(r.rsplit("/", 1)[-1])
        return sorted(names)

    def _volume_keys(self, vol: Obj) -> list[str]:
        data = self._volume_data(vol)
        return list(data) if data else []

    def _volume_data(self, vol: Obj) -> dict[str, str] | None:
        import base64

        store = self.runtime.store
        if "configMap" in vol:
            src = vol["configMap"] or {}
            cm = store.get(CONFIGMAPS, self.namespace, src.get("name", ""))
            if cm is None:
                return None
            data = dict(cm.get("data") or {})
        elif "secret" in vol:
            src = vol["secret"] or {}
            sec = store.get(SECRETS, self.namespace, src.get("secretName", ""))
            if sec is None:
                return None
            data = {}
            for k, v in (sec.get("data") or {}).items():
                try:
                    data[k] = base64.b64decode(v).decode(errors="replace")
                except (ValueError, TypeError):
                    data[k] = ""
            data.update(sec.get("stringData") or {})
        else:
            return None
        items = src.get("items")
        if items:
            return {i.get("path", i.get("key")): data.get(i.get("key"), "") for i in items if i.get("key") in data}
        return data

    def _volume_file(self, vol: Obj, rel: str) -> str | None:
        data = self._volume_data(vol)
        if data is None:
            return None
        return data.get(rel)


# ------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------


class Process:
    """A container's program, advanced on the simulated clock.

    Actions are applied when their simulated time comes; the runner may look
    ahead of the wall clock (to learn when the program exits), and everything it
    records carries the action's own timestamp, so readers filter by "now".
    """

    def __init__(self, runtime: "Runtime", gen: images.Program, start: float, log: ContainerLog, fs: PodFS,
                 container: str) -> None:
        self.runtime = runtime
        self.gen = gen
        self.cursor = start
        self.start = start
        self.log = log
        self.fs = fs
        self.container = container
        self.exit_at: float | None = None
        self.exit_code: int | None = None
        self.listening: dict[int, tuple[float, Serve]] = {}
        self.blocked = False
        #: An attach has streamed this instance's output (later ones start at "now").
        self.attached = False

    def advance(self, until: float) -> None:
        """Apply actions up to ``until`` (bounded per call, and to :data:`FUTURE_ACTIONS` ahead of now)."""
        steps = ahead = 0
        now = self.runtime.now()
        while self.exit_at is None and not self.blocked and self.cursor <= until and steps < MAX_STEPS:
            steps += 1
            if self.cursor > now:
                ahead += 1
                if ahead > FUTURE_ACTIONS:
                    return
            try:
                action = next(self.gen)
            except StopIteration as stop:
                self.exit_at, self.exit_code = self.cursor, int(stop.value or 0)
                break
            except Exception:  # a bug in the interpreter must not kill the kubelet
                log.exception("program of container %s failed", self.container)
                self.exit_at, self.exit_code = self.cursor, 1
                break
            if isinstance(action, Output):
                self.log.write(self.cursor, action.text)
            elif isinstance(action, Sleep):
                if action.seconds == math.inf:
                    self.blocked = True
                else:
                    self.cursor += self.runtime.scale(action.seconds)
            elif isinstance(action, Tick):
                self.cursor += COMMAND_COST
            elif isinstance(action, FileOp):
                self.fs.write(self.container, self.cursor, action.path, action.content, action.append)
            elif isinstance(action, Serve):
                self.listening[action.port] = (self.cursor, action)
            elif isinstance(action, Exit):
                self.exit_at, self.exit_code = self.cursor, action.code
        if steps >= MAX_STEPS and self.cursor <= until:
            # A busy loop: skip its remaining output up to ``until`` rather than spin.
            self.cursor = until + COMMAND_COST

    def serving(self, port: int, at: float) -> Serve | None:
        entry = self.listening.get(port)
        if entry is None or entry[0] > at or (self.exit_at is not None and self.exit_at <= at):
            return None
        return entry[1]

    @property
    def next_wakeup(self) -> float | None:
        """When the runner must look again (exit time or the end of what was simulated)."""
        if self.exit_at is not None:
            return self.exit_at
        if self.blocked:
            return None
        return self.cursor


# ------------------------------------------------------------------------------------------
# Per-pod state
# ------------------------------------------------------------------------------------------


@dataclass
class ContainerState:
    """What the kubelet knows of one container of a pod."""

    name: str
    init: bool
    image: str
    ref: images.ImageRef | None = None
    spec: images.ImageSpec | None = None
    stage: str = "pull"  # pull, pulling, pull-backoff, starting, running, crash-backoff, exited, done
    next_at: float = 0.0
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    container_id: str = ""
    restart_count: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    term_reason: str = ""
    term_message: str = ""
    last_terminated: Obj | None = None
    ready: bool = False
    started: bool = False
    pull_failures: int = 0
    crashes: int = 0
    pulled_image: str = ""
    process: Process | None = None
    log: ContainerLog = field(default_factory=ContainerLog)
    previous_log: ContainerLog | None = None
    probe: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    spec_hash: str = ""
    console: "Console | None" = None

    def stop_console(self) -> None:
        """The container stops: its interactive shell (if it has one) ends and attached sessions close."""
        if self.console is not None:
            self.console.stop()


@dataclass
class PodState:
    """The kubelet's view of one pod."""

    uid: str
    namespace: str
    name: str
    node: str
    fs: PodFS
    ip: str | None = None
    host_ip: str = ""
    start_time: float | None = None
    sandbox_at: float = 0.0
    containers: dict[str, ContainerState] = field(default_factory=dict)
    init_names: list[str] = field(default_factory=list)
    app_names: list[str] = field(default_factory=list)
    terminating_at: float | None = None
    finish_at: float | None = None
    done: bool = False


# ------------------------------------------------------------------------------------------
# Pod IPs
# ------------------------------------------------------------------------------------------


class IPAM:
    """host-local style allocation from each node's podCIDR: sequential, skipping addresses in use."""

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime
        self.last: dict[str, int] = {}
        self.used: dict[str, set[str]] = {}

    def _in_use(self, node: Obj) -> set[str]:
        name = node["metadata"]["name"]
        if name not in self.used:
            self.used[name] = {
                (p.get("status") or {}).get("podIP")
                for p in self.runtime.store.iter_all(PODS)
                if (p.get("spec") or {}).get("nodeName") == name and (p.get("status") or {}).get("podIP")
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")}
        return self.used[name]

    def allocate(self, node: Obj) -> str:
        name = node["metadata"]["name"]
        cidr = (node.get("spec") or {}).get("podCIDR") or "10.244.0.0/24"
        net = ipaddress.ip_network(cidr, strict=False)
        used = self._in_use(node)
        size = net.num_addresses
        start = self.last.get(name, 1)
        for i in range(1, size - 1):
            off = (start + i - 2) % (size - 3) + 2  # .2 ... .254 (.1 is the bridge)
            ip = str(net.network_address + off)
            if ip not in used:
                used.add(ip)
                self.last[name] = off
                return ip
        raise errors.internal(f"failed to allocate for range 0: no IP addresses available in range set: {cidr}")

    def release(self, node: str, ip: str | None) -> None:
        if ip and node in self.used:
            self.used[node].discard(ip)

    def gateway(self, node: Obj | None) -> str:
        cidr = ((node or {}).get("spec") or {}).get("podCIDR") or "10.244.0.0/24"
        return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)


# ------------------------------------------------------------------------------------------
# The shared runtime
# ------------------------------------------------------------------------------------------


class Runtime:
    """State shared by the kubelet, the proxy and the log provider."""

    def __init__(self, manager: "ManagerBase") -> None:
        self.manager = manager
        self.registry = manager.registry
        self.store = manager.registry.store
        self.timing = manager.timing
        self.fast = manager.timing.mode == "fast"
        self.pods: dict[str, PodState] = {}  # by uid
        self.by_key: dict[tuple[str, str], str] = {}  # (namespace, name) -> uid
        self.node_images: dict[str, set[str]] = {}
        self.ipam = IPAM(self)

    # -- time ------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time()

    def scale(self, seconds: float) -> float:
        """Simulated seconds -> sandbox seconds (see the module docstring)."""
        if seconds == math.inf:
            return math.inf
        if not self.fast or seconds >= 300:
            return seconds
        return seconds / 100.0

    def jitter(self, seconds: float) -> float:
        """A delay with +-25% spread, so pods do not move in lockstep."""
        if seconds <= 0:
            return 0.0
        return seconds * (0.75 + secrets.randbelow(500) / 1000.0)

    # -- pods ------------------------------------------------------------------------------

    def pod_state(self, uid: str) -> PodState | None:
        return self.pods.get(uid)

    def forget(self, key: tuple[str, str], uid: str | None = None) -> None:
        uid = uid or self.by_key.get(key)
        if uid is None:
            return
        ps = self.pods.pop(uid, None)
        if self.by_key.get(key) == uid:
            del self.by_key[key]
        if ps is not None:
            self.ipam.release(ps.node, ps.ip)
            for cs in ps.containers.values():
                cs.stop_console()

    def container_of(self, pod: Obj, container: str | None) -> ContainerState | None:
        ps = self.pods.get(pod["metadata"].get("uid", ""))
        if ps is None:
            return None
        if container is None:
            return ps.containers.get(ps.app_names[0]) if ps.app_names else None
        return ps.containers.get(container)

    # -- logs ------------------------------------------------------------------------------

    def log_provider(self, pod: Obj, container: str | None, params: dict[str, Any]) -> str:
        """``kubectl logs``: the container's simulated output (current or ``previous`` instance)."""
        md = pod["metadata"]
        name = md.get("name")
        if not (pod.get("spec") or {}).get("nodeName"):
            return ""
        ps = self.pods.get(md.get("uid", ""))
        cs = ps.containers.get(container or "") if ps else None
        if cs is None and ps is not None and container is None and ps.app_names:
            cs = ps.containers.get(ps.app_names[0])
        now = self.now()
        if params.get("previous"):
            if cs is None or cs.previous_log is None:
                raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
            return render_log(cs.previous_log.view(now), params, now)
        if cs is None:
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
        if cs.process is None and cs.previous_log is None and cs.stage in ("pull", "pulling", "pull-backoff", "starting"):
            if cs.stage == "pull-backoff" or cs.waiting_reason in ("ErrImagePull", "ImagePullBackOff"):
                why = "trying and failing to pull image"
            elif cs.waiting_reason in ("InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"):
                why = cs.waiting_reason
            elif cs.init is False and any(not c.started or c.stage != "done" for c in ps.containers.values() if c.init) \
                    if ps else False:
                why = "PodInitializing"
            else:
                why = "ContainerCreating"
            raise errors.bad_request(f'container "{container or cs.name}" in pod "{name}" is waiting to start: {why}')
        if cs.process is not None:
            cs.process.advance(now)
        return render_log(cs.log.view(now), params, now)

    # -- exec ------------------------------------------------------------------------------

    def exec_provider(self, pod: Obj, req: ExecRequest) -> ExecProcess:
        """``kubectl exec``: a command in a running container (what the kubelet's ``GetExec`` finds)."""
        ps = self.pods.get(pod["metadata"].get("uid", ""))
        cs = ps.containers.get(req.container) if ps is not None else None
        if ps is None or cs is None or cs.process is None or cs.stage != "running" or ps.done:
            raise ContainerUnavailable(f'container not found ("{req.container}")')
        return ExecProcess(self, ps, cs, req)

    def attach_provider(self, pod: Obj, req: ExecRequest) -> "ConsoleAttach | OutputAttach":
        """``kubectl attach``: the container's own process (what the kubelet's ``GetAttach`` finds).

        A shell started with ``stdin: true`` gets the session's input; any other program's output is
        streamed (from its start when it started moments ago: ``kubectl run -i`` attaches right after).
        """
        md = pod["metadata"]
        ps = self.pods.get(md.get("uid", ""))
        cs = ps.containers.get(req.container) if ps is not None else None
        missing = ContainerUnavailable(f"container {req.container} not found in pod {md.get('name')}_"
                                       f"{md.get('namespace', 'default')}")
        if ps is None or cs is None or cs.process is None:
            raise missing
        if cs.console is not None and cs.stage == "running" and not cs.console.done.is_set():
            return ConsoleAttach(cs.console, req)
        if cs.console is None and not cs.process.attached and cs.started_at is not None \
                and self.now() - cs.started_at <= ATTACH_REPLAY:
            return OutputAttach(self, cs, req, since=cs.started_at)
        if cs.stage != "running" or ps.done:
            raise missing
        return OutputAttach(self, cs, req, since=self.now())

    # -- HTTP to pods ----------------------------------------------------------------------

    def listening_container(self, pod: Obj, port: int, at: float | None = None) -> tuple[ContainerState, Serve] | None:
        ps = self.pods.get(pod["metadata"].get("uid", ""))
        if ps is None:
            return None
        at = self.now() if at is None else at
        for name in ps.app_names + ps.init_names:
            cs = ps.containers[name]
            if cs.process is not None and cs.stage == "running":
                cs.process.advance(at)
                serve = cs.process.serving(port, at)
                if serve is not None:
                    return cs, serve
        return None

    def http(self, pod: Obj, port: int, req: images.Request, *, at: float | None = None,
             log_access: bool = True) -> images.Response | None:
        """Answer ``req`` sent to ``pod``'s IP at ``port``; None when nothing listens there (connection refused)."""
        at = self.now() if at is None else at
        found = self.listening_container(pod, port, at)
        if found is None:
            return None
        cs, serve = found
        ps = self.pods[pod["metadata"]["uid"]]
        if serve.server in images.NON_HTTP:
            return images.Response(0, b"", {}, None)
        ctx = images.ServerContext(
            server=serve.server, ref=cs.ref, pod_name=(pod.get("spec") or {}).get("hostname") or ps.name,
            pod_ip=ps.ip or "", port=port, namespace=ps.namespace, node_name=ps.node, args=serve.args,
            env=cs.env, read_file=lambda path: ps.fs.read(cs.name, path, at))
        if serve.server == "python-http":
            body = "<!DOCTYPE HTML>\n<html>\n<head><title>Directory listing for /</title></head>\n<body>\n" \
                   "<h1>Directory listing for /</h1>\n<hr>\n<ul>\n</ul>\n<hr>\n</body>\n</html>\n"
            line = f'{req.client_ip} - - [{datetime.fromtimestamp(at, timezone.utc).strftime("%d/%b/%Y %H:%M:%S")}] ' \
                   f'"{req.method} {req.path} {req.version}" 200 -'
            resp = images.Response(200, body.encode(), {"Server": "SimpleHTTP/0.6 Python/3.13.5",
                                                        "Content-type": "text/html; charset=utf-8"}, line)
        else:
            resp = images.respond(ctx, req, at)
        if log_access and resp.access_log and cs.process is not None:
            cs.log.write(at, resp.access_log)
        return resp

    def http_get_from(self, namespace: str) -> Any:
        """An ``http_get(url)`` for programs (wget/curl) in ``namespace``: resolves services and pod IPs."""

        def get(url: str) -> tuple[int, str] | None:
            rest = url.split("://", 1)[-1]
            hostport, _, path = rest.partition("/")
            host, _, port_s = hostport.partition(":")
            port = int(port_s) if port_s.isdigit() else 80
            target = self.resolve_host(host, namespace, port)
            if target is None:
                return None
            pod, target_port = target
            if pod is None:
                return 503, ""
            resp = self.http(pod, target_port, images.Request(path="/" + path.split("?")[0],
                                                               query=path.partition("?")[2],
                                                               headers={"Host": hostport, "User-Agent": "Wget"},
                                                               client_ip=self.ipam.gateway(None)))
            if resp is None or resp.status == 0:
                return 503, ""
            return resp.status, resp.body.decode(errors="replace")
        return get

    def resolve_host(self, host: str, namespace: str, port: int) -> tuple[Obj | None, int] | None:
        """A DNS name or IP -> (a ready pod behind it, target port); None when it does not resolve."""
        parts = host.split(".")
        svc = None
        if host.replace(".", "").isdigit():
            for s in self.store.iter_all(SERVICES):
                if (s.get("spec") or {}).get("clusterIP") == host:
                    svc = s
                    break
            if svc is None:
                for p in self.store.iter_all(PODS):
                    if (p.get("status") or {}).get("podIP") == host:
                        return p, port
                return None
        else:
            name = parts[0]
            ns = parts[1] if len(parts) > 1 and parts[1] != "svc" else namespace
            svc = self.store.get(SERVICES, ns, name)
            if svc is None:
                return None
        from .endpoints import ready_backends

        backends = ready_backends(self.store, svc, port)
        if not backends:
            return None, port
        pod, tport = backends[int(self.now() * 1000) % len(backends)]
        return pod, tport

    # -- images ----------------------------------------------------------------------------

    def has_image(self, node: str, ref: images.ImageRef) -> bool:
        return ref.full in self.node_images.get(node, set())

    def add_image(self, node: str, ref: images.ImageRef) -> None:
        self.node_images.setdefault(node, set()).add(ref.full)

    # -- helpers ---------------------------------------------------------------------------

    def node(self, name: str) -> Obj | None:
        return self.store.get(NODES, "", name)

    def iter_pods_on(self, node: str) -> Iterator[Obj]:
        for p in self.store.iter_all(PODS):
            if (p.get("spec") or {}).get("nodeName") == node:
                yield p


# ------------------------------------------------------------------------------------------
# kubectl exec
# ------------------------------------------------------------------------------------------


class Interrupted(Exception):
    """Ctrl-C reached the running command."""


class ExecProcess:
    """One ``kubectl exec`` command: a program of the container's image, run on the wall clock.

    An interactive shell (``sh``/``bash`` without ``-c``, with stdin) reads lines through a
    :class:`LineDiscipline` and keeps its state (variables, ``cd``, files) from line to line.
    """

    #: Actions run between two yields to the event loop.
    BATCH = 200

    def __init__(self, runtime: "Runtime", ps: PodState, cs: ContainerState, req: ExecRequest) -> None:
        self.runtime = runtime
        self.ps = ps
        self.cs = cs
        self.req = req
        self.running = False
        self.interrupt = asyncio.Event()
        self.inbox = bytearray()
        self.input_ready = asyncio.Event()
        self.input_ended = False
        #: The line a shell shows while it waits at its prompt (None while a command runs).
        self.prompt_line: Callable[[], str] | None = None
        env = dict(cs.env)
        env.setdefault("HOSTNAME", ps.name)
        if req.tty:
            env["TERM"] = "xterm"
        self.penv = images.ProcessEnv(
            cs.spec, cs.ref, env, env.get("HOSTNAME") or ps.name, ps.ip or "", clock=runtime.now,
            read_file=lambda path: ps.fs.read(cs.name, path, runtime.now()),
            list_dir=lambda path: ps.fs.list(cs.name, path, runtime.now()),
            http_get=runtime.http_get_from(ps.namespace))

    def _failed(self, err: Exception) -> ExecFailed:
        return ExecFailed(f"error executing command in container: failed to exec in container: failed to start exec "
                          f'"{secrets.token_hex(32)}": OCI runtime exec failed: exec failed: unable to start container '
                          f"process: {err}: unknown")

    async def run(self, io: ProgramIO) -> int:
        argv = list(self.req.command)
        shell = images.Shell(self.penv)
        if not shell.exists(argv[0]):
            raise self._failed(images.StartFailure(f'exec: "{argv[0]}": executable file not found in $PATH'))
        if self.req.stdin and interactive_shell(argv):
            return await self._session(io, shell, argv[0].rsplit("/", 1)[-1])
        pump = asyncio.create_task(self._pump(io)) if self.req.stdin and self.req.tty else None
        try:
            return await self._drive(shell.run_argv(argv), io)
        except Interrupted:
            return 130
        finally:
            if pump is not None:
                pump.cancel()

    # -- input -----------------------------------------------------------------------------

    async def _pump(self, io: ProgramIO) -> None:
        """Collect stdin; with a TTY, Ctrl-C while a command runs interrupts it (and drops typed-ahead input)."""
        while True:
            data = await io.read()
            if data is None:
                self.input_ended = True
                self.input_ready.set()
                return
            if self.req.tty and self.running and b"\x03" in data:
                self.inbox.clear()
                self.interrupt.set()
                data = data[data.rindex(b"\x03") + 1:]
            self.inbox += data
            self.input_ready.set()

    async def _next_input(self) -> bytes | None:
        while not self.inbox:
            if self.input_ended:
                return None
            self.input_ready.clear()
            await self.input_ready.wait()
        data = bytes(self.inbox)
        self.inbox.clear()
        return data

    # -- output ----------------------------------------------------------------------------

    async def _out(self, io: ProgramIO, text: str) -> None:
        if self.req.tty:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        await io.write(text.encode())

    async def _drive(self, gen: images.Program, io: ProgramIO) -> int:
        """Run a program's actions as they come; ExitNow from an interactive line propagates."""
        steps = 0
        self.running = True
        self.interrupt.clear()
        try:
            action = next(gen)
            while True:
                if self.interrupt.is_set():
                    raise Interrupted()
                if isinstance(action, Output):
                    await self._out(io, action.text + "\n")
                elif isinstance(action, Sleep):
                    timeout = None if action.seconds == math.inf else max(0.0, action.seconds)
                    try:
                        await asyncio.wait_for(self.interrupt.wait(), timeout)
                    except asyncio.TimeoutError:
                        pass
                    if self.interrupt.is_set():
                        raise Interrupted()
                elif isinstance(action, FileOp):
                    self.ps.fs.write(self.cs.name, self.runtime.now(), action.path, action.content, action.append)
                elif isinstance(action, Exit):
                    return action.code
                steps += 1
                if steps % self.BATCH == 0:
                    await asyncio.sleep(0)
                action = next(gen)
        except StopIteration as stop:
            return int(stop.value or 0)
        finally:
            self.running = False
            gen.close()

    # -- interactive shell -----------------------------------------------------------------

    async def _session(self, io: ProgramIO, shell: images.Shell, base: str) -> int:
        shell.shell_name = "bash" if base == "bash" else "sh"
        debian = debian_based(self.cs.spec, self.cs.ref.tag if self.cs.ref else "")
        tty = LineDiscipline(self.req.tty)
        pending = ""
        pump = asyncio.create_task(self._pump(io))

        def ps1() -> str:
            return prompt(shell.shell_name, self.penv.hostname, shell.cwd, shell.vars.get("HOME", "/root"),
                          debian=debian, continuation=bool(pending))

        self.prompt_line = lambda: ps1() + tty.line
        try:
            if self.req.tty:
                await self._out(io, ps1())
            while True:
                data = await self._next_input()
                if data is None:
                    if tty.line and not self.req.tty:  # a last line without a newline
                        data = b"\n"
                    else:
                        if self.req.tty:
                            await self._out(io, "exit\n" if shell.shell_name == "bash" else "\n")
                        return shell.status
                echo, events = tty.feed(data)
                if echo:
                    await io.write(echo)
                for ev in events:
                    if ev.kind == "eof":
                        if self.req.tty:
                            await self._out(io, "exit\n" if shell.shell_name == "bash" else "\n")
                        return shell.status
                    if ev.kind == "interrupt":
                        pending = ""
                        shell.status = 130
                    else:
                        script = pending + ev.text
                        if _incomplete(script):
                            pending = script + "\n"
                        else:
                            pending = ""
                            if script.strip():
                                self.prompt_line = None
                                try:
                                    shell.status = await self._drive(shell.run_line(script), io)
                                except ExitNow as e:
                                    return e.code & 0xFF
                                except Interrupted:
                                    await self._out(io, "^C\n")
                                    shell.status = 130
                                finally:
                                    self.prompt_line = lambda: ps1() + tty.line
                    if self.req.tty:
                        await self._out(io, ps1())
        finally:
            self.prompt_line = None
            pump.cancel()


# ------------------------------------------------------------------------------------------
# kubectl attach
# ------------------------------------------------------------------------------------------


class Console:
    """A container whose program is an interactive shell started with ``stdin: true`` (``kubectl run -it``).

    The shell (an :class:`ExecProcess` on the wall clock) waits for input as long as the container
    runs; attach sessions feed its stdin and receive its output, which also goes to the container
    log (with the tty's ``\r\n``, as a real tty container's log has). When the shell exits with a
    code, ``on_exit`` tells the kubelet: the container terminates with that code. ``stdinOnce``:
    the first attach that closes its stdin closes the shell's (which then reads end of input).
    """

    def __init__(self, runtime: "Runtime", ps: PodState, cs: ContainerState, argv: list[str], *, tty: bool,
                 stdin_once: bool, on_exit: Callable[[int], None]) -> None:
        self.tty = tty
        self.stdin_once = stdin_once
        self.shell = ExecProcess(runtime, ps, cs, ExecRequest(tuple(argv), cs.name, True, True, True, tty))
        base = argv[0].rsplit("/", 1)[-1]
        #: ash and bash redraw their line when an attach resizes the terminal; dash does not.
        self.redraws = tty and (base == "bash" or not debian_based(cs.spec, cs.ref.tag if cs.ref else ""))
        self.sessions: set[ExecIO] = set()
        self.done = asyncio.Event()
        self.exit_code: int | None = None
        self._runtime = runtime
        self._log = cs.log
        self._partial = ""
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._stdin_closed = False
        self._on_exit = on_exit
        self._task = asyncio.get_running_loop().create_task(self._main())

    async def _main(self) -> None:
        try:
            code = await self.shell.run(self)
        except asyncio.CancelledError:
            self._flush()
            self.done.set()
            raise
        except Exception:  # a bug in the simulated shell: the container fails, the kubelet goes on
            log.exception("console of container %s failed", self.shell.cs.name)
            code = 1
        self._flush()
        self.exit_code = code
        self.done.set()
        self._on_exit(code)

    # -- the shell's side (ProgramIO) ------------------------------------------------------

    async def read(self) -> bytes | None:
        data = await self._stdin.get()
        if data is None:
            self._stdin.put_nowait(None)
        return data

    async def write(self, data: bytes, *, stderr: bool = False) -> None:
        text = self._partial + data.decode(errors="replace")
        head, sep, self._partial = text.rpartition("\n")
        if sep:
            self._log.write(self._runtime.now(), head)
        for io in list(self.sessions):
            await io.write(data, stderr=stderr)

    def _flush(self) -> None:
        if self._partial:
            self._log.write(self._runtime.now(), self._partial)
            self._partial = ""

    # -- the attach sessions' side ---------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if not self._stdin_closed:
            self._stdin.put_nowait(data)

    def close_stdin(self) -> None:
        if not self._stdin_closed:
            self._stdin_closed = True
            self._stdin.put_nowait(None)

    def redraw(self) -> bytes:
        """What the shell prints on a terminal resize: its prompt and the line typed so far."""
        line = self.shell.prompt_line
        if not self.redraws or line is None:
            return b""
        return ("\r" + line()).encode()

    def stop(self) -> None:
        """The container is killed: the shell ends without an exit code of its own."""
        if not self._task.done():
            self._task.cancel()
        self.done.set()


class ConsoleAttach:
    """One ``kubectl attach`` to a :class:`Console`: stdin in (when asked for), the shell's output out."""

    def __init__(self, console: Console, req: ExecRequest) -> None:
        self.console = console
        self.req = req

    async def run(self, io: ExecIO) -> int:
        console = self.console
        console.sessions.add(io)
        reader = asyncio.create_task(self._forward(io))
        try:
            redraw = console.redraw()
            if redraw:
                await io.write(redraw)
            await console.done.wait()
        finally:
            console.sessions.discard(io)
            reader.cancel()
            if self.req.stdin and console.stdin_once:
                console.close_stdin()
        return 0  # the attach ends with Success; the exit code is the container's, in the pod status

    async def _forward(self, io: ExecIO) -> None:
        if not self.req.stdin:
            return
        while True:
            data = await io.read()
            if data is None:
                if self.console.stdin_once:
                    self.console.close_stdin()
                return
            self.console.feed(data)


class OutputAttach:
    """One ``kubectl attach`` to a program that reads no input: its output, followed until it exits."""

    def __init__(self, runtime: "Runtime", cs: ContainerState, req: ExecRequest, *, since: float) -> None:
        self.runtime = runtime
        self.cs = cs
        self.req = req
        self.since = since
        self.proc = cs.process
        self.log = cs.log

    async def run(self, io: ExecIO) -> int:
        proc = self.proc
        assert proc is not None
        proc.attached = True
        last, sent_at_last = self.since, 0
        newline = "\r\n" if self.req.tty else "\n"
        while True:
            now = self.runtime.now()
            proc.advance(now)
            ended = (proc.exit_at is not None and proc.exit_at <= now) or self.cs.process is not proc \
                or self.cs.stage != "running"
            same = 0
            for ts, line in self.log.view(now):
                if ts < last:
                    continue
                if ts == last:
                    same += 1
                    if same <= sent_at_last:
                        continue
                else:
                    last, same = ts, 1
                sent_at_last = same
                await io.write((line + newline).encode())
            if ended:
                return 0
            await asyncio.sleep(ATTACH_POLL)


def _incomplete(script: str) -> bool:
    """Whether a typed script needs more lines (an open ``if``, loop, quote or pipe)."""
    try:
        Parser(script).parse()
    except ShellSyntaxError as err:
        return "end of file" in str(err) or "unterminated" in str(err)
    return False


def install(manager: "ManagerBase") -> None:
    """Add the scheduler, kubelets, endpoints, node lifecycle and kube-proxy to ``manager``."""
    from . import endpoints, kubelet, nodes, proxy, scheduler

    runtime = Runtime(manager)
    state = getattr(manager, "state", None)
    if isinstance(state, dict):
        state["runtime"] = runtime
    manager.registry.log_provider = runtime.log_provider
    manager.registry.exec_provider = runtime.exec_provider
    manager.registry.attach_provider = runtime.attach_provider
    scheduler.install(manager, runtime)
    kubelet.install(manager, runtime)
    nodes.install(manager, runtime)
    endpoints.install(manager, runtime)
    proxy.install(manager, runtime)
