"""The CronJob controller (pkg/controller/cronjob, ControllerV2).

Parses ``spec.schedule`` as robfig/cron's ``ParseStandard`` does (five fields; the
descriptors ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``,
``@hourly``; ``@every <Go duration>``, counted from the last schedule time or the
CronJob's creation; a grandfathered ``TZ=`` prefix), in ``spec.timeZone`` (an IANA
name; UTC when unset), computes five-field times with croniter, and starts the Job for the most recent unmet
schedule time, named ``<cronjob>-<scheduled time in minutes since the epoch>`` (the
name is the lock against starting the same run twice), with the annotation
``batch.kubernetes.io/cronjob-scheduled-timestamp`` and a controller
ownerReference. Honours ``concurrencyPolicy`` (Allow, Forbid, Replace), ``suspend``,
``startingDeadlineSeconds`` and the two history limits; keeps ``status.active``,
``lastScheduleTime`` and ``lastSuccessfulTime``. After each sync the CronJob is
queued again for its next schedule time - no polling. Events: ``SuccessfulCreate``
``Created job <name>``, ``SawCompletedJob`` ``Saw completed job: <name>, status: Complete``,
``SuccessfulDelete`` ``Deleted job <name>``, ``JobAlreadyActive``, ``MissSchedule``,
``UnparseableSchedule``, ``UnknownTimeZone``.

The clock is :func:`.workloads.now`, so tests move time by setting ``manager.clock``.
"""

from __future__ import annotations

import copy
import math
import re
from datetime import datetime, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from .. import errors
from ..resources import CRONJOBS, JOBS
from ..store import Event, Obj
from .base import Controller, Key
from .replicaset import is_namespace_terminating
from .workloads import (
    controller_ref, is_deleting, key_of, meta, now, owner_reference, parse_time, spec, status, timestamp, write_options,
)


SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
               "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MAX_MISSED = 100
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ScheduleError(ValueError):
    """An unparseable schedule; ``str()`` is robfig/cron's message."""


def go_duration_seconds(text: str) -> float:
    """Seconds in a Go duration (``90s``, ``1h30m``, ``1.5h``); ScheduleError if ``time.ParseDuration`` refuses it."""
    s = text.strip()
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("+-")
    if s == "0":
        return 0.0
    total = 0.0
    if not s:
        raise ScheduleError(f'time: invalid duration "{text}"')
    while s:
        m = re.match(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)", s)
        number, unit = (m.group(1), m.group(2)) if m else ("", "")
        if not number or number == ".":
            raise ScheduleError(f'time: invalid duration "{text}"')
        if not unit:
            raise ScheduleError(f'time: missing unit in duration "{text}"')
        if unit not in _GO_UNITS:
            raise ScheduleError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += float(number) * _GO_UNITS[unit]
        s = s[m.end():]  # type: ignore[union-attr]
    return sign * total


class Schedule:
    """A parsed ``spec.schedule``: the next activation after a moment, as robfig/cron computes it."""

    def __init__(self, text: str, *, expr: str | None = None, every: float | None = None,
                 zone: Any = None) -> None:
        self.text = text
        self.expr = expr  # five fields (descriptors expanded)
        self.every = every  # whole seconds, for ``@every <duration>``
        self.zone = zone  # a ``TZ=`` prefix's zone, which wins over spec.timeZone

    def next(self, after: float, zone: Any) -> float:
        """The first activation strictly after ``after`` (seconds since the epoch)."""
        if self.every is not None:
            # ConstantDelaySchedule: from the start of the current second, plus the delay.
            return math.floor(after) + self.every
        start = datetime.fromtimestamp(after, timezone.utc).astimezone(self.zone or zone)
        return float(croniter(self.expr, start).get_next(datetime).timestamp())


def parse_schedule(schedule: str) -> Schedule:
    """Parse ``schedule`` as ``cron.ParseStandard`` does: five fields, ``@hourly``... or ``@every <duration>``.

    Raises:
        ScheduleError: with robfig/cron's message (``expected exactly 5 fields, found 4: [* * * *]``...).
    """
    from ..validation import CronError, parse_cron

    try:
        parse_cron(schedule or "")
    except CronError as err:
        raise ScheduleError(str(err)) from err
    text = (schedule or "").strip()
    zone = None
    if text.startswith("TZ=") or text.startswith("CRON_TZ="):
        loc, _, text = text.partition(" ")
        zone = ZoneInfo(loc.split("=", 1)[1])
        text = text.strip()
    if text.startswith("@every "):
        delay = go_duration_seconds(text[len("@every "):])
        # Every(): under a second rounds up to one; fractions of a second are dropped.
        return Schedule(schedule, every=float(max(1, int(delay))), zone=zone)
    expr = DESCRIPTORS.get(text, text)
    if not croniter.is_valid(expr):
        raise ScheduleError(f"failed to parse schedule: {text}")
    return Schedule(schedule, expr=expr, zone=zone)


def job_finished(job: Obj) -> str | None:
    """``Complete`` or ``Failed`` if the Job has finished."""
    for c in status(job).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


