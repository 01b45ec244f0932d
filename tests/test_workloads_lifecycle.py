"""Do deletion, ownership and restarts work in the sandbox as kube-controller-manager handles them?

Namespace deletion (contents first, pods gracefully, then the namespace), the default
ServiceAccount, the garbage collector's three propagation policies through kubectl
(background, ``--cascade=foreground``, ``--cascade=orphan``), a sandbox restarted in
the middle of a rollout (no duplicate and no orphaned pods afterwards), and a
controller whose reconcile raises: the API keeps answering and the controller recovers.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from waiting import wait_until
from kubernetes import client, config

from kk_helpers.sandbox.app import SandboxThread




def apps(api: Any) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def core(api: Any) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def deployment(name: str, replicas: int, image: str = "nginx:1.27") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def ready(api: Any, ns: str, name: str, replicas: int) -> bool:
    d = apps(api).read_namespaced_deployment(name, ns)
    s = d.status
    return (s.observed_generation == d.metadata.generation and (s.ready_replicas or 0) == replicas
            and (s.updated_replicas or 0) == replicas and (s.available_replicas or 0) == replicas
            and (s.replicas or 0) == replicas)


def pod_names(api: Any, ns: str, selector: str = "") -> set[str]:
    return {p.metadata.name for p in core(api).list_namespaced_pod(ns, label_selector=selector).items}


# -- namespaces and service accounts -----------------------------------------------------------


@pytest.mark.kubectl
def test_namespace_deletion_removes_contents_then_namespace(pinned_kubectl, api) -> None:
    """Does `kubectl delete ns` delete deployments, pods, jobs, services and config maps, then the namespace?"""
    k = pinned_kubectl
    k("create", "namespace", "doomed", namespaced=False)
    try:
        k("-n", "doomed", "create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", namespaced=False)
        k("-n", "doomed", "create", "job", "busy", "--image=busybox:1.36", "--", "sleep", "1000", namespaced=False)
        k("-n", "doomed", "create", "configmap", "cfg", "--from-literal=a=b", namespaced=False)
        k("-n", "doomed", "expose", "deployment", "web", "--port=80", namespaced=False)
        wait_until(lambda: ready(api, "doomed", "web", 3))
        wait_until(lambda: len(pod_names(api, "doomed")) == 4)
        t0 = time.monotonic()
        out = k("delete", "namespace", "doomed", "--timeout=30s", namespaced=False).stdout
        elapsed = time.monotonic() - t0
        assert out.strip() == 'namespace "doomed" deleted'
        gone = k("get", "namespace", "doomed", check=False, namespaced=False)
        assert 'namespaces "doomed" not found' in gone.stderr
        assert elapsed < 10, elapsed
    finally:
        k("delete", "namespace", "doomed", "--ignore-not-found", "--wait=false", namespaced=False, check=False)


def test_terminating_namespace_reports_remaining_content(api, sandbox) -> None:
    """While content with a finalizer remains, is the namespace Terminating with the real conditions?"""
    v1 = core(api)
    v1.create_namespace({"metadata": {"name": "lingering"}})
    v1.create_namespaced_config_map("lingering", {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    v1.delete_namespace("lingering")
    ns = wait_until(lambda: (lambda n: n if n.status.conditions else None)(v1.read_namespace("lingering")))
    assert ns.status.phase == "Terminating"
    conds = {c.type: (c.status, c.reason, c.message) for c in ns.status.conditions}
    assert conds["NamespaceContentRemaining"] == ("True", "SomeResourcesRemain",
                                                  "Some resources are remaining: configmaps. has 1 resource instances")
    assert conds["NamespaceFinalizersRemaining"] == (
        "True", "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    assert conds["NamespaceDeletionContentFailure"][1] == "ContentDeleted"
    v1.patch_namespaced_config_map("held", "lingering", {"metadata": {"finalizers": None}})
    wait_until(lambda: "lingering" not in {n.metadata.name for n in v1.list_namespace().items})


def test_default_service_account(api, namespace) -> None:
    """Does every new namespace get a `default` ServiceAccount, and get it back when it is deleted?"""
    v1 = core(api)
    sa = wait_until(lambda: v1.list_namespaced_service_account(namespace).items)
    assert [s.metadata.name for s in sa] == ["default"]
    uid = sa[0].metadata.uid
    v1.delete_namespaced_service_account("default", namespace)
    again = wait_until(lambda: [s for s in v1.list_namespaced_service_account(namespace).items
                                if s.metadata.uid != uid])
    assert again[0].metadata.name == "default"


# -- garbage collection ------------------------------------------------------------------------


@pytest.mark.kubectl
def test_delete_replicaset_in_background_removes_pods(pinned_kubectl, api) -> None:
    """Does deleting a ReplicaSet (background, kubectl's default) delete its pods?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    apps(api).create_namespaced_replica_set(ns, {
        "metadata": {"name": "rs"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "rs"}},
                 "template": {"metadata": {"labels": {"app": "rs"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    wait_until(lambda: (apps(api).read_namespaced_replica_set("rs", ns).status.ready_replicas or 0) == 2)
    k("delete", "rs", "rs")
    wait_until(lambda: not pod_names(api, ns), what="the pods to go")


@pytest.mark.kubectl
def test_foreground_deletion_waits_for_dependents(pinned_kubectl, api) -> None:
    """With --cascade=foreground, are the ReplicaSet and pods gone before the Deployment itself?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    apps(api).create_namespaced_deployment(ns, deployment("fg", 2))
    wait_until(lambda: ready(api, ns, "fg", 2))
    k("delete", "deployment", "fg", "--cascade=foreground", "--wait=false")
    d = apps(api).read_namespaced_deployment("fg", ns)
    assert d.metadata.deletion_timestamp is not None and "foregroundDeletion" in d.metadata.finalizers
    wait_until(lambda: not apps(api).list_namespaced_deployment(ns).items, what="the deployment to go")
    assert not apps(api).list_namespaced_replica_set(ns).items
    assert not pod_names(api, ns)


@pytest.mark.kubectl
def test_orphan_deletion_keeps_dependents(pinned_kubectl, api) -> None:
    """With --cascade=orphan, do the ReplicaSet and its pods stay, without the owner reference?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    apps(api).create_namespaced_deployment(ns, deployment("orph", 2))
    wait_until(lambda: ready(api, ns, "orph", 2))
    pods = pod_names(api, ns)
    k("delete", "deployment", "orph", "--cascade=orphan")
    wait_until(lambda: not apps(api).list_namespaced_deployment(ns).items)
    rs = wait_until(lambda: [r for r in apps(api).list_namespaced_replica_set(ns).items
                             if not r.metadata.owner_references])
    assert rs[0].spec.replicas == 2
    time.sleep(0.3)
    assert pod_names(api, ns) == pods
    # a new Deployment with the same selector and template adopts the orphaned ReplicaSet
    apps(api).create_namespaced_deployment(ns, deployment("orph", 2))
    wait_until(lambda: ready(api, ns, "orph", 2))
    adopted = apps(api).read_namespaced_replica_set(rs[0].metadata.name, ns)
    assert adopted.metadata.owner_references[0].name == "orph"
    assert pod_names(api, ns) == pods


def test_dependent_of_missing_owner_is_collected(api, namespace) -> None:
    """Is an object whose only owner does not exist deleted by the garbage collector?"""
    v1 = core(api)
    v1.create_namespaced_config_map(namespace, {"metadata": {"name": "orphan", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "nobody", "uid": "00000000-0000-0000-0000-000000000000"}]}})
    wait_until(lambda: not v1.list_namespaced_config_map(namespace, field_selector="metadata.name=orphan").items)


# -- restarts and failures ---------------------------------------------------------------------


def controlled_pods_ok(api: Any, ns: str) -> tuple[int, int]:
    """(live pods, pods whose owner is missing)."""
    rss = {r.metadata.uid for r in apps(api).list_namespaced_replica_set(ns).items}
    pods = [p for p in core(api).list_namespaced_pod(ns).items if p.metadata.deletion_timestamp is None]
    orphans = sum(1 for p in pods if not p.metadata.owner_references or p.metadata.owner_references[0].uid not in rss)
    return len(pods), orphans


def test_restart_mid_rollout_resumes_without_duplicates(tmp_path: Path) -> None:
    """After a restart in the middle of a rollout, does it finish with exactly `replicas` pods and no orphans?"""
    with SandboxThread(tmp_path, mode="fast") as sb:
        api = config.new_client_from_config(str(sb.kubeconfig_path))
        apps(api).create_namespaced_deployment("default", deployment("web", 6))
        wait_until(lambda: ready(api, "default", "web", 6))
        apps(api).patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:9.99-no-such-tag"}]}}}})
        # stuck part-way: new ReplicaSet at 3 (2 surge + 1 unavailable), old at 5
        wait_until(lambda: sorted(r.spec.replicas for r in apps(api).list_namespaced_replica_set("default").items)
                   == [3, 5], what="the rollout to stall")
        wait_until(lambda: controlled_pods_ok(api, "default") == (8, 0) and len(pod_names(api, "default")) == 8)
        before = pod_names(api, "default")
        api.close()
    with SandboxThread(tmp_path, mode="fast") as sb:
        api = config.new_client_from_config(str(sb.kubeconfig_path))
        time.sleep(0.5)
        assert controlled_pods_ok(api, "default") == (8, 0)
        assert pod_names(api, "default") == before
        apps(api).patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.28"}]}}}})
        wait_until(lambda: ready(api, "default", "web", 6) and controlled_pods_ok(api, "default") == (6, 0),
                   what="the rollout to finish")
        images = {p.spec.containers[0].image for p in core(api).list_namespaced_pod("default").items
                  if p.metadata.deletion_timestamp is None}
        assert images == {"nginx:1.28"}
        api.close()


def test_restart_right_after_set_image(tmp_path: Path) -> None:
    """Stopped right after a template change, does the restarted sandbox finish the rollout cleanly?"""
    with SandboxThread(tmp_path, mode="fast") as sb:
        api = config.new_client_from_config(str(sb.kubeconfig_path))
        apps(api).create_namespaced_deployment("default", deployment("web", 5))
        wait_until(lambda: ready(api, "default", "web", 5))
        apps(api).patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.28"}]}}}})
        api.close()
    with SandboxThread(tmp_path, mode="fast") as sb:
        api = config.new_client_from_config(str(sb.kubeconfig_path))
        wait_until(lambda: ready(api, "default", "web", 5) and controlled_pods_ok(api, "default") == (5, 0))
        rss = apps(api).list_namespaced_replica_set("default").items
        assert sorted(r.spec.replicas for r in rss) == [0, 5]
        api.close()


def test_failing_reconcile_is_retried_and_api_keeps_answering(sandbox, api, namespace, caplog) -> None:
    """When a controller's reconcile raises, is it logged, does the API still answer and the controller recover?"""
    caplog.set_level(logging.ERROR, logger="kk.sandbox.controllers")
    assert sandbox.sandbox is not None
    ctl = next(c for c in sandbox.sandbox.manager.controllers if c.name == "replicaset-controller")
    real = ctl.reconcile
    failures: list[tuple[str, str]] = []

    def flaky(key: tuple[str, str]) -> Any:
        if key[0] == namespace and len(failures) < 2:
            failures.append(key)
            raise RuntimeError("injected failure")
        return real(key)

    ctl.reconcile = flaky
    try:
        apps(api).create_namespaced_deployment(namespace, deployment("flaky", 2))
        wait_until(lambda: len(failures) == 2, what="the injected failures")
        assert core(api).list_namespace().items  # the API answers while the controller is failing
        wait_until(lambda: ready(api, namespace, "flaky", 2), what="the controller to recover")
    finally:
        del ctl.reconcile
    assert len(pod_names(api, namespace)) == 2
    logged = [r for r in caplog.records
              if r.name == "kk.sandbox.controllers" and "injected failure" in (r.exc_text or "")]
    assert logged and logged[0].getMessage().startswith(f"replicaset-controller: reconcile of {namespace}/")
    assert "failed (attempt 1); retrying" in logged[0].getMessage()


def test_crashed_controller_loop_is_logged_and_restarted(sandbox, api, namespace, caplog) -> None:
    """When a controller's loop itself dies, is it logged and restarted, with the API answering meanwhile?"""
    caplog.set_level(logging.ERROR, logger="kk.sandbox.controllers")
    assert sandbox.sandbox is not None
    ctl = next(c for c in sandbox.sandbox.manager.controllers if c.name == "deployment-controller")
    real_get = ctl.queue.get
    crashes: list[float] = []

    async def crashing_get() -> Any:
        if not crashes:
            crashes.append(time.monotonic())
            raise RuntimeError("injected loop crash")
        return await real_get()

    sandbox.call(lambda: setattr(ctl.queue, "get", crashing_get))
    try:
        # the loop is waiting in the real get(); the next key it takes brings it to the crashing one
        apps(api).create_namespaced_deployment(namespace, deployment("first", 1))
        wait_until(lambda: crashes, what="the loop to crash")
        assert core(api).list_namespace().items  # the API answers while the controller restarts
        wait_until(lambda: ready(api, namespace, "first", 1), what="the restarted loop to finish the first")
        apps(api).create_namespaced_deployment(namespace, deployment("second", 2))
        wait_until(lambda: ready(api, namespace, "second", 2), what="the restarted controller to work")
    finally:
        sandbox.call(lambda: ctl.queue.__dict__.pop("get", None))
    crashed = [r for r in caplog.records if r.getMessage() == "deployment-controller crashed; restarting"]
    assert crashed and "injected loop crash" in (crashed[0].exc_text or "")
