"""Does the sandbox API server keep the semantics of a real one, as clients see them on the wire?

Filling in what the kubectl and client tests do not check directly:

* where it listens, and legacy JSON discovery (never the aggregated type), with the
  subresources kubectl needs;
* every served resource type lists; cluster-scoped types have no namespaced paths;
* ``fieldValidation`` Strict / Warn / Ignore; YAML bodies; 415 for other media types and
  for protobuf bodies of kinds without a decoder; 404 for unknown resources; 400 for
  malformed bodies and wrong field types, with nothing written;
* generation, ``deletecollection``, ``propagationPolicy``, the field selectors kubectl
  uses (``spec.nodeName``, ``status.phase``, ``metadata.namespace``, ``involvedObject.*``),
  label selectors and ``timeoutSeconds`` on watches, and the pod ``binding`` and
  ``eviction`` subresources.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlparse

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kk_helpers.sandbox.resources import RESOURCES, ResourceType
from waiting import wait_until

AGGREGATED_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


def call(sandbox: Any, method: str, path: str, body: bytes | str | dict[str, Any] | None = None,
         ctype: str = "application/json", accept: str = "application/json") -> tuple[int, Any, http.client.HTTPResponse]:
    """One raw request with the sandbox's token; returns (status, decoded JSON body, response)."""
    u = urlparse(sandbox.url)
    conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=20, context=sandbox.ssl_context())
    if isinstance(body, dict):
        body = json.dumps(body)
    headers = {"Authorization": f"Bearer {sandbox.token}", "Accept": accept}
    if body is not None:
        headers["Content-Type"] = ctype
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, json.loads(raw) if raw else None, resp


