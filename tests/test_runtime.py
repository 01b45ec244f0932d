"""Does the simulated runtime behave like a real cluster's scheduler, kubelets, kube-proxy and node controller?

End to end against an in-process sandbox (fast mode) of its own - these tests cordon and
stop nodes, so they do not share the session sandbox - through the official Python
client and, for the ``kubectl`` tests, the real kubectl: scheduling and its failure
messages, the pod lifecycle with image pulls, exits and restarts, logs, graceful
deletion, Endpoints/EndpointSlices, NodePort traffic (balancing, terminating pods, a
port already taken), and the stop-a-node drill.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from conftest import VENV_KUBECTL, Kubectl
from waiting import wait_until
from kk_helpers.sandbox.app import SandboxThread

CP, W1, W2 = "kk-control-plane", "kk-worker", "kk-worker2"


def wait_for(fn: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll ``fn`` until it returns something truthy (this module's argument order for :func:`wait_until`)."""
    return wait_until(fn, timeout=timeout, what=what)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    with SandboxThread(tmp_path_factory.mktemp("runtime"), mode="fast") as sb:
        yield sb


@pytest.fixture(scope="module")
def core(cluster: SandboxThread) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(str(cluster.kubeconfig_path))
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    name = f"rt-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    try:
        core.delete_namespace(name)
    except ApiException:
        pass


@pytest.fixture
def kubectl(cluster: SandboxThread, ns: str) -> Kubectl:
    if not VENV_KUBECTL.exists():
        pytest.skip("the pinned kubectl is not installed")
    assert cluster.kubeconfig_path is not None
    return Kubectl(str(VENV_KUBECTL), cluster.kubeconfig_path, ns)


def pod(name: str, image: str = "nginx", **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", {"app": name})
    container = {"name": spec.pop("container_name", "main"), "image": image}
    for key in ("command", "args", "resources", "env", "readinessProbe", "livenessProbe", "ports"):
        if key in spec:
            container[key] = spec.pop(key)
    return {"metadata": {"name": name, "labels": labels}, "spec": {"containers": [container], **spec}}


def phase(core: client.CoreV1Api, ns: str, name: str, want: str) -> Callable[[], Any]:
    def check() -> Any:
        p = core.read_namespaced_pod(name, ns)
        return p if p.status.phase == want else None
    return check


def running_ready(core: client.CoreV1Api, ns: str, name: str) -> Callable[[], Any]:
    def check() -> Any:
        p = core.read_namespaced_pod(name, ns)
        ok = p.status.phase == "Running" and p.status.container_statuses and all(
            c.ready for c in p.status.container_statuses)
        return p if ok else None
    return check


def events(core: client.CoreV1Api, ns: str, name: str) -> list[tuple[str, str, str, str]]:
    items = core.list_namespaced_event(ns, field_selector=f"involvedObject.name={name}").items
    items.sort(key=lambda e: (e.first_timestamp or e.event_time, e.metadata.creation_timestamp))
    return [(e.type, e.reason, e.source.component if e.source else "", e.message) for e in items]


def scheduled_condition(core: client.CoreV1Api, ns: str, name: str) -> Any:
    p = core.read_namespaced_pod(name, ns)
    return next((c for c in p.status.conditions or [] if c.type == "PodScheduled"), None)


def node_ip(core: client.CoreV1Api, node: str) -> str:
    n = core.read_node(node)
    return next(a.address for a in n.status.addresses if a.type == "InternalIP")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except urllib.error.URLError as err:  # the listener is not open (yet)
        return 0, str(err.reason)


def wait_open(ip: str, port: int) -> None:
    """Wait until something accepts connections on ``ip:port`` (kube-proxy opens node ports asynchronously)."""
    def accepting() -> bool:
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex((ip, port)) == 0
    wait_for(accepting, f"{ip}:{port} to accept connections")


# -- scheduling ------------------------------------------------------------------------------


def test_bare_pod_runs_on_a_worker(core: client.CoreV1Api, ns: str) -> None:
    """Is a bare pod scheduled on a worker, and Running with an IP from that node's pod CIDR?"""
    core.create_namespaced_pod(ns, pod("web"))
    p = wait_for(running_ready(core, ns, "web"), "web to be Running")
    assert p.spec.node_name in (W1, W2)
    node = core.read_node(p.spec.node_name)
    assert ipaddress.ip_address(p.status.pod_ip) in ipaddress.ip_network(node.spec.pod_cidr)
    assert p.status.pod_ips[0].ip == p.status.pod_ip
    assert p.status.host_ip == node_ip(core, p.spec.node_name) == p.status.host_ips[0].ip
    assert p.status.qos_class == "BestEffort" and p.status.start_time is not None
    cs = p.status.container_statuses[0]
    assert cs.ready and cs.started and cs.restart_count == 0 and cs.state.running.started_at
    assert cs.image == "docker.io/library/nginx:latest"
    assert re.fullmatch(r"docker\.io/library/nginx@sha256:[0-9a-f]{64}", cs.image_id)
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", cs.container_id)
    assert {c.type: c.status for c in p.status.conditions} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True", "ContainersReady": "True",
        "PodScheduled": "True"}
    evs = wait_for(lambda: (e := events(core, ns, "web")) and len(e) >= 5 and e, "the pod's events")
    by_reason = {r: (t, src, m) for t, r, src, m in evs}
    assert by_reason["Scheduled"] == ("Normal", "default-scheduler",
                                      f"Successfully assigned {ns}/web to {p.spec.node_name}")
    assert by_reason["Pulling"] == ("Normal", "kubelet", 'Pulling image "nginx"')
    assert re.fullmatch(r'Successfully pulled image "nginx" in [0-9.]+m?s \([0-9.]+m?s including waiting\)\. '
                        r"Image size: \d+ bytes\.", by_reason["Pulled"][2])
    assert by_reason["Created"][2] == "Created container: main"
    assert by_reason["Started"][2] == "Started container main"


