"""Do the sandbox's patches follow the facts its served OpenAPI documents announce?

kubectl computes its strategic merge patches (``apply``, ``set image``, ``edit``) from the
``x-kubernetes-patch-strategy`` and ``x-kubernetes-patch-merge-key`` extensions of the
documents under ``/openapi/v3``, and server-side apply is defined by
``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys`` and ``x-kubernetes-map-type``.
For every property of every served document that carries one of these extensions, and
that a served kind reaches, this module checks that the server's own patch code
(:mod:`kk_helpers.sandbox.patch`) behaves as the document says:

* strategic merge patch: lists with a merge key merge item by item, ``merge`` lists of
  scalars merge as sets, every other list is replaced; ``$retainKeys`` works where the
  strategy names ``retainKeys``;
* server-side apply: ``map`` lists are keyed by exactly the announced keys, ``set`` lists
  by value, atomic lists, atomic maps and atomic structs are owned as one field.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import Any

import pytest

from kk_helpers.sandbox import openapi
from kk_helpers.sandbox import patch as P
from kk_helpers.sandbox.resources import RESOURCES, ResourceType

_REF = "#/components/schemas/"
_EXTENSIONS = ("x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key", "x-kubernetes-list-type",
               "x-kubernetes-list-map-keys", "x-kubernetes-map-type")
NOW = "2026-01-01T00:00:00Z"


def _get(sandbox: Any, path: str) -> dict[str, Any]:
    req = urllib.request.Request(sandbox.url + path, headers={"Authorization": f"Bearer {sandbox.token}",
                                                             "Accept": "application/json"})
    ctx: ssl.SSLContext = sandbox.ssl_context()
    with urllib.request.urlopen(req, context=ctx) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def served(sandbox: Any) -> dict[str, dict[str, Any]]:
    """Every served group-version document, by its root path (``apis/apps/v1``)."""
    root = _get(sandbox, "/openapi/v3")
    return {gv: _get(sandbox, entry["serverRelativeURL"]) for gv, entry in root["paths"].items()}


def _target(schema: dict[str, Any]) -> str | None:
    """The definition a property or items schema refers to (through ``allOf``), if any."""
    if "$ref" in schema:
        return schema["$ref"][len(_REF):]
    all_of = schema.get("allOf")
    if all_of and "$ref" in all_of[0]:
        return all_of[0]["$ref"][len(_REF):]
    return None


@dataclass(frozen=True)
class Step:
    """One field on the way from an object's root to a property; list steps go through one item."""

    field: str
    prop: dict[str, Any]

    @property
    def is_list(self) -> bool:
        return self.prop.get("type") == "array"


@dataclass(frozen=True)
class Entry:
    """A property carrying patch extensions, and the shortest way a served kind reaches it."""

    rt: ResourceType
    definition: str
    steps: tuple[Step, ...]  # the last step is the property itself

    @property
    def prop(self) -> dict[str, Any]:
        return self.steps[-1].prop

    @property
    def where(self) -> str:
        return f"{self.rt.kind}: {'.'.join(s.field for s in self.steps)} ({self.definition})"


def _doc_path(rt: ResourceType) -> str:
    return f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"


def _root(schemas: dict[str, dict[str, Any]], rt: ResourceType) -> str:
    """The definition whose x-kubernetes-group-version-kind names ``rt``."""
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    return next(name for name, s in schemas.items() if gvk in s.get("x-kubernetes-group-version-kind", []))


def _entries(served: dict[str, dict[str, Any]]) -> dict[tuple[str, str], Entry]:
    """(definition, field) -> the shortest path to it from any served kind, for extended properties."""
    found: dict[tuple[str, str], Entry] = {}
    for rt in RESOURCES:
        schemas = served[_doc_path(rt)]["components"]["schemas"]
        root = _root(schemas, rt)
        queue: deque[tuple[str, tuple[Step, ...]]] = deque([(root, ())])
        seen = {root}
        while queue:
            definition, steps = queue.popleft()
            for field, prop in schemas[definition].get("properties", {}).items():
                step = Step(field, prop)
                if any(x in prop for x in _EXTENSIONS):
                    old = found.get((definition, field))
                    if old is None or len(old.steps) > len(steps) + 1:
                        found[(definition, field)] = Entry(rt, definition, steps + (step,))
                child = _target(prop.get("items", {})) if step.is_list else _target(prop)
                if child and child not in seen and field != "metadata":
                    seen.add(child)
                    queue.append((child, steps + (step,)))
        # metadata is reached from every root; walk it once through the first kind
        meta = f"{openapi.META}.ObjectMeta"
        for field, prop in schemas.get(meta, {}).get("properties", {}).items():
            if any(x in prop for x in _EXTENSIONS) and (meta, field) not in found:
                found[(meta, field)] = Entry(rt, meta, (Step("metadata", {}), Step(field, prop)))
    return found


