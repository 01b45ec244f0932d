"""Unit tests of the runtime's pieces, in process and without HTTP.

Quantities, tolerations and the scheduler's FitError text as pure functions; then the
scheduler, kubelet, endpoints and node controllers reconciling objects in an in-memory
store (``Store(None)`` + ``Registry``), called directly the way their work queues call them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest

from kk_helpers.sandbox import bootstrap
from kk_helpers.sandbox.controllers.base import ManagerBase
from kk_helpers.sandbox.controllers.endpoints import EndpointsController
from kk_helpers.sandbox.controllers.kubelet import Kubelet, qos_class
from kk_helpers.sandbox.controllers.nodes import NodeLifecycle
from kk_helpers.sandbox.controllers.runtime import Runtime, go_duration, render_log
from kk_helpers.sandbox.controllers.scheduler import Scheduler, fit_message, parse_quantity, pod_requests, tolerates
from kk_helpers.sandbox.registry import Registry, WriteOptions
from kk_helpers.sandbox.resources import ENDPOINTS, ENDPOINTSLICES, EVENTS, NODES, PODS, SERVICES
from kk_helpers.sandbox.store import Store

# -- pure functions --------------------------------------------------------------------------


@pytest.mark.parametrize("value, milli, expected", [
    ("100m", True, 100), ("0.5", True, 500), ("2", True, 2000), (1, True, 1000), ("1.5", False, 2),
    ("64Mi", False, 64 * 2 ** 20), ("1Gi", False, 2 ** 30), ("500M", False, 500 * 10 ** 6), ("1e3", False, 1000),
    ("250u", True, 1), ("nonsense", False, 0), (None, True, 0),
])
def test_parse_quantity(value: Any, milli: bool, expected: int) -> None:
    """Are resource quantities read as Kubernetes reads them (rounded up)?"""
    assert parse_quantity(value, milli=milli) == expected


def test_pod_requests_take_limits_and_init_containers() -> None:
    """Do requests default to limits, and does the largest init container count when larger than the sum?"""
    pod = {"spec": {"containers": [{"resources": {"limits": {"cpu": "200m"}}},
                                   {"resources": {"requests": {"cpu": "100m", "memory": "1Mi"}}}],
                    "initContainers": [{"resources": {"requests": {"cpu": "1"}}}]}}
    assert pod_requests(pod) == {"cpu": 1000, "memory": 2 ** 20}


@pytest.mark.parametrize("toleration, tolerated", [
    ({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}, True),
    ({"key": "k", "value": "v"}, True),
    ({"key": "k", "operator": "Exists"}, True),
    ({"operator": "Exists"}, True),
    ({"key": "k", "value": "other"}, False),
    ({"key": "k", "operator": "Exists", "effect": "NoExecute"}, False),
    ({"key": "other", "operator": "Exists"}, False),
])
def test_tolerations(toleration: dict[str, str], tolerated: bool) -> None:
    """Does a toleration match a taint by key, value, operator and effect as the API defines?"""
    assert tolerates([toleration], {"key": "k", "value": "v", "effect": "NoSchedule"}) is tolerated


def test_fit_message_sorts_reasons_like_the_scheduler() -> None:
    """Is the FitError text built and sorted as kube-scheduler prints it?"""
    msg = fit_message(3, {"Insufficient cpu": 2, "node(s) had untolerated taint {a: }": 1},
                      {"No preemption victims found for incoming pod": 2, "Preemption is not helpful for scheduling": 1})
    assert msg == ("0/3 nodes are available: 1 node(s) had untolerated taint {a: }, 2 Insufficient cpu. preemption: "
                   "0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found "
                   "for incoming pod.")
    assert fit_message(0, {}, {}) == "no nodes available to schedule pods"


def test_qos_classes() -> None:
    """Are pods classed BestEffort, Burstable or Guaranteed from their requests and limits?"""
    assert qos_class({"containers": [{}]}) == "BestEffort"
    assert qos_class({"containers": [{"resources": {"requests": {"cpu": "1"}}}]}) == "Burstable"
    both = {"cpu": "1", "memory": "1Gi"}
    assert qos_class({"containers": [{"resources": {"requests": both, "limits": both}}]}) == "Guaranteed"


def test_go_durations() -> None:
    """Are pull durations written as Go prints a time.Duration?"""
    assert [go_duration(s) for s in (0.0521, 1.2, 1.23456, 75.5)] == ["52ms", "1.2s", "1.234s", "1m15.5s"]


def test_render_log_options() -> None:
    """Do tailLines, limitBytes, sinceSeconds and timestamps shape a log like the kubelet?"""
    entries = [(100.0, "a"), (200.0, "b"), (300.0, "c")]
    assert render_log(entries, {}, 300) == "a\nb\nc\n"
    assert render_log(entries, {"tailLines": 2}, 300) == "b\nc\n"
    assert render_log(entries, {"limitBytes": 3}, 300) == "a\nb"
    assert render_log(entries, {"sinceSeconds": 150}, 300) == "b\nc\n"
    assert render_log(entries, {"timestamps": True, "tailLines": 1}, 300) == "1970-01-01T00:05:00.000000000Z c\n"


# -- in process ------------------------------------------------------------------------------


class Manager(ManagerBase):
    """Just enough of the controller manager to construct controllers."""

    def __init__(self, registry: Registry) -> None:
        super().__init__(registry, mode="fast")
        self.state: dict[str, Any] = {}

    def add_service(self, start: Any, stop: Any) -> None:
        pass


@pytest.fixture
def world() -> Iterator[tuple[Registry, Runtime, Manager]]:
    store = Store(None)
    registry = Registry(store)
    bootstrap.ensure(registry, bootstrap.topology("kk", 2))
    manager = Manager(registry)
    yield registry, Runtime(manager), manager
    store.close()


def make_pod(registry: Registry, name: str, **spec: Any) -> dict[str, Any]:
    body = {"metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": spec.pop("image", "nginx:1.27")}], **spec}}
    return registry.create(PODS, "default", body, WriteOptions())


def run(coro_fn: Any) -> Any:
    """Run controller code on a loop (timers need one), then cancel what it scheduled."""
    async def main() -> Any:
        return coro_fn()
    return asyncio.run(main())


def test_scheduler_binds_to_a_worker(world: tuple[Registry, Runtime, Manager]) -> None:
    """Does one reconcile bind a pod to a worker and record Scheduled?"""
    registry, runtime, manager = world
    sched = Scheduler(manager, runtime)
    make_pod(registry, "web")
    run(lambda: sched.reconcile(("default", "web")))
    pod = registry.get(PODS, "default", "web")
    assert pod["spec"]["nodeName"] in ("kk-worker", "kk-worker2")
    assert any(e["reason"] == "Scheduled" for e in registry.list(EVENTS, "default"))


def test_scheduler_explains_a_pod_it_cannot_place(world: tuple[Registry, Runtime, Manager]) -> None:
    """Does a pod tolerating nothing and selecting a missing label get PodScheduled=False with the message?"""
    registry, runtime, manager = world
    sched = Scheduler(manager, runtime)
    make_pod(registry, "sel", nodeSelector={"disk": "ssd"})
    run(lambda: sched.reconcile(("default", "sel")))
    cond = next(c for c in registry.get(PODS, "default", "sel")["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"
    assert "2 node(s) didn't match Pod's node affinity/selector" in cond["message"]
    assert ("default", "sel") in sched.unschedulable


def test_control_plane_toleration_allows_it(world: tuple[Registry, Runtime, Manager]) -> None:
    """Can a pod that tolerates the control-plane taint and selects that node run there?"""
    registry, runtime, manager = world
    sched = Scheduler(manager, runtime)
    make_pod(registry, "cp", nodeSelector={"node-role.kubernetes.io/control-plane": ""},
             tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                           "effect": "NoSchedule"}])
    run(lambda: sched.reconcile(("default", "cp")))
    assert registry.get(PODS, "default", "cp")["spec"]["nodeName"] == "kk-control-plane"


def test_kubelet_runs_a_bound_pod(world: tuple[Registry, Runtime, Manager]) -> None:
    """Does the kubelet take a bound pod to Running with an IP from its node's CIDR in fast mode?"""
    registry, runtime, manager = world
    kubelet = Kubelet(manager, runtime)
    make_pod(registry, "web", nodeName="kk-worker")

    def go() -> None:
        for _ in range(5):
            kubelet.reconcile(("default", "web"))
    run(go)
    pod = registry.get(PODS, "default", "web")
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["podIP"].startswith("10.244.1.")
    assert pod["status"]["containerStatuses"][0]["state"]["running"]
    assert "nginx/1.27.5" in runtime.log_provider(pod, "main", {})


