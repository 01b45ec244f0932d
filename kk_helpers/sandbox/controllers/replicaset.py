"""The ReplicaSet controller (pkg/controller/replicaset).

Keeps ``spec.replicas`` active pods for each ReplicaSet: creates pods named
``<rs>-<5 random>`` (generateName) from the template, with a controller
ownerReference, replaces pods that are deleted or fail, and on scale-down deletes
the pods the real controller would pick first (see
:func:`.workloads.deletion_order`). Adopts orphan pods its selector matches and
releases owned pods that no longer match. Status: replicas, fullyLabeledReplicas,
readyReplicas, availableReplicas (ready for minReadySeconds), observedGeneration.
Events: ``SuccessfulCreate`` ``Created pod: <name>``, ``SuccessfulDelete``
``Deleted pod: <name>``, ``FailedCreate`` ``Error creating: <message>``.

Pods are counted from the store itself right before any create, and one
ReplicaSet is never reconciled twice at once, so a burst of pod events or a
restart cannot produce extra pods. Everything else reads an index of pods by
owner kept from the event stream (rebuilt from the store at start).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any, Iterable

from .. import errors
from ..resources import PODS, REPLICASETS
from ..store import Event, Obj
from .base import Controller, Key
from .workloads import (
    controller_ref, deletion_order, is_deleting, is_pod_active, is_pod_available, is_pod_ready, key_of, meta,
    now, omit_zero, owner_reference, pod_from_template, seconds_until_available, selector_matches, spec, status,
    write_options,
)

log = logging.getLogger("kk.sandbox.controllers")

#: Pods created per reconcile at most (``burstReplicas``).
BURST_REPLICAS = 500


def is_namespace_terminating(err: errors.APIError) -> bool:
    return err.code == 403 and "is being terminated" in err.message


class ReplicaSetController(Controller):
    """Reconciles ReplicaSets against their pods."""

    name = "replicaset-controller"
    watches = (REPLICASETS, PODS)

    def __init__(self, manager: Any) -> None:
        super().__init__(manager)
        # Pods by controller uid, and pods without a controller by namespace, kept from the
        # event stream so a reconcile touches only the pods that concern its ReplicaSet.
        self._owned: dict[str, set[Key]] = {}
        self._orphans: dict[str, set[Key]] = {}

    def _index(self, pod: Obj | None, add: bool) -> None:
        if pod is None:
            return
        md = meta(pod)
        key = (md.get("namespace", ""), md.get("name", ""))
        ref = controller_ref(pod)
        index, bucket = (self._owned, ref.get("uid", "")) if ref is not None else (self._orphans, key[0])
        if add:
            index.setdefault(bucket, set()).add(key)
        elif bucket in index:
            index[bucket].discard(key)
            if not index[bucket]:
                del index[bucket]

    def on_event(self, ev: Event) -> None:
        if ev.rt is PODS:
            self._index(ev.old, add=False)
            if ev.type != "DELETED":
                self._index(ev.obj, add=True)
        super().on_event(ev)

    async def resync(self) -> None:
        self._owned.clear()
        self._orphans.clear()
        for pod in self.store.list(PODS):
            self._index(pod, add=True)
        await super().resync()

    def pods_of(self, uid: str | None) -> list[Obj]:
        """The pods whose controller is ``uid``, as stored now."""
        out = []
        for ns, name in list(self._owned.get(uid or "", ())):
            pod = self.store.get(PODS, ns, name)
            if pod is not None and (controller_ref(pod) or {}).get("uid") == uid:
                out.append(pod)
        return out

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is REPLICASETS:
            return [key_of(ev.obj)]
        keys: set[Key] = set()
        ns = meta(ev.obj).get("namespace", "")
        for pod in (ev.obj, ev.old):
            if pod is None:
                continue
            ref = controller_ref(pod)
            if ref is not None:
                if ref.get("kind") == "ReplicaSet":
                    keys.add((ns, ref.get("name", "")))
            elif ev.type != "DELETED" and pod is ev.obj:
                labels = meta(pod).get("labels") or {}
                for rs in self.store.list(REPLICASETS, ns):
                    if selector_matches(spec(rs).get("selector"), labels):
                        keys.add(key_of(rs))
        return keys

    # -- reconcile -----------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        ns, name = key
        rs = self.store.get(REPLICASETS, ns, name)
        if rs is None:
            return
        pods = self.claim_pods(rs)
        active = [p for p in pods if is_pod_active(p)]
        changed = False
        if not is_deleting(rs):
            want = int(spec(rs).get("replicas", 1) or 0)
            diff = len(active) - want
            if diff < 0:
                await self.create_pods(rs, min(-diff, BURST_REPLICAS))
                changed = True
            elif diff > 0:
                self.delete_pods(rs, self.pods_to_delete(rs, active, diff))
                changed = True
        rs = self.store.get(REPLICASETS, ns, name)
        if rs is not None:
            self.update_status(rs, None if changed else active)

    def claim_pods(self, rs: Obj) -> list[Obj]:
        """The pods ``rs`` owns, after adopting matching orphans and releasing non-matching pods."""
        ns, uid = meta(rs).get("namespace", ""), meta(rs).get("uid")
        selector = spec(rs).get("selector")
        owned: list[Obj] = []
        for pod in self.pods_of(uid):
            if selector_matches(selector, meta(pod).get("labels") or {}) or is_deleting(pod):
                owned.append(pod)
            else:
                self._release(pod, uid)
        if not is_deleting(rs):
            for _, name in sorted(self._orphans.get(ns, ())):
                pod = self.store.get(PODS, ns, name)
                if (pod is not None and controller_ref(pod) is None and not is_deleting(pod)
                        and selector_matches(selector, meta(pod).get("labels") or {})):
                    adopted = self._adopt(pod, rs)
                    if adopted is not None:
                        owned.append(adopted)
        return owned

    def _adopt(self, pod: Obj, rs: Obj) -> Obj | None:
        new = copy.deepcopy(pod)
        new["metadata"]["ownerReferences"] = list(meta(pod).get("ownerReferences") or []) + [owner_reference(rs)]
        try:
            return self.registry.update(PODS, meta(pod)["namespace"], meta(pod)["name"], new, write_options())
        except errors.APIError as err:
            log.debug("could not adopt pod %s: %s", meta(pod).get("name"), err.message)
            return None

    def _release(self, pod: Obj, uid: str | None) -> None:
        new = copy.deepcopy(pod)
        refs = [r for r in meta(pod).get("ownerReferences") or [] if r.get("uid") != uid]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        try:
            self.registry.update(PODS, meta(pod)["namespace"], meta(pod)["name"], new, write_options())
        except errors.APIError as err:
            log.debug("could not release pod %s: %s", meta(pod).get("name"), err.message)

    async def create_pods(self, rs: Obj, count: int) -> None:
        """Create ``count`` pods in batches of 1, 2, 4... (``slowStartBatch``), yielding between batches.

        Before each batch the ReplicaSet and its pods are read again, so a scale-down that
        lands between batches stops the creation.
        """
        ns, name = key_of(rs)
        batch = 1
        remaining = count
        while remaining > 0:
            current = self.store.get(REPLICASETS, ns, name)
            if current is None or is_deleting(current) or meta(current).get("uid") != meta(rs).get("uid"):
                return
            # counted from the store itself, not the index: a create must never duplicate a pod
            uid = meta(rs).get("uid")
            active = [p for p in self.store.list(PODS, ns)
                      if (controller_ref(p) or {}).get("uid") == uid and is_pod_active(p)]
            remaining = min(remaining, int(spec(current).get("replicas", 1) or 0) - len(active))
            for _ in range(min(batch, max(remaining, 0))):
                body = pod_from_template(spec(current).get("template") or {}, current, f"{name}-")
                try:
                    pod = self.registry.create(PODS, ns, body, write_options())
                except errors.APIError as err:
                    if is_namespace_terminating(err):
                        return
                    self.record(current, "FailedCreate", f"Error creating: {err.message}", type_="Warning")
                    self._set_failure(current, err.message)
                    raise
                self.record(current, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
                remaining -= 1
            batch *= 2
            if remaining > 0:
                await asyncio.sleep(0)

    def pods_to_delete(self, rs: Obj, active: list[Obj], count: int) -> list[Obj]:
        """The ``count`` pods to delete, ranked by how many related pods share their node."""
        owner = controller_ref(rs)
        ns = meta(rs).get("namespace", "")
        related_owners = {meta(rs).get("uid")}
        if owner is not None:
            related_owners |= {meta(o).get("uid") for o in self.store.list(REPLICASETS, ns)
                               if (controller_ref(o) or {}).get("uid") == owner.get("uid")}
        related = [p for uid in related_owners for p in self.pods_of(uid) if is_pod_active(p)]
        per_node: dict[str, int] = {}
        for p in related:
            node = spec(p).get("nodeName") or ""
            per_node[node] = per_node.get(node, 0) + 1
        ranks = {meta(p).get("uid", ""): per_node.get(spec(p).get("nodeName") or "", 0) for p in active}
        return deletion_order(active, ranks)[:count]

    def delete_pods(self, rs: Obj, pods: list[Obj]) -> None:
        for pod in pods:
            try:
                self.registry.delete(PODS, meta(pod)["namespace"], meta(pod)["name"],
                                     preconditions={"uid": meta(pod).get("uid")})
            except errors.APIError as err:
                if err.code in (404, 409):
                    continue
                raise
            self.record(rs, "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}")

    def _set_failure(self, rs: Obj, message: str) -> None:
        new = copy.deepcopy(rs)
        st = new.setdefault("status", {})
        conds = [c for c in st.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        conds.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": self.registry.now(),
                      "reason": "FailedCreate", "message": message})
        st["conditions"] = conds
        try:
            self.registry.put_status(REPLICASETS, new)
        except errors.APIError:
            pass

    # -- status --------------------------------------------------------------------------------

    def update_status(self, rs: Obj, active: list[Obj] | None = None) -> None:
        """Write the counts of the active pods (listed again unless the caller just did)."""
        uid = meta(rs).get("uid")
        ns = meta(rs).get("namespace", "")
        if active is None:
            active = [p for p in self.pods_of(uid) if is_pod_active(p)]
        min_ready = int(spec(rs).get("minReadySeconds") or 0)
        at = now(self.manager)
        template_labels = ((spec(rs).get("template") or {}).get("metadata") or {}).get("labels") or {}
        old = status(rs)
        new_status: dict[str, Any] = {
            "replicas": len(active),
            "fullyLabeledReplicas": sum(1 for p in active
                                        if all((meta(p).get("labels") or {}).get(k) == v
                                               for k, v in template_labels.items())),
            "readyReplicas": sum(1 for p in active if is_pod_ready(p)),
            "availableReplicas": sum(1 for p in active if is_pod_available(p, min_ready, at)),
            "observedGeneration": meta(rs).get("generation"),
        }
        conds = [c for c in old.get("conditions") or []
                 if not (c.get("type") == "ReplicaFailure" and len(active) >= int(spec(rs).get("replicas", 1) or 0))]
        if conds:
            new_status["conditions"] = conds
        new_status = omit_zero(new_status, "replicas")
        if new_status != old:
            new = dict(rs)
            new["metadata"] = dict(rs["metadata"])
            new["status"] = new_status
            try:
                self.registry.put_status(REPLICASETS, new)
            except errors.APIError as err:
                if err.code not in (404, 409):
                    raise
                self.enqueue(key_of(rs))
        if min_ready > 0:
            waits = [w for p in active if not is_pod_available(p, min_ready, at)
                     for w in [seconds_until_available(p, min_ready, at)] if w is not None]
            if waits:
                self.requeue_after(key_of(rs), min(waits) + 1.0)