def _item_keys(step: Step) -> dict[str, Any]:
    """The keys an intermediate list item needs: its merge key and its list-map keys."""
    keys = dict.fromkeys(step.prop.get("x-kubernetes-list-map-keys", []), "x")
    if step.prop.get("x-kubernetes-patch-merge-key"):
        keys[step.prop["x-kubernetes-patch-merge-key"]] = "x"
    return keys


def _wrap(steps: tuple[Step, ...], value: Any) -> dict[str, Any]:
    """A partial object with ``value`` at the end of ``steps`` (one keyed item per list step)."""
    for step in reversed(steps):
        if step.is_list:
            value = [{**_item_keys(step), **value}]
        value = {step.field: value}
    return value


def _unwrap(obj: Any, steps: tuple[Step, ...]) -> Any:
    for step in steps:
        obj = obj[step.field]
        if step.is_list:
            (obj,) = obj
    return obj


def _smp_reachable(entry: Entry) -> bool:
    """Whether a strategic merge patch can reach the property: every list on the way merges by key."""
    return all(s.prop.get("x-kubernetes-patch-merge-key") for s in entry.steps[:-1] if s.is_list)


def _ssa_reachable(entry: Entry, schemas: dict[str, dict[str, Any]]) -> bool:
    """Whether server-side apply tracks the property itself: no atomic list or struct on the way."""
    for s in entry.steps[:-1]:
        if s.is_list and s.prop.get("x-kubernetes-list-type") != "map":
            return False
        target = _target(s.prop.get("items", {})) if s.is_list else _target(s.prop)
        if target and schemas.get(target, {}).get("x-kubernetes-map-type") == "atomic":
            return False
    return True


def _smp(entry: Entry, original: Any, patch_value: Any) -> Any:
    parent = entry.steps[:-1]
    field = entry.steps[-1].field
    obj = _wrap(parent, {field: original})
    out = P.strategic_merge_patch(obj, _wrap(parent, {field: patch_value}), entry.rt)
    return _unwrap(out, parent)[field]


def test_served_extensions_are_found(served: dict[str, dict[str, Any]]) -> None:
    """Does the walk reach the extended properties patches care about (a sanity check of this module)?"""
    entries = _entries(served)
    names = {(d.rsplit(".", 1)[-1], f) for d, f in entries}
    for must in [("PodSpec", "containers"), ("PodSpec", "volumes"), ("Container", "ports"), ("Container", "env"),
                 ("ServiceSpec", "ports"), ("DeploymentSpec", "strategy"), ("NodeStatus", "addresses"),
                 ("ObjectMeta", "finalizers"), ("PodSpec", "nodeSelector")]:
        assert must in names
    assert len(entries) > 40


def test_strategic_merge_patch_follows_served_strategy(served: dict[str, dict[str, Any]]) -> None:
    """For every served property with a patch strategy or list type, does the server's SMP do what it says?"""
    checked: list[str] = []
    for entry in _entries(served).values():
        prop = entry.prop
        if prop.get("type") != "array" or not _smp_reachable(entry):
            continue
        strategy = (prop.get("x-kubernetes-patch-strategy") or "").split(",")
        key = prop.get("x-kubernetes-patch-merge-key")
        if "merge" in strategy and key:
            got = _smp(entry, [{key: "a", "probe": "old"}, {key: "b"}], [{key: "a", "probe": "new"}])
            assert got == [{key: "a", "probe": "new"}, {key: "b"}], entry.where
            path = [s.field for s in entry.steps]
            if sum(r.kind == entry.rt.kind for r in RESOURCES) == 1:
                assert P.merge_key(entry.rt.kind, path) == key, entry.where
        elif "merge" in strategy:
            assert sorted(_smp(entry, ["a"], ["b"])) == ["a", "b"], entry.where  # merged as a set
        else:
            assert _smp(entry, ["a", "b"], ["c"]) == ["c"], entry.where
        if "retainKeys" in strategy:
            got = _smp(entry, [{key: "a", "old": 1}], [{key: "a", "$retainKeys": [key, "new"], "new": 2}])
            assert got == [{key: "a", "new": 2}], entry.where
        checked.append(entry.where)
    assert len(checked) > 30


