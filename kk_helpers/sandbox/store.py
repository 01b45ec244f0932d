"""Durable object storage with resourceVersions and watch fan-out.

Objects live in memory (one dict per resource type, keyed by namespace and
name) and in SQLite (WAL). Every write is committed before it is acknowledged,
so it survives ``kill -9`` of the server; on start the store loads every
object back and the resourceVersion counter carries on from the highest one.

Stored objects are treated as immutable: callers get the stored dict and must
copy before changing it (the registry does). Watchers receive events through
bounded in-memory queues; a watcher that asks for a resourceVersion older than
the event history gets ``410 Expired``, as on a real server after compaction.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from . import errors
from .resources import RESOURCES, ResourceType

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped

HISTORY = 20_000  # events kept for watches that resume from an older resourceVersion
QUEUE_LIMIT = 50_000  # events a slow watcher may fall behind before it is closed


@dataclass(slots=True)
class Event:
    """One change: ADDED, MODIFIED or DELETED, at resourceVersion ``rv``."""

    type: str
    rt: ResourceType
    obj: Obj
    rv: int
    old: Obj | None = None


@dataclass(eq=False)
class Watcher:
    """A subscription: events for one resource type (or all), filtered by ``predicate``."""

    rt: ResourceType | None
    namespace: str | None
    predicate: Callable[[Event], bool] | None = None
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    closed: bool = False
    overflowed: bool = False

    def wants(self, ev: Event) -> bool:
        if self.rt is not None and ev.rt is not self.rt:
            return False
        if self.namespace and ev.obj.get("metadata", {}).get("namespace") != self.namespace:
            return False
        return True

    def push(self, ev: Event) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(ev)
        except asyncio.QueueFull:
            self.overflowed = True
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass


def _rkey(rt: ResourceType) -> str:
    return f"{rt.group}/{rt.version}/{rt.plural}"


class Store:
    """In-memory objects backed by SQLite, with a global resourceVersion."""

    def __init__(self, path: Path | str | None = None) -> None:
        self._lock = threading.RLock()
        self._objects: dict[ResourceType, dict[Key, Obj]] = {rt: {} for rt in RESOURCES}
        self._history: deque[Event] = deque(maxlen=HISTORY)
        self._watchers: set[Watcher] = set()
        self._listeners: list[Callable[[Event], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        db = str(path) if path else ":memory:"
        self._db = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL+NORMAL: durable across process kills
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (resource TEXT NOT NULL, namespace TEXT NOT NULL,"
            " name TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL,"
            " PRIMARY KEY (resource, namespace, name))")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        self.rv = 0
        self._load()
        # Watches may resume from any resourceVersion at or after this one.
        self.oldest_rv = self.rv

    # -- loading -----------------------------------------------------------------------------

    def _load(self) -> None:
        by_key = {_rkey(rt): rt for rt in RESOURCES}
        row = self._db.execute("SELECT v FROM meta WHERE k='rv'").fetchone()
        self.rv = int(row[0]) if row else 0
        for resource, ns, name, rv, data in self._db.execute("SELECT resource, namespace, name, rv, data FROM objects"):
            rt = by_key.get(resource)
            if rt is None:
                continue
            self._objects[rt][(ns, name)] = json.loads(data)
            self.rv = max(self.rv, rv)

    def close(self) -> None:
        with self._lock:
            for w in list(self._watchers):
                w.close()
            self._db.close()

    # -- reads -------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        return self._objects[rt].get((namespace if rt.namespaced else "", name))

    def list(self, rt: ResourceType, namespace: str | None = None) -> list[Obj]:
        """Objects of a type, sorted by namespace then name (as etcd keys sort)."""
        items = self._objects[rt]
        if namespace and rt.namespaced:
            keys = sorted(k for k in items if k[0] == namespace)
        else:
            keys = sorted(items)
        return [items[k] for k in keys]

    def count(self, rt: ResourceType) -> int:
        return len(self._objects[rt])

    def iter_all(self, rt: ResourceType) -> Iterator[Obj]:
        return iter(list(self._objects[rt].values()))

    # -- writes ------------------------------------------------------------------------------

    def _key(self, rt: ResourceType, obj: Obj) -> Key:
        md = obj["metadata"]
        return (md.get("namespace", "") if rt.namespaced else "", md["name"])

    def _commit(self, rt: ResourceType, key: Key, obj: Obj | None, rv: int) -> None:
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            if obj is None:
                cur.execute("DELETE FROM objects WHERE resource=? AND namespace=? AND name=?", (_rkey(rt), *key))
            else:
                cur.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)",
                            (_rkey(rt), key[0], key[1], rv, json.dumps(obj, separators=(",", ":"))))
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(rv),))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def put(self, rt: ResourceType, obj: Obj, *, expect_rv: str | None = None, create: bool = False) -> Obj:
        """Store ``obj`` (which the caller must not change afterwards) under a new resourceVersion.

        Args:
            rt: its type.
            obj: the full object; its metadata.resourceVersion is overwritten.
            expect_rv: if given, the stored object's resourceVersion must equal it (409 otherwise).
            create: the object must not exist yet (409 AlreadyExists otherwise).
        """
        with self._lock:
            key = self._key(rt, obj)
            old = self._objects[rt].get(key)
            if create and old is not None:
                raise errors.already_exists(rt, key[1])
            if not create and old is None:
                raise errors.not_found(rt, key[1])
            if expect_rv and old is not None and old["metadata"].get("resourceVersion") != expect_rv:
                raise errors.conflict(rt, key[1])
            rv = self.rv + 1
            obj["metadata"]["resourceVersion"] = str(rv)
            self._commit(rt, key, obj, rv)
            self.rv = rv
            self._objects[rt][key] = obj
            self._emit(Event("ADDED" if old is None else "MODIFIED", rt, obj, rv, old))
            return obj

    def remove(self, rt: ResourceType, namespace: str, name: str, *, expect_rv: str | None = None,
               expect_uid: str | None = None) -> Obj:
        """Delete an object for good; the DELETED event carries it with a new resourceVersion."""
        with self._lock:
            key = (namespace if rt.namespaced else "", name)
            old = self._objects[rt].get(key)
            if old is None:
                raise errors.not_found(rt, name)
            if expect_uid and old["metadata"].get("uid") != expect_uid:
                raise errors.conflict(rt, name, f"Precondition failed: UID in precondition: {expect_uid}, "
                                                f"UID in object meta: {old['metadata'].get('uid')}")
            if expect_rv and old["metadata"].get("resourceVersion") != expect_rv:
                raise errors.conflict(rt, name)
            rv = self.rv + 1
            self._commit(rt, key, None, rv)
            self.rv = rv
            del self._objects[rt][key]
            gone = dict(old)
            gone["metadata"] = {**old["metadata"], "resourceVersion": str(rv)}
            self._emit(Event("DELETED", rt, gone, rv, old))
            return gone

    # -- watch -------------------------------------------------------------------------------

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        """Call ``fn`` synchronously after every committed change (controllers use this)."""
        self._listeners.append(fn)

    def _emit(self, ev: Event) -> None:
        self._history.append(ev)
        for w in list(self._watchers):
            if w.wants(ev):
                w.push(ev)
        for fn in self._listeners:
            fn(ev)

    def watch(self, rt: ResourceType | None, namespace: str | None, since: int | None) -> Watcher:
        """Subscribe to changes after resourceVersion ``since`` (None: from now on).

        Raises:
            APIError: 410 Expired when ``since`` is older than the kept history.
        """
        with self._lock:
            w = Watcher(rt, namespace)
            if since is not None and since < self.rv:
                oldest = self._history[0].rv if self._history else self.rv + 1
                floor = max(self.oldest_rv, oldest - 1)
                if since < floor:
                    raise errors.expired(f"too old resource version: {since} ({floor})")
                for ev in self._history:
                    if ev.rv > since and w.wants(ev):
                        w.push(ev)
            self._watchers.add(w)
            return w

    def unwatch(self, w: Watcher) -> None:
        with self._lock:
            self._watchers.discard(w)
            w.close()

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