class CronJobController(Controller):
    """Starts Jobs on schedule and keeps the CronJob's status and history."""

    name = "cronjob-controller"
    watches = (CRONJOBS, JOBS)

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is CRONJOBS:
            return [key_of(ev.obj)]
        ref = controller_ref(ev.obj) or controller_ref(ev.old)
        if ref is not None and ref.get("kind") == "CronJob":
            return [(meta(ev.obj).get("namespace", ""), ref.get("name", ""))]
        return []

    def _now(self) -> float:
        return now(self.manager)

    # -- schedule arithmetic -------------------------------------------------------------------

    @staticmethod
    def _zone(cj: Obj) -> Any:
        name = spec(cj).get("timeZone")
        return ZoneInfo(name) if name else timezone.utc

    def most_recent_time(self, cj: Obj, schedule: Schedule, zone: Any, at: float) -> tuple[float | None, int]:
        """The latest schedule time in (earliest, at], and about how many were missed (``mostRecentScheduleTime``).

        ``earliest`` is the last schedule time, else the creation time, moved up to ``at - startingDeadlineSeconds``.
        The count of missed times is the controller's estimate from the gap between the first two.
        """
        earliest = parse_time(status(cj).get("lastScheduleTime")) or parse_time(meta(cj).get("creationTimestamp")) or at
        deadline = spec(cj).get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, at - int(deadline))
        t1 = schedule.next(earliest, zone)
        if t1 > at:
            return None, 0
        t2 = schedule.next(t1, zone)
        if t2 > at:
            return t1, 1
        between = max(1, round(t2 - t1))
        missed = int((at - t1) // between) + 1
        latest = t1
        t = schedule.next(t1 + (missed - 2) * between, zone) if missed > 2 else t2
        while t <= at:
            latest = t
            t = schedule.next(t, zone)
        return latest, missed

    # -- reconcile -----------------------------------------------------------------------------

    def reconcile(self, key: Key) -> None:
        ns, name = key
        stored = self.store.get(CRONJOBS, ns, name)
        if stored is None:
            return
        cj = copy.deepcopy(stored)
        cj.setdefault("status", {})
        uid = meta(cj).get("uid")
        jobs = [j for j in self.store.list(JOBS, ns) if (controller_ref(j) or {}).get("uid") == uid]
        changed = self.sync_active(cj, jobs)
        changed = self.cleanup_finished(cj, jobs) or changed
        requeue, started = self.sync_schedule(cj)
        if changed or started:
            self._write_status(cj)
        if requeue is not None:
            self.requeue_after(key, requeue)

    def sync_active(self, cj: Obj, jobs: list[Obj]) -> bool:
        st = cj["status"]
        active = list(st.get("active") or [])
        changed = False
        by_uid = {meta(j).get("uid"): j for j in jobs}
        for j in jobs:
            in_active = any(r.get("uid") == meta(j).get("uid") for r in active)
            finished = job_finished(j)
            if not in_active and finished is None:
                self.record(cj, "UnexpectedJob",
                            f"Saw a job that the controller did not create or forgot: {meta(j)['name']}",
                            type_="Warning")
            elif in_active and finished is not None:
                active = [r for r in active if r.get("uid") != meta(j).get("uid")]
                self.record(cj, "SawCompletedJob", f"Saw completed job: {meta(j)['name']}, status: {finished}")
                changed = True
            if finished == "Complete":
                done = status(j).get("completionTime")
                last = parse_time(st.get("lastSuccessfulTime"))
                if done and (last is None or (parse_time(done) or 0) > last):
                    st["lastSuccessfulTime"] = done
                    changed = True
        for ref in list(active):
            if ref.get("uid") in by_uid:
                continue
            self.record(cj, "MissingJob", f"Active job went missing: {ref.get('name')}")
            active = [r for r in active if r.get("uid") != ref.get("uid")]
            changed = True
        if active:
            st["active"] = active
        else:
            st.pop("active", None)
        return changed

    def sync_schedule(self, cj: Obj) -> tuple[float | None, bool]:
        """Start the Job that is due, if any; returns (seconds until the next check, started)."""
        if is_deleting(cj):
            return None, False
        try:
            zone = self._zone(cj)
        except (ZoneInfoNotFoundError, ValueError) as err:
            self.record(cj, "UnknownTimeZone", f'invalid timeZone: "{spec(cj).get("timeZone")}": {err}',
                        type_="Warning")
            return None, False
        if spec(cj).get("suspend"):
            return None, False
        try:
            schedule = parse_schedule(spec(cj).get("schedule", ""))
        except (ScheduleError, ZoneInfoNotFoundError, ValueError) as err:
            self.record(cj, "UnparseableSchedule", f'unparseable schedule: "{spec(cj).get("schedule")}" : {err}',
                        type_="Warning")
            return None, False
        at = self._now()
        next_in = schedule.next(at, zone) - at + 0.1
        scheduled, missed = self.most_recent_time(cj, schedule, zone, at)
        if scheduled is None:
            return next_in, False
        if missed > MAX_MISSED:
            self.record(cj, "TooManyMissedTimes",
                        f"too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds "
                        "or check clock skew", type_="Warning")
        deadline = spec(cj).get("startingDeadlineSeconds")
        if deadline is not None and scheduled + int(deadline) < at:
            when = datetime.fromtimestamp(scheduled, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
            self.record(cj, "MissSchedule", f"Missed scheduled time to start a job: {when}", type_="Warning")
            return next_in, False
        st = cj["status"]
        job_name = f"{meta(cj)['name']}-{int(scheduled // 60)}"
        if (any(r.get("name") == job_name for r in st.get("active") or [])
                or parse_time(st.get("lastScheduleTime")) == scheduled):
            return next_in, False
        policy = spec(cj).get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and st.get("active"):
            self.record(cj, "JobAlreadyActive",
                        "Not starting job because prior execution is running and concurrency policy is Forbid")
            return next_in, False
        if policy == "Replace":
            for ref in list(st.get("active") or []):
                self.delete_job(cj, ref.get("name", ""), ref.get("uid"))
        job = self.job_from_template(cj, job_name, scheduled, schedule.zone or zone)
        ns = meta(cj)["namespace"]
        try:
            created = self.registry.create(JOBS, ns, job, write_options())
            self.record(cj, "SuccessfulCreate", f"Created job {meta(created)['name']}")
        except errors.APIError as err:
            if is_namespace_terminating(err):
                return None, False
            if err.code != 409 or err.reason != "AlreadyExists":
                self.record(cj, "FailedCreate", f"Error creating job: {err.message}", type_="Warning")
                raise
            existing = self.store.get(JOBS, ns, job_name)
            if existing is None or (controller_ref(existing) or {}).get("uid") != meta(cj).get("uid"):
                return next_in, False
            if any(r.get("uid") == meta(existing).get("uid") for r in st.get("active") or []):
                return next_in, False
            created = existing
        st["active"] = list(st.get("active") or []) + [{
            "kind": "Job", "namespace": ns, "name": meta(created)["name"], "uid": meta(created).get("uid"),
            "apiVersion": "batch/v1", "resourceVersion": meta(created).get("resourceVersion")}]
        st["lastScheduleTime"] = timestamp(scheduled)
        return next_in, True

    def job_from_template(self, cj: Obj, name: str, scheduled: float, zone: Any) -> Obj:
        template = copy.deepcopy(spec(cj).get("jobTemplate") or {})
        tmeta = template.get("metadata") or {}
        annotations = dict(tmeta.get("annotations") or {})
        local = datetime.fromtimestamp(scheduled, timezone.utc).astimezone(zone)
        # Go's RFC 3339: "Z" whenever the zone's offset is zero at that moment, else "+05:30".
        annotations[SCHEDULED_TIMESTAMP] = (local.strftime("%Y-%m-%dT%H:%M:%SZ") if not local.utcoffset()
                                            else local.isoformat(timespec="seconds"))
        md: dict[str, Any] = {"name": name, "namespace": meta(cj)["namespace"], "annotations": annotations,
                              "ownerReferences": [owner_reference(cj)]}
        if tmeta.get("labels"):
            md["labels"] = dict(tmeta["labels"])
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": template.get("spec") or {}}

    def delete_job(self, cj: Obj, name: str, uid: str | None) -> bool:
        try:
            self.registry.delete(JOBS, meta(cj)["namespace"], name, propagation="Background",
                                 preconditions={"uid": uid} if uid else None)
        except errors.APIError as err:
            if err.code != 404:
                self.record(cj, "FailedDelete", f"Deleted job: {err.message}", type_="Warning")
                return False
        st = cj["status"]
        active = [r for r in st.get("active") or [] if r.get("uid") != uid]
        if active:
            st["active"] = active
        else:
            st.pop("active", None)
        self.record(cj, "SuccessfulDelete", f"Deleted job {name}")
        return True

    def cleanup_finished(self, cj: Obj, jobs: list[Obj]) -> bool:
        """Delete the oldest finished Jobs beyond the two history limits."""
        succ_limit = spec(cj).get("successfulJobsHistoryLimit")
        fail_limit = spec(cj).get("failedJobsHistoryLimit")
        changed = False
        for kind, limit in (("Complete", succ_limit), ("Failed", fail_limit)):
            if limit is None:
                continue
            done = [j for j in jobs if job_finished(j) == kind and not is_deleting(j)]
            extra = len(done) - int(limit)
            if extra <= 0:
                continue
            done.sort(key=lambda j: (parse_time(status(j).get("startTime")) or float("inf"), meta(j)["name"]))
            for j in done[:extra]:
                changed = self.delete_job(cj, meta(j)["name"], meta(j).get("uid")) or changed
        return changed

    def _write_status(self, cj: Obj) -> None:
        stored = self.store.get(CRONJOBS, meta(cj)["namespace"], meta(cj)["name"])
        if stored is None or status(stored) == cj["status"]:
            return
        result = self.registry.put_status(CRONJOBS, copy.deepcopy(cj))
        cj["metadata"]["resourceVersion"] = result["metadata"].get("resourceVersion")
