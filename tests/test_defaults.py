"""Defaulting and registry preparation: does a written object come back the way kube-apiserver returns it?

Checks ``kk_helpers.sandbox.defaults`` against ``pkg/apis/*/v1/defaults.go``,
the default admission plugins (ServiceAccount, Priority, DefaultTolerationSeconds)
and the registries' ``PrepareForCreate``/``PrepareForUpdate``: each default
value, what is deliberately *not* defaulted, status handling, generation
bumps, Job selector generation and Service allocation carry-over.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kk_helpers.sandbox import defaults, resources
from kk_helpers.sandbox.resources import ResourceType


def _known(rt: ResourceType | None) -> ResourceType:
    """A resource type the registry table must define."""
    assert rt is not None
    return rt


CONFIGMAPS = _known(resources.CONFIGMAPS)
CRONJOBS = _known(resources.CRONJOBS)
DEPLOYMENTS = _known(resources.DEPLOYMENTS)
ENDPOINTSLICES = _known(resources.ENDPOINTSLICES)
EVENTS = _known(resources.EVENTS)
JOBS = _known(resources.JOBS)
NAMESPACES = _known(resources.NAMESPACES)
NODES = _known(resources.NODES)
PODS = _known(resources.PODS)
REPLICASETS = _known(resources.REPLICASETS)
SECRETS = _known(resources.SECRETS)
SERVICES = _known(resources.SERVICES)


def get(obj: Any, path: str) -> Any:
    """Follow a dotted path with ``[i]`` indexes; a missing step gives the ``MISSING`` marker."""
    cur = obj
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            idx = int(part[1:-1])
            if not isinstance(cur, list) or idx >= len(cur):
                return MISSING
            cur = cur[idx]
        else:
            if not isinstance(cur, dict) or part not in cur:
                return MISSING
            cur = cur[part]
    return cur


MISSING = object()


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    base.update(spec)
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": base}


def container(**fields: Any) -> dict[str, Any]:
    return pod(containers=[{"name": "app", "image": "nginx:1.27", **fields}])


def deployment(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}
    base.update(spec)
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": base}


def job(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"template": {"spec": {"restartPolicy": "Never",
                                                  "containers": [{"name": "pi", "image": "perl"}]}}}
    base.update(spec)
    return {"metadata": {"name": "pi", "namespace": "default"}, "spec": base}


def service(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    base.update(spec)
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": base}


CRONJOB = {"metadata": {"name": "tick", "namespace": "default"},
           "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
               "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}}

DEFAULTS: list[tuple[str, ResourceType, dict[str, Any], str, Any]] = [
    ("deployment replicas", DEPLOYMENTS, deployment(), "spec.replicas", 1),
    ("deployment strategy", DEPLOYMENTS, deployment(), "spec.strategy",
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    ("deployment partial rollingUpdate", DEPLOYMENTS, deployment(strategy={"rollingUpdate": {"maxSurge": 2}}),
     "spec.strategy.rollingUpdate", {"maxSurge": 2, "maxUnavailable": "25%"}),
    ("recreate gets no rollingUpdate", DEPLOYMENTS, deployment(strategy={"type": "Recreate"}),
     "spec.strategy", {"type": "Recreate"}),
    ("deployment revision history", DEPLOYMENTS, deployment(), "spec.revisionHistoryLimit", 10),
    ("deployment progress deadline", DEPLOYMENTS, deployment(), "spec.progressDeadlineSeconds", 600),
    ("explicit replicas kept", DEPLOYMENTS, deployment(replicas=0), "spec.replicas", 0),
    ("template pull policy", DEPLOYMENTS, deployment(), "spec.template.spec.containers[0].imagePullPolicy", "Always"),
    ("template restartPolicy", DEPLOYMENTS, deployment(), "spec.template.spec.restartPolicy", "Always"),
    ("no enableServiceLinks in templates", DEPLOYMENTS, deployment(),
     "spec.template.spec.enableServiceLinks", MISSING),
    ("no tolerations in templates", DEPLOYMENTS, deployment(), "spec.template.spec.tolerations", MISSING),
    ("no service account in templates", DEPLOYMENTS, deployment(), "spec.template.spec.serviceAccountName", MISSING),
    ("template defaulted even when absent", DEPLOYMENTS, {"metadata": {"name": "d"}, "spec": {}},
     "spec.template.spec.dnsPolicy", "ClusterFirst"),
    ("replicaset replicas", REPLICASETS, {"metadata": {"name": "rs"}, "spec": {}}, "spec.replicas", 1),
    ("dnsPolicy", PODS, pod(), "spec.dnsPolicy", "ClusterFirst"),
    ("restartPolicy", PODS, pod(), "spec.restartPolicy", "Always"),
    ("terminationGracePeriodSeconds", PODS, pod(), "spec.terminationGracePeriodSeconds", 30),
    ("schedulerName", PODS, pod(), "spec.schedulerName", "default-scheduler"),
    ("securityContext", PODS, pod(), "spec.securityContext", {}),
    ("enableServiceLinks", PODS, pod(), "spec.enableServiceLinks", True),
    ("priority", PODS, pod(), "spec.priority", 0),
    ("preemptionPolicy", PODS, pod(), "spec.preemptionPolicy", "PreemptLowerPriority"),
    ("serviceAccountName", PODS, pod(), "spec.serviceAccountName", "default"),
    ("deprecated serviceAccount mirrors it", PODS, pod(serviceAccountName="robot"), "spec.serviceAccount", "robot"),
    ("tolerations", PODS, pod(), "spec.tolerations", [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]),
    ("tolerate-everything suppresses defaults", PODS, pod(tolerations=[{"operator": "Exists"}]),
     "spec.tolerations", [{"operator": "Exists"}]),
    ("existing not-ready toleration kept", PODS,
     pod(tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                       "tolerationSeconds": 5}]),
     "spec.tolerations[1].key", "node.kubernetes.io/unreachable"),
    ("terminationMessagePath", PODS, pod(), "spec.containers[0].terminationMessagePath", "/dev/termination-log"),
    ("terminationMessagePolicy", PODS, pod(), "spec.containers[0].terminationMessagePolicy", "File"),
    ("resources", PODS, pod(), "spec.containers[0].resources", {}),
    ("port protocol", PODS, container(ports=[{"containerPort": 80}]), "spec.containers[0].ports[0].protocol", "TCP"),
    ("requests from limits", PODS, container(resources={"limits": {"cpu": "1", "memory": "1Gi"}}),
     "spec.containers[0].resources.requests", {"cpu": "1", "memory": "1Gi"}),
    ("explicit requests kept", PODS, container(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "250m"}}),
     "spec.containers[0].resources.requests", {"cpu": "250m"}),
    ("quantities canonical", PODS, container(resources={"requests": {"cpu": 0.5, "memory": "1024Mi"}}),
     "spec.containers[0].resources.requests", {"cpu": "500m", "memory": "1Gi"}),
    ("quantities rounded up to milli", PODS, container(resources={"requests": {"cpu": "0.1m"}}),
     "spec.containers[0].resources.requests.cpu", "1m"),
    ("init container defaults", PODS, pod(initContainers=[{"name": "init", "image": "busybox"}]),
     "spec.initContainers[0].imagePullPolicy", "Always"),
    ("env fieldRef apiVersion", PODS,
     container(env=[{"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]),
     "spec.containers[0].env[0].valueFrom.fieldRef.apiVersion", "v1"),
    ("probe defaults", PODS, container(readinessProbe={"httpGet": {"port": 80}}),
     "spec.containers[0].readinessProbe",
     {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10,
      "successThreshold": 1, "failureThreshold": 3}),
    ("hostNetwork host ports", PODS, pod(hostNetwork=True, containers=[{"name": "a", "image": "b",
                                                                      "ports": [{"containerPort": 8080}]}]),
     "spec.containers[0].ports[0].hostPort", 8080),
    ("volume without source", PODS, pod(volumes=[{"name": "scratch"}]), "spec.volumes[0].emptyDir", {}),
    ("configMap defaultMode", PODS, pod(volumes=[{"name": "c", "configMap": {"name": "cfg"}}]),
     "spec.volumes[0].configMap.defaultMode", 420),
    ("secret defaultMode", PODS, pod(volumes=[{"name": "s", "secret": {"secretName": "s"}}]),
     "spec.volumes[0].secret.defaultMode", 420),
    ("hostPath type", PODS, pod(volumes=[{"name": "h", "hostPath": {"path": "/tmp"}}]),
     "spec.volumes[0].hostPath.type", ""),
    ("job completions and parallelism", JOBS, job(), "spec.completions", 1),
    ("job parallelism", JOBS, job(), "spec.parallelism", 1),
    ("job completions left unset with parallelism", JOBS, job(parallelism=3), "spec.completions", MISSING),
    ("job parallelism when only completions", JOBS, job(completions=5), "spec.parallelism", 1),
    ("job backoffLimit", JOBS, job(), "spec.backoffLimit", 6),
    ("job completionMode", JOBS, job(), "spec.completionMode", "NonIndexed"),
    ("job suspend", JOBS, job(), "spec.suspend", False),
    ("job manualSelector", JOBS, job(), "spec.manualSelector", False),
    ("job podReplacementPolicy", JOBS, job(), "spec.podReplacementPolicy", "TerminatingOrFailed"),
    ("job podReplacementPolicy with failure policy", JOBS,
     job(podFailurePolicy={"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1]}}]}),
     "spec.podReplacementPolicy", "Failed"),
    ("job template restartPolicy is still Always", JOBS,
     {"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}},
     "spec.template.spec.restartPolicy", "Always"),
    ("job labels from template", JOBS,
     job(template={"metadata": {"labels": {"app": "pi"}}, "spec": {"restartPolicy": "Never", "containers": []}}),
     "metadata.labels", {"app": "pi"}),
    ("cronjob concurrencyPolicy", CRONJOBS, CRONJOB, "spec.concurrencyPolicy", "Allow"),
    ("cronjob suspend", CRONJOBS, CRONJOB, "spec.suspend", False),
    ("cronjob successful history", CRONJOBS, CRONJOB, "spec.successfulJobsHistoryLimit", 3),
    ("cronjob failed history", CRONJOBS, CRONJOB, "spec.failedJobsHistoryLimit", 1),
    ("cronjob template pod defaults", CRONJOBS, CRONJOB, "spec.jobTemplate.spec.template.spec.dnsPolicy",
     "ClusterFirst"),
    ("no job defaults in a cronjob's template", CRONJOBS, CRONJOB, "spec.jobTemplate.spec.backoffLimit", MISSING),
    ("service type", SERVICES, service(), "spec.type", "ClusterIP"),
    ("service sessionAffinity", SERVICES, service(), "spec.sessionAffinity", "None"),
    ("service port protocol", SERVICES, service(), "spec.ports[0].protocol", "TCP"),
    ("service targetPort", SERVICES, service(), "spec.ports[0].targetPort", 80),
    ("named targetPort kept", SERVICES, service(ports=[{"port": 80, "targetPort": "http"}]),
     "spec.ports[0].targetPort", "http"),
    ("internalTrafficPolicy", SERVICES, service(), "spec.internalTrafficPolicy", "Cluster"),
    ("no externalTrafficPolicy for ClusterIP", SERVICES, service(), "spec.externalTrafficPolicy", MISSING),
    ("externalTrafficPolicy for NodePort", SERVICES, service(type="NodePort"), "spec.externalTrafficPolicy", "Cluster"),
    ("externalTrafficPolicy for LoadBalancer", SERVICES, service(type="LoadBalancer"),
     "spec.externalTrafficPolicy", "Cluster"),
    ("allocateLoadBalancerNodePorts", SERVICES, service(type="LoadBalancer"), "spec.allocateLoadBalancerNodePorts",
     True),
    ("ipFamilies", SERVICES, service(), "spec.ipFamilies", ["IPv4"]),
    ("ipFamilyPolicy", SERVICES, service(), "spec.ipFamilyPolicy", "SingleStack"),
    ("no ip families for ExternalName", SERVICES, service(type="ExternalName", externalName="example.com"),
     "spec.ipFamilies", MISSING),
    ("ClientIP affinity timeout", SERVICES, service(sessionAffinity="ClientIP"), "spec.sessionAffinityConfig",
     {"clientIP": {"timeoutSeconds": 10800}}),
    ("namespace name label", NAMESPACES, {"metadata": {"name": "dev"}}, "metadata.labels",
     {"kubernetes.io/metadata.name": "dev"}),
    ("secret type", SECRETS, {"metadata": {"name": "s"}}, "type", "Opaque"),
    ("secret stringData folded into data", SECRETS,
     {"metadata": {"name": "s"}, "data": {"user": "YWRtaW4=", "password": "b2xk"}, "stringData": {"password": "new"}},
     "data", {"user": "YWRtaW4=", "password": "bmV3"}),
    ("secret stringData dropped", SECRETS, {"metadata": {"name": "s"}, "stringData": {"a": "b"}}, "stringData",
     MISSING),
    ("configmap untouched", CONFIGMAPS, {"metadata": {"name": "c"}}, "data", MISSING),
    ("node allocatable", NODES, {"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "4"}}},
     "status.allocatable", {"cpu": "4"}),
    ("endpointslice port protocol", ENDPOINTSLICES, {"metadata": {"name": "e"}, "ports": [{"port": 80}]},
     "ports[0]", {"port": 80, "name": "", "protocol": "TCP"}),
    ("event reportingComponent", EVENTS, {"metadata": {"name": "e"}}, "reportingComponent", ""),
]


@pytest.mark.parametrize("rt, obj, path, expected", [c[1:] for c in DEFAULTS], ids=[c[0] for c in DEFAULTS])
def test_defaults(rt: ResourceType, obj: dict[str, Any], path: str, expected: Any) -> None:
    """Does apply_defaults set (or leave alone) each field as the API server's defaulting does?"""
    assert get(defaults.apply_defaults(rt, obj), path) == expected


