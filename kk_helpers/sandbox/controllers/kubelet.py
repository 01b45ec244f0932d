"""The simulated kubelet: runs the pods bound to each node.

One controller serves every node (events carry the node as their source host,
as each node's kubelet would). For each pod it walks the real lifecycle:

``ContainerCreating`` (sandbox, pod IP from the node's podCIDR, image pull from
the offline catalog) -> ``Running`` (program started on the simulated clock,
ready after ``timing.ready`` or its readiness probe) -> exit, restart with
``CrashLoopBackOff`` back-off, or a terminal phase per ``restartPolicy``.
Image pull failures go ``ErrImagePull`` -> ``ImagePullBackOff`` with growing
back-off; bad env references give ``CreateContainerConfigError``; probes
(httpGet, tcpSocket, exec, grpc) run against the emulated programs.

A pod whose phase was made ``Succeeded`` or ``Failed`` from outside (the status
subresource) stays terminal: its containers are stopped (``Killing``) and the
kubelet never writes a non-terminal phase over a terminal one.

A pod with a ``deletionTimestamp`` gets ``Killing`` events, its containers stop
after ``min(grace period, timing.grace_cap)``, its terminal status is written
and the kubelet's final delete removes it. Pods of a stopped node are left
alone until the node starts again (as with a real dead kubelet).

A container with ``stdin: true`` whose program is an interactive shell
(``kubectl run -it debug --image=busybox``) runs a :class:`~.runtime.Console`:
it waits for what attach sessions type, and terminates with the shell's exit
code (then restarts or not per ``restartPolicy``).

Everything is driven by watch events and ``requeue_after`` timers at the next
moment something changes; an idle pod costs nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
from typing import Any, Iterable

from ..resources import CONFIGMAPS, NODES, PODS, SECRETS, SERVICES
from ..store import Event, Obj
from . import images
from .images.terminal import interactive_shell
from .base import Controller, Key, ManagerBase
from .runtime import (
    LOOKAHEAD, Console, ContainerLog, ContainerState, PodFS, PodState, Process, Runtime, go_duration, node_ip, node_stopped,
    rfc3339,
)

COMPONENT = "kubelet"
_OUR_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
_CONDITION_ORDER = {"PodReadyToStartContainers": 0, "Initialized": 1, "Ready": 2, "ContainersReady": 3,
                    "PodScheduled": 4}


class ConfigError(Exception):
    """An env reference that cannot be resolved (``CreateContainerConfigError``)."""


class MountError(ConfigError):
    """A ConfigMap or Secret volume whose source is missing (``FailedMount``; the pod stays ContainerCreating)."""

    def __init__(self, volume: str, message: str) -> None:
        super().__init__(message)
        self.volume = volume


def qos_class(spec: Obj) -> str:
    """Guaranteed, Burstable or BestEffort (pkg/apis/core/v1/helper/qos)."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or (r in req and str(req[r]) != str(lim[r])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def pod_ref(pod: Obj) -> str:
    md = pod["metadata"]
    return f"{md.get('name')}_{md.get('namespace')}({md.get('uid')})"


def _new_container_id() -> str:
    return "containerd://" + secrets.token_hex(32)


