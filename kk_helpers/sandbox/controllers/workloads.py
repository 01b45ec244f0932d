"""The workload controllers of kube-controller-manager, and what they share.

``install(manager)`` adds, as kube-controller-manager runs them:

* :mod:`.deployment` - Deployments roll ReplicaSets (RollingUpdate, Recreate, rollback, history);
* :mod:`.replicaset` - ReplicaSets keep N pods, self-heal and scale down the way the real one ranks pods;
* :mod:`.job` and :mod:`.cronjob` - Jobs run pods to completion, CronJobs start Jobs on a schedule;
* :mod:`.gc` - the garbage collector (ownerReferences: background, foreground, orphan);
* :mod:`.namespace` - namespace deletion empties the namespace, then drops the ``kubernetes`` finalizer;
* :mod:`.serviceaccount` - a ``default`` ServiceAccount in every namespace;
* :mod:`.rootca` - the ``kube-root-ca.crt`` ConfigMap (the sandbox CA) in every namespace.

The helpers below are the small vocabulary those modules share: owner references, label
selectors, pod states and timestamps. Controllers read the store directly; the store is
the one source of truth in this process (there is no informer cache that can lag), so a
controller that counts pods right before it creates some never double-counts, and a
burst of events collapses into one reconcile in the work queue.

Time: every controller asks :func:`now` for the current time, which is ``manager.clock``
when a test sets one (``sb.sandbox.manager.clock = lambda: t``) and the registry's clock
otherwise, so CronJob schedules and deadlines can be tested without sleeping.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Iterable

from ..registry import WriteOptions, now_rfc3339
from ..store import Obj

#: Label the Deployment controller adds to its ReplicaSets and their pods.
POD_TEMPLATE_HASH = "pod-template-hash"
#: Finalizer the Job controller keeps on its pods until it has counted them.
JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
#: Field manager recorded on every write made by these controllers.
FIELD_MANAGER = "kube-controller-manager"

TERMINAL_PHASES = ("Succeeded", "Failed")


def install(manager: Any) -> None:
    """Add the workload controllers to ``manager`` (see the module docstring)."""
    from .cronjob import CronJobController
    from .deployment import DeploymentController
    from .gc import GarbageCollector
    from .job import JobController
    from .namespace import NamespaceController
    from .replicaset import ReplicaSetController
    from .rootca import RootCAPublisher
    from .serviceaccount import ServiceAccountController

    for cls in (DeploymentController, ReplicaSetController, JobController, CronJobController,
                GarbageCollector, NamespaceController, ServiceAccountController, RootCAPublisher):
        manager.add(cls(manager))


# -- writes ------------------------------------------------------------------------------------


def write_options() -> WriteOptions:
    """Options for a controller's write: its field manager, no strict field checks."""
    return WriteOptions(field_manager=FIELD_MANAGER, field_validation="Ignore")


# -- time --------------------------------------------------------------------------------------


def now(manager: Any) -> float:
    """Seconds since the epoch, from ``manager.clock`` if a test injected one."""
    clock = getattr(manager, "clock", None) or manager.registry.clock
    return float(clock())


def timestamp(ts: float) -> str:
    """A Kubernetes timestamp (RFC 3339, seconds, UTC)."""
    return now_rfc3339(ts)


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch for an RFC 3339 timestamp; None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


# -- object metadata ---------------------------------------------------------------------------


def meta(obj: Obj) -> dict[str, Any]:
    return obj.get("metadata") or {}


def spec(obj: Obj) -> dict[str, Any]:
    return obj.get("spec") or {}


def status(obj: Obj) -> dict[str, Any]:
    return obj.get("status") or {}


def key_of(obj: Obj) -> tuple[str, str]:
    md = meta(obj)
    return (md.get("namespace", ""), md.get("name", ""))


