"""Unit tests of the workload controllers, with no API server, kubelet or event loop running.

Checks the pod-template-hash (shape, stability, what it ignores), maxSurge/maxUnavailable
rounding, the order in which a ReplicaSet picks pods to delete, label selector matching,
Indexed Job index strings, pod failure policy matching, CronJob schedule parsing (five
fields, descriptors, ``@every``) and the Deployment condition rules;
then drives the ReplicaSet controller's reconcile by hand over an in-memory registry, where
the test alone decides pod phases and readiness (self-healing of a Failed pod, which pod a
scale-down removes, no extra pods from repeated reconciles).
"""

from __future__ import annotations

import asyncio
import copy
import re
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kk_helpers.sandbox import bootstrap
from kk_helpers.sandbox.controllers import cronjob, deployment, job, workloads
from kk_helpers.sandbox.controllers.base import ManagerBase
from kk_helpers.sandbox.controllers.replicaset import ReplicaSetController
from kk_helpers.sandbox.registry import Registry
from kk_helpers.sandbox.resources import EVENTS, PODS, REPLICASETS
from kk_helpers.sandbox.store import Store

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template(image: str = "nginx:1.27", **labels: str) -> dict:
    return {"metadata": {"labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image}], "restartPolicy": "Always"}}


def test_hash_shape_matches_real_pod_template_hashes() -> None:
    """Is the hash up to 10 characters of the name alphabet, from the digit subset real hashes use?"""
    h = deployment.pod_template_hash(template())
    assert 1 <= len(h) <= 10
    assert set(h) <= set(ALPHABET)
    # real hashes are a uint32 printed in decimal then mapped: only these ten characters occur
    assert set(h) <= set("456789bcdf")


def test_hash_is_stable_and_template_sensitive() -> None:
    """Does the same template give the same hash and a changed image a different one?"""
    assert deployment.pod_template_hash(template()) == deployment.pod_template_hash(template())
    assert deployment.pod_template_hash(template()) != deployment.pod_template_hash(template("nginx:1.28"))


def test_hash_ignores_its_own_label_and_empty_values() -> None:
    """Is the hash the same with the pod-template-hash label, nulls or empty maps added?"""
    base = template()
    noisy = template()
    noisy["metadata"]["labels"]["pod-template-hash"] = "abc"
    noisy["metadata"]["creationTimestamp"] = None
    noisy["spec"]["containers"][0]["resources"] = {}
    assert deployment.pod_template_hash(base) == deployment.pod_template_hash(noisy)
    assert deployment.equal_ignore_hash(base, noisy)


def test_collision_count_changes_the_hash() -> None:
    """Does a bumped collisionCount give a new name, as the real controller relies on?"""
    t = template()
    assert deployment.pod_template_hash(t, 1) != deployment.pod_template_hash(t, None)


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "expected"), [
    (4, "25%", "25%", (1, 1)),
    (1, "25%", "25%", (1, 0)),       # surge rounds up, unavailable down
    (10, "25%", "25%", (3, 2)),
    (3, 0, 0, (0, 1)),               # both zero: one may be unavailable
    (5, 2, "0%", (2, 0)),
    (100, "10%", 5, (10, 5)),
])
def test_fenceposts(replicas: int, surge: object, unavailable: object, expected: tuple[int, int]) -> None:
    """Do maxSurge (round up) and maxUnavailable (round down) resolve as ResolveFenceposts does?"""
    rolling = {"maxSurge": surge, "maxUnavailable": unavailable}
    d = {"spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}}
    assert deployment.resolve_fenceposts(d) == expected


def test_recreate_has_no_surge() -> None:
    """Does a Recreate Deployment never surge nor count unavailability budget?"""
    d = {"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}}
    assert deployment.max_surge(d) == 0 and deployment.max_unavailable(d) == 0


def pod(name: str, *, node: str = "w1", phase: str = "Running", ready: bool = True,
        created: str = "2024-01-01T00:00:00Z", ready_at: str = "2024-01-01T00:00:10Z", restarts: int = 0,
        cost: int | None = None) -> dict:
    md: dict = {"name": name, "uid": name, "creationTimestamp": created}
    if cost is not None:
        md["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    conds = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_at}]
    return {"metadata": md, "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": conds, "containerStatuses": [{"restartCount": restarts}]}}


def test_deletion_order_follows_the_replicaset_ranking() -> None:
    """Are unassigned, pending, unready, cheap, crowded, recently-ready, restarting, newer pods deleted first?"""
    pods = [
        pod("old-ready"),
        pod("newer", created="2024-01-02T00:00:00Z"),
        pod("restarted", restarts=3),
        pod("just-ready", ready_at="2024-01-01T00:05:00Z"),
        pod("crowded", node="w2"),
        pod("cheap", cost=-10),
        pod("not-ready", ready=False),
        pod("pending", phase="Pending", ready=False),
        pod("unassigned", node="", phase="Pending", ready=False),
    ]
    ranks = {p["metadata"]["uid"]: 1 for p in pods}
    ranks["crowded"] = 5
    order = [p["metadata"]["name"] for p in workloads.deletion_order(pods, ranks)]
    assert order == ["unassigned", "pending", "not-ready", "cheap", "crowded", "just-ready", "restarted", "newer",
                     "old-ready"]


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, {"tier": "b"}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, {}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"tier": "x"}, False),
    ({}, {"anything": "x"}, True),
    (None, {"app": "web"}, False),
])
def test_selector_matching(selector: dict | None, labels: dict, expected: bool) -> None:
    """Does LabelSelector matching treat matchLabels, each operator, empty and missing selectors right?"""
    assert workloads.selector_matches(selector, labels) is expected