def cm_path(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/configmaps" + (f"/{name}" if name else "")


# --------------------------------------------------------------------------------------------
# Listening and discovery
# --------------------------------------------------------------------------------------------


def test_listens_on_loopback_on_a_random_port(sandbox) -> None:
    """Is the server bound to 127.0.0.1 only, on a port picked at random?"""
    u = urlparse(sandbox.url)
    assert u.scheme == "https" and u.hostname == "127.0.0.1"
    assert sandbox.sandbox.host == "127.0.0.1"
    assert u.port and u.port not in (443, 6443)


@pytest.mark.parametrize("path, kind", [("/api", "APIVersions"), ("/apis", "APIGroupList")])
def test_discovery_is_legacy_json_when_aggregated_is_preferred(sandbox, path: str, kind: str) -> None:
    """Asked with kubectl's Accept (aggregated first), do /api and /apis answer legacy JSON, typed so?"""
    status, body, resp = call(sandbox, "GET", path, accept=AGGREGATED_ACCEPT)
    assert status == 200
    ctype = resp.getheader("Content-Type", "")
    assert ctype.startswith("application/json") and "apidiscovery" not in ctype and "as=" not in ctype
    assert body["kind"] == kind


def test_discovery_lists_the_subresources_clients_need(sandbox) -> None:
    """Do the resource lists carry pods/log|status|binding|eviction and deployments/scale as autoscaling/v1 Scale?"""
    _, core, _ = call(sandbox, "GET", "/api/v1")
    names = {r["name"]: r for r in core["resources"]}
    for sub in ("pods/log", "pods/status", "pods/binding", "pods/eviction", "services/status", "nodes/status"):
        assert sub in names, sub
    _, apps, _ = call(sandbox, "GET", "/apis/apps/v1")
    scale = {r["name"]: r for r in apps["resources"]}["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    _, version, _ = call(sandbox, "GET", "/version")
    for key in ("major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
                "compiler", "platform"):
        assert key in version, key


@pytest.mark.parametrize("rt", RESOURCES, ids=lambda rt: f"{rt.group or 'core'}/{rt.plural}")
def test_every_resource_type_lists(sandbox, namespace, rt: ResourceType) -> None:
    """Does a list of every served type answer 200 with its List kind (in a namespace where namespaced)?"""
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    path = f"{base}/namespaces/{namespace}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    status, body, _ = call(sandbox, "GET", path)
    assert status == 200, body
    assert body["kind"] == rt.list_kind


def test_cluster_scoped_types_have_no_namespaced_paths(sandbox) -> None:
    """Is a namespaced path to nodes 404, and a namespace in a Namespace body dropped?"""
    status, body, _ = call(sandbox, "GET", "/api/v1/namespaces/default/nodes")
    assert status == 404 and body["kind"] == "Status"
    name = f"scoped-{int(time.time() * 1000) % 10**8}"
    status, body, _ = call(sandbox, "POST", "/api/v1/namespaces",
                           {"metadata": {"name": name, "namespace": "default"}})
    try:
        assert status == 201, body
        assert "namespace" not in body["metadata"]
    finally:
        call(sandbox, "DELETE", f"/api/v1/namespaces/{name}")


# --------------------------------------------------------------------------------------------
# Bodies and field validation
# --------------------------------------------------------------------------------------------


def test_field_validation_strict_warn_ignore(sandbox, namespace) -> None:
    """Is an unknown field a 400 under Strict, a Warning header under Warn, and silently dropped under Ignore?"""
    def body(name: str) -> dict[str, Any]:
        return {"metadata": {"name": name}, "data": {"k": "v"}, "bogus": 1}

    status, out, _ = call(sandbox, "POST", cm_path(namespace) + "?fieldValidation=Strict", body("strict"))
    assert status == 400
    assert out["reason"] == "BadRequest"
    assert out["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: '
                              'strict decoding error: unknown field "bogus"')
    assert call(sandbox, "GET", cm_path(namespace, "strict"))[0] == 404

    status, out, resp = call(sandbox, "POST", cm_path(namespace) + "?fieldValidation=Warn", body("warn"))
    assert status == 201
    assert resp.getheader("Warning") == '299 - "unknown field \\"bogus\\""'
    assert "bogus" not in out

    status, out, resp = call(sandbox, "POST", cm_path(namespace) + "?fieldValidation=Ignore", body("ignore"))
    assert status == 201
    assert resp.getheader("Warning") is None
    assert "bogus" not in out


def test_yaml_body_creates(sandbox, namespace) -> None:
    """Is a YAML request body decoded like JSON?"""
    status, out, _ = call(sandbox, "POST", cm_path(namespace),
                          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n",
                          ctype="application/yaml")
    assert status == 201, out
    assert out["data"] == {"k": "v"}


def test_unsupported_media_type_is_415(sandbox, namespace) -> None:
    """Is a body of an unsupported media type a 415 Status?"""
    status, out, _ = call(sandbox, "POST", cm_path(namespace), "name=x", ctype="text/plain")
    assert status == 415
    assert out["kind"] == "Status" and out["reason"] == "UnsupportedMediaType"


def _ld(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (lengths < 128)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_of_a_kind_without_decoder_is_415_naming_it(sandbox) -> None:
    """Is a protobuf body whose kind the sandbox cannot decode a 415 that names the kind?"""
    envelope = b"k8s\x00" + _ld(1, _ld(1, b"v1") + _ld(2, b"Node")) + _ld(2, b"") + _ld(4, b"")
    status, out, _ = call(sandbox, "POST", "/api/v1/nodes", envelope, ctype="application/vnd.kubernetes.protobuf")
    assert status == 415, out
    assert out["kind"] == "Status" and "Node" in out["message"]


def test_unknown_resource_is_404_with_the_real_message(sandbox, namespace) -> None:
    """Is a path to a resource nobody serves a 404 'the server could not find the requested resource'?"""
    for path in (f"/api/v1/namespaces/{namespace}/foos", "/apis/nope.example.com/v1/things"):
        status, out, _ = call(sandbox, "GET", path)
        assert status == 404
        assert out["reason"] == "NotFound"
        assert out["message"] == "the server could not find the requested resource"


@pytest.mark.parametrize("raw, ctype", [(b'{"metadata": ', "application/json"), (b"metadata: [a", "application/yaml"),
                                        (b"[1, 2]", "application/json")])
def test_malformed_bodies_are_400_and_write_nothing(sandbox, namespace, raw: bytes, ctype: str) -> None:
    """Are malformed JSON and YAML bodies (and non-objects) a 400 Status, with nothing created?"""
    status, out, _ = call(sandbox, "POST", cm_path(namespace), raw, ctype=ctype)
    assert status == 400, out
    assert out["kind"] == "Status" and out["reason"] == "BadRequest"
    _, listed, _ = call(sandbox, "GET", cm_path(namespace))
    assert [i["metadata"]["name"] for i in listed["items"] if i["metadata"]["name"] != "kube-root-ca.crt"] == []


def test_wrong_field_type_is_400_with_the_decoder_message(sandbox, namespace) -> None:
    """Is a string where an int32 belongs a 400 with Go's decoder message, and nothing created?"""
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "typed"},
           "spec": {"replicas": "three", "selector": {"matchLabels": {"app": "t"}},
                    "template": {"metadata": {"labels": {"app": "t"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    status, out, _ = call(sandbox, "POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", dep)
    assert status == 400
    assert out["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
                              'unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32')
    assert call(sandbox, "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/typed")[0] == 404


# --------------------------------------------------------------------------------------------
# Object semantics through the official client
# --------------------------------------------------------------------------------------------


def _deployment(name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}


def test_generation_moves_with_spec_only(api, namespace) -> None:
    """Does metadata.generation start at 1 and move on spec changes, not on label changes?"""
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment(namespace, _deployment("gen"))
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("gen", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("gen", namespace, {"spec": {"replicas": 1}})
    assert scaled.metadata.generation == 2


def test_deletecollection_with_a_label_selector(api, namespace) -> None:
    """Does deletecollection remove exactly the objects its label selector matches?"""
    core = client.CoreV1Api(api)
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=name, labels={"app": app})))
    core.delete_collection_namespaced_config_map(namespace, label_selector="app=x")
    left = {i.metadata.name for i in core.list_namespaced_config_map(namespace).items}
    assert {"a", "b"} & left == set() and "c" in left


@pytest.mark.parametrize("policy", ["Foreground", "Background", "Orphan"])
def test_propagation_policies_are_accepted(api, namespace, policy: str) -> None:
    """Is each propagationPolicy accepted, and the object gone afterwards?"""
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="gone")))
    core.delete_namespaced_config_map("gone", namespace, body=client.V1DeleteOptions(propagation_policy=policy))

    def absent() -> bool:
        try:
            core.read_namespaced_config_map("gone", namespace)
        except ApiException as err:
            return err.status == 404
        return False

    wait_until(absent, what=f"configmap deleted with {policy}")


def test_field_selectors_kubectl_uses(api, namespace) -> None:
    """Do spec.nodeName, status.phase, metadata.namespace and involvedObject.* field selectors filter lists?"""
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="placed"),
        spec=client.V1PodSpec(node_name="kk-worker", scheduler_name="nobody",
                              containers=[client.V1Container(name="c", image="nginx")])))

    def pods(selector: str) -> list[str]:
        return [p.metadata.name for p in core.list_namespaced_pod(namespace, field_selector=selector).items]

    assert pods("spec.nodeName=kk-worker") == ["placed"]
    assert pods("spec.nodeName=elsewhere") == []
    assert pods("spec.nodeName=kk-worker,status.phase!=Succeeded,status.phase!=Failed") == ["placed"]
    everywhere = core.list_pod_for_all_namespaces(field_selector=f"metadata.namespace={namespace}").items
    assert [p.metadata.name for p in everywhere] == ["placed"]
    core.create_namespaced_event(namespace, client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="placed.1"), reason="Probe", message="m", type="Normal",
        involved_object=client.V1ObjectReference(kind="Pod", name="placed", namespace=namespace)))

    def events(selector: str) -> list[str]:
        return [e.metadata.name for e in core.list_namespaced_event(namespace, field_selector=selector).items
                if e.reason == "Probe"]

    assert events(f"involvedObject.name=placed,involvedObject.namespace={namespace},involvedObject.kind=Pod") == [
        "placed.1"]
    assert events("involvedObject.name=other") == []


