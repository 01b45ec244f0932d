"""Checks the sandbox's patch engine and field ownership against a real kube-apiserver.

Pure unit tests on plain object dicts, no server:

* request bodies: the patch content types, YAML/JSON decoding and its error texts;
* JSON patch (RFC 6902): the ``kubectl rollout undo`` patch, and the codes a real
  server answers for failing operations (422 with its fixed message, 400, 413);
* JSON merge patch (RFC 7386): ``kubectl scale``/``label``/``annotate`` patches,
  null pruning, and hypothesis properties (empty patch, diff round trip,
  idempotence, deletion);
* strategic merge patch: a table of patches captured from kubectl 1.37 (set
  image/env/resources, rollout restart/pause, a client-side ``apply`` three-way
  patch), merge keys by position in the object, every directive, the order of
  merged lists, error codes and messages, and agreement with merge patch where
  no list strategy applies;
* managedFields ``Update`` entries: the exact fieldsV1 a real server records for
  a created Deployment, ownership moving between managers, subresources, the
  cap on entries and their order;
* server-side apply: applier field sets, pruning, conflicts (message and
  ``details.causes``), ``force``, list keys, and kubectl's client-side-apply
  upgrade rules.

Inputs are never changed by the functions under test; several tests check that.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kk_helpers.sandbox import patch as P
from kk_helpers.sandbox.errors import APIError
from kk_helpers.sandbox.resources import ResourceType, by_path

Obj = dict[str, Any]
NOW = "2024-06-01T12:00:00Z"
LATER = "2024-06-01T12:05:00Z"
LATEST = "2024-06-01T12:10:00Z"


def _rt(group: str, plural: str) -> ResourceType:
    rt = by_path(group, "v1", plural)
    assert rt is not None
    return rt


DEPLOY = _rt("apps", "deployments")
SERVICE = _rt("", "services")
POD = _rt("", "pods")
CONFIGMAP = _rt("", "configmaps")
NODE = _rt("", "nodes")


def container(name: str, image: str, **extra: Any) -> Obj:
    """A container as the sandbox stores it (server defaults applied)."""
    c: Obj = {"name": name, "image": image, **extra}
    c.setdefault("resources", {})
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("imagePullPolicy", "IfNotPresent")
    return c


def deployment(*containers: Obj, replicas: int = 2, **metadata: Any) -> Obj:
    """A defaulted Deployment ``web`` as a real server stores it after create."""
    md: Obj = {"name": "web", "namespace": "default", "uid": "0b4c", "resourceVersion": "10",
               "generation": 1, "creationTimestamp": NOW, "labels": {"app": "web"}}
    md.update(metadata)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": md,
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": list(containers) or [container("web", "nginx:1.25")],
                                  "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                                  "dnsPolicy": "ClusterFirst", "securityContext": {},
                                  "schedulerName": "default-scheduler"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        },
        "status": {"observedGeneration": 1, "replicas": replicas},
    }


def two_container_deployment() -> Obj:
    """The Deployment the captured kubectl patches were taken against."""
    return deployment(
        container("web", "nginx:1.25", ports=[{"containerPort": 80, "protocol": "TCP"}],
                  env=[{"name": "A", "value": "1"}]),
        container("side", "busybox", command=["sleep", "3600"], imagePullPolicy="Always"),
    )


def containers_of(obj: Obj) -> list[Obj]:
    result: list[Obj] = obj["spec"]["template"]["spec"]["containers"]
    return result


def names(items: list[Obj], key: str = "name") -> list[Any]:
    return [i[key] for i in items]


def entry(obj: Obj, manager: str, operation: str = "Update", subresource: str | None = None) -> Obj:
    """The managedFields entry of ``manager`` (fails when absent)."""
    for e in obj["metadata"].get("managedFields", []):
        if e["manager"] == manager and e["operation"] == operation and e.get("subresource") == subresource:
            found: Obj = e
            return found
    raise AssertionError(f"no {operation} entry for {manager}: {obj['metadata'].get('managedFields')}")


def has_entry(obj: Obj, manager: str, operation: str = "Update") -> bool:
    return any(e["manager"] == manager and e["operation"] == operation
               for e in obj["metadata"].get("managedFields", []))


def owns(obj: Obj, manager: str, *path: str, operation: str = "Update") -> bool:
    """Whether ``manager``'s entry holds the fieldsV1 path ``path`` (e.g. "f:spec", "f:replicas")."""
    node = entry(obj, manager, operation)["fieldsV1"]
    for pe in path:
        if pe not in node:
            return False
        node = node[pe]
    return True


def created(obj: Obj, manager: str = "kubectl-create", rt: ResourceType = DEPLOY) -> Obj:
    return P.update_managed_fields(None, obj, manager, "Update", rt, NOW)


# --------------------------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------------------------


