"""Tests of the sandbox's OpenAPI v3 documents and decoding checks (kk_helpers/sandbox/openapi.py).

What is checked:

* Document shape: the root lists every served group-version with a hash that is the
  SHA-512 of the document bytes (and changes when a document changes); schemas carry
  Go-style definition names, ``x-kubernetes-group-version-kind``, ``allOf`` references,
  required fields, IntOrString/Quantity/Time types and the patch/list extensions;
  every resource has its collection, object and subresource paths, and every PATCH
  operation carries ``fieldValidation`` inline (what kubectl's strict validation needs).
* :func:`unknown_fields` and :func:`wrong_type_fields` on nested paths and list
  indexes, with maps accepting any key, and messages shaped like the real decoder's.
* Metadata extraction from both client styles (pydantic models and the legacy
  generator's properties), and the disk cache of extracted metadata.
* Build time, cold from the client and warm from the cache.
* With real kubectl binaries (``@pytest.mark.kubectl``) against a small aiohttp
  fixture serving legacy discovery and these documents: ``kubectl explain`` prints the
  client's field descriptions, ``kubectl apply`` sends ``fieldValidation=Strict``
  without falling back to client-side validation, and a second apply computes its
  strategic merge patch from our schemas.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kk_helpers.sandbox import openapi
from kk_helpers.sandbox.openapi import (
    FIELD_META,
    PATCH_META,
    OpenAPIV3,
    definition_name,
    field_model,
    list_meta,
    unknown_fields,
    wrong_type_fields,
)
from kk_helpers.sandbox.resources import (
    CONFIGMAPS,
    DEPLOYMENTS,
    GROUP_ORDER,
    NODES,
    PODS,
    RESOURCES,
    SECRETS,
    SERVICES,
    ResourceType,
)

VENV_KUBECTL = Path(sys.executable).parent / "kubectl"
SYSTEM_KUBECTL = Path("/usr/bin/kubectl")
KUBECTLS = [k for k in (VENV_KUBECTL, SYSTEM_KUBECTL) if k.exists()]


@pytest.fixture(scope="module")
def docs() -> OpenAPIV3:
    """The documents for the served resource types (shared: building them is the slow part)."""
    return OpenAPIV3()


def _schemas(docs: OpenAPIV3, path: str) -> dict[str, Any]:
    doc = docs.document(path)
    assert doc is not None
    return doc["components"]["schemas"]


def _words(text: str) -> str:
    return " ".join(text.split())


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "any/key.io": "x"},
                     "annotations": {"whatever": "y"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "nodeSelector": {"disk": "ssd"},
                    "containers": [{
                        "name": "web",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "A", "value": "1"}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi", "example.com/gpu": 1},
                                      "requests": {"cpu": 0.25}},
                        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                    }],
                },
            },
        },
        "status": {},
    }


# --------------------------------------------------------------------------------------------
# Root and hashes
# --------------------------------------------------------------------------------------------


def test_root_lists_every_served_group_version(docs: OpenAPIV3) -> None:
    """Does the root list each served group-version once, core first, with a hashed URL?"""
    root = docs.root()
    served = {f"apis/{r.group}/{r.version}" if r.group else f"api/{r.version}" for r in RESOURCES}
    assert set(root["paths"]) == served
    assert next(iter(root["paths"])) == "api/v1"
    for path, entry in root["paths"].items():
        assert entry["serverRelativeURL"] == f"/openapi/v3/{path}?hash={docs.hash(path)}"


def test_hash_is_sha512_of_the_document_bytes(docs: OpenAPIV3) -> None:
    """Is each root hash the SHA-512 of exactly the bytes served for that document?"""
    for path in docs.root()["paths"]:
        data = docs.document_bytes(path)
        assert data is not None
        assert docs.hash(path) == hashlib.sha512(data).hexdigest().upper()
        assert json.loads(data) == docs.document(path)


def test_hash_changes_when_the_document_changes(docs: OpenAPIV3) -> None:
    """Does the api/v1 hash change when a core type is dropped, and stay put for the same types?"""
    fewer = OpenAPIV3([r for r in RESOURCES if r is not CONFIGMAPS])
    same = OpenAPIV3(RESOURCES)
    assert fewer.hash("api/v1") != docs.hash("api/v1")
    assert same.hash("api/v1") == docs.hash("api/v1")
    assert fewer.hash("apis/apps/v1") == docs.hash("apis/apps/v1")


def test_unknown_document_is_none(docs: OpenAPIV3) -> None:
    """Are unknown group-versions answered with None, and leading slashes tolerated?"""
    assert docs.document("apis/nope/v1") is None
    assert docs.document_bytes("apis/autoscaling/v1") is None
    assert docs.document("/apis/apps/v1") is docs.document("apis/apps/v1")


def test_cache_headers(docs: OpenAPIV3) -> None:
    """Are documents marked immutable only when asked for by their current hash?"""
    current = docs.hash("apis/apps/v1")
    headers = docs.cache_headers("apis/apps/v1", current)
    assert headers["ETag"] == f'"{current}"' and headers["Cache-Control"] == "public, immutable"
    assert headers["Expires"].endswith(" GMT")
    assert "Cache-Control" not in docs.cache_headers("apis/apps/v1", "OLD")
    assert "Cache-Control" not in docs.cache_headers("apis/apps/v1", None)
    assert docs.cache_headers("apis/nope/v1", current) == {}


def test_document_bytes_are_cached(docs: OpenAPIV3) -> None:
    """Is the same bytes object returned on every call (encoded once)?"""
    assert docs.document_bytes("api/v1") is docs.document_bytes("api/v1")


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------


def test_top_level_schemas_carry_their_gvk(docs: OpenAPIV3) -> None:
    """Does every served kind (and its List) have a schema tagged with its group-version-kind?"""
    for rt in RESOURCES:
        path = f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"
        schemas = _schemas(docs, path)
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        tagged = [name for name, s in schemas.items() if gvk in s.get("x-kubernetes-group-version-kind", [])]
        assert tagged == [definition_name(rt.model)], rt
        list_gvk = dict(gvk, kind=rt.list_kind)
        assert any(list_gvk in s.get("x-kubernetes-group-version-kind", []) for s in schemas.values())


def test_definition_names_follow_go_packages() -> None:
    """Are client model names mapped to the Go definition names kubectl expects?"""
    assert definition_name("V1Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert definition_name("V1PodSpec") == "io.k8s.api.core.v1.PodSpec"
    assert definition_name("V1PodTemplateSpec") == "io.k8s.api.core.v1.PodTemplateSpec"
    assert definition_name("V1ObjectMeta") == "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert definition_name("V1LabelSelector") == "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"
    assert definition_name("V1JobTemplateSpec") == "io.k8s.api.batch.v1.JobTemplateSpec"
    assert definition_name("CoreV1Event") == "io.k8s.api.core.v1.Event"
    assert definition_name("EventsV1Event") == "io.k8s.api.events.v1.Event"
    assert definition_name("DiscoveryV1EndpointPort") == "io.k8s.api.discovery.v1.EndpointPort"
    assert definition_name("V1Scale") == "io.k8s.api.autoscaling.v1.Scale"
    assert definition_name("V1Eviction") == "io.k8s.api.policy.v1.Eviction"


def test_references_resolve_within_each_document(docs: OpenAPIV3) -> None:
    """Does every $ref in a document point at a schema of that same document?"""
    for path in docs.root()["paths"]:
        text = docs.document_bytes(path).decode()  # type: ignore[union-attr]
        schemas = _schemas(docs, path)
        refs = set(re.findall(r'"\$ref":"#/components/schemas/([^"]+)"', text))
        assert refs and refs <= set(schemas), refs - set(schemas)


def test_reference_properties_use_allof_with_description(docs: OpenAPIV3) -> None:
    """Are object-typed properties written as allOf:[{$ref}] with the field's description beside it?"""
    schemas = _schemas(docs, "apis/apps/v1")
    strategy = schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}]
    pod = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]
    assert pod["containers"]["type"] == "array"
    assert pod["containers"]["items"] == {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]}
    assert "containers" in pod["containers"]["description"].lower()
    assert schemas["io.k8s.api.apps.v1.DeploymentStrategy"]["description"]


