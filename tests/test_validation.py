"""Validation messages: does the sandbox reject what kube-apiserver rejects, with the same words?

Each case builds an object the way a learner writes it, runs it through
defaulting and registry preparation (as the server does), and compares the
field errors with the real validators' text (``pkg/apis/*/validation``,
apimachinery ``field.Error`` formatting of 1.34+ servers). Also covered:
decode-time errors (wrong JSON types, quantities, base64), update rules,
quantities and cron schedules.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kk_helpers.sandbox import defaults, errors, openapi, resources, validation
from kk_helpers.sandbox.resources import ResourceType


def _known(rt: ResourceType | None) -> ResourceType:
    """A resource type the registry table must define."""
    assert rt is not None
    return rt


CONFIGMAPS = _known(resources.CONFIGMAPS)
CRONJOBS = _known(resources.CRONJOBS)
DEPLOYMENTS = _known(resources.DEPLOYMENTS)
JOBS = _known(resources.JOBS)
NAMESPACES = _known(resources.NAMESPACES)
NODES = _known(resources.NODES)
PODS = _known(resources.PODS)
REPLICASETS = _known(resources.REPLICASETS)
SECRETS = _known(resources.SECRETS)
SERVICES = _known(resources.SERVICES)

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
               "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                   "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def created(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """Default and prepare ``obj`` as a create request would be."""
    return defaults.prepare_create(rt, defaults.apply_defaults(rt, obj))


def problems(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """The ``field: message`` lines the sandbox reports for a create (or an update of ``old``)."""
    if old is None:
        ready = created(rt, obj)
    else:
        ready = defaults.prepare_update(rt, old, defaults.apply_defaults(rt, obj))
    return [f"{c.field}: {c.message}" if c.field else c.message for c in validation.validate(rt, ready, old)]


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"}, "spec": base}


def container(**fields: Any) -> dict[str, Any]:
    return pod(containers=[{"name": "app", "image": "nginx:1.27", **fields}])


def deployment(labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    labels = {"app": "web"} if labels is None else labels
    base: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}},
    }
    base.update(spec)
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": base}


def job(restart: str | None = "Never", **spec: Any) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [{"name": "pi", "image": "perl"}]}
    if restart is not None:
        pod_spec["restartPolicy"] = restart
    return {"metadata": {"name": "pi", "namespace": "default", "uid": "0000-1111"},
            "spec": {"template": {"spec": pod_spec}, **spec}}


def cronjob(schedule: str = "*/5 * * * *", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "tick", "namespace": "default"},
            "spec": {"schedule": schedule, **spec,
                     "jobTemplate": {"spec": {"template": {"spec": {
                         "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}}


def service(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    base.update(spec)
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": base}


VALID = [
    (PODS, pod()),
    (DEPLOYMENTS, deployment()),
    (REPLICASETS, {"metadata": {"name": "web-5d4f8", "namespace": "default"}, "spec": deployment()["spec"]}),
    (JOBS, job()),
    (CRONJOBS, cronjob()),
    (CRONJOBS, cronjob("@hourly")),
    (CRONJOBS, cronjob("0 3 * * mon-fri", timeZone="Europe/Paris")),
    (SERVICES, service()),
    (SERVICES, service(type="NodePort", ports=[{"name": "http", "port": 80}, {"name": "https", "port": 443}])),
    (SERVICES, {"metadata": {"name": "ext", "namespace": "default"},
                "spec": {"type": "ExternalName", "externalName": "example.com"}}),
    (NAMESPACES, {"metadata": {"name": "dev"}}),
    (CONFIGMAPS, {"metadata": {"name": "cfg", "namespace": "default"}, "data": {"app.properties": "a=b"}}),
    (SECRETS, {"metadata": {"name": "s", "namespace": "default"}, "stringData": {"password": "hunter2"}}),
    (NODES, {"metadata": {"name": "node-1"}}),
]


@pytest.mark.parametrize("rt, obj", VALID, ids=[f"{rt.plural}-{i}" for i, (rt, _) in enumerate(VALID)])
def test_valid_objects_pass(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Do ordinary, correct manifests validate without errors?"""
    assert problems(rt, obj) == []


