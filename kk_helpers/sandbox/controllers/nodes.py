"""Node lifecycle: cordon taints, the stop-a-node drill, taint-based eviction and orphaned pods.

* A cordoned node (``spec.unschedulable``) gets the
  ``node.kubernetes.io/unschedulable:NoSchedule`` taint, and an event
  ``NodeNotSchedulable`` (``NodeSchedulable`` when uncordoned).
* The failure drill: the annotation ``sandbox.kk.dev/stopped: "true"`` (see
  ``daemon.set_node_running``) means the node's kubelet is gone. Its
  conditions turn ``Unknown`` (``NodeStatusUnknown``, ``Kubelet stopped posting
  node status.``), it gets the ``node.kubernetes.io/unreachable`` taints
  (``NoSchedule`` and ``NoExecute``), its pods are marked not ready, and after
  each pod's ``tolerationSeconds`` for that taint - capped at
  ``timing.node_eviction``, and ``timing.node_eviction`` when the pod has no
  such toleration (the API server's admission adds one of 300 s on a real
  cluster) - the pods are deleted. With the kubelet down nobody confirms the
  deletion, so they stay ``Terminating`` until the node comes back, as on a
  real cluster (``kubectl delete --force`` is the way out there too). Their
  ReplicaSets do not wait: a pod with a ``deletionTimestamp`` no longer counts,
  so replacements run on the other nodes at once and the ReplicaSet and
  Deployment report the full count (``4/4``) while the old pods are still
  listed as ``Terminating`` (tests/test_controllers_runtime.py checks this).
  Removing the annotation brings the node back ``Ready``, lifts the taints,
  and its kubelet finishes the pending deletions.
* Pods bound to a node that no longer exists are deleted (the pod GC).

Nothing here polls: eviction deadlines are ``requeue_after`` timers.
"""

from __future__ import annotations

import time
from typing import Iterable

from .. import errors
from ..registry import WriteOptions
from ..resources import NODES, PODS
from ..store import Event, Obj
from .base import Controller, Key, ManagerBase
from .runtime import Runtime, node_stopped, rfc3339
from .scheduler import tolerates

UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
_MANAGED_TAINTS = (UNREACHABLE, UNSCHEDULABLE, "node.kubernetes.io/not-ready")

_HEALTHY = {
    "MemoryPressure": ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
}


