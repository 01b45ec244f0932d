"""The scheduler: binds pending pods to nodes, or says why it cannot.

It handles pods with ``schedulerName: default-scheduler`` (the default) and no
``spec.nodeName``. Filters run per node in the default profile's order, and the
first one that fails is that node's reason:

1. NodeUnschedulable - ``node(s) were unschedulable`` (cordoned);
2. TaintToleration - ``node(s) had untolerated taint {key: value}`` (NoSchedule
   and NoExecute taints, e.g. the control plane's, or a stopped node's
   ``node.kubernetes.io/unreachable``);
3. NodeAffinity - ``node(s) didn't match Pod's node affinity/selector``;
4. NodePorts - ``node(s) didn't have free ports for the requested pod ports``;
5. NodeResourcesFit - ``Insufficient cpu``, ``Insufficient memory``,
   ``Too many pods`` (requests against allocatable minus the requests of the
   node's non-terminated pods).

A pod that fits nowhere stays ``Pending`` with ``PodScheduled=False``,
reason ``Unschedulable`` and the real message, e.g.
``0/3 nodes are available: 1 node(s) had untolerated taint
{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3
nodes are available: 1 Preemption is not helpful for scheduling, 2 No
preemption victims found for incoming pod.``, and a ``FailedScheduling``
warning. It is tried again whenever a node changes or a pod goes away or ends.

Among feasible nodes it prefers the one with the fewest pods of the same owner
(replicas spread out), then the fewest pods, then the least requested share of
its resources; ties are broken at random, as the real scheduler does.
"""

from __future__ import annotations

import random
import re
import time
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from .. import errors
from ..resources import NODES, PODS
from ..store import Event, Obj
from .base import Controller, Key, ManagerBase
from .runtime import Runtime, rfc3339

COMPONENT = "default-scheduler"
TERMINAL = ("Succeeded", "Failed")

#: Filter failures that evicting other pods could never fix.
_UNRESOLVABLE_PREFIXES = ("node(s) were unschedulable", "node(s) had untolerated taint",
                          "node(s) didn't match Pod's node affinity/selector")

_SUFFIXES = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
             "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1, "k": 10 ** 3, "M": 10 ** 6,
             "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")


def parse_quantity(value: Any, *, milli: bool = False) -> int:
    """A resource quantity as an integer: bytes/units, or thousandths with ``milli`` (CPU)."""
    if value is None:
        return 0
    if isinstance(value, (int, float)):
        number = Decimal(str(value))
    else:
        m = _QUANTITY.match(str(value).strip())
        if not m:
            return 0
        try:
            number = Decimal(m.group(1))
        except InvalidOperation:
            return 0
        if m.group(2):
            number *= Decimal(10) ** int(m.group(2)[1:])
        else:
            number *= Decimal(_SUFFIXES[m.group(3) or ""])
    if milli:
        number *= 1000
    return int(number.to_integral_value(rounding="ROUND_CEILING"))


def pod_requests(pod: Obj) -> dict[str, int]:
    """Effective requests: max(sum of containers, largest init container) + overhead; cpu in millicores."""
    spec = pod.get("spec") or {}

    def of(c: Obj) -> dict[str, int]:
        res = c.get("resources") or {}
        req = dict(res.get("limits") or {})
        req.update(res.get("requests") or {})
        return {k: parse_quantity(v, milli=k == "cpu") for k, v in req.items()}

    total: dict[str, int] = {}
    for c in spec.get("containers") or []:
        for k, v in of(c).items():
            total[k] = total.get(k, 0) + v
    for c in spec.get("initContainers") or []:
        for k, v in of(c).items():
            total[k] = max(total.get(k, 0), v)
    for k, v in (spec.get("overhead") or {}).items():
        total[k] = total.get(k, 0) + parse_quantity(v, milli=k == "cpu")
    return total


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    """k8s.io/api/core/v1 Toleration.ToleratesTaint."""
    for t in tolerations or []:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if op == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _match_expression(expr: Obj, value: str | None, present: bool) -> bool:
    op = expr.get("operator")
    values = expr.get("values") or []
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and values:
        try:
            a, b = int(value or ""), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def term_matches(term: Obj, node: Obj) -> bool:
    """One NodeSelectorTerm: all its expressions and fields must match (an empty term matches nothing)."""
    labels = node["metadata"].get("labels") or {}
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    for e in exprs:
        if not _match_expression(e, labels.get(e.get("key", "")), e.get("key", "") in labels):
            return False
    for f in fields:
        if f.get("key") == "metadata.name":
            if not _match_expression(f, node["metadata"]["name"], True):
                return False
        else:
            return False
    return True


def affinity_matches(pod: Obj, node: Obj) -> bool:
    spec = pod.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if terms is not None:
        return any(term_matches(t, node) for t in terms)
    return True