def test_completed_indexes_round_trip() -> None:
    """Are completed indexes written as ranges (1,3-5,7) and read back?"""
    assert job.format_indexes([7, 1, 3, 4, 5]) == "1,3-5,7"
    assert job.parse_indexes("1,3-5,7") == {1, 3, 4, 5, 7}
    assert job.format_indexes([]) == ""
    assert job.format_indexes([0, 1, 4, 5, 6]) == "0,1,4-6"  # a pair is listed, as orderedIntervals.String does
    assert job.parse_indexes("0,1,4-6") == {0, 1, 4, 5, 6}


def failed_pod(codes: dict[str, int], conditions: tuple[str, ...] = (), init: dict[str, int] | None = None) -> dict:
    def statuses(c: dict[str, int]) -> list[dict]:
        return [{"name": n, "state": {"terminated": {"exitCode": code}}} for n, code in c.items()]
    return {"metadata": {"name": "p", "namespace": "ns"},
            "status": {"phase": "Failed", "containerStatuses": statuses(codes),
                       "initContainerStatuses": statuses(init or {}),
                       "conditions": [{"type": t, "status": "True"} for t in conditions]}}


def pfp_job(*rules: dict) -> dict:
    return {"spec": {"podFailurePolicy": {"rules": list(rules)}}}


def test_pod_failure_policy_rules_match_in_order() -> None:
    """Does the first matching rule decide, with the real FailJob messages and Ignore not counted?"""
    j = pfp_job({"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
                {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1, 2]}})
    assert job.match_pod_failure_policy(j, failed_pod({"main": 42}, ("DisruptionTarget",))) == (None, False, "Ignore")
    assert job.match_pod_failure_policy(j, failed_pod({"side": 1, "main": 42})) == (
        "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1", True, "FailJob")
    assert job.match_pod_failure_policy(j, failed_pod({"main": 7})) == (None, True, "Count")
    assert job.match_pod_failure_policy(j, failed_pod({"main": 1})) == (None, True, None)  # no rule: counted
    assert job.match_pod_failure_policy(j, failed_pod({"main": 0}, init={"main": 42})) == (
        "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1", True, "FailJob")
    cond = pfp_job({"action": "FailJob", "onPodConditions": [{"type": "ConfigIssue"}]})
    assert job.match_pod_failure_policy(cond, failed_pod({"main": 1}, ("ConfigIssue",)))[0] == \
        "Pod ns/p has condition ConfigIssue matching FailJob rule at index 0"
    assert job.match_pod_failure_policy({"spec": {}}, failed_pod({"main": 1})) == (None, True, None)