def test_required_fields_come_from_the_client(docs: OpenAPIV3) -> None:
    """Are fields the client refuses to leave empty listed as required, and optional ones not?"""
    schemas = _schemas(docs, "apis/apps/v1")
    assert set(schemas["io.k8s.api.apps.v1.DeploymentSpec"]["required"]) == {"selector", "template"}
    assert schemas["io.k8s.api.core.v1.Container"]["required"] == ["name"]
    assert "required" not in schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]


def test_special_string_types(docs: OpenAPIV3) -> None:
    """Are IntOrString, Quantity and Time fields typed as the real documents type them?"""
    schemas = _schemas(docs, "api/v1")
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] | {"description": ""} == {
        "type": "string", "format": "int-or-string", "description": ""}
    assert schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"] == "date-time"
    port = schemas["io.k8s.api.core.v1.ServicePort"]["properties"]["targetPort"]
    assert port["allOf"] == [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]
    limits = schemas["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}]}
    created = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["creationTimestamp"]
    assert created["allOf"] == [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time"}]
    labels = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["labels"]
    assert labels["additionalProperties"] == {"type": "string"}
    grace = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["terminationGracePeriodSeconds"]
    assert grace["format"] == "int64"
    assert schemas["io.k8s.api.core.v1.ContainerPort"]["properties"]["containerPort"]["format"] == "int32"
    assert schemas["io.k8s.api.core.v1.Secret"]["properties"]["data"]["additionalProperties"] == {
        "type": "string", "format": "byte"}
    event_time = _schemas(docs, "apis/events.k8s.io/v1")["io.k8s.api.events.v1.Event"]["properties"]["eventTime"]
    assert event_time["allOf"][0]["$ref"].endswith("meta.v1.MicroTime")


def test_patch_extensions_follow_the_table(docs: OpenAPIV3) -> None:
    """Does every table entry reachable in a document show up as x-kubernetes-* extensions there?"""
    seen = 0
    for path in docs.root()["paths"]:
        schemas = _schemas(docs, path)
        for (definition, field), meta in FIELD_META.items():
            prop = schemas.get(definition, {}).get("properties", {}).get(field)
            if prop is None:
                continue
            seen += 1
            assert prop.get("x-kubernetes-patch-strategy") == meta.strategy
            assert prop.get("x-kubernetes-patch-merge-key") == meta.merge_key
            assert prop.get("x-kubernetes-list-type") == meta.list_type
            assert tuple(prop.get("x-kubernetes-list-map-keys", ())) == meta.map_keys
            assert prop.get("x-kubernetes-map-type") == meta.map_type
    assert seen > 40


def test_patch_meta_names_real_fields(docs: OpenAPIV3) -> None:
    """Does every table entry name a field that exists, of list type unless it is a retainKeys struct?"""
    all_schemas: dict[str, Any] = {}
    for path in docs.root()["paths"]:
        all_schemas.update(_schemas(docs, path))
    for (definition, field), meta in FIELD_META.items():
        if definition not in all_schemas:
            continue  # a type no served resource reaches
        prop = all_schemas[definition]["properties"][field]
        if meta.list_type or meta.merge_key:
            assert prop["type"] == "array", (definition, field)
        if meta.map_type:
            assert prop["type"] == "object" and "additionalProperties" in prop, (definition, field)
        if meta.merge_key and meta.list_type == "map":
            assert meta.merge_key in meta.map_keys


def test_list_meta_for_the_patch_module() -> None:
    """Do list_meta and field_model give the facts a strategic merge patch needs, by either name?"""
    assert list_meta("V1PodSpec", "containers") == ("merge", "name", "map", ("name",), None)
    assert list_meta("io.k8s.api.core.v1.PodSpec", "containers").merge_key == "name"
    assert list_meta("V1Container", "ports").merge_key == "containerPort"
    assert list_meta("V1Container", "volumeMounts").merge_key == "mountPath"
    assert list_meta("V1PodSpec", "volumes").strategy == "merge,retainKeys"
    assert list_meta("V1ObjectMeta", "finalizers") == ("merge", None, "set", (), None)
    assert list_meta("V1ServiceSpec", "ports").map_keys == ("port", "protocol")
    assert list_meta("V1PodSpec", "tolerations") == (None, None, "atomic", (), None)
    assert list_meta("V1Container", "image") == (None, None, None, (), None)
    assert list_meta("V1PodSpec", "nodeSelector").map_type == "atomic"
    assert PATCH_META[("io.k8s.api.apps.v1.DeploymentSpec", "strategy")] == ("retainKeys", None)
    assert ("io.k8s.api.core.v1.PodSpec", "tolerations") not in PATCH_META
    assert field_model("V1PodSpec", "containers") == "V1Container"
    assert field_model("V1Deployment", "spec") == "V1DeploymentSpec"
    assert field_model("V1ObjectMeta", "labels") is None
    assert field_model("V1ObjectMeta", "nope") is None


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


def _doc_for(docs: OpenAPIV3, rt: ResourceType) -> dict[str, Any]:
    doc = docs.document(f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}")
    assert doc is not None
    return doc


def test_every_resource_has_collection_and_object_paths(docs: OpenAPIV3) -> None:
    """Are the namespaced, all-namespaces and object paths there, with operations matching the verbs?"""
    for rt in RESOURCES:
        paths = _doc_for(docs, rt)["paths"]
        prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        assert set(paths[f"{base}/{{name}}"]) - {"parameters"} == {"get", "put", "patch", "delete"}
        expected = {"get", "post"} | ({"delete"} if "deletecollection" in rt.verbs else set())
        assert set(paths[base]) - {"parameters"} == expected, rt
        if rt.namespaced:
            assert paths[f"{prefix}/{rt.plural}"]["get"]["x-kubernetes-action"] == "list"
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        for method, op in paths[f"{base}/{{name}}"].items():
            if method != "parameters":
                assert op["x-kubernetes-group-version-kind"] == gvk
                assert op["x-kubernetes-action"] == method


def test_every_patch_operation_accepts_field_validation(docs: OpenAPIV3) -> None:
    """Does every PATCH operation list fieldValidation, fieldManager and dryRun inline, and SMP content?"""
    count = 0
    for path in docs.root()["paths"]:
        for item in docs.document(path)["paths"].values():  # type: ignore[index]
            for method in ("patch", "put", "post"):
                op = item.get(method)
                if op is None:
                    continue
                names = {p["name"] for p in op.get("parameters", [])}
                assert {"fieldValidation", "fieldManager", "dryRun"} <= names, op["operationId"]
                if method == "patch":
                    count += 1
                    assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]
    assert count >= 3 * len(RESOURCES) // 2


def test_subresource_paths(docs: OpenAPIV3) -> None:
    """Are scale (autoscaling/v1 Scale), status, eviction (policy/v1), log and binding paths served?"""
    apps = docs.document("apis/apps/v1")["paths"]  # type: ignore[index]
    scale = apps["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "version": "v1",
                                                                 "kind": "Scale"}
    assert scale["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.autoscaling.v1.Scale"}
    scale_schema = _schemas(docs, "apis/apps/v1")["io.k8s.api.autoscaling.v1.Scale"]
    assert scale_schema["x-kubernetes-group-version-kind"] == [
        {"group": "autoscaling", "version": "v1", "kind": "Scale"}]
    status = apps["/apis/apps/v1/namespaces/{namespace}/replicasets/{name}/status"]
    assert status["patch"]["x-kubernetes-group-version-kind"]["kind"] == "ReplicaSet"
    core = docs.document("api/v1")["paths"]  # type: ignore[index]
    eviction = core["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
    assert eviction["x-kubernetes-group-version-kind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    assert "io.k8s.api.policy.v1.Eviction" in _schemas(docs, "api/v1")
    assert "get" in core["/api/v1/namespaces/{namespace}/pods/{name}/log"]
    assert "post" in core["/api/v1/namespaces/{namespace}/pods/{name}/binding"]
    assert "put" in core["/api/v1/namespaces/{name}/finalize"]


def test_document_is_valid_openapi_3_shape(docs: OpenAPIV3) -> None:
    """Do documents have the openapi/info/paths/components keys, and operations unique ids?"""
    ids: list[str] = []
    for path in docs.root()["paths"]:
        doc = docs.document(path)
        assert doc is not None
        assert doc["openapi"].startswith("3.") and doc["info"]["title"]
        for item in doc["paths"].values():
            for method, op in item.items():
                if method != "parameters":
                    ids.append(op["operationId"])
                    assert "401" in op["responses"]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------------------------
# unknown_fields / wrong_type_fields
# --------------------------------------------------------------------------------------------


def test_known_object_has_no_unknown_fields() -> None:
    """Does a full, valid Deployment (maps with odd keys, IntOrString, Quantity) pass both checks?"""
    assert unknown_fields(DEPLOYMENTS, _deployment()) == []
    assert wrong_type_fields(DEPLOYMENTS, _deployment()) == []


def test_unknown_fields_on_nested_paths_and_list_indexes() -> None:
    """Are typos reported with dotted paths and [i] list indexes, in document order?"""
    obj = _deployment()
    obj["metadata"]["labelz"] = {"a": "b"}
    obj["spec"]["foo"] = 1
    containers = obj["spec"]["template"]["spec"]["containers"]
    containers.append({"name": "side", "imagee": "busybox", "ports": [{"containerPort": 1, "hostt": 2}]})
    obj["spec"]["template"]["spec"]["containers"] = containers
    assert unknown_fields(DEPLOYMENTS, obj) == [
        "metadata.labelz",
        "spec.template.spec.containers[1].imagee",
        "spec.template.spec.containers[1].ports[0].hostt",
        "spec.foo",
    ]


def test_maps_accept_any_key() -> None:
    """Do labels, annotations, nodeSelector, matchLabels, data and resource limits accept any key?"""
    obj = _deployment()
    obj["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}", "x": ""}
    obj["spec"]["selector"]["matchLabels"]["anything.example/key"] = "v"
    obj["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/os"] = "linux"
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1"
    assert unknown_fields(DEPLOYMENTS, obj) == []
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
          "data": {"app.properties": "a=b", "KEY": "v"}, "binaryData": {"f": "AA=="}}
    assert unknown_fields(CONFIGMAPS, cm) == []
    node = {"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "4", "pods": "110"}}}
    assert unknown_fields(NODES, node) == []


def test_top_level_type_fields_and_free_form_objects_are_allowed() -> None:
    """Are apiVersion/kind/metadata/status always known, and free-form object fields left alone?"""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {"anything": {}}}}]},
        "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Running"}}
    assert unknown_fields(PODS, pod) == []
    assert unknown_fields(PODS, {"kind": "Pod", "bogus": 1}) == ["bogus"]


