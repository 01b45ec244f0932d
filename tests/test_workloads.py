"""Do Deployments and ReplicaSets behave in the sandbox as kube-controller-manager makes them behave?

Drives the real kubectl and the official Python client against the in-process
fast-mode sandbox: the seed lab (create, scale, self-healing, delete), rolling
updates watched event by event for the maxSurge/maxUnavailable bounds, a stuck
rollout recovered with ``rollout undo``, ``rollout history``, Recreate, pause and
resume, history cleanup, minReadySeconds, adoption, the status, conditions,
annotations and events a real controller writes, and 100 replicas at once.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable

import pytest
from waiting import wait_until
from kubernetes import client, watch

REVISION = "deployment.kubernetes.io/revision"




def apps(api: Any) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def core(api: Any) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def live_pods(api: Any, ns: str, selector: str) -> list[client.V1Pod]:
    """Pods that count: not terminating and not finished."""
    pods = core(api).list_namespaced_pod(ns, label_selector=selector).items
    return [p for p in pods if p.metadata.deletion_timestamp is None and p.status.phase not in ("Succeeded", "Failed")]


def is_ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def deployment_ready(api: Any, ns: str, name: str, replicas: int) -> bool:
    d = apps(api).read_namespaced_deployment(name, ns)
    s = d.status
    return (s.observed_generation == d.metadata.generation and (s.ready_replicas or 0) == replicas
            and (s.updated_replicas or 0) == replicas and (s.available_replicas or 0) == replicas
            and (s.replicas or 0) == replicas)


def events(api: Any, ns: str, name: str) -> list[tuple[str, str]]:
    evs = core(api).list_namespaced_event(ns, field_selector=f"involvedObject.name={name}").items
    return [(e.reason, e.message) for e in sorted(evs, key=lambda e: (e.first_timestamp or 0, e.metadata.name))]


class PodWatch:
    """Follows every pod event of a selector (a real watch) and records live/ready counts after each one."""

    def __init__(self, api: Any, ns: str, selector: str) -> None:
        self.api, self.ns, self.selector = api, ns, selector
        self.pods: dict[str, client.V1Pod] = {}
        self.history: list[tuple[int, int]] = []
        self.error: BaseException | None = None
        self.synced = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PodWatch":
        self._thread.start()
        assert self.synced.wait(10), "pod watch did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert self.error is None, self.error

    def _run(self) -> None:
        try:
            v1 = core(self.api)
            listed = v1.list_namespaced_pod(self.ns, label_selector=self.selector)
            for p in listed.items:
                self.pods[p.metadata.name] = p
            rv = listed.metadata.resource_version
            self.synced.set()
            while not self._stop.is_set():
                w = watch.Watch()
                for ev in w.stream(v1.list_namespaced_pod, self.ns, label_selector=self.selector,
                                   resource_version=rv, timeout_seconds=1):
                    pod = ev["object"]
                    rv = pod.metadata.resource_version
                    if ev["type"] == "DELETED":
                        self.pods.pop(pod.metadata.name, None)
                    else:
                        self.pods[pod.metadata.name] = pod
                    live = [p for p in self.pods.values()
                            if p.metadata.deletion_timestamp is None and p.status.phase not in ("Succeeded", "Failed")]
                    self.history.append((len(live), sum(1 for p in live if is_ready(p))))
        except BaseException as err:  # reported by __exit__
            self.error = err
            self.synced.set()

    def observe_from_now(self) -> None:
        self.history.clear()

    def bounds(self) -> tuple[int, int]:
        """(most live pods, fewest ready live pods) over the events seen since ``observe_from_now``."""
        assert self.history, "no pod events were observed"
        return max(h[0] for h in self.history), min(h[1] for h in self.history)


# -- the seed lab ------------------------------------------------------------------------------


@pytest.mark.kubectl
def test_seed_lab_create_scale_heal_delete(kubectl, api) -> None:
    """Does the seed lab work: 1/1 Ready, 4/4 on two workers, a pod replaced, a NodePort over all 4, all gone at the end?

    As on kind: ``expose --type=NodePort --port=80`` answers HTTP 200 on a worker's address, and 20 requests are
    answered by all four pods (the apache-php page names the pod that served it).
    """
    k, ns = kubectl, kubectl.namespace
    assert k("create", "deployment", "myd1", "--image=vimal13/apache-webserver-php").stdout.strip() == \
        "deployment.apps/myd1 created"
    out = k("rollout", "status", "deployment/myd1", "--timeout=30s").stdout
    assert 'deployment "myd1" successfully rolled out' in out
    row = k("get", "deploy", "myd1", "--no-headers").stdout.split()
    assert row[:4] == ["myd1", "1/1", "1", "1"]

    k("scale", "deployment", "myd1", "--replicas=4")
    k("rollout", "status", "deployment/myd1", "--timeout=30s")
    wait_until(lambda: deployment_ready(api, ns, "myd1", 4), what="4/4 ready")
    assert k("get", "deploy", "myd1", "--no-headers").stdout.split()[1] == "4/4"
    pods = live_pods(api, ns, "app=myd1")
    assert len(pods) == 4
    assert {p.spec.node_name for p in pods} == {"kk-worker", "kk-worker2"}
    rs_name = pods[0].metadata.owner_references[0].name
    assert all(p.metadata.name.startswith(rs_name + "-") and len(p.metadata.name) == len(rs_name) + 6 for p in pods)

    victim = pods[0].metadata.name
    k("delete", "pod", victim)
    names = wait_until(lambda: (lambda ps: {p.metadata.name for p in ps}
                                if len(ps) == 4 and all(is_ready(p) for p in ps) and victim not in
                                {p.metadata.name for p in ps} else None)(live_pods(api, ns, "app=myd1")),
                       what="a replacement pod")
    assert victim not in names
    assert ("SuccessfulCreate", f"Created pod: {(names - {p.metadata.name for p in pods}).pop()}") in \
        events(api, ns, rs_name)

    assert k("expose", "deployment", "myd1", "--type=NodePort", "--port=80").stdout.strip() == \
        "service/myd1 exposed"
    answered = requests_answered_by(api, ns, "myd1", 4, 20)
    assert set(answered) == {p.metadata.name for p in live_pods(api, ns, "app=myd1")}, answered
    assert len(answered) == 4 and sum(answered.values()) == 20

    k("delete", "deployment", "myd1")
    wait_until(lambda: not apps(api).list_namespaced_replica_set(ns).items, what="replica sets gone")
    wait_until(lambda: not core(api).list_namespaced_pod(ns).items, what="pods gone")


def node_port_url(api: Any, ns: str, service: str, node: str) -> str:
    """``http://<node-ip>:<nodePort>``, or the remapped URL the proxy published if that port was taken."""
    svc = core(api).read_namespaced_service(service, ns)
    port = svc.spec.ports[0].node_port
    urls = json.loads((svc.metadata.annotations or {}).get("sandbox.kk.dev/node-port-urls") or "{}")
    if str(port) in urls:
        return str(urls[str(port)][node])
    ip = next(a.address for a in core(api).read_node(node).status.addresses if a.type == "InternalIP")
    return f"http://{ip}:{port}"