def test_replicas_spread_over_workers(core: client.CoreV1Api, ns: str) -> None:
    """Do pods of one owner spread over the workers, never onto the tainted control plane?"""
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": cm.metadata.uid, "controller": True}
    for i in range(4):
        body = pod(f"r{i}", labels={"app": "r"})
        body["metadata"]["ownerReferences"] = [owner]
        core.create_namespaced_pod(ns, body)
    nodes = collections.Counter(wait_for(running_ready(core, ns, f"r{i}"), f"r{i}").spec.node_name for i in range(4))
    assert nodes == {W1: 2, W2: 2}


def test_node_selector_to_a_missing_label_stays_pending(core: client.CoreV1Api, ns: str) -> None:
    """Does a nodeSelector nothing matches leave the pod Pending with the scheduler's message, until a node matches?"""
    core.create_namespaced_pod(ns, pod("sel", nodeSelector={"disk": "ssd"}))
    cond = wait_for(lambda: scheduled_condition(core, ns, "sel"), "PodScheduled=False")
    msg = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
           "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
           "3 Preemption is not helpful for scheduling.")
    assert (cond.status, cond.reason, cond.message) == ("False", "Unschedulable", msg)
    assert core.read_namespaced_pod("sel", ns).status.phase == "Pending"
    assert ("Warning", "FailedScheduling", "default-scheduler", msg) in events(core, ns, "sel")
    core.patch_node(W2, {"metadata": {"labels": {"disk": "ssd"}}})
    try:
        p = wait_for(running_ready(core, ns, "sel"), "sel to run once a node has the label")
        assert p.spec.node_name == W2
    finally:
        core.patch_node(W2, {"metadata": {"labels": {"disk": None}}})


def test_too_large_requests_stay_pending(core: client.CoreV1Api, ns: str) -> None:
    """Does a pod requesting more CPU than any node has stay Pending with ``Insufficient cpu``?"""
    core.create_namespaced_pod(ns, pod("big", resources={"requests": {"cpu": "64", "memory": "64Mi"}}))
    cond = wait_for(lambda: scheduled_condition(core, ns, "big"), "PodScheduled=False")
    assert cond.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")
    assert core.read_namespaced_pod("big", ns).status.qos_class == "Burstable"