def test_unknown_fields_accepts_a_model_name() -> None:
    """Can a subresource body be checked by naming its client model (autoscaling/v1 Scale)?"""
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 3, "replicaz": 1}}
    assert unknown_fields("V1Scale", scale) == ["spec.replicaz"]


def test_wrong_types_mimic_the_go_decoder() -> None:
    """Are type mismatches reported with the decoder's wording, struct name and index-free Go path?"""
    obj = _deployment()
    obj["spec"]["replicas"] = "three"
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = 5
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 80.5
    obj["metadata"]["labels"]["app"] = True
    assert wrong_type_fields(DEPLOYMENTS, obj) == [
        ("metadata.labels.app",
         "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"),
        ("spec.replicas",
         "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        ("spec.template.spec.containers[0].image",
         "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.image "
         "of type string"),
        ("spec.template.spec.containers[0].ports[0].containerPort",
         "json: cannot unmarshal number 80.5 into Go struct field "
         "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"),
    ]


def test_wrong_types_for_structs_lists_and_ranges() -> None:
    """Are wrong containers (string for a struct, object for a list) and int32 overflow reported?"""
    assert wrong_type_fields(DEPLOYMENTS, {"spec": "x"}) == [
        ("spec", "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec")]
    assert wrong_type_fields(PODS, {"spec": {"containers": {"name": "c"}}}) == [
        ("spec.containers",
         "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container")]
    assert wrong_type_fields(PODS, {"spec": {"containers": ["c"]}}) == [
        ("spec.containers[0]",
         "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container")]
    assert wrong_type_fields(DEPLOYMENTS, {"spec": {"replicas": 2 ** 31}})[0][1].startswith(
        "json: cannot unmarshal number 2147483648 into")
    assert wrong_type_fields(PODS, {"spec": {"terminationGracePeriodSeconds": 2 ** 31}}) == []


