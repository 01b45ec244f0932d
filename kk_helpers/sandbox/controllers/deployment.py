"""The Deployment controller (pkg/controller/deployment), step for step.

A Deployment owns ReplicaSets named ``<deployment>-<pod-template-hash>``. The hash
is derived from the pod template (FNV-32a over its canonical JSON, printed in
decimal and mapped through the name alphabet, as ``controller.ComputeHash`` and
``rand.SafeEncodeString`` do), so the same template always gives the same name and
``kubectl rollout undo`` finds the old ReplicaSet again.

Each sync, in the real order: adopt/release ReplicaSets; a deleting Deployment only
gets its status; paused -> Progressing ``DeploymentPaused``; a paused Deployment or
a scaling event is scaled proportionally; otherwise RollingUpdate (new ReplicaSet up
to ``replicas + maxSurge``, old ones down while ``replicas - maxUnavailable`` stay
available; maxSurge rounds up, maxUnavailable down, both 0 -> 1) or Recreate (old
to 0, wait for their pods to go, new up). Revisions (``deployment.kubernetes.io/revision``,
``revision-history``), ``desired-replicas``/``max-replicas`` annotations, history
cleanup beyond ``revisionHistoryLimit``, status counts and the Available/Progressing
conditions with the real reasons and messages; ``ProgressDeadlineExceeded`` is checked
with a timer, not by polling. Events: ``ScalingReplicaSet`` ``Scaled up replica set
<rs> to <n> from <m>`` (the wording since Kubernetes 1.26; a newly created ReplicaSet
says ``Scaled up replica set <rs> to <n>``).
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any, Iterable

from .. import errors
from ..registry import NAME_ALPHABET
from ..resources import DEPLOYMENTS, PODS, REPLICASETS
from ..store import Event, Obj
from .base import Controller, Key
from .replicaset import is_namespace_terminating
from .workloads import (
    POD_TEMPLATE_HASH, controller_ref, is_deleting, is_pod_active, is_pod_available, key_of, meta, now,
    omit_zero, owner_reference, parse_time, phase, selector_is_empty, selector_matches, spec, status, timestamp,
    write_options,
)


REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
#: Deployment annotations never copied to its ReplicaSets.
SKIP_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
})
MAX_REV_HISTORY_CHARS = 2000
MAX_INT32 = 2**31 - 1

# Condition reasons (deploymentutil).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
FAILED_RS_CREATE = "ReplicaSetCreateError"


# -- pod-template-hash -------------------------------------------------------------------------


def _normalized(value: Any) -> Any:
    """Drop nulls and empty maps/lists, as ``apiequality.Semantic.DeepEqual`` treats them alike."""
    if isinstance(value, dict):
        out = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return _normalized(t)


def equal_ignore_hash(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Are two pod templates the same, apart from the pod-template-hash label?"""
    return template_without_hash(a) == template_without_hash(b)


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def pod_template_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    """The ``pod-template-hash`` of a template: same template, same hash (up to 10 characters)."""
    data = json.dumps(template_without_hash(template), sort_keys=True, separators=(",", ":"))
    if collision_count is not None:
        data += f"#{collision_count}"
    digits = str(fnv32a(data.encode()))
    return "".join(NAME_ALPHABET[ord(c) % len(NAME_ALPHABET)] for c in digits)


# -- numbers -----------------------------------------------------------------------------------


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            pct = int(text[:-1])
            exact = pct * total / 100
            return math.ceil(exact) if round_up else math.floor(exact)
        return int(text)
    return 0


def round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def replicas_of(obj: Obj, default: int = 1) -> int:
    value = spec(obj).get("replicas", default)
    return int(value) if value is not None else default


