"""The garbage collector (pkg/controller/garbagecollector): ownerReferences and cascading deletion.

* Background (``kubectl delete`` default): the owner is removed at once; every
  dependent whose owners are all gone is then deleted (pods gracefully, through the
  kubelet), and so on down the tree.
* Foreground: the owner stays with ``deletionTimestamp`` and the ``foregroundDeletion``
  finalizer while its dependents are deleted (those with dependents of their own in
  foreground too); once no dependent with ``blockOwnerDeletion: true`` is left, the
  finalizer is removed and the owner goes.
* Orphan: the owner has the ``orphan`` finalizer; the collector strips the owner's
  references from its dependents, then removes the finalizer.

An in-memory index maps each owner uid to its dependents; it is rebuilt from the store
at start, so a restart (or objects deleted while the server was down) is handled by the
first resync. Keys are ``(namespace, "<group>/<plural>/<name>")``.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from .. import errors
from ..resources import RESOURCES, ResourceType, by_kind
from ..store import Event, Obj
from .base import Controller, Key
from .workloads import is_deleting, meta, write_options


FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"

Ref = tuple[ResourceType, str, str]  # (type, namespace, name)


def gc_key(rt: ResourceType, namespace: str, name: str) -> Key:
    return (namespace, f"{rt.group}/{rt.plural}/{name}")


def parse_key(key: Key) -> Ref | None:
    ns, rest = key
    group, plural, name = rest.split("/", 2)
    rt = next((r for r in RESOURCES if r.group == group and r.plural == plural), None)
    if rt is None:
        return None
    return rt, ns, name


def owner_refs(obj: Obj | None) -> list[dict[str, Any]]:
    if obj is None:
        return []
    return [r for r in meta(obj).get("ownerReferences") or [] if isinstance(r, dict) and r.get("uid")]


class GarbageCollector(Controller):
    """Deletes dependents of deleted owners and carries out foreground and orphan deletion."""

    name = "garbage-collector-controller"
    watches = RESOURCES

    def __init__(self, manager: Any) -> None:
        super().__init__(manager)
        self._dependents: dict[str, set[Ref]] = {}  # owner uid -> dependents

    # -- the dependents index ------------------------------------------------------------------

    def _index(self, rt: ResourceType, obj: Obj | None, add: bool) -> None:
        if obj is None:
            return
        md = meta(obj)
        ref = (rt, md.get("namespace", "") if rt.namespaced else "", md.get("name", ""))
        for o in owner_refs(obj):
            deps = self._dependents.setdefault(o["uid"], set())
            if add:
                deps.add(ref)
            else:
                deps.discard(ref)
                if not deps:
                    self._dependents.pop(o["uid"], None)

    def on_event(self, ev: Event) -> None:
        if ev.old is not None and ev.old is not ev.obj:
            self._index(ev.rt, ev.old, add=False)
        if ev.type != "DELETED":
            self._index(ev.rt, ev.obj, add=True)
        super().on_event(ev)

    def keys_for(self, ev: Event) -> Iterable[Key]:
        md = meta(ev.obj)
        ns = md.get("namespace", "") if ev.rt.namespaced else ""
        keys: list[Key] = []
        if ev.type == "DELETED":
            # Its dependents may now be orphans to delete; its owners may be waiting for it.
            for dep in self._dependents.get(md.get("uid", ""), ()):
                keys.append(gc_key(*dep))
            for o in owner_refs(ev.obj):
                owner = self._owner_ref_target(ev.rt, ns, o)
                if owner is not None:
                    keys.append(gc_key(*owner))
            return keys
        finalizers = md.get("finalizers") or []
        if owner_refs(ev.obj) or (md.get("deletionTimestamp") and (FOREGROUND in finalizers or ORPHAN in finalizers)):
            keys.append(gc_key(ev.rt, ns, md.get("name", "")))
        return keys

    async def resync(self) -> None:
        self._dependents.clear()
        for rt in RESOURCES:
            for obj in self.store.list(rt):
                self._index(rt, obj, add=True)
        for rt in RESOURCES:
            for obj in self.store.list(rt):
                md = meta(obj)
                fins = md.get("finalizers") or []
                if owner_refs(obj) or (md.get("deletionTimestamp") and (FOREGROUND in fins or ORPHAN in fins)):
                    self.enqueue(gc_key(rt, md.get("namespace", "") if rt.namespaced else "", md["name"]))

    @staticmethod
    def _owner_ref_target(dep_rt: ResourceType, dep_ns: str, ref: dict[str, Any]) -> Ref | None:
        rt = by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rt is None:
            return None
        return rt, dep_ns if rt.namespaced else "", ref.get("name", "")

    def _get(self, target: Ref) -> Obj | None:
        rt, ns, name = target
        return self.store.get(rt, ns, name)

    # -- reconcile -----------------------------------------------------------------------------

    def reconcile(self, key: Key) -> None:
        target = parse_key(key)
        if target is None:
            return
        obj = self._get(target)
        if obj is None:
            return
        rt, ns, name = target
        fins = meta(obj).get("finalizers") or []
        if is_deleting(obj) and ORPHAN in fins:
            self.orphan_dependents(target, obj)
            return
        if is_deleting(obj) and FOREGROUND in fins:
            self.delete_dependents(target, obj)
            obj = self._get(target)
            if obj is None:
                return
        if owner_refs(obj):
            self.check_owners(target, obj)

    def _dependents_of(self, obj: Obj) -> list[tuple[Ref, Obj]]:
        uid = meta(obj).get("uid", "")
        out = []
        for dep in sorted(self._dependents.get(uid, ()), key=lambda d: (d[0].plural, d[1], d[2])):
            current = self._get(dep)
            if current is not None and any(o["uid"] == uid for o in owner_refs(current)):
                out.append((dep, current))
        return out

    def orphan_dependents(self, target: Ref, owner: Obj) -> None:
        uid = meta(owner).get("uid")
        for dep, current in self._dependents_of(owner):
            new = copy.deepcopy(current)
            refs = [o for o in owner_refs(current) if o["uid"] != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self._update(dep, new)
        self._remove_finalizer(target, ORPHAN)

    def delete_dependents(self, target: Ref, owner: Obj) -> None:
        uid = meta(owner).get("uid")
        blocking = 0
        for dep, current in self._dependents_of(owner):
            ref = next(o for o in owner_refs(current) if o["uid"] == uid)
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if is_deleting(current):
                continue
            policy = "Foreground" if self._dependents.get(meta(current).get("uid", "")) else "Background"
            self._delete(dep, current, policy)
        if blocking == 0:
            self._remove_finalizer(target, FOREGROUND)

    def check_owners(self, target: Ref, obj: Obj) -> None:
        """Delete ``obj`` if all its owners are gone; drop references to missing owners otherwise."""
        rt, ns, _ = target
        solid, dangling, waiting = [], [], []
        for ref in owner_refs(obj):
            owner_target = self._owner_ref_target(rt, ns, ref)
            if owner_target is None:
                solid.append(ref)  # an owner of a kind we do not serve: leave it alone
                continue
            owner = self._get(owner_target)
            if owner is None or meta(owner).get("uid") != ref["uid"]:
                dangling.append(ref)
            elif is_deleting(owner) and FOREGROUND in (meta(owner).get("finalizers") or []):
                waiting.append(ref)
            else:
                solid.append(ref)
        if not dangling and not waiting:
            return
        if not solid:
            if is_deleting(obj):
                return
            fins = meta(obj).get("finalizers") or []
            if waiting and self._dependents.get(meta(obj).get("uid", "")):
                policy = "Foreground"
            elif ORPHAN in fins:
                policy = "Orphan"
            elif FOREGROUND in fins:
                policy = "Foreground"
            else:
                policy = "Background"
            self._delete(target, obj, policy)
            return
        new = copy.deepcopy(obj)
        gone = {r["uid"] for r in dangling}
        refs = []
        for r in owner_refs(obj):
            if r["uid"] in gone:
                continue
            if any(w["uid"] == r["uid"] for w in waiting):
                r = {**r, "blockOwnerDeletion": False}
            refs.append(r)
        new["metadata"]["ownerReferences"] = refs
        self._update(target, new)

    # -- writes --------------------------------------------------------------------------------

    def _delete(self, target: Ref, obj: Obj, policy: str) -> None:
        rt, ns, name = target
        try:
            self.registry.delete(rt, ns or None, name, propagation=policy,
                                 preconditions={"uid": meta(obj).get("uid")})
        except errors.APIError as err:
            if err.code not in (404, 409):
                raise

    def _update(self, target: Ref, new: Obj) -> None:
        rt, ns, name = target
        try:
            self.registry.update(rt, ns or None, name, new, write_options())
        except errors.APIError as err:
            if err.code == 404:
                return
            if err.code == 409:
                self.enqueue(gc_key(*target))
                return
            raise

    def _remove_finalizer(self, target: Ref, finalizer: str) -> None:
        obj = self._get(target)
        if obj is None or finalizer not in (meta(obj).get("finalizers") or []):
            return
        new = copy.deepcopy(obj)
        rest = [f for f in meta(obj).get("finalizers") or [] if f != finalizer]
        if rest:
            new["metadata"]["finalizers"] = rest
        else:
            new["metadata"].pop("finalizers", None)
        self._update(target, new)