def requests_answered_by(api: Any, ns: str, service: str, endpoints: int, n: int) -> collections.Counter[str]:
    """Once ``endpoints`` pods are ready behind it, send ``n`` requests to the NodePort; count who answered."""
    wait_until(lambda: len([a for s in core(api).read_namespaced_endpoints(service, ns).subsets or []
                            for a in s.addresses or []]) == endpoints, what=f"{endpoints} ready endpoints")

    def first() -> tuple[int, str] | None:
        try:
            with urllib.request.urlopen(node_port_url(api, ns, service, "kk-worker"), timeout=5) as resp:
                return resp.status, resp.read().decode()
        except (urllib.error.URLError, ConnectionError):
            return None  # the node port listener opens asynchronously
    status, _ = wait_until(first, what="the node port to answer")
    assert status == 200
    seen: collections.Counter[str] = collections.Counter()
    for _ in range(n):
        with urllib.request.urlopen(node_port_url(api, ns, service, "kk-worker"), timeout=5) as resp:
            assert resp.status == 200
            body = resp.read().decode()
        match = re.search(rf"({re.escape(service)}-[a-z0-9]+-[a-z0-9]{{5}})", body)
        assert match, body
        seen[match.group(1)] += 1
    return seen


# -- rolling updates ---------------------------------------------------------------------------


