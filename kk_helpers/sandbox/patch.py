"""Patches and field ownership, as a Kubernetes API server applies them.

Pure functions over JSON-form objects (``dict``/``list``/scalars as
:func:`json.loads` gives them). None of them changes its arguments.

* :func:`json_patch`: RFC 6902 (``application/json-patch+json``), through the
  ``jsonpatch`` library. A body that is not a list of objects is 400
  BadRequest; an operation that fails (a ``test`` that does not hold, a missing
  path...) is 422 Invalid with the generic message the real server sends
  (``the server rejected our request due to an error in our request``: the
  server drops the library's own text).
* :func:`merge_patch`: RFC 7386 (``application/merge-patch+json``) as
  ``evanphx/json-patch`` implements it: ``null`` deletes a key, objects merge,
  everything else replaces; nulls inside newly set values are pruned.
* :func:`strategic_merge_patch`: ``application/strategic-merge-patch+json``
  (``k8s.io/apimachinery/pkg/util/strategicpatch``): lists with a patch merge
  key merge by key, ``finalizers``-like lists of scalars merge as sets, other
  lists are replaced; the directives ``$patch`` (``delete``/``replace``),
  ``$setElementOrder/<list>``, ``$retainKeys`` and
  ``$deleteFromPrimitiveList/<list>`` behave as on a real server, including the
  order of merged list items.
* :func:`server_side_apply`: ``application/apply-patch+yaml``, following
  ``sigs.k8s.io/structured-merge-diff``: the applier's field set, pruning of
  fields it stopped applying, conflicts with other managers (409 with the real
  message and ``details.causes``), ``force`` taking ownership, and the
  ``kubectl`` client-side-apply upgrade rules.
* :func:`update_managed_fields`: the ``Update`` entries every create, update
  and non-apply patch records in ``metadata.managedFields``.

Which lists merge by which key depends on where the list sits. Those facts
(patch strategies, merge keys, list and map types) come from
:data:`kk_helpers.sandbox.openapi.FIELD_META`, the table the served OpenAPI
documents are generated from, walked from the resource's client model through
the official client's model metadata; so kubectl, which computes its patches
from the documents, and this module always agree.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import jsonpatch
import yaml

from . import errors, openapi
from .errors import APIError
from .resources import RESOURCES, ResourceType

__all__ = [
    "APPLY_PATCH_CBOR",
    "APPLY_PATCH_YAML",
    "JSON_PATCH",
    "LAST_APPLIED_ANNOTATION",
    "MERGE_PATCH",
    "PATCH_CONTENT_TYPES",
    "STRATEGIC_MERGE_PATCH",
    "json_patch",
    "manager_from_user_agent",
    "merge_key",
    "merge_patch",
    "parse_patch_body",
    "server_side_apply",
    "strategic_merge_patch",
    "unsupported_patch_type",
    "update_managed_fields",
]

# --------------------------------------------------------------------------------------------
# Content types and bodies
# --------------------------------------------------------------------------------------------

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH_YAML = "application/apply-patch+yaml"
#: Served by real servers only behind the CBORServingAndStorage feature gate; not here.
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

#: The patch types a built-in resource accepts, in the order a real server lists them.
PATCH_CONTENT_TYPES: tuple[str, ...] = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH_YAML)

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

#: Most operations one JSON patch may carry (apiserver ``maxJSONPatchOperations``).
MAX_JSON_PATCH_OPERATIONS = 10000

#: Most ``Update`` entries kept; older ones merge into ``ancient-changes``.
MAX_UPDATE_MANAGERS = 10


def unsupported_patch_type(content_type: str | None = None) -> APIError:
    """415 for a PATCH whose Content-Type is not a patch type (real message)."""
    del content_type  # the real message does not repeat it
    return errors.unsupported_media_type(
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(PATCH_CONTENT_TYPES))


class _YAMLLoader(yaml.SafeLoader):
    """YAML 1.1 as ``sigs.k8s.io/yaml`` reads it: timestamps stay strings."""


_YAMLLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _string_keys(v: Any) -> Any:
    """YAML mapping keys as the JSON strings sigs.k8s.io/yaml makes of them (``true``, ``1``)."""
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else _go_scalar(k)): _string_keys(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_string_keys(x) for x in v]
    return v


def _go_scalar(k: Any) -> str:
    if isinstance(k, bool):
        return "true" if k else "false"
    return "null" if k is None else str(k)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def parse_patch_body(content_type: str, body: bytes | str) -> Any:
    """Decode a PATCH body of one of :data:`PATCH_CONTENT_TYPES`.

    Parameters such as ``; charset=utf-8`` after the media type are ignored.

    Raises:
        APIError: 415 for other content types; 400 BadRequest with the real
            server's prefix (``error decoding patch: ...`` / ``error decoding
            YAML: ...``) when the body does not parse.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if media == APPLY_PATCH_YAML:
        try:
            data = yaml.load(text, Loader=_YAMLLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from None
        if not isinstance(data, dict):
            raise errors.bad_request(
                "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
                f"{openapi.json_kind(data)} into Go value of type map[string]interface {{}}")
        return _string_keys(data)
    if media not in (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH):
        raise unsupported_patch_type(content_type)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        if media == STRATEGIC_MERGE_PATCH:
            raise errors.bad_request(str(exc)) from None
        raise errors.bad_request(f"error decoding patch: {exc}") from None


def manager_from_user_agent(user_agent: str | None) -> str:
    """Field manager for a write that names none: the User-Agent up to its first ``/``.

    ``kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722`` gives ``kubectl``
    (so ``kubectl scale`` and ``kubectl rollout undo`` record ``kubectl``).
    """
    head = (user_agent or "").split("/", 1)[0]
    return "".join(ch for ch in head if ch.isprintable())[:128]


# --------------------------------------------------------------------------------------------
# Go-flavoured formatting for error messages
# --------------------------------------------------------------------------------------------


def _go(v: Any) -> str:
    """Go's ``%v`` of a decoded JSON value (maps print with sorted keys)."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go(x) for x in v) + "]"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return str(v)


def _go_type(v: Any) -> str:
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    return "%!s(<nil>)"


# --------------------------------------------------------------------------------------------
# The schema facts: which lists merge by which key, which structs are atomic
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """What the patch and apply machinery must know about one field.

    Built from :func:`openapi.field_facts`, so patches follow exactly the facts
    the served OpenAPI documents announce (see :func:`_child`).

    Attributes:
        type: Client model of the value (of list items, for lists; ``V1PodSpec``)
            when it has fields of its own; ``None`` otherwise.
        list: Server-side apply list type (``x-kubernetes-list-type``):
            ``"map"`` (items keyed by :attr:`keys`), ``"set"`` (scalars),
            ``"atomic"`` or ``None`` (both atomic, the default for lists).
        keys: ``x-kubernetes-list-map-keys`` of a ``"map"`` list.
        merge: Strategic merge patch strategy includes ``merge`` (the list merges
            by :attr:`merge_key`, or as a set of scalars when that is ``None``).
        merge_key: ``patchMergeKey`` of a merging list of objects.
        atomic: A struct or map that server-side apply treats as one value
            (``+structType=atomic`` / ``+mapType=atomic``).
        map: A ``map[string]...`` (labels, data): emptied by pruning, it goes,
            as Go's ``omitempty`` drops an empty map.
        present: Never absent from a typed Go object (a non-pointer struct, or
            a field without ``omitempty``); matters for which nodes an
            ``Update`` owns (an absent node that appears is owned itself).
    """

    type: str | None = None
    list: str | None = None
    keys: tuple[str, ...] = ()
    merge: bool = False
    merge_key: str | None = None
    atomic: bool = False
    map: bool = False
    present: bool = False

    @property
    def associative(self) -> bool:
        return self.list in ("map", "set")


_NONE = _Field()

#: Go struct facts no OpenAPI extension states: fields of these client models that are
#: never absent from a typed object (non-pointer structs; ``containers`` has no
#: ``omitempty``). The ``metadata``/``spec``/``status`` of every served kind are too.
_PRESENT: dict[str, frozenset[str]] = {
    "V1PodTemplateSpec": frozenset({"metadata", "spec"}),
    "V1PodSpec": frozenset({"containers"}),
    "V1Container": frozenset({"resources"}),
    "V1DeploymentSpec": frozenset({"template", "strategy"}),
    "V1ReplicaSetSpec": frozenset({"template"}),
    "V1JobSpec": frozenset({"template"}),
    "V1CronJobSpec": frozenset({"jobTemplate"}),
    "V1JobTemplateSpec": frozenset({"metadata", "spec"}),
}
_ROOT_PRESENT = frozenset({"metadata", "spec", "status"})
_ROOT_MODELS = frozenset(rt.model for rt in RESOURCES)

#: Apply keys a real schema defaults when an item leaves them out.
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


@functools.lru_cache(maxsize=None)
def _child(type_name: str | None, key: str) -> _Field:
    """The facts of field ``key`` of the client model ``type_name``."""
    if type_name is None:
        return _NONE
    facts = openapi.field_facts(type_name, key)
    if facts is None:
        return _NONE
    meta = facts.meta
    present = key in _PRESENT.get(type_name, ()) or (type_name in _ROOT_MODELS and key in _ROOT_PRESENT)
    return _Field(
        type=facts.model,
        list=meta.list_type if facts.container == "array" else None,
        keys=meta.map_keys,
        merge="merge" in (meta.strategy or "").split(","),
        merge_key=meta.merge_key,
        atomic=facts.atomic,
        map=facts.container == "map",
        present=present,
    )


@functools.lru_cache(maxsize=None)
def _item(spec: _Field) -> _Field:
    """Spec of one item of the list described by ``spec``."""
    if not spec.type:
        return _NONE
    return _Field(spec.type, atomic=openapi.is_atomic_struct(spec.type))


def _present_fields(type_name: str | None) -> Iterator[tuple[str, _Field]]:
    """The fields of ``type_name`` never absent from a typed object, with their facts."""
    if type_name is None:
        return
    names = set(_PRESENT.get(type_name, ()))
    if type_name in _ROOT_MODELS:
        names |= _ROOT_PRESENT
    for name in sorted(names):
        spec = _child(type_name, name)
        if spec.present:
            yield name, spec


def _root_spec(rt: ResourceType | str) -> _Field:
    """The facts of a whole object of ``rt`` (a resource type, or a kind such as ``"Deployment"``)."""
    if isinstance(rt, str):
        model = next((r.model for r in RESOURCES if r.kind == rt), None)
        return _Field(model)
    return _Field(rt.model)


def merge_key(kind: str, path: Iterable[str]) -> str | None:
    """Strategic-merge-patch merge key of the list at ``path`` in an object of ``kind``.

    ``path`` names fields only (list items are stepped through implicitly):
    ``merge_key("Deployment", ["spec", "template", "spec", "containers", "ports"])``
    is ``"containerPort"``; lists that do not merge give ``None``.
    """
    spec = _root_spec(kind)
    for name in path:
        spec = _child(spec.type, name)
    return spec.merge_key if spec.merge else None


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _rejected() -> APIError:
    """What the server answers for a patch it cannot apply (422 with a fixed text)."""
    return APIError(422, "Invalid", "the server rejected our request due to an error in our request")


class _SMPError(Exception):
    """A strategic-merge-patch failure; :func:`_smp_api_error` gives its HTTP answer."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


def _smp_api_error(exc: _SMPError) -> APIError:
    # The apiserver turns the mergepatch "bad format" errors into 400 and two others into a
    # generic 422; everything else reaches the client as a 500 with the message. The sandbox
    # never answers 500 for a client mistake: those are 400 with the same message.
    if exc.kind == "rejected":
        return _rejected()
    return errors.bad_request(str(exc))


_ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
_ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
_ERR_SET_ORDER = "invalid patch format of setElementOrder list"
_ERR_LIST_OF_LISTS = "lists of lists are not supported"


def _no_merge_key(m: dict[str, Any], key: str) -> _SMPError:
    return _SMPError(f"map: {_go(m)} does not contain declared merge key: {key}")


def _bad_arg_type(expected: Any, actual: Any) -> _SMPError:
    return _SMPError(f"expected a {_go_type(expected)}, but received a {_go_type(actual)}")


# --------------------------------------------------------------------------------------------
# JSON patch (RFC 6902)
# --------------------------------------------------------------------------------------------


def json_patch(obj: dict[str, Any], ops: list[Any]) -> Any:
    """Apply an RFC 6902 patch; returns a new document.

    Raises:
        APIError: 400 when ``ops`` is not a list of objects; 413 past 10000
            operations; 422 Invalid (``the server rejected our request due to
            an error in our request``) when an operation fails.
    """
    if not isinstance(ops, list):
        raise errors.bad_request(f"json: cannot unmarshal {openapi.json_kind(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise errors.bad_request(
                f"json: cannot unmarshal {openapi.json_kind(op)} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise APIError(413, "RequestEntityTooLarge",
                       f"Request entity too large: The allowed maximum operations in a JSON patch is "
                       f"{MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}")
    try:
        return jsonpatch.JsonPatch(ops).apply(obj)
    except Exception:  # noqa: BLE001 - any failure of an operation is the client's: 422, never 500
        raise _rejected() from None


# --------------------------------------------------------------------------------------------
# JSON merge patch (RFC 7386)
# --------------------------------------------------------------------------------------------


def _prune_nulls(v: Any) -> Any:
    """Copy of ``v`` without null members of objects (null array items stay)."""
    if isinstance(v, dict):
        return {k: _prune_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_prune_nulls(x) for x in v]
    return v


def _merge_into(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
            continue
        current = doc.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge_into(current, value)
        elif isinstance(current, dict):
            doc[key] = copy.deepcopy(value)  # a non-object replaces an object as is
        else:
            doc[key] = _prune_nulls(value)


def merge_patch(obj: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a JSON merge patch (RFC 7386); returns a new object.

    ``null`` removes a member, objects merge recursively, any other value
    replaces (lists included). As in ``evanphx/json-patch``, null members of
    objects inside newly set values are dropped.

    Raises:
        APIError: 400 ``Invalid JSON Patch`` when the patch is not an object.
    """
    if not isinstance(patch, dict):
        raise errors.bad_request("Invalid JSON Patch")
    result = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    _merge_into(result, patch)
    return result


# --------------------------------------------------------------------------------------------
# Strategic merge patch
# --------------------------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder"
_DELETE_FROM = "$deleteFromPrimitiveList"


def _is_directive_key(key: str) -> bool:
    return key == _DIRECTIVE or key == _RETAIN_KEYS or key.startswith((_SET_ORDER + "/", _DELETE_FROM + "/"))


def _fresh(v: Any) -> tuple[Any, bool]:
    """A patch value going where nothing was: nulls and directives removed.

    Returns ``(value, keep)``; ``keep`` is false for an object carrying
    ``$patch`` (it is dropped, as the apiserver's ``removeDirectives`` does).
    """
    if isinstance(v, dict):
        if _DIRECTIVE in v:
            return None, False
        out: dict[str, Any] = {}
        for k, x in v.items():
            if x is None or _is_directive_key(k):
                continue
            x, keep = _fresh(x)
            if keep:
                out[k] = x
        return out, True
    if isinstance(v, list):
        items = []
        for x in v:
            x, keep = _fresh(x)
            if keep:
                items.append(x)
        return items, True
    return v, True


def _kind_of(v: Any) -> str:
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "slice"
    return "scalar"


def strategic_merge_patch(obj: dict[str, Any], patch: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    """Apply a strategic merge patch to an object of type ``rt``; returns a new object.

    Raises:
        APIError: 400 BadRequest for malformed directives and other patches the
            merge cannot apply (the message is the real one); 422 for lists of
            lists and for ``$retainKeys`` mismatches, as the real server.
    """
    if not isinstance(patch, dict):
        raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    original = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    try:
        return _smp_map(original, copy.deepcopy(patch), _root_spec(rt).type)
    except _SMPError as exc:
        raise _smp_api_error(exc) from None


def _smp_map(original: dict[str, Any], patch: dict[str, Any], type_name: str | None) -> dict[str, Any]:
    """Merge ``patch`` into ``original`` (both private copies, changed in place)."""
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            del patch[_DIRECTIVE]
            replaced: dict[str, Any] = _fresh(patch)[0]
            return replaced
        if directive == "delete":
            return {}
        raise _SMPError(f"unknown patch type: {_go(directive)} in map: {_go(patch)}")
    _smp_retain_keys(original, patch)
    _smp_set_element_order(original, patch, type_name)
    for key in list(patch):
        value = patch[key]
        is_delete_list = False
        if key.startswith(_DELETE_FROM):
            if not key.startswith(_DELETE_FROM + "/"):
                raise _SMPError(_ERR_PRIMITIVE_LIST)
            key = key[len(_DELETE_FROM) + 1:]
            is_delete_list = True
        if value is None:
            original.pop(key, None)
            continue
        if key not in original or _kind_of(original[key]) != _kind_of(value):
            if not is_delete_list:
                value, keep = _fresh(value)
                if keep:
                    original[key] = value
                else:
                    original.pop(key, None)
            continue
        spec = _child(type_name, key)
        current = original[key]
        if isinstance(current, dict):
            original[key] = _smp_map(current, value, spec.type)
        elif isinstance(current, list):
            original[key] = _smp_list(current, value, spec, is_delete_list)
        elif not is_delete_list:
            original[key] = value
    return original


def _smp_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise _SMPError(_ERR_RETAIN_KEYS)
    keep = {k for k in retain if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM, _SET_ORDER)):
            continue
        if key not in keep:
            raise _SMPError(_ERR_RETAIN_KEYS)
    for key in list(original):
        if key not in keep:
            del original[key]


def _smp_set_element_order(original: dict[str, Any], patch: dict[str, Any], type_name: str | None) -> None:
    """Handle ``$setElementOrder/<list>``: merge that list and put it in the given order."""
    for directive_key in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise _bad_arg_type([], order)
        if not directive_key.startswith(_SET_ORDER + "/"):
            raise _SMPError(_ERR_SET_ORDER)
        key = directive_key[len(_SET_ORDER) + 1:]
        found_original, found_patch = key in original, key in patch
        original_list = original.get(key) if found_original else []
        patch_list = patch.get(key) if found_patch else []
        if not isinstance(original_list, list):
            raise _bad_arg_type([], original_list)
        if not isinstance(patch_list, list):
            raise _bad_arg_type([], patch_list)
        spec = _child(type_name, key)
        mkey = spec.merge_key if spec.merge else None
        _validate_set_order(patch_list, order, mkey)
        if found_original and found_patch:
            merged = _smp_list(original_list, patch_list, spec, False)
        elif found_patch:
            merged = _fresh(patch_list)[0]
        elif found_original:
            merged = original_list
        else:
            continue
        if not original_list and not patch_list:
            original[key] = merged
        else:
            if mkey:
                ordered = [x for x in merged if _key_in(x, order, mkey)]
                server_only = [x for x in merged if not _key_in(x, order, mkey)]
            else:
                ordered = [x for x in merged if x in order]
                server_only = [x for x in merged if x not in order]
            original[key] = _normalize_order(ordered, server_only, order, original_list, mkey)
        patch.pop(key, None)


def _key_in(item: Any, items: list[Any], mkey: str) -> bool:
    if not isinstance(item, dict):
        raise _bad_arg_type({}, item)
    if mkey not in item:
        raise _no_merge_key(item, mkey)
    return any(isinstance(x, dict) and mkey in x and x[mkey] == item[mkey] for x in items)


def _validate_set_order(patch_list: list[Any], order: list[Any], mkey: str | None) -> None:
    """Patch items (deletions aside) must appear in ``order``, in the same relative order."""
    if not order or not patch_list:
        return
    items = patch_list
    if mkey:
        for x in patch_list:
            if not isinstance(x, dict):
                raise _bad_arg_type({}, x)
        items = [x for x in patch_list if x.get(_DIRECTIVE) != "delete"]
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and _DIRECTIVE in items[p]:
            p += 1
            continue
        if _same_key(items[p], order[s], mkey):
            p += 1
        s += 1
    if p < len(items):
        raise _SMPError(f"the order in patch list:\n{_go(patch_list)}\n doesn't match "
                        f"{_SET_ORDER} list:\n{_go(order)}")


def _same_key(left: Any, right: Any, mkey: str | None) -> bool:
    if not mkey:
        return bool(left == right)
    for side in (left, right):
        if not isinstance(side, dict):
            raise _bad_arg_type({}, side)
        if mkey not in side:
            raise _no_merge_key(side, mkey)
    return bool(left[mkey] == right[mkey])


def _element_kind(*lists: list[Any]) -> str | None:
    """``"map"`` or ``"scalar"`` for the items of ``lists`` (all alike), ``None`` when empty."""
    kind: str | None = None
    for items in lists:
        for x in items:
            k = _kind_of(x)
            if k == "slice":
                raise _SMPError(_ERR_LIST_OF_LISTS, "rejected")
            if kind is None:
                kind = k
            elif kind != k:
                raise _SMPError(f"list element types are not identical: {_go(list(lists))}")
    return kind


def _smp_list(original: list[Any], patch: list[Any], spec: _Field, is_delete_list: bool) -> list[Any]:
    if not spec.merge:
        return original if is_delete_list else _fresh(patch)[0]
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind != "map":
        if is_delete_list:
            return [x for x in original if x not in patch]
        merged: list[Any] = []
        for x in original + patch:
            if x not in merged:
                merged.append(x)
        in_patch = [x for x in merged if x in patch]
        server_only = [x for x in merged if x not in patch]
        return _normalize_order(in_patch, server_only, patch, original, None)
    mkey = spec.merge_key
    if not mkey:
        raise _SMPError("cannot merge lists without merge key for type map")
    original, patch = _smp_special_items(list(original), patch, mkey)
    server_order = list(original)  # the live order, before new items are appended
    item_type = spec.type
    for item in patch:
        if mkey not in item:
            raise _no_merge_key(item, mkey)
        for i, current in enumerate(original):
            if not isinstance(current, dict):
                raise _SMPError(f"value for key {i} is not a map.")
            if mkey in current and current[mkey] == item[mkey]:
                original[i] = _smp_map(current, item, item_type)
                break
        else:
            value, keep = _fresh(item)
            if keep:
                original.append(value)
    in_patch = [x for x in original if _key_in(x, patch, mkey)]
    server_only = [x for x in original if not _key_in(x, patch, mkey)]
    return _normalize_order(in_patch, server_only, patch, server_order, mkey)


def _smp_special_items(original: list[Any], patch: list[Any], mkey: str) -> tuple[list[Any], list[Any]]:
    """Apply ``$patch`` items of a merging list; returns (original, remaining patch items)."""
    remaining: list[Any] = []
    replace = False
    for item in patch:
        if not isinstance(item, dict):
            raise _bad_arg_type({}, item)
        if _DIRECTIVE not in item:
            remaining.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if mkey not in item:
                raise _no_merge_key(item, mkey)
            original = [x for x in original if not (isinstance(x, dict) and mkey in x and x[mkey] == item[mkey])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _SMPError("merging lists cannot yet be specified in the patch")
        else:
            raise _SMPError(f"unknown patch type: {_go(directive)} in map: {_go(item)}")
    if replace:
        return [_fresh(x)[0] for x in remaining], []
    return original, remaining


def _normalize_order(patch_items: list[Any], server_only: list[Any], patch_order: list[Any],
                     server_order: list[Any], mkey: str | None) -> list[Any]:
    """Order a merged list as the apiserver does.

    Patch items follow the patch's order, server-only items the live order, and
    the two interleave by live position; an item the live list does not have
    goes before the next server-only item.
    """
    def value(x: Any) -> Any:
        return x.get(mkey) if mkey and isinstance(x, dict) else x

    def index(items: list[Any], x: Any) -> int:
        v = value(x)
        for i, y in enumerate(items):
            if value(y) == v:
                return i
        return -1

    def sort_by(items: list[Any], order: list[Any]) -> list[Any]:
        positions = [(index(order, x), n) for n, x in enumerate(items)]
        if any(p < 0 for p, _ in positions):
            return items
        return [items[n] for _, n in sorted(positions)]

    left = sort_by(server_only, server_order)
    right = sort_by(patch_items, patch_order)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            out.append(left[i])
            i += 1
        elif i >= len(left):
            out.append(right[j])
            j += 1
        else:
            li, ri = index(server_order, left[i]), index(server_order, right[j])
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


# --------------------------------------------------------------------------------------------
# Field sets (the paths of managedFields)
# --------------------------------------------------------------------------------------------

#: A field path: fieldsV1 keys from the root, e.g. ("f:spec", "f:replicas").
Path = tuple[str, ...]

_MISSING: Any = object()

#: Paths never owned by anyone (apiserver ``stripmeta``): exact paths, not prefixes.
_STRIPPED: frozenset[Path] = frozenset({
    ("f:apiVersion",), ("f:kind",), ("f:metadata",),
    *(("f:metadata", f"f:{name}") for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
        "generation", "managedFields", "resourceVersion")),
})


class _ApplyConfigError(Exception):
    """The applied configuration cannot be typed (missing or duplicate list keys)."""


def _json_compact(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _item_pe(item: Any, index: int, spec: _Field, path: Path, strict: bool) -> str:
    """fieldsV1 key of one item of an associative list: ``k:{...}``, ``v:...`` (``i:N`` if untyped)."""
    if spec.list == "set":
        if not isinstance(item, (dict, list)):
            return "v:" + _json_compact(item)
        if strict:
            raise _ApplyConfigError(f"{_path_str(path)}: element {index}: expected a scalar")
        return f"i:{index}"
    if not isinstance(item, dict):
        if strict:
            raise _ApplyConfigError(f"{_path_str(path)}: element {index}: expected a map")
        return f"i:{index}"
    keys: dict[str, Any] = {}
    for k in spec.keys:
        if item.get(k) is not None:
            keys[k] = item[k]
        elif k in _KEY_DEFAULTS:
            keys[k] = _KEY_DEFAULTS[k]
        elif strict:
            raise _ApplyConfigError(
                f"{_path_str(path)}: element {index}: associative list with keys has an element "
                f"that omits key field {json.dumps(k)} (and doesn't have default value)")
        else:
            return f"i:{index}"
    return "k:" + _json_compact(keys)


def _path_elements(items: list[Any], spec: _Field, path: Path, strict: bool) -> Iterator[tuple[str, Any]]:
    """``(fieldsV1 key, item)`` for each item of an associative list (first of duplicates).

    ``strict`` (an applied configuration) raises :class:`_ApplyConfigError` for
    items without their keys and for duplicates; otherwise (live objects) such
    items are keyed by index or skipped.
    """
    seen: set[str] = set()
    for i, item in enumerate(items):
        pe = _item_pe(item, i, spec, path, strict)
        if pe in seen:
            if strict:
                raise _ApplyConfigError(f"{_path_str(path)}: duplicate entries for key {_pe_str(pe)}")
            continue
        seen.add(pe)
        yield pe, item


def _value_str(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return _json_compact(v)


def _pe_str(pe: str) -> str:
    """A path element as structured-merge-diff prints it: ``.name``, ``[name="web"]``..."""
    if pe.startswith("f:"):
        return "." + pe[2:]
    if pe.startswith("k:"):
        keys = json.loads(pe[2:])
        return "[" + ",".join(f"{k}={_value_str(v)}" for k, v in keys.items()) + "]"
    if pe.startswith("v:"):
        return f"[={_value_str(json.loads(pe[2:]))}]"
    if pe.startswith("i:"):
        return f"[{pe[2:]}]"
    return pe


def _path_str(path: Path) -> str:
    return "".join(_pe_str(pe) for pe in path)


def _to_field_set(value: Any, spec: _Field, path: Path, out: set[Path]) -> None:
    """Fields an applied configuration sets (structured-merge-diff ``ToFieldSet``)."""
    if isinstance(value, dict) and not spec.atomic and value:
        for key, child in value.items():
            _to_field_set(child, _child(spec.type, key), path + (f"f:{key}",), out)
    elif isinstance(value, list) and spec.associative:
        item_spec = _item(spec)
        for pe, item in _path_elements(value, spec, path, strict=True):
            out.add(path + (pe,))
            if isinstance(item, dict) and item:
                _to_field_set(item, item_spec, path + (pe,), out)
    elif path:
        out.add(path)


@dataclass
class _Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)

    def changed(self) -> set[Path]:
        return self.added | self.modified


def _mark(value: Any, spec: _Field, path: Path, into: set[Path]) -> None:
    """Record ``path`` and everything under it (a node one side lacks)."""
    if path:
        into.add(path)
    if isinstance(value, dict) and not spec.atomic:
        for key, child in value.items():
            if child is not None:
                _mark(child, _child(spec.type, key), path + (f"f:{key}",), into)
        if spec.type:
            for key, child_spec in _present_fields(spec.type):
                if not child_spec.list and value.get(key) is None:
                    into.add(path + (f"f:{key}",))
    elif isinstance(value, list) and spec.associative:
        item_spec = _item(spec)
        for pe, item in _path_elements(value, spec, path, strict=False):
            _mark(item, item_spec, path + (pe,), into)


def _compare(lhs: Any, rhs: Any, spec: _Field, path: Path, out: _Comparison) -> None:
    """structured-merge-diff ``Compare``: what changed from ``lhs`` to ``rhs``.

    Nulls count as absent (Go's typed objects have them on both sides or neither).
    """
    if lhs is None:
        lhs = _MISSING
    if rhs is None:
        rhs = _MISSING
    if lhs is _MISSING:
        if rhs is not _MISSING:
            _mark(rhs, spec, path, out.added)
        return
    if rhs is _MISSING:
        _mark(lhs, spec, path, out.removed)
        return
    if lhs == rhs and type(lhs) is type(rhs):
        return
    if isinstance(lhs, dict) and isinstance(rhs, dict) and not spec.atomic and (lhs or rhs):
        for key in {**lhs, **rhs}:
            child = _child(spec.type, key)
            lv, rv = lhs.get(key, _MISSING), rhs.get(key, _MISSING)
            if child.present:  # never absent from a typed object: compare with its empty value
                if lv is _MISSING or lv is None:
                    lv = [] if isinstance(rv, list) else {}
                if rv is _MISSING or rv is None:
                    rv = [] if isinstance(lv, list) else {}
            _compare(lv, rv, child, path + (f"f:{key}",), out)
        return
    if isinstance(lhs, list) and isinstance(rhs, list) and spec.associative and (lhs or rhs):
        left = dict(_path_elements(lhs, spec, path, strict=False))
        right = dict(_path_elements(rhs, spec, path, strict=False))
        item_spec = _item(spec)
        for pe in {**left, **right}:
            _compare(left.get(pe, _MISSING), right.get(pe, _MISSING), item_spec, path + (pe,), out)
        return
    if path:
        out.modified.add(path)


def _compare_objects(lhs: dict[str, Any] | None, rhs: dict[str, Any], rt: ResourceType) -> _Comparison:
    out = _Comparison()
    _compare(_skeleton(lhs), _skeleton(rhs), _root_spec(rt), (), out)
    return out


def _skeleton(obj: dict[str, Any] | None) -> dict[str, Any]:
    """``obj`` without managedFields (shallow), for comparing."""
    if not obj:
        return {}
    md = obj.get("metadata")
    if isinstance(md, dict) and "managedFields" in md:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in md.items() if k != "managedFields"}
    return obj


def _has_prefix(path: Path, prefixes: Iterable[Path]) -> bool:
    return any(path[: len(p)] == p for p in prefixes)


def _reset_filter(rt: ResourceType, subresource: str | None) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """``(only these prefixes, never these prefixes)`` a write through ``subresource`` may own."""
    if subresource == "status":
        return (("f:status",),), ()
    if subresource == "scale":
        return (("f:spec", "f:replicas"),), ()
    if "status" in rt.subresources:
        return (), (("f:status",),)
    return (), ()


def _filter(paths: set[Path], rt: ResourceType, subresource: str | None) -> set[Path]:
    only, never = _reset_filter(rt, subresource)
    out = set()
    for p in paths:
        if p in _STRIPPED or (p[:2] == ("f:metadata", "f:managedFields")):
            continue
        if only and not _has_prefix(p, only):
            continue
        if never and _has_prefix(p, never):
            continue
        out.add(p)
    return out


# --------------------------------------------------------------------------------------------
# fieldsV1 and managedFields entries
# --------------------------------------------------------------------------------------------


def _fields_to_set(fields: Any) -> set[Path]:
    """Decode a ``fieldsV1`` object into the set of paths it holds."""
    out: set[Path] = set()

    def walk(node: dict[str, Any], prefix: Path) -> None:
        for key, child in node.items():
            if key == ".":
                if prefix:
                    out.add(prefix)
                continue
            path = prefix + (key,)
            if not isinstance(child, dict) or not child:
                out.add(path)
            else:
                walk(child, path)

    if isinstance(fields, dict):
        walk(fields, ())
    return out


def _pe_sort_key(pe: str) -> tuple[Any, ...]:
    rank = {"f": 0, "k": 1, "v": 2, "i": 3}.get(pe[:1], 4)
    if rank == 3:
        try:
            return (rank, int(pe[2:]), "")
        except ValueError:
            return (rank, 0, pe)
    if rank in (1, 2):
        try:
            value = json.loads(pe[2:])
        except ValueError:
            return (rank, 0, pe)
        if rank == 1 and isinstance(value, dict):
            return (rank, tuple((k, _scalar_key(v)) for k, v in sorted(value.items())), "")
        return (rank, (_scalar_key(value),), "")
    return (rank, 0, pe[2:])


def _scalar_key(v: Any) -> tuple[int, Any]:
    if v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (1, int(v))
    if isinstance(v, (int, float)):
        return (2, v)
    if isinstance(v, str):
        return (3, v)
    return (4, _json_compact(v))


def _set_to_fields(paths: set[Path]) -> dict[str, Any]:
    """Encode a set of paths as ``fieldsV1`` (sorted as structured-merge-diff writes it)."""
    tree: dict[str, Any] = {}
    members: set[Path] = set()
    for path in paths:
        node = tree
        for pe in path:
            node = node.setdefault(pe, {})
        members.add(path)

    def render(node: dict[str, Any], prefix: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if prefix in members and node and prefix:
            out["."] = {}
        for key in sorted(node, key=_pe_sort_key):
            out[key] = render(node[key], prefix + (key,))
        return out

    return render(tree, ())


@dataclass
class _Entry:
    """One managedFields entry, decoded."""

    manager: str
    operation: str
    api_version: str
    time: str | None
    fields: set[Path]
    subresource: str = ""

    @property
    def ident(self) -> str:
        """structured-merge-diff's manager identifier (``BuildManagerIdentifier``)."""
        d: dict[str, str] = {}
        if self.manager:
            d["manager"] = self.manager
        if self.operation:
            d["operation"] = self.operation
        if self.operation != "Apply" and self.api_version:
            d["apiVersion"] = self.api_version
        if self.subresource:
            d["subresource"] = self.subresource
        return json.dumps(d, separators=(",", ":"), ensure_ascii=False)

    def describe(self) -> str:
        """How conflict messages name this manager."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {"manager": self.manager, "operation": self.operation,
                               "apiVersion": self.api_version}
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = _set_to_fields(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


class _BadManagedFields(Exception):
    pass


def _decode_entries(raw: Any) -> list[_Entry]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _BadManagedFields("managedFields must be a list")
    entries: dict[str, _Entry] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _BadManagedFields(f"managed fields entry {i} is not an object")
        operation = item.get("operation")
        if operation not in ("Apply", "Update"):
            raise _BadManagedFields("operation must be `Apply` or `Update`")
        if not item.get("apiVersion"):
            raise _BadManagedFields("apiVersion must not be empty")
        if item.get("fieldsType") != "FieldsV1":
            raise _BadManagedFields(f"invalid fieldsType in managed fields entry {i}")
        entry = _Entry(str(item.get("manager") or ""), operation, str(item["apiVersion"]),
                       item.get("time"), _fields_to_set(item.get("fieldsV1")), str(item.get("subresource") or ""))
        entries[entry.ident] = entry
    return list(entries.values())


def _is_reset(raw: Any) -> bool:
    """``managedFields: [{}]`` asks the server to drop all entries."""
    return isinstance(raw, list) and len(raw) == 1 and raw[0] == {}


def _time_key(t: str | None) -> str:
    return (t or "")[:19]


def _encode_entries(entries: Iterable[_Entry]) -> list[dict[str, Any]]:
    kept = [e for e in entries if e.fields]
    kept.sort(key=lambda e: (e.operation, _time_key(e.time), e.manager, e.api_version, e.subresource))
    return [e.encode() for e in kept]


def _cap_updates(entries: list[_Entry]) -> list[_Entry]:
    """At most :data:`MAX_UPDATE_MANAGERS` Update entries: the oldest merge into ``ancient-changes``."""
    updaters = [e for e in entries if e.operation == "Update" and e.fields]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return entries
    updaters.sort(key=lambda e: (_time_key(e.time), e.ident))
    by_ident = {e.ident: e for e in entries}
    first: dict[str, _Entry] = {}
    length = len(updaters)
    for e in updaters:
        if length <= MAX_UPDATE_MANAGERS:
            break
        bucket_ident = _Entry("ancient-changes", "Update", e.api_version, None, set()).ident
        if e.ident == bucket_ident:
            continue
        if e.api_version not in first:
            first[e.api_version] = e
            continue
        if bucket_ident not in by_ident:
            seed = by_ident.pop(first[e.api_version].ident)
            by_ident[bucket_ident] = _Entry("ancient-changes", "Update", e.api_version, seed.time, set(seed.fields))
        bucket = by_ident[bucket_ident]
        bucket.fields |= e.fields
        bucket.time = e.time
        del by_ident[e.ident]
        length -= 1
    return list(by_ident.values())


def _with_managed_fields(obj: dict[str, Any], entries: Iterable[_Entry]) -> dict[str, Any]:
    """Shallow copy of ``obj`` whose metadata carries ``entries``."""
    encoded = _encode_entries(entries)
    out = dict(obj)
    md = dict(out.get("metadata") or {})
    if encoded:
        md["managedFields"] = encoded
    else:
        md.pop("managedFields", None)
    out["metadata"] = md
    return out


# --------------------------------------------------------------------------------------------
# Update entries (create, update, non-apply patches)
# --------------------------------------------------------------------------------------------


def update_managed_fields(old: dict[str, Any] | None, new: dict[str, Any], manager: str, operation: str,
                          rt: ResourceType, now: str, *, subresource: str | None = None) -> dict[str, Any]:
    """Record a create, update or patch by ``manager`` in ``new``'s managedFields.

    As the apiserver's field manager does for every non-apply write: ``manager``
    gains (in its ``Update`` entry for ``rt``'s version and ``subresource``)
    every field the write added or changed, and stamps the entry with ``now``;
    every manager loses fields the write changed or removed; empty entries go.
    A write that changes nothing leaves managedFields alone. Call it on the
    final object (after defaulting), with ``old=None`` for a create.

    Managed fields come from ``new`` when it carries some (a client may edit
    them; ``[{}]`` clears them), else from ``old``; through a subresource they
    always come from ``old``. Only ``.status`` counts for the ``status``
    subresource, only ``.spec.replicas`` for ``scale``, and ``.status`` never
    counts for the main resource of a type with a status subresource.

    Args:
        old: The stored object, or ``None`` for a create.
        new: The object about to be stored.
        manager: The ``fieldManager`` (see :func:`manager_from_user_agent`).
        operation: ``"Update"`` (the verbs ``create``/``update``/``patch`` are
            accepted as synonyms).
        rt: The resource type (its version is the entry's apiVersion).
        now: RFC 3339 timestamp for the entry.
        subresource: ``"status"``, ``"scale"`` or ``None``.

    Returns:
        A shallow copy of ``new`` with new ``metadata`` (other members are
        shared with ``new``, not copied).
    """
    if operation.lower() not in ("update", "create", "patch"):
        raise ValueError(f"update_managed_fields records Update entries, not {operation!r}")
    sub = subresource or ""
    new_md = new.get("metadata")
    old_md = (old or {}).get("metadata")
    new_md = new_md if isinstance(new_md, dict) else {}
    old_md = old_md if isinstance(old_md, dict) else {}
    raw_new = new_md.get("managedFields")
    entries: list[_Entry] = []
    try:
        if not sub and _is_reset(raw_new):
            entries = []
        else:
            if not sub:
                try:
                    entries = _decode_entries(raw_new)
                except _BadManagedFields:
                    entries = []
            if not entries:
                entries = _decode_entries(old_md.get("managedFields"))
    except _BadManagedFields:
        entries = []  # unreadable everywhere: start afresh rather than store junk
    cmp = _compare_objects(old, new, rt)
    changed = _filter(cmp.changed(), rt, sub)
    removed = _filter(cmp.removed, rt, sub)
    me = _Entry(manager, "Update", rt.group_version, None, set(), sub)
    kept: list[_Entry] = []
    for e in entries:
        if changed or removed:
            e = _Entry(e.manager, e.operation, e.api_version, e.time, e.fields - changed - removed, e.subresource)
        if e.ident == me.ident:
            me = e
        else:
            kept.append(e)
    if changed:
        me.fields = me.fields | changed
        me.time = now
    kept.append(me)
    return _with_managed_fields(new, _cap_updates(kept))


# --------------------------------------------------------------------------------------------
# Server-side apply
# --------------------------------------------------------------------------------------------


def _apply_merge(lhs: Any, rhs: Any, spec: _Field) -> Any:
    """Merge an applied value into a live one (structured-merge-diff ``Merge``)."""
    if rhs is None:
        return _MISSING
    if lhs is _MISSING or lhs is None:
        return _prune_nulls(rhs)
    if isinstance(lhs, dict) and isinstance(rhs, dict) and not spec.atomic:
        out = dict(lhs)
        for key, value in rhs.items():
            merged = _apply_merge(lhs.get(key, _MISSING), value, _child(spec.type, key))
            if merged is _MISSING:
                out.pop(key, None)
            else:
                out[key] = merged
        return out
    if isinstance(lhs, list) and isinstance(rhs, list) and spec.associative:
        return _apply_merge_list(lhs, rhs, spec)
    return _prune_nulls(rhs)


def _apply_merge_list(lhs: list[Any], rhs: list[Any], spec: _Field) -> list[Any]:
    """Merge two associative lists: applied order wins for shared items, live-only items stay put."""
    left = list(_path_elements(lhs, spec, (), strict=False))
    right = list(_path_elements(rhs, spec, (), strict=False))
    left_items, right_items = dict(left), dict(right)
    item_spec = _item(spec)
    out: list[Any] = []
    emitted: set[str] = set()

    def take(pe: str) -> None:
        merged = _apply_merge(left_items.get(pe, _MISSING), right_items[pe], item_spec)
        if merged is not _MISSING:
            out.append(merged)
        emitted.add(pe)

    i = j = 0
    while i < len(left) or j < len(right):
        if i < len(left) and j < len(right) and left[i][0] == right[j][0]:
            take(left[i][0])
            i += 1
            j += 1
            continue
        if i < len(left):
            pe = left[i][0]
            if pe not in right_items:
                out.append(left[i][1])
                i += 1
                continue
            if pe in emitted:
                i += 1
                continue
        if j < len(right):
            take(right[j][0])
            j += 1
        else:
            i += 1
    return out


def _remove_path(obj: Any, path: Path, spec: _Field) -> None:
    """Delete the node at ``path`` in place; maps and lists it leaves empty go too."""
    if not path:
        return
    pe, rest = path[0], path[1:]
    if isinstance(obj, dict) and pe.startswith("f:"):
        key = pe[2:]
        if key not in obj:
            return
        child_spec = _child(spec.type, key)
        if not rest:
            del obj[key]
            return
        child = obj[key]
        _remove_path(child, rest, child_spec)
        if not child and (isinstance(child, list) or child_spec.map):
            del obj[key]
    elif isinstance(obj, list) and spec.associative:
        for position, item in enumerate(obj):
            if _item_pe(item, position, spec, (), strict=False) == pe:
                if rest:
                    _remove_path(item, rest, _item(spec))
                else:
                    del obj[position]
                return


def _conflict_error(conflicts: list[tuple[_Entry, Path]]) -> APIError:
    """409 Conflict as the apiserver builds it for apply conflicts."""
    conflicts = sorted(conflicts, key=lambda c: (c[0].ident, _path_order_key(c[1])))
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {e.describe()}",
               "field": _path_str(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {e.describe()}: {_path_str(p)}"
    else:
        lines: list[str] = []
        current: str | None = None
        for e, p in conflicts:
            if e.ident != current:
                current = e.ident
                lines.append(f"conflicts with {e.describe()}:")
            lines.append(f"- {_path_str(p)}")
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return APIError(409, "Conflict", message, {"causes": causes})


def _path_order_key(path: Path) -> tuple[Any, ...]:
    """Order of structured-merge-diff's set iteration: a level's members before its children."""
    return tuple((0 if n == len(path) - 1 else 1, _pe_sort_key(pe)) for n, pe in enumerate(path))


def _last_applied(obj: dict[str, Any] | None) -> str | None:
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    value = annotations.get(LAST_APPLIED_ANNOTATION) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) and value else None


def _allowed_by_last_applied(live: dict[str, Any], rt: ResourceType) -> set[Path]:
    """Fields whose last client-side-applied value is still live: kubectl may take them over."""
    text = _last_applied(live)
    if text is None:
        return set()
    try:
        last = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(last, dict) or last.get("apiVersion") != rt.group_version:
        return set()
    fields: set[Path] = set()
    try:
        _to_field_set(last, _root_spec(rt), (), fields)
    except _ApplyConfigError:
        return set()
    cmp = _Comparison()
    _compare(_skeleton(last), _skeleton(live), _root_spec(rt), (), cmp)
    return fields - cmp.added - cmp.modified - cmp.removed


def _go_json(v: Any) -> str:
    """``encoding/json`` output: sorted keys, HTML characters escaped, trailing newline."""
    text = json.dumps(v, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text + "\n"


def _build_last_applied(applied: dict[str, Any]) -> str:
    config = copy.deepcopy(applied)
    annotations = (config.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED_ANNOTATION, None)
    return _go_json(config)


def _gvk(rt: ResourceType) -> str:
    return f"{rt.group}/{rt.version}, Kind={rt.kind}"


def _invalid_patch_options(message: str, field_name: str) -> APIError:
    return APIError(422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: {field_name}: {message}',
                    {"group": "meta.k8s.io", "kind": "PatchOptions",
                     "causes": [{"reason": "FieldValueRequired", "message": message, "field": field_name}]})


def _apply_view(applied: dict[str, Any], rt: ResourceType, subresource: str | None) -> dict[str, Any]:
    """The part of an applied configuration a write through ``subresource`` may set."""
    if subresource == "status":
        md = applied.get("metadata") or {}
        view = {k: v for k, v in applied.items() if k in ("apiVersion", "kind", "status")}
        view["metadata"] = {k: md[k] for k in ("name", "namespace") if k in md}
        return view
    if "status" in rt.subresources:
        return {k: v for k, v in applied.items() if k != "status"}
    return applied


def server_side_apply(live: dict[str, Any] | None, applied: dict[str, Any], rt: ResourceType, manager: str,
                      force: bool, now: str, *, subresource: str | None = None) -> dict[str, Any]:
    """Apply ``applied`` for ``manager`` (``application/apply-patch+yaml``); returns the new object.

    Follows structured-merge-diff: the applied configuration merges into
    ``live`` (lists with keys merge by key, other lists and atomic structs are
    replaced); fields ``manager`` applied before but omits now are removed
    unless another manager owns them; the ``Apply`` entry of ``manager`` becomes
    exactly the applied field set. Changing a field another manager owns is a
    conflict: 409 unless ``force``, which moves the field to ``manager``.
    Fields removed from the object leave every manager's set.

    For ``manager == "kubectl"`` two client-side-apply rules hold, as on a real
    server: conflicts on fields whose ``last-applied-configuration`` value is
    still live are forgiven, and an existing ``last-applied-configuration``
    annotation is rewritten to the applied configuration.

    ``live=None`` creates (the apply of a missing object). ``status`` is ignored
    on the main resource of types with a status subresource; with
    ``subresource="status"`` only ``status`` applies.

    Raises:
        APIError: 409 Conflict (``Apply failed with N conflict(s): ...`` with
            ``details.causes`` of reason ``FieldManagerConflict``); 400 for a
            wrong ``apiVersion``/``kind``, a configuration carrying
            ``metadata.managedFields``, or list items missing their keys; 422
            when ``manager`` is empty.
    """
    if not manager:
        raise _invalid_patch_options("Required value: is required for apply patch", "fieldManager")
    if not isinstance(applied, dict):
        raise errors.bad_request("error decoding YAML: the apply patch must be an object")
    if applied.get("apiVersion") != rt.group_version:
        raise errors.bad_request(
            f"Incorrect version specified in apply patch. Specified patch version: "
            f"{applied.get('apiVersion') or ''}, expected: {rt.group_version}")
    if applied.get("kind") != rt.kind:
        raise errors.bad_request(
            f"Incorrect kind specified in apply patch. Specified patch kind: {applied.get('kind') or ''}, "
            f"expected: {rt.kind}")
    metadata = applied.get("metadata")
    if isinstance(metadata, dict) and metadata.get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")

    root = _root_spec(rt)
    config = _apply_view(applied, rt, subresource)
    sub = subresource or ""
    new_set: set[Path] = set()
    try:
        _to_field_set(config, root, (), new_set)
    except _ApplyConfigError as exc:
        md = config.get("metadata") or {}
        raise errors.bad_request(
            f"failed to create typed patch object ({md.get('namespace', '')}/{md.get('name', '')}; "
            f"{_gvk(rt)}): {exc}") from None
    new_set = _filter(new_set, rt, sub)

    base = copy.deepcopy(live) if live else {}
    live_md = base.get("metadata")
    try:
        entries = _decode_entries(live_md.pop("managedFields", None) if isinstance(live_md, dict) else None)
    except _BadManagedFields:
        entries = []
    me = _Entry(manager, "Apply", rt.group_version, None, set(), sub)
    others = [e for e in entries if e.ident != me.ident]
    previous = next((e for e in entries if e.ident == me.ident), None)

    merged = _apply_merge(base, config, root)
    # Private copy: the merge shares untouched members with ``base``, and pruning edits in place.
    merged = copy.deepcopy(merged) if isinstance(merged, dict) else {}
    if previous is not None:
        owned = set(new_set)
        for e in others:
            owned |= e.fields
        owned_prefixes = {p[:n] for p in owned for n in range(1, len(p) + 1)}
        for path in sorted(previous.fields - owned, key=len):
            if path not in owned_prefixes:
                _remove_path(merged, path, root)

    cmp = _Comparison()
    _compare(base, merged, root, (), cmp)
    changed = _filter(cmp.changed(), rt, sub)
    removed = _filter(cmp.removed, rt, sub)
    conflicts = [(e, p) for e in others for p in sorted(e.fields & changed)]
    if conflicts and not force:
        if manager == "kubectl" and live is not None:
            allowed = _allowed_by_last_applied(live, rt)
            conflicts = [(e, p) for e, p in conflicts if p not in allowed]
        if conflicts:
            raise _conflict_error(conflicts)
    result_entries: list[_Entry] = []
    for e in others:
        result_entries.append(_Entry(e.manager, e.operation, e.api_version, e.time,
                                     e.fields - changed - removed, e.subresource))
    me.fields = new_set
    object_changed = cmp.added or cmp.modified or cmp.removed
    me.time = now if object_changed or previous is None or previous.time is None else previous.time
    result_entries.append(me)

    if manager == "kubectl" and _last_applied(merged) is not None:
        md = merged.setdefault("metadata", {})
        md["annotations"] = dict(md.get("annotations") or {})
        md["annotations"][LAST_APPLIED_ANNOTATION] = _build_last_applied(applied)
    return _with_managed_fields(merged, result_entries)