def test_requests_count_against_allocatable(core: client.CoreV1Api, ns: str) -> None:
    """Once requests fill the workers, does the next pod wait - and run when capacity is freed?"""
    for i in range(2):
        core.create_namespaced_pod(ns, pod(f"half{i}", resources={"requests": {"cpu": "3"}}))
    placed = {wait_for(running_ready(core, ns, f"half{i}"), f"half{i}").spec.node_name for i in range(2)}
    assert placed == {W1, W2}
    core.create_namespaced_pod(ns, pod("third", resources={"requests": {"cpu": "3"}}))
    cond = wait_for(lambda: scheduled_condition(core, ns, "third"), "third to be unschedulable")
    assert "2 Insufficient cpu" in cond.message
    core.delete_namespaced_pod("half0", ns, grace_period_seconds=0)
    wait_for(running_ready(core, ns, "third"), "third to run once half0 is gone")


def test_cordon_then_uncordon(core: client.CoreV1Api, ns: str) -> None:
    """Does cordoning keep new pods off a node (tainted unschedulable), and uncordoning let them back?"""
    core.patch_node(W1, {"spec": {"unschedulable": True}})
    core.patch_node(W2, {"spec": {"unschedulable": True}})
    try:
        wait_for(lambda: any(t.key == "node.kubernetes.io/unschedulable" for t in core.read_node(W1).spec.taints or []),
                 "the unschedulable taint")
        core.create_namespaced_pod(ns, pod("c"))
        cond = wait_for(lambda: scheduled_condition(core, ns, "c"), "c to be unschedulable")
        assert cond.message == (
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
            "2 node(s) were unschedulable. preemption: 0/3 nodes are available: "
            "3 Preemption is not helpful for scheduling.")
        core.patch_node(W2, {"spec": {"unschedulable": None}})
        assert wait_for(running_ready(core, ns, "c"), "c after uncordon").spec.node_name == W2
        assert not any(t.key == "node.kubernetes.io/unschedulable" for t in core.read_node(W2).spec.taints or [])
    finally:
        core.patch_node(W1, {"spec": {"unschedulable": None}})
        core.patch_node(W2, {"spec": {"unschedulable": None}})


# -- the pod lifecycle -----------------------------------------------------------------------


def test_bad_image_backs_off(core: client.CoreV1Api, ns: str) -> None:
    """Does a missing tag give ErrImagePull, then ImagePullBackOff, with the real events?"""
    core.create_namespaced_pod(ns, pod("bad", image="nginx:bad"))

    def waiting() -> Any:
        cs = core.read_namespaced_pod("bad", ns).status.container_statuses
        w = cs and cs[0].state.waiting
        return w if w and w.reason == "ImagePullBackOff" else None
    w = wait_for(waiting, "ImagePullBackOff")
    err = ('rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:bad": '
           'failed to resolve reference "docker.io/library/nginx:bad": docker.io/library/nginx:bad: not found')
    assert w.message == f'Back-off pulling image "nginx:bad": ErrImagePull: {err}'
    evs = [(t, r, m) for t, r, _, m in events(core, ns, "bad")]
    for expected in [("Normal", "Pulling", 'Pulling image "nginx:bad"'),
                     ("Warning", "Failed", f'Failed to pull image "nginx:bad": {err}'),
                     ("Warning", "Failed", "Error: ErrImagePull"),
                     ("Normal", "BackOff", 'Back-off pulling image "nginx:bad"'),
                     ("Warning", "Failed", "Error: ImagePullBackOff")]:
        assert expected in evs
    p = core.read_namespaced_pod("bad", ns)
    assert p.status.phase == "Pending" and p.status.pod_ip


def test_exit_code_with_restart_never(core: client.CoreV1Api, ns: str) -> None:
    """Does ``sh -c 'echo hello; exit 3'`` with restartPolicy Never end Failed, exit code 3, log ``hello``?"""
    core.create_namespaced_pod(ns, pod("once", image="busybox", command=["sh", "-c", "echo hello; exit 3"],
                                       restartPolicy="Never"))
    p = wait_for(phase(core, ns, "once", "Failed"), "Failed")
    term = p.status.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (3, "Error") and term.finished_at and term.container_id
    assert core.read_namespaced_pod_log("once", ns) == "hello\n"
    conds = {c.type: (c.status, c.reason) for c in p.status.conditions}
    assert conds["Ready"] == ("False", "PodCompleted")