@pytest.mark.kubectl
def test_rolling_update_keeps_surge_and_availability_bounds(pinned_kubectl, api) -> None:
    """During `set image`, are there never more than replicas+maxSurge pods, never under replicas-maxUnavailable ready?

    maxSurge 25% of 6 rounds up to 2 and maxUnavailable down to 1; a watch checks after every pod event.
    """
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    k("create", "deployment", "web", "--image=nginx:1.27", "--replicas=6")
    k("rollout", "status", "deployment/web", "--timeout=30s")
    wait_until(lambda: deployment_ready(api, ns, "web", 6))
    with PodWatch(api, ns, "app=web") as pw:
        pw.observe_from_now()
        k("set", "image", "deployment/web", "nginx=nginx:1.28")
        k("rollout", "status", "deployment/web", "--timeout=60s")
        wait_until(lambda: deployment_ready(api, ns, "web", 6))
        wait_until(lambda: len(live_pods(api, ns, "app=web")) == 6
                   and all(p.spec.containers[0].image == "nginx:1.28" for p in live_pods(api, ns, "app=web")))
        time.sleep(0.2)
        most, fewest_ready = pw.bounds()
    assert most <= 6 + 2, pw.history
    assert fewest_ready >= 6 - 1, pw.history
    assert len(pw.history) > 12  # the watch saw the rollout step by step

    rss = apps(api).list_namespaced_replica_set(ns).items
    assert len(rss) == 2
    new = next(r for r in rss if r.spec.replicas == 6)
    old = next(r for r in rss if r.spec.replicas == 0)
    assert new.metadata.annotations[REVISION] == "2" and old.metadata.annotations[REVISION] == "1"
    evs = [m for r, m in events(api, ns, "web") if r == "ScalingReplicaSet"]
    assert evs[0] == f"Scaled up replica set {old.metadata.name} to 6"
    assert f"Scaled up replica set {new.metadata.name} to 2" in evs
    assert any(m.startswith(f"Scaled down replica set {old.metadata.name} to ") and " from " in m for m in evs)
    assert evs[-1].startswith(f"Scaled down replica set {old.metadata.name} to 0 from ")