@pytest.mark.parametrize("image, policy", [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("nginx:1.27", "IfNotPresent"),
    ("docker.io/library/nginx:1.27-alpine", "IfNotPresent"),
    ("localhost:5000/app", "Always"),
    ("localhost:5000/app:v1", "IfNotPresent"),
    ("ghcr.io/org/app@sha256:" + "a" * 64, "IfNotPresent"),
    ("ghcr.io/org/app:latest@sha256:" + "a" * 64, "Always"),
    ("Nginx", "IfNotPresent"),
    ("", "IfNotPresent"),
])
def test_image_pull_policy(image: str, policy: str) -> None:
    """Is imagePullPolicy Always for :latest or untagged images and IfNotPresent otherwise (digests too)?"""
    assert defaults.image_pull_policy(image) == policy


def test_apply_defaults_copies_and_is_idempotent() -> None:
    """Does defaulting leave its input alone and give the same result when applied twice?"""
    original = container(resources={"limits": {"cpu": "0.5"}}, ports=[{"containerPort": 80}])
    snapshot = copy.deepcopy(original)
    once = defaults.apply_defaults(PODS, original)
    assert original == snapshot
    assert defaults.apply_defaults(PODS, once) == once


def test_malformed_parts_are_left_for_validation() -> None:
    """Does defaulting tolerate wrong shapes (a string where a list belongs) without raising?"""
    obj = {"metadata": {"name": "web"}, "spec": {"containers": "nginx", "volumes": [1, None], "tolerations": "x"}}
    out = defaults.apply_defaults(PODS, obj)
    assert out["spec"]["containers"] == "nginx"


