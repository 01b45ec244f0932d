"""The Job controller (pkg/controller/job) and the TTL-after-finished controller.

Runs pods named ``<job>-<5 random>`` (``<job>-<index>-<5 random>`` for Indexed
Jobs) until ``completions`` succeed, never more than ``parallelism`` at once.
Pods carry the template's labels (``batch.kubernetes.io/job-name``, ``job-name``,
``batch.kubernetes.io/controller-uid``, ``controller-uid``), a controller
ownerReference and the ``batch.kubernetes.io/job-tracking`` finalizer, which the
controller removes once it has recorded the pod in ``status.uncountedTerminatedPods``
and then moved it into the ``succeeded``/``failed`` counters (the real two-step
tracking, so a restart never counts a pod twice or loses one).

Failures back off exponentially before the replacement is created; more than
``backoffLimit`` failures (or restarts, for ``restartPolicy: OnFailure``) give the
interim ``FailureTarget`` then ``Failed`` condition ``BackoffLimitExceeded``
``Job has reached the specified backoff limit``, and active pods are deleted;
``activeDeadlineSeconds`` gives ``DeadlineExceeded`` ``Job was active longer than
specified deadline`` (checked by a timer). Success gives ``SuccessCriteriaMet`` then
``Complete``, both ``CompletionsReached`` ``Reached expected number of succeeded pods``
(Kubernetes 1.31+). ``suspend`` deletes active pods and sets ``Suspended``; resuming
resets ``startTime``. ``ttlSecondsAfterFinished`` deletes the finished Job (foreground).
Events: ``SuccessfulCreate`` ``Created pod: <name>``, ``SuccessfulDelete``
``Deleted pod: <name>``, ``Completed`` ``Job completed``, and the failure reason.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from .. import errors
from ..resources import JOBS, PODS
from ..store import Event, Obj
from .base import Controller, Key
from .replicaset import is_namespace_terminating
from .workloads import (
    JOB_TRACKING_FINALIZER, controller_ref, deletion_order, is_deleting, is_pod_active, is_pod_ready, key_of, meta,
    now, omit_zero, parse_time, phase, pod_from_template, spec, status, timestamp, write_options,
)


COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
MAX_PODS_PER_SYNC = 500
REACHED = "Reached expected number of succeeded pods"


def has_tracking_finalizer(pod: Obj) -> bool:
    return JOB_TRACKING_FINALIZER in (meta(pod).get("finalizers") or [])


def is_indexed(job: Obj) -> bool:
    return spec(job).get("completionMode") == "Indexed"


def only_replace_failed(job: Obj) -> bool:
    return spec(job).get("podReplacementPolicy") == "Failed" or spec(job).get("podFailurePolicy") is not None


def is_pod_failed(pod: Obj, job: Obj) -> bool:
    """Failed, or (unless only Failed pods count) deleted before it succeeded."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return is_deleting(pod) and phase(pod) != "Succeeded"


def has_backoff_limit_per_index(job: Obj) -> bool:
    return is_indexed(job) and spec(job).get("backoffLimitPerIndex") is not None


def _matching_exit_code(pod: Obj, requirement: dict[str, Any]) -> dict[str, Any] | None:
    """The first terminated container (app containers, then init) whose non-zero exit code meets ``requirement``."""
    values = {int(v) for v in requirement.get("values") or []}
    operator = requirement.get("operator")
    wanted = requirement.get("containerName")
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status(pod).get(key) or []:
            term = (cs.get("state") or {}).get("terminated")
            if term is None or (wanted is not None and cs.get("name") != wanted):
                continue
            code = int(term.get("exitCode") or 0)
            if code == 0:
                continue
            if (operator == "In" and code in values) or (operator == "NotIn" and code not in values):
                return {"name": cs.get("name"), "exitCode": code}
    return None


def _matching_condition(pod: Obj, patterns: list[dict[str, Any]]) -> dict[str, Any] | None:
    for cond in status(pod).get("conditions") or []:
        for pattern in patterns:
            if cond.get("type") == pattern.get("type") and cond.get("status") == (pattern.get("status") or "True"):
                return cond
    return None


