"""Do Job pod failure policies and per-index backoff limits behave as the real Job controller makes them?

Against the fast-mode sandbox, with the real kubectl and the official client:
``podFailurePolicy`` rules (``FailJob`` on an exit code, ``Ignore`` on a pod
condition, ``FailIndex``), ``backoffLimitPerIndex`` with its per-index failure
count annotations, ``status.failedIndexes`` and ``maxFailedIndexes``, each with
the interim ``FailureTarget`` condition before ``Failed`` and the real reasons
and messages (``PodFailurePolicy``, ``FailedIndexes``, ``MaxFailedIndexesExceeded``,
``BackoffLimitExceeded``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client
from waiting import wait_until

JOB_NAME = "batch.kubernetes.io/job-name"
INDEX = "batch.kubernetes.io/job-completion-index"
FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"


def batch(api: Any) -> client.BatchV1Api:
    return client.BatchV1Api(api)


def core(api: Any) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def job_body(name: str, command: str, **spec: Any) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", command]}]}}, **spec}}


def conditions(job: client.V1Job) -> list[tuple[str, str, str, str]]:
    return [(c.type, c.status, c.reason or "", c.message or "") for c in job.status.conditions or []]


def finished(api: Any, ns: str, name: str) -> client.V1Job | None:
    job = batch(api).read_namespaced_job(name, ns)
    return job if any(t in ("Complete", "Failed") and s == "True" for t, s, _, _ in conditions(job)) else None


def events(api: Any, ns: str, name: str) -> list[tuple[str, str, str]]:
    evs = core(api).list_namespaced_event(ns, field_selector=f"involvedObject.name={name}").items
    return [(e.type, e.reason, e.message) for e in evs]


def job_pods(api: Any, ns: str, name: str) -> list[client.V1Pod]:
    pods = core(api).list_namespaced_pod(ns, label_selector=f"{JOB_NAME}={name}").items
    return sorted(pods, key=lambda p: p.metadata.creation_timestamp)


def running(api: Any, ns: str, name: str) -> list[client.V1Pod]:
    return [p for p in job_pods(api, ns, name) if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]


# -- podFailurePolicy --------------------------------------------------------------------------


@pytest.mark.kubectl
def test_fail_job_rule_fails_at_once(pinned_kubectl, api) -> None:
    """Does a FailJob rule on exit code 42 fail the Job on the first failure, despite backoffLimit 6?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    body = job_body("fj", "echo failing; exit 42", backoffLimit=6, podFailurePolicy={"rules": [
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}]})
    assert k("apply", "-f", "-", input=json.dumps(body)).stdout.strip() == "job.batch/fj created"
    out = k("wait", "--for=condition=failed", "job/fj", "--timeout=30s").stdout
    assert out.strip() == "job.batch/fj condition met"
    job = batch(api).read_namespaced_job("fj", ns)
    pod = job_pods(api, ns, "fj")
    assert len(pod) == 1
    msg = (f"Container main for pod {ns}/{pod[0].metadata.name} failed with exit code 42 "
           "matching FailJob rule at index 0")
    assert conditions(job) == [("FailureTarget", "True", "PodFailurePolicy", msg),
                               ("Failed", "True", "PodFailurePolicy", msg)]
    assert (job.status.failed, job.status.active, job.status.succeeded) == (1, None, None)
    assert job.spec.pod_replacement_policy == "Failed"
    assert ("Warning", "PodFailurePolicy", msg) in events(api, ns, "fj")
    described = k("describe", "job", "fj").stdout
    assert "PodFailurePolicy" in described
    time.sleep(0.3)
    assert len(job_pods(api, ns, "fj")) == 1  # no retry