def test_index_failure_counts_and_failed_index() -> None:
    """Is an index failed once a counted failure reaches backoffLimitPerIndex, or at once on FailIndex?"""
    j = {"spec": {"completionMode": "Indexed", "completions": 3, "backoffLimitPerIndex": 1,
                  "podFailurePolicy": {"rules": [{"action": "FailIndex",
                                                  "onExitCodes": {"operator": "In", "values": [42]}}]}}}
    first = failed_pod({"main": 1})
    first["metadata"]["annotations"] = {job.INDEX_FAILURE_COUNT: "0"}
    assert not job.is_index_failed(j, first)
    second = copy.deepcopy(first)
    second["metadata"]["annotations"][job.INDEX_FAILURE_COUNT] = "1"
    assert job.is_index_failed(j, second)
    fail_index = failed_pod({"main": 42})
    fail_index["metadata"]["annotations"] = {job.INDEX_FAILURE_COUNT: "0"}
    assert job.is_index_failed(j, fail_index)
    assert job.index_failure_counts({"metadata": {"annotations": {job.INDEX_FAILURE_COUNT: "x"}}}) == (0, 0)


@pytest.mark.parametrize("schedule", ["* * * * *", "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly",
                                      "@annually", "*/5 1-3 * * MON-FRI", "0 0 1 1 *", "TZ=UTC * * * * *"])
def test_schedules_accepted(schedule: str) -> None:
    """Are five-field expressions, the @ descriptors and a TZ= prefix accepted as robfig/cron's ParseStandard does?"""
    parsed = cronjob.parse_schedule(schedule)
    assert parsed.every is None and parsed.expr is not None and len(parsed.expr.split()) == 5


@pytest.mark.parametrize(("schedule", "message"), [
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("@every 1x", 'failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"'),
    ("@every", "unrecognized descriptor: @every"),
    ("@reboot", "unrecognized descriptor: @reboot"),
])
def test_schedules_rejected(schedule: str, message: str) -> None:
    """Are bad field counts, out-of-range values, bad durations and unknown descriptors refused with cron's message?"""
    with pytest.raises(cronjob.ScheduleError) as err:
        cronjob.parse_schedule(schedule)
    assert str(err.value) == message


@pytest.mark.parametrize(("schedule", "seconds"), [("@every 1h30m", 5400), ("@every 90s", 90), ("@every 1.5m", 90),
                                                   ("@every 500ms", 1), ("@every 2m0.7s", 120)])
def test_every_schedules(schedule: str, seconds: int) -> None:
    """Does `@every` run every whole second of its Go duration (at least 1 s), counted from the start of a second?"""
    parsed = cronjob.parse_schedule(schedule)
    assert parsed.every == seconds
    assert parsed.next(1000.25, timezone.utc) == 1000 + seconds


def test_descriptors_follow_the_time_zone() -> None:
    """Does @daily fire at midnight of spec.timeZone, and @hourly on the hour?"""
    t = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc).timestamp()
    daily = cronjob.parse_schedule("@daily").next(t, ZoneInfo("Asia/Kolkata"))
    assert datetime.fromtimestamp(daily, ZoneInfo("Asia/Kolkata")).strftime("%d %H:%M") == "02 00:00"
    assert cronjob.parse_schedule("@hourly").next(t, timezone.utc) == t + 1800
    weekly = cronjob.parse_schedule("@weekly").next(t, timezone.utc)  # 1 March 2026 is a Sunday
    assert datetime.fromtimestamp(weekly, timezone.utc).strftime("%a %d %H:%M") == "Sun 08 00:00"


def test_condition_update_keeps_transition_time() -> None:
    """Does a condition that keeps its status keep its lastTransitionTime, and an identical one change nothing?"""
    st: dict = {}
    deployment.set_condition(st, deployment.new_condition("Progressing", "True", "ReplicaSetUpdated", "a", 100.0))
    first = dict(st["conditions"][0])
    deployment.set_condition(st, deployment.new_condition("Progressing", "True", "ReplicaSetUpdated", "b", 200.0))
    assert st["conditions"][0] == first  # same status and reason: untouched
    deployment.set_condition(st, deployment.new_condition("Progressing", "True", "NewReplicaSetAvailable", "c", 300.0))
    cond = st["conditions"][0]
    assert cond["lastTransitionTime"] == first["lastTransitionTime"] and cond["reason"] == "NewReplicaSetAvailable"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cond["lastUpdateTime"])