def test_retain_keys_structs_follow_served_strategy(served: dict[str, dict[str, Any]]) -> None:
    """Where a served object property says retainKeys (deployment strategy), does $retainKeys drop the rest?"""
    structs = [e for e in _entries(served).values()
               if e.prop.get("type") != "array" and "retainKeys" in (e.prop.get("x-kubernetes-patch-strategy") or "")]
    assert structs, "no retainKeys struct served"
    for entry in structs:
        got = _smp(entry, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                   {"$retainKeys": ["type"], "type": "Recreate"})
        assert got == {"type": "Recreate"}, entry.where


def _owned(entry: Entry, value: Any) -> Any:
    """The managedFields node server-side apply records for ``value`` at the entry's property."""
    body = {"apiVersion": entry.rt.group_version, "kind": entry.rt.kind, "metadata": {"name": "probe"}}
    last = {entry.steps[-1].field: value}
    if entry.steps[0].field == "metadata":
        body["metadata"].update(_wrap(entry.steps[1:-1], last))
    else:
        body.update(_wrap(entry.steps[:-1], last))
    # status is written through its subresource (a write to the object resets it)
    sub = "status" if entry.steps[0].field == "status" and "status" in entry.rt.subresources else None
    out = P.server_side_apply(None, body, entry.rt, "probe", False, NOW, subresource=sub)
    (managed,) = [m for m in out["metadata"]["managedFields"] if m["manager"] == "probe"]
    node = managed["fieldsV1"]
    for step in entry.steps:
        node = node[f"f:{step.field}"]
        if step.is_list and step is not entry.steps[-1]:
            (item,) = [k for k in node if k.startswith("k:")]
            node = node[item]
    return node


def test_server_side_apply_follows_served_list_and_map_types(served: dict[str, dict[str, Any]]) -> None:
    """For every served list, map and atomic struct property, does apply own what the document says?"""
    schemas: dict[str, dict[str, Any]] = {}
    for doc in served.values():
        schemas.update(doc["components"]["schemas"])
    checked: list[str] = []
    for entry in _entries(served).values():
        if not _ssa_reachable(entry, schemas) or entry.steps[-1].field == "managedFields":
            continue  # (an applied configuration may not carry managedFields)
        prop = entry.prop
        list_type = prop.get("x-kubernetes-list-type")
        if prop.get("type") == "array":
            if list_type == "map":
                keys = prop["x-kubernetes-list-map-keys"]
                node = _owned(entry, [{**dict.fromkeys(keys, "a"), "probe": "v"}])
                (item,) = [k for k in node if k.startswith("k:")]
                assert sorted(json.loads(item[2:])) == sorted(keys), entry.where
                item_schema = schemas.get(_target(prop["items"]) or "", {})
                if item_schema.get("x-kubernetes-map-type") == "atomic":  # items owned whole
                    assert node[item] == {}, entry.where
                else:
                    assert "f:probe" in node[item], entry.where
            elif list_type == "set":
                assert set(_owned(entry, ["a"])) - {"."} == {'v:"a"'}, entry.where
            else:
                assert _owned(entry, [{"probe": "v"}]) == {}, entry.where
            checked.append(entry.where)
        elif prop.get("x-kubernetes-map-type") == "atomic":
            assert _owned(entry, {"probe": "v"}) == {}, entry.where
            checked.append(entry.where)
    # atomic structs: a property referring to one is owned whole
    for definition, schema in schemas.items():
        if schema.get("x-kubernetes-map-type") != "atomic":
            continue
        users = [e for e in _entries_to(served, definition) if _ssa_reachable(e, schemas)]
        for entry in users[:1]:
            field = next(iter(schemas[definition]["properties"]))
            assert _owned(entry, {field: "x"}) == {}, entry.where
            checked.append(entry.where)
    assert len(checked) > 30


def _entries_to(served: dict[str, dict[str, Any]], definition: str) -> list[Entry]:
    """Paths from served kinds to properties (not lists) whose type is ``definition``."""
    out: list[Entry] = []
    for rt in RESOURCES:
        schemas = served[_doc_path(rt)]["components"]["schemas"]
        root = _root(schemas, rt)
        queue: deque[tuple[str, tuple[Step, ...]]] = deque([(root, ())])
        seen = {root}
        while queue and not out:
            current, steps = queue.popleft()
            for field, prop in schemas[current].get("properties", {}).items():
                step = Step(field, prop)
                child = _target(prop.get("items", {})) if step.is_list else _target(prop)
                if child == definition and not step.is_list and field != "metadata":
                    out.append(Entry(rt, current, steps + (step,)))
                elif child and child not in seen and field != "status":
                    seen.add(child)
                    queue.append((child, steps + (step,)))
        if out:
            break
    return out