class TestBodies:
    def test_content_types_in_server_order(self) -> None:
        """Are the patch content types the four a real server lists for built-in types, in its order?"""
        assert P.PATCH_CONTENT_TYPES == (
            "application/json-patch+json", "application/merge-patch+json",
            "application/strategic-merge-patch+json", "application/apply-patch+yaml")

    def test_unsupported_type_is_415_with_real_text(self) -> None:
        """Does an unknown PATCH content type get 415 with the apiserver's list of accepted types?"""
        err = P.unsupported_patch_type("application/json")
        assert (err.code, err.reason) == (415, "UnsupportedMediaType")
        assert err.message == (
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/strategic-merge-patch+json, application/apply-patch+yaml")

    def test_parse_json_bodies_ignoring_charset(self) -> None:
        """Are JSON patch bodies decoded whatever the charset parameter says?"""
        assert P.parse_patch_body("application/merge-patch+json; charset=utf-8", b'{"a":1}') == {"a": 1}
        assert P.parse_patch_body(P.JSON_PATCH, '[{"op":"remove","path":"/a"}]') == [{"op": "remove", "path": "/a"}]

    @pytest.mark.parametrize("ctype, prefix", [
        (P.JSON_PATCH, "error decoding patch: "),
        (P.MERGE_PATCH, "error decoding patch: "),
        (P.STRATEGIC_MERGE_PATCH, ""),
    ])
    def test_bad_json_is_400(self, ctype: str, prefix: str) -> None:
        """Is an unparsable JSON patch a 400 BadRequest with the real prefix?"""
        with pytest.raises(APIError) as info:
            P.parse_patch_body(ctype, b"{nope")
        assert (info.value.code, info.value.reason) == (400, "BadRequest")
        assert info.value.message.startswith(prefix)

    def test_nan_is_not_json(self) -> None:
        """Is ``NaN`` (which Python's json accepts and Go's rejects) refused?"""
        with pytest.raises(APIError):
            P.parse_patch_body(P.MERGE_PATCH, b'{"a": NaN}')

    def test_apply_yaml_keeps_timestamps_as_strings(self) -> None:
        """Does the apply body decoder leave timestamp-looking scalars as strings, like sigs.k8s.io/yaml?"""
        body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  when: 2024-01-01T00:00:00Z\n  n: 5\n"
        doc = P.parse_patch_body(P.APPLY_PATCH_YAML, body)
        assert doc["data"] == {"when": "2024-01-01T00:00:00Z", "n": 5}

    @pytest.mark.parametrize("body", [b"- a\n- b\n", b"a: [\n"])
    def test_apply_yaml_must_be_a_mapping(self, body: bytes) -> None:
        """Is an apply body that is not a YAML mapping a 400 ``error decoding YAML``?"""
        with pytest.raises(APIError) as info:
            P.parse_patch_body(P.APPLY_PATCH_YAML, body)
        assert info.value.code == 400
        assert info.value.message.startswith("error decoding YAML: ")

    def test_other_content_type_is_415(self) -> None:
        """Is a body of a non-patch media type refused with 415?"""
        with pytest.raises(APIError) as info:
            P.parse_patch_body("application/json", b"{}")
        assert info.value.code == 415

    @pytest.mark.parametrize("agent, manager", [
        ("kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722", "kubectl"),
        ("OpenAPI-Generator/31.0.0/python", "OpenAPI-Generator"),
        ("", ""),
        (None, ""),
    ])
    def test_manager_from_user_agent(self, agent: str | None, manager: str) -> None:
        """Is the default field manager the User-Agent up to its first slash?"""
        assert P.manager_from_user_agent(agent) == manager


# --------------------------------------------------------------------------------------------
# JSON patch
# --------------------------------------------------------------------------------------------


class TestJSONPatch:
    def test_rollout_undo_patch(self) -> None:
        """Does the JSON patch ``kubectl rollout undo`` sends restore the template and annotations?"""
        live = two_container_deployment()
        live["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "3"}
        old_template = {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [container("web", "nginx:1.24")], "restartPolicy": "Always",
                                 "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                                 "securityContext": {}, "schedulerName": "default-scheduler"}}
        ops = [{"op": "replace", "path": "/spec/template", "value": old_template},
               {"op": "replace", "path": "/metadata/annotations",
                "value": {"deployment.kubernetes.io/revision": "1"}}]
        out = P.json_patch(live, ops)
        assert out["spec"]["template"] == old_template
        assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
        assert live["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "3"}

    def test_add_remove_move_copy_test(self) -> None:
        """Do all six RFC 6902 operations work, in order?"""
        doc = {"a": {"b": [1, 2]}, "c": "x"}
        ops = [{"op": "add", "path": "/a/b/-", "value": 3},
               {"op": "test", "path": "/a/b", "value": [1, 2, 3]},
               {"op": "copy", "from": "/c", "path": "/d"},
               {"op": "move", "from": "/d", "path": "/e"},
               {"op": "remove", "path": "/a/b/0"},
               {"op": "replace", "path": "/c", "value": "y"}]
        assert P.json_patch(doc, ops) == {"a": {"b": [2, 3]}, "c": "y", "e": "x"}
        assert doc == {"a": {"b": [1, 2]}, "c": "x"}

    @pytest.mark.parametrize("ops", [
        [{"op": "test", "path": "/spec/replicas", "value": 5}],
        [{"op": "test", "path": "/spec/paused", "value": 0}],
        [{"op": "remove", "path": "/spec/nothing"}],
        [{"op": "replace", "path": "/metadata/nothing", "value": 1}],
        [{"op": "add", "path": "/no/such/parent", "value": 1}],
        [{"op": "jump", "path": "/spec"}],
        [{"path": "/spec"}],
        [{"op": "add", "path": "/spec/replicas"}],
    ], ids=["test-mismatch", "test-bool-vs-number", "remove-missing", "replace-missing", "add-no-parent",
            "unknown-op", "no-op", "no-value"])
    def test_failing_operation_is_422_with_real_text(self, ops: list[Any]) -> None:
        """Does a failing operation give 422 Invalid with the apiserver's fixed message (never 500)?"""
        live = deployment()
        live["spec"]["paused"] = False
        with pytest.raises(APIError) as info:
            P.json_patch(live, ops)
        assert (info.value.code, info.value.reason) == (422, "Invalid")
        assert info.value.message == "the server rejected our request due to an error in our request"

    @pytest.mark.parametrize("ops", [{"op": "add"}, ["add"], "x"])
    def test_malformed_patch_is_400(self, ops: Any) -> None:
        """Is a body that is not a list of operation objects a 400?"""
        with pytest.raises(APIError) as info:
            P.json_patch(deployment(), ops)
        assert info.value.code == 400
        assert "cannot unmarshal" in info.value.message

    def test_too_many_operations_is_413(self) -> None:
        """Is a patch of more than 10000 operations refused as too large?"""
        ops = [{"op": "test", "path": "/kind", "value": "Deployment"}] * 10001
        with pytest.raises(APIError) as info:
            P.json_patch(deployment(), ops)
        assert info.value.code == 413
        assert info.value.message == ("Request entity too large: The allowed maximum operations in a JSON "
                                      "patch is 10000, got 10001")


# --------------------------------------------------------------------------------------------
# JSON merge patch
# --------------------------------------------------------------------------------------------


class TestMergePatch:
    def test_scale_patch(self) -> None:
        """Does ``kubectl scale``'s merge patch set the Scale's replicas?"""
        scale = {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web"},
                 "spec": {"replicas": 2}, "status": {"replicas": 2, "selector": "app=web"}}
        out = P.merge_patch(scale, {"spec": {"replicas": 3}})
        assert out["spec"] == {"replicas": 3}
        assert out["status"] == scale["status"]
        assert scale["spec"] == {"replicas": 2}

    def test_label_and_unlabel(self) -> None:
        """Do ``kubectl label`` patches add a label and remove one with null?"""
        live = deployment()
        labelled = P.merge_patch(live, {"metadata": {"labels": {"env": "prod"}}})
        assert labelled["metadata"]["labels"] == {"app": "web", "env": "prod"}
        unlabelled = P.merge_patch(labelled, {"metadata": {"labels": {"app": None}}})
        assert unlabelled["metadata"]["labels"] == {"env": "prod"}

    def test_annotate_where_there_were_none(self) -> None:
        """Does ``kubectl annotate`` create the annotations map when missing?"""
        out = P.merge_patch(deployment(), {"metadata": {"annotations": {"note": "hello"}}})
        assert out["metadata"]["annotations"] == {"note": "hello"}

    def test_lists_replace_and_nulls_in_new_values_are_pruned(self) -> None:
        """Are lists replaced whole, and null members of newly set objects dropped?"""
        doc = {"a": [1, 2, 3], "b": "x"}
        out = P.merge_patch(doc, {"a": [4], "b": {"c": None, "d": {"e": None, "f": 1}}, "g": [{"h": None}, None]})
        assert out == {"a": [4], "b": {"d": {"f": 1}}, "g": [{}, None]}

    def test_non_object_replaces_object_as_is(self) -> None:
        """Does a list replacing an object keep its items as sent (evanphx/json-patch)?"""
        assert P.merge_patch({"a": {"b": 1}}, {"a": [{"c": None}]}) == {"a": [{"c": None}]}

    @pytest.mark.parametrize("body", [None, [1], "x", 3])
    def test_non_object_patch_is_400(self, body: Any) -> None:
        """Is a merge patch that is not an object refused with ``Invalid JSON Patch``?"""
        with pytest.raises(APIError) as info:
            P.merge_patch({"a": 1}, body)
        assert (info.value.code, info.value.message) == (400, "Invalid JSON Patch")


# JSON values for the properties: no nulls (a null in a target means nothing to a merge patch).
_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab", max_size=2)
_json = st.recursive(
    st.booleans() | st.integers(-5, 5) | st.text("abc", max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("abcd", min_size=1, max_size=2), inner,
                                                               max_size=4),
    max_leaves=12,
)
_docs = st.dictionaries(st.text("abcd", min_size=1, max_size=2), _json, max_size=5)


def make_merge_patch(a: Any, b: Any) -> Any:
    """The RFC 7386 patch turning ``a`` into ``b`` (test helper, for the round-trip property)."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return b
    out: Obj = {}
    for key in a:
        if key not in b:
            out[key] = None
    for key, value in b.items():
        if key not in a:
            out[key] = value
        elif isinstance(a[key], dict) and isinstance(value, dict):
            sub = make_merge_patch(a[key], value)
            if sub:
                out[key] = sub
        elif a[key] != value or type(a[key]) is not type(value):
            out[key] = value
    return out


class TestMergePatchProperties:
    @given(_docs)
    def test_empty_patch_changes_nothing(self, doc: Obj) -> None:
        """Is merge_patch(doc, {}) equal to doc, and a different object?"""
        out = P.merge_patch(doc, {})
        assert out == doc
        assert out is not doc

    @given(_docs, _docs)
    def test_diff_round_trip(self, a: Obj, b: Obj) -> None:
        """Does the merge patch computed from a to b turn a into b, leaving a untouched?"""
        before = copy.deepcopy(a)
        assert P.merge_patch(a, make_merge_patch(a, b)) == b
        assert a == before

    @given(_docs, _docs)
    def test_idempotent(self, a: Obj, p: Obj) -> None:
        """Is applying a merge patch twice the same as applying it once?"""
        once = P.merge_patch(a, p)
        assert P.merge_patch(once, p) == once

    @given(_docs, st.lists(st.text("abcd", min_size=1, max_size=2), max_size=4))
    def test_null_deletes(self, a: Obj, keys: list[str]) -> None:
        """Does a null for each key remove exactly those keys?"""
        out = P.merge_patch(a, {k: None for k in keys})
        assert out == {k: v for k, v in a.items() if k not in keys}


# --------------------------------------------------------------------------------------------
# Strategic merge patch
# --------------------------------------------------------------------------------------------


def _env(obj: Obj, c: str = "web") -> list[Obj]:
    for item in containers_of(obj):
        if item["name"] == c:
            env: list[Obj] = item.get("env", [])
            return env
    raise AssertionError(c)


def _image(obj: Obj, c: str = "web") -> str:
    return next(str(i["image"]) for i in containers_of(obj) if i["name"] == c)


#: Patches captured from kubectl 1.37.1 against two_container_deployment(), with what each must do.
KUBECTL_SMP: list[tuple[str, Obj, Callable[[Obj], None]]] = [
    ("set image (brief form)",
     {"spec": {"template": {"spec": {"containers": [{"image": "nginx:1.27", "name": "web"}]}}}},
     lambda o: _ok(_image(o) == "nginx:1.27",
                   names(containers_of(o)) == ["web", "side"],
                   _env(o) == [{"name": "A", "value": "1"}])),
    ("set image",
     {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                                     "containers": [{"image": "nginx:1.27", "name": "web"}]}}}},
     lambda o: _ok(_image(o) == "nginx:1.27",
                   _image(o, "side") == "busybox",
                   names(containers_of(o)) == ["web", "side"])),
    ("set env B=2",
     {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                                     "containers": [{"$setElementOrder/env": [{"name": "A"}, {"name": "B"}],
                                                     "env": [{"name": "B", "value": "2"}], "name": "web"},
                                                    {"env": [{"name": "B", "value": "2"}], "name": "side"}]}}}},
     lambda o: _ok(_env(o) == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                   _env(o, "side") == [{"name": "B", "value": "2"}])),
    ("set env A-",
     {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                                     "containers": [{"env": None, "name": "web"}]}}}},
     lambda o: _ok("env" not in containers_of(o)[0],
                   _env(o, "side") == [])),
    ("set resources",
     {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                                     "containers": [{"name": "web", "resources": {"limits": {"cpu": "200m"}}}]}}}},
     lambda o: _ok(containers_of(o)[0]["resources"] == {"limits": {"cpu": "200m"}})),
    ("rollout restart",
     {"spec": {"template": {"metadata": {"annotations": {
         "kubectl.kubernetes.io/restartedAt": "2026-11-28T17:51:19Z"}}}}},
     lambda o: _ok(o["spec"]["template"]["metadata"] == {
         "labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-28T17:51:19Z"}})),
    ("rollout pause",
     {"spec": {"paused": True}},
     lambda o: _ok(o["spec"]["paused"] is True, o["spec"]["replicas"] == 2)),
    ("client-side apply (three-way)",
     {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
      "spec": {"replicas": 3, "template": {"spec": {
          "$setElementOrder/containers": [{"name": "web"}, {"name": "extra"}],
          "containers": [{"$setElementOrder/env": [{"name": "C"}],
                          "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "A"}],
                          "image": "nginx:1.27", "name": "web", "ports": None},
                         {"image": "redis:7", "name": "extra"},
                         {"$patch": "delete", "name": "side"}]}}}},
     lambda o: _ok(o["spec"]["replicas"] == 3,
                   names(containers_of(o)) == ["web", "extra"],
                   _env(o) == [{"name": "C", "value": "3"}],
                   "ports" not in containers_of(o)[0],
                   containers_of(o)[0]["imagePullPolicy"] == "IfNotPresent",
                   containers_of(o)[1] == {"image": "redis:7", "name": "extra"},
                   o["metadata"]["annotations"] == {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"})),
]


def _ok(*checks: bool) -> None:
    """Assert each check, naming the first that fails."""
    for n, ok in enumerate(checks):
        assert ok, f"check {n} failed"


class TestStrategicMergePatch:
    @pytest.mark.parametrize("patch, check", [(p, c) for _, p, c in KUBECTL_SMP],
                             ids=[d for d, _, _ in KUBECTL_SMP])
    def test_kubectl_patches(self, patch: Obj, check: Callable[[Obj], None]) -> None:
        """Does each strategic merge patch real kubectl sends do what kubectl means, leaving inputs alone?"""
        live = two_container_deployment()
        before, patch_before = copy.deepcopy(live), copy.deepcopy(patch)
        check(P.strategic_merge_patch(live, patch, DEPLOY))
        assert live == before
        assert patch == patch_before

    def test_containers_merge_by_name_other_fields_kept(self) -> None:
        """Does a container patch by name keep the container's other fields and the other containers?"""
        out = P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
            "containers": [{"name": "side", "args": ["-v"]}]}}}}, DEPLOY)
        side = containers_of(out)[1]
        assert side["args"] == ["-v"] and side["command"] == ["sleep", "3600"]
        assert containers_of(out)[0] == containers_of(two_container_deployment())[0]

    def test_new_item_goes_before_server_only_items(self) -> None:
        """Does a list item the live object lacks land before the server-only items, as on a real server?"""
        out = P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
            "containers": [{"name": "new", "image": "x"}]}}}}, DEPLOY)
        assert names(containers_of(out)) == ["new", "web", "side"]

    def test_set_element_order_puts_new_item_where_asked(self) -> None:
        """Does ``$setElementOrder`` decide where a new item goes?"""
        out = P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}, {"name": "new"}],
            "containers": [{"name": "new", "image": "x"}]}}}}, DEPLOY)
        assert names(containers_of(out)) == ["web", "side", "new"]

    def test_set_element_order_reorders(self) -> None:
        """Can ``$setElementOrder`` alone reorder existing items?"""
        out = P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}]}}}}, DEPLOY)
        assert names(containers_of(out)) == ["side", "web"]

    def test_set_element_order_mismatch_is_400(self) -> None:
        """Is a patch list out of step with its ``$setElementOrder`` list refused?"""
        with pytest.raises(APIError) as info:
            P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [{"name": "side", "image": "x"}]}}}}, DEPLOY)
        assert info.value.code == 400
        assert "doesn't match $setElementOrder list" in info.value.message

    def test_container_ports_merge_by_container_port(self) -> None:
        """Do a container's ports merge by containerPort?"""
        out = P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
            "containers": [{"name": "web", "ports": [{"containerPort": 80, "name": "http"},
                                                     {"containerPort": 443}]}]}}}}, DEPLOY)
        assert containers_of(out)[0]["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"},
                                                  {"containerPort": 443}]

    def test_volume_mounts_merge_by_mount_path(self) -> None:
        """Do volumeMounts merge by mountPath and volumes by name?"""
        live = deployment(container("web", "nginx", volumeMounts=[{"name": "a", "mountPath": "/a"}]))
        live["spec"]["template"]["spec"]["volumes"] = [{"name": "a", "emptyDir": {}}]
        out = P.strategic_merge_patch(live, {"spec": {"template": {"spec": {
            "volumes": [{"name": "b", "configMap": {"name": "cm"}}],
            "containers": [{"name": "web", "volumeMounts": [{"mountPath": "/a", "readOnly": True},
                                                            {"mountPath": "/b", "name": "b"}]}]}}}}, DEPLOY)
        assert containers_of(out)[0]["volumeMounts"] == [{"name": "a", "mountPath": "/a", "readOnly": True},
                                                         {"mountPath": "/b", "name": "b"}]
        assert names(out["spec"]["template"]["spec"]["volumes"]) == ["b", "a"]

    def test_service_ports_merge_by_port(self) -> None:
        """Do a Service's ports merge by port?"""
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}], "selector": {"app": "web"}}}
        out = P.strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, SERVICE)
        assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090, "protocol": "TCP"}]

    def test_conditions_merge_by_type(self) -> None:
        """Do status conditions merge by type?"""
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "status": {"conditions": [{"type": "Ready", "status": "False"},
                                         {"type": "PodScheduled", "status": "True"}]}}
        out = P.strategic_merge_patch(pod, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, POD)
        assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                               {"type": "PodScheduled", "status": "True"}]

    def test_owner_references_merge_by_uid(self) -> None:
        """Do ownerReferences merge by uid?"""
        cm = {"metadata": {"name": "c", "ownerReferences": [{"uid": "1", "name": "a", "kind": "X"}]}}
        out = P.strategic_merge_patch(cm, {"metadata": {"ownerReferences": [{"uid": "2", "name": "b"},
                                                                            {"uid": "1", "name": "a2"}]}},
                                      CONFIGMAP)
        assert out["metadata"]["ownerReferences"] == [{"uid": "2", "name": "b"},
                                                      {"uid": "1", "name": "a2", "kind": "X"}]

    def test_host_aliases_merge_by_ip(self) -> None:
        """Do hostAliases merge by ip?"""
        pod = {"metadata": {"name": "p"}, "spec": {"hostAliases": [{"ip": "1.1.1.1", "hostnames": ["a"]}]}}
        out = P.strategic_merge_patch(pod, {"spec": {"hostAliases": [{"ip": "1.1.1.1", "hostnames": ["b"]},
                                                                     {"ip": "2.2.2.2", "hostnames": ["c"]}]}}, POD)
        assert out["spec"]["hostAliases"] == [{"ip": "1.1.1.1", "hostnames": ["b"]},
                                              {"ip": "2.2.2.2", "hostnames": ["c"]}]

    def test_tolerations_are_replaced(self) -> None:
        """Are tolerations (no merge key) replaced whole?"""
        pod = {"metadata": {"name": "p"}, "spec": {"tolerations": [{"key": "a", "operator": "Exists"}]}}
        out = P.strategic_merge_patch(pod, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}, POD)
        assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]

    def test_command_is_replaced(self) -> None:
        """Are lists without merge information (command) replaced?"""
        out = P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
            "containers": [{"name": "side", "command": ["true"]}]}}}}, DEPLOY)
        assert containers_of(out)[1]["command"] == ["true"]

    def test_same_field_name_different_parent(self) -> None:
        """Is ``ports`` keyed by containerPort in a container but replaced where no merge key applies?"""
        ep = {"metadata": {"name": "e"}, "subsets": [{"ports": [{"port": 1}]}]}
        out = P.strategic_merge_patch(ep, {"subsets": [{"ports": [{"port": 2}]}]}, _rt("", "endpoints"))
        assert out["subsets"] == [{"ports": [{"port": 2}]}]
        assert P.merge_key("Deployment", ["spec", "template", "spec", "containers", "ports"]) == "containerPort"
        assert P.merge_key("Service", ["spec", "ports"]) == "port"
        assert P.merge_key("Pod", ["spec", "containers", "volumeMounts"]) == "mountPath"
        assert P.merge_key("Pod", ["spec", "tolerations"]) is None
        assert P.merge_key("CronJob", ["spec", "jobTemplate", "spec", "template", "spec", "containers", "env"]) == "name"

    def test_finalizers_merge_as_a_set(self) -> None:
        """Do finalizers merge as a set, new ones first, and leave with ``$deleteFromPrimitiveList``?"""
        cm = {"metadata": {"name": "c", "finalizers": ["a", "b"]}}
        out = P.strategic_merge_patch(cm, {"metadata": {"finalizers": ["b", "c"]}}, CONFIGMAP)
        assert out["metadata"]["finalizers"] == ["a", "b", "c"]
        out = P.strategic_merge_patch(cm, {"metadata": {"finalizers": ["z"]}}, CONFIGMAP)
        assert out["metadata"]["finalizers"] == ["z", "a", "b"]
        out = P.strategic_merge_patch(cm, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, CONFIGMAP)
        assert out["metadata"]["finalizers"] == ["b"]
        out = P.strategic_merge_patch(cm, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "b"],
                                                        "$setElementOrder/finalizers": []}}, CONFIGMAP)
        assert out["metadata"]["finalizers"] == []

    def test_delete_from_missing_primitive_list_does_nothing(self) -> None:
        """Does deleting from a list the object lacks leave it lacking?"""
        out = P.strategic_merge_patch({"metadata": {"name": "c"}},
                                      {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, CONFIGMAP)
        assert out == {"metadata": {"name": "c"}}

    def test_patch_delete_list_item(self) -> None:
        """Does ``$patch: delete`` in a list item remove the item with that key?"""
        out = P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
            "containers": [{"name": "web", "$patch": "delete"}]}}}}, DEPLOY)
        assert names(containers_of(out)) == ["side"]

    def test_patch_replace_list(self) -> None:
        """Does a ``$patch: replace`` item make the list exactly the other items?"""
        out = P.strategic_merge_patch(two_container_deployment(), {"spec": {"template": {"spec": {
            "containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}}}}, DEPLOY)
        assert containers_of(out) == [{"name": "only", "image": "x"}]

    def test_patch_replace_map(self) -> None:
        """Does ``$patch: replace`` in a map replace the whole map?"""
        out = P.strategic_merge_patch(deployment(), {"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}},
                                      DEPLOY)
        assert out["spec"]["strategy"] == {"type": "Recreate"}

    def test_patch_delete_map_empties_it(self) -> None:
        """Does ``$patch: delete`` in a map leave it empty, as the apiserver does?"""
        out = P.strategic_merge_patch(deployment(), {"spec": {"strategy": {"$patch": "delete"}}}, DEPLOY)
        assert out["spec"]["strategy"] == {}

    def test_patch_merge_is_refused_like_the_apiserver(self) -> None:
        """Is ``$patch: merge`` refused, as the real strategic merge code refuses it, with its message?"""
        with pytest.raises(APIError) as info:
            P.strategic_merge_patch(deployment(), {"spec": {"strategy": {"$patch": "merge"}}}, DEPLOY)
        assert info.value.code == 400
        assert info.value.message == "unknown patch type: merge in map: map[$patch:merge]"
        with pytest.raises(APIError) as info:
            P.strategic_merge_patch(deployment(), {"spec": {"template": {"spec": {
                "containers": [{"$patch": "merge"}]}}}}, DEPLOY)
        assert info.value.message == "merging lists cannot yet be specified in the patch"

    def test_retain_keys_clears_other_fields(self) -> None:
        """Does ``$retainKeys`` clear the fields it does not list (strategy switch to Recreate)?"""
        out = P.strategic_merge_patch(deployment(), {"spec": {"strategy": {
            "$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}}, DEPLOY)
        assert out["spec"]["strategy"] == {"type": "Recreate"}

    def test_retain_keys_must_cover_the_patch(self) -> None:
        """Is a patch field missing from ``$retainKeys`` a 400 with the real message?"""
        with pytest.raises(APIError) as info:
            P.strategic_merge_patch(deployment(), {"spec": {"strategy": {
                "$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}, DEPLOY)
        assert (info.value.code, info.value.message) == (400, "invalid patch format of retainKeys")

    def test_null_deletes_and_new_values_are_clean(self) -> None:
        """Does null delete a field, and are nulls and directives dropped from values that are new?"""
        out = P.strategic_merge_patch(deployment(), {"spec": {
            "revisionHistoryLimit": None,
            "template": {"spec": {"affinity": {"nodeAffinity": None, "podAffinity": {"$retainKeys": [], "x": 1}},
                                  "tolerations": [{"key": "a", "value": None}, {"$patch": "delete", "key": "b"}]}}}},
            DEPLOY)
        assert "revisionHistoryLimit" not in out["spec"]
        assert out["spec"]["template"]["spec"]["affinity"] == {"podAffinity": {"x": 1}}
        assert out["spec"]["template"]["spec"]["tolerations"] == [{"key": "a"}]

    def test_missing_merge_key_is_400_with_go_message(self) -> None:
        """Is a merging-list item without its merge key refused with the real message (as 400, not 500)?"""
        with pytest.raises(APIError) as info:
            P.strategic_merge_patch(deployment(), {"spec": {"template": {"spec": {
                "containers": [{"image": "x"}]}}}}, DEPLOY)
        assert info.value.code == 400
        assert info.value.message == "map: map[image:x] does not contain declared merge key: name"

    def test_list_of_lists_is_422(self) -> None:
        """Is a list of lists in a merging list answered 422, as the apiserver maps that error?"""
        with pytest.raises(APIError) as info:
            P.strategic_merge_patch({"metadata": {"finalizers": ["a"]}},
                                    {"metadata": {"finalizers": [["b"]]}}, CONFIGMAP)
        assert info.value.code == 422

    def test_bad_directive_formats_are_400(self) -> None:
        """Are malformed directive keys and values the 400s the apiserver gives?"""
        cases: list[tuple[Obj, str]] = [
            ({"metadata": {"$deleteFromPrimitiveList": ["a"]}}, "invalid patch format of primitive list"),
            ({"metadata": {"$setElementOrder": []}}, "invalid patch format of setElementOrder list"),
            ({"spec": {"$retainKeys": "type"}}, "invalid patch format of retainKeys"),
        ]
        for body, message in cases:
            with pytest.raises(APIError) as info:
                P.strategic_merge_patch(deployment(), body, DEPLOY)
            assert (info.value.code, info.value.message) == (400, message)

    def test_non_object_patch_is_400(self) -> None:
        """Is a strategic merge patch that is not an object a 400?"""
        with pytest.raises(APIError) as info:
            P.strategic_merge_patch(deployment(), [], DEPLOY)  # type: ignore[arg-type]
        assert info.value.code == 400

    @given(_docs, st.dictionaries(st.text("abcd", min_size=1, max_size=2), _scalars | _docs, max_size=4))
    @settings(max_examples=150)
    def test_agrees_with_merge_patch_without_list_strategies(self, doc: Obj, patch: Obj) -> None:
        """Where no list strategy or directive applies, does a strategic merge patch equal a merge patch?"""
        assert P.strategic_merge_patch(doc, patch, CONFIGMAP) == P.merge_patch(doc, patch)


# --------------------------------------------------------------------------------------------
# managedFields: Update entries
# --------------------------------------------------------------------------------------------

#: fieldsV1 a real 1.2x/1.3x apiserver records for ``kubectl create deployment web --image=nginx:1.25``.
CREATE_FIELDS = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {}, "f:selector": {},
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {'k:{"name":"web"}': {
                    ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:resources": {},
                    "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}},
                "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {},
                "f:terminationGracePeriodSeconds": {},
            },
        },
    },
}


class TestUpdateManagedFields:
    def test_create_records_what_a_real_server_records(self) -> None:
        """Does a create record exactly the real server's entry, key order included?"""
        out = created(deployment())
        assert out["metadata"]["managedFields"] == [{
            "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1", "time": NOW,
            "fieldsType": "FieldsV1", "fieldsV1": CREATE_FIELDS}]
        assert json.dumps(out["metadata"]["managedFields"][0]["fieldsV1"]) == json.dumps(CREATE_FIELDS)

    def test_input_is_not_changed(self) -> None:
        """Are the old and new objects left as they were?"""
        live = created(deployment())
        new = P.strategic_merge_patch(live, {"spec": {"replicas": 5}}, DEPLOY)
        live_before, new_before = copy.deepcopy(live), copy.deepcopy(new)
        P.update_managed_fields(live, new, "kubectl-patch", "Update", DEPLOY, LATER)
        assert (live, new) == (live_before, new_before)

    def test_set_image_moves_the_field(self) -> None:
        """After ``kubectl set image``, does kubectl-set own the image and the creator no longer?"""
        live = created(deployment())
        new = P.strategic_merge_patch(live, KUBECTL_SMP[0][1], DEPLOY)
        out = P.update_managed_fields(live, new, "kubectl-set", "Update", DEPLOY, LATER)
        path = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:image")
        assert owns(out, "kubectl-set", *path)
        assert not owns(out, "kubectl-create", *path)
        assert owns(out, "kubectl-create", "f:spec", "f:replicas")
        assert entry(out, "kubectl-set")["time"] == LATER
        assert entry(out, "kubectl-create")["time"] == NOW
        assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["kubectl-create", "kubectl-set"]

    def test_removing_only_takes_away(self) -> None:
        """Does ``kubectl label app-`` remove the field from its owner without a kubectl-label entry?"""
        live = created(deployment())
        new = P.merge_patch(live, {"metadata": {"labels": {"app": None}}})
        out = P.update_managed_fields(live, new, "kubectl-label", "Update", DEPLOY, LATER)
        assert not has_entry(out, "kubectl-label")
        assert not owns(out, "kubectl-create", "f:metadata", "f:labels", "f:app")

    def test_noop_changes_nothing(self) -> None:
        """Does a write that changes nothing leave managedFields, times included, alone?"""
        live = created(deployment())
        out = P.update_managed_fields(live, copy.deepcopy(live), "kubectl-edit", "Update", DEPLOY, LATER)
        assert out["metadata"]["managedFields"] == live["metadata"]["managedFields"]

    def test_new_labels_map_is_owned_with_dot(self) -> None:
        """Does a manager adding the first annotation own the map itself (``.``) and the key?"""
        live = created(deployment())
        new = P.merge_patch(live, {"metadata": {"annotations": {"note": "hi"}}})
        out = P.update_managed_fields(live, new, "kubectl-annotate", "Update", DEPLOY, LATER)
        assert entry(out, "kubectl-annotate")["fieldsV1"] == {
            "f:metadata": {"f:annotations": {".": {}, "f:note": {}}}}

    def test_scale_subresource(self) -> None:
        """Does ``kubectl scale`` record manager kubectl, subresource scale, owning only spec.replicas?"""
        live = created(deployment())
        new = copy.deepcopy(live)
        new["spec"]["replicas"] = 5
        new["metadata"]["generation"] = 2
        out = P.update_managed_fields(live, new, "kubectl", "Update", DEPLOY, LATER, subresource="scale")
        scale = entry(out, "kubectl", subresource="scale")
        assert scale["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
        assert list(scale) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"]
        assert not owns(out, "kubectl-create", "f:spec", "f:replicas")

    def test_status_subresource_and_main_resource(self) -> None:
        """Does a status write own only status, and a main-resource write never status?"""
        live = created(deployment())
        new = copy.deepcopy(live)
        new["status"]["readyReplicas"] = 2
        new["status"]["conditions"] = [{"type": "Available", "status": "True"}]
        out = P.update_managed_fields(live, new, "kube-controller-manager", "Update", DEPLOY, LATER,
                                      subresource="status")
        assert entry(out, "kube-controller-manager", subresource="status")["fieldsV1"] == {"f:status": {
            "f:conditions": {".": {}, 'k:{"type":"Available"}': {".": {}, "f:status": {}, "f:type": {}}},
            "f:readyReplicas": {}}}
        assert "f:status" not in entry(created(deployment()), "kubectl-create")["fieldsV1"]

    def test_subresource_write_ignores_managed_fields_in_body(self) -> None:
        """Through a subresource, are managedFields in the body ignored in favour of the stored ones?"""
        live = created(deployment())
        new = copy.deepcopy(live)
        new["status"]["readyReplicas"] = 1
        new["metadata"]["managedFields"] = []
        out = P.update_managed_fields(live, new, "kcm", "Update", DEPLOY, LATER, subresource="status")
        assert has_entry(out, "kubectl-create")

    def test_client_may_edit_and_reset_managed_fields(self) -> None:
        """Are managedFields sent by the client used, and does ``[{}]`` clear them?"""
        live = created(deployment())
        edited = copy.deepcopy(live)
        edited["metadata"]["managedFields"][0]["manager"] = "renamed"
        out = P.update_managed_fields(live, edited, "kubectl-edit", "Update", DEPLOY, LATER)
        assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["renamed"]
        reset = copy.deepcopy(live)
        reset["metadata"]["managedFields"] = [{}]
        out = P.update_managed_fields(live, reset, "kubectl-edit", "Update", DEPLOY, LATER)
        assert "managedFields" not in out["metadata"]
        omitted = copy.deepcopy(live)
        del omitted["metadata"]["managedFields"]
        out = P.update_managed_fields(live, omitted, "kubectl-edit", "Update", DEPLOY, LATER)
        assert has_entry(out, "kubectl-create")

    def test_unreadable_managed_fields_are_dropped(self) -> None:
        """Are managedFields no one can decode dropped rather than stored?"""
        live = deployment()
        live["metadata"]["managedFields"] = [{"manager": "x", "operation": "Bogus"}]
        out = P.update_managed_fields(live, copy.deepcopy(live), "m", "Update", DEPLOY, LATER)
        assert "managedFields" not in out["metadata"]

    def test_at_most_ten_update_managers(self) -> None:
        """Do more than ten Update managers fold the oldest into ``ancient-changes``?"""
        obj = created(deployment())
        for n in range(11):
            new = P.merge_patch(obj, {"metadata": {"labels": {f"l{n}": "x"}}})
            obj = P.update_managed_fields(obj, new, f"m{n:02d}", "Update", DEPLOY, f"2024-06-01T13:{n:02d}:00Z")
        managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
        assert len(managers) == 10
        assert "ancient-changes" in managers and "kubectl-create" not in managers and "m00" not in managers
        ancient = entry(obj, "ancient-changes")
        assert "f:l0" in ancient["fieldsV1"]["f:metadata"]["f:labels"]
        assert "f:replicas" in ancient["fieldsV1"]["f:spec"]

    def test_entries_sorted_apply_first_then_time(self) -> None:
        """Are entries ordered Apply before Update, then by time, then by manager?"""
        obj = P.server_side_apply(None, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                         "data": {"a": "1"}}, CONFIGMAP, "z-applier", False, LATEST)
        obj = P.update_managed_fields(obj, P.merge_patch(obj, {"data": {"b": "2"}}), "b", "Update", CONFIGMAP, LATER)
        obj = P.update_managed_fields(obj, P.merge_patch(obj, {"data": {"c": "3"}}), "a", "Update", CONFIGMAP, LATER)
        assert [(e["operation"], e["manager"]) for e in obj["metadata"]["managedFields"]] == [
            ("Apply", "z-applier"), ("Update", "a"), ("Update", "b")]

    def test_apply_operation_is_refused(self) -> None:
        """Is asking update_managed_fields for an Apply entry a programming error?"""
        with pytest.raises(ValueError):
            P.update_managed_fields(None, deployment(), "m", "Apply", DEPLOY, NOW)

    @given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["x", "y", None]),
                                    max_size=4), min_size=1, max_size=5))
    @settings(max_examples=60)
    def test_update_ownership_is_exclusive_and_real(self, label_patches: list[Obj]) -> None:
        """After any run of label patches by different managers, is each owned label owned once and present?"""
        obj = created(deployment())
        for n, labels in enumerate(label_patches):
            new = P.merge_patch(obj, {"metadata": {"labels": labels}})
            obj = P.update_managed_fields(obj, new, f"m{n}", "Update", DEPLOY, f"2024-06-01T13:0{n}:00Z")
        owners: dict[str, list[str]] = {}
        for e in obj["metadata"].get("managedFields", []):
            for key in e["fieldsV1"].get("f:metadata", {}).get("f:labels", {}):
                if key != ".":
                    owners.setdefault(key[2:], []).append(e["manager"])
        assert all(len(m) == 1 for m in owners.values())
        assert set(owners) == set(obj["metadata"].get("labels", {}))


# --------------------------------------------------------------------------------------------
# Server-side apply
# --------------------------------------------------------------------------------------------


def apply_config(replicas: int | None = 3, image: str = "nginx:1.27", **extra_container: Any) -> Obj:
    """The configuration ``kubectl apply --server-side`` sends for Deployment web."""
    spec: Obj = {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image, **extra_container}]}}}
    if replicas is not None:
        spec = {"replicas": replicas, **spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}}, "spec": spec}


APPLY_FIELDS = {
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}}}},
}