def test_proportional_rounding_is_half_away_from_zero() -> None:
    """Does proportional scaling round as Go's math.Round does (half away from zero)?"""
    assert [deployment.round_half_away(x) for x in (0.5, 1.5, 2.5, -0.5, -1.5)] == [1, 2, 3, -1, -2]


# -- the ReplicaSet controller, reconciled by hand ---------------------------------------------


@pytest.fixture
def rs_controller() -> Any:
    """(registry, ReplicaSet controller) over an in-memory store; nothing runs on its own."""
    store = Store(None)
    registry = Registry(store)
    bootstrap.ensure(registry, bootstrap.topology())
    manager = ManagerBase(registry)
    ctl = manager.add(ReplicaSetController(manager))
    store.add_listener(manager.dispatch)  # the controller follows changes (its pod index), as when running
    yield registry, ctl
    store.close()


def make_rs(registry: Registry, replicas: int) -> None:
    registry.create(REPLICASETS, "default", {
        "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})


def reconcile(ctl: ReplicaSetController) -> None:
    asyncio.run(ctl.reconcile(("default", "web")))


def set_status(registry: Registry, name: str, **status: Any) -> None:
    pod = copy.deepcopy(registry.get(PODS, "default", name))
    pod["status"].update(status)
    registry.put_status(PODS, pod)


def test_replicaset_replaces_a_failed_pod(rs_controller) -> None:
    """Is a Failed pod replaced by a new one, and left in place?"""
    registry, ctl = rs_controller
    make_rs(registry, 2)
    reconcile(ctl)
    first = [p["metadata"]["name"] for p in registry.list(PODS, "default")]
    assert len(first) == 2 and all(n.startswith("web-") and len(n) == 9 for n in first)
    set_status(registry, first[0], phase="Failed", reason="Evicted")
    reconcile(ctl)
    pods = {p["metadata"]["name"]: p["status"].get("phase") for p in registry.list(PODS, "default")}
    assert len(pods) == 3 and pods[first[0]] == "Failed"
    rs = registry.get(REPLICASETS, "default", "web")
    assert rs["status"]["replicas"] == 2 and rs["status"]["observedGeneration"] == 1
    created = [e["message"] for e in registry.list(EVENTS, "default") if e["reason"] == "SuccessfulCreate"]
    assert len(created) == 3 and all(m.startswith("Created pod: web-") for m in created)


def test_repeated_reconciles_create_nothing_extra(rs_controller) -> None:
    """Do many reconciles of the same ReplicaSet (an event burst) still leave exactly `replicas` pods?"""
    registry, ctl = rs_controller
    make_rs(registry, 3)
    for _ in range(5):
        reconcile(ctl)
    assert len(registry.list(PODS, "default")) == 3


def test_scale_down_removes_the_unready_pod(rs_controller) -> None:
    """On scale-down, are the pending and unready pods deleted before a ready one?"""
    registry, ctl = rs_controller
    make_rs(registry, 3)
    reconcile(ctl)
    names = sorted(p["metadata"]["name"] for p in registry.list(PODS, "default"))
    for name in names[:2]:
        registry.bind("default", name, "kk-worker")
    set_status(registry, names[0], phase="Running",
               conditions=[{"type": "Ready", "status": "True", "lastTransitionTime": registry.now()}])
    set_status(registry, names[1], phase="Running",
               conditions=[{"type": "Ready", "status": "False", "lastTransitionTime": registry.now()}])
    rs = copy.deepcopy(registry.get(REPLICASETS, "default", "web"))
    rs["spec"]["replicas"] = 1
    registry.update(REPLICASETS, "default", "web", rs)
    reconcile(ctl)
    left = [p for p in registry.list(PODS, "default") if not p["metadata"].get("deletionTimestamp")]
    assert [p["metadata"]["name"] for p in left] == [names[0]]
    rs = registry.get(REPLICASETS, "default", "web")
    assert (rs["status"]["replicas"], rs["status"]["readyReplicas"], rs["status"]["availableReplicas"]) == (1, 1, 1)