def test_exit_code_outside_the_rule_is_counted(api, namespace) -> None:
    """Does a failure no rule matches count towards backoffLimit as usual (BackoffLimitExceeded)?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, job_body("cnt", "exit 3", backoffLimit=1, podFailurePolicy={"rules": [
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}))
    job = wait_until(lambda: finished(api, ns, "cnt"), timeout=30, what="the job to fail")
    msg = "Job has reached the specified backoff limit"
    assert conditions(job) == [("FailureTarget", "True", "BackoffLimitExceeded", msg),
                               ("Failed", "True", "BackoffLimitExceeded", msg)]
    assert job.status.failed == 2 and len(job_pods(api, ns, "cnt")) == 2


def test_ignore_rule_does_not_count_a_disruption(api, namespace) -> None:
    """Is a pod failed with DisruptionTarget replaced without counting (Ignore), while the next failure counts?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, job_body("ign", "sleep 1000", backoffLimit=0, podFailurePolicy={"rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}))
    first = wait_until(lambda: running(api, ns, "ign"), what="the first pod to run")[0]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conds = [c.to_dict() for c in first.status.conditions]
    conds = [{"type": c["type"], "status": c["status"], "lastTransitionTime": now} for c in conds]
    conds.append({"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                  "message": "preempted", "lastTransitionTime": now})
    core(api).patch_namespaced_pod_status(first.metadata.name, ns, {"status": {"phase": "Failed",
                                                                               "conditions": conds}})
    second = wait_until(lambda: [p for p in running(api, ns, "ign") if p.metadata.name != first.metadata.name],
                        what="a replacement pod")[0]
    job = batch(api).read_namespaced_job("ign", ns)
    assert not job.status.failed and not [c for c in conditions(job) if c[0] in ("FailureTarget", "Failed")]
    assert core(api).read_namespaced_pod(first.metadata.name, ns).status.phase == "Failed"  # stays terminal
    core(api).patch_namespaced_pod_status(second.metadata.name, ns, {"status": {"phase": "Failed"}})
    job = wait_until(lambda: finished(api, ns, "ign"), what="the counted failure to fail the job")
    assert conditions(job)[-1][:3] == ("Failed", "True", "BackoffLimitExceeded")
    assert job.status.failed == 1


# -- backoffLimitPerIndex ----------------------------------------------------------------------


INDEX_SCRIPT = ('if [ "$JOB_COMPLETION_INDEX" = 1 ]; then exit 1; fi; '
                'if [ "$JOB_COMPLETION_INDEX" = 2 ]; then exit 42; fi; echo done')


def test_backoff_limit_per_index_and_fail_index(api, namespace) -> None:
    """Does each index get its own retries, FailIndex end an index at once, and the Job fail with FailedIndexes?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, job_body(
        "per", INDEX_SCRIPT, completions=4, parallelism=4, completionMode="Indexed", backoffLimitPerIndex=1,
        podFailurePolicy={"rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}]}))
    job = wait_until(lambda: finished(api, ns, "per"), timeout=30, what="the job to finish")
    msg = "Job has failed indexes"
    assert conditions(job) == [("FailureTarget", "True", "FailedIndexes", msg),
                               ("Failed", "True", "FailedIndexes", msg)]
    assert job.spec.backoff_limit == 2147483647
    assert (job.status.completed_indexes, job.status.failed_indexes) == ("0,3", "1,2")
    assert (job.status.succeeded, job.status.failed) == (2, 3)
    by_index: dict[str, list[str]] = {}
    for p in job_pods(api, ns, "per"):
        by_index.setdefault(p.metadata.annotations[INDEX], []).append(p.metadata.annotations[FAILURE_COUNT])
    # index 1 failed twice (counts 0 then 1), index 2 once (FailIndex), 0 and 3 succeeded first time
    assert {ix: sorted(counts) for ix, counts in by_index.items()} == {"0": ["0"], "1": ["0", "1"], "2": ["0"],
                                                                     "3": ["0"]}
    assert ("Warning", "FailedIndexes", msg) in events(api, ns, "per")


def test_max_failed_indexes_stops_the_job(api, namespace) -> None:
    """Does exceeding maxFailedIndexes fail the Job with MaxFailedIndexesExceeded before the other indexes run?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, job_body(
        "mx", "exit 1", completions=5, parallelism=1, completionMode="Indexed", backoffLimitPerIndex=0,
        maxFailedIndexes=0))
    job = wait_until(lambda: finished(api, ns, "mx"), timeout=30, what="the job to fail")
    msg = "Job has exceeded the specified maximal number of failed indexes"
    assert conditions(job) == [("FailureTarget", "True", "MaxFailedIndexesExceeded", msg),
                               ("Failed", "True", "MaxFailedIndexesExceeded", msg)]
    assert job.status.failed_indexes == "0" and job.status.failed == 1
    assert [p.metadata.annotations[INDEX] for p in job_pods(api, ns, "mx")] == ["0"]


def test_per_index_job_that_succeeds_reports_empty_failed_indexes(api, namespace) -> None:
    """Does a per-index Job whose pods all succeed complete with failedIndexes "" and the failure-count annotation?"""
    ns = namespace
    batch(api).create_namespaced_job(ns, job_body("ok", "echo fine", completions=2, parallelism=2,
                                                  completionMode="Indexed", backoffLimitPerIndex=2))
    job = wait_until(lambda: finished(api, ns, "ok"), what="the job to complete")
    assert conditions(job)[-1][:3] == ("Complete", "True", "CompletionsReached")
    assert (job.status.completed_indexes, job.status.failed_indexes) == ("0,1", "")
    assert all(p.metadata.annotations[FAILURE_COUNT] == "0" for p in job_pods(api, ns, "ok"))
