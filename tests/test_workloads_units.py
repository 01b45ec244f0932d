"""Pure unit tests of the workload controllers' arithmetic, with no sandbox running.

Checks the pod-template-hash (shape, stability, what it ignores), maxSurge/maxUnavailable
rounding, the order in which a ReplicaSet picks pods to delete, label selector matching,
Indexed Job index strings, CronJob schedule parsing and the Deployment condition rules.
"""

from __future__ import annotations

import re

import pytest

from kk_helpers.sandbox.controllers import cronjob, deployment, job, workloads

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
    d = {"spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate",
                                                     "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}}
    assert deployment.resolve_fenceposts(d) == expected


def test_recreate_has_no_surge() -> None:
    """Does a Recreate Deployment never surge nor count unavailability budget?"""
    d = {"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}}
    assert deployment.max_surge(d) == 0 and deployment.max_unavailable(d) == 0


def pod(name: str, *, node: str = "w1", phase: str = "Running", ready: bool = True, created: str = "2024-01-01T00:00:00Z",
        ready_at: str = "2024-01-01T00:00:10Z", restarts: int = 0, cost: int | None = None) -> dict:
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


@pytest.mark.parametrize("schedule", ["* * * * *", "@hourly", "@daily", "*/5 1-3 * * MON-FRI", "0 0 1 1 *"])
def test_schedules_accepted(schedule: str) -> None:
    """Are five-field expressions and the @ descriptors accepted?"""
    assert len(cronjob.parse_schedule(schedule).split()) == 5


@pytest.mark.parametrize("schedule", ["* * * *", "* * * * * *", "61 * * * *", "@every 1h", "TZ=UTC * * * * *"])
def test_schedules_rejected(schedule: str) -> None:
    """Are wrong field counts, out-of-range values and unsupported forms refused?"""
    with pytest.raises(cronjob.ScheduleError):
        cronjob.parse_schedule(schedule)


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