def test_watch_label_selector_and_timeout(api, namespace) -> None:
    """Does a watch with a label selector see only matching objects, and end after timeoutSeconds?"""
    core = client.CoreV1Api(api)
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="match", labels={"w": "yes"})))
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="other", labels={"w": "no"})))
    started = time.monotonic()
    seen = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, namespace, label_selector="w=yes", resource_version=rv, timeout_seconds=1)]
    assert seen == [("ADDED", "match")]
    assert time.monotonic() - started < 10


def test_pod_binding_and_eviction(api, namespace) -> None:
    """Does pods/binding set spec.nodeName, and pods/eviction delete the pod?"""
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="bound"),
        spec=client.V1PodSpec(scheduler_name="nobody", containers=[client.V1Container(name="c", image="nginx")])))
    resp = core.create_namespaced_pod_binding(
        "bound", namespace, client.V1Binding(metadata=client.V1ObjectMeta(name="bound"),
                                             target=client.V1ObjectReference(kind="Node", name="kk-worker")),
        _preload_content=False)
    assert resp.status == 201
    assert core.read_namespaced_pod("bound", namespace).spec.node_name == "kk-worker"
    with pytest.raises(ApiException) as err:  # a bound pod cannot be bound again
        core.create_namespaced_pod_binding(
            "bound", namespace, client.V1Binding(metadata=client.V1ObjectMeta(name="bound"),
                                                 target=client.V1ObjectReference(kind="Node", name="kk-control-plane")),
            _preload_content=False)
    assert err.value.status == 409
    core.create_namespaced_pod_eviction("bound", namespace, client.V1Eviction(
        metadata=client.V1ObjectMeta(name="bound", namespace=namespace)))

    def evicted() -> bool:
        try:
            pod = core.read_namespaced_pod("bound", namespace)
        except ApiException as e:
            return e.status == 404
        return pod.metadata.deletion_timestamp is not None

    wait_until(evicted, what="pod evicted")