def test_success_with_restart_on_failure(core: client.CoreV1Api, ns: str) -> None:
    """Does a command exiting 0 with restartPolicy OnFailure end Succeeded (Completed)?"""
    core.create_namespaced_pod(ns, pod("ok", image="busybox", command=["sh", "-c", "echo done; sleep 2"],
                                       restartPolicy="OnFailure"))
    p = wait_for(phase(core, ns, "ok", "Succeeded"), "Succeeded")
    assert p.status.container_statuses[0].state.terminated.reason == "Completed"


def test_crash_loop_back_off(core: client.CoreV1Api, ns: str) -> None:
    """Does a crashing container restart with CrashLoopBackOff, keeping its last state and previous log?"""
    core.create_namespaced_pod(ns, pod("crash", image="busybox", command=["sh", "-c", "echo boom; exit 1"]))

    def looping() -> Any:
        cs = core.read_namespaced_pod("crash", ns).status.container_statuses
        return cs and cs[0].restart_count >= 2 and cs[0].state.waiting and \
            cs[0].state.waiting.reason == "CrashLoopBackOff" and cs[0]
    cs = wait_for(looping, "CrashLoopBackOff")
    assert cs.last_state.terminated.exit_code == 1 and cs.last_state.terminated.reason == "Error"
    assert re.fullmatch(rf"back-off \S+ restarting failed container=main pod=crash_{ns}\([0-9a-f-]+\)",
                        cs.state.waiting.message)
    assert core.read_namespaced_pod("crash", ns).status.phase == "Running"
    assert core.read_namespaced_pod_log("crash", ns, previous=True) == "boom\n"
    assert any(r == "BackOff" and m.startswith("Back-off restarting failed container main in pod crash_")
               for _, r, _, m in events(core, ns, "crash"))


def test_graceful_delete(core: client.CoreV1Api, ns: str) -> None:
    """Does deleting a running pod mark it Terminating, stop its container (Killing) and then remove it?"""
    core.create_namespaced_pod(ns, pod("bye", image="busybox", command=["sleep", "3600"]))
    wait_for(running_ready(core, ns, "bye"), "bye to run")
    core.delete_namespaced_pod("bye", ns)

    def gone() -> bool:
        try:
            core.read_namespaced_pod("bye", ns)
        except ApiException as err:
            return err.status == 404
        return False
    wait_for(gone, "the pod to be removed")
    assert ("Normal", "Killing", "kubelet", "Stopping container main") in events(core, ns, "bye")


def test_missing_configmap_blocks_start_until_created(core: client.CoreV1Api, ns: str) -> None:
    """Does an env reference to a missing ConfigMap give CreateContainerConfigError until the ConfigMap exists?"""
    env = [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}}]
    core.create_namespaced_pod(ns, pod("cfg", image="busybox", command=["sh", "-c", "echo $GREETING; sleep 3600"],
                                       env=env))

    def waiting() -> Any:
        cs = core.read_namespaced_pod("cfg", ns).status.container_statuses
        w = cs and cs[0].state.waiting
        return w if w and w.reason == "CreateContainerConfigError" else None
    assert wait_for(waiting, "CreateContainerConfigError").message == 'configmap "cfg" not found'
    core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg"}, "data": {"greeting": "hi from cm"}})
    wait_for(running_ready(core, ns, "cfg"), "cfg to run")
    assert wait_for(lambda: core.read_namespaced_pod_log("cfg", ns), "its log") == "hi from cm\n"


def test_readiness_probe_failing_keeps_pod_unready(core: client.CoreV1Api, ns: str) -> None:
    """Does an httpGet readiness probe on a path nginx 404s keep the pod unready, with Unhealthy events?"""
    probe = {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 1}
    core.create_namespaced_pod(ns, pod("probe", readinessProbe=probe))
    wait_for(lambda: any(r == "Unhealthy" for _, r, _, _ in events(core, ns, "probe")), "an Unhealthy event")
    p = core.read_namespaced_pod("probe", ns)
    assert p.status.phase == "Running" and not p.status.container_statuses[0].ready
    assert ("Warning", "Unhealthy", "kubelet", "Readiness probe failed: HTTP probe failed with statuscode: 404") \
        in events(core, ns, "probe")