# -- prepare_create -------------------------------------------------------------------------------

def created(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    return defaults.prepare_create(rt, defaults.apply_defaults(rt, obj))


@pytest.mark.parametrize("resources, qos", [
    (None, "BestEffort"),
    ({"requests": {"cpu": "100m"}}, "Burstable"),
    ({"limits": {"memory": "128Mi"}}, "Burstable"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}, "Burstable"),
    ({"requests": {"ephemeral-storage": "1Gi"}}, "BestEffort"),
])
def test_pod_status_on_create(resources: dict[str, Any] | None, qos: str) -> None:
    """Does a new pod start Pending with the QoS class computed from its requests and limits?"""
    obj = container(resources=resources) if resources else pod()
    obj["status"] = {"phase": "Running"}
    assert created(PODS, obj)["status"] == {"phase": "Pending", "qosClass": qos}


def test_pod_gets_generation_and_service_account_token() -> None:
    """Does a new pod get generation 1 and the projected kube-api-access volume mounted read-only?"""
    out = created(PODS, pod(initContainers=[{"name": "init", "image": "busybox"}]))
    assert out["metadata"]["generation"] == 1
    (vol,) = out["spec"]["volumes"]
    assert vol["name"].startswith("kube-api-access-") and len(vol["name"]) == len("kube-api-access-") + 5
    sources = vol["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert vol["projected"]["defaultMode"] == 420
    for c in out["spec"]["containers"] + out["spec"]["initContainers"]:
        assert c["volumeMounts"] == [{"name": vol["name"], "readOnly": True,
                                      "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]


def test_automount_false_skips_token() -> None:
    """Does automountServiceAccountToken: false keep the token volume out?"""
    assert "volumes" not in created(PODS, pod(automountServiceAccountToken=False))["spec"]


@pytest.mark.parametrize("rt, obj, status, generation", [
    (DEPLOYMENTS, deployment(), {}, 1),
    (REPLICASETS, {"metadata": {"name": "rs"}, "spec": {}}, {"replicas": 0}, 1),
    (JOBS, job(), {}, 1),
    (CRONJOBS, CRONJOB, {}, 1),
    (SERVICES, service(), {"loadBalancer": {}}, MISSING),
    (NAMESPACES, {"metadata": {"name": "dev"}}, {"phase": "Active"}, MISSING),
])
def test_status_and_generation_on_create(rt: ResourceType, obj: dict[str, Any], status: Any, generation: Any) -> None:
    """Is a user-supplied status replaced by the initial one, and generation set where the strategy sets it?"""
    obj = copy.deepcopy(obj)
    obj["status"] = {"replicas": 7, "phase": "Bogus"}
    out = created(rt, obj)
    assert out["status"] == status
    assert get(out, "metadata.generation") == generation


def test_namespace_finalizer_on_create() -> None:
    """Does a new namespace get the kubernetes finalizer, after any of its own?"""
    out = created(NAMESPACES, {"metadata": {"name": "dev"}, "spec": {"finalizers": ["example.com/x"]}})
    assert out["spec"]["finalizers"] == ["example.com/x", "kubernetes"]


def test_service_cluster_ips_follow_cluster_ip() -> None:
    """Does a create that sets only clusterIP get clusterIPs to match?"""
    assert created(SERVICES, service(clusterIP="None"))["spec"]["clusterIPs"] == ["None"]


# -- prepare_job ------------------------------------------------------------------------------------

def test_job_selector_generation() -> None:
    """Does the registry generate the selector and the four template labels from the uid?"""
    out = defaults.prepare_job(created(JOBS, job()), "1234")
    assert out["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "1234"}}
    expected = {"batch.kubernetes.io/controller-uid": "1234", "batch.kubernetes.io/job-name": "pi",
                "controller-uid": "1234", "job-name": "pi"}
    assert out["spec"]["template"]["metadata"]["labels"] == expected
    assert out["metadata"]["labels"] == expected


def test_job_selector_generation_keeps_user_labels() -> None:
    """Are a job's own labels and its template labels kept alongside the generated ones?"""
    obj = job(template={"metadata": {"labels": {"app": "pi"}},
                        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}})
    out = defaults.prepare_job(created(JOBS, obj), "1234")
    assert out["metadata"]["labels"] == {"app": "pi"}
    assert out["spec"]["template"]["metadata"]["labels"]["app"] == "pi"
    assert out["spec"]["template"]["metadata"]["labels"]["job-name"] == "pi"


def test_manual_selector_is_left_alone() -> None:
    """Does manualSelector: true turn selector generation off?"""
    obj = job(manualSelector=True, selector={"matchLabels": {"app": "pi"}})
    out = defaults.prepare_job(created(JOBS, obj), "1234")
    assert out["spec"]["selector"] == {"matchLabels": {"app": "pi"}}
    assert "labels" not in out["spec"]["template"].get("metadata", {})


def test_prepare_create_generates_job_selector_when_uid_known() -> None:
    """Does prepare_create do the Job selector generation itself when the uid is already assigned?"""
    obj = job()
    obj["metadata"]["uid"] = "abcd"
    assert created(JOBS, obj)["spec"]["selector"]["matchLabels"] == {"batch.kubernetes.io/controller-uid": "abcd"}


# -- prepare_update / for_status_update ---------------------------------------------------------------

def stored(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    out = created(rt, obj)
    out["metadata"].update(uid="uid-1", resourceVersion="9", creationTimestamp="2024-01-01T00:00:00Z")
    return out


def updated(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return defaults.prepare_update(rt, old, defaults.apply_defaults(rt, new))


@pytest.mark.parametrize("rt, obj, change, bumped", [
    (DEPLOYMENTS, deployment(), lambda o: o["spec"].update(replicas=3), True),
    (DEPLOYMENTS, deployment(), lambda o: o["metadata"].update(annotations={"note": "x"}), True),
    (DEPLOYMENTS, deployment(), lambda o: o["metadata"].update(labels={"team": "a"}), False),
    (REPLICASETS, {"metadata": {"name": "rs"}, "spec": {}}, lambda o: o["spec"].update(replicas=4), True),
    (REPLICASETS, {"metadata": {"name": "rs"}, "spec": {}}, lambda o: o["metadata"].update(annotations={"a": "b"}),
     False),
    (JOBS, job(), lambda o: o["spec"].update(suspend=True), True),
    (CRONJOBS, CRONJOB, lambda o: o["spec"].update(schedule="0 * * * *"), True),
    (PODS, pod(), lambda o: o["spec"]["containers"][0].update(image="nginx:1.28"), True),
    (PODS, pod(), lambda o: o["metadata"].update(labels={"a": "b"}), False),
])
def test_generation_bumps(rt: ResourceType, obj: dict[str, Any], change, bumped: bool) -> None:
    """Is metadata.generation bumped on spec changes (and Deployment annotation changes) only?"""
    old = stored(rt, obj)
    new = copy.deepcopy(old)
    change(new)
    new["metadata"]["generation"] = 99  # clients cannot set it
    assert updated(rt, old, new)["metadata"]["generation"] == (2 if bumped else 1)


@pytest.mark.parametrize("rt, obj", [(DEPLOYMENTS, deployment()), (PODS, pod()), (JOBS, job()),
                                     (SERVICES, service()), (NAMESPACES, {"metadata": {"name": "dev"}})])
def test_main_resource_update_keeps_status(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Does a write to the main resource ignore status changes, as on a real server?"""
    old = stored(rt, obj)
    old["status"] = {"observed": "stored"}
    new = copy.deepcopy(old)
    new["status"] = {"observed": "client"}
    assert updated(rt, old, new)["status"] == {"observed": "stored"}


def test_update_carries_identity_metadata() -> None:
    """Do uid and creationTimestamp come from the stored object when a client omits them?"""
    old = stored(DEPLOYMENTS, deployment())
    new = copy.deepcopy(old)
    for key in ("uid", "creationTimestamp", "generation"):
        new["metadata"].pop(key)
    out = updated(DEPLOYMENTS, old, new)
    assert (out["metadata"]["uid"], out["metadata"]["creationTimestamp"]) == ("uid-1", "2024-01-01T00:00:00Z")


def test_namespace_update_keeps_finalizers_until_finalize() -> None:
    """Are namespace finalizers only changed through the finalize subresource?"""
    old = stored(NAMESPACES, {"metadata": {"name": "dev"}})
    new = copy.deepcopy(old)
    new["spec"]["finalizers"] = []
    assert updated(NAMESPACES, old, new)["spec"]["finalizers"] == ["kubernetes"]
    finalized = defaults.for_finalize_update(NAMESPACES, old, new)
    assert finalized["spec"]["finalizers"] == []
    assert finalized["status"] == old["status"]


def test_service_update_keeps_allocations() -> None:
    """Does an update omitting clusterIP and nodePorts keep the allocated values (patchAllocatedValues)?"""
    old = stored(SERVICES, service(type="NodePort", ports=[{"name": "http", "port": 80}]))
    old["spec"].update(clusterIP="10.96.0.7", clusterIPs=["10.96.0.7"])
    old["spec"]["ports"][0]["nodePort"] = 31234
    out = updated(SERVICES, old, service(type="NodePort", ports=[{"name": "http", "port": 8080}]))
    assert (out["spec"]["clusterIP"], out["spec"]["clusterIPs"]) == ("10.96.0.7", ["10.96.0.7"])
    assert out["spec"]["ports"][0]["nodePort"] == 31234


def test_service_type_change_releases_node_ports() -> None:
    """Does switching a NodePort Service to ClusterIP drop the node ports it no longer needs?"""
    old = stored(SERVICES, service(type="NodePort"))
    old["spec"]["ports"][0]["nodePort"] = 31234
    new = copy.deepcopy(old)
    new["spec"]["type"] = "ClusterIP"
    new["spec"].pop("externalTrafficPolicy")
    out = updated(SERVICES, old, new)
    assert "nodePort" not in out["spec"]["ports"][0]


def test_status_update_keeps_spec() -> None:
    """Does a /status write change the status but never the spec?"""
    old = stored(DEPLOYMENTS, deployment())
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 10
    new["status"] = {"replicas": 1}
    new["metadata"]["labels"] = {"sneaky": "yes"}
    out = defaults.for_status_update(DEPLOYMENTS, old, new)
    assert out["spec"] == old["spec"] and out["status"] == {"replicas": 1}
    assert "labels" not in out["metadata"]


def test_pod_status_update_keeps_owner_references_and_qos() -> None:
    """Does a pod /status write keep ownerReferences and backfill the QoS class?"""
    old = stored(PODS, pod())
    old["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u"}]
    new = copy.deepcopy(old)
    new["metadata"]["ownerReferences"] = []
    new["status"] = {"phase": "Running"}
    out = defaults.for_status_update(PODS, old, new)
    assert out["metadata"]["ownerReferences"] == old["metadata"]["ownerReferences"]
    assert out["status"] == {"phase": "Running", "qosClass": "BestEffort"}
