"""The controller framework: watch-driven work queues, events, and crash restarts.

A :class:`Controller` names the resource types it watches and maps each change
to keys it must reconcile; a keyed work queue collapses repeated changes, so a
burst of writes costs one reconcile. Nothing polls: an idle cluster does no
work except timers a controller asked for (``requeue_after``).

A reconcile that raises is logged, and the key is retried with backoff; the
loop itself never dies, so one bad object cannot stop the cluster.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Iterable

from ..registry import Registry, now_rfc3339, random_suffix
from ..resources import EVENTS, ResourceType
from ..store import Event, Obj

log = logging.getLogger("kk.sandbox.controllers")

Key = tuple[str, str]  # (namespace, name)


class Timing:
    """Delays of the simulated world; ``fast`` makes everything near-instant."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        fast = mode == "fast"
        self.schedule = 0.0 if fast else 0.3
        self.pull = 0.0 if fast else 1.0
        self.start = 0.0 if fast else 0.6
        self.ready = 0.0 if fast else 0.4
        self.grace_cap = 0.05 if fast else 2.0  # seconds a graceful pod deletion takes at most
        self.backoff_base = 0.2 if fast else 5.0  # image pull / crash loop back-off base
        self.backoff_cap = 1.0 if fast else 30.0
        self.node_eviction = 1.0 if fast else 10.0  # NotReady -> pods evicted after this long
        self.job_pod_seconds = 0.05 if fast else 1.0


class Controller:
    """Base class. Subclasses set ``watches`` and implement :meth:`reconcile`."""

    name = "controller"
    watches: tuple[ResourceType, ...] = ()

    def __init__(self, manager: "ManagerBase") -> None:
        self.manager = manager
        self.registry: Registry = manager.registry
        self.store = manager.registry.store
        self.timing: Timing = manager.timing
        self.queue: asyncio.Queue[Key] = asyncio.Queue()
        self._pending: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._failures: dict[Key, int] = {}
        self._task: asyncio.Task[None] | None = None

    # -- wiring ------------------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        """Keys to reconcile for a change; default: the changed object itself."""
        md = ev.obj.get("metadata", {})
        return [(md.get("namespace", ""), md.get("name", ""))]

    def on_event(self, ev: Event) -> None:
        if ev.rt in self.watches:
            for key in self.keys_for(ev):
                self.enqueue(key)

    def enqueue(self, key: Key) -> None:
        if key not in self._pending:
            self._pending.add(key)
            self.queue.put_nowait(key)

    def requeue_after(self, key: Key, seconds: float) -> None:
        """Reconcile ``key`` again after ``seconds`` (the earliest request wins)."""
        loop = asyncio.get_running_loop()
        existing = self._timers.get(key)
        when = loop.time() + max(0.0, seconds)
        if existing is not None and existing.when() <= when:
            return
        if existing is not None:
            existing.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.enqueue(key)

        self._timers[key] = loop.call_at(when, fire)

    async def resync(self) -> None:
        """Reconcile every object of the first watched type (at start, after a restart)."""
        if self.watches:
            for obj in self.store.list(self.watches[0]):
                md = obj["metadata"]
                self.enqueue((md.get("namespace", ""), md["name"]))

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        await self.resync()
        while True:
            key = await self.queue.get()
            self._pending.discard(key)
            try:
                result = self.reconcile(key)
                if asyncio.iscoroutine(result):
                    await result
                self._failures.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception:
                n = self._failures.get(key, 0) + 1
                self._failures[key] = n
                log.exception("%s: reconcile of %s failed (attempt %d); retrying", self.name, "/".join(key), n)
                self.requeue_after(key, min(0.05 * 2 ** n, 5.0))
            # Let the API answer between reconciles.
            await asyncio.sleep(0)

    def reconcile(self, key: Key) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"kk-{self.name}")

    async def _supervise(self) -> None:
        """Restart the loop if it ever dies (it should not)."""
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s crashed; restarting", self.name)
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    # -- helpers -----------------------------------------------------------------------------

    def record(self, obj: Obj, reason: str, message: str, *, type_: str = "Normal",
               component: str | None = None, host: str | None = None, field_path: str | None = None) -> None:
        """Emit (or bump the count of) a core/v1 Event about ``obj`` (``field_path``: ``spec.containers{web}``)."""
        self.manager.recorder.record(obj, reason, message, type_=type_, component=component or self.name, host=host,
                                     field_path=field_path)


class EventRecorder:
    """Creates core/v1 Events the way client-go's recorder does, aggregating repeats."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._recent: dict[tuple[str, ...], tuple[str, str]] = {}  # key -> (namespace, event name)

    def record(self, obj: Obj, reason: str, message: str, *, type_: str = "Normal", component: str = "",
               host: str | None = None, field_path: str | None = None) -> None:
        from ..errors import APIError

        md = obj.get("metadata", {})
        ns = md.get("namespace") or "default"
        involved = {"kind": obj.get("kind"), "namespace": md.get("namespace") or None, "name": md.get("name"),
                    "uid": md.get("uid"), "apiVersion": obj.get("apiVersion"),
                    "resourceVersion": md.get("resourceVersion"), "fieldPath": field_path}
        involved = {k: v for k, v in involved.items() if v}
        key = (ns, involved.get("kind", ""), involved.get("name", ""), involved.get("uid", ""), field_path or "",
               reason, message, type_)
        now = now_rfc3339()
        existing = self._recent.get(key)
        if existing is not None:
            ev = self.registry.store.get(EVENTS, existing[0], existing[1])
            if ev is not None:
                new = {**ev, "count": int(ev.get("count", 1)) + 1, "lastTimestamp": now,
                       "metadata": dict(ev["metadata"])}
                try:
                    self.registry.put_status(EVENTS, new)
                    return
                except APIError:
                    pass
        name = f"{md.get('name', 'unknown')}.{int(time.time() * 1e9):x}"[:253]
        source = {"component": component}
        if host:
            source["host"] = host
        body = {
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        try:
            from ..registry import WriteOptions

            self.registry.create(EVENTS, ns, body, WriteOptions(field_validation="Ignore"))
        except APIError as err:
            if err.code == 409:
                body["metadata"]["name"] = name + random_suffix()
                try:
                    self.registry.create(EVENTS, ns, body, WriteOptions(field_validation="Ignore"))
                except APIError:
                    return
            else:
                return  # e.g. the namespace is terminating: events are best effort
        self._recent[key] = (ns, body["metadata"]["name"])
        if len(self._recent) > 5000:
            self._recent.pop(next(iter(self._recent)))


class ManagerBase:
    """What controllers see of their manager."""

    def __init__(self, registry: Registry, *, mode: str = "fast", cluster: str = "kk") -> None:
        self.registry = registry
        self.timing = Timing(mode)
        self.cluster = cluster
        self.recorder = EventRecorder(registry)
        self.controllers: list[Controller] = []

    def add(self, controller: Controller) -> Controller:
        self.controllers.append(controller)
        return controller

    def dispatch(self, ev: Event) -> None:
        for c in self.controllers:
            try:
                c.on_event(ev)
            except Exception:  # a mapping bug must not break the writer
                log.exception("%s: could not map %s event", c.name, ev.type)