def match_pod_failure_policy(job: Obj, pod: Obj) -> tuple[str | None, bool, str | None]:
    """(FailJob message, whether the failure counts, the matched action) for a failed pod (``matchPodFailurePolicy``).

    Rules are tried in order; the first whose ``onExitCodes`` or ``onPodConditions`` matches decides.
    ``Ignore`` does not count the failure (towards ``backoffLimit`` nor ``backoffLimitPerIndex``);
    ``FailJob`` fails the Job with the rule's message; ``FailIndex`` fails the pod's index; ``Count`` is the default.
    """
    policy = spec(job).get("podFailurePolicy")
    if not policy:
        return None, True, None
    md = meta(pod)
    for index, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            cs = _matching_exit_code(pod, rule["onExitCodes"])
            if cs is None:
                continue
            message = (f"Container {cs['name']} for pod {md.get('namespace')}/{md.get('name')} failed with exit code "
                       f"{cs['exitCode']} matching {action} rule at index {index}")
        elif rule.get("onPodConditions") is not None:
            cond = _matching_condition(pod, rule["onPodConditions"])
            if cond is None:
                continue
            message = (f"Pod {md.get('namespace')}/{md.get('name')} has condition {cond.get('type')} matching "
                       f"{action} rule at index {index}")
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action in ("FailIndex", "Count"):
            return None, True, action
        if action == "FailJob":
            return message, True, action
    return None, True, None


def index_failure_counts(pod: Obj) -> tuple[int, int]:
    """(failures, ignored failures) of the pod's index before it, from its annotations (0 when unreadable)."""
    annotations = meta(pod).get("annotations") or {}
    out = []
    for key in (INDEX_FAILURE_COUNT, INDEX_IGNORED_FAILURE_COUNT):
        try:
            value = int(annotations.get(key, "0"))
        except ValueError:
            value = 0
        out.append(value if 0 <= value <= 2 ** 31 - 1 else 0)
    return out[0], out[1]


def is_index_failed(job: Obj, pod: Obj) -> bool:
    """Does this failed pod use up its index: a FailIndex rule, or a counted failure beyond backoffLimitPerIndex?"""
    if not is_pod_failed(pod, job):
        return False
    _, counts, action = match_pod_failure_policy(job, pod)
    if action == "FailIndex":
        return True
    return counts and index_failure_counts(pod)[0] >= int(spec(job).get("backoffLimitPerIndex") or 0)


def finished_condition(job: Obj) -> dict[str, Any] | None:
    for c in status(job).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return c
    return None


def find_condition(st: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in st.get("conditions") or []:
        if c.get("type") == type_ and c.get("status") == "True":
            return c
    return None


def completion_index(pod: Obj) -> int | None:
    value = (meta(pod).get("annotations") or {}).get(COMPLETION_INDEX)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def format_indexes(indexes: Iterable[int]) -> str:
    """``1,3-5,7`` (and ``1,2`` for a pair): indexes as the controller writes them."""
    out: list[str] = []
    items = sorted(set(indexes))
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1] == items[j] + 1:
            j += 1
        if i == j:
            out.append(str(items[i]))
        elif j == i + 1:
            out.append(f"{items[i]},{items[j]}")  # two in a row are listed, not a range
        else:
            out.append(f"{items[i]}-{items[j]}")
        i = j + 1
    return ",".join(out)


def parse_indexes(text: str | None) -> set[int]:
    result: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            result.update(range(int(a), int(b) + 1))
        else:
            result.add(int(part))
    return result