def applied_live(manager: str = "kubectl", **kw: Any) -> Obj:
    """A Deployment created by server-side apply (and defaulted, as the registry would)."""
    obj = P.server_side_apply(None, apply_config(**kw), DEPLOY, manager, False, NOW)
    live = deployment(container("web", kw.get("image", "nginx:1.27")), replicas=kw.get("replicas", 3) or 1)
    live["metadata"]["managedFields"] = obj["metadata"]["managedFields"]
    return live


class TestServerSideApply:
    def test_create_by_apply(self) -> None:
        """Does applying to a missing object build it and record the applier's exact field set?"""
        obj = P.server_side_apply(None, apply_config(), DEPLOY, "kubectl", False, NOW)
        assert obj["spec"]["replicas"] == 3
        assert containers_of(obj) == [{"name": "web", "image": "nginx:1.27"}]
        assert obj["metadata"]["managedFields"] == [{
            "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": NOW,
            "fieldsType": "FieldsV1", "fieldsV1": APPLY_FIELDS}]

    def test_inputs_not_changed(self) -> None:
        """Are the live object and the configuration left as they were?"""
        live, config = applied_live(), apply_config(replicas=4)
        before = copy.deepcopy((live, config))
        P.server_side_apply(live, config, DEPLOY, "kubectl", False, LATER)
        assert (live, config) == before

    def test_reapply_is_a_noop_and_keeps_time(self) -> None:
        """Does re-applying the same configuration change nothing, not even the entry's time?"""
        live = applied_live()
        out = P.server_side_apply(live, apply_config(), DEPLOY, "kubectl", False, LATER)
        assert out == live

    def test_change_own_field(self) -> None:
        """Can an applier change a field only it owns, stamping its entry with the new time?"""
        out = P.server_side_apply(applied_live(), apply_config(replicas=5), DEPLOY, "kubectl", False, LATER)
        assert out["spec"]["replicas"] == 5
        assert entry(out, "kubectl", "Apply")["time"] == LATER

    def test_conflict_with_update_manager(self) -> None:
        """Is changing a field another (Update) manager owns a 409 with the real message and cause?"""
        live = applied_live()
        scaled = copy.deepcopy(live)
        scaled["spec"]["replicas"] = 7
        live = P.update_managed_fields(live, scaled, "kubectl-scale", "Update", DEPLOY, LATER)
        with pytest.raises(APIError) as info:
            P.server_side_apply(live, apply_config(replicas=3), DEPLOY, "kubectl", False, LATEST)
        err = info.value
        assert (err.code, err.reason) == (409, "Conflict")
        assert err.message == 'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas'
        assert err.details == {"causes": [{"reason": "FieldManagerConflict",
                                           "message": 'conflict with "kubectl-scale" using apps/v1',
                                           "field": ".spec.replicas"}]}
        assert err.status()["details"]["causes"][0]["field"] == ".spec.replicas"

    def test_conflict_with_subresource_manager(self) -> None:
        """Is a field owned through /scale named with its subresource in the conflict?"""
        live = applied_live()
        scaled = copy.deepcopy(live)
        scaled["spec"]["replicas"] = 7
        live = P.update_managed_fields(live, scaled, "kubectl", "Update", DEPLOY, LATER, subresource="scale")
        with pytest.raises(APIError) as info:
            P.server_side_apply(live, apply_config(replicas=3), DEPLOY, "kubectl", False, LATEST)
        assert info.value.message == ('Apply failed with 1 conflict: conflict with "kubectl" with subresource '
                                      '"scale" using apps/v1: .spec.replicas')

    def test_many_conflicts_grouped_by_manager(self) -> None:
        """Are several conflicts listed per manager, managers sorted, as the apiserver prints them?"""
        live = applied_live(manager="alpha")
        live = P.server_side_apply(live, {"apiVersion": "apps/v1", "kind": "Deployment",
                                          "metadata": {"name": "web", "labels": {"app": "web", "tier": "a"}}},
                                   DEPLOY, "beta", False, LATER)
        config = apply_config(replicas=9, image="httpd")
        config["metadata"]["labels"]["tier"] = "b"
        with pytest.raises(APIError) as info:
            P.server_side_apply(live, config, DEPLOY, "gamma", False, LATEST)
        assert info.value.message == (
            'Apply failed with 3 conflicts: conflicts with "alpha":\n'
            "- .spec.replicas\n"
            '- .spec.template.spec.containers[name="web"].image\n'
            'conflicts with "beta":\n'
            "- .metadata.labels.tier")
        assert [c["field"] for c in info.value.details["causes"]] == [
            ".spec.replicas", '.spec.template.spec.containers[name="web"].image', ".metadata.labels.tier"]
        assert [c["message"] for c in info.value.details["causes"]] == [
            'conflict with "alpha"', 'conflict with "alpha"', 'conflict with "beta"']

    def test_force_takes_ownership(self) -> None:
        """Does force move the field to the applier and out of the other manager's set?"""
        live = applied_live(manager="alpha")
        out = P.server_side_apply(live, apply_config(replicas=9), DEPLOY, "gamma", True, LATER)
        assert out["spec"]["replicas"] == 9
        assert owns(out, "gamma", "f:spec", "f:replicas", operation="Apply")
        assert not owns(out, "alpha", "f:spec", "f:replicas", operation="Apply")
        assert owns(out, "alpha", "f:spec", "f:selector", operation="Apply")

    def test_same_value_is_shared_not_a_conflict(self) -> None:
        """Does applying another manager's value unchanged share the field instead of conflicting?"""
        live = applied_live(manager="alpha")
        out = P.server_side_apply(live, apply_config(), DEPLOY, "gamma", False, LATER)
        assert owns(out, "alpha", "f:spec", "f:replicas", operation="Apply")
        assert owns(out, "gamma", "f:spec", "f:replicas", operation="Apply")

    def test_omitted_fields_are_removed(self) -> None:
        """Are fields the applier owned alone, and now omits, removed from the object?"""
        live = applied_live()
        config = apply_config()
        config["metadata"]["annotations"] = {"a": "1", "b": "2"}
        live = P.server_side_apply(live, config, DEPLOY, "kubectl", False, LATER)
        config = apply_config(replicas=None)
        config["metadata"]["annotations"] = {"a": "1"}
        out = P.server_side_apply(live, config, DEPLOY, "kubectl", False, LATEST)
        assert "replicas" not in out["spec"]
        assert out["metadata"]["annotations"] == {"a": "1"}
        assert not owns(out, "kubectl", "f:spec", "f:replicas", operation="Apply")
        out = P.server_side_apply(out, apply_config(replicas=None), DEPLOY, "kubectl", False, LATEST)
        assert "annotations" not in out["metadata"]

    def test_omitted_fields_another_manager_owns_stay(self) -> None:
        """Does a field the applier drops stay when another manager owns it too?"""
        live = applied_live()
        live = P.server_side_apply(live, apply_config(), DEPLOY, "other", False, LATER)
        out = P.server_side_apply(live, apply_config(replicas=None), DEPLOY, "kubectl", False, LATEST)
        assert out["spec"]["replicas"] == 3
        assert owns(out, "other", "f:spec", "f:replicas", operation="Apply")

    def test_removed_container_goes(self) -> None:
        """Is a container the applier alone managed removed when dropped from the configuration?"""
        config = apply_config()
        config["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
        live = P.server_side_apply(None, config, DEPLOY, "kubectl", False, NOW)
        out = P.server_side_apply(live, apply_config(), DEPLOY, "kubectl", False, LATER)
        assert names(containers_of(out)) == ["web"]
        assert 'k:{"name":"side"}' not in entry(out, "kubectl", "Apply")["fieldsV1"]["f:spec"]["f:template"][
            "f:spec"]["f:containers"]

    def test_container_added_by_update_survives_apply(self) -> None:
        """Does a container another manager added survive an apply that never mentioned it?"""
        live = applied_live()
        new = P.strategic_merge_patch(live, {"spec": {"template": {"spec": {
            "containers": [{"name": "debug", "image": "busybox"}]}}}}, DEPLOY)
        live = P.update_managed_fields(live, new, "kubectl-patch", "Update", DEPLOY, LATER)
        out = P.server_side_apply(live, apply_config(image="nginx:1.28"), DEPLOY, "kubectl", False, LATEST)
        assert names(containers_of(out)) == ["debug", "web"]
        assert _image(out) == "nginx:1.28"

    def test_list_keys_and_defaults(self) -> None:
        """Are container ports keyed by containerPort and the defaulted protocol, env by name?"""
        obj = P.server_side_apply(None, apply_config(ports=[{"containerPort": 80}], env=[{"name": "A", "value": "1"}]),
                                  DEPLOY, "kubectl", False, NOW)
        web = entry(obj, "kubectl", "Apply")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][
            'k:{"name":"web"}']
        assert web["f:ports"] == {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}
        assert web["f:env"] == {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}}

    def test_merged_lists_keep_live_only_items(self) -> None:
        """Does an applied env list merge into the live one by name, keeping live-only entries?"""
        live = applied_live()
        containers_of(live)[0]["env"] = [{"name": "FROM_LIVE", "value": "x"}]
        out = P.server_side_apply(live, apply_config(env=[{"name": "A", "value": "1"}]), DEPLOY, "kubectl", False,
                                  LATER)
        assert _env(out) == [{"name": "FROM_LIVE", "value": "x"}, {"name": "A", "value": "1"}]

    def test_atomic_fields_replace(self) -> None:
        """Are atomic fields (the label selector, tolerations) replaced whole and owned as one?"""
        live = applied_live()
        live["spec"]["template"]["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
        config = apply_config()
        config["spec"]["template"]["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
        out = P.server_side_apply(live, config, DEPLOY, "kubectl", False, LATER)
        assert out["spec"]["template"]["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]
        assert entry(out, "kubectl", "Apply")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:tolerations"] == {}

    def test_missing_list_key_is_400(self) -> None:
        """Is a list item without its key a 400 naming the path and the key?"""
        config = apply_config()
        config["spec"]["template"]["spec"]["containers"][0].pop("name")
        with pytest.raises(APIError) as info:
            P.server_side_apply(None, config, DEPLOY, "kubectl", False, NOW)
        assert info.value.code == 400
        assert info.value.message == (
            "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): "
            ".spec.template.spec.containers: element 0: associative list with keys has an element that omits "
            'key field "name" (and doesn\'t have default value)')

    def test_duplicate_list_key_is_400(self) -> None:
        """Is a duplicated list key in an applied configuration refused?"""
        config = apply_config()
        config["spec"]["template"]["spec"]["containers"].append({"name": "web", "image": "x"})
        with pytest.raises(APIError) as info:
            P.server_side_apply(None, config, DEPLOY, "kubectl", False, NOW)
        assert info.value.code == 400
        assert info.value.message.endswith('.spec.template.spec.containers: duplicate entries for key [name="web"]')

    @pytest.mark.parametrize("mutate, message", [
        (lambda c: c.update(apiVersion="apps/v2"),
         "Incorrect version specified in apply patch. Specified patch version: apps/v2, expected: apps/v1"),
        (lambda c: c["metadata"].update(managedFields=[]), "metadata.managedFields must be nil"),
    ])
    def test_bad_configuration_is_400(self, mutate: Callable[[Obj], None], message: str) -> None:
        """Are a wrong apiVersion and a configuration carrying managedFields refused as the apiserver does?"""
        config = apply_config()
        mutate(config)
        with pytest.raises(APIError) as info:
            P.server_side_apply(None, config, DEPLOY, "kubectl", False, NOW)
        assert (info.value.code, info.value.message) == (400, message)

    def test_field_manager_is_required(self) -> None:
        """Is an apply without a field manager 422 Invalid PatchOptions, as on a real server?"""
        with pytest.raises(APIError) as info:
            P.server_side_apply(None, apply_config(), DEPLOY, "", False, NOW)
        assert info.value.code == 422
        assert info.value.message == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                      "is required for apply patch")

    def test_status_ignored_on_main_resource(self) -> None:
        """Is ``status`` in a configuration applied to the main resource ignored and not owned?"""
        config = apply_config()
        config["status"] = {"replicas": 99}
        out = P.server_side_apply(applied_live(), config, DEPLOY, "kubectl", False, LATER)
        assert out["status"]["replicas"] == 3
        assert "f:status" not in entry(out, "kubectl", "Apply")["fieldsV1"]

    def test_status_subresource_applies_status_only(self) -> None:
        """Through the status subresource, is only status applied and owned?"""
        config = apply_config(replicas=50)
        config["status"] = {"readyReplicas": 1}
        out = P.server_side_apply(applied_live(), config, DEPLOY, "ctl", False, LATER, subresource="status")
        assert out["status"]["readyReplicas"] == 1 and out["spec"]["replicas"] == 3
        assert entry(out, "ctl", "Apply", subresource="status")["fieldsV1"] == {"f:status": {"f:readyReplicas": {}}}

    def test_null_in_configuration_unsets_and_is_owned(self) -> None:
        """Does a null in the configuration leave the field unset while the applier owns it?"""
        config = apply_config()
        config["spec"]["template"]["metadata"]["creationTimestamp"] = None
        obj = P.server_side_apply(None, config, DEPLOY, "kubectl", False, NOW)
        assert "creationTimestamp" not in obj["spec"]["template"]["metadata"]
        assert owns(obj, "kubectl", "f:spec", "f:template", "f:metadata", "f:creationTimestamp", operation="Apply")


class TestClientSideApplyUpgrade:
    """kubectl's move from client-side to server-side apply (lastappliedmanager/updater)."""

    @staticmethod
    def csa_live() -> Obj:
        """A Deployment managed by client-side ``kubectl apply`` (replicas 2, nginx:1.25)."""
        last = apply_config(replicas=2, image="nginx:1.25")
        last["metadata"]["annotations"] = {}
        live = deployment(container("web", "nginx:1.25"),
                          annotations={P.LAST_APPLIED_ANNOTATION: json.dumps(last, sort_keys=True) + "\n"})
        return P.update_managed_fields(None, live, "kubectl-client-side-apply", "Update", DEPLOY, NOW)

    def test_kubectl_takes_over_client_side_apply_fields(self) -> None:
        """Does ``kubectl apply --server-side`` take fields whose last-applied value is live without conflict?"""
        out = P.server_side_apply(self.csa_live(), apply_config(), DEPLOY, "kubectl", False, LATER)
        assert out["spec"]["replicas"] == 3 and _image(out) == "nginx:1.27"
        assert owns(out, "kubectl", "f:spec", "f:replicas", operation="Apply")
        assert not owns(out, "kubectl-client-side-apply", "f:spec", "f:replicas")

    def test_other_managers_still_conflict(self) -> None:
        """Does a manager other than kubectl still get the conflicts?"""
        with pytest.raises(APIError) as info:
            P.server_side_apply(self.csa_live(), apply_config(), DEPLOY, "ci", False, LATER)
        assert info.value.message.startswith('Apply failed with 2 conflicts: conflicts with '
                                             '"kubectl-client-side-apply" using apps/v1:\n- .spec.replicas\n')

    def test_fields_changed_since_last_apply_conflict(self) -> None:
        """Does a field changed by someone else since the last client-side apply still conflict for kubectl?"""
        live = self.csa_live()
        scaled = copy.deepcopy(live)
        scaled["spec"]["replicas"] = 5
        live = P.update_managed_fields(live, scaled, "kubectl-client-side-apply", "Update", DEPLOY, LATER)
        with pytest.raises(APIError) as info:
            P.server_side_apply(live, apply_config(), DEPLOY, "kubectl", False, LATEST)
        assert info.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
                                      "using apps/v1: .spec.replicas")

    def test_last_applied_annotation_follows_kubectl(self) -> None:
        """Does a kubectl server-side apply rewrite an existing last-applied annotation to its configuration?"""
        out = P.server_side_apply(self.csa_live(), apply_config(), DEPLOY, "kubectl", False, LATER)
        annotation = out["metadata"]["annotations"][P.LAST_APPLIED_ANNOTATION]
        assert annotation.endswith("\n")
        assert json.loads(annotation) == apply_config()
        assert annotation == json.dumps(apply_config(), sort_keys=True, separators=(",", ":")) + "\n"
        other = P.server_side_apply(self.csa_live(), apply_config(replicas=2, image="nginx:1.25"), DEPLOY, "ci",
                                    False, LATER)
        assert json.loads(other["metadata"]["annotations"][P.LAST_APPLIED_ANNOTATION])["spec"]["replicas"] == 2

    def test_kubectl_last_applied_follow_up(self) -> None:
        """Does the annotation-only apply kubectl 1.37 sends next (manager kubectl-last-applied) succeed?"""
        out = P.server_side_apply(self.csa_live(), apply_config(), DEPLOY, "kubectl", False, LATER)
        follow_up = {"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "web", "namespace": "default", "annotations": {
                         P.LAST_APPLIED_ANNOTATION: out["metadata"]["annotations"][P.LAST_APPLIED_ANNOTATION]}}}
        final = P.server_side_apply(out, follow_up, DEPLOY, "kubectl-last-applied", False, LATEST)
        assert owns(final, "kubectl-last-applied", "f:metadata", "f:annotations",
                    f"f:{P.LAST_APPLIED_ANNOTATION}", operation="Apply")
        assert final["spec"] == out["spec"]