def test_kubelet_finishes_a_job_pod(world: tuple[Registry, Runtime, Manager]) -> None:
    """Does a pod whose command exits 0 under restartPolicy Never reach Succeeded by itself?"""
    registry, runtime, manager = world
    kubelet = Kubelet(manager, runtime)
    body = {"metadata": {"name": "job"}, "spec": {"nodeName": "kk-worker2", "restartPolicy": "Never", "containers": [
        {"name": "main", "image": "busybox", "command": ["sh", "-c", "echo ok"]}]}}
    registry.create(PODS, "default", body, WriteOptions())

    def go() -> None:
        for _ in range(5):
            kubelet.reconcile(("default", "job"))
    run(go)
    pod = registry.get(PODS, "default", "job")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


def test_endpoints_follow_pod_readiness(world: tuple[Registry, Runtime, Manager]) -> None:
    """Do Endpoints put unready pods under notReadyAddresses and ready ones under addresses?"""
    registry, runtime, manager = world
    ctl = EndpointsController(manager, runtime)
    registry.create(SERVICES, "default", {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}, WriteOptions())
    for name, ready in (("a", "True"), ("b", "False")):
        pod = make_pod(registry, name, nodeName="kk-worker")
        pod = dict(pod, status={"phase": "Running", "podIP": f"10.244.1.{2 if name == 'a' else 3}",
                                "conditions": [{"type": "Ready", "status": ready}]})
        registry.put_status(PODS, pod)
    run(lambda: ctl.reconcile(("default", "web")))
    subset = registry.get(ENDPOINTS, "default", "web")["subsets"][0]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.2"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.1.3"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    (sl,) = registry.list(ENDPOINTSLICES, "default", label_selector="kubernetes.io/service-name=web")
    assert {e["addresses"][0]: e["conditions"]["ready"] for e in sl["endpoints"]} == {"10.244.1.2": True,
                                                                                       "10.244.1.3": False}


def test_node_controller_taints_a_cordoned_node(world: tuple[Registry, Runtime, Manager]) -> None:
    """Does a cordoned node get the unschedulable NoSchedule taint, and lose it when uncordoned?"""
    registry, runtime, manager = world
    ctl = NodeLifecycle(manager, runtime)
    registry.patch(NODES, None, "kk-worker", "merge", {"spec": {"unschedulable": True}}, WriteOptions())
    run(lambda: ctl.reconcile(("", "kk-worker")))
    taints = registry.get(NODES, None, "kk-worker")["spec"]["taints"]
    assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"} in taints
    registry.patch(NODES, None, "kk-worker", "merge", {"spec": {"unschedulable": None}}, WriteOptions())
    run(lambda: ctl.reconcile(("", "kk-worker")))
    assert not registry.get(NODES, None, "kk-worker")["spec"].get("taints")