class JobController(Controller):
    """Reconciles Jobs against their pods; also deletes finished Jobs whose TTL expired."""

    name = "job-controller"
    watches = (JOBS, PODS)

    def __init__(self, manager: Any) -> None:
        super().__init__(manager)
        # job uid -> (failures since the last success, time of the last failure)
        self._backoff: dict[str, tuple[int, float]] = {}
        # job uid -> {pod uid: "succeeded" | "failed"}: pods removed while still holding the finalizer
        self._vanished: dict[str, dict[str, str]] = {}

    def on_event(self, ev: Event) -> None:
        if ev.rt is PODS and ev.type == "DELETED":
            pod = ev.old or ev.obj
            ref = controller_ref(pod)
            if ref is not None and ref.get("kind") == "Job" and has_tracking_finalizer(pod):
                outcome = "succeeded" if phase(pod) == "Succeeded" else "failed"
                self._vanished.setdefault(ref.get("uid", ""), {})[meta(pod).get("uid", "")] = outcome
        super().on_event(ev)

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is JOBS:
            return [key_of(ev.obj)]
        ref = controller_ref(ev.obj) or controller_ref(ev.old)
        if ref is not None and ref.get("kind") == "Job":
            return [(meta(ev.obj).get("namespace", ""), ref.get("name", ""))]
        return []

    async def resync(self) -> None:
        await super().resync()
        for pod in self.store.list(PODS):
            ref = controller_ref(pod)
            if ref is not None and ref.get("kind") == "Job" and has_tracking_finalizer(pod):
                self.enqueue((meta(pod).get("namespace", ""), ref.get("name", "")))

    def _now(self) -> float:
        return now(self.manager)

    # -- reconcile -----------------------------------------------------------------------------

    def reconcile(self, key: Key) -> None:
        ns, name = key
        job = self.store.get(JOBS, ns, name)
        uid = meta(job).get("uid") if job is not None else None
        pods = self.store.list(PODS, ns)
        # Pods of a Job that is gone (or was replaced by another of the same name) lose the finalizer.
        for pod in pods:
            ref = controller_ref(pod)
            if (ref is not None and ref.get("kind") == "Job" and ref.get("name") == name
                    and ref.get("uid") != uid and has_tracking_finalizer(pod)):
                self._remove_finalizer(pod)
        if job is None:
            return
        owned = [p for p in pods if (controller_ref(p) or {}).get("uid") == uid]
        if finished_condition(job) is not None:
            for pod in owned:
                if has_tracking_finalizer(pod):
                    self._remove_finalizer(pod)
            self._vanished.pop(uid or "", None)
            self._backoff.pop(uid or "", None)
            self.handle_ttl(job)
            return
        self.sync_job(copy.deepcopy(job), owned)

    def sync_job(self, job: Obj, pods: list[Obj]) -> None:
        at = self._now()
        uid = meta(job)["uid"]
        st = job.setdefault("status", {})
        uncounted = st.get("uncountedTerminatedPods") or {}
        unc_succeeded = list(uncounted.get("succeeded") or [])
        unc_failed = list(uncounted.get("failed") or [])
        counted = set(unc_succeeded) | set(unc_failed)
        vanished = {u: o for u, o in self._vanished.get(uid, {}).items() if u not in counted}
        suspended = bool(spec(job).get("suspend"))

        active_pods = [p for p in pods if is_pod_active(p)]
        terminating = sum(1 for p in pods if is_deleting(p) and phase(p) not in ("Succeeded", "Failed"))
        new_succeeded = [p for p in pods if has_tracking_finalizer(p) and meta(p)["uid"] not in counted
                         and phase(p) == "Succeeded"]
        new_failed = [p for p in pods if has_tracking_finalizer(p) and meta(p)["uid"] not in counted
                      and is_pod_failed(p, job)]
        vanished_s = sum(1 for o in vanished.values() if o == "succeeded")
        vanished_f = len(vanished) - vanished_s
        counted_failed = [p for p in new_failed if match_pod_failure_policy(job, p)[1]]
        succeeded = int(st.get("succeeded") or 0) + len(new_succeeded) + len(unc_succeeded) + vanished_s
        failed = int(st.get("failed") or 0) + len(counted_failed) + len(unc_failed) + vanished_f
        self._record_backoff(uid, new_succeeded, new_failed, vanished_f, at)

        if st.get("startTime") is None and not suspended:
            st["startTime"] = timestamp(at)

        succeeded_indexes: set[int] = set()
        failed_indexes: set[int] | None = None
        if is_indexed(job):
            completions = int(spec(job).get("completions") or 0)
            succeeded_indexes = parse_indexes(st.get("completedIndexes"))
            for p in pods:
                ix = completion_index(p)
                if phase(p) == "Succeeded" and ix is not None and 0 <= ix < completions:
                    succeeded_indexes.add(ix)
            succeeded = len(succeeded_indexes)
            if has_backoff_limit_per_index(job):
                failed_indexes = self.failed_indexes(job, pods)

        backoff_limit = int(spec(job).get("backoffLimit", 6) if spec(job).get("backoffLimit") is not None else 6)
        finished: dict[str, Any] | None = None
        target = find_condition(st, "SuccessCriteriaMet")
        if target is not None:
            finished = {"type": "SuccessCriteriaMet", "reason": target.get("reason", ""),
                        "message": target.get("message", ""), "new": False}
        else:
            target = find_condition(st, "FailureTarget")
            if target is not None:
                finished = {"type": "FailureTarget", "reason": target.get("reason", ""),
                            "message": target.get("message", ""), "new": False}
        if finished is None:
            message = self.fail_job_message(job, pods)
            if message is not None:
                finished = {"type": "FailureTarget", "reason": "PodFailurePolicy", "message": message, "new": True}
        if finished is None:
            if failed > backoff_limit or self.past_backoff_limit_on_failure(job, pods, backoff_limit):
                finished = {"type": "FailureTarget", "reason": "BackoffLimitExceeded",
                            "message": "Job has reached the specified backoff limit", "new": True}
            elif self.past_active_deadline(job, st, at):
                finished = {"type": "FailureTarget", "reason": "DeadlineExceeded",
                            "message": "Job was active longer than specified deadline", "new": True}
            elif spec(job).get("activeDeadlineSeconds") is not None and not suspended:
                started = parse_time(st.get("startTime")) or at
                self.requeue_after(key_of(job), started + int(spec(job)["activeDeadlineSeconds"]) - at + 0.5)
        if finished is None and failed_indexes is not None:
            max_failed = spec(job).get("maxFailedIndexes")
            if max_failed is not None and len(failed_indexes) > int(max_failed):
                finished = {"type": "FailureTarget", "reason": "MaxFailedIndexesExceeded",
                            "message": "Job has exceeded the specified maximal number of failed indexes", "new": True}
            elif failed_indexes and len(failed_indexes) + len(succeeded_indexes) >= int(spec(job)["completions"]):
                finished = {"type": "FailureTarget", "reason": "FailedIndexes", "message": "Job has failed indexes",
                            "new": True}

        ready = sum(1 for p in active_pods if is_pod_ready(p))
        active = len(active_pods)
        if finished is not None:
            if finished["type"] == "FailureTarget":
                deleted, deleted_ready = self.delete_pods(job, active_pods, keep_finalizer=True)
                active -= deleted
                ready -= deleted_ready
                terminating += deleted
        else:
            if not is_deleting(job):
                active, terminating, ready = self.manage_job(job, pods, active_pods, succeeded, succeeded_indexes,
                                                             failed_indexes, terminating, ready, at)
            completions = spec(job).get("completions")
            if completions is None:
                complete = succeeded > 0 and active == 0
            else:
                complete = succeeded >= int(completions) and active == 0
            if complete:
                finished = {"type": "SuccessCriteriaMet", "reason": "CompletionsReached", "message": REACHED,
                            "new": True}
            else:
                self.suspend_conditions(job, st, suspended, at)

        st["active"] = active
        st["ready"] = ready
        st["terminating"] = terminating
        self.track_and_remove_finalizers(job, pods, finished, succeeded_indexes, failed_indexes, at)

    # -- failures ------------------------------------------------------------------------------

    def _record_backoff(self, uid: str, new_succeeded: list[Obj], new_failed: list[Obj], vanished_failed: int,
                        at: float) -> None:
        count, last = self._backoff.get(uid, (0, 0.0))
        if new_succeeded:
            count, last = 0, 0.0
        n = len(new_failed) + vanished_failed
        if n:
            finished_at = [self._finish_time(p) for p in new_failed]
            count += n
            last = max([t for t in finished_at if t is not None] + [last if last else at])
        self._backoff[uid] = (count, last)

    @staticmethod
    def _finish_time(pod: Obj) -> float | None:
        times = [parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
                 for cs in status(pod).get("containerStatuses") or []]
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def backoff_remaining(self, uid: str, at: float) -> float:
        count, last = self._backoff.get(uid, (0, 0.0))
        if count <= 0:
            return 0.0
        fast = self.timing.mode == "fast"
        base = self.timing.backoff_base if fast else 10.0
        cap = self.timing.backoff_cap if fast else 360.0
        delay = min(base * 2 ** (count - 1), cap)
        return max(0.0, delay - (at - last))

    @staticmethod
    def fail_job_message(job: Obj, pods: list[Obj]) -> str | None:
        """The message of the first failed pod that matches a FailJob rule (``getFailJobMessage``)."""
        if not spec(job).get("podFailurePolicy"):
            return None
        for p in pods:
            if is_pod_failed(p, job):
                message, _, _ = match_pod_failure_policy(job, p)
                if message is not None:
                    return message
        return None

    @staticmethod
    def failed_indexes(job: Obj, pods: list[Obj]) -> set[int]:
        """``status.failedIndexes`` plus the indexes whose not-yet-counted pod used them up."""
        completions = int(spec(job).get("completions") or 0)
        result = {i for i in parse_indexes(status(job).get("failedIndexes")) if i < completions}
        for p in pods:
            ix = completion_index(p)
            if ix is not None and 0 <= ix < completions and has_tracking_finalizer(p) and is_index_failed(job, p):
                result.add(ix)
        return result

    def last_failed_pods(self, job: Obj, pods: list[Obj]) -> dict[int, Obj]:
        """Per index, its latest failed pod (most failures so far, then the latest end): what a new pod replaces."""
        last: dict[int, Obj] = {}
        for p in pods:
            ix = completion_index(p)
            if ix is None or not is_pod_failed(p, job):
                continue
            prev = last.get(ix)
            rank = (sum(index_failure_counts(p)), self._finish_time(p) or 0.0)
            if prev is None or rank >= (sum(index_failure_counts(prev)), self._finish_time(prev) or 0.0):
                last[ix] = p
        return last

    def new_index_failure_counts(self, job: Obj, replaced: Obj | None) -> tuple[int, int]:
        """The failure annotations of a pod that replaces ``replaced`` (``getNewIndexFailureCounts``)."""
        if replaced is None:
            return 0, 0
        count, ignored = index_failure_counts(replaced)
        if match_pod_failure_policy(job, replaced)[1]:
            return count + 1, ignored
        return count, ignored + 1

    def index_backoff_remaining(self, job: Obj, replaced: Obj | None, at: float) -> float:
        """Seconds before an index whose pod ``replaced`` failed may run again (the per-index back-off)."""
        if replaced is None:
            return 0.0
        failures = sum(index_failure_counts(replaced)) + 1
        fast = self.timing.mode == "fast"
        base = self.timing.backoff_base if fast else 10.0
        cap = self.timing.backoff_cap if fast else 360.0
        finished = self._finish_time(replaced) or at
        return max(0.0, min(base * 2 ** (failures - 1), cap) - (at - finished))

    @staticmethod
    def past_backoff_limit_on_failure(job: Obj, pods: list[Obj], limit: int) -> bool:
        template = spec(job).get("template") or {}
        if (template.get("spec") or {}).get("restartPolicy") != "OnFailure":
            return False
        restarts = 0
        for p in pods:
            if phase(p) in ("Running", "Pending"):
                for cs in (status(p).get("initContainerStatuses") or []) + (status(p).get("containerStatuses") or []):
                    restarts += int(cs.get("restartCount") or 0)
        return restarts > 0 if limit == 0 else restarts >= limit

    @staticmethod
    def past_active_deadline(job: Obj, st: dict[str, Any], at: float) -> bool:
        deadline = spec(job).get("activeDeadlineSeconds")
        started = parse_time(st.get("startTime"))
        if deadline is None or started is None or spec(job).get("suspend"):
            return False
        return at - started >= int(deadline)

    # -- pods ----------------------------------------------------------------------------------

    def manage_job(self, job: Obj, pods: list[Obj], active_pods: list[Obj], succeeded: int,
                   succeeded_indexes: set[int], failed_indexes: set[int] | None, terminating: int, ready: int,
                   at: float) -> tuple[int, int, int]:
        """Create or delete pods towards the wanted number of active pods; returns (active, terminating, ready)."""
        active = len(active_pods)
        parallelism = int(spec(job).get("parallelism", 1) if spec(job).get("parallelism") is not None else 1)
        if spec(job).get("suspend"):
            deleted, deleted_ready = self.delete_pods(job, active_pods, keep_finalizer=False)
            return active - deleted, terminating + deleted, ready - deleted_ready
        completions = spec(job).get("completions")
        if completions is None:
            want = active if succeeded > 0 else parallelism
        else:
            want = max(0, min(int(completions) - succeeded, parallelism))
        extra = active - want
        to_delete: list[Obj] = []
        if is_indexed(job):
            to_delete = self._surplus_indexed(job, active_pods, succeeded_indexes)
        if extra > 0 or to_delete:
            remaining = [p for p in active_pods if p not in to_delete]
            if extra - len(to_delete) > 0:
                to_delete += deletion_order(remaining)[:extra - len(to_delete)]
            to_delete = to_delete[:MAX_PODS_PER_SYNC]
            deleted, deleted_ready = self.delete_pods(job, to_delete, keep_finalizer=False)
            return active - deleted, terminating + deleted, ready - deleted_ready
        pending = terminating if only_replace_failed(job) else 0
        diff = want - pending - active
        if diff <= 0:
            return active, terminating, ready
        per_index = failed_indexes is not None
        wait = 0.0 if per_index else self.backoff_remaining(meta(job)["uid"], at)
        if wait > 0:
            self.requeue_after(key_of(job), wait)
            return active, terminating, ready
        diff = min(diff, MAX_PODS_PER_SYNC)
        indexes: list[int | None] = [None] * diff
        replaced: dict[int, Obj] = {}
        if is_indexed(job):
            taken = {completion_index(p) for p in active_pods}
            if only_replace_failed(job):
                taken |= {completion_index(p) for p in pods
                          if is_deleting(p) and phase(p) not in ("Succeeded", "Failed")}
            done = succeeded_indexes | (failed_indexes or set())
            free = [i for i in range(int(completions or 0)) if i not in done and i not in taken]
            indexes = list(free[:diff])
            if per_index:
                replaced = self.last_failed_pods(job, pods)
                waits = {ix: self.index_backoff_remaining(job, replaced.get(ix), at) for ix in free[:diff]}
                now_ok: list[int | None] = [ix for ix in free[:diff] if waits[ix] <= 0]
                if not now_ok and waits:
                    self.requeue_after(key_of(job), min(waits.values()))
                indexes = now_ok
        for ix in indexes:
            counts = self.new_index_failure_counts(job, replaced.get(ix)) if per_index and ix is not None else None
            body = self.pod_for(job, ix, counts)
            try:
                pod = self.registry.create(PODS, meta(job)["namespace"], body, write_options())
            except errors.APIError as err:
                if is_namespace_terminating(err):
                    break
                self.record(job, "FailedCreate", f"Error creating: {err.message}", type_="Warning")
                raise
            self.record(job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
            active += 1
        return active, terminating, ready

    @staticmethod
    def _surplus_indexed(job: Obj, active_pods: list[Obj], succeeded_indexes: set[int]) -> list[Obj]:
        """Active pods of an Indexed Job whose index is invalid, already succeeded, or duplicated."""
        completions = int(spec(job).get("completions") or 0)
        seen: set[int] = set()
        surplus = []
        for p in sorted(active_pods, key=lambda p: meta(p).get("creationTimestamp") or ""):
            ix = completion_index(p)
            if ix is None or not 0 <= ix < completions or ix in succeeded_indexes or ix in seen:
                surplus.append(p)
            else:
                seen.add(ix)
        return surplus

    def pod_for(self, job: Obj, index: int | None, failure_counts: tuple[int, int] | None = None) -> Obj:
        name = meta(job)["name"]
        template = copy.deepcopy(spec(job).get("template") or {})
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        uid = meta(job)["uid"]
        for k, v in (("batch.kubernetes.io/controller-uid", uid), ("batch.kubernetes.io/job-name", name),
                     ("controller-uid", uid), ("job-name", name)):
            labels.setdefault(k, v)
        generate = f"{name}-"
        if index is not None:
            annotations = template["metadata"].setdefault("annotations", {})
            annotations[COMPLETION_INDEX] = str(index)
            if failure_counts is not None:
                annotations[INDEX_FAILURE_COUNT] = str(failure_counts[0])
                if failure_counts[1] > 0:
                    annotations[INDEX_IGNORED_FAILURE_COUNT] = str(failure_counts[1])
            labels[COMPLETION_INDEX] = str(index)
            generate = f"{name}-{index}-"
            pspec = template.setdefault("spec", {})
            pspec.setdefault("hostname", f"{name}-{index}")
            for c in (pspec.get("initContainers") or []) + (pspec.get("containers") or []):
                env = c.setdefault("env", [])
                if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                    env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                        "apiVersion": "v1", "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}})
        pod = pod_from_template(template, job, generate)
        finalizers = pod["metadata"].setdefault("finalizers", [])
        if JOB_TRACKING_FINALIZER not in finalizers:
            finalizers.append(JOB_TRACKING_FINALIZER)
        return pod

    def delete_pods(self, job: Obj, pods: list[Obj], *, keep_finalizer: bool) -> tuple[int, int]:
        """Delete pods; returns (deleted, of which ready). Without ``keep_finalizer`` they are not counted as failed."""
        deleted = deleted_ready = 0
        for pod in pods:
            if not keep_finalizer and has_tracking_finalizer(pod):
                pod = self._remove_finalizer(pod) or pod
            try:
                self.registry.delete(PODS, meta(pod)["namespace"], meta(pod)["name"],
                                     preconditions={"uid": meta(pod).get("uid")})
            except errors.APIError as err:
                if err.code not in (404, 409):
                    raise
                continue
            deleted += 1
            deleted_ready += 1 if is_pod_ready(pod) else 0
            self.record(job, "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}")
        return deleted, deleted_ready

    def _remove_finalizer(self, pod: Obj) -> Obj | None:
        """Drop the tracking finalizer from the current version of ``pod``; None if the pod is gone."""
        ns, name = meta(pod)["namespace"], meta(pod)["name"]
        current = self.store.get(PODS, ns, name)
        if current is None or meta(current).get("uid") != meta(pod).get("uid"):
            return None
        if not has_tracking_finalizer(current):
            return current
        new = copy.deepcopy(current)
        rest = [f for f in meta(current).get("finalizers") or [] if f != JOB_TRACKING_FINALIZER]
        if rest:
            new["metadata"]["finalizers"] = rest
        else:
            new["metadata"].pop("finalizers", None)
        try:
            return self.registry.update(PODS, ns, name, new, write_options())
        except errors.APIError as err:
            if err.code == 404:
                return None
            raise

    # -- conditions and status -----------------------------------------------------------------

    def suspend_conditions(self, job: Obj, st: dict[str, Any], suspended: bool, at: float) -> None:
        current = next((c for c in st.get("conditions") or [] if c.get("type") == "Suspended"), None)
        if suspended:
            if current is None or current.get("status") != "True":
                self._set_condition(st, "Suspended", "True", "JobSuspended", "Job suspended", at)
                self.record(job, "Suspended", "Job suspended")
        elif current is not None and current.get("status") == "True":
            self._set_condition(st, "Suspended", "False", "JobResumed", "Job resumed", at)
            self.record(job, "Resumed", "Job resumed")
            st["startTime"] = timestamp(at)

    @staticmethod
    def _set_condition(st: dict[str, Any], type_: str, cstatus: str, reason: str, message: str, at: float) -> None:
        ts = timestamp(at)
        conds = st.setdefault("conditions", [])
        for c in conds:
            if c.get("type") == type_:
                if c.get("status") != cstatus:
                    c["lastTransitionTime"] = ts
                c.update({"status": cstatus, "reason": reason, "message": message, "lastProbeTime": ts})
                return
        conds.append({"type": type_, "status": cstatus, "lastProbeTime": ts, "lastTransitionTime": ts,
                      "reason": reason, "message": message})

    def track_and_remove_finalizers(self, job: Obj, pods: list[Obj], finished: dict[str, Any] | None,
                                    succeeded_indexes: set[int], failed_indexes: set[int] | None,
                                    at: float) -> None:
        """Record finished pods as uncounted, flush, drop their finalizers, count them, then finish the Job."""
        st = job["status"]
        uid = meta(job)["uid"]
        uncounted = st.get("uncountedTerminatedPods") or {}
        unc_s = list(uncounted.get("succeeded") or [])
        unc_f = list(uncounted.get("failed") or [])
        counted_before = set(unc_s) | set(unc_f)
        failing = finished is not None and finished["type"] == "FailureTarget"
        to_release: list[Obj] = []
        for pod in pods:
            if not has_tracking_finalizer(pod):
                continue
            pod_uid = meta(pod)["uid"]
            failed = is_pod_failed(pod, job)
            if not (is_deleting(job) or finished is not None or phase(pod) == "Succeeded" or failed):
                continue
            to_release.append(pod)
            if phase(pod) == "Succeeded" and pod_uid not in unc_f:
                if not is_indexed(job) and pod_uid not in unc_s:
                    unc_s.append(pod_uid)
            elif (failed or failing) and pod_uid not in unc_f and match_pod_failure_policy(job, pod)[1]:
                unc_f.append(pod_uid)  # a failure an Ignore rule matched is not counted
        if is_indexed(job):
            st["completedIndexes"] = format_indexes(succeeded_indexes)
            st["succeeded"] = len(succeeded_indexes)
            if failed_indexes is not None:
                st["failedIndexes"] = format_indexes(failed_indexes)
        final: dict[str, Any] | None = None
        if finished is not None:
            if finished["new"]:
                self._append_condition(st, finished["type"], finished["reason"], finished["message"], at)
            final = {"type": "Failed" if finished["type"] == "FailureTarget" else "Complete",
                     "reason": finished["reason"], "message": finished["message"]}
        st["uncountedTerminatedPods"] = omit_zero({"succeeded": unc_s, "failed": unc_f})
        # 1. flush the uncounted pods (and an interim condition) before their finalizers go
        if to_release:
            self._write_status(job)
        # 2. drop the finalizers
        for pod in to_release:
            self._remove_finalizer(pod)
        # 3. every uncounted pod whose finalizer is gone moves into the counters
        still_tracked = {meta(p)["uid"] for p in pods if has_tracking_finalizer(p)} - {
            meta(p)["uid"] for p in to_release}
        succeeded = int(st.get("succeeded") or 0)
        failed = int(st.get("failed") or 0)
        if not is_indexed(job):
            succeeded += sum(1 for u in unc_s if u not in still_tracked)
        failed += sum(1 for u in unc_f if u not in still_tracked)
        unc_s = [u for u in unc_s if u in still_tracked]
        unc_f = [u for u in unc_f if u in still_tracked]
        # pods removed while still holding the finalizer (force-deleted) are counted from memory
        for pod_uid, outcome in self._vanished.pop(uid, {}).items():
            if pod_uid in counted_before:
                continue
            if outcome == "failed":
                failed += 1
            elif not is_indexed(job):
                succeeded += 1
        st["succeeded"] = succeeded
        st["failed"] = failed
        st["uncountedTerminatedPods"] = omit_zero({"succeeded": unc_s, "failed": unc_f})
        # 4. the terminal condition, once nothing is uncounted or still terminating
        finished_now = False
        if final is not None and not unc_s and not unc_f and int(st.get("terminating") or 0) == 0:
            self._append_condition(st, final["type"], final["reason"], final["message"], at)
            if final["type"] == "Complete":
                st["completionTime"] = timestamp(at)
            finished_now = True
        self._write_status(job)
        if not finished_now or final is None:
            return
        if final["type"] == "Complete":
            completions = spec(job).get("completions")
            if completions is not None and succeeded > int(completions):
                self.record(job, "TooManySucceededPods",
                            "Too many succeeded pods running after completion count reached", type_="Warning")
            self.record(job, "Completed", "Job completed")
        else:
            self.record(job, final["reason"], final["message"], type_="Warning")
        self.handle_ttl(self.store.get(JOBS, meta(job)["namespace"], meta(job)["name"]) or job)

    @staticmethod
    def _append_condition(st: dict[str, Any], type_: str, reason: str, message: str, at: float) -> None:
        if find_condition(st, type_) is not None:
            return
        ts = timestamp(at)
        st.setdefault("conditions", []).append({"type": type_, "status": "True", "lastProbeTime": ts,
                                                "lastTransitionTime": ts, "reason": reason, "message": message})

    @staticmethod
    def _shaped(st: dict[str, Any]) -> dict[str, Any]:
        """The status as the API returns it: zero counters and empty strings omitted (``omitempty``)."""
        out = {k: v for k, v in st.items() if v is not None}
        for k in ("active", "succeeded", "failed", "completedIndexes", "conditions"):
            if not out.get(k):
                out.pop(k, None)
        out.setdefault("ready", 0)
        out.setdefault("terminating", 0)
        out.setdefault("uncountedTerminatedPods", {})
        return out

    def _write_status(self, job: Obj) -> None:
        shaped = self._shaped(job["status"])
        job["status"] = shaped
        stored = self.store.get(JOBS, meta(job)["namespace"], meta(job)["name"])
        if stored is None or status(stored) == shaped:
            return
        result = self.registry.put_status(JOBS, copy.deepcopy(job))
        job["metadata"]["resourceVersion"] = result["metadata"].get("resourceVersion")
        job["status"] = copy.deepcopy(shaped)

    # -- TTL after finished --------------------------------------------------------------------

    def handle_ttl(self, job: Obj) -> None:
        ttl = spec(job).get("ttlSecondsAfterFinished")
        cond = finished_condition(job)
        if ttl is None or cond is None or is_deleting(job):
            return
        finished_at = parse_time(status(job).get("completionTime")) or parse_time(cond.get("lastTransitionTime"))
        if finished_at is None:
            return
        left = finished_at + int(ttl) - self._now()
        if left > 0:
            self.requeue_after(key_of(job), left)
            return
        try:
            self.registry.delete(JOBS, meta(job)["namespace"], meta(job)["name"], propagation="Foreground",
                                 preconditions={"uid": meta(job).get("uid")})
        except errors.APIError as err:
            if err.code not in (404, 409):
                raise