def test_int_or_string_and_quantity_values() -> None:
    """Do IntOrString fields take int or string only, and Quantity fields only well-formed quantities?"""
    svc = {"spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]}}
    assert wrong_type_fields(SERVICES, svc) == []
    svc["spec"]["ports"][0]["targetPort"] = True
    assert wrong_type_fields(SERVICES, svc) == [
        ("spec.ports[0].targetPort", "json: cannot unmarshal bool into Go value of type int32")]
    pod = {"spec": {"containers": [{"name": "c", "resources": {
        "limits": {"cpu": "500mb", "memory": "1Gi", "ok": 2, "bad": "1mm", "zero": "Mi"}, "requests": {"cpu": "1x"}}}]}}
    assert wrong_type_fields(PODS, pod) == [
        ("spec.containers[0].resources.limits.cpu", openapi.QUANTITY_FORMAT_ERROR),
        ("spec.containers[0].resources.limits.bad", "unable to parse quantity's suffix"),
        ("spec.containers[0].resources.requests.cpu", openapi.QUANTITY_FORMAT_ERROR),
    ]
    assert openapi.quantity_error("100Mi") is None and openapi.quantity_error("1e3") is None
    assert openapi.quantity_error("5mm") == "unable to parse quantity's suffix"
    assert openapi.quantity_error("1.2.3") == openapi.QUANTITY_FORMAT_ERROR  # Go's parser, not a regex
    assert openapi.quantity_error("e3") is None  # a zero with an exponent, as ParseQuantity reads it


def test_secret_data_must_be_base64() -> None:
    """Is Secret data checked as Go's base64 decoder checks it, with its byte offsets?"""
    good = {"data": {"a": "aGVsbG8=", "b": "aGk=", "c": "", "d": "aGVs\nbG8="}, "stringData": {"e": "plain"}}
    assert wrong_type_fields(SECRETS, good) == []
    assert openapi.base64_error("hello") == "illegal base64 data at input byte 4"
    assert openapi.base64_error("ab$d") == "illegal base64 data at input byte 2"
    assert openapi.base64_error("a===") == "illegal base64 data at input byte 1"
    assert openapi.base64_error("aGk=x") == "illegal base64 data at input byte 4"
    assert wrong_type_fields(SECRETS, {"data": {"k": 1}}) == [
        ("data.k", "json: cannot unmarshal number into Go struct field Secret.data of type []uint8")]


def test_nulls_are_accepted_everywhere() -> None:
    """Are JSON nulls (zero values to Go) accepted by both checks?"""
    obj = {"metadata": {"labels": None, "creationTimestamp": None},
           "spec": {"replicas": None, "template": {"spec": {"containers": [None]}}}}
    assert unknown_fields(DEPLOYMENTS, obj) == []
    assert wrong_type_fields(DEPLOYMENTS, obj) == []


# --------------------------------------------------------------------------------------------
# Metadata extraction, cache, timing
# --------------------------------------------------------------------------------------------


class _LegacyModel:
    """NOTE: This class is auto generated by OpenAPI Generator."""

    openapi_types = {"name": "str", "items": "list[V1Container]", "extra": "dict(str, str)"}
    attribute_map = {"name": "name", "items": "items", "extra": "extraThings"}

    @property
    def name(self) -> str:
        """Gets the name of this Thing.  # noqa: E501

        Name of the thing.  # noqa: E501

        :return: The name of this Thing.  # noqa: E501
        :rtype: str
        """
        return ""

    @name.setter
    def name(self, name: str) -> None:
        if name is None:
            raise ValueError("Invalid value for `name`, must not be `None`")  # noqa: E501

    @property
    def items(self) -> list[Any]:
        """Gets the items of this Thing.  # noqa: E501


        :return: The items of this Thing.  # noqa: E501
        :rtype: list[V1Container]
        """
        return []

    @items.setter
    def items(self, items: list[Any]) -> None:
        pass

    @property
    def extra(self) -> dict[str, str]:
        """Gets the extra of this Thing.  # noqa: E501

        Extra things.  # noqa: E501

        :return: The extra of this Thing.  # noqa: E501
        """
        return {}


def test_legacy_client_models_are_understood() -> None:
    """Are descriptions, required fields and list/dict types read from a pre-pydantic client model?"""
    raw = openapi._raw_model(_LegacyModel)
    assert raw == {"description": "", "fields": [
        ["name", "str", "Name of the thing.", True],
        ["items", "list[V1Container]", "", False],
        ["extraThings", "dict(str, str)", "Extra things.", False],
    ]}
    for text in ("dict(str, list[V1Container])", "dict[str, list[V1Container]]", "Dict[str, List[V1Container]]"):
        t = openapi._parse_type(text, "X", "y", "")
        assert t.kind == "map" and t.item.kind == "array"  # type: ignore[union-attr]
        assert t.item.item.ref == "V1Container"  # type: ignore[union-attr]


def test_pydantic_client_models_are_understood() -> None:
    """Are descriptions (class and field), JSON names and required flags read from the installed client?"""
    raw = openapi._raw_model(__import__("kubernetes.client.models", fromlist=["V1ListMeta"]).V1ListMeta)
    names = [f[0] for f in raw["fields"]]
    assert "continue" in names and "resourceVersion" in names
    assert raw["description"].startswith("ListMeta")
    container = openapi._catalog().model("V1Container")
    assert container.fields["name"].required and not container.fields["image"].required
    assert "image" in container.fields["image"].description.lower()


def test_disk_cache_round_trip(tmp_path: Path) -> None:
    """Does a second build read the cache file instead of the client, and produce the same bytes?"""
    first = OpenAPIV3(cache=tmp_path)
    data = first.document_bytes("apis/apps/v1")
    files = list(tmp_path.glob("openapi-models-*.json"))
    assert len(files) == 1
    cached = json.loads(files[0].read_text())
    assert "V1DeploymentSpec" in cached and "V1Container" in cached
    second = OpenAPIV3(cache=tmp_path)
    assert second.document_bytes("apis/apps/v1") == data
    assert OpenAPIV3(cache=False).document_bytes("apis/apps/v1") == data


def test_validation_cache_holds_every_served_model(tmp_path: Path) -> None:
    """Does ensure() (run on the first validation) cache the whole served closure in one file?"""
    catalog = openapi._Catalog(cache=tmp_path)
    catalog.ensure(openapi._roots(RESOURCES))
    (cache_file,) = tmp_path.glob("openapi-models-*.json")
    cached = json.loads(cache_file.read_text())
    assert set(catalog.closure(openapi._roots(RESOURCES))) == set(cached)
    assert {"V1Deployment", "V1Pod", "V1Scale", "V1Eviction", "CoreV1Event", "V1PodTemplateSpec"} <= set(cached)


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    """Is an unreadable cache file ignored and replaced rather than fatal?"""
    OpenAPIV3(cache=tmp_path).root()
    (cache_file,) = tmp_path.glob("openapi-models-*.json")
    cache_file.write_text("{not json")
    assert OpenAPIV3(cache=tmp_path).document("api/v1") is not None
    json.loads(cache_file.read_text())


def test_malformed_cache_entries_are_reextracted(tmp_path: Path) -> None:
    """Are cache entries of the wrong shape ignored (and taken from the client again)?"""
    catalog = openapi._Catalog(cache=tmp_path)
    catalog.ensure(["V1ConfigMap"])
    (cache_file,) = tmp_path.glob("openapi-models-*.json")
    cache_file.write_text(json.dumps({"V1ConfigMap": {"description": "x", "fields": [["data", 1]]}}))
    assert "data" in openapi._Catalog(cache=tmp_path).model("V1ConfigMap").fields
    assert not openapi._valid_raw({"description": "x", "fields": [["a", "str", "", "yes"]]})


def test_definition_name_as_first_call_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """Does a fresh process whose first call is definition_name() answer (no lock-order deadlock)?"""
    script = "from kk_helpers.sandbox.openapi import definition_name as d; print(d('V1PodSpec'))"
    out = subprocess.run([sys.executable, "-c", script], env={"KK_OPENAPI_CACHE": str(tmp_path)},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "io.k8s.api.core.v1.PodSpec"


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Does KK_OPENAPI_CACHE choose (or switch off) the cache directory?"""
    monkeypatch.setenv("KK_OPENAPI_CACHE", str(tmp_path))
    assert openapi.cache_dir() == tmp_path
    monkeypatch.setenv("KK_OPENAPI_CACHE", "off")
    assert openapi.cache_dir() is None
    monkeypatch.delenv("KK_OPENAPI_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert openapi.cache_dir() == tmp_path / "kk"


def test_build_time_is_small_when_metadata_is_cached(tmp_path: Path) -> None:
    """Do all documents build in well under 0.3 s once model metadata is cached?"""
    OpenAPIV3(cache=tmp_path).root()
    start = time.perf_counter()
    OpenAPIV3(cache=tmp_path).root()
    elapsed = time.perf_counter() - start
    assert elapsed < 0.3, elapsed


def test_cold_build_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """How long do a cold build (client import) and a cached build take in fresh processes? (reported)"""
    script = ("import time,json;t=time.perf_counter();"
              "from kk_helpers.sandbox.openapi import OpenAPIV3;o=OpenAPIV3();o.root();"
              "print(json.dumps({'seconds':time.perf_counter()-t,"
              "'bytes':sum(len(o.document_bytes(p)) for p in o.root()['paths'])}))")
    env = {"KK_OPENAPI_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                      check=True, timeout=120).stdout) for _ in range(2)]
    print(f"\ncold build {runs[0]['seconds']:.3f}s, cached build {runs[1]['seconds']:.3f}s, "
          f"{runs[0]['bytes'] / 1e6:.2f} MB in all documents")
    assert runs[1]["seconds"] < runs[0]["seconds"]
    assert runs[0]["bytes"] < 3_000_000


# --------------------------------------------------------------------------------------------
# Real kubectl against a small discovery + OpenAPI fixture
# --------------------------------------------------------------------------------------------


def _discovery_documents(port: int) -> dict[str, Any]:
    """Legacy discovery for the served types, written from resources.py alone."""
    docs: dict[str, Any] = {
        "/api": {"kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port}"}]},
        "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "0", "gitTreeState": "clean",
                     "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc",
                     "platform": "linux/amd64"},
    }
    groups: dict[str, list[str]] = {}
    for rt in RESOURCES:
        if rt.group:
            versions = groups.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    docs["/apis"] = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
         "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
        for g, vs in sorted(groups.items(), key=lambda kv: order.get(kv[0], 99))]}
    lists: dict[str, list[dict[str, Any]]] = {}
    for rt in RESOURCES:
        key = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
        entries = lists.setdefault(key, [])
        entries.append({"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                        "kind": rt.kind, "verbs": list(rt.verbs), "shortNames": list(rt.short_names),
                        "categories": list(rt.categories)})
        for sub, (kind, gv) in rt.subresources.items():
            entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                                     "kind": kind or rt.kind, "verbs": ["get", "patch", "update"]}
            if gv and "/" in gv:
                entry["group"], entry["version"] = gv.split("/")
            entries.append(entry)
    for key, entries in lists.items():
        docs[key] = {"kind": "APIResourceList", "apiVersion": "v1",
                     "groupVersion": key.split("/", 2)[-1] if key.startswith("/apis") else "v1",
                     "resources": entries}
    return docs


class _FakeServer:
    """Discovery, /openapi/v3 and a tiny object store for deployments, on 127.0.0.1:<random>."""

    def __init__(self, docs: OpenAPIV3) -> None:
        self.api = docs
        self.requests: list[tuple[str, str, str, bytes]] = []  # method, path, query, body
        self.objects: dict[str, dict[str, Any]] = {}
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _FakeServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)  # type: ignore[union-attr]
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self.discovery = _discovery_documents(self.port)
        self._ready.set()
        self._loop.run_forever()

    @staticmethod
    def _status(code: int, reason: str, message: str) -> web.Response:
        return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": message, "reason": reason, "code": code}, status=code)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((request.method, request.path, request.query_string, body))
        path = request.path.rstrip("/")
        if request.method == "GET" and path in self.discovery:
            return web.json_response(self.discovery[path])
        if path == "/openapi/v3":
            return web.json_response(self.api.root())
        if path.startswith("/openapi/v3/"):
            doc_path = path[len("/openapi/v3/"):]
            data = self.api.document_bytes(doc_path)
            if data is not None:
                return web.Response(body=data, content_type="application/json",
                                    headers=self.api.cache_headers(doc_path, request.query.get("hash")))
        m = re.fullmatch(r"/apis/apps/v1/namespaces/(\w+)/deployments(?:/([\w-]+))?", path)
        if m:
            return self._deployments(request.method, m.group(2), body)
        return self._status(404, "NotFound", "the server could not find the requested resource")

    def _deployments(self, method: str, name: str | None, body: bytes) -> web.Response:
        if method == "POST":
            obj = json.loads(body)
            obj["metadata"].update(namespace="default", uid="u-1", resourceVersion="1", generation=1,
                                   creationTimestamp="2025-01-01T00:00:00Z")
            self.objects[obj["metadata"]["name"]] = obj
            return web.json_response(obj, status=201)
        if name is None or name not in self.objects:
            return self._status(404, "NotFound", f'deployments.apps "{name}" not found')
        return web.json_response(self.objects[name])  # GET, and PATCH (recorded, not applied)


@pytest.fixture
def fake_server(docs: OpenAPIV3) -> Iterator[_FakeServer]:
    """A running fixture server and nothing else."""
    with _FakeServer(docs) as server:
        yield server


def _kubectl(binary: Path, server: _FakeServer, tmp_path: Path, *args: str,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{server.port}"}}],
        "users": [{"name": "t", "user": {"token": "test-token"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t", "namespace": "default"}}],
    }))
    return subprocess.run([str(binary), "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "cache"),
                           *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})


def _description(model: str, field: str) -> str:
    return _words(openapi._catalog().model(model).fields[field].description)


kubectl_params = pytest.mark.parametrize("binary", KUBECTLS, ids=[str(k) for k in KUBECTLS])


@pytest.mark.kubectl
@kubectl_params
def test_kubectl_explain_deployment_strategy(binary: Path, fake_server: _FakeServer, tmp_path: Path) -> None:
    """Does `kubectl explain deployment.spec.strategy` print the client's descriptions and FIELDS?"""
    result = _kubectl(binary, fake_server, tmp_path, "explain", "deployment.spec.strategy")
    assert result.returncode == 0, result.stderr
    out = _words(result.stdout)
    assert "GROUP: apps" in out and "KIND: Deployment" in out and "VERSION: v1" in out
    assert "FIELD: strategy <DeploymentStrategy>" in out
    assert _words(openapi._catalog().model("V1DeploymentStrategy").description) in out
    assert "FIELDS:" in out and "rollingUpdate <RollingUpdateDeployment>" in out
    assert _description("V1DeploymentStrategy", "type") in out
    assert ("GET", "/openapi/v3/apis/apps/v1") in [(m, p) for m, p, _q, _b in fake_server.requests]


@pytest.mark.kubectl
@kubectl_params
def test_kubectl_explain_pod_containers(binary: Path, fake_server: _FakeServer, tmp_path: Path) -> None:
    """Does `kubectl explain pods.spec.containers(.image)` print the field docs, types and required marks?"""
    result = _kubectl(binary, fake_server, tmp_path, "explain", "pods.spec.containers")
    assert result.returncode == 0, result.stderr
    out = _words(result.stdout)
    assert "KIND: Pod" in out and "FIELD: containers <[]Container>" in out
    assert _description("V1PodSpec", "containers") in out
    assert "FIELDS:" in out and "name <string> -required-" in out
    assert "ports <[]ContainerPort>" in out and "resources <ResourceRequirements>" in out
    result = _kubectl(binary, fake_server, tmp_path, "explain", "pods.spec.containers.image")
    assert result.returncode == 0, result.stderr
    out = _words(result.stdout)
    assert "FIELD: image <string>" in out and _description("V1Container", "image") in out
    result = _kubectl(binary, fake_server, tmp_path, "explain", "deploy.spec.template.spec.containers.ports")
    assert result.returncode == 0, result.stderr
    assert "containerPort <integer> -required-" in _words(result.stdout)


@pytest.mark.kubectl
@kubectl_params
def test_kubectl_explain_int_or_string_and_unknown_field(binary: Path, fake_server: _FakeServer,
                                                         tmp_path: Path) -> None:
    """Does explain show IntOrString as a string field, and refuse a field that does not exist?"""
    result = _kubectl(binary, fake_server, tmp_path, "explain", "deployment.spec.strategy.rollingUpdate.maxSurge")
    assert result.returncode == 0, result.stderr
    out = _words(result.stdout)
    assert "FIELD: maxSurge <string>" in out  # a $ref to a string schema shows as its type
    assert _description("V1RollingUpdateDeployment", "maxSurge") in out
    result = _kubectl(binary, fake_server, tmp_path, "explain", "pods.spec.nope")
    assert result.returncode != 0
    assert 'field "nope" does not exist' in result.stderr


@pytest.mark.kubectl
@kubectl_params
def test_kubectl_caches_documents_by_hash(binary: Path, fake_server: _FakeServer, tmp_path: Path) -> None:
    """With cache_headers on the answers, does kubectl download a document once and reuse it after?"""
    for _ in range(3):
        assert _kubectl(binary, fake_server, tmp_path, "explain", "deploy.spec.replicas").returncode == 0
    fetched = [p for m, p, _q, _b in fake_server.requests if p.startswith("/openapi/v3")]
    assert fetched == ["/openapi/v3", "/openapi/v3/apis/apps/v1", "/openapi/v3", "/openapi/v3"]


_MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:%s
        ports:
        - containerPort: 80
"""


@pytest.mark.kubectl
@kubectl_params
def test_kubectl_apply_uses_server_side_field_validation(binary: Path, fake_server: _FakeServer,
                                                         tmp_path: Path) -> None:
    """Does `kubectl apply -f` find fieldValidation in our PATCH operation and send Strict, not fail on openapi?"""
    result = _kubectl(binary, fake_server, tmp_path, "apply", "-f", "-", stdin=_MANIFEST % "1.27")
    assert result.returncode == 0, result.stderr
    assert "failed to download openapi" not in result.stderr
    assert "deployment.apps/web created" in result.stdout
    posts = [(q, b) for m, p, q, b in fake_server.requests if m == "POST"]
    assert len(posts) == 1
    assert "fieldValidation=Strict" in posts[0][0] and "fieldManager=kubectl-client-side-apply" in posts[0][0]


@pytest.mark.kubectl
@kubectl_params
def test_kubectl_apply_patch_comes_from_our_schema(binary: Path, fake_server: _FakeServer, tmp_path: Path) -> None:
    """Does a second apply build a strategic merge patch from our v3 schemas (merge keys, no warning)?"""
    assert _kubectl(binary, fake_server, tmp_path, "apply", "-f", "-", stdin=_MANIFEST % "1.27").returncode == 0
    result = _kubectl(binary, fake_server, tmp_path, "apply", "-f", "-", stdin=_MANIFEST % "1.28")
    assert result.returncode == 0, result.stderr
    assert "error calculating patch" not in result.stderr
    patches = [(q, b) for m, p, q, b in fake_server.requests if m == "PATCH"]
    assert len(patches) == 1
    patch = json.loads(patches[0][1])
    spec = patch["spec"]["template"]["spec"]
    assert spec["$setElementOrder/containers"] == [{"name": "web"}]
    assert spec["containers"] == [{"image": "nginx:1.28", "name": "web"}]
    assert "fieldValidation=Strict" in patches[0][0]


def test_kubectl_binaries_are_present() -> None:
    """Is at least the venv's kubectl there for the kubectl-marked tests? (skips otherwise)"""
    if not KUBECTLS:
        pytest.skip("no kubectl binary")
    assert shutil.which(str(KUBECTLS[0]))


@pytest.mark.kubectl
@kubectl_params
def test_kubectl_apply_follows_our_patch_metadata(binary: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without our merge key on PodSpec.containers, does kubectl's patch replace the list (so ours is used)?"""
    monkeypatch.setitem(FIELD_META, ("io.k8s.api.core.v1.PodSpec", "containers"), openapi.FieldMeta())
    with _FakeServer(OpenAPIV3(cache=tmp_path / "models")) as server:
        assert _kubectl(binary, server, tmp_path, "apply", "-f", "-", stdin=_MANIFEST % "1.27").returncode == 0
        result = _kubectl(binary, server, tmp_path, "apply", "-f", "-", stdin=_MANIFEST % "1.28")
        assert result.returncode == 0, result.stderr
        (patch_body,) = [b for m, _p, _q, b in server.requests if m == "PATCH"]
    spec = json.loads(patch_body)["spec"]["template"]["spec"]
    assert "$setElementOrder/containers" not in spec
    assert spec["containers"][0]["ports"] == [{"containerPort": 80}]  # the whole list, as a replace
