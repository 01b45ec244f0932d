"""Does the official kubernetes Python client work against the sandbox unchanged?

CRUD, list with label and field selectors, watch (including 410 Expired and
resuming from a resourceVersion), every patch type, and ApiException status
and reason for failures.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException


def cm(name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data or {"k": "v"})


def test_crud_configmap(api, namespace) -> None:
    """Can a ConfigMap be created, read, replaced and deleted, with resourceVersions moving forward?"""
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(namespace, cm("one"))
    assert created.metadata.uid and created.metadata.creation_timestamp
    rv1 = int(created.metadata.resource_version)
    got = core.read_namespaced_config_map("one", namespace)
    assert got.data == {"k": "v"}
    got.data = {"k": "w"}
    replaced = core.replace_namespaced_config_map("one", namespace, got)
    assert int(replaced.metadata.resource_version) > rv1
    assert replaced.metadata.uid == created.metadata.uid
    core.delete_namespaced_config_map("one", namespace)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("one", namespace)
    assert err.value.status == 404
    assert err.value.reason == "Not Found"
    body = json.loads(err.value.body)
    assert body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "one" not found'


def test_stale_update_conflicts(api, namespace) -> None:
    """Is a replace with an old resourceVersion refused with 409 Conflict and the real message?"""
    core = client.CoreV1Api(api)
    first = core.create_namespaced_config_map(namespace, cm("race"))
    core.patch_namespaced_config_map("race", namespace, {"data": {"k": "newer"}})
    first.data = {"k": "stale"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("race", namespace, first)
    assert err.value.status == 409
    body = json.loads(err.value.body)
    assert body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "race": the object has been modified; '
                               "please apply your changes to the latest version and try again")


def test_list_with_selectors(api, namespace) -> None:
    """Do label selectors (=, !=, in, notin, exists) and the metadata.name field selector filter lists?"""
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(namespace, cm("a", {"app": "web", "tier": "front"}))
    core.create_namespaced_config_map(namespace, cm("b", {"app": "web", "tier": "back"}))
    core.create_namespaced_config_map(namespace, cm("c", {"app": "db"}))

    def names(**kw: str) -> list[str]:
        return [i.metadata.name for i in core.list_namespaced_config_map(namespace, **kw).items
                if i.metadata.name != "kube-root-ca.crt"]

    assert names(label_selector="app=web") == ["a", "b"]
    assert names(label_selector="app!=web") == ["c"]
    assert names(label_selector="tier in (back,side)") == ["b"]
    assert names(label_selector="tier notin (back),app=web") == ["a"]
    assert names(label_selector="tier") == ["a", "b"]
    assert names(label_selector="!tier") == ["c"]
    assert names(field_selector="metadata.name=b") == ["b"]
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(namespace, label_selector="app in web")
    assert err.value.status == 400


def test_namespace_must_exist(api) -> None:
    """Is creating into a missing namespace a 404 naming the namespace?"""
    core = client.CoreV1Api(api)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-namespace", cm("x"))
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'namespaces "no-such-namespace" not found'


def test_invalid_gives_422_with_causes(api, namespace) -> None:
    """Is a negative replica count a 422 Invalid with a per-field cause?"""
    apps = client.AppsV1Api(api)
    dep = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "neg"},
        "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "neg"}},
                 "template": {"metadata": {"labels": {"app": "neg"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    }
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(namespace, dep)
    assert err.value.status == 422
    body = json.loads(err.value.body)
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "spec.replicas"
    assert "must be greater than or equal to 0" in body["message"]


def test_patch_types(api, namespace) -> None:
    """Do JSON patch, merge patch, strategic merge patch and server-side apply all work?"""
    apps = client.AppsV1Api(api)
    dep = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "p"}},
                 "template": {"metadata": {"labels": {"app": "p"}},
                              "spec": {"containers": [{"name": "a", "image": "nginx:1.27"},
                                                      {"name": "b", "image": "busybox"}]}}},
    }
    apps.create_namespaced_deployment(namespace, dep)
    # strategic: merge containers by name
    out = apps.patch_namespaced_deployment("p", namespace, {"spec": {"template": {"spec": {"containers": [
        {"name": "b", "image": "busybox:1.36"}]}}}}, _content_type="application/strategic-merge-patch+json")
    assert [(c.name, c.image) for c in out.spec.template.spec.containers] == [("a", "nginx:1.27"), ("b", "busybox:1.36")]
    # merge patch replaces lists whole
    out = apps.patch_namespaced_deployment("p", namespace, {"metadata": {"labels": {"m": "1"}}},
                                           _content_type="application/merge-patch+json")
    assert out.metadata.labels == {"m": "1"}
    # json patch
    out = apps.patch_namespaced_deployment("p", namespace, [{"op": "replace", "path": "/spec/replicas", "value": 3}])
    assert out.spec.replicas == 3
    # merge patch through the scale subresource
    scale = apps.patch_namespaced_deployment_scale("p", namespace, {"spec": {"replicas": 2}},
                                                   _content_type="application/merge-patch+json")
    assert scale.spec.replicas == 2
    assert scale.status.selector == "app=p"
    # server-side apply
    applied = apps.patch_namespaced_deployment(
        "p", namespace, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p", "labels": {"x": "y"}}},
        field_manager="tester", force=True, _content_type="application/apply-patch+yaml")
    assert applied.metadata.labels == {"m": "1", "x": "y"}
    assert any(m.manager == "tester" and m.operation == "Apply" for m in applied.metadata.managed_fields)


def test_watch_sees_changes_and_resumes(api, namespace) -> None:
    """Does a watch deliver ADDED/MODIFIED/DELETED in order, and resume from a resourceVersion?"""
    core = client.CoreV1Api(api)
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, cm("w1"))
    core.patch_namespaced_config_map("w1", namespace, {"data": {"k": "2"}})
    core.delete_namespaced_config_map("w1", namespace)
    w = watch.Watch()
    seen = []
    for ev in w.stream(core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=2):
        if ev["object"].metadata.name == "w1":
            seen.append(ev["type"])
        if len(seen) == 3:
            w.stop()
    assert seen == ["ADDED", "MODIFIED", "DELETED"]


def test_watch_live_events(api, namespace) -> None:
    """Does a running watch receive an object created after it started?"""
    core = client.CoreV1Api(api)
    w = watch.Watch()
    got: list[str] = []

    def later() -> None:
        time.sleep(0.5)
        core.create_namespaced_config_map(namespace, cm("live"))

    t = threading.Thread(target=later)
    t.start()
    for ev in w.stream(core.list_namespaced_config_map, namespace, timeout_seconds=5):
        got.append(f"{ev['type']} {ev['object'].metadata.name}")
        if ev["object"].metadata.name == "live":
            w.stop()
    t.join()
    assert "ADDED live" in got


def test_watch_too_old_is_410(tmp_path) -> None:
    """After a restart (the watch history is gone), does watching from an old resourceVersion give 410 Expired?"""
    from kubernetes import config

    from kk_helpers.sandbox.app import SandboxThread

    with SandboxThread(tmp_path, controllers=False) as sb:
        c = config.new_client_from_config(str(sb.kubeconfig_path))
        client.CoreV1Api(c).create_namespaced_config_map("default", cm("before"))
        c.close()
    with SandboxThread(tmp_path, controllers=False) as sb:
        c = config.new_client_from_config(str(sb.kubeconfig_path))
        core = client.CoreV1Api(c)
        resp = core.list_namespaced_config_map("default", watch=True, resource_version="1", timeout_seconds=2,
                                               _preload_content=False)
        lines = [json.loads(x) for x in resp.data.decode().splitlines() if x.strip()]
        assert resp.status == 200
        assert lines[0]["type"] == "ERROR"
        assert lines[0]["object"]["code"] == 410
        assert lines[0]["object"]["reason"] == "Expired"
        assert lines[0]["object"]["message"].startswith("too old resource version: 1 (")
        # the client's own watch helper turns this into an ApiException 410, and a fresh list+watch recovers
        w = watch.Watch()
        with pytest.raises(ApiException) as err:
            for _ in w.stream(core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=2):
                pass
        assert err.value.status == 410
        rv = core.list_namespaced_config_map("default").metadata.resource_version
        names = [e["object"].metadata.name for e in
                 watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=rv,
                                      timeout_seconds=1)]
        assert names == []
        c.close()


def test_watch_list_initial_events_end_bookmark(api, namespace) -> None:
    """Does sendInitialEvents=true stream the current state then the initial-events-end bookmark?"""
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(namespace, cm("init"))
    resp = core.list_namespaced_config_map(namespace, watch=True, send_initial_events=True,
                                           resource_version_match="NotOlderThan", allow_watch_bookmarks=True,
                                           timeout_seconds=1, _preload_content=False)
    events = [json.loads(x) for x in resp.data.decode().splitlines() if x.strip()]
    names = [e["object"]["metadata"].get("name") for e in events if e["type"] == "ADDED"]
    assert "init" in names
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    assert marks and marks[0]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_generate_name(api, namespace) -> None:
    """Does generateName append five characters of the Kubernetes alphabet?"""
    core = client.CoreV1Api(api)
    obj = core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(generate_name="gen-")))
    suffix = obj.metadata.name[len("gen-"):]
    assert len(suffix) == 5 and set(suffix) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_unauthenticated_is_401(sandbox) -> None:
    """Is a request without the bearer token refused with a 401 Status?"""
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(sandbox.url + "/api/v1/namespaces", context=sandbox.ssl_context())
    assert err.value.code == 401
    assert json.loads(err.value.read())["reason"] == "Unauthorized"


def test_finalizers_hold_deletion(api, namespace) -> None:
    """Does an object with a finalizer stay (with deletionTimestamp) until the finalizer is removed?"""
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="held", finalizers=["example.com/hold"])))
    core.delete_namespaced_config_map("held", namespace)
    obj = core.read_namespaced_config_map("held", namespace)
    assert obj.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("held", namespace)
    assert err.value.status == 404