@pytest.mark.kubectl
def test_bad_image_stalls_and_undo_recovers(kubectl, api) -> None:
    """Does a bad tag leave the rollout stuck on ImagePullBackOff, and `rollout undo` bring back the old ReplicaSet?"""
    k, ns = kubectl, kubectl.namespace
    k("create", "deployment", "web", "--image=nginx:1.27", "--replicas=4")
    k("rollout", "status", "deployment/web", "--timeout=30s")
    first_rs = apps(api).list_namespaced_replica_set(ns).items[0].metadata.name

    k("set", "image", "deployment/web", "nginx=nginx:9.99-no-such-tag")
    stuck = k("rollout", "status", "deployment/web", "--timeout=2s", check=False)
    assert stuck.returncode != 0
    assert "Waiting for deployment \"web\" rollout to finish" in stuck.stdout
    bad_rs = wait_until(lambda: next((r for r in apps(api).list_namespaced_replica_set(ns).items
                                      if r.metadata.name != first_rs), None))
    wait_until(lambda: any(cs.state.waiting and cs.state.waiting.reason in ("ErrImagePull", "ImagePullBackOff")
                           for p in core(api).list_namespaced_pod(ns, label_selector=f"pod-template-hash="
                                                                 f"{bad_rs.metadata.labels['pod-template-hash']}").items
                           for cs in p.status.container_statuses or []), what="ImagePullBackOff")
    # maxSurge 1 + maxUnavailable 1 of 4: the new ReplicaSet gets 2 pods, the old one keeps 3, and no more
    wait_until(lambda: (lambda d: d.status.ready_replicas == 3 and d.status.updated_replicas == 2)(
        apps(api).read_namespaced_deployment("web", ns)), what="the rollout to stall at 3 old + 2 new")
    time.sleep(0.3)
    assert sorted(r.spec.replicas for r in apps(api).list_namespaced_replica_set(ns).items) == [2, 3]
    assert len(live_pods(api, ns, "app=web")) == 5

    out = k("rollout", "undo", "deployment/web").stdout
    assert out.strip() == "deployment.apps/web rolled back"
    k("rollout", "status", "deployment/web", "--timeout=30s")
    wait_until(lambda: deployment_ready(api, ns, "web", 4))
    rs = apps(api).read_namespaced_replica_set(first_rs, ns)
    assert rs.spec.replicas == 4
    assert rs.metadata.annotations[REVISION] == "3"
    assert rs.metadata.annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert apps(api).read_namespaced_deployment("web", ns).metadata.annotations[REVISION] == "3"
    wait_until(lambda: apps(api).read_namespaced_replica_set(bad_rs.metadata.name, ns).status.replicas == 0)
    assert all(p.spec.containers[0].image == "nginx:1.27" for p in live_pods(api, ns, "app=web"))


@pytest.mark.kubectl
def test_progress_deadline_exceeded(pinned_kubectl, api) -> None:
    """Does a rollout that makes no progress for progressDeadlineSeconds report ProgressDeadlineExceeded?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    apps(api).create_namespaced_deployment(ns, make_deployment("late", 1, image="nginx:9.99-no-such-tag",
                                                               progressDeadlineSeconds=1))
    cond = wait_until(lambda: next((c for c in apps(api).read_namespaced_deployment("late", ns).status.conditions or []
                                    if c.type == "Progressing" and c.status == "False"), None),
                      timeout=15, what="the progress deadline")
    rs = apps(api).list_namespaced_replica_set(ns).items[0].metadata.name
    assert (cond.reason, cond.message) == ("ProgressDeadlineExceeded", f'ReplicaSet "{rs}" has timed out progressing.')
    r = k("rollout", "status", "deployment/late", "--timeout=5s", check=False)
    assert r.returncode != 0 and 'deployment "late" exceeded its progress deadline' in r.stderr


@pytest.mark.kubectl
def test_rollout_history_lists_revisions(pinned_kubectl, api) -> None:
    """Does `rollout history` list each revision with its change-cause, and show one revision's template?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    k("create", "deployment", "web", "--image=nginx:1.27")
    k("rollout", "status", "deployment/web", "--timeout=30s")
    k("set", "image", "deployment/web", "nginx=nginx:1.28")
    k("rollout", "status", "deployment/web", "--timeout=30s")
    # annotated after the change: the controller copies it to the new (current) ReplicaSet only
    k("annotate", "deployment/web", "kubernetes.io/change-cause=bump to 1.28")
    wait_until(lambda: any((r.metadata.annotations or {}).get("kubernetes.io/change-cause")
                           for r in apps(api).list_namespaced_replica_set(ns).items))
    out = k("rollout", "history", "deployment/web").stdout
    lines = [line.split(None, 1) for line in out.strip().splitlines()[1:]]
    assert lines[0] == ["REVISION", "CHANGE-CAUSE"]
    assert lines[1] == ["1", "<none>"] and lines[2] == ["2", "bump to 1.28"]
    detail = k("rollout", "history", "deployment/web", "--revision=1").stdout
    assert "nginx:1.27" in detail and "pod-template-hash=" in detail