CASES: list[tuple[str, ResourceType, dict[str, Any], list[str]]] = [
    ("name required", PODS, {"metadata": {"namespace": "default"}, "spec": pod()["spec"]},
     ["metadata.name: Required value: name or generateName is required"]),
    ("pod name subdomain", PODS, {**pod(), "metadata": {"name": "My_App", "namespace": "default"}},
     [f'metadata.name: Invalid value: "My_App": {SUBDOMAIN_MSG}']),
    ("generateName checked as a prefix", PODS,
     {**pod(), "metadata": {"generateName": "Web-", "name": "Web-abcde", "namespace": "default"}},
     [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN_MSG}',
      f'metadata.name: Invalid value: "Web-abcde": {SUBDOMAIN_MSG}']),
    ("namespace name is a DNS label", NAMESPACES, {"metadata": {"name": "my.team"}},
     ['metadata.name: Invalid value: "my.team": must not contain dots']),
    ("namespace name uppercase", NAMESPACES, {"metadata": {"name": "Dev"}},
     [f'metadata.name: Invalid value: "Dev": {LABEL_MSG}']),
    ("service name is DNS-1035", SERVICES, {**service(), "metadata": {"name": "1web", "namespace": "default"}},
     [f'metadata.name: Invalid value: "1web": {DNS1035_MSG}']),
    ("label value", PODS, {**pod(), "metadata": {"name": "web", "namespace": "default", "labels": {"app": "my app"}}},
     [f'metadata.labels: Invalid value: "my app": {LABEL_VALUE_MSG}']),
    ("label key", PODS, {**pod(), "metadata": {"name": "web", "namespace": "default", "labels": {"my app": "x"}}},
     ['metadata.labels: Invalid value: "my app": name part must consist of alphanumeric characters, \'-\', '
      "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
      "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
    ("annotation size", PODS,
     {**pod(), "metadata": {"name": "web", "namespace": "default", "annotations": {"big": "x" * 262145}}},
     ["metadata.annotations: Too long: may not be more than 262144 bytes"]),
    ("containers required", PODS, pod(containers=[]), ["spec.containers: Required value"]),
    ("image required", PODS, pod(containers=[{"name": "app"}]), ["spec.containers[0].image: Required value"]),
    ("container name", PODS, pod(containers=[{"name": "Web_App", "image": "nginx"}]),
     [f'spec.containers[0].name: Invalid value: "Web_App": {LABEL_MSG}']),
    ("container name required", PODS, pod(containers=[{"image": "nginx"}]),
     ["spec.containers[0].name: Required value"]),
    ("duplicate container names", PODS,
     pod(containers=[{"name": "app", "image": "a"}, {"name": "app", "image": "b"}]),
     ['spec.containers[1].name: Duplicate value: "app"']),
    ("image whitespace", PODS, pod(containers=[{"name": "app", "image": "nginx "}]),
     ['spec.containers[0].image: Invalid value: "nginx ": must not have leading or trailing whitespace']),
    ("container port range", PODS, container(ports=[{"containerPort": 70000}]),
     ["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"]),
    ("protocol", PODS, container(ports=[{"containerPort": 80, "protocol": "XYZ"}]),
     ['spec.containers[0].ports[0].protocol: Unsupported value: "XYZ": supported values: "SCTP", "TCP", "UDP"']),
    ("duplicate port names", PODS,
     container(ports=[{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}]),
     ['spec.containers[0].ports[1].name: Duplicate value: "http"']),
    ("port name syntax", PODS, container(ports=[{"name": "HTTP_port", "containerPort": 80}]),
     ['spec.containers[0].ports[0].name: Invalid value: "HTTP_port": must contain only alpha-numeric characters '
      "(a-z, 0-9), and hyphens (-)"]),
    ("env name", PODS, container(env=[{"name": "A=B", "value": "1"}]),
     ['spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only '
      "of printable ASCII characters other than '='"]),
    ("env name required", PODS, container(env=[{"value": "1"}]), ["spec.containers[0].env[0].name: Required value"]),
    ("requests above limits", PODS, container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
     ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1']),
    ("negative quantity", PODS, container(resources={"requests": {"memory": "-1Mi"}}),
     ['spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": must be greater than or equal to 0']),
    ("unknown resource", PODS, container(resources={"requests": {"cpus": "1"}}),
     ['spec.containers[0].resources.requests[cpus]: Invalid value: "cpus": must be a standard resource for '
      "containers"]),
    ("pull policy", PODS, container(imagePullPolicy="Sometimes"),
     ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", '
      '"IfNotPresent", "Never"']),
    ("restart policy", PODS, pod(restartPolicy="Sometimes"),
     ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"']),
    ("dns policy", PODS, pod(dnsPolicy="Cluster"),
     ['spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", '
      '"ClusterFirst", "Default", "None"']),
    ("volume mount of a missing volume", PODS, container(volumeMounts=[{"name": "data", "mountPath": "/data"}]),
     ['spec.containers[0].volumeMounts[0].name: Not found: "data"']),
    ("configMap volume name", PODS, pod(volumes=[{"name": "cfg", "configMap": {}}]),
     ["spec.volumes[0].configMap.name: Required value"]),
    ("duplicate volumes", PODS, pod(volumes=[{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]),
     ['spec.volumes[1].name: Duplicate value: "a"']),
    ("probe without handler", PODS, container(livenessProbe={"initialDelaySeconds": 5}),
     ["spec.containers[0].livenessProbe: Required value: must specify a handler type"]),
    ("liveness success threshold", PODS,
     container(livenessProbe={"httpGet": {"port": 80}, "successThreshold": 2}),
     ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
    ("node name", PODS, pod(nodeName="Node_1"), [f'spec.nodeName: Invalid value: "Node_1": {SUBDOMAIN_MSG}']),
    ("toleration operator", PODS, pod(tolerations=[{"key": "k", "operator": "Maybe"}]),
     ['spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"']),
    ("replicas negative", DEPLOYMENTS, deployment(replicas=-1),
     ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
    ("selector mismatch", DEPLOYMENTS, deployment(labels={"app": "x"}),
     ['spec.template.metadata.labels: Invalid value: {"app":"x"}: `selector` does not match template `labels`']),
    ("selector missing", DEPLOYMENTS, {**deployment(), "spec": {k: v for k, v in deployment()["spec"].items()
                                                                if k != "selector"}},
     ["spec.selector: Required value",
      'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`']),
    ("selector empty", DEPLOYMENTS, deployment(selector={}),
     ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"]),
    ("template without labels", DEPLOYMENTS, deployment(labels={}),
     ['spec.template.metadata.labels: Invalid value: {}: `selector` does not match template `labels`']),
    ("template label syntax", DEPLOYMENTS, deployment(labels={"app": "web", "v": "1.0 beta"}),
     [f'spec.template.labels: Invalid value: "1.0 beta": {LABEL_VALUE_MSG}']),
    ("template restart policy", DEPLOYMENTS,
     deployment(template={"metadata": {"labels": {"app": "web"}},
                          "spec": {"restartPolicy": "Never", "containers": [{"name": "a", "image": "b"}]}}),
     ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']),
    ("template image", DEPLOYMENTS,
     deployment(template={"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a"}]}}),
     ["spec.template.spec.containers[0].image: Required value"]),
    ("strategy type", DEPLOYMENTS, deployment(strategy={"type": "BlueGreen"}),
     ['spec.strategy: Unsupported value: {"Type":"BlueGreen","RollingUpdate":null}: supported values: '
      '"Recreate", "RollingUpdate"']),
    ("recreate with rollingUpdate", DEPLOYMENTS,
     deployment(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
     ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]),
    ("bad percent", DEPLOYMENTS, deployment(strategy={"rollingUpdate": {"maxSurge": "25"}}),
     ['spec.strategy.rollingUpdate.maxSurge: Invalid value: "25": a valid percent string must be a numeric string '
      "followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]),
    ("both zero", DEPLOYMENTS, deployment(strategy={"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
     ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"]),
    ("progress deadline", DEPLOYMENTS, deployment(minReadySeconds=700),
     ["spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"]),
    ("match expression values", DEPLOYMENTS,
     deployment(selector={"matchExpressions": [{"key": "app", "operator": "In"}]}),
     ["spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
      "'NotIn'",
      'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"In"}]}: invalid label selector']),
    ("replicaset empty selector message", REPLICASETS,
     {"metadata": {"name": "rs", "namespace": "default"}, "spec": deployment(selector={})["spec"]},
     ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"]),
    ("job restart policy defaulted to Always", JOBS, job(restart=None),
     ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']),
    ("job restart policy Always", JOBS, job(restart="Always"),
     ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']),
    ("job restart policy unknown (pod spec and job both report it)", JOBS, job(restart="Sometimes"),
     ['spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
      '"OnFailure", "Never"',
      'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", '
      '"Never"']),
    ("job backoffLimit", JOBS, job(backoffLimit=-1),
     ["spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"]),
    ("job completion mode", JOBS, job(completionMode="Sometimes"),
     ['spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"']),
    ("cron schedule fields", CRONJOBS, cronjob("bad"),
     ['spec.schedule: Invalid value: "bad": expected exactly 5 fields, found 1: [bad]']),
    ("cron schedule range", CRONJOBS, cronjob("61 * * * *"),
     ['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']),
    ("cron schedule word", CRONJOBS, cronjob("every 5 minutes please ok"),
     ['spec.schedule: Invalid value: "every 5 minutes please ok": failed to parse int from every: strconv.Atoi: '
      'parsing "every": invalid syntax']),
    ("cron TZ in schedule", CRONJOBS, cronjob("CRON_TZ=UTC * * * * *"),
     ['spec.schedule: Invalid value: "CRON_TZ=UTC * * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone '
      "field instead"]),
    ("cron time zone", CRONJOBS, cronjob(timeZone="Europe/Pariss"),
     ['spec.timeZone: Invalid value: "Europe/Pariss": unknown time zone Europe/Pariss']),
    ("cron descriptor", CRONJOBS, cronjob("@fortnightly"),
     ['spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly']),
    ("cron concurrency", CRONJOBS, cronjob(concurrencyPolicy="Sometimes"),
     ['spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"']),
    ("cron name length", CRONJOBS, {**cronjob(), "metadata": {"name": "n" * 53, "namespace": "default"}},
     [f'metadata.name: Invalid value: "{"n" * 53}": must be no more than 52 characters']),
    ("cron job template restart policy", CRONJOBS,
     {**cronjob(), "spec": {**cronjob()["spec"], "jobTemplate": {"spec": {"template": {"spec": {
         "containers": [{"name": "c", "image": "busybox"}]}}}}}},
     ['spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']),
    ("service ports required", SERVICES, service(ports=[]), ["spec.ports: Required value"]),
    ("service port range", SERVICES, service(ports=[{"port": 0}]),
     ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
      "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    ("service protocol", SERVICES, service(ports=[{"port": 80, "protocol": "HTTP"}]),
     ['spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"']),
    ("service port names", SERVICES, service(ports=[{"port": 80}, {"port": 443}]),
     ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]),
    ("service type", SERVICES, service(type="Public"),
     ['spec.type: Unsupported value: "Public": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
      '"NodePort"']),
    ("service nodePort on ClusterIP", SERVICES, service(ports=[{"port": 80, "nodePort": 30080}]),
     ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]),
    ("service targetPort name", SERVICES, service(ports=[{"port": 80, "targetPort": "http_port"}]),
     ['spec.ports[0].targetPort: Invalid value: "http_port": must contain only alpha-numeric characters (a-z, '
      "0-9), and hyphens (-)"]),
    ("service duplicate port", SERVICES,
     service(ports=[{"name": "a", "port": 80}, {"name": "b", "port": 80}]),
     ['spec.ports[1]: Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,'
      '"NodePort":0}']),
    ("configmap key", CONFIGMAPS, {"metadata": {"name": "c", "namespace": "default"}, "data": {"a b": "x"}},
     ['data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, \'-\', \'_\' '
      "or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]),
    ("tls secret keys", SECRETS, {"metadata": {"name": "s", "namespace": "default"}, "type": "kubernetes.io/tls"},
     ["data[tls.crt]: Required value", "data[tls.key]: Required value"]),
    ("namespace on a cluster-scoped kind", NODES, {"metadata": {"name": "n", "namespace": "default"}},
     ["metadata.namespace: Forbidden: not allowed on this type"]),
    ("finalizer name", PODS, {**pod(), "metadata": {"name": "web", "namespace": "default", "finalizers": ["cleanup"]}},
     ['metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it '
      "fully qualified"]),
]


@pytest.mark.parametrize("rt, obj, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_objects_report_real_messages(rt: ResourceType, obj: dict[str, Any], expected: list[str]) -> None:
    """Is each mistake reported at the same field with the same message as kube-apiserver?"""
    assert problems(rt, obj) == expected


def test_invalid_status_text_joins_causes() -> None:
    """Does errors.invalid on the causes give kubectl's familiar one-line message?"""
    obj = created(DEPLOYMENTS, deployment(replicas=-1))
    err = errors.invalid(DEPLOYMENTS, "web", validation.validate(DEPLOYMENTS, obj))
    assert err.code == 422
    assert err.message == ('Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: '
                           "must be greater than or equal to 0")
    assert err.details["causes"] == [{"reason": "FieldValueInvalid",
                                      "message": "Invalid value: -1: must be greater than or equal to 0",
                                      "field": "spec.replicas"}]


def test_cause_reasons_follow_error_types() -> None:
    """Do causes carry the field error type as their reason (FieldValueRequired, ...)?"""
    causes = validation.validate(PODS, created(PODS, pod(containers=[{"name": "a"}], restartPolicy="x")))
    assert [c.reason for c in causes] == ["FieldValueRequired", "FieldValueNotSupported"]


def test_job_waiting_for_generated_selector_is_valid() -> None:
    """Is a job without a selector accepted on create, since the registry generates one from the uid?"""
    obj = created(JOBS, {**job(), "metadata": {"name": "pi", "namespace": "default"}})
    assert "selector" not in obj["spec"]
    assert validation.validate(JOBS, obj) == []


def test_job_with_conflicting_generated_label() -> None:
    """Is a template label that contradicts the generated selector reported as the real validator does?"""
    obj = job()
    obj["spec"]["template"]["metadata"] = {"labels": {"controller-uid": "other"}}
    assert problems(JOBS, obj) == [
        'spec.template.metadata.labels[controller-uid]: Invalid value: {"batch.kubernetes.io/controller-uid":'
        '"0000-1111","batch.kubernetes.io/job-name":"pi","controller-uid":"other","job-name":"pi"}: '
        "must be '0000-1111'"]


# -- job failure policies -------------------------------------------------------------------------

def indexed(completions: int = 3, **spec: Any) -> dict[str, Any]:
    """An Indexed job with ``restartPolicy: Never``."""
    return job(completionMode="Indexed", completions=completions, **spec)


def policy(*rules: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A job with a podFailurePolicy of ``rules``."""
    return job(podFailurePolicy={"rules": list(rules)}, **spec)


def exit_rule(action: str = "FailJob", **on_exit_codes: Any) -> dict[str, Any]:
    return {"action": action, "onExitCodes": {"operator": "In", "values": [42], **on_exit_codes}}


def condition_rule(action: str = "Ignore", **pattern: Any) -> dict[str, Any]:
    return {"action": action, "onPodConditions": [{"type": "DisruptionTarget", **pattern}]}


PFP = "spec.podFailurePolicy.rules"
ACTIONS = '"Count", "FailIndex", "FailJob", "Ignore"'
IN_TEMPLATE = "must be one of the container or initContainer names in the pod template"

VALID_FAILURE_POLICIES = [
    indexed(backoffLimitPerIndex=1, maxFailedIndexes=3),
    indexed(backoffLimitPerIndex=0, podFailurePolicy={"rules": [
        exit_rule("FailIndex", containerName="pi", values=[1, 2, 42]),
        {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [0, 1]}},
        condition_rule(), condition_rule("FailJob", type="example.com/Stuck", status="Unknown")]}),
    policy(*[exit_rule(values=[i]) for i in range(1, 21)]),
    policy(exit_rule(values=list(range(1, 256)))),
    {**job(), "spec": {"template": {"spec": {
        "restartPolicy": "Never", "initContainers": [{"name": "setup", "image": "busybox"}],
        "containers": [{"name": "pi", "image": "perl"}]}},
        "podFailurePolicy": {"rules": [exit_rule(containerName="setup")]}}},
]


@pytest.mark.parametrize("obj", VALID_FAILURE_POLICIES, ids=range(len(VALID_FAILURE_POLICIES)))
def test_valid_failure_policies_pass(obj: dict[str, Any]) -> None:
    """Are per-index limits and well-formed podFailurePolicy rules accepted?"""
    assert problems(JOBS, obj) == []


FAILURE_POLICY_CASES = [
    # -- maxFailedIndexes and backoffLimitPerIndex
    ("maxFailedIndexes alone on a NonIndexed job", job(maxFailedIndexes=1),
     ["spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
      "spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode"]),
    ("maxFailedIndexes without backoffLimitPerIndex", indexed(maxFailedIndexes=1),
     ["spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified"]),
    ("maxFailedIndexes above completions", indexed(backoffLimitPerIndex=1, maxFailedIndexes=4),
     ["spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions"]),
    ("maxFailedIndexes above 10^5", indexed(100_000, backoffLimitPerIndex=1, maxFailedIndexes=100_001),
     ["spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to completions",
      "spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to 100000"]),
    ("negative per-index limits", indexed(backoffLimitPerIndex=-1, maxFailedIndexes=-1),
     ["spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0",
      "spec.maxFailedIndexes: Invalid value: -1: must be greater than or equal to 0"]),
    ("backoffLimitPerIndex on a NonIndexed job", job(backoffLimitPerIndex=1),
     ["spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"]),
    ("Indexed parallelism above 10^5", indexed(parallelism=100_001),
     ["spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is "
      "Indexed"]),
    ("per-index limits with more than 10^5 completions", indexed(100_001, backoffLimitPerIndex=1, parallelism=10_001),
     ["spec.maxFailedIndexes: Required value: must be specified when completions is above 100000",
      "spec.parallelism: Invalid value: 10001: must be less than or equal to 10000 when completions are above "
      "100000 and used with backoff limit per index"]),
    # -- rules and actions
    ("too many rules", policy(*[exit_rule(values=[i]) for i in range(1, 22)]),
     [f"{PFP}: Too many: 21: must have at most 20 items"]),
    ("action missing", policy({"onExitCodes": {"operator": "In", "values": [1]}}),
     [f'{PFP}[0].action: Required value: valid values: ["Count" "FailIndex" "FailJob" "Ignore"]']),
    ("unknown action", policy(exit_rule("Retry")),
     [f'{PFP}[0].action: Unsupported value: "Retry": supported values: {ACTIONS}']),
    ("FailIndex without backoffLimitPerIndex", policy(exit_rule("FailIndex")),
     [f'{PFP}[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set']),
    ("both requirements", policy({**exit_rule(), "onPodConditions": [{"type": "DisruptionTarget"}]}),
     [f"{PFP}[0]: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported"]),
    ("no requirement", policy({"action": "FailJob"}),
     [f"{PFP}[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"]),
    ("empty onPodConditions counts as none", policy({"action": "FailJob", "onPodConditions": []}),
     [f"{PFP}[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"]),
    # -- onExitCodes
    ("unknown operator", policy(exit_rule(operator="Equals")),
     [f'{PFP}[0].onExitCodes.operator: Unsupported value: "Equals": supported values: "In", "NotIn"']),
    ("operator missing", policy({"action": "FailJob", "onExitCodes": {"values": [1]}}),
     [f'{PFP}[0].onExitCodes.operator: Required value: valid values: ["In" "NotIn"]']),
    ("unknown container", policy(exit_rule(containerName="main")),
     [f'{PFP}[0].onExitCodes.containerName: Invalid value: "main": {IN_TEMPLATE}']),
    ("no values", policy(exit_rule(values=[])),
     [f"{PFP}[0].onExitCodes.values: Invalid value: []: at least one value is required"]),
    ("values left out", policy({"action": "FailJob", "onExitCodes": {"operator": "NotIn"}}),
     [f"{PFP}[0].onExitCodes.values: Invalid value: null: at least one value is required"]),
    ("too many values", policy(exit_rule(values=list(range(1, 257)))),
     [f"{PFP}[0].onExitCodes.values: Too many: 256: must have at most 255 items"]),
    ("exit code 0 with In", policy(exit_rule(values=[0, 1])),
     [f"{PFP}[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator"]),
    ("duplicate exit code", policy(exit_rule(values=[1, 2, 2])),
     [f"{PFP}[0].onExitCodes.values[2]: Duplicate value: 2"]),
    ("unordered exit codes", policy(exit_rule(values=[3, 1, 2])),
     [f"{PFP}[0].onExitCodes.values: Invalid value: [3,1,2]: must be ordered"]),
    # -- onPodConditions
    ("condition type", policy(condition_rule(type="Disruption Target")),
     [f"{PFP}[0].onPodConditions[0].type: Invalid value: \"Disruption Target\": name part must consist of "
      "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
      "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
    ("condition status", policy(condition_rule(status="Yes")),
     [f'{PFP}[0].onPodConditions[0].status: Unsupported value: "Yes": supported values: "False", "True", '
      '"Unknown"']),
    ("too many condition patterns", policy({"action": "Ignore", "onPodConditions": [
        {"type": f"C{i}"} for i in range(21)]}),
     [f"{PFP}[0].onPodConditions: Too many: 21: must have at most 20 items"]),
    # -- the pod template and replacement policy
    ("podFailurePolicy with OnFailure", policy(condition_rule(), restart="OnFailure"),
     ['spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when '
      "podFailurePolicy is specified"]),
    ("podFailurePolicy with TerminatingOrFailed", policy(condition_rule(), podReplacementPolicy="TerminatingOrFailed"),
     ['spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"']),
]


@pytest.mark.parametrize("obj, expected", [c[1:] for c in FAILURE_POLICY_CASES],
                         ids=[c[0] for c in FAILURE_POLICY_CASES])
def test_failure_policy_mistakes_report_real_messages(obj: dict[str, Any], expected: list[str]) -> None:
    """Is each podFailurePolicy / per-index mistake reported as kube-apiserver's batch validation does?"""
    assert problems(JOBS, obj) == expected


def test_failure_policy_causes_carry_their_types() -> None:
    """Do the causes carry FieldValueTooMany, FieldValueDuplicate, FieldValueNotSupported... as reasons?"""
    obj = policy(*[exit_rule(values=[i]) for i in range(1, 21)],
                 {"onExitCodes": {"operator": "In", "values": [2, 2]}}, exit_rule("Retry"))
    causes = validation.validate(JOBS, created(JOBS, obj))
    assert [(c.field, c.reason) for c in causes] == [
        (PFP, "FieldValueTooMany"),
        (f"{PFP}[20].action", "FieldValueRequired"),
        (f"{PFP}[20].onExitCodes.values[1]", "FieldValueDuplicate"),
        (f"{PFP}[21].action", "FieldValueNotSupported")]


def test_cronjob_job_template_failure_policy() -> None:
    """Does a CronJob's jobTemplate get the same rules, at its own paths, without status defaulting?"""
    obj = cronjob()
    obj["spec"]["jobTemplate"]["spec"].update(completionMode="Indexed", completions=2, maxFailedIndexes=3,
                                              podFailurePolicy={"rules": [condition_rule("FailIndex")]})
    tpl = "spec.jobTemplate.spec"
    assert problems(CRONJOBS, obj) == [
        f"{tpl}.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
        f"{tpl}.maxFailedIndexes: Invalid value: 3: must be less than or equal to completions",
        f'{tpl}.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex '
        "to be set",
        f'{tpl}.podFailurePolicy.rules[0].onPodConditions[0].status: Required value: valid values: '
        '["False" "True" "Unknown"]',
        f'{tpl}.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when '
        "podFailurePolicy is specified"]


# -- updates ---------------------------------------------------------------------------------------

def stored(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    out = created(rt, obj)
    out["metadata"].setdefault("uid", "uid-1")
    out["metadata"].update(resourceVersion="5", creationTimestamp="2024-01-01T00:00:00Z")
    if rt is JOBS:
        out = defaults.prepare_job(out, out["metadata"]["uid"])
    if rt is SERVICES:
        out["spec"]["clusterIP"] = "10.96.0.20"
        out["spec"]["clusterIPs"] = ["10.96.0.20"]
    return out


def test_deployment_selector_is_immutable() -> None:
    """Does changing a Deployment's selector fail with 'field is immutable' and the new selector as JSON?"""
    old = stored(DEPLOYMENTS, deployment())
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "backend"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "backend"
    assert problems(DEPLOYMENTS, new, old) == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"backend"}}: field is immutable']


def test_deployment_scale_and_image_updates_are_valid() -> None:
    """Can replicas and the template image change freely?"""
    old = stored(DEPLOYMENTS, deployment())
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    assert problems(DEPLOYMENTS, new, old) == []


def test_pod_image_update_is_allowed() -> None:
    """May a pod's container image change in place?"""
    old = stored(PODS, pod())
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert problems(PODS, new, old) == []


def test_pod_spec_update_is_forbidden_with_the_real_message() -> None:
    """Does changing another pod field fail with the start of the real 'pod updates may not change' text?"""
    old = stored(PODS, container(ports=[{"containerPort": 80}]))
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["ports"][0]["containerPort"] = 81
    (line,) = problems(PODS, new, old)
    assert line.startswith(
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
        "previously negative)\n  core.PodSpec{\n")
    assert "- \tContainers[0].Ports[0].ContainerPort: 80," in line
    assert "+ \tContainers[0].Ports[0].ContainerPort: 81," in line


def test_pod_containers_cannot_be_added() -> None:
    """Does adding a container to a pod fail with the real message?"""
    old = stored(PODS, pod())
    new = copy.deepcopy(old)
    new["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    assert "spec.containers: Forbidden: pod updates may not add or remove containers" in problems(PODS, new, old)


def test_job_template_is_immutable() -> None:
    """Does changing a Job's pod template fail with 'field is immutable'?"""
    old = stored(JOBS, job())
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:5.40"
    (line,) = problems(JOBS, new, old)
    assert line.startswith("spec.template: Invalid value: {") and line.endswith("}: field is immutable")


def test_service_cluster_ip_cannot_change() -> None:
    """Does changing a Service's clusterIP fail with the real dual-stack-era message?"""
    old = stored(SERVICES, service())
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.99"
    new["spec"]["clusterIPs"] = ["10.96.0.99"]
    assert problems(SERVICES, new, old) == [
        'spec.clusterIPs[0]: Invalid value: ["10.96.0.99"]: may not change once set']


def test_service_update_without_cluster_ip_keeps_it() -> None:
    """Does an update that omits clusterIP (kubectl replace of the original manifest) keep the allocation?"""
    old = stored(SERVICES, service())
    new = defaults.prepare_update(SERVICES, old, defaults.apply_defaults(SERVICES, service()))
    assert new["spec"]["clusterIP"] == "10.96.0.20"
    assert validation.validate(SERVICES, new, old) == []


def test_uid_change_is_reported() -> None:
    """Is a changed immutable metadata field reported as 'field is immutable'?"""
    old = stored(CONFIGMAPS, {"metadata": {"name": "c", "namespace": "default"}, "data": {"a": "b"}})
    new = copy.deepcopy(old)
    new["metadata"]["uid"] = "other"
    assert problems(CONFIGMAPS, new, old) == ['metadata.uid: Invalid value: "other": field is immutable']


def test_immutable_configmap() -> None:
    """Is changing the data of an immutable ConfigMap forbidden with the real message?"""
    old = stored(CONFIGMAPS, {"metadata": {"name": "c", "namespace": "default"}, "data": {"a": "b"},
                              "immutable": True})
    new = copy.deepcopy(old)
    new["data"]["a"] = "c"
    assert problems(CONFIGMAPS, new, old) == ["data: Forbidden: field is immutable when `immutable` is set"]


# -- decoding --------------------------------------------------------------------------------------

@pytest.mark.parametrize("rt, obj, message", [
    (DEPLOYMENTS, {"spec": {"replicas": "3"}},
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
    (DEPLOYMENTS, {"spec": {"replicas": 1.5}},
     "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    (PODS, {"metadata": {"labels": {"version": 2}}},
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
    (DEPLOYMENTS, {"spec": {"template": {"metadata": {"labels": {"v": True}}}}},
     "json: cannot unmarshal bool into Go struct field ObjectMeta.spec.template.metadata.labels of type string"),
    (PODS, {"spec": {"containers": [{"name": "a", "env": [{"name": "N", "value": 5}]}]}},
     "json: cannot unmarshal number into Go struct field EnvVar.spec.containers.env.value of type string"),
    (PODS, {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}},
     "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort "
     "of type int32"),
    (PODS, {"spec": {"containers": {"name": "a"}}},
     "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container"),
    (PODS, {"spec": {"containers": [{"args": [1]}]}},
     "json: cannot unmarshal number into Go struct field Container.spec.containers.args of type string"),
    (PODS, {"spec": {"containers": [{"resources": {"limits": {"cpu": "abc"}}}]}},
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    (PODS, {"spec": {"containers": [{"resources": {"requests": {"memory": "1mm"}}}]}},
     "unable to parse quantity's suffix"),
    (SERVICES, {"spec": {"ports": [{"port": 80, "targetPort": True}]}},
     "json: cannot unmarshal bool into Go value of type int32"),
    (CONFIGMAPS, {"data": {"port": 8080}},
     "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"),
    (SECRETS, {"data": {"password": "not base64!"}}, "illegal base64 data at input byte 3"),
    (SERVICES, {"spec": {"type": 5}},
     "json: cannot unmarshal number into Go struct field ServiceSpec.spec.type of type v1.ServiceType"),
    (PODS, {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "protocol": 6}]}]}},
     "json: cannot unmarshal number into Go struct field ContainerPort.spec.containers.ports.protocol "
     "of type v1.Protocol"),
    (PODS, {"spec": {"containers": [{"name": "a", "resources": {"limits": "1"}}]}},
     "json: cannot unmarshal string into Go struct field ResourceRequirements.spec.containers.resources.limits "
     "of type v1.ResourceList"),
    (NAMESPACES, {"spec": {"finalizers": "kubernetes"}},
     "json: cannot unmarshal string into Go struct field NamespaceSpec.spec.finalizers of type []v1.FinalizerName"),
    (PODS, {"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1.2.3"}}}]}},
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    (SECRETS, {"data": {"k": "YQ==YQ=="}}, "illegal base64 data at input byte 4"),
])
def test_decode_errors(rt: ResourceType, obj: dict[str, Any], message: str) -> None:
    """Are wrong JSON types, bad quantities and bad base64 reported as the decoder reports them?"""
    assert [m for _path, m in openapi.wrong_type_fields(rt, obj)] == [message]


def test_well_typed_objects_decode() -> None:
    """Do correct objects (numbers as numbers, quantities as strings or numbers) decode cleanly?"""
    obj = container(resources={"limits": {"cpu": 0.5, "memory": "128Mi"}}, ports=[{"containerPort": 80}])
    assert openapi.wrong_type_fields(PODS, obj) == []
    assert openapi.wrong_type_fields(SECRETS, {"data": {"a": "aHVudGVyMg=="}}) == []


# -- quantities and cron ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, canonical", [
    ("0", "0"), ("0.5", "500m"), ("1500m", "1500m"), ("2000m", "2"), ("1", "1"), ("1000", "1k"),
    ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"), ("1000Mi", "1000Mi"), ("512", "512"), ("0.5Ki", "512"),
    ("128974848", "128974848"), ("129e6", "129e6"), ("12e5", "1200e3"), ("1e3", "1e3"), ("100M", "100M"),
    ("0.1m", "100u"), (".5", "500m"), ("1.", "1"), ("-1Gi", "-1Gi"), ("+2", "2"),
])
def test_quantity_canonical_form(text: str, canonical: str) -> None:
    """Are quantities printed in the API server's canonical form?"""
    assert str(validation.Quantity.parse(text)) == canonical


@pytest.mark.parametrize("text, message", [
    ("abc", validation.QUANTITY_FORMAT_ERROR),
    ("", validation.QUANTITY_FORMAT_ERROR),
    ("1Gb", validation.QUANTITY_FORMAT_ERROR),
    ("1.2.3", validation.QUANTITY_FORMAT_ERROR),
    ("1mm", validation.QUANTITY_SUFFIX_ERROR),
    ("5e", validation.QUANTITY_SUFFIX_ERROR),
])
def test_quantity_errors(text: str, message: str) -> None:
    """Do malformed quantities fail with resource.ParseQuantity's messages?"""
    with pytest.raises(validation.QuantityError) as info:
        validation.Quantity.parse(text)
    assert str(info.value) == message


@pytest.mark.parametrize("schedule, message", [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("1/2/3 * * * *", "too many slashes: 1/2/3"),
    ("* * * foo *", 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'),
    ("@every 1x", 'failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"'),
    ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
    ("TZ=Nowhere/City * * * * *", "provided bad location Nowhere/City: unknown time zone Nowhere/City"),
])
def test_cron_errors(schedule: str, message: str) -> None:
    """Do bad schedules fail with robfig/cron's messages?"""
    with pytest.raises(validation.CronError) as info:
        validation.parse_cron(schedule)
    assert str(info.value) == message


def test_cron_parses_names_steps_and_descriptors() -> None:
    """Are month/day names, steps and descriptors understood?"""
    parsed = validation.parse_cron("*/15 9-17 * jan,jul mon-fri")
    assert isinstance(parsed, list)
    minutes, hours, dom, months, dow = parsed
    assert minutes == {0, 15, 30, 45} and hours == set(range(9, 18))
    assert dom == set(range(1, 32)) and months == {1, 7} and dow == {1, 2, 3, 4, 5}
    assert validation.parse_cron("@daily") == "@daily"
    assert validation.parse_cron("@every 1h30m") == "@every 1h30m"


@pytest.mark.parametrize("value, rendered", [
    ("x", '"x"'), (5, "5"), (True, "true"), (None, "null"),
    ({"b": "2", "a": "1"}, '{"b":"2","a":"1"}'), (["a"], '["a"]'), ("<&>", '"<&>"'), ({"k": "<"}, '{"k":"\\u003c"}'),
])
def test_bad_value_rendering(value: Any, rendered: str) -> None:
    """Are bad values rendered as 1.34+ servers render them (quoted strings, JSON for the rest)?"""
    assert validation.render_value(value) == rendered


# -- robustness ------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)

SEEDS = [(PODS, container(ports=[{"containerPort": 80}], resources={"limits": {"cpu": "1"}},
                          env=[{"name": "A", "value": "b"}], volumeMounts=[{"name": "v", "mountPath": "/v"}],
                          livenessProbe={"httpGet": {"port": 80}})),
         (DEPLOYMENTS, deployment()), (JOBS, job()), (JOBS, VALID_FAILURE_POLICIES[1]), (CRONJOBS, cronjob()),
         (SERVICES, service()),
         (SECRETS, {"metadata": {"name": "s", "namespace": "default"}, "data": {"a": "Yg=="}}),
         (NAMESPACES, {"metadata": {"name": "dev"}})]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.data(), JSON)
def test_garbage_never_crashes(seed: tuple[ResourceType, dict[str, Any]], data: st.DataObject, junk: Any) -> None:
    """Does any JSON spliced anywhere into a valid object give decode errors or causes, never an exception?"""
    rt, obj = seed
    obj = copy.deepcopy(obj)
    path = data.draw(st.sampled_from(_paths(obj)[1:]))
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = junk
    if openapi.wrong_type_fields(rt, obj):
        return
    ready = created(rt, obj)
    validation.validate(rt, ready)
    old = created(rt, seed[1])
    validation.validate(rt, defaults.prepare_update(rt, old, defaults.apply_defaults(rt, obj)), old)