def test_liveness_exec_probe_restarts_the_container(core: client.CoreV1Api, ns: str) -> None:
    """Does the documented liveness example (touch, sleep, rm) get its container restarted?"""
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5, "periodSeconds": 5}
    core.create_namespaced_pod(ns, pod(
        "live", image="busybox", livenessProbe=probe,
        args=["/bin/sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"]))
    cs = wait_for(lambda: (c := core.read_namespaced_pod("live", ns).status.container_statuses) and
                  c[0].restart_count >= 1 and c[0], "a restart")
    assert cs.last_state.terminated is not None
    evs = events(core, ns, "live")
    assert ("Warning", "Unhealthy", "kubelet",
            "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n") in evs
    assert ("Normal", "Killing", "kubelet", "Container main failed liveness probe, will be restarted") in evs


# -- services --------------------------------------------------------------------------------


def two_web_pods(core: client.CoreV1Api, ns: str, image: str = "vimal13/apache-webserver-php",
                 grace: int = 30) -> list[Any]:
    for i in range(2):
        core.create_namespaced_pod(ns, pod(f"web{i}", image=image, labels={"app": "web"},
                                           terminationGracePeriodSeconds=grace))
    return [wait_for(running_ready(core, ns, f"web{i}"), f"web{i}") for i in range(2)]


def node_port_service(core: client.CoreV1Api, ns: str, node_port: int | None = None, **spec: Any) -> Any:
    port: dict[str, Any] = {"name": "http", "port": 80, "targetPort": 80}
    if node_port:
        port["nodePort"] = node_port
    return core.create_namespaced_service(ns, {"metadata": {"name": "web", "labels": {"tier": "front"}},
                                               "spec": {"type": "NodePort", "selector": {"app": "web"},
                                                        "ports": [port], **spec}})


def ready_slice_ips(core: client.CoreV1Api, ns: str, n: int) -> Callable[[], Any]:
    disc = client.DiscoveryV1Api(core.api_client)

    def check() -> Any:
        slices = disc.list_namespaced_endpoint_slice(ns, label_selector="kubernetes.io/service-name=web").items
        ips = [e.addresses[0] for s in slices for e in s.endpoints or [] if e.conditions.ready]
        return slices if len(ips) == n else None
    return check