# --------------------------------------------------------------------------------------------
# Tables and storage
# --------------------------------------------------------------------------------------------

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                "application/json")


@pytest.mark.parametrize("rt", RESOURCES, ids=lambda rt: f"{rt.group or 'core'}/{rt.plural}")
def test_every_resource_type_answers_a_table(sandbox, namespace, rt: ResourceType) -> None:
    """Asked as kubectl get asks, does every type answer a meta.k8s.io/v1 Table with a Name column?"""
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    path = f"{base}/namespaces/{namespace}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    status, body, _ = call(sandbox, "GET", path, accept=TABLE_ACCEPT)
    assert status == 200, body
    assert (body["kind"], body["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    names = [c["name"] for c in body["columnDefinitions"]]
    # Name leads, except for events (Last Seen first, Name only with -o wide, as a real server)
    assert names[0] == ("Last Seen" if rt.kind == "Event" else "Name") and "Name" in names
    assert "resourceVersion" in body["metadata"]
    for row in body["rows"]:
        assert len(row["cells"]) == len(body["columnDefinitions"])
        assert row["object"]["kind"] == "PartialObjectMetadata"


def test_table_watch_sends_column_definitions_once(sandbox, namespace) -> None:
    """In a Table watch, does only the first event carry columnDefinitions, each event one row?"""
    for name in ("t1", "t2"):
        call(sandbox, "POST", cm_path(namespace), {"metadata": {"name": name}, "data": {"k": "v"}})
    u = urlparse(sandbox.url)
    conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=20, context=sandbox.ssl_context())
    conn.request("GET", cm_path(namespace) + "?watch=true&timeoutSeconds=1",
                 headers={"Authorization": f"Bearer {sandbox.token}", "Accept": TABLE_ACCEPT})
    resp = conn.getresponse()
    assert resp.status == 200
    lines = [json.loads(x) for x in resp.read().splitlines() if x.strip()]
    conn.close()
    tables = [e["object"] for e in lines if e["type"] == "ADDED"]
    names = [t["rows"][0]["cells"][0] for t in tables]
    assert {"t1", "t2"} <= set(names)
    assert all(t["kind"] == "Table" and len(t["rows"]) == 1 for t in tables)
    assert tables[0]["columnDefinitions"] and all(not t.get("columnDefinitions") for t in tables[1:])


def test_storage_is_sqlite_in_wal_mode(sandbox) -> None:
    """Does the sandbox keep its objects in a SQLite database in WAL mode under its state directory?"""
    import sqlite3

    db = sandbox.sandbox.state_dir / "state.db"
    assert db.exists()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