class NodeLifecycle(Controller):
    """node-controller (lifecycle, taints, taint eviction) and the pod GC for vanished nodes."""

    name = "node-controller"
    watches = (NODES, PODS)

    def __init__(self, manager: ManagerBase, runtime: Runtime) -> None:
        super().__init__(manager)
        self.rt = runtime
        self.opts = WriteOptions(field_manager="kube-controller-manager", field_validation="Ignore")
        self.stopped_seen: dict[str, float] = {}  # node -> when this controller first saw it stopped

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is NODES:
            return [("", ev.obj["metadata"]["name"])]
        node = (ev.obj.get("spec") or {}).get("nodeName")
        if not node or ev.type == "DELETED":
            return []
        n = self.rt.node(node)
        if n is None or node_stopped(n):
            return [("", node)]
        return []

    async def resync(self) -> None:
        for n in self.store.list(NODES):
            self.enqueue(("", n["metadata"]["name"]))
        known = {n["metadata"]["name"] for n in self.store.list(NODES)}
        for p in self.store.list(PODS):
            node = (p.get("spec") or {}).get("nodeName")
            if node and node not in known:
                self.enqueue(("", node))

    def reconcile(self, key: Key) -> None:
        name = key[1]
        node = self.rt.node(name)
        if node is None:
            self._gc_orphans(name)
            return
        stopped = node_stopped(node)
        node = self._sync_taints(node, stopped)
        node = self._sync_conditions(node, stopped)
        if stopped:
            self._mark_pods_not_ready(node)
            deadline = self._evict(node)
            if deadline is not None:
                self.requeue_after(key, max(0.0, deadline - time.time()))

    # -- taints ----------------------------------------------------------------------------

    def _sync_taints(self, node: Obj, stopped: bool) -> Obj:
        spec = node.get("spec") or {}
        current = list(spec.get("taints") or [])
        kept = [t for t in current if t.get("key") not in _MANAGED_TAINTS]
        by_key = {(t.get("key"), t.get("effect")): t for t in current}
        wanted: list[Obj] = []
        if spec.get("unschedulable"):
            wanted.append({"key": UNSCHEDULABLE, "effect": "NoSchedule",
                           **({"timeAdded": by_key[(UNSCHEDULABLE, "NoSchedule")]["timeAdded"]}
                              if by_key.get((UNSCHEDULABLE, "NoSchedule"), {}).get("timeAdded") else {})})
        if stopped:
            now = rfc3339(time.time())
            wanted.append({"key": UNREACHABLE, "effect": "NoSchedule"})
            old = by_key.get((UNREACHABLE, "NoExecute"))
            wanted.append({"key": UNREACHABLE, "effect": "NoExecute",
                           "timeAdded": (old or {}).get("timeAdded") or now})
        taints = kept + wanted
        if taints == current:
            return node
        was_cordoned = any(t.get("key") == UNSCHEDULABLE for t in current)
        new = dict(node)
        new["spec"] = dict(spec)
        if taints:
            new["spec"]["taints"] = taints
        else:
            new["spec"].pop("taints", None)
        try:
            node = self.registry.update(NODES, None, node["metadata"]["name"], new, self.opts)
        except errors.APIError as err:
            if err.code in (404, 409):
                self.enqueue(("", node["metadata"]["name"]))
                return node
            raise
        cordoned = bool(spec.get("unschedulable"))
        if cordoned != was_cordoned:
            reason = "NodeNotSchedulable" if cordoned else "NodeSchedulable"
            self.record(node, reason, f"Node {node['metadata']['name']} status is now: {reason}",
                        component="kubelet", host=node["metadata"]["name"])
        return node

    # -- conditions ------------------------------------------------------------------------

    def _sync_conditions(self, node: Obj, stopped: bool) -> Obj:
        status = node.get("status") or {}
        conds = list(status.get("conditions") or [])
        now = rfc3339(time.time())
        changed = False
        new_conds = []
        for c in conds:
            ctype = c.get("type")
            if ctype not in _HEALTHY:
                new_conds.append(c)
                continue
            if stopped:
                want = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
            else:
                want = _HEALTHY[ctype]
            if (c.get("status"), c.get("reason"), c.get("message")) == want:
                new_conds.append(c)
                continue
            changed = True
            nc = dict(c)
            nc.update({"status": want[0], "reason": want[1], "message": want[2], "lastTransitionTime": now})
            if not stopped:
                nc["lastHeartbeatTime"] = now
            else:
                nc.setdefault("lastHeartbeatTime", c.get("lastHeartbeatTime") or now)
            new_conds.append(nc)
        if not changed:
            return node
        new = dict(node)
        new["status"] = dict(status)
        new["status"]["conditions"] = new_conds
        try:
            node = self.registry.put_status(NODES, new)
        except errors.APIError:
            self.enqueue(("", node["metadata"]["name"]))
            return node
        name = node["metadata"]["name"]
        if stopped:
            self.record(node, "NodeNotReady", f"Node {name} status is now: NodeNotReady", component="node-controller")
        else:
            self.record(node, "Starting", "Starting kubelet.", component="kubelet", host=name)
            self.record(node, "NodeReady", f"Node {name} status is now: NodeReady", component="kubelet", host=name)
        return node

    # -- pods ------------------------------------------------------------------------------

    def _mark_pods_not_ready(self, node: Obj) -> None:
        now = rfc3339(time.time())
        for pod in list(self.rt.iter_pods_on(node["metadata"]["name"])):
            status = pod.get("status") or {}
            if status.get("phase") in ("Succeeded", "Failed"):
                continue
            conds = status.get("conditions") or []
            if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
                continue
            new_conds = [dict(c, status="False", lastTransitionTime=now) if c.get("type") == "Ready" else c
                         for c in conds]
            new = dict(pod)
            new["status"] = dict(status, conditions=new_conds)
            try:
                self.registry.put_status(PODS, new)
            except errors.APIError:
                continue
            self.record(pod, "NodeNotReady", "Node is not ready", type_="Warning", component="node-controller")

    def _toleration_seconds(self, pod: Obj, taint: Obj) -> float | None:
        """Seconds before eviction; None never (tolerates forever)."""
        cap = self.timing.node_eviction
        matching = [t for t in (pod.get("spec") or {}).get("tolerations") or [] if tolerates([t], taint)]
        if not matching:
            return cap
        secs = [t.get("tolerationSeconds") for t in matching]
        if any(s is None for s in secs):
            return None
        return min(cap, max(0.0, float(min(s for s in secs if s is not None))))

    def _evict(self, node: Obj) -> float | None:
        taint = next((t for t in (node.get("spec") or {}).get("taints") or []
                      if t.get("key") == UNREACHABLE and t.get("effect") == "NoExecute"), None)
        if taint is None:
            return None
        since = self.stopped_seen.setdefault(node["metadata"]["name"], time.time())
        now = time.time()
        next_deadline: float | None = None
        for pod in list(self.rt.iter_pods_on(node["metadata"]["name"])):
            md = pod["metadata"]
            if md.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            wait = self._toleration_seconds(pod, taint)
            if wait is None:
                continue
            due = since + wait
            if due > now:
                next_deadline = due if next_deadline is None else min(next_deadline, due)
                continue
            self._evict_pod(pod)
        return next_deadline

    def _evict_pod(self, pod: Obj) -> None:
        md = pod["metadata"]
        status = dict(pod.get("status") or {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conds.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": rfc3339(time.time()), "reason": "DeletionByTaintManager",
                      "message": "Taint manager: deleting due to NoExecute taint"})
        new = dict(pod)
        new["status"] = dict(status, conditions=conds)
        try:
            self.registry.put_status(PODS, new)
        except errors.APIError:
            pass
        self.record(pod, "TaintManagerEviction", f"Marking for deletion Pod {md.get('namespace')}/{md['name']}",
                    component="taint-eviction-controller")
        try:
            self.registry.delete(PODS, md.get("namespace"), md["name"])
        except errors.APIError as err:
            if err.code != 404:
                raise

    def _gc_orphans(self, node_name: str) -> None:
        self.stopped_seen.pop(node_name, None)
        for pod in list(self.rt.iter_pods_on(node_name)):
            md = pod["metadata"]
            self.registry.finish_delete(PODS, md.get("namespace"), md["name"], md.get("uid"))

    def on_event(self, ev: Event) -> None:
        if ev.rt is NODES and ev.type != "DELETED" and not node_stopped(ev.obj):
            self.stopped_seen.pop(ev.obj["metadata"]["name"], None)
        super().on_event(ev)


def install(manager: ManagerBase, runtime: Runtime) -> None:
    manager.add(NodeLifecycle(manager, runtime))


__all__ = ["NodeLifecycle", "install", "UNREACHABLE", "UNSCHEDULABLE"]
