"""Are invalid Job failure policies refused end to end as a real kube-apiserver refuses them?

A real kubectl (each version found) applying a bad Job must print ``The Job "x"
is invalid: ...`` with the batch validators' field paths and messages, and the
official client must get a 422 Invalid whose causes carry the same fields and
reasons. A well-formed policy must still be created.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException


def job_manifest(name: str, **spec: Any) -> dict[str, Any]:
    """A one-container Job with ``restartPolicy: Never`` and extra ``spec`` fields."""
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "main", "image": "busybox"}]}}, **spec}}


@pytest.mark.kubectl
def test_kubectl_apply_reports_failure_policy_mistakes(kubectl) -> None:
    """Does `kubectl apply` of a Job with bad per-index limits and rules print each cause on its own line?"""
    bad = job_manifest("x", completionMode="Indexed", completions=2, maxFailedIndexes=3, podFailurePolicy={"rules": [
        {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [0]}},
        {"action": "FailJob", "onExitCodes": {"operator": "In", "containerName": "sidecar", "values": [2, 1]}}]})
    r = kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert r.returncode == 1
    rules = "spec.podFailurePolicy.rules"
    assert r.stderr.strip() == "\n".join([
        'The Job "x" is invalid: ',
        "* spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
        "* spec.maxFailedIndexes: Invalid value: 3: must be less than or equal to completions",
        f'* {rules}[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
        f"* {rules}[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
        f'* {rules}[1].onExitCodes.containerName: Invalid value: "sidecar": must be one of the container or '
        "initContainer names in the pod template",
        f"* {rules}[1].onExitCodes.values: Invalid value: [2,1]: must be ordered"])
    assert kubectl("get", "jobs", "-o", "name").stdout == ""


@pytest.mark.kubectl
def test_kubectl_apply_reports_a_single_cause_inline(kubectl) -> None:
    """Is a lone cause printed on the `is invalid:` line itself, and a valid policy then created?"""
    rule = {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}
    bad = job_manifest("x", podFailurePolicy={"rules": [rule]})
    bad["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    r = kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == ('The Job "x" is invalid: spec.template.spec.restartPolicy: Invalid value: '
                                '"OnFailure": only "Never" is supported when podFailurePolicy is specified')
    good = job_manifest("x", podFailurePolicy={"rules": [rule]}, suspend=True)
    assert kubectl("apply", "-f", "-", input=yaml.safe_dump(good)).stdout.strip() == "job.batch/x created"


def test_client_gets_422_with_failure_policy_causes(api, namespace) -> None:
    """Does the official client get a 422 Invalid whose causes give each field, reason and message?"""
    rules = [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [i]}} for i in range(1, 21)]
    rules += [{"action": "Retry", "onExitCodes": {"operator": "Is", "values": [1, 1]},
               "onPodConditions": [{"type": "DisruptionTarget", "status": "Maybe"}]}]
    body = job_manifest("bad", backoffLimitPerIndex=1, podFailurePolicy={"rules": rules})
    with pytest.raises(ApiException) as err:
        client.BatchV1Api(api).create_namespaced_job(namespace, body)
    assert err.value.status == 422
    status = json.loads(err.value.body)
    assert status["reason"] == "Invalid"
    assert (status["details"]["group"], status["details"]["kind"], status["details"]["name"]) == ("batch", "Job", "bad")
    rule = "spec.podFailurePolicy.rules[20]"
    assert status["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "field": "spec.backoffLimitPerIndex",
         "message": "Invalid value: 1: requires indexed completion mode"},
        {"reason": "FieldValueTooMany", "field": "spec.podFailurePolicy.rules",
         "message": "Too many: 21: must have at most 20 items"},
        {"reason": "FieldValueNotSupported", "field": f"{rule}.action",
         "message": 'Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"'},
        {"reason": "FieldValueNotSupported", "field": f"{rule}.onExitCodes.operator",
         "message": 'Unsupported value: "Is": supported values: "In", "NotIn"'},
        {"reason": "FieldValueDuplicate", "field": f"{rule}.onExitCodes.values[1]", "message": "Duplicate value: 1"},
        {"reason": "FieldValueNotSupported", "field": f"{rule}.onPodConditions[0].status",
         "message": 'Unsupported value: "Maybe": supported values: "False", "True", "Unknown"'},
        {"reason": "FieldValueInvalid", "field": rule,
         "message": "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported"},
    ]
    assert status["message"].startswith('Job.batch "bad" is invalid: [spec.backoffLimitPerIndex: Invalid value: 1: ')