def _spec_hash(c: Obj) -> str:
    keep = {k: c.get(k) for k in ("image", "command", "args", "env", "envFrom", "ports", "workingDir")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Kubelet(Controller):
    """Runs pods on their nodes."""

    name = "kubelet"
    watches = (PODS, NODES, CONFIGMAPS, SECRETS)

    def __init__(self, manager: ManagerBase, runtime: Runtime) -> None:
        super().__init__(manager)
        self.rt = runtime
        self.config_waiting: set[Key] = set()

    # -- wiring ----------------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        md = ev.obj.get("metadata", {})
        if ev.rt is PODS:
            node = (ev.obj.get("spec") or {}).get("nodeName") or ((ev.old or {}).get("spec") or {}).get("nodeName")
            if node or ev.type == "DELETED":
                return [(md.get("namespace", ""), md.get("name", ""))]
            return []
        if ev.rt is NODES:
            was = node_stopped(ev.old) if ev.old is not None else False
            if was and not node_stopped(ev.obj) and ev.type != "DELETED":
                return [(p["metadata"]["namespace"], p["metadata"]["name"])
                        for p in self.rt.iter_pods_on(md.get("name", ""))]
            return []
        ns = md.get("namespace", "")
        return [k for k in self.config_waiting if k[0] == ns]

    def record_pod(self, pod: Obj, reason: str, message: str, *, type_: str = "Normal") -> None:
        self.record(pod, reason, message, type_=type_, component=COMPONENT,
                    host=(pod.get("spec") or {}).get("nodeName"))

    # -- reconcile -------------------------------------------------------------------------

    def reconcile(self, key: Key) -> None:
        ns, name = key
        pod = self.store.get(PODS, ns, name)
        if pod is None:
            self.rt.forget(key)
            self.config_waiting.discard(key)
            return
        md = pod["metadata"]
        uid = md.get("uid", "")
        old_uid = self.rt.by_key.get(key)
        if old_uid and old_uid != uid:
            self.rt.forget(key, old_uid)
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return
        node = self.rt.node(node_name)
        if node is None or node_stopped(node):
            return
        ps = self.rt.pods.get(uid)
        phase = (pod.get("status") or {}).get("phase")
        if ps is None:
            if md.get("deletionTimestamp"):
                self._finish(pod)  # nothing of it runs here (any more): the final delete
                return
            if phase in ("Succeeded", "Failed"):
                return
            ps = self._admit(pod, node)
        now = self.rt.now()
        if md.get("deletionTimestamp"):
            self._terminate(key, pod, ps, now)
            return
        if ps.done:
            return
        if phase in ("Succeeded", "Failed"):
            self._stop_terminal(pod, ps, now)  # set from outside (the status subresource): it stays terminal
            return
        self._check_spec_changes(pod, ps, now)
        deadline = self._sync(pod, ps, node, now)
        self._write_status(pod, ps, now)
        if ps.done:
            return
        if deadline is not None and deadline != math.inf:
            self.requeue_after(key, max(0.0, deadline - self.rt.now()))

    # -- admission -------------------------------------------------------------------------

    def _admit(self, pod: Obj, node: Obj) -> PodState:
        md = pod["metadata"]
        spec = pod.get("spec") or {}
        ps = PodState(uid=md["uid"], namespace=md.get("namespace", "default"), name=md["name"],
                      node=node["metadata"]["name"], fs=PodFS(self.rt, pod), host_ip=node_ip(node))
        now = self.rt.now()
        ps.sandbox_at = now + self.rt.jitter(min(0.3, self.timing.start * 0.5))
        for c in spec.get("initContainers") or []:
            ps.containers[c["name"]] = ContainerState(c["name"], True, c.get("image", ""), spec_hash=_spec_hash(c))
            ps.init_names.append(c["name"])
        for c in spec.get("containers") or []:
            ps.containers[c["name"]] = ContainerState(c["name"], False, c.get("image", ""), spec_hash=_spec_hash(c))
            ps.app_names.append(c["name"])
        status = pod.get("status") or {}
        if status.get("podIP") and status.get("phase") == "Running":
            self._adopt(pod, ps, status, now)
        self.rt.pods[ps.uid] = ps
        self.rt.by_key[(ps.namespace, ps.name)] = ps.uid
        return ps

    def _adopt(self, pod: Obj, ps: PodState, status: Obj, now: float) -> None:
        """Carry on with a pod that was running before the sandbox restarted."""
        from ..tables import parse_time

        ps.ip = status["podIP"]
        st = parse_time(status.get("startTime"))
        ps.start_time = st.timestamp() if st else now
        ps.sandbox_at = now
        for key in ("initContainerStatuses", "containerStatuses"):
            for cst in status.get(key) or []:
                cs = ps.containers.get(cst.get("name"))
                if cs is None:
                    continue
                cs.restart_count = int(cst.get("restartCount") or 0)
                cs.last_terminated = (cst.get("lastState") or {}).get("terminated")
                state = cst.get("state") or {}
                try:
                    cs.ref = images.parse_reference(cs.image)
                    cs.spec = images.lookup(cs.ref)
                except images.InvalidReference:
                    continue
                if cs.spec is not None:
                    self.rt.add_image(ps.node, cs.ref)
                if "terminated" in state and cs.init:
                    term = state["terminated"]
                    cs.stage, cs.exit_code = "done", int(term.get("exitCode") or 0)
                    cs.term_reason = term.get("reason", "Completed")
                    cs.container_id = cst.get("containerID", "")
                    ft = parse_time(term.get("finishedAt"))
                    cs.finished_at = ft.timestamp() if ft else now
                    cs.started = False
                elif "running" in state:
                    cs.container_id = cst.get("containerID", "")
                    cs.stage, cs.next_at = "resume", now

    # -- spec changes (kubectl set image on a bare pod) ------------------------------------

    def _check_spec_changes(self, pod: Obj, ps: PodState, now: float) -> None:
        for c in (pod.get("spec") or {}).get("containers") or []:
            cs = ps.containers.get(c.get("name"))
            if cs is None or cs.init:
                continue
            h = _spec_hash(c)
            if h == cs.spec_hash:
                continue
            cs.spec_hash = h
            cs.image = c.get("image", "")
            if cs.stage in ("running",):
                self.record_pod(pod, "Killing", f"Container {cs.name} definition changed, will be restarted")
                self._exited(pod, ps, cs, now, 0 if self._is_server(cs) else 137, restart_now=True)
            else:
                cs.stage, cs.next_at = "pull", now

    # -- the per-pod state machine ---------------------------------------------------------

    def _sync(self, pod: Obj, ps: PodState, node: Obj, now: float) -> float | None:
        deadlines: list[float] = []
        if ps.start_time is None:
            ps.start_time = now
        if ps.ip is None:
            if now < ps.sandbox_at:
                return ps.sandbox_at
            ps.ip = self.rt.ipam.allocate(node)
        pending_init = False
        for name in ps.init_names:
            cs = ps.containers[name]
            if cs.stage == "done" and cs.exit_code == 0:
                continue
            d = self._step(pod, ps, cs, now)
            if d is not None:
                deadlines.append(d)
            if not (cs.stage == "done" and cs.exit_code == 0):
                pending_init = True
                break
        if not pending_init:
            for name in ps.app_names:
                d = self._step(pod, ps, ps.containers[name], now)
                if d is not None:
                    deadlines.append(d)
        return min(deadlines) if deadlines else None

    def _step(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> float | None:
        for _ in range(50):
            if cs.stage in ("done", "invalid"):
                return None
            if cs.stage == "running":
                return self._running(pod, ps, cs, now)
            if cs.next_at > now:
                return cs.next_at
            handler = getattr(self, "_stage_" + cs.stage.replace("-", "_"))
            handler(pod, ps, cs, now)
        return now + 0.05

    def _container_spec(self, pod: Obj, cs: ContainerState) -> Obj:
        key = "initContainers" if cs.init else "containers"
        for c in (pod.get("spec") or {}).get(key) or []:
            if c.get("name") == cs.name:
                return c
        return {"name": cs.name, "image": cs.image}

    # -- pulling ---------------------------------------------------------------------------

    def _stage_pull(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> None:
        c = self._container_spec(pod, cs)
        image = c.get("image") or ""
        cs.image = image
        cs.waiting_reason, cs.waiting_message = "ContainerCreating", ""
        try:
            cs.ref = images.parse_reference(image)
        except images.InvalidReference as err:
            msg = f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": {err}'
            cs.stage, cs.waiting_reason, cs.waiting_message = "invalid", "InvalidImageName", msg
            self.record_pod(pod, "InspectFailed", msg, type_="Warning")
            self.record_pod(pod, "Failed", "Error: InvalidImageName", type_="Warning")
            return
        policy = c.get("imagePullPolicy") or images.default_pull_policy(image)
        present = self.rt.has_image(ps.node, cs.ref)
        if policy == "Never" or (policy == "IfNotPresent" and present):
            if present:
                cs.spec = images.lookup(cs.ref)
                self.record_pod(pod, "Pulled", f'Container image "{image}" already present on machine')
                self._to_starting(cs, now)
                return
            msg = f'Container image "{image}" is not present with pull policy of Never'
            cs.waiting_reason, cs.waiting_message = "ErrImageNeverPull", msg
            self.record_pod(pod, "ErrImageNeverPull", msg, type_="Warning")
            self.record_pod(pod, "Failed", "Error: ErrImageNeverPull", type_="Warning")
            cs.stage, cs.next_at = "pull", now + self.timing.backoff_cap
            return
        self.record_pod(pod, "Pulling", f'Pulling image "{image}"')
        delay = self.timing.pull * (0.3 if present else 1.0)
        cs.stage, cs.next_at = "pulling", now + self.rt.jitter(delay)
        cs.probe["pull_started"] = now

    def _stage_pulling(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> None:
        assert cs.ref is not None
        try:
            spec = images.resolve(cs.ref)
        except images.PullError as err:
            cs.pull_failures += 1
            msg = str(err)
            cs.waiting_reason, cs.waiting_message = "ErrImagePull", msg
            self.record_pod(pod, "Failed", f'Failed to pull image "{cs.image}": {msg}', type_="Warning")
            self.record_pod(pod, "Failed", "Error: ErrImagePull", type_="Warning")
            cs.stage, cs.next_at = "pull-error", now + self.rt.jitter(self.timing.backoff_base * 0.5)
            return
        cs.spec = spec
        self.rt.add_image(ps.node, cs.ref)
        size = images.image_size(cs.ref, spec)
        started = cs.probe.pop("pull_started", now)
        took = now - started if not self.rt.fast else size / 60_000_000 + 0.2
        d = go_duration(took)
        self.record_pod(pod, "Pulled", f'Successfully pulled image "{cs.image}" in {d} ({d} including waiting). '
                                       f"Image size: {size} bytes.")
        cs.pull_failures = 0
        self._to_starting(cs, now)

    def _stage_pull_error(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> None:
        err = cs.waiting_message
        cs.waiting_reason = "ImagePullBackOff"
        cs.waiting_message = f'Back-off pulling image "{cs.image}": ErrImagePull: {err}'
        self.record_pod(pod, "BackOff", f'Back-off pulling image "{cs.image}"')
        self.record_pod(pod, "Failed", "Error: ImagePullBackOff", type_="Warning")
        cs.probe["pull_error"] = err
        cs.stage, cs.next_at = "pull-backoff", now + self._backoff(cs.pull_failures)

    def _stage_pull_backoff(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> None:
        cs.stage, cs.next_at = "pull", now

    def _backoff(self, n: int) -> float:
        return min(self.timing.backoff_cap, self.timing.backoff_base * (2 ** max(0, n - 1)))

    def _to_starting(self, cs: ContainerState, now: float) -> None:
        cs.stage, cs.next_at = "starting", now + self.rt.jitter(self.timing.start)

    # -- starting --------------------------------------------------------------------------

    def _stage_resume(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> None:
        """A container that was running when the sandbox stopped: start its program again, quietly."""
        self._start_process(pod, ps, cs, now, quiet=True)

    def _stage_starting(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> None:
        self._start_process(pod, ps, cs, now, quiet=False)

    def _start_process(self, pod: Obj, ps: PodState, cs: ContainerState, now: float, *, quiet: bool) -> None:
        c = self._container_spec(pod, cs)
        key = (ps.namespace, ps.name)
        try:
            self._check_volumes(pod, ps)
            env = self._env(pod, ps, c)
        except MountError as err:
            cs.waiting_reason, cs.waiting_message = "ContainerCreating", ""
            self.record_pod(pod, "FailedMount", f'MountVolume.SetUp failed for volume "{err.volume}" : {err}',
                            type_="Warning")
            self.config_waiting.add(key)
            cs.stage, cs.next_at = "starting", now + self.timing.backoff_cap * 2
            return
        except ConfigError as err:
            cs.waiting_reason, cs.waiting_message = "CreateContainerConfigError", str(err)
            self.record_pod(pod, "Failed", f"Error: {err}", type_="Warning")
            self.config_waiting.add(key)
            cs.stage, cs.next_at = "starting", now + self.timing.backoff_cap * 2
            return
        self.config_waiting.discard(key)
        cs.env = env
        if cs.spec is None and cs.ref is not None:
            cs.spec = images.lookup(cs.ref)
        if not quiet:
            cs.container_id = _new_container_id()
            self.record_pod(pod, "Created", f"Created container: {cs.name}")
        argv = [images.expand_kubernetes_vars(a, env) for a in
                images.effective_argv(cs.spec, c.get("command"), c.get("args"))]
        hostname = (pod.get("spec") or {}).get("hostname") or ps.name
        penv = images.ProcessEnv(cs.spec, cs.ref, dict(env), hostname, ps.ip or "",
                                 read_file=lambda path: ps.fs.read(cs.name, path, self._clock_of(cs)),
                                 list_dir=lambda path: ps.fs.list(cs.name, path, self._clock_of(cs)),
                                 http_get=self.rt.http_get_from(ps.namespace))
        console = bool(c.get("stdin")) and interactive_shell(argv) and images.Shell(penv).exists(argv[0])
        try:
            gen = _wait_for_input() if console else images.program(argv, penv)
        except images.StartFailure as err:
            msg = ("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc "
                   "create failed: unable to start container process: error during container init: "
                   f"{err}: unknown")
            self.record_pod(pod, "Failed", f"Error: {msg}", type_="Warning")
            cs.started_at = now
            self._exited(pod, ps, cs, now, 128, reason="StartError", message=msg)
            return
        proc = Process(self.rt, gen, now, cs.log, ps.fs, cs.name)
        penv.clock = lambda: proc.cursor
        cs.process = proc
        cs.console = None
        if console:
            cs.console = Console(self.rt, ps, cs, argv, tty=bool(c.get("tty")), stdin_once=bool(c.get("stdinOnce")),
                                 on_exit=lambda code: self._console_exited(key, proc, code))
        if not quiet:
            cs.started_at = now
            self.record_pod(pod, "Started", f"Started container {cs.name}")
        elif cs.started_at is None:
            cs.started_at = now
        cs.stage = "running"
        cs.exit_code = None
        cs.waiting_reason = cs.waiting_message = ""
        self._init_probes(c, cs, now, ready_now=quiet)
        proc.advance(now)

    def _console_exited(self, key: Key, proc: Process, code: int) -> None:
        """The interactive shell of a ``stdin`` container exited: the container terminates with its code."""
        if proc.exit_at is None:
            proc.exit_at, proc.exit_code = self.rt.now(), code
            self.enqueue(key)

    def _clock_of(self, cs: ContainerState) -> float:
        return cs.process.cursor if cs.process is not None else self.rt.now()

    # -- running ---------------------------------------------------------------------------

    def _running(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> float | None:
        proc = cs.process
        assert proc is not None
        proc.advance(now + LOOKAHEAD)
        deadlines: list[float] = []
        killed = self._run_probes(pod, ps, cs, now)
        if killed or cs.stage != "running":
            return now if cs.stage != "done" else None
        if proc.exit_at is not None and proc.exit_at <= now:
            self._exited(pod, ps, cs, proc.exit_at, proc.exit_code or 0)
            return self._step(pod, ps, cs, now)
        if proc.next_wakeup is not None:
            deadlines.append(max(proc.next_wakeup, now + 0.001) if proc.exit_at is None else proc.next_wakeup)
        for t in (cs.probe.get("ready_at"), cs.probe.get("next_tick")):
            if t is not None:
                deadlines.append(t)
        return min(deadlines) if deadlines else None

    def _is_server(self, cs: ContainerState) -> bool:
        return cs.process is not None and bool(cs.process.listening)

    def _exited(self, pod: Obj, ps: PodState, cs: ContainerState, at: float, code: int, *, reason: str | None = None,
                message: str = "", restart_now: bool = False) -> None:
        """The container's process ended: record it and decide on a restart."""
        cs.finished_at = at
        cs.exit_code = code
        cs.term_reason = reason or ("Completed" if code == 0 else "Error")
        cs.term_message = message
        cs.ready = False
        cs.started = False
        cs.stop_console()
        if cs.process is not None and (cs.process.exit_at is None or cs.process.exit_at > at):
            cs.process.exit_at = at  # stopped from outside (probe, spec change)
        policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        if cs.init and code == 0:
            cs.stage = "done"
            return
        restart = restart_now or policy == "Always" or (policy == "OnFailure" and code != 0) or \
            (cs.init and policy != "Never" and code != 0)
        if not restart:
            cs.stage = "done"
            return
        cs.crashes += 0 if restart_now else 1
        if restart_now or cs.crashes <= 1:
            cs.stage, cs.next_at = "restart", at + (0 if restart_now else self.rt.jitter(self.timing.start))
            cs.probe["show_terminated"] = True
            return
        delay = self._backoff(cs.crashes - 1)
        cs.stage, cs.next_at = "crash-backoff", at + delay
        cs.waiting_reason = "CrashLoopBackOff"
        cs.waiting_message = (f"back-off {go_duration(delay)} restarting failed container="
                              f"{cs.name} pod={pod_ref(pod)}")
        self.record_pod(pod, "BackOff", f"Back-off restarting failed container {cs.name} in pod {pod_ref(pod)}",
                        type_="Warning")

    def _stage_crash_backoff(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> None:
        self._stage_restart(pod, ps, cs, now)

    def _stage_restart(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> None:
        """Start a new instance of the container: the old one becomes ``lastState`` and ``--previous``."""
        cs.last_terminated = self._terminated_state(cs)
        cs.previous_log = cs.log
        cs.log = ContainerLog()
        cs.process = None
        cs.restart_count += 1
        cs.probe.pop("show_terminated", None)
        cs.stage, cs.next_at = "pull", now
        cs.waiting_reason, cs.waiting_message = ("CrashLoopBackOff" if cs.crashes > 1 else "ContainerCreating"), ""

    # -- probes ----------------------------------------------------------------------------

    def _probe_period(self, seconds: float) -> float:
        """A probe's period on the sandbox clock (at least 0.2 s in fast mode, so probes stay cheap)."""
        return max(0.2, self.rt.scale(seconds)) if self.rt.fast else max(1.0, seconds)

    def _init_probes(self, c: Obj, cs: ContainerState, now: float, *, ready_now: bool) -> None:
        keep = {k: v for k, v in cs.probe.items() if k == "show_terminated"}
        cs.probe = keep
        probes = {}
        for kind, field in (("startup", "startupProbe"), ("liveness", "livenessProbe"), ("readiness", "readinessProbe")):
            p = c.get(field)
            if isinstance(p, dict) and p:
                delay = self.rt.scale(float(p.get("initialDelaySeconds") or 0))
                probes[kind] = {"spec": p, "next": now + delay + (0.001 if delay == 0 else 0), "ok": 0, "fail": 0,
                                "period": self._probe_period(float(p.get("periodSeconds") or 10)),
                                "success": int(p.get("successThreshold") or 1),
                                "failure": int(p.get("failureThreshold") or 3), "passed": False}
        cs.probe["probes"] = probes
        cs.started = "startup" not in probes
        if "readiness" in probes:
            cs.ready = ready_now
        else:
            cs.ready = ready_now
            if not ready_now:
                cs.probe["ready_at"] = now + self.rt.jitter(self.timing.ready)
        self._schedule_tick(cs)

    def _schedule_tick(self, cs: ContainerState) -> None:
        probes = cs.probe.get("probes") or {}
        times = [p["next"] for k, p in probes.items() if self._probe_active(cs, k)]
        cs.probe["next_tick"] = min(times) if times else None

    def _probe_active(self, cs: ContainerState, kind: str) -> bool:
        probes = cs.probe.get("probes") or {}
        if kind == "startup":
            return not probes["startup"]["passed"]
        return "startup" not in probes or probes["startup"]["passed"]

    def _run_probes(self, pod: Obj, ps: PodState, cs: ContainerState, now: float) -> bool:
        """Process probe ticks up to ``now``; True if the container was killed."""
        ready_at = cs.probe.get("ready_at")
        if ready_at is not None and now >= ready_at and cs.started:
            cs.ready = True
            cs.probe.pop("ready_at", None)
        probes = cs.probe.get("probes") or {}
        for _ in range(200):
            due = [(p["next"], k) for k, p in probes.items() if self._probe_active(cs, k) and p["next"] <= now]
            if not due:
                break
            at, kind = min(due)
            p = probes[kind]
            p["next"] = at + p["period"]
            ok, msg = self._probe(pod, ps, cs, p["spec"], at)
            if ok:
                p["ok"] += 1
                p["fail"] = 0
            else:
                p["fail"] += 1
                p["ok"] = 0
                label = {"startup": "Startup", "liveness": "Liveness", "readiness": "Readiness"}[kind]
                self.record_pod(pod, "Unhealthy", f"{label} probe failed: {msg}", type_="Warning")
            if kind == "startup":
                if ok and p["ok"] >= 1:
                    p["passed"] = True
                    cs.started = True
                    if "readiness" not in probes:
                        cs.ready = True
                    for k in ("liveness", "readiness"):
                        if k in probes:
                            probes[k]["next"] = max(probes[k]["next"], at + 0.001)
                elif p["fail"] >= p["failure"]:
                    self._kill_for_probe(pod, ps, cs, at, "startup")
                    return True
            elif kind == "liveness" and not ok and p["fail"] >= p["failure"]:
                self._kill_for_probe(pod, ps, cs, at, "liveness")
                return True
            elif kind == "readiness":
                if ok and p["ok"] >= p["success"]:
                    cs.ready = True
                elif not ok and p["fail"] >= p["failure"] or not ok and not cs.ready:
                    cs.ready = False
        self._schedule_tick(cs)
        return False

    def _kill_for_probe(self, pod: Obj, ps: PodState, cs: ContainerState, at: float, kind: str) -> None:
        self.record_pod(pod, "Killing", f"Container {cs.name} failed {kind} probe, will be restarted")
        code = 0 if self._is_server(cs) else 137
        self._exited(pod, ps, cs, at, code)

    def _probe(self, pod: Obj, ps: PodState, cs: ContainerState, spec: Obj, at: float) -> tuple[bool, str]:
        ip = ps.ip or ""
        c = self._container_spec(pod, cs)
        if "httpGet" in spec:
            hg = spec["httpGet"] or {}
            port = self._resolve_port(c, hg.get("port"))
            path = hg.get("path") or "/"
            scheme = (hg.get("scheme") or "HTTP").lower()
            node = self.rt.node(ps.node)
            headers = {"Host": f"{ip}:{port}", "User-Agent": "kube-probe/1.37", "Accept": "*/*",
                       "Connection": "close"}
            for h in hg.get("httpHeaders") or []:
                headers[h.get("name", "")] = h.get("value", "")
            req = images.Request(path=path.split("?")[0], query=path.partition("?")[2], headers=headers,
                                 client_ip=self.rt.ipam.gateway(node))
            resp = self.rt.http(pod, port, req, at=at) if port else None
            if resp is None or resp.status == 0:
                return False, f'Get "{scheme}://{ip}:{port}{path}": dial tcp {ip}:{port}: connect: connection refused'
            if 200 <= resp.status < 400:
                return True, ""
            return False, f"HTTP probe failed with statuscode: {resp.status}"
        if "tcpSocket" in spec or "grpc" in spec:
            port = self._resolve_port(c, (spec.get("tcpSocket") or spec.get("grpc") or {}).get("port"))
            if port and self.rt.listening_container(pod, port, at) is not None:
                return True, ""
            return False, f"dial tcp {ip}:{port}: connect: connection refused"
        if "exec" in spec:
            argv = list((spec["exec"] or {}).get("command") or [])
            return self._exec_probe(ps, cs, argv, at)
        return True, ""

    def _exec_probe(self, ps: PodState, cs: ContainerState, argv: list[str], at: float) -> tuple[bool, str]:
        penv = images.ProcessEnv(cs.spec, cs.ref, dict(cs.env), ps.name, ps.ip or "", clock=lambda: at,
                                 read_file=lambda path: ps.fs.read(cs.name, path, at),
                                 list_dir=lambda path: ps.fs.list(cs.name, path, at))
        try:
            gen = images.program(argv, penv)
        except images.StartFailure as err:
            return False, (f"OCI runtime exec failed: exec failed: unable to start container process: {err}: unknown")
        out: list[str] = []
        code = 0
        for i, action in enumerate(gen):
            if i > 2000:
                return False, "command timed out"
            if isinstance(action, images.Output):
                out.append(action.text)
            elif isinstance(action, images.Sleep) and action.seconds == math.inf:
                return False, "command timed out"
            elif isinstance(action, images.Exit):
                code = action.code
                break
        if code == 0:
            return True, ""
        return False, "\n".join(out) + ("\n" if out else "")

    @staticmethod
    def _resolve_port(c: Obj, port: Any) -> int:
        if isinstance(port, int):
            return port
        if isinstance(port, str):
            if port.isdigit():
                return int(port)
            for p in c.get("ports") or []:
                if p.get("name") == port:
                    return int(p.get("containerPort") or 0)
        return 0

    # -- environment -----------------------------------------------------------------------

    def _env(self, pod: Obj, ps: PodState, c: Obj) -> dict[str, str]:
        ns = ps.namespace
        spec = pod.get("spec") or {}
        env: dict[str, str] = {"HOSTNAME": spec.get("hostname") or ps.name}
        env.update(self._service_env(ns, spec.get("enableServiceLinks", True) is not False))
        for src in c.get("envFrom") or []:
            prefix = src.get("prefix") or ""
            if "configMapRef" in src:
                ref = src["configMapRef"] or {}
                cm = self.store.get(CONFIGMAPS, ns, ref.get("name", ""))
                if cm is None:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f'configmap "{ref.get("name", "")}" not found')
                for k, v in (cm.get("data") or {}).items():
                    env[prefix + k] = v
            elif "secretRef" in src:
                ref = src["secretRef"] or {}
                sec = self.store.get(SECRETS, ns, ref.get("name", ""))
                if sec is None:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f'secret "{ref.get("name", "")}" not found')
                for k, v in _secret_data(sec).items():
                    env[prefix + k] = v
        for e in c.get("env") or []:
            name = e.get("name", "")
            if "valueFrom" not in e or e.get("value") is not None:
                env[name] = images.expand_kubernetes_vars(str(e.get("value") or ""), env)
                continue
            vf = e.get("valueFrom") or {}
            if "fieldRef" in vf:
                env[name] = self._field_ref(pod, ps, (vf["fieldRef"] or {}).get("fieldPath", ""))
            elif "configMapKeyRef" in vf:
                ref = vf["configMapKeyRef"] or {}
                cm = self.store.get(CONFIGMAPS, ns, ref.get("name", ""))
                if cm is None:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f'configmap "{ref.get("name", "")}" not found')
                data = cm.get("data") or {}
                if ref.get("key") not in data:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f"couldn't find key {ref.get('key')} in ConfigMap {ns}/{ref.get('name')}")
                env[name] = data[ref["key"]]
            elif "secretKeyRef" in vf:
                ref = vf["secretKeyRef"] or {}
                sec = self.store.get(SECRETS, ns, ref.get("name", ""))
                if sec is None:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f'secret "{ref.get("name", "")}" not found')
                data = _secret_data(sec)
                if ref.get("key") not in data:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f"couldn't find key {ref.get('key')} in Secret {ns}/{ref.get('name')}")
                env[name] = data[ref["key"]]
            elif "resourceFieldRef" in vf:
                env[name] = self._resource_ref(pod, c, vf["resourceFieldRef"] or {})
        return env

    def _check_volumes(self, pod: Obj, ps: PodState) -> None:
        for v in (pod.get("spec") or {}).get("volumes") or []:
            if "configMap" in v:
                ref, rt, kind = v.get("configMap") or {}, CONFIGMAPS, "configmap"
                name = ref.get("name") or ""
            elif "secret" in v:
                ref, rt, kind = v.get("secret") or {}, SECRETS, "secret"
                name = ref.get("secretName") or ""
            else:
                continue
            if not ref.get("optional") and self.store.get(rt, ps.namespace, name) is None:
                raise MountError(v.get("name", ""), f'{kind} "{name}" not found')

    def _service_env(self, ns: str, links: bool) -> dict[str, str]:
        env: dict[str, str] = {}
        services = [s for s in self.store.list(SERVICES, "default") if s["metadata"]["name"] == "kubernetes"]
        if links:
            services += [s for s in self.store.list(SERVICES, ns)
                         if not (ns == "default" and s["metadata"]["name"] == "kubernetes")]
        for s in services:
            spec = s.get("spec") or {}
            ip = spec.get("clusterIP")
            ports = spec.get("ports") or []
            if not ip or ip == "None" or not ports:
                continue
            name = s["metadata"]["name"].upper().replace("-", "_")
            first = ports[0]
            env[f"{name}_SERVICE_HOST"] = ip
            env[f"{name}_SERVICE_PORT"] = str(first.get("port"))
            proto = (first.get("protocol") or "TCP").lower()
            env[f"{name}_PORT"] = f"{proto}://{ip}:{first.get('port')}"
            for p in ports:
                pn = p.get("port")
                pr = (p.get("protocol") or "TCP")
                if p.get("name"):
                    env[f"{name}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(pn)
                base = f"{name}_PORT_{pn}_{pr}"
                env[base] = f"{pr.lower()}://{ip}:{pn}"
                env[base + "_PROTO"] = pr.lower()
                env[base + "_PORT"] = str(pn)
                env[base + "_ADDR"] = ip
        return env

    def _field_ref(self, pod: Obj, ps: PodState, path: str) -> str:
        md = pod["metadata"]
        spec = pod.get("spec") or {}
        simple = {"metadata.name": md.get("name"), "metadata.namespace": md.get("namespace"),
                  "metadata.uid": md.get("uid"), "spec.nodeName": spec.get("nodeName"),
                  "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
                  "status.hostIP": ps.host_ip, "status.hostIPs": ps.host_ip, "status.podIP": ps.ip,
                  "status.podIPs": ps.ip}
        if path in simple:
            return str(simple[path] or "")
        for prefix, key in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
            if path.startswith(prefix + "['") and path.endswith("']"):
                return str((md.get(key) or {}).get(path[len(prefix) + 2:-2], ""))
            if path == prefix:
                return "\n".join(f'{k}="{v}"' for k, v in sorted((md.get(key) or {}).items()))
        return ""

    def _resource_ref(self, pod: Obj, c: Obj, ref: Obj) -> str:
        from .scheduler import parse_quantity

        resource = ref.get("resource", "")
        kind, _, res = resource.partition(".")
        value = ((c.get("resources") or {}).get(kind) or {}).get(res)
        if value is None:
            node = self.rt.node((pod.get("spec") or {}).get("nodeName") or "")
            value = (((node or {}).get("status") or {}).get("allocatable") or {}).get(res, "0")
        q = parse_quantity(value, milli=res == "cpu")
        divisor = parse_quantity(ref.get("divisor") or "1", milli=res == "cpu") or 1
        return str(max(1, math.ceil(q / divisor)) if q else 0)

    # -- termination -----------------------------------------------------------------------

    def _terminate(self, key: Key, pod: Obj, ps: PodState, now: float) -> None:
        md = pod["metadata"]
        if ps.terminating_at is None:
            ps.terminating_at = now
            grace = md.get("deletionGracePeriodSeconds")
            if grace is None:
                grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            running = [cs for cs in ps.containers.values() if cs.stage == "running"]
            for cs in running:
                self.record_pod(pod, "Killing", f"Stopping container {cs.name}")
            delay = min(float(grace or 0), self.timing.grace_cap) if running else 0.0
            if running and all(self._is_server(cs) for cs in running):
                delay = min(delay, max(self.timing.grace_cap / 4, 0.01))
            ps.finish_at = now + delay
        if ps.finish_at is not None and now < ps.finish_at:
            self.requeue_after(key, ps.finish_at - now)
            return
        for cs in ps.containers.values():
            if cs.stage == "running":
                if cs.process is not None:
                    cs.process.advance(now)
                code = 0 if self._is_server(cs) else 137
                self._stop_final(cs, now, code)
        ps.done = True
        self._write_status(pod, ps, now, final=True)
        self._finish(pod)
        self.rt.forget(key, ps.uid)

    def _stop_terminal(self, pod: Obj, ps: PodState, now: float) -> None:
        """Stop what still runs of a pod whose phase someone else made terminal; the phase is kept.

        A real kubelet never turns a Succeeded or Failed pod back into a running one: it kills the
        containers and reports them terminated, and the status manager refuses a non-terminal phase.
        """
        for cs in ps.containers.values():
            if cs.stage == "running":
                self.record_pod(pod, "Killing", f"Stopping container {cs.name}")
                if cs.process is not None:
                    cs.process.advance(now)
                self._stop_final(cs, now, 0 if self._is_server(cs) else 137)
        ps.done = True
        self._write_status(pod, ps, now, final=True)

    @staticmethod
    def _stop_final(cs: ContainerState, now: float, code: int) -> None:
        cs.stop_console()
        cs.finished_at = now
        cs.exit_code = code
        cs.term_reason = "Completed" if code == 0 else "Error"
        cs.ready = False
        cs.started = False
        cs.stage = "done"

    def _finish(self, pod: Obj) -> None:
        md = pod["metadata"]
        current = self.store.get(PODS, md.get("namespace", ""), md["name"])
        if current is None or current["metadata"].get("uid") != md.get("uid"):
            return
        if current["metadata"].get("finalizers"):
            return  # removed when its finalizers are (the registry asks us again)
        self.registry.finish_delete(PODS, md.get("namespace"), md["name"], md.get("uid"))

    # -- status ----------------------------------------------------------------------------

    def _terminated_state(self, cs: ContainerState) -> Obj:
        term: Obj = {"exitCode": cs.exit_code if cs.exit_code is not None else 0,
                     "reason": cs.term_reason or "Completed",
                     "startedAt": rfc3339(cs.started_at) if cs.started_at else None,
                     "finishedAt": rfc3339(cs.finished_at or self.rt.now()),
                     "containerID": cs.container_id or None}
        if cs.term_message:
            term["message"] = cs.term_message
        return {k: v for k, v in term.items() if v is not None}

    def _container_status(self, cs: ContainerState, ps_init_pending: bool = False) -> Obj:
        shown_terminated = cs.stage == "done" or cs.probe.get("show_terminated")
        image = cs.ref.full if cs.ref is not None and cs.spec is not None and cs.container_id else cs.image
        st: Obj = {"name": cs.name, "image": image, "imageID": "", "ready": bool(cs.ready and cs.stage == "running"),
                   "restartCount": cs.restart_count, "started": bool(cs.started and cs.stage == "running"),
                   "lastState": {"terminated": cs.last_terminated} if cs.last_terminated else {}}
        if cs.container_id and cs.ref is not None:
            st["imageID"] = images.image_id(cs.ref)
            st["containerID"] = cs.container_id
        if cs.stage == "running":
            st["state"] = {"running": {"startedAt": rfc3339(cs.started_at or self.rt.now())}}
        elif shown_terminated and cs.finished_at is not None:
            st["state"] = {"terminated": self._terminated_state(cs)}
        else:
            reason = cs.waiting_reason or "ContainerCreating"
            if not cs.init and reason == "ContainerCreating" and ps_init_pending:
                reason = "PodInitializing"
            waiting: Obj = {"reason": reason}
            if cs.waiting_message:
                waiting["message"] = cs.waiting_message
            st["state"] = {"waiting": waiting}
        return st

    def _phase(self, pod: Obj, ps: PodState) -> str:
        """pkg/kubelet/kubelet_pods.go getPhase, for the states we simulate."""
        policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        for name in ps.init_names:
            cs = ps.containers[name]
            if cs.stage == "done" and cs.exit_code != 0 and policy == "Never":
                return "Failed"
            if not (cs.stage == "done" and cs.exit_code == 0):
                return "Pending"
        running = stopped = succeeded = waiting = 0
        for name in ps.app_names:
            cs = ps.containers[name]
            if cs.stage == "running":
                running += 1
            elif cs.stage == "done" or (cs.probe.get("show_terminated") and cs.finished_at is not None):
                stopped += 1
                if cs.exit_code == 0:
                    succeeded += 1
            elif cs.last_terminated is not None:
                stopped += 1
            else:
                waiting += 1
        if waiting:
            return "Pending"
        if running:
            return "Running"
        if stopped:
            if policy == "Always":
                return "Running"
            if stopped == succeeded:
                return "Succeeded"
            if policy == "OnFailure" and any(ps.containers[n].stage != "done" for n in ps.app_names):
                return "Running"
            return "Failed"
        return "Pending"

    def _write_status(self, pod: Obj, ps: PodState, now: float, *, final: bool = False) -> None:
        current = self.store.get(PODS, ps.namespace, ps.name)
        if current is None or current["metadata"].get("uid") != ps.uid:
            return
        old_status = current.get("status") or {}
        status: Obj = {k: v for k, v in old_status.items()}
        phase = self._phase(current, ps)
        if old_status.get("phase") in ("Succeeded", "Failed"):
            phase = old_status["phase"]  # terminal is for ever (the status manager refuses the way back)
        if final and phase not in ("Succeeded", "Failed"):
            app = [ps.containers[n] for n in ps.app_names]
            if app and all(cs.stage == "done" for cs in app):
                phase = "Succeeded" if all(cs.exit_code == 0 for cs in app) else "Failed"
        status["phase"] = phase
        if ps.ip:
            status["podIP"] = ps.ip
            status["podIPs"] = [{"ip": ps.ip}]
        status["hostIP"] = ps.host_ip
        status["hostIPs"] = [{"ip": ps.host_ip}]
        if ps.start_time is not None and not old_status.get("startTime"):
            status["startTime"] = rfc3339(ps.start_time)
        status.setdefault("qosClass", qos_class(current.get("spec") or {}))
        if ps.init_names:
            status["initContainerStatuses"] = [self._container_status(ps.containers[n]) for n in ps.init_names]
        init_pending = any(not (ps.containers[n].stage == "done" and ps.containers[n].exit_code == 0)
                           for n in ps.init_names)
        status["containerStatuses"] = [self._container_status(ps.containers[n], init_pending) for n in ps.app_names]
        status["conditions"] = self._conditions(old_status.get("conditions") or [], ps, phase, now)
        if status == old_status:
            return
        new = dict(current)
        new["status"] = status
        try:
            self.registry.put_status(PODS, new)
        except Exception:  # a concurrent writer won: the watch event brings us back
            self.enqueue((ps.namespace, ps.name))

    def _conditions(self, old: list[Obj], ps: PodState, phase: str, now: float) -> list[Obj]:
        by_type = {c.get("type"): c for c in old}
        init_pending = [n for n in ps.init_names
                        if not (ps.containers[n].stage == "done" and ps.containers[n].exit_code == 0)]
        unready = [n for n in ps.app_names if not (ps.containers[n].ready and ps.containers[n].stage == "running")]
        completed = phase in ("Succeeded", "Failed")
        wanted: dict[str, tuple[str, str, str]] = {
            "PodReadyToStartContainers": ("True" if ps.ip and not completed else "False", "", ""),
            "Initialized": ("True", "", "") if not init_pending or completed and not ps.init_names else
            ("False", "ContainersNotInitialized", f"containers with incomplete status: [{' '.join(init_pending)}]"),
        }
        if completed:
            wanted["Ready"] = ("False", "PodCompleted", "")
            wanted["ContainersReady"] = ("False", "PodCompleted", "")
            if init_pending and phase == "Failed":
                wanted["Initialized"] = ("False", "PodCompleted", "")
            elif not init_pending:
                wanted["Initialized"] = ("True", "PodCompleted", "")
        elif unready:
            msg = f"containers with unready status: [{' '.join(unready)}]"
            wanted["Ready"] = ("False", "ContainersNotReady", msg)
            wanted["ContainersReady"] = ("False", "ContainersNotReady", msg)
        else:
            wanted["Ready"] = ("True", "", "")
            wanted["ContainersReady"] = ("True", "", "")
        out = [c for c in old if c.get("type") not in wanted]
        for ctype, (status, reason, message) in wanted.items():
            prev = by_type.get(ctype)
            same = prev is not None and prev.get("status") == status
            cond: Obj = {"type": ctype, "status": status, "lastProbeTime": None,
                         "lastTransitionTime": prev.get("lastTransitionTime") if same and prev else rfc3339(now)}
            if reason:
                cond["reason"] = reason
            if message:
                cond["message"] = message
            out.append(cond)
        out.sort(key=lambda c: _CONDITION_ORDER.get(c.get("type", ""), 9))
        return out


def _secret_data(sec: Obj) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (sec.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v).decode(errors="replace")
        except (ValueError, TypeError):
            out[k] = ""
    out.update(sec.get("stringData") or {})
    return out


def _wait_for_input() -> images.Program:
    """The runtime-side program of a :class:`Console` container: blocked until its shell exits."""
    yield images.Sleep(math.inf)
    return 0


def install(manager: ManagerBase, runtime: Runtime) -> None:
    manager.add(Kubelet(manager, runtime))


__all__ = ["Kubelet", "qos_class", "install"]
