"""The namespace controller (pkg/controller/namespace): deleting a namespace empties it.

A deleted namespace stays ``Terminating`` (``deletionTimestamp`` set,
``spec.finalizers: [kubernetes]``) while the controller deletes every namespaced
object in it - pods gracefully, through the kubelet - and reports progress in the
real conditions (``NamespaceContentRemaining`` ``Some resources are remaining: pods.
has 2 resource instances``, ``NamespaceFinalizersRemaining``...). When nothing is
left it removes the ``kubernetes`` finalizer, as a PUT to ``/finalize`` does, and the
API server drops the namespace. Waiting is event-driven: each deletion in a
terminating namespace queues the namespace again.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from .. import errors
from ..resources import NAMESPACES, RESOURCES, ResourceType
from ..store import Event, Obj
from .base import Controller, Key
from .workloads import is_deleting, meta, spec, status, write_options

FINALIZER = "kubernetes"
NAMESPACED: tuple[ResourceType, ...] = tuple(rt for rt in RESOURCES if rt.namespaced)

_OK = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered", "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted",
                                        "All content successfully deleted, may be waiting on finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}


class NamespaceController(Controller):
    """Deletes the contents of terminating namespaces, then finalizes them."""

    name = "namespace-controller"
    watches = (NAMESPACES,) + NAMESPACED

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is NAMESPACES:
            if ev.type != "DELETED" and is_deleting(ev.obj):
                return [("", meta(ev.obj).get("name", ""))]
            return []
        if ev.type != "DELETED":
            return []
        ns_name = meta(ev.obj).get("namespace", "")
        ns = self.store.get(NAMESPACES, "", ns_name)
        if ns is not None and is_deleting(ns):
            return [("", ns_name)]
        return []

    def reconcile(self, key: Key) -> None:
        _, name = key
        ns = self.store.get(NAMESPACES, "", name)
        if ns is None or not is_deleting(ns) or FINALIZER not in (spec(ns).get("finalizers") or []):
            return
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for rt in NAMESPACED:
            for obj in self.store.list(rt, name):
                if not is_deleting(obj):
                    try:
                        self.registry.delete(rt, name, meta(obj)["name"], preconditions={"uid": meta(obj).get("uid")})
                    except errors.APIError as err:
                        if err.code not in (404, 409):
                            raise
                left = self.store.get(rt, name, meta(obj)["name"])
                if left is None:
                    continue
                label = f"{rt.plural}.{rt.group}"
                remaining[label] = remaining.get(label, 0) + 1
                for f in meta(left).get("finalizers") or []:
                    finalizers[f] = finalizers.get(f, 0) + 1
        if remaining:
            self.update_conditions(ns, remaining, finalizers)
            return
        self.finalize(ns)

    def update_conditions(self, ns: Obj, remaining: dict[str, int], finalizers: dict[str, int]) -> None:
        now = self.registry.now()
        old = {c.get("type"): c for c in status(ns).get("conditions") or []}
        conds: list[dict[str, Any]] = []
        for type_, (reason, message) in _OK.items():
            cstatus = "False"
            if type_ == "NamespaceContentRemaining" and remaining:
                cstatus, reason = "True", "SomeResourcesRemain"
                message = "Some resources are remaining: " + ", ".join(
                    f"{k} has {v} resource instances" for k, v in sorted(remaining.items()))
            if type_ == "NamespaceFinalizersRemaining" and finalizers:
                cstatus, reason = "True", "SomeFinalizersRemain"
                message = "Some content in the namespace has finalizers remaining: " + ", ".join(
                    f"{k} in {v} resource instances" for k, v in sorted(finalizers.items()))
            prev = old.get(type_)
            ts = prev.get("lastTransitionTime") if prev and prev.get("status") == cstatus else now
            conds.append({"type": type_, "status": cstatus, "lastTransitionTime": ts, "reason": reason,
                          "message": message})
        if conds == status(ns).get("conditions"):
            return
        new = copy.deepcopy(ns)
        new.setdefault("status", {})["conditions"] = conds
        try:
            self.registry.put_status(NAMESPACES, new)
        except errors.APIError as err:
            if err.code not in (404, 409):
                raise

    def finalize(self, ns: Obj) -> None:
        """Remove the ``kubernetes`` finalizer through the ``/finalize`` subresource; the namespace then goes."""
        new = copy.deepcopy(ns)
        new["spec"]["finalizers"] = [f for f in spec(ns).get("finalizers") or [] if f != FINALIZER]
        try:
            self.registry.update(NAMESPACES, None, meta(ns)["name"], new, write_options(), subresource="finalize")
        except errors.APIError as err:
            if err.code not in (404, 409):
                raise