def test_endpoints_and_endpointslices(core: client.CoreV1Api, ns: str) -> None:
    """Do Endpoints and EndpointSlices list the ready pods as a real controller writes them?"""
    pods = two_web_pods(core, ns)
    svc = node_port_service(core, ns)
    slices = wait_for(ready_slice_ips(core, ns, 2), "two ready endpoints")
    assert len(slices) == 1
    sl = slices[0]
    assert sl.metadata.name.startswith("web-") and len(sl.metadata.name) == len("web-") + 5
    assert sl.metadata.labels == {"tier": "front", "kubernetes.io/service-name": "web",
                                  "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    owner = sl.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.uid, owner.controller) == ("Service", "web", svc.metadata.uid, True)
    assert sl.address_type == "IPv4"
    assert [(p.name, p.port, p.protocol) for p in sl.ports] == [("http", 80, "TCP")]
    by_name = {e.target_ref.name: e for e in sl.endpoints}
    for p in pods:
        e = by_name[p.metadata.name]
        assert e.addresses == [p.status.pod_ip] and e.node_name == p.spec.node_name
        assert (e.conditions.ready, e.conditions.serving, e.conditions.terminating) == (True, True, False)
    ep = core.read_namespaced_endpoints("web", ns)
    assert ep.subsets[0].ports[0].name == "http" and ep.subsets[0].ports[0].port == 80
    assert sorted(a.ip for a in ep.subsets[0].addresses) == sorted(p.status.pod_ip for p in pods)
    assert {a.target_ref.name for a in ep.subsets[0].addresses} == {"web0", "web1"}


def test_kubernetes_service_endpoints(core: client.CoreV1Api) -> None:
    """Does the ``kubernetes`` service point at the control plane on 6443?"""
    ep = wait_for(lambda: core.read_namespaced_endpoints("kubernetes", "default").subsets, "apiserver endpoints")
    assert ep[0].addresses[0].ip == node_ip(core, CP) and ep[0].ports[0].port == 6443


def test_node_port_balances_over_two_pods(core: client.CoreV1Api, ns: str) -> None:
    """Does a NodePort answer 200 on every node and spread 20 requests over both pods, which log them?"""
    pods = two_web_pods(core, ns)
    svc = node_port_service(core, ns)
    node_port = svc.spec.ports[0].node_port
    wait_for(ready_slice_ips(core, ns, 2), "two ready endpoints")
    for node in (CP, W1, W2):
        wait_open(node_ip(core, node), node_port)
    seen: collections.Counter[str] = collections.Counter()
    for i in range(20):
        node = (CP, W1, W2)[i % 3]
        status, body = get(f"http://{node_ip(core, node)}:{node_port}/")
        assert status == 200 and "Welcome" in body
        seen[re.search(r"pod: (\S+)", body).group(1)] += 1  # type: ignore[union-attr]
        assert f"ip: {next(p.status.pod_ip for p in pods if p.metadata.name in body)}" in body
    assert set(seen) == {"web0", "web1"} and min(seen.values()) >= 5
    log = core.read_namespaced_pod_log("web0", ns)
    assert len(re.findall(r'"GET / HTTP/1\.1" 200 \d+ "-" "Python-urllib/3\.\d+"', log)) == seen["web0"]


def test_terminating_pod_gets_no_traffic(cluster: SandboxThread, core: client.CoreV1Api, ns: str) -> None:
    """While a pod terminates, is it out of the ready endpoints and sent no requests?"""
    assert cluster.sandbox is not None
    timing = cluster.sandbox.manager.timing
    old_cap = timing.grace_cap
    timing.grace_cap = 8.0  # a terminating window long enough to watch
    try:
        two_web_pods(core, ns, image="gcr.io/google-samples/hello-app:1.0")
        svc = core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {
            "type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
        wait_for(ready_slice_ips(core, ns, 2), "two ready endpoints")
        core.delete_namespaced_pod("web0", ns)
        wait_for(ready_slice_ips(core, ns, 1), "web0 out of the ready endpoints")
        assert core.read_namespaced_pod("web0", ns).metadata.deletion_timestamp is not None
        wait_open(node_ip(core, W1), svc.spec.ports[0].node_port)
        url = f"http://{node_ip(core, W1)}:{svc.spec.ports[0].node_port}/"
        hosts = collections.Counter(get(url)[1].split("Hostname: ")[1].strip() for _ in range(10))
        assert hosts == {"web1": 10}
        disc = client.DiscoveryV1Api(core.api_client)
        sl = disc.list_namespaced_endpoint_slice(ns, label_selector="kubernetes.io/service-name=web").items[0]
        web0 = next(e for e in sl.endpoints if e.target_ref.name == "web0")
        assert (web0.conditions.ready, web0.conditions.terminating) == (False, True)
    finally:
        timing.grace_cap = old_cap


def test_no_ready_endpoints_answers_503(core: client.CoreV1Api, ns: str) -> None:
    """With no pod behind it, does the NodePort say so (503) instead of hanging?"""
    svc = node_port_service(core, ns)
    url = f"http://{node_ip(core, W1)}:{svc.spec.ports[0].node_port}/"
    status, body = wait_for(lambda: (r := get(url))[0] and r, "the node port to open")
    assert status == 503 and "no ready endpoints" in body


def test_taken_host_port_is_remapped_and_published(core: client.CoreV1Api, ns: str) -> None:
    """When another program holds a node's port, is the NodePort served elsewhere and the URLs annotated?"""
    ip = node_ip(core, W1)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    node_port = None
    for cand in range(30010, 30080):
        try:
            blocker.bind((ip, cand))
            node_port = cand
            break
        except OSError:
            continue
    assert node_port is not None
    blocker.listen()
    try:
        two_web_pods(core, ns, image="gcr.io/google-samples/hello-app:1.0")
        core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {
            "type": "NodePort", "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 8080, "nodePort": node_port}]}})
        wait_for(ready_slice_ips(core, ns, 2), "two ready endpoints")
        ann = wait_for(lambda: (core.read_namespaced_service("web", ns).metadata.annotations or {}).get(
            "sandbox.kk.dev/node-port-urls"), "the node-port-urls annotation")
        urls = json.loads(ann)[str(node_port)]
        assert set(urls) == {CP, W1, W2}
        assert urls[W1].startswith(f"http://{ip}:") and urls[W1] != f"http://{ip}:{node_port}"
        assert urls[W2] == f"http://{node_ip(core, W2)}:{node_port}"
        status, body = get(urls[W1])
        assert status == 200 and body.startswith("Hello, world!")
        assert core.read_namespaced_service("web", ns).metadata.annotations["sandbox.kk.dev/url"] == urls[W1]
        assert any(r == "NodePortRemapped" and t == "Warning" for t, r, _, _ in events(core, ns, "web"))
    finally:
        blocker.close()


def test_listeners_close_with_the_service(core: client.CoreV1Api, ns: str) -> None:
    """Is a node port closed once its service stops being a NodePort, and once it is deleted?"""
    ip = node_ip(core, W1)

    def closed(port: int) -> Callable[[], bool]:
        def check() -> bool:
            with socket.socket() as s:
                s.settimeout(1)
                return s.connect_ex((ip, port)) != 0
        return check
    svc = node_port_service(core, ns)
    port = svc.spec.ports[0].node_port
    wait_open(ip, port)
    core.patch_namespaced_service("web", ns, {"spec": {"type": "ClusterIP", "externalTrafficPolicy": None,
                                                       "ports": [{"name": "http", "port": 80, "nodePort": None}]}})
    wait_for(closed(port), "the listener to close when the type changes")
    core.patch_namespaced_service("web", ns, {"spec": {"type": "NodePort"}})
    port = wait_for(lambda: core.read_namespaced_service("web", ns).spec.ports[0].node_port, "a new node port")
    wait_open(ip, port)
    core.delete_namespaced_service("web", ns)
    wait_for(closed(port), "the listener to close with the service")


@pytest.mark.slow
def test_realistic_mode_is_watchable(tmp_path: Path) -> None:
    """In realistic mode, does a pod visibly pass through ContainerCreating and reach Ready within 1-3 s?"""
    with SandboxThread(tmp_path, mode="realistic") as sb:
        api = config.new_client_from_config(str(sb.kubeconfig_path))
        try:
            v1 = client.CoreV1Api(api)
            start = time.monotonic()
            v1.create_namespaced_pod("default", pod("slow"))
            seen = set()
            while time.monotonic() - start < 10:
                p = v1.read_namespaced_pod("slow", "default")
                cs = p.status.container_statuses
                if cs and cs[0].state.waiting:
                    seen.add(cs[0].state.waiting.reason)
                if cs and cs[0].ready:
                    break
                time.sleep(0.05)
            took = time.monotonic() - start
        finally:
            api.close()
    assert "ContainerCreating" in seen
    assert 1.0 <= took <= 4.0


# -- nodes -----------------------------------------------------------------------------------


def test_stopped_node_goes_not_ready_and_loses_its_pods(core: client.CoreV1Api, ns: str) -> None:
    """Does stopping a node make it NotReady and tainted, evict its pods, and starting it bring it back?"""
    core.create_namespaced_pod(ns, pod("pinned", nodeSelector={"kubernetes.io/hostname": W1}))
    core.create_namespaced_pod(ns, pod("elsewhere", nodeSelector={"kubernetes.io/hostname": W2}))
    wait_for(running_ready(core, ns, "pinned"), "pinned to run")
    wait_for(running_ready(core, ns, "elsewhere"), "elsewhere to run")
    core.patch_node(W1, {"metadata": {"annotations": {"sandbox.kk.dev/stopped": "true"}}})
    try:
        def not_ready() -> Any:
            n = core.read_node(W1)
            ready = next(c for c in n.status.conditions if c.type == "Ready")
            return n if ready.status == "Unknown" else None
        n = wait_for(not_ready, "NotReady")
        ready = next(c for c in n.status.conditions if c.type == "Ready")
        assert (ready.reason, ready.message) == ("NodeStatusUnknown", "Kubelet stopped posting node status.")
        assert {(t.key, t.effect) for t in n.spec.taints} >= {("node.kubernetes.io/unreachable", "NoSchedule"),
                                                              ("node.kubernetes.io/unreachable", "NoExecute")}
        p = wait_for(lambda: (x := core.read_namespaced_pod("pinned", ns)).metadata.deletion_timestamp and x,
                     "the pod to be evicted", timeout=15)
        assert any(c.type == "DisruptionTarget" and c.reason == "DeletionByTaintManager" for c in p.status.conditions)
        assert core.read_namespaced_pod("elsewhere", ns).metadata.deletion_timestamp is None
        assert any(r == "TaintManagerEviction" for _, r, _, _ in events(core, ns, "pinned"))
        assert any(r == "NodeNotReady" for _, r, _, _ in events(core, "default", W1))
    finally:
        core.patch_node(W1, {"metadata": {"annotations": {"sandbox.kk.dev/stopped": None}}})

    def ready_again() -> Any:
        n = core.read_node(W1)
        ok = next(c for c in n.status.conditions if c.type == "Ready").status == "True"
        return ok and not any(t.key == "node.kubernetes.io/unreachable" for t in n.spec.taints or [])
    wait_for(ready_again, "the node to be Ready again")

    def gone() -> bool:
        try:
            core.read_namespaced_pod("pinned", ns)
        except ApiException as err:
            return err.status == 404
        return False
    wait_for(gone, "the evicted pod to be removed once its kubelet is back")


# -- kubectl ---------------------------------------------------------------------------------


@pytest.mark.kubectl
def test_kubectl_get_pods_shows_image_pull_back_off(kubectl: Kubectl) -> None:
    """Does ``kubectl get pods`` show ImagePullBackOff for a bad image, and describe its events?"""
    kubectl("run", "bad", "--image=nginx:bad")
    out = wait_for(lambda: (o := kubectl("get", "pods").stdout) and "ImagePullBackOff" in o and o,
                   "ImagePullBackOff in kubectl get pods").splitlines()
    assert re.fullmatch(r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE", out[0])
    assert re.fullmatch(r"bad\s+0/1\s+ImagePullBackOff\s+0\s+\S+", out[1])
    desc = kubectl("describe", "pod", "bad").stdout
    assert 'Back-off pulling image "nginx:bad"' in desc and "Error: ErrImagePull" in desc


@pytest.mark.kubectl
def test_kubectl_logs(kubectl: Kubectl) -> None:
    """Do ``kubectl logs`` and its --tail / --previous options show the container's output?"""
    kubectl("run", "counter", "--image=busybox", "--restart=Never", "--", "sh", "-c",
            "for i in 1 2 3 4 5; do echo line $i; done")
    wait_for(lambda: "Completed" in kubectl("get", "pod", "counter").stdout, "the pod to complete")
    assert kubectl("logs", "counter").stdout == "".join(f"line {i}\n" for i in range(1, 6))
    assert kubectl("logs", "counter", "--tail=2").stdout == "line 4\nline 5\n"
    ts = kubectl("logs", "counter", "--timestamps").stdout.splitlines()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 1", ts)
    prev = kubectl("logs", "counter", "--previous", check=False)
    assert prev.returncode != 0 and 'previous terminated container "counter" in pod "counter" not found' in prev.stderr


@pytest.mark.kubectl
def test_kubectl_node_drill(kubectl: Kubectl) -> None:
    """Does ``kubectl get nodes`` show a stopped node NotReady and a cordoned one SchedulingDisabled?"""
    kubectl("annotate", "node", W2, "sandbox.kk.dev/stopped=true", namespaced=False)
    kubectl("cordon", W1, namespaced=False)
    try:
        wait_for(lambda: re.search(rf"{W2}\s+NotReady\s", kubectl("get", "nodes", namespaced=False).stdout),
                 "NotReady")
        assert re.search(rf"{W1}\s+Ready,SchedulingDisabled\s", kubectl("get", "nodes", namespaced=False).stdout)
    finally:
        kubectl("annotate", "node", W2, "sandbox.kk.dev/stopped-", namespaced=False)
        kubectl("uncordon", W1, namespaced=False)
    wait_for(lambda: re.search(rf"{W2}\s+Ready\s", kubectl("get", "nodes", namespaced=False).stdout), "Ready again")