def preferred_score(pod: Obj, node: Obj) -> int:
    prefs = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    return sum(int(p.get("weight") or 0) for p in prefs if term_matches(p.get("preference") or {}, node))


def _host_ports(pod: Obj) -> set[tuple[str, int, str]]:
    out = set()
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.add((p.get("hostIP") or "0.0.0.0", int(p["hostPort"]), p.get("protocol") or "TCP"))
    return out


def controller_uid(pod: Obj) -> str | None:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def needs_scheduling(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName") and not pod["metadata"].get("deletionTimestamp")
            and (spec.get("schedulerName") or COMPONENT) == COMPONENT
            and (pod.get("status") or {}).get("phase") not in TERMINAL
            and not spec.get("schedulingGates"))


def fit_message(total: int, reasons: dict[str, int], preemption: dict[str, int]) -> str:
    """The scheduler's FitError text."""
    if total == 0:
        return "no nodes available to schedule pods"

    def hist(h: dict[str, int]) -> str:
        return ", ".join(sorted(f"{n} {r}" for r, n in h.items()))
    return (f"0/{total} nodes are available: {hist(reasons)}. "
            f"preemption: 0/{total} nodes are available: {hist(preemption)}.")


class Scheduler(Controller):
    """default-scheduler."""

    name = COMPONENT
    watches = (PODS, NODES)

    def __init__(self, manager: ManagerBase, runtime: Runtime) -> None:
        super().__init__(manager)
        self.rt = runtime
        self.unschedulable: set[Key] = set()
        self.first_seen: dict[str, float] = {}
        self.last_event: dict[str, tuple[str, float]] = {}
        self._requests: dict[str, tuple[dict[str, int], set[tuple[str, int, str]], str | None]] = {}  # by pod uid

    # -- wiring ----------------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is NODES:
            return list(self.unschedulable)
        pod = ev.obj
        md = pod.get("metadata", {})
        key = (md.get("namespace", ""), md.get("name", ""))
        keys: list[Key] = []
        if ev.type != "DELETED" and needs_scheduling(pod):
            keys.append(key)
        if self.unschedulable and self._frees_capacity(ev):
            keys.extend(k for k in self.unschedulable if k != key)
        if ev.type == "DELETED":
            self._requests.pop(md.get("uid", ""), None)
            self.unschedulable.discard(key)
            self.first_seen.pop(md.get("uid", ""), None)
            self.last_event.pop(md.get("uid", ""), None)
        return keys

    @staticmethod
    def _frees_capacity(ev: Event) -> bool:
        node = (ev.obj.get("spec") or {}).get("nodeName")
        old = ev.old or {}
        if ev.type == "DELETED":
            return bool(node)
        if not node:
            return False
        phase = (ev.obj.get("status") or {}).get("phase")
        old_phase = (old.get("status") or {}).get("phase")
        return phase in TERMINAL and old_phase not in TERMINAL

    async def resync(self) -> None:
        for pod in self.store.list(PODS):
            if needs_scheduling(pod):
                self.enqueue((pod["metadata"]["namespace"], pod["metadata"]["name"]))

    # -- reconcile -------------------------------------------------------------------------

    def reconcile(self, key: Key) -> None:
        pod = self.store.get(PODS, *key)
        if pod is None or not needs_scheduling(pod):
            self.unschedulable.discard(key)
            return
        uid = pod["metadata"].get("uid", "")
        now = time.time()
        first = self.first_seen.setdefault(uid, now + self.rt.jitter(self.timing.schedule))
        if now < first:
            self.requeue_after(key, first - now)
            return
        nodes = self.store.list(NODES)
        chosen, reasons, preemption = self.place(pod, nodes)
        if chosen is not None:
            try:
                self.registry.bind(key[0], key[1], chosen)
            except errors.APIError as err:
                if err.code in (404, 409):
                    return
                raise
            self.unschedulable.discard(key)
            self.first_seen.pop(uid, None)
            self.last_event.pop(uid, None)
            self.record(pod, "Scheduled", f"Successfully assigned {key[0]}/{key[1]} to {chosen}", component=COMPONENT)
            return
        message = fit_message(len(nodes), reasons, preemption)
        self.unschedulable.add(key)
        self._mark_unschedulable(pod, message)
        last = self.last_event.get(uid)
        quiet = 1.0 if self.timing.mode == "fast" else 10.0
        if last is None or last[0] != message or now - last[1] >= quiet:
            self.last_event[uid] = (message, now)
            self.record(pod, "FailedScheduling", message, type_="Warning", component=COMPONENT)

    def _mark_unschedulable(self, pod: Obj, message: str) -> None:
        status = dict(pod.get("status") or {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        prev = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        ltt = prev.get("lastTransitionTime") if prev and prev.get("status") == "False" else rfc3339(time.time())
        conds.append({"type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": ltt,
                      "reason": "Unschedulable", "message": message})
        status["conditions"] = conds
        status.setdefault("phase", "Pending")
        if status == (pod.get("status") or {}):
            return
        new = dict(pod)
        new["status"] = status
        try:
            self.registry.put_status(PODS, new)
        except errors.APIError:
            pass

    # -- placement -------------------------------------------------------------------------

    def place(self, pod: Obj, nodes: list[Obj]) -> tuple[str | None, dict[str, int], dict[str, int]]:
        """(chosen node, failure reasons histogram, preemption histogram)."""
        reasons: dict[str, int] = {}
        preemption: dict[str, int] = {}
        spec = pod.get("spec") or {}
        tolerations = spec.get("tolerations") or []
        want = pod_requests(pod)
        want_ports = _host_ports(pod)
        usage = self._usage()
        owner = controller_uid(pod)
        feasible: list[tuple[Any, ...]] = []
        for node in nodes:
            name = node["metadata"]["name"]
            fails = self._filter(node, tolerations, pod, want, want_ports, usage.get(name))
            if fails:
                for r in fails:
                    reasons[r] = reasons.get(r, 0) + 1
                p = ("Preemption is not helpful for scheduling" if fails[0].startswith(_UNRESOLVABLE_PREFIXES)
                     else "No preemption victims found for incoming pod")
                preemption[p] = preemption.get(p, 0) + 1
                continue
            u = usage.get(name) or {"pods": [], "req": {}, "owners": {}}
            alloc = (node.get("status") or {}).get("allocatable") or {}
            share = 0.0
            for r in ("cpu", "memory"):
                cap = parse_quantity(alloc.get(r), milli=r == "cpu")
                if cap:
                    share += (u["req"].get(r, 0) + want.get(r, 0)) / cap
            prefer_no = sum(1 for t in (node.get("spec") or {}).get("taints") or []
                            if t.get("effect") == "PreferNoSchedule" and not tolerates(tolerations, t))
            same_owner = u["owners"].get(owner, 0) if owner else 0
            feasible.append((prefer_no, -preferred_score(pod, node), same_owner, len(u["pods"]), round(share, 3),
                             random.random(), name))
        if not feasible:
            return None, reasons, preemption
        return min(feasible)[-1], reasons, preemption

    def _usage(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for p in self.store.iter_all(PODS):
            node = (p.get("spec") or {}).get("nodeName")
            if not node or (p.get("status") or {}).get("phase") in TERMINAL:
                continue
            u = out.setdefault(node, {"pods": [], "req": {}, "ports": set(), "owners": {}})
            u["pods"].append(p)
            uid = p["metadata"].get("uid", "")
            cached = self._requests.get(uid)
            if cached is None:
                cached = self._requests[uid] = (pod_requests(p), _host_ports(p), controller_uid(p))
            req, ports, owner = cached
            for k, v in req.items():
                u["req"][k] = u["req"].get(k, 0) + v
            u["ports"] |= ports
            if owner:
                u["owners"][owner] = u["owners"].get(owner, 0) + 1
        return out

    def _filter(self, node: Obj, tolerations: list[Obj], pod: Obj, want: dict[str, int],
                want_ports: set[tuple[str, int, str]], usage: dict[str, Any] | None) -> list[str]:
        spec = node.get("spec") or {}
        if spec.get("unschedulable") and not tolerates(
                tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
            return ["node(s) were unschedulable"]
        for taint in spec.get("taints") or []:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
                return [f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}"]
        if not self._ready(node):
            taint = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
            if not tolerates(tolerations, taint):
                return ["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"]
        if not affinity_matches(pod, node):
            return ["node(s) didn't match Pod's node affinity/selector"]
        usage = usage or {"pods": [], "req": {}, "ports": set()}
        if want_ports:
            used = usage.get("ports") or set()
            for hip, port, proto in want_ports:
                if any(p == port and pr == proto and (h == hip or "0.0.0.0" in (h, hip)) for h, p, pr in used):
                    return ["node(s) didn't have free ports for the requested pod ports"]
        alloc = (node.get("status") or {}).get("allocatable") or {}
        fails = []
        if len(usage["pods"]) + 1 > parse_quantity(alloc.get("pods", "110")):
            fails.append("Too many pods")
        for r, amount in sorted(want.items()):
            if amount <= 0:
                continue
            cap = parse_quantity(alloc.get(r), milli=r == "cpu") if r in alloc else 0
            if usage["req"].get(r, 0) + amount > cap:
                fails.append(f"Insufficient {r}")
        return fails

    @staticmethod
    def _ready(node: Obj) -> bool:
        for c in (node.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready":
                return c.get("status") == "True"
        return True


def install(manager: ManagerBase, runtime: Runtime) -> None:
    manager.add(Scheduler(manager, runtime))