def is_rolling(d: Obj) -> bool:
    return ((spec(d).get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(d: Obj) -> tuple[int, int]:
    ru = (spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas_of(d)
    surge = scaled_value(ru.get("maxSurge", "25%"), desired, True)
    unavailable = scaled_value(ru.get("maxUnavailable", "25%"), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # validation forbids both 0; a 0 maxUnavailable still needs one to proceed
    return surge, unavailable


def max_surge(d: Obj) -> int:
    if not is_rolling(d):
        return 0
    return resolve_fenceposts(d)[0]


def max_unavailable(d: Obj) -> int:
    if not is_rolling(d) or replicas_of(d) == 0:
        return 0
    return min(resolve_fenceposts(d)[1], replicas_of(d))


def revision_of(rs: Obj | None) -> int:
    if rs is None:
        return 0
    try:
        return int((meta(rs).get("annotations") or {}).get(REVISION, "0") or 0)
    except ValueError:
        return 0


def created_key(rs: Obj) -> tuple[float, str]:
    return (parse_time(meta(rs).get("creationTimestamp")) or 0.0, meta(rs).get("name", ""))


def rs_replicas(rs: Obj) -> int:
    return int(spec(rs).get("replicas", 0) or 0)


def active_rss(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and rs_replicas(rs) > 0]


def total_spec(rss: Iterable[Obj | None]) -> int:
    return sum(rs_replicas(rs) for rs in rss if rs is not None)


def total_status(rss: Iterable[Obj | None], field: str) -> int:
    return sum(int(status(rs).get(field) or 0) for rs in rss if rs is not None)


def has_progress_deadline(d: Obj) -> bool:
    pds = spec(d).get("progressDeadlineSeconds")
    return pds is not None and pds != MAX_INT32


def deployment_complete(d: Obj, st: dict[str, Any]) -> bool:
    n = replicas_of(d)
    return (int(st.get("updatedReplicas") or 0) == n and int(st.get("replicas") or 0) == n
            and int(st.get("availableReplicas") or 0) == n
            and int(st.get("observedGeneration") or 0) >= int(meta(d).get("generation") or 0))


def deployment_progressing(d: Obj, new: dict[str, Any]) -> bool:
    old = status(d)

    def n(s: dict[str, Any], f: str) -> int:
        return int(s.get(f) or 0)

    old_old = n(old, "replicas") - n(old, "updatedReplicas")
    new_old = n(new, "replicas") - n(new, "updatedReplicas")
    return (n(new, "updatedReplicas") > n(old, "updatedReplicas") or new_old < old_old
            or n(new, "readyReplicas") > n(old, "readyReplicas")
            or n(new, "availableReplicas") > n(old, "availableReplicas"))


# -- conditions --------------------------------------------------------------------------------


def get_condition(st: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in st.get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


def new_condition(type_: str, cstatus: str, reason: str, message: str, at: float) -> dict[str, Any]:
    ts = timestamp(at)
    return {"type": type_, "status": cstatus, "lastUpdateTime": ts, "lastTransitionTime": ts,
            "reason": reason, "message": message}


def set_condition(st: dict[str, Any], cond: dict[str, Any]) -> None:
    """``deploymentutil.SetDeploymentCondition``: same status and reason -> no change at all."""
    current = get_condition(st, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime")
    st["conditions"] = [c for c in st.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(st: dict[str, Any], type_: str) -> None:
    conds = [c for c in st.get("conditions") or [] if c.get("type") != type_]
    if conds:
        st["conditions"] = conds
    else:
        st.pop("conditions", None)


class DeploymentController(Controller):
    """Reconciles Deployments into ReplicaSets."""

    name = "deployment-controller"
    watches = (DEPLOYMENTS, REPLICASETS, PODS)

    def __init__(self, manager: Any) -> None:
        super().__init__(manager)
        self._templates: dict[tuple[str, str], Any] = {}
        self._live: dict[str, int] | None = None  # ReplicaSet uid -> available pods, for one reconcile

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is DEPLOYMENTS:
            return [key_of(ev.obj)]
        ns = meta(ev.obj).get("namespace", "")
        if ev.rt is REPLICASETS:
            ref = controller_ref(ev.obj) or controller_ref(ev.old)
            if ref is not None:
                return [(ns, ref.get("name", ""))] if ref.get("kind") == "Deployment" else []
            labels = meta(ev.obj).get("labels") or {}
            return [key_of(d) for d in self.store.list(DEPLOYMENTS, ns)
                    if selector_matches(spec(d).get("selector"), labels)]
        # Pods matter only to Recreate, which waits for the old pods to be gone.
        if ev.type != "DELETED" and phase(ev.obj) not in ("Succeeded", "Failed"):
            return []
        ref = controller_ref(ev.obj)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return []
        rs = self.store.get(REPLICASETS, ns, ref.get("name", ""))
        dref = controller_ref(rs)
        if dref is None or dref.get("kind") != "Deployment":
            return []
        d = self.store.get(DEPLOYMENTS, ns, dref.get("name", ""))
        if d is None or is_rolling(d):
            return []
        return [key_of(d)]

    # -- plumbing ------------------------------------------------------------------------------

    def _now(self) -> float:
        return now(self.manager)

    def _update_status(self, d: Obj) -> None:
        """Write ``d``'s status (and annotations, as UpdateStatus allows) and keep its resourceVersion."""
        md = dict(d["metadata"])
        if "annotations" in md:
            md["annotations"] = dict(md["annotations"])
        stored = self.registry.put_status(DEPLOYMENTS, {**d, "metadata": md, "status": copy.deepcopy(d["status"])})
        d["metadata"]["resourceVersion"] = stored["metadata"].get("resourceVersion")

    def _update_rs(self, rs: Obj) -> Obj:
        """Update a ReplicaSet (the registry copies the body); returns the stored object, not to be changed."""
        return self.registry.update(REPLICASETS, meta(rs)["namespace"], meta(rs)["name"], rs, write_options())

    # -- the sync ------------------------------------------------------------------------------

    def reconcile(self, key: Key) -> None:
        self._live = None
        try:
            self._reconcile(key)
        finally:
            self._live = None

    def _reconcile(self, key: Key) -> None:
        ns, name = key
        stored = self.store.get(DEPLOYMENTS, ns, name)
        if stored is None:
            return
        d = copy.deepcopy(stored)
        d.setdefault("status", {})
        if selector_is_empty(spec(d).get("selector")):
            self.record(d, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.",
                        type_="Warning")
            if status(d).get("observedGeneration") != meta(d).get("generation"):
                d["status"]["observedGeneration"] = meta(d).get("generation")
                self._update_status(d)
            return
        rs_list = self.replica_sets_for(d)
        if is_deleting(d):
            new_rs, old_rss = self.get_all_replica_sets(d, rs_list, create=False)
            self.sync_status(old_rss + [new_rs], new_rs, d)
            return
        self.check_paused_conditions(d)
        if spec(d).get("paused"):
            self.sync(d, rs_list)
            return
        if self.is_scaling_event(d, rs_list):
            self.sync(d, rs_list)
            return
        if is_rolling(d):
            self.rollout_rolling(d, rs_list)
        else:
            self.rollout_recreate(d, rs_list)

    def replica_sets_for(self, d: Obj) -> list[Obj]:
        """ReplicaSets ``d`` controls, adopting matching orphans and releasing ones that no longer match."""
        ns, uid = meta(d).get("namespace", ""), meta(d).get("uid")
        selector = spec(d).get("selector")
        owned: list[Obj] = []
        for rs in self.store.list(REPLICASETS, ns):
            ref = controller_ref(rs)
            labels = meta(rs).get("labels") or {}
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if selector_matches(selector, labels):
                    owned.append(rs)  # stored objects are never changed in place; copies are made to write
                else:
                    new = copy.deepcopy(rs)
                    refs = [r for r in meta(rs).get("ownerReferences") or [] if r.get("uid") != uid]
                    new["metadata"]["ownerReferences"] = refs
                    if not refs:
                        new["metadata"].pop("ownerReferences")
                    self._update_rs(new)
            elif not is_deleting(d) and not is_deleting(rs) and selector_matches(selector, labels):
                new = copy.deepcopy(rs)
                new["metadata"]["ownerReferences"] = list(meta(rs).get("ownerReferences") or []) + [owner_reference(d)]
                owned.append(self._update_rs(new))
        return owned

    # -- revisions and the new ReplicaSet -------------------------------------------------------

    def _template_of(self, rs: Obj) -> Any:
        """A ReplicaSet's template without its hash label, memoised per resourceVersion."""
        key = (meta(rs).get("uid", ""), meta(rs).get("resourceVersion", ""))
        cached = self._templates.get(key)
        if cached is None:
            if len(self._templates) > 2000:
                self._templates.clear()
            cached = self._templates[key] = template_without_hash(spec(rs).get("template") or {})
        return cached

    def find_new_rs(self, d: Obj, rs_list: list[Obj]) -> Obj | None:
        wanted = template_without_hash(spec(d).get("template") or {})
        for rs in sorted(rs_list, key=created_key):
            if self._template_of(rs) == wanted:
                return rs
        return None

    def get_all_replica_sets(self, d: Obj, rs_list: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        existing = self.find_new_rs(d, rs_list)
        old = [rs for rs in rs_list if existing is None or meta(rs).get("uid") != meta(existing).get("uid")]
        return self.get_new_rs(d, rs_list, old, create), old

    def set_new_rs_annotations(self, d: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
        """``deploymentutil.SetNewReplicaSetAnnotations``: copy annotations, bump revision, keep history."""
        anns = rs["metadata"].setdefault("annotations", {})
        changed = False
        for k, v in (meta(d).get("annotations") or {}).items():
            if k in SKIP_ANNOTATIONS or anns.get(k) == v:
                continue
            anns[k] = v
            changed = True
        old_revision = anns.get(REVISION)
        try:
            old_int = int(old_revision) if old_revision else 0
        except ValueError:
            old_int = 0
        new_int = int(new_revision)
        if old_int < new_int:
            anns[REVISION] = new_revision
            changed = True
            if old_revision:
                history = anns.get(REVISION_HISTORY, "")
                revisions = history.split(",") if history else []
                revisions.append(old_revision)
                while len(",".join(revisions)) > MAX_REV_HISTORY_CHARS and len(revisions) > 1:
                    revisions.pop(0)
                anns[REVISION_HISTORY] = ",".join(revisions)
        if not exists:
            changed = self.set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d)) or changed
        return changed

    @staticmethod
    def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
        anns = rs["metadata"].setdefault("annotations", {})
        changed = False
        for k, v in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(max_replicas))):
            if anns.get(k) != v:
                anns[k] = v
                changed = True
        return changed

    @staticmethod
    def set_deployment_revision(d: Obj, revision: str | None) -> bool:
        if not revision:
            return False
        anns = d["metadata"].setdefault("annotations", {})
        if anns.get(REVISION) == revision:
            return False
        anns[REVISION] = revision
        return True

    def get_new_rs(self, d: Obj, rs_list: list[Obj], old_rss: list[Obj], create: bool) -> Obj | None:
        existing = self.find_new_rs(d, rs_list)
        new_revision = str(max((revision_of(rs) for rs in old_rss), default=0) + 1)
        at = self._now()
        if existing is not None:
            rs_copy = copy.deepcopy(existing)
            changed = self.set_new_rs_annotations(d, rs_copy, new_revision, exists=True)
            min_ready = int(spec(d).get("minReadySeconds") or 0)
            if changed or int(spec(rs_copy).get("minReadySeconds") or 0) != min_ready:
                rs_copy["spec"]["minReadySeconds"] = min_ready
                updated = self._update_rs(rs_copy)
                self._replace_in(rs_list, updated)
                return updated
            needs = self.set_deployment_revision(d, (meta(rs_copy).get("annotations") or {}).get(REVISION))
            if has_progress_deadline(d) and get_condition(d["status"], "Progressing") is None:
                set_condition(d["status"], new_condition(
                    "Progressing", "True", FOUND_NEW_RS, f'Found new replica set "{meta(rs_copy)["name"]}"', at))
                needs = True
            if needs:
                self._update_status(d)
            return rs_copy
        if not create:
            return None
        template = copy.deepcopy(spec(d).get("template") or {})
        collision = status(d).get("collisionCount")
        hash_ = pod_template_hash(template, collision)
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels[POD_TEMPLATE_HASH] = hash_
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(spec(d).get("selector") or {})
        selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = hash_
        ns, dname = key_of(d)
        new_rs: Obj = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{dname}-{hash_}", "namespace": ns, "labels": dict(labels),
                         "ownerReferences": [owner_reference(d)]},
            "spec": {"replicas": 0, "minReadySeconds": int(spec(d).get("minReadySeconds") or 0),
                     "selector": selector, "template": template},
        }
        count = self.new_rs_new_replicas(d, old_rss + [new_rs], new_rs)
        new_rs["spec"]["replicas"] = count
        self.set_new_rs_annotations(d, new_rs, new_revision, exists=False)
        already_exists = False
        try:
            created = self.registry.create(REPLICASETS, ns, new_rs, write_options())
        except errors.APIError as err:
            if err.code == 409 and err.reason == "AlreadyExists":
                found = self.store.get(REPLICASETS, ns, new_rs["metadata"]["name"])
                if (found is not None and (controller_ref(found) or {}).get("uid") == meta(d).get("uid")
                        and equal_ignore_hash(spec(found).get("template") or {}, spec(d).get("template") or {})):
                    created = found
                    already_exists = True
                else:
                    d["status"]["collisionCount"] = int(collision or 0) + 1
                    self._update_status(d)
                    raise
            elif is_namespace_terminating(err):
                return None
            else:
                msg = f'Failed to create new replica set "{new_rs["metadata"]["name"]}": {err.message}'
                if has_progress_deadline(d):
                    set_condition(d["status"], new_condition("Progressing", "False", FAILED_RS_CREATE, msg, at))
                    try:
                        self._update_status(d)
                    except errors.APIError:
                        pass
                self.record(d, FAILED_RS_CREATE, msg, type_="Warning")
                raise
        if not already_exists and count > 0:
            self.record(d, "ScalingReplicaSet", f"Scaled up replica set {meta(created)['name']} to {count}")
        needs = self.set_deployment_revision(d, new_revision)
        if not already_exists and has_progress_deadline(d):
            cond = new_condition("Progressing", "True", NEW_RS_CREATED,
                                 f'Created new replica set "{meta(created)["name"]}"', at)
            set_condition(d["status"], cond)
            needs = True
        if needs:
            self._update_status(d)
        rs_list.append(created)
        return created

    @staticmethod
    def _replace_in(rss: list[Obj], updated: Obj) -> None:
        for i, rs in enumerate(rss):
            if meta(rs).get("uid") == meta(updated).get("uid"):
                rss[i] = updated

    def new_rs_new_replicas(self, d: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
        """``deploymentutil.NewRSNewReplicas``: how big the new ReplicaSet may be now."""
        if not is_rolling(d):
            return replicas_of(d)
        current = total_spec(all_rss)
        max_total = replicas_of(d) + max_surge(d)
        if current >= max_total:
            return rs_replicas(new_rs)
        scale_up = min(max_total - current, replicas_of(d) - rs_replicas(new_rs))
        return rs_replicas(new_rs) + scale_up

    # -- scaling -------------------------------------------------------------------------------

    def scale_rs(self, rs: Obj, new_scale: int, d: Obj, operation: str) -> tuple[bool, Obj]:
        """``scaleReplicaSet``: resize and refresh the replicas annotations; event on a resize."""
        size_needs = rs_replicas(rs) != new_scale
        desired, max_rep = replicas_of(d), replicas_of(d) + max_surge(d)
        anns = meta(rs).get("annotations") or {}
        ann_needs = anns.get(DESIRED_REPLICAS) != str(desired) or anns.get(MAX_REPLICAS) != str(max_rep)
        if not (size_needs or ann_needs):
            return False, rs
        old_scale = rs_replicas(rs)
        new = copy.deepcopy(rs)
        new["spec"]["replicas"] = new_scale
        self.set_replicas_annotations(new, desired, max_rep)
        updated = self._update_rs(new)
        if size_needs:
            self.record(d, "ScalingReplicaSet",
                        f"Scaled {operation} replica set {meta(updated)['name']} to {new_scale} from {old_scale}")
        return size_needs, updated

    def scale_rs_and_record(self, rs: Obj, new_scale: int, d: Obj) -> tuple[bool, Obj]:
        if rs_replicas(rs) == new_scale:
            return False, rs
        return self.scale_rs(rs, new_scale, d, "up" if rs_replicas(rs) < new_scale else "down")

    def find_active_or_latest(self, new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
        if new_rs is None and not old_rss:
            return None
        old_sorted = sorted(old_rss, key=created_key, reverse=True)
        active = active_rss(old_sorted + [new_rs])
        if not active:
            return new_rs if new_rs is not None else old_sorted[0]
        if len(active) == 1:
            return active[0]
        return None

    @staticmethod
    def is_saturated(d: Obj, rs: Obj | None) -> bool:
        if rs is None:
            return False
        desired = (meta(rs).get("annotations") or {}).get(DESIRED_REPLICAS)
        return (rs_replicas(rs) == replicas_of(d) and desired == str(replicas_of(d))
                and int(status(rs).get("availableReplicas") or 0) == replicas_of(d))

    def scale(self, d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> None:
        """Proportional scaling of every active ReplicaSet (``dc.scale``)."""
        target = self.find_active_or_latest(new_rs, old_rss)
        if target is not None:
            if rs_replicas(target) == replicas_of(d):
                return
            self.scale_rs_and_record(target, replicas_of(d), d)
            return
        if self.is_saturated(d, new_rs):
            for old in active_rss(old_rss):
                self.scale_rs_and_record(old, 0, d)
            return
        if not is_rolling(d):
            return
        all_rss = active_rss(old_rss + [new_rs])
        all_replicas = total_spec(all_rss)
        allowed = replicas_of(d) + max_surge(d) if replicas_of(d) > 0 else 0
        to_add = allowed - all_replicas
        operation = ""
        if to_add > 0:
            all_rss.sort(key=lambda rs: (-rs_replicas(rs), -created_key(rs)[0]))  # bigger, then newer first
            operation = "up"
        elif to_add < 0:
            all_rss.sort(key=lambda rs: (-rs_replicas(rs), created_key(rs)))  # bigger, then older first
            operation = "down"
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rss:
            if to_add != 0:
                proportion = self.get_proportion(rs, d, to_add, added)
                sizes[meta(rs)["name"]] = rs_replicas(rs) + proportion
                added += proportion
            else:
                sizes[meta(rs)["name"]] = rs_replicas(rs)
        for i, rs in enumerate(all_rss):
            name = meta(rs)["name"]
            if i == 0 and to_add != 0:
                sizes[name] = max(sizes[name] + (to_add - added), 0)
            self.scale_rs(rs, sizes[name], d, operation)

    def get_proportion(self, rs: Obj, d: Obj, to_add: int, added: int) -> int:
        if rs_replicas(rs) == 0 or to_add == 0 or to_add == added:
            return 0
        fraction = self.rs_fraction(rs, d)
        allowed = to_add - added
        if to_add > 0:
            return min(fraction, allowed)
        return max(fraction, allowed)

    @staticmethod
    def rs_fraction(rs: Obj, d: Obj) -> int:
        if replicas_of(d) == 0:
            return -rs_replicas(rs)
        deployment_replicas = replicas_of(d) + max_surge(d)
        try:
            annotated = int((meta(rs).get("annotations") or {})[MAX_REPLICAS])
        except (KeyError, ValueError):
            annotated = int(status(d).get("replicas") or 0)
        if annotated == 0:
            return 0
        return round_half_away(rs_replicas(rs) * deployment_replicas / annotated) - rs_replicas(rs)

    def is_scaling_event(self, d: Obj, rs_list: list[Obj]) -> bool:
        new_rs, old_rss = self.get_all_replica_sets(d, rs_list, create=False)
        for rs in active_rss(old_rss + [new_rs]):
            desired = (meta(rs).get("annotations") or {}).get(DESIRED_REPLICAS)
            if desired is None:
                continue
            try:
                if int(desired) != replicas_of(d):
                    return True
            except ValueError:
                continue
        return False

    def sync(self, d: Obj, rs_list: list[Obj]) -> None:
        """Scale (a paused Deployment or a scaling event), clean up if paused, write status."""
        new_rs, old_rss = self.get_all_replica_sets(d, rs_list, create=False)
        self.scale(d, new_rs, old_rss)
        rs_list = self.replica_sets_for(d)
        new_rs, old_rss = self.get_all_replica_sets(d, rs_list, create=False)
        if spec(d).get("paused"):
            self.cleanup(old_rss, d)
        self.sync_status(old_rss + [new_rs], new_rs, d)

    def check_paused_conditions(self, d: Obj) -> None:
        if not has_progress_deadline(d):
            return
        cond = get_condition(d["status"], "Progressing")
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        paused_exists = cond is not None and cond.get("reason") == PAUSED
        at = self._now()
        if spec(d).get("paused") and not paused_exists:
            set_condition(d["status"], new_condition("Progressing", "Unknown", PAUSED, "Deployment is paused", at))
        elif not spec(d).get("paused") and paused_exists:
            set_condition(d["status"], new_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed", at))
        else:
            return
        self._update_status(d)

    # -- history -------------------------------------------------------------------------------

    def cleanup(self, old_rss: list[Obj], d: Obj) -> None:
        """Delete the oldest scaled-down ReplicaSets beyond ``revisionHistoryLimit``."""
        limit = spec(d).get("revisionHistoryLimit")
        if limit is None:
            return
        cleanable = [rs for rs in old_rss if not is_deleting(rs)]
        diff = len(cleanable) - int(limit)
        if diff <= 0:
            return
        cleanable.sort(key=lambda rs: (revision_of(rs), created_key(rs)))
        for rs in cleanable[:diff]:
            if (int(status(rs).get("replicas") or 0) != 0 or rs_replicas(rs) != 0
                    or int(meta(rs).get("generation") or 0) > int(status(rs).get("observedGeneration") or 0)):
                continue
            try:
                self.registry.delete(REPLICASETS, meta(rs)["namespace"], meta(rs)["name"])
            except errors.APIError as err:
                if err.code != 404:
                    raise

    # -- rolling update ------------------------------------------------------------------------

    def rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old_rss = self.get_all_replica_sets(d, rs_list, create=True)
        if new_rs is None:
            return
        all_rss = old_rss + [new_rs]
        scaled_up, new_rs = self.reconcile_new_rs(all_rss, new_rs, d)
        if scaled_up:
            self.sync_rollout_status(old_rss + [new_rs], new_rs, d)
            return
        scaled_down, old_rss = self.reconcile_old_rss(old_rss, new_rs, d)
        if scaled_down:
            self.sync_rollout_status(old_rss + [new_rs], new_rs, d)
            return
        if deployment_complete(d, d["status"]):
            self.cleanup(old_rss, d)
        self.sync_rollout_status(old_rss + [new_rs], new_rs, d)

    def reconcile_new_rs(self, all_rss: list[Obj], new_rs: Obj, d: Obj) -> tuple[bool, Obj]:
        if rs_replicas(new_rs) == replicas_of(d):
            return False, new_rs
        if rs_replicas(new_rs) > replicas_of(d):
            return self.scale_rs_and_record(new_rs, replicas_of(d), d)
        count = self.new_rs_new_replicas(d, all_rss, new_rs)
        return self.scale_rs_and_record(new_rs, count, d)

    def _available(self, rs: Obj) -> int:
        """Available pods of ``rs`` that will still be there once it has caught up with its spec.

        The lesser of its status, its live available pods and its spec: a ReplicaSet being
        scaled down deletes unavailable pods first, so this never overestimates, even before
        the ReplicaSet controller has run.
        """
        if self._live is None:
            # one pass over the namespace's pods per reconcile (pods do not change during one)
            self._live = {}
            at = self._now()
            min_ready = int(spec(rs).get("minReadySeconds") or 0)
            for p in self.store.list(PODS, meta(rs).get("namespace", "")):
                ref = controller_ref(p)
                if ref is not None and is_pod_active(p) and is_pod_available(p, min_ready, at):
                    self._live[ref.get("uid", "")] = self._live.get(ref.get("uid", ""), 0) + 1
        live = self._live.get(meta(rs).get("uid", ""), 0)
        return min(int(status(rs).get("availableReplicas") or 0), live, rs_replicas(rs))

    def reconcile_old_rss(self, old_rss: list[Obj], new_rs: Obj, d: Obj) -> tuple[bool, list[Obj]]:
        if total_spec(old_rss) == 0:
            return False, old_rss
        all_pods = total_spec(old_rss + [new_rs])
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = rs_replicas(new_rs) - self._available(new_rs)
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False, old_rss
        old_rss, cleaned = self.cleanup_unhealthy(old_rss, d, max_scaled_down)
        scaled = self.scale_down_old_for_rolling(old_rss + [new_rs], old_rss, d)
        return cleaned + scaled > 0, old_rss

    def cleanup_unhealthy(self, old_rss: list[Obj], d: Obj, max_cleanup: int) -> tuple[list[Obj], int]:
        total = 0
        result: list[Obj] = []
        for rs in sorted(old_rss, key=created_key):
            available = self._available(rs)
            if total >= max_cleanup or rs_replicas(rs) == 0 or rs_replicas(rs) == available:
                result.append(rs)
                continue
            count = min(max_cleanup - total, rs_replicas(rs) - available)
            _, rs = self.scale_rs_and_record(rs, rs_replicas(rs) - count, d)
            total += count
            result.append(rs)
        return result, total

    def scale_down_old_for_rolling(self, all_rss: list[Obj], old_rss: list[Obj], d: Obj) -> int:
        min_available = replicas_of(d) - max_unavailable(d)
        available = sum(self._available(rs) for rs in all_rss)
        if available <= min_available:
            return 0
        to_scale = available - min_available
        total = 0
        for rs in sorted(old_rss, key=created_key):
            if total >= to_scale:
                break
            if rs_replicas(rs) == 0:
                continue
            count = min(rs_replicas(rs), to_scale - total)
            self.scale_rs_and_record(rs, rs_replicas(rs) - count, d)
            total += count
        return total

    # -- recreate ------------------------------------------------------------------------------

    def rollout_recreate(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old_rss = self.get_all_replica_sets(d, rs_list, create=False)
        scaled_down = False
        updated_old: list[Obj] = []
        for rs in old_rss:
            if rs_replicas(rs) > 0:
                changed, rs = self.scale_rs_and_record(rs, 0, d)
                scaled_down = scaled_down or changed
            updated_old.append(rs)
        old_rss = updated_old
        if scaled_down:
            self.sync_rollout_status(old_rss + [new_rs], new_rs, d)
            return
        if self.old_pods_running(old_rss):
            self.sync_rollout_status(old_rss + [new_rs], new_rs, d)
            return
        if new_rs is None:
            new_rs, old_rss = self.get_all_replica_sets(d, rs_list, create=True)
            if new_rs is None:
                return
        _, new_rs = self.scale_rs_and_record(new_rs, replicas_of(d), d)
        if deployment_complete(d, d["status"]):
            self.cleanup(old_rss, d)
        self.sync_rollout_status(old_rss + [new_rs], new_rs, d)

    def old_pods_running(self, old_rss: list[Obj]) -> bool:
        if total_status(old_rss, "replicas") > 0:
            return True
        uids = {meta(rs).get("uid") for rs in old_rss}
        if not uids:
            return False
        ns = meta(old_rss[0]).get("namespace", "")
        return any((controller_ref(p) or {}).get("uid") in uids and phase(p) not in ("Succeeded", "Failed")
                   for p in self.store.list(PODS, ns))

    # -- status --------------------------------------------------------------------------------

    def calculate_status(self, all_rss: list[Obj | None], new_rs: Obj | None, d: Obj) -> dict[str, Any]:
        rss = [rs for rs in all_rss if rs is not None]
        available = total_status(rss, "availableReplicas")
        unavailable = max(total_spec(rss) - available, 0)
        st: dict[str, Any] = {
            "observedGeneration": meta(d).get("generation"),
            "replicas": total_status(rss, "replicas"),
            "updatedReplicas": total_status([new_rs], "replicas"),
            "readyReplicas": total_status(rss, "readyReplicas"),
            "availableReplicas": available,
            "unavailableReplicas": unavailable,
        }
        st = omit_zero(st)
        if status(d).get("collisionCount") is not None:
            st["collisionCount"] = status(d)["collisionCount"]
        if status(d).get("conditions"):
            st["conditions"] = copy.deepcopy(status(d)["conditions"])
        at = self._now()
        if available >= replicas_of(d) - max_unavailable(d):
            set_condition(st, new_condition("Available", "True", "MinimumReplicasAvailable",
                                            "Deployment has minimum availability.", at))
        else:
            set_condition(st, new_condition("Available", "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability.", at))
        return st

    def sync_status(self, all_rss: list[Obj | None], new_rs: Obj | None, d: Obj) -> None:
        new_status = self.calculate_status(all_rss, new_rs, d)
        if new_status == status(d):
            return
        d["status"] = new_status
        self._update_status(d)

    def sync_rollout_status(self, all_rss: list[Obj | None], new_rs: Obj | None, d: Obj) -> None:
        """``syncRolloutStatus``: counts, Available, and the Progressing condition with its deadline."""
        new_status = self.calculate_status(all_rss, new_rs, d)
        at = self._now()
        if not has_progress_deadline(d):
            remove_condition(new_status, "Progressing")
        current = get_condition(new_status, "Progressing")
        complete_already = (int(new_status.get("replicas") or 0) == int(new_status.get("updatedReplicas") or 0)
                            and current is not None and current.get("reason") == NEW_RS_AVAILABLE)
        what = f'ReplicaSet "{meta(new_rs)["name"]}"' if new_rs is not None else f'Deployment "{meta(d)["name"]}"'
        if has_progress_deadline(d) and not complete_already:
            if deployment_complete(d, new_status):
                set_condition(new_status, new_condition("Progressing", "True", NEW_RS_AVAILABLE,
                                                        f"{what} has successfully progressed.", at))
            elif deployment_progressing(d, new_status):
                cond = new_condition("Progressing", "True", RS_UPDATED, f"{what} is progressing.", at)
                if current is not None and current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(new_status, "Progressing")
                set_condition(new_status, cond)
            elif self.timed_out(d, new_status, at):
                set_condition(new_status, new_condition("Progressing", "False", TIMED_OUT,
                                                        f"{what} has timed out progressing.", at))
        failure = None
        candidates = ([new_rs] if new_rs is not None else []) + [
            rs for rs in all_rss if rs is not None and rs is not new_rs]
        for rs in candidates:
            c = get_condition(status(rs), "ReplicaFailure")
            if c is not None:
                failure = c
                break
        if failure is not None:
            set_condition(new_status, {"type": "ReplicaFailure", "status": failure.get("status", "True"),
                                       "lastUpdateTime": failure.get("lastTransitionTime") or timestamp(at),
                                       "lastTransitionTime": failure.get("lastTransitionTime") or timestamp(at),
                                       "reason": failure.get("reason", "FailedCreate"),
                                       "message": failure.get("message", "")})
        else:
            remove_condition(new_status, "ReplicaFailure")
        if new_status == status(d):
            self.requeue_stuck(d, new_status, at)
            return
        d["status"] = new_status
        self._update_status(d)
        self.requeue_stuck(d, new_status, at)

    @staticmethod
    def timed_out(d: Obj, st: dict[str, Any], at: float) -> bool:
        if not has_progress_deadline(d):
            return False
        cond = get_condition(st, "Progressing")
        if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
            return False
        if cond.get("reason") == TIMED_OUT:
            return True
        since = parse_time(cond.get("lastUpdateTime"))
        return since is not None and since + int(spec(d)["progressDeadlineSeconds"]) < at

    def requeue_stuck(self, d: Obj, st: dict[str, Any], at: float) -> None:
        """Check the progress deadline again when it would pass (no polling)."""
        cond = get_condition(st, "Progressing")
        if (not has_progress_deadline(d) or cond is None or deployment_complete(d, st)
                or cond.get("reason") in (TIMED_OUT, NEW_RS_AVAILABLE)):
            return
        since = parse_time(cond.get("lastUpdateTime"))
        if since is None:
            return
        after = since + int(spec(d)["progressDeadlineSeconds"]) - at
        self.requeue_after(key_of(d), max(after, 0.0) + 1.0)