# -- strategies and options --------------------------------------------------------------------


def make_deployment(name: str, replicas: int = 2, image: str = "nginx:1.27", **spec: Any) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}, **spec}}


def set_image(api: Any, ns: str, name: str, image: str) -> None:
    apps(api).patch_namespaced_deployment(name, ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": image}]}}}})


def test_recreate_never_overlaps_pods(api, namespace) -> None:
    """With Recreate, are all old pods gone (not just terminating) before the first new pod exists?"""
    ns = namespace
    apps(api).create_namespaced_deployment(ns, make_deployment("rec2", 2, strategy={"type": "Recreate"}))
    wait_until(lambda: deployment_ready(api, ns, "rec2", 2))
    old_hash = live_pods(api, ns, "app=rec2")[0].metadata.labels["pod-template-hash"]
    overlaps: list[set[str]] = []
    v1 = core(api)
    w = watch.Watch()
    present: dict[str, str] = {p.metadata.name: p.metadata.labels["pod-template-hash"]
                               for p in v1.list_namespaced_pod(ns, label_selector="app=rec2").items}
    rv = v1.list_namespaced_pod(ns, label_selector="app=rec2").metadata.resource_version
    set_image(api, ns, "rec2", "nginx:1.28")
    for ev in w.stream(v1.list_namespaced_pod, ns, label_selector="app=rec2", resource_version=rv, timeout_seconds=20):
        pod = ev["object"]
        if ev["type"] == "DELETED":
            present.pop(pod.metadata.name, None)
        else:
            present[pod.metadata.name] = pod.metadata.labels["pod-template-hash"]
        hashes = set(present.values())
        if len(hashes) > 1:
            overlaps.append(hashes)
        new_ready = [p for p in live_pods(api, ns, "app=rec2") if p.metadata.labels["pod-template-hash"] != old_hash
                     and is_ready(p)] if ev["type"] == "MODIFIED" else []
        if len(new_ready) == 2:
            w.stop()
    assert not overlaps
    wait_until(lambda: deployment_ready(api, ns, "rec2", 2))
    evs = [m for r, m in events(api, ns, "rec2") if r == "ScalingReplicaSet"]
    assert evs[1].startswith("Scaled down replica set rec2-") and evs[1].endswith(" to 0 from 2")
    assert evs[2].startswith("Scaled up replica set rec2-") and evs[2].endswith(" to 2")


def test_paused_deployment_waits_for_resume(api, namespace) -> None:
    """Does a paused Deployment keep its ReplicaSet on a template change, say DeploymentPaused, and roll on resume?"""
    ns = namespace
    apps(api).create_namespaced_deployment(ns, make_deployment("p", 2))
    wait_until(lambda: deployment_ready(api, ns, "p", 2))
    apps(api).patch_namespaced_deployment("p", ns, {"spec": {"paused": True}})
    wait_until(lambda: apps(api).read_namespaced_deployment("p", ns).status.conditions[-1].reason == "DeploymentPaused")
    cond = next(c for c in apps(api).read_namespaced_deployment("p", ns).status.conditions if c.type == "Progressing")
    assert (cond.status, cond.message) == ("Unknown", "Deployment is paused")
    set_image(api, ns, "p", "nginx:1.28")
    time.sleep(0.3)
    assert len(apps(api).list_namespaced_replica_set(ns).items) == 1
    apps(api).patch_namespaced_deployment("p", ns, {"spec": {"replicas": 3}})
    wait_until(lambda: (apps(api).read_namespaced_deployment("p", ns).status.ready_replicas or 0) == 3,
               what="a paused deployment still scales")
    d = apps(api).read_namespaced_deployment("p", ns)
    assert not d.status.updated_replicas  # the paused template change has no ReplicaSet yet
    apps(api).patch_namespaced_deployment("p", ns, {"spec": {"paused": False}})
    wait_until(lambda: len(apps(api).list_namespaced_replica_set(ns).items) == 2)
    wait_until(lambda: deployment_ready(api, ns, "p", 3) and all(
        p.spec.containers[0].image == "nginx:1.28" for p in live_pods(api, ns, "app=p")))


def test_revision_history_limit_cleans_old_replicasets(api, namespace) -> None:
    """Are ReplicaSets beyond revisionHistoryLimit deleted, oldest first?"""
    ns = namespace
    apps(api).create_namespaced_deployment(ns, make_deployment("h", 1, revisionHistoryLimit=1))
    wait_until(lambda: deployment_ready(api, ns, "h", 1))
    for tag in ("1.28", "1.27-alpine", "1.28-alpine"):
        set_image(api, ns, "h", f"nginx:{tag}")
        wait_until(lambda tag=tag: deployment_ready(api, ns, "h", 1) and all(
            p.spec.containers[0].image == f"nginx:{tag}" for p in live_pods(api, ns, "app=h")))
    rss = wait_until(lambda: (lambda items: items if len(items) == 2 else None)(
        apps(api).list_namespaced_replica_set(ns).items), what="two replica sets left")
    assert sorted(r.metadata.annotations[REVISION] for r in rss) == ["3", "4"]


def test_min_ready_seconds_delays_availability(api, namespace) -> None:
    """Do pods count as available only minReadySeconds after they became ready?"""
    ns = namespace
    apps(api).create_namespaced_deployment(ns, make_deployment("m", 1, minReadySeconds=2))
    wait_until(lambda: (apps(api).read_namespaced_deployment("m", ns).status.ready_replicas or 0) == 1)
    d = apps(api).read_namespaced_deployment("m", ns)
    assert not d.status.available_replicas
    assert next(c for c in d.status.conditions if c.type == "Available").reason == "MinimumReplicasUnavailable"
    wait_until(lambda: deployment_ready(api, ns, "m", 1), timeout=10)
    rs = apps(api).list_namespaced_replica_set(ns).items[0]
    assert rs.spec.min_ready_seconds == 2 and rs.status.available_replicas == 1


# -- what a real controller writes -------------------------------------------------------------


def test_status_conditions_annotations_and_owners(api, namespace) -> None:
    """Are the Deployment's status and conditions, and its ReplicaSet's name, labels, annotations and owner as real?"""
    ns = namespace
    created = apps(api).create_namespaced_deployment(ns, make_deployment("web", 3))
    wait_until(lambda: deployment_ready(api, ns, "web", 3))
    d = apps(api).read_namespaced_deployment("web", ns)
    assert d.metadata.annotations[REVISION] == "1"
    s = d.status
    assert (s.replicas, s.updated_replicas, s.ready_replicas, s.available_replicas) == (3, 3, 3, 3)
    assert s.unavailable_replicas is None and s.observed_generation == d.metadata.generation
    conds = {c.type: c for c in s.conditions}
    assert [c.type for c in s.conditions] == ["Available", "Progressing"]
    assert (conds["Available"].status, conds["Available"].reason, conds["Available"].message) == \
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    rs = apps(api).list_namespaced_replica_set(ns).items[0]
    h = rs.metadata.labels["pod-template-hash"]
    assert rs.metadata.name == f"web-{h}"
    assert (conds["Progressing"].status, conds["Progressing"].reason, conds["Progressing"].message) == \
        ("True", "NewReplicaSetAvailable", f'ReplicaSet "web-{h}" has successfully progressed.')
    assert rs.spec.selector.match_labels == {"app": "web", "pod-template-hash": h}
    assert rs.spec.template.metadata.labels == {"app": "web", "pod-template-hash": h}
    assert rs.metadata.annotations == {REVISION: "1", "deployment.kubernetes.io/desired-replicas": "3",
                                       "deployment.kubernetes.io/max-replicas": "4"}
    ref = rs.metadata.owner_references[0]
    assert (ref.api_version, ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == \
        ("apps/v1", "Deployment", "web", created.metadata.uid, True, True)
    assert (rs.status.replicas, rs.status.fully_labeled_replicas, rs.status.ready_replicas,
            rs.status.available_replicas) == (3, 3, 3, 3)
    pod = live_pods(api, ns, "app=web")[0]
    pref = pod.metadata.owner_references[0]
    assert (pref.kind, pref.name, pref.controller, pref.block_owner_deletion) == ("ReplicaSet", rs.metadata.name,
                                                                                  True, True)
    assert pod.metadata.generate_name == f"{rs.metadata.name}-"
    assert events(api, ns, "web")[0] == ("ScalingReplicaSet", f"Scaled up replica set web-{h} to 3")


def test_same_template_same_replicaset_name(api, namespace) -> None:
    """Does an identical template in another Deployment of the same name give the same ReplicaSet name?"""
    ns = namespace
    apps(api).create_namespaced_deployment(ns, make_deployment("same", 1))
    first = wait_until(lambda: apps(api).list_namespaced_replica_set(ns).items)[0].metadata.name
    apps(api).delete_namespaced_deployment("same", ns)
    wait_until(lambda: not apps(api).list_namespaced_replica_set(ns).items)
    apps(api).create_namespaced_deployment(ns, make_deployment("same", 1))
    again = wait_until(lambda: apps(api).list_namespaced_replica_set(ns).items)[0].metadata.name
    assert again == first


def test_scale_down_deletes_and_records(api, namespace) -> None:
    """Does scaling down delete pods with SuccessfulDelete events and a ScalingReplicaSet 'to N from M'?"""
    ns = namespace
    apps(api).create_namespaced_deployment(ns, make_deployment("s", 4))
    wait_until(lambda: deployment_ready(api, ns, "s", 4))
    apps(api).patch_namespaced_deployment_scale("s", ns, {"spec": {"replicas": 1}})
    wait_until(lambda: deployment_ready(api, ns, "s", 1) and len(live_pods(api, ns, "app=s")) == 1)
    rs = apps(api).list_namespaced_replica_set(ns).items[0].metadata.name
    assert ("ScalingReplicaSet", f"Scaled down replica set {rs} to 1 from 4") in events(api, ns, "s")
    deletes = [m for r, m in events(api, ns, rs) if r == "SuccessfulDelete"]
    assert len(deletes) == 3 and all(m.startswith(f"Deleted pod: {rs}-") for m in deletes)


def test_replicaset_adopts_matching_orphans(api, namespace) -> None:
    """Does a bare ReplicaSet adopt a matching pod without owner and create only the rest?"""
    ns = namespace
    core(api).create_namespaced_pod(ns, {"metadata": {"name": "stray", "labels": {"tier": "x"}},
                                         "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
    apps(api).create_namespaced_replica_set(ns, {
        "metadata": {"name": "rs"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"tier": "x"}},
                 "template": {"metadata": {"labels": {"tier": "x"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    wait_until(lambda: (apps(api).read_namespaced_replica_set("rs", ns).status.ready_replicas or 0) == 3)
    pods = live_pods(api, ns, "tier=x")
    assert len(pods) == 3
    stray = core(api).read_namespaced_pod("stray", ns)
    assert stray.metadata.owner_references[0].name == "rs"


@pytest.mark.slow
@pytest.mark.kubectl
def test_hundred_replicas(pinned_kubectl, api) -> None:
    """Do 100 replicas become Ready in fast mode within seconds?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    t0 = time.monotonic()
    k("create", "deployment", "big", "--image=nginx:1.27", "--replicas=100")
    k("rollout", "status", "deployment/big", "--timeout=60s")
    elapsed = time.monotonic() - t0
    assert deployment_ready(api, ns, "big", 100)
    print(f"100 replicas Ready in {elapsed:.2f}s")
    assert elapsed < 30