def is_deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def controller_ref(obj: Obj | None) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``, if any."""
    if obj is None:
        return None
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == meta(owner).get("uid")


def owner_reference(owner: Obj) -> dict[str, Any]:
    """A controller reference to ``owner``, as ``metav1.NewControllerRef`` makes it."""
    md = meta(owner)
    return {"apiVersion": owner.get("apiVersion"), "kind": owner.get("kind"), "name": md.get("name"),
            "uid": md.get("uid"), "controller": True, "blockOwnerDeletion": True}


def condition(obj_status: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in obj_status.get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


# -- label selectors ---------------------------------------------------------------------------


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """Does a ``LabelSelector`` (matchLabels, matchExpressions) select these labels?

    A missing selector selects nothing; an empty one (``{}``) selects everything, as
    ``metav1.LabelSelectorAsSelector`` has it.
    """
    if selector is None:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            if key not in labels or labels[key] not in values:
                return False
        elif op == "NotIn":
            if key in labels and labels[key] in values:
                return False
        elif op == "Exists":
            if key not in labels:
                return False
        elif op == "DoesNotExist":
            if key in labels:
                return False
        else:
            return False
    return True


def selector_is_empty(selector: dict[str, Any] | None) -> bool:
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))


# -- pods --------------------------------------------------------------------------------------


def phase(pod: Obj) -> str:
    return status(pod).get("phase") or "Pending"


def is_pod_active(pod: Obj) -> bool:
    """Counted by controllers: not finished and not being deleted (``controller.IsPodActive``)."""
    return phase(pod) not in TERMINAL_PHASES and not is_deleting(pod)


def is_pod_terminating(pod: Obj) -> bool:
    return is_deleting(pod) and phase(pod) not in TERMINAL_PHASES


def is_pod_ready(pod: Obj) -> bool:
    c = condition(status(pod), "Ready")
    return c is not None and c.get("status") == "True"


def ready_since(pod: Obj) -> float | None:
    c = condition(status(pod), "Ready")
    if c is None or c.get("status") != "True":
        return None
    return parse_time(c.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, at: float) -> bool:
    """Ready for at least ``min_ready_seconds`` (``podutil.IsPodAvailable``)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < at


def seconds_until_available(pod: Obj, min_ready_seconds: int, at: float) -> float | None:
    """How long until a ready pod counts as available (None if not ready)."""
    since = ready_since(pod)
    if since is None:
        return None
    return max(0.0, since + min_ready_seconds - at)


def restart_count(pod: Obj) -> int:
    return max((int(cs.get("restartCount") or 0) for cs in status(pod).get("containerStatuses") or []), default=0)


def owned_pods(pods: Iterable[Obj], owner_uid: str) -> list[Obj]:
    return [p for p in pods if (controller_ref(p) or {}).get("uid") == owner_uid]


def pod_from_template(template: dict[str, Any], owner: Obj, generate_name: str) -> Obj:
    """A pod for ``owner`` from a pod template (``controller.GetPodFromTemplate``)."""
    import copy

    tmeta = template.get("metadata") or {}
    md: dict[str, Any] = {"generateName": generate_name, "ownerReferences": [owner_reference(owner)]}
    if tmeta.get("labels"):
        md["labels"] = dict(tmeta["labels"])
    if tmeta.get("annotations"):
        md["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        md["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": copy.deepcopy(template.get("spec") or {})}


# -- ranking pods for removal (controller.ActivePodsWithRanks) ---------------------------------

_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: list[Obj], ranks: dict[str, int] | None = None) -> list[Obj]:
    """Pods sorted so the ones to delete first come first, as the ReplicaSet controller ranks them.

    Unassigned before assigned; Pending before Unknown before Running; not ready before
    ready; lower ``controller.kubernetes.io/pod-deletion-cost`` first; more pods of the
    same owner on the node first; ready for less time first; more restarts first; newer
    before older.
    """
    ranks = ranks or {}

    def cost(pod: Obj) -> int:
        try:
            return int((meta(pod).get("annotations") or {}).get("controller.kubernetes.io/pod-deletion-cost", 0))
        except (TypeError, ValueError):
            return 0

    def key(pod: Obj) -> tuple[Any, ...]:
        md = meta(pod)
        ready = is_pod_ready(pod)
        since = ready_since(pod) if ready else None
        created = parse_time(md.get("creationTimestamp"))
        return (
            1 if spec(pod).get("nodeName") else 0,
            _PHASE_RANK.get(phase(pod), 3),
            1 if ready else 0,
            cost(pod),
            -ranks.get(md.get("uid", ""), 0),
            -(since if since is not None else math.inf),
            -restart_count(pod),
            -(created if created is not None else math.inf),
            md.get("name", ""),
        )

    return sorted(pods, key=key)


def omit_zero(d: dict[str, Any], *keep: str) -> dict[str, Any]:
    """Drop zero and empty values the way Go's ``omitempty`` does (except keys in ``keep``)."""
    return {k: v for k, v in d.items() if k in keep or v not in (0, None, "", [], {})}


__all__ = [
    "install", "now", "timestamp", "parse_time", "write_options", "selector_matches", "controller_ref",
    "owner_reference", "is_pod_active", "is_pod_ready", "is_pod_available", "deletion_order",
    "pod_from_template", "POD_TEMPLATE_HASH", "JOB_TRACKING_FINALIZER",
]
