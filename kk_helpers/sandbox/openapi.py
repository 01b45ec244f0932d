"""OpenAPI v3 documents for the sandbox, generated from the official client's models.

Nothing here is copied from upstream spec files. The schemas are derived at run
time from the metadata the official Python client (``kubernetes.client.models``)
carries for every model: ``openapi_types`` (field types), ``attribute_map``
(JSON names), the field descriptions (pydantic ``Field(description=...)`` in
client >= 37, property docstrings before that), the class docstring (type
description, client >= 37) and which fields are required (pydantic
``is_required()``, or the ``must not be `None``` check in older setters).

What the client does not carry is filled in from small tables in this module:
which Go package a model lives in (so ``V1PodSpec`` becomes
``io.k8s.api.core.v1.PodSpec``), which ``object``/``str`` fields are really
``IntOrString`` or ``Quantity``, which integers are 64-bit, and the
strategic-merge-patch and list-type facts (:data:`FIELD_META`).

Clients that read these documents, and what they need:

* ``kubectl apply|create|replace`` (default ``--validate=strict``) look for a
  PATCH operation whose ``x-kubernetes-group-version-kind`` matches the object
  and whose (operation-level, inline) parameters include ``fieldValidation``.
  Every PATCH operation of a kind must carry it: kubectl stops at the first
  matching one it meets, in map order.
* Client-side ``kubectl apply`` computes its three-way strategic merge patch
  from ``components.schemas`` when the PATCH operation accepts
  ``application/strategic-merge-patch+json``: it follows ``properties``,
  ``items``, ``allOf[0]`` and ``$ref``, reads ``x-kubernetes-patch-strategy``
  and ``x-kubernetes-patch-merge-key`` on the property, and gives up (with a
  warning) on a field missing from ``properties``.
* ``kubectl explain`` finds the kind through the paths' operations, then the
  schema whose ``x-kubernetes-group-version-kind`` list contains it.

Building the documents needs the client's model classes, whose first import
costs about half a second; so everything is built lazily on first use, and the
extracted model metadata is cached on disk (see :func:`cache_dir`), which
brings later cold starts down to a few tens of milliseconds. Serve documents
with :meth:`OpenAPIV3.cache_headers`: kubectl then keeps them in its disk cache
instead of downloading them for every command.

Validation helpers for the write path: :func:`unknown_fields` (strict decoding)
and :func:`wrong_type_fields` (what Go's JSON decoder would refuse), with
messages shaped like a real API server's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any, NamedTuple

from .resources import GROUP_ORDER, RESOURCES, ResourceType
from .validation import QUANTITY_FORMAT_ERROR, Quantity, QuantityError

__all__ = [
    "ATOMIC_STRUCTS",
    "FIELD_META",
    "PATCH_META",
    "QUANTITY_FORMAT_ERROR",
    "FieldFacts",
    "FieldMeta",
    "OpenAPIV3",
    "cache_dir",
    "warm_model_cache",
    "definition_name",
    "field_facts",
    "field_model",
    "is_atomic_struct",
    "json_kind",
    "list_meta",
    "base64_error",
    "quantity_error",
    "unknown_fields",
    "wrong_type_fields",
]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
CORE = "io.k8s.api.core.v1"
APPS = "io.k8s.api.apps.v1"
BATCH = "io.k8s.api.batch.v1"
DISCOVERY = "io.k8s.api.discovery.v1"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
PATCH = f"{META}.Patch"

_REF = "#/components/schemas/"

# --------------------------------------------------------------------------------------------
# Facts the client's models do not carry
# --------------------------------------------------------------------------------------------


class FieldMeta(NamedTuple):
    """Merge and list facts for one field of one schema.

    Attributes:
        strategy: ``x-kubernetes-patch-strategy``: ``"merge"``,
            ``"merge,retainKeys"``, ``"retainKeys"`` or ``None`` (replace).
        merge_key: ``x-kubernetes-patch-merge-key`` for lists of objects
            merged by key (``"name"``, ``"containerPort"``...), else ``None``.
        list_type: ``x-kubernetes-list-type``: ``"atomic"``, ``"set"``,
            ``"map"`` or ``None`` when the API does not say.
        map_keys: ``x-kubernetes-list-map-keys`` when ``list_type`` is ``"map"``.
        map_type: ``x-kubernetes-map-type`` of a map field: ``"atomic"`` (``+mapType=atomic``:
            owned and replaced as a whole by server-side apply) or ``None`` (granular).
    """

    strategy: str | None = None
    merge_key: str | None = None
    list_type: str | None = None
    map_keys: tuple[str, ...] = ()
    map_type: str | None = None


def _keyed(key: str, *more: str, strategy: str = "merge") -> FieldMeta:
    return FieldMeta(strategy, key, "map", (key, *more))


_ATOMIC = FieldMeta(list_type="atomic")
_MERGE_SET = FieldMeta("merge", None, "set")


def _container_meta(definition: str) -> dict[tuple[str, str], FieldMeta]:
    return {
        (definition, "ports"): FieldMeta("merge", "containerPort", "map", ("containerPort", "protocol")),
        (definition, "env"): _keyed("name"),
        (definition, "envFrom"): _ATOMIC,
        (definition, "volumeMounts"): _keyed("mountPath"),
        (definition, "volumeDevices"): _keyed("devicePath"),
        (definition, "command"): _ATOMIC,
        (definition, "args"): _ATOMIC,
        (definition, "resizePolicy"): _ATOMIC,
    }


#: The one table of strategic-merge-patch, list-type and map-type facts, keyed by
#: (definition name, JSON field name), as the ``patchStrategy``/``patchMergeKey`` struct
#: tags and the ``+listType``/``+listMapKey``/``+mapType`` markers of k8s.io/api and
#: k8s.io/apimachinery declare them. Fields not listed have no patch strategy (lists are
#: replaced whole by a strategic merge patch), no declared list type and granular maps.
#: The served documents carry these facts as ``x-kubernetes-*`` extensions (what kubectl
#: computes its patches from) and :mod:`kk_helpers.sandbox.patch` applies patches and
#: server-side apply with them (through :func:`field_facts`), so the two cannot disagree.
FIELD_META: dict[tuple[str, str], FieldMeta] = {
    # meta/v1
    (f"{META}.ObjectMeta", "finalizers"): _MERGE_SET,
    (f"{META}.ObjectMeta", "ownerReferences"): _keyed("uid"),
    (f"{META}.ObjectMeta", "managedFields"): _ATOMIC,
    (f"{META}.LabelSelector", "matchExpressions"): _ATOMIC,
    (f"{META}.LabelSelectorRequirement", "values"): _ATOMIC,
    # core/v1: pods
    (f"{CORE}.PodSpec", "containers"): _keyed("name"),
    (f"{CORE}.PodSpec", "initContainers"): _keyed("name"),
    (f"{CORE}.PodSpec", "ephemeralContainers"): _keyed("name"),
    (f"{CORE}.PodSpec", "volumes"): _keyed("name", strategy="merge,retainKeys"),
    (f"{CORE}.PodSpec", "imagePullSecrets"): _keyed("name"),
    (f"{CORE}.PodSpec", "hostAliases"): _keyed("ip"),
    (f"{CORE}.PodSpec", "tolerations"): _ATOMIC,
    (f"{CORE}.PodSpec", "readinessGates"): _ATOMIC,
    (f"{CORE}.PodSpec", "topologySpreadConstraints"): _keyed("topologyKey", "whenUnsatisfiable"),
    (f"{CORE}.PodSpec", "resourceClaims"): _keyed("name", strategy="merge,retainKeys"),
    (f"{CORE}.PodSpec", "schedulingGates"): _keyed("name"),
    (f"{CORE}.PodSpec", "nodeSelector"): FieldMeta(map_type="atomic"),
    **_container_meta(f"{CORE}.Container"),
    **_container_meta(f"{CORE}.EphemeralContainer"),
    (f"{CORE}.ResourceRequirements", "claims"): FieldMeta(list_type="map", map_keys=("name",)),
    (f"{CORE}.PodSecurityContext", "supplementalGroups"): _ATOMIC,
    (f"{CORE}.PodSecurityContext", "sysctls"): _ATOMIC,
    (f"{CORE}.Capabilities", "add"): _ATOMIC,
    (f"{CORE}.Capabilities", "drop"): _ATOMIC,
    (f"{CORE}.PodStatus", "conditions"): _keyed("type"),
    (f"{CORE}.PodStatus", "podIPs"): _keyed("ip"),
    (f"{CORE}.PodStatus", "hostIPs"): FieldMeta("merge", "ip", "atomic"),
    (f"{CORE}.PodStatus", "containerStatuses"): _ATOMIC,
    (f"{CORE}.PodStatus", "initContainerStatuses"): _ATOMIC,
    (f"{CORE}.PodStatus", "ephemeralContainerStatuses"): _ATOMIC,
    (f"{CORE}.PodStatus", "resourceClaimStatuses"): _keyed("name", strategy="merge,retainKeys"),
    # core/v1: services, endpoints, nodes, namespaces, service accounts
    (f"{CORE}.ServiceSpec", "ports"): FieldMeta("merge", "port", "map", ("port", "protocol")),
    (f"{CORE}.ServiceSpec", "selector"): FieldMeta(map_type="atomic"),
    (f"{CORE}.ServiceSpec", "clusterIPs"): _ATOMIC,
    (f"{CORE}.ServiceSpec", "externalIPs"): _ATOMIC,
    (f"{CORE}.ServiceSpec", "ipFamilies"): _ATOMIC,
    (f"{CORE}.ServiceSpec", "loadBalancerSourceRanges"): _ATOMIC,
    (f"{CORE}.ServiceStatus", "conditions"): _keyed("type"),
    (f"{CORE}.LoadBalancerStatus", "ingress"): _ATOMIC,
    (f"{CORE}.Endpoints", "subsets"): _ATOMIC,
    (f"{CORE}.EndpointSubset", "addresses"): _ATOMIC,
    (f"{CORE}.EndpointSubset", "notReadyAddresses"): _ATOMIC,
    (f"{CORE}.EndpointSubset", "ports"): _ATOMIC,
    (f"{CORE}.NodeSpec", "podCIDRs"): _MERGE_SET,
    (f"{CORE}.NodeSpec", "taints"): _ATOMIC,
    (f"{CORE}.NodeStatus", "conditions"): _keyed("type"),
    (f"{CORE}.NodeStatus", "addresses"): _keyed("type"),
    (f"{CORE}.NodeStatus", "images"): _ATOMIC,
    (f"{CORE}.NodeStatus", "volumesInUse"): _ATOMIC,
    (f"{CORE}.NodeStatus", "volumesAttached"): _ATOMIC,
    (f"{CORE}.NamespaceSpec", "finalizers"): _ATOMIC,
    (f"{CORE}.NamespaceStatus", "conditions"): _keyed("type"),
    (f"{CORE}.ServiceAccount", "secrets"): _keyed("name"),
    (f"{CORE}.ServiceAccount", "imagePullSecrets"): _ATOMIC,
    # apps/v1
    (f"{APPS}.DeploymentSpec", "strategy"): FieldMeta("retainKeys"),
    (f"{APPS}.DeploymentStatus", "conditions"): _keyed("type"),
    (f"{APPS}.ReplicaSetStatus", "conditions"): _keyed("type"),
    # batch/v1
    (f"{BATCH}.JobStatus", "conditions"): FieldMeta("merge", "type", "atomic"),
    (f"{BATCH}.CronJobStatus", "active"): _ATOMIC,
    (f"{BATCH}.PodFailurePolicy", "rules"): _ATOMIC,
    # discovery.k8s.io/v1
    (f"{DISCOVERY}.EndpointSlice", "endpoints"): _ATOMIC,
    (f"{DISCOVERY}.EndpointSlice", "ports"): _ATOMIC,
    (f"{DISCOVERY}.Endpoint", "addresses"): FieldMeta(list_type="set"),
}

#: Definitions marked ``+structType=atomic``: server-side apply owns and replaces such an
#: object as a whole; the documents say so with ``x-kubernetes-map-type: atomic`` on the schema.
ATOMIC_STRUCTS: frozenset[str] = frozenset({
    f"{META}.LabelSelector",
    f"{CORE}.LocalObjectReference",
    f"{CORE}.ObjectReference",
    f"{CORE}.TypedLocalObjectReference",
    f"{CORE}.ConfigMapKeySelector",
    f"{CORE}.SecretKeySelector",
    f"{CORE}.ObjectFieldSelector",
    f"{CORE}.ResourceFieldSelector",
    f"{CORE}.NodeSelector",
    f"{CORE}.NodeSelectorTerm",
})

#: ``(definition name, field) -> (patch strategy, merge key)`` for every field that
#: has a patch strategy: the strategic-merge-patch view of :data:`FIELD_META`.
PATCH_META: dict[tuple[str, str], tuple[str, str | None]] = {
    key: (meta.strategy, meta.merge_key) for key, meta in FIELD_META.items() if meta.strategy
}

# Models of k8s.io/apimachinery/pkg/apis/meta/v1 (the client names them like any V1 model).
_META_MODELS = frozenset({
    "V1ObjectMeta", "V1ListMeta", "V1LabelSelector", "V1LabelSelectorRequirement",
    "V1OwnerReference", "V1ManagedFieldsEntry", "V1Status", "V1StatusDetails", "V1StatusCause",
    "V1DeleteOptions", "V1Preconditions", "V1Condition", "V1APIResource", "V1APIResourceList",
    "V1APIGroup", "V1APIGroupList", "V1APIVersions", "V1GroupVersionForDiscovery",
    "V1ServerAddressByClientCIDR", "V1WatchEvent", "V1FieldSelectorRequirement", "V1ShardInfo",
})

# Core models no served core type reaches, but other groups embed.
_EXTRA_CORE_MODELS = ("V1PodTemplateSpec",)

# (Go type, field) whose value is a resource.Quantity (the client says str, or a map of str).
_QUANTITY_FIELDS = frozenset({
    ("ResourceRequirements", "limits"), ("ResourceRequirements", "requests"),
    ("VolumeResourceRequirements", "limits"), ("VolumeResourceRequirements", "requests"),
    ("PodSpec", "overhead"), ("PodStatus", "allocatedResources"),
    ("ContainerStatus", "allocatedResources"),
    ("NodeStatus", "capacity"), ("NodeStatus", "allocatable"),
    ("PersistentVolumeClaimStatus", "capacity"), ("PersistentVolumeClaimStatus", "allocatedResources"),
    ("ResourceFieldSelector", "divisor"), ("EmptyDirVolumeSource", "sizeLimit"),
    ("NodeAllocatableMappedResources", "quantity"),
    ("NodeAllocatableOverheadResources", "perContainer"), ("NodeAllocatableOverheadResources", "perPod"),
})

# (Go type, field) whose value is an intstr.IntOrString (the client says object). Other
# object fields whose description speaks of "number or name" / percentages count too.
_INT_OR_STRING_FIELDS = frozenset({
    ("HTTPGetAction", "port"), ("TCPSocketAction", "port"), ("ServicePort", "targetPort"),
    ("RollingUpdateDeployment", "maxSurge"), ("RollingUpdateDeployment", "maxUnavailable"),
    ("RollingUpdateDaemonSet", "maxSurge"), ("RollingUpdateDaemonSet", "maxUnavailable"),
    ("RollingUpdateStatefulSetStrategy", "maxUnavailable"),
    ("PodDisruptionBudgetSpec", "minAvailable"), ("PodDisruptionBudgetSpec", "maxUnavailable"),
    ("NetworkPolicyPort", "port"),
})
_INT_OR_STRING_HINT = re.compile(r"(?i)\b(number or name|name or number|absolute number|percentage)\b")

# JSON field names of int64 integers (the client only says int; everything else is int32).
_INT64_FIELDS = frozenset({
    "activeDeadlineSeconds", "deletionGracePeriodSeconds", "expirationSeconds", "fsGroup",
    "generation", "gracePeriodSeconds", "observedGeneration", "remainingItemCount", "runAsGroup",
    "runAsUser", "sizeBytes", "startingDeadlineSeconds", "terminationGracePeriodSeconds",
    "tolerationSeconds", "supplementalGroups", "uid", "gid", "user", "defaultUser",
    "maxExpirationSeconds",
})
_INT64_IN = frozenset({("NodeSwapStatus", "capacity")})

# (Go type, field) holding a metav1.MicroTime rather than a metav1.Time.
_MICRO_TIME_FIELDS = frozenset({("Event", "eventTime"), ("EventSeries", "lastObservedTime")})

_NAME_RE = re.compile(r"^(?P<group>[A-Z][a-z]+)?(?P<version>V\d+(?:alpha\d+|beta\d+)?)(?P<kind>[A-Z]\w*)$")
_PRIMITIVES = frozenset({"str", "int", "bool", "float", "datetime", "date", "object", "bytes"})

_OWN_DESCRIPTIONS = {
    TIME: "Time is a timestamp, serialized as an RFC 3339 string (\"2024-01-02T15:04:05Z\").",
    MICRO_TIME: "MicroTime is a timestamp with microsecond precision, serialized as an RFC 3339 string.",
    INT_OR_STRING: "IntOrString holds either an integer or a string: a port number or a port name, "
                   "a count or a percentage such as \"25%\".",
    QUANTITY: "Quantity is a fixed-point number with an optional unit suffix: binary (Ki, Mi, Gi, Ti, "
              "Pi, Ei), decimal (n, u, m, k, M, G, T, P, E) or an exponent (1e3). CPU \"500m\" is half "
              "a core; memory \"128Mi\" is 128 mebibytes.",
    PATCH: "Patch is the body of a PATCH request: a JSON patch, a JSON merge patch, a strategic merge "
           "patch or an apply configuration, as the Content-Type says.",
}

# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _T:
    """A field's type.

    ``kind`` is one of: model, array, map, string, int32, int64, bool, number,
    time, microtime, bytes, date, intstr, quantity, any.
    """

    kind: str
    ref: str | None = None  # client model name, for kind "model"
    item: _T | None = None  # element type, for "array" and "map"


_SCALARS = {k: _T(k) for k in ("string", "int32", "int64", "bool", "number", "time", "microtime",
                               "bytes", "date", "intstr", "quantity", "any")}


def _split_generic(inner: str) -> list[str]:
    """Split ``"str, List[str]"`` at top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i].strip())
            start = i + 1
    parts.append(inner[start:].strip())
    return parts


def _parse_type(text: str, go_kind: str, field: str, description: str) -> _T:
    """Turn a client type string (``List[V1Container]``, ``dict(str, str)``...) into a :class:`_T`."""
    text = text.strip()
    for opener, closer in (("List[", "]"), ("list[", "]")):
        if text.startswith(opener) and text.endswith(closer):
            return _T("array", item=_parse_type(text[len(opener):-1], go_kind, field, description))
    for opener, closer in (("Dict[", "]"), ("dict[", "]"), ("dict(", ")")):
        if text.startswith(opener) and text.endswith(closer):
            _key, value = _split_generic(text[len(opener):-1])
            return _T("map", item=_parse_type(value, go_kind, field, description))
    if text in _PRIMITIVES:
        if (go_kind, field) in _QUANTITY_FIELDS and text in ("str", "object"):
            return _SCALARS["quantity"]
        if text == "str":
            return _SCALARS["string"]
        if text == "int":
            return _SCALARS["int64" if field in _INT64_FIELDS or (go_kind, field) in _INT64_IN else "int32"]
        if text == "bool":
            return _SCALARS["bool"]
        if text == "float":
            return _SCALARS["number"]
        if text == "datetime":
            return _SCALARS["microtime" if (go_kind, field) in _MICRO_TIME_FIELDS else "time"]
        if text == "date":
            return _SCALARS["date"]
        if text == "bytes":
            return _SCALARS["bytes"]
        if (go_kind, field) in _INT_OR_STRING_FIELDS or _INT_OR_STRING_HINT.search(description):
            return _SCALARS["intstr"]
        return _SCALARS["any"]
    return _T("model", ref=text)


# --------------------------------------------------------------------------------------------
# Model metadata, from the client (or from the disk cache)
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Field:
    name: str  # JSON name
    type: _T
    description: str
    required: bool


@dataclass(slots=True)
class _Model:
    name: str  # client class name, e.g. V1PodSpec
    kind: str  # Go type name, e.g. PodSpec
    version: str  # Go package version, e.g. v1
    prefix_group: str | None  # "core" for CoreV1Event, else None
    description: str
    fields: dict[str, _Field]


def split_model_name(name: str) -> tuple[str | None, str, str]:
    """Split a client model name into (group word, version, Go type name).

    Args:
        name: e.g. ``V1PodSpec``, ``CoreV1Event``, ``V1beta1CronJob``.

    Returns:
        ``(None, "v1", "PodSpec")``, ``("core", "v1", "Event")``...
    """
    m = _NAME_RE.match(name)
    if not m:
        return None, "v1", name
    group = m.group("group")
    return (group.lower() if group else None), m.group("version").lower(), m.group("kind")


def _class_description(cls: type) -> str:
    doc = cls.__dict__.get("__doc__") or ""
    if "auto generated" in doc or "OpenAPI Generator" in doc:
        return ""  # the legacy client's boilerplate, not a description
    lines = [line.strip() for line in doc.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line.startswith("Attributes:"):
            break
        out.append(line)
    return "\n".join(out).strip()


def _legacy_property_description(doc: str | None) -> str:
    if not doc:
        return ""
    lines = [line.replace("# noqa: E501", "").strip() for line in doc.strip().splitlines()]
    out: list[str] = []
    for line in lines[1:]:  # the first line is "Gets the x of this Y."
        if line.startswith(":return:") or line.startswith(":rtype:"):
            break
        out.append(line)
    return "\n".join(out).strip()


def _raw_model(cls: type) -> dict[str, Any]:
    """The plain metadata of one client model class (JSON-serialisable, cacheable)."""
    openapi_types: dict[str, str] = cls.openapi_types  # type: ignore[attr-defined]
    attribute_map: dict[str, str] = cls.attribute_map  # type: ignore[attr-defined]
    pydantic_fields = cls.__dict__.get("__pydantic_fields__") or getattr(cls, "__pydantic_fields__", None)
    by_json: dict[str, Any] = {}
    if pydantic_fields:
        for attr, info in pydantic_fields.items():
            by_json[info.serialization_alias or info.alias or attr] = info
    fields = []
    for attr, type_text in openapi_types.items():
        json_name = attribute_map[attr]
        if pydantic_fields:
            info = by_json.get(json_name)
            description = (info.description or "") if info is not None else ""
            required = bool(info is not None and info.is_required())
        else:  # legacy client: descriptions in property docstrings, checks in setters
            prop = getattr(cls, attr, None)
            description = _legacy_property_description(getattr(getattr(prop, "fget", None), "__doc__", None))
            setter = getattr(prop, "fset", None)
            consts = getattr(getattr(setter, "__code__", None), "co_consts", ()) or ()
            required = f"Invalid value for `{attr}`, must not be `None`" in consts
        fields.append([json_name, type_text, description, required])
    return {"description": _class_description(cls), "fields": fields}


def _client_fingerprint() -> str:
    """Identify the installed client and this module, cheaply (without importing the client)."""
    from importlib import metadata

    try:
        version = metadata.version("kubernetes")
    except metadata.PackageNotFoundError:  # pragma: no cover - the client is a dependency
        version = "absent"
    own = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return f"{version}-{own}"


def cache_dir() -> Path | None:
    """Where extracted model metadata is cached: ``$KK_OPENAPI_CACHE``, else ``~/.cache/kk``.

    ``KK_OPENAPI_CACHE=off`` (or empty) disables the cache.
    """
    env = os.environ.get("KK_OPENAPI_CACHE")
    if env is not None:
        return None if env.strip() in ("", "off", "0", "no") else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "kk"


def _valid_raw(raw: Any) -> bool:
    """Whether a cache entry has the shape :func:`_raw_model` writes."""
    return (isinstance(raw, dict) and isinstance(raw.get("description"), str)
            and isinstance(raw.get("fields"), list)
            and all(isinstance(f, list) and len(f) == 4 and isinstance(f[0], str) and isinstance(f[1], str)
                    and isinstance(f[2], str) and isinstance(f[3], bool) for f in raw["fields"]))


class _Catalog:
    """Client model metadata, loaded lazily from the client or from the disk cache."""

    def __init__(self, cache: Path | None | bool = True) -> None:
        self._lock = threading.RLock()
        self._raw: dict[str, dict[str, Any]] = {}
        self._models: dict[str, _Model] = {}
        self._cache_path: Path | None = None
        self._dirty = False
        if cache is True:
            base = cache_dir()
        elif cache is False or cache is None:
            base = None
        else:
            base = Path(cache)
        if base is not None:
            self._cache_path = base / f"openapi-models-{_client_fingerprint()}.json"
            try:
                loaded = json.loads(self._cache_path.read_text())
                if isinstance(loaded, dict):
                    self._raw.update({name: raw for name, raw in loaded.items() if _valid_raw(raw)})
            except (OSError, ValueError):
                pass

    def model(self, name: str) -> _Model:
        """The metadata of the client model ``name`` (e.g. ``V1PodSpec``)."""
        found = self._models.get(name)
        if found is not None:
            return found
        with self._lock:
            raw = self._raw.get(name)
            if raw is None:
                import kubernetes.client.models as client_models

                cls = getattr(client_models, name, None)
                if cls is None or not hasattr(cls, "openapi_types"):
                    raise KeyError(f"no model {name!r} in the kubernetes client")
                raw = self._raw[name] = _raw_model(cls)
                self._dirty = True
            group, version, kind = split_model_name(name)
            fields = {
                json_name: _Field(json_name, _parse_type(type_text, kind, json_name, description),
                                  description, required)
                for json_name, type_text, description, required in raw["fields"]
            }
            model = _Model(name, kind, version, group, raw["description"], fields)
            self._models[name] = model
            return model

    def ensure(self, roots: Iterable[str]) -> None:
        """Load every model reachable from ``roots`` and save what was new to the disk cache."""
        self.closure(roots)
        self.save()

    def closure(self, roots: Iterable[str]) -> list[str]:
        """Every model reachable from ``roots``, in breadth-first order."""
        seen: dict[str, None] = {}
        queue = list(roots)
        while queue:
            name = queue.pop(0)
            if name in seen:
                continue
            seen[name] = None
            for f in self.model(name).fields.values():
                t = f.type
                while t.item is not None:
                    t = t.item
                if t.kind == "model" and t.ref not in seen:
                    queue.append(t.ref)  # type: ignore[arg-type]
        return list(seen)

    def save(self) -> None:
        """Write newly extracted metadata to the disk cache (atomically; errors ignored)."""
        with self._lock:
            if not self._dirty or self._cache_path is None:
                return
            try:
                self._cache_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self._cache_path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(self._raw, separators=(",", ":")))
                os.replace(tmp, self._cache_path)
                self._dirty = False
            except OSError:
                pass


_default_catalog: _Catalog | None = None
_default_lock = threading.RLock()


def _catalog() -> _Catalog:
    global _default_catalog
    if _default_catalog is None:
        with _default_lock:
            if _default_catalog is None:
                _default_catalog = _Catalog()
    return _default_catalog


# --------------------------------------------------------------------------------------------
# Definition names
# --------------------------------------------------------------------------------------------


def _group_package(group: str) -> str:
    """``""`` -> ``core``, ``apps`` -> ``apps``, ``discovery.k8s.io`` -> ``discovery``."""
    return "core" if not group else group.split(".")[0]


def _subresource_model(kind: str, group_version: str) -> str:
    version = group_version.rsplit("/", 1)[-1]
    return version[0].upper() + version[1:] + kind


def _list_model(model: str) -> str:
    return model + "List"


def _roots(resources: Iterable[ResourceType]) -> list[str]:
    """Every model the documents of ``resources`` start from."""
    roots: list[str] = []
    for rt in resources:
        roots += [rt.model, _list_model(rt.model)]
        roots += [_subresource_model(kind, gv) for kind, gv in rt.subresources.values() if kind and gv]
    return roots + list(_EXTRA_CORE_MODELS) + ["V1Status", "V1DeleteOptions"]


class _Names:
    """Client model name -> Go definition name, for the models reachable from some resources."""

    def __init__(self, catalog: _Catalog, resources: Iterable[ResourceType]) -> None:
        resources = tuple(resources)
        self.catalog = catalog
        self.package: dict[str, str] = {}
        order = {g: i for i, g in enumerate(("",) + GROUP_ORDER)}
        roots: dict[str, list[str]] = {}
        for rt in sorted(resources, key=lambda r: order.get(r.group, len(order))):
            pkg = _group_package(rt.group)
            roots.setdefault(pkg, []).extend([rt.model, _list_model(rt.model)])
            for kind, gv in rt.subresources.values():
                if kind and gv:
                    sub_group = gv.rsplit("/", 1)[0] if "/" in gv else ""
                    roots.setdefault(_group_package(sub_group), []).append(_subresource_model(kind, gv))
        roots.setdefault("core", []).extend(_EXTRA_CORE_MODELS)
        ordered = ["core"] + [p for p in roots if p != "core"]
        for name in _META_MODELS:
            self.package[name] = META
        for pkg in ordered:
            for name in catalog.closure(roots[pkg]):
                if name in self.package:
                    continue
                group_word, version, _kind = split_model_name(name)
                self.package[name] = f"io.k8s.api.{group_word or pkg}.{version}"

    def definition(self, name: str) -> str:
        """``V1PodSpec`` -> ``io.k8s.api.core.v1.PodSpec``."""
        group_word, version, kind = split_model_name(name)
        pkg = self.package.get(name)
        if pkg is None:
            pkg = META if name in _META_MODELS else f"io.k8s.api.{group_word or 'core'}.{version}"
        return f"{pkg}.{kind}"


_default_names: _Names | None = None


def _names() -> _Names:
    global _default_names
    if _default_names is None:
        with _default_lock:
            if _default_names is None:
                _default_names = _Names(_catalog(), RESOURCES)
    return _default_names


def definition_name(model: str) -> str:
    """The Go-style definition name of a client model, as the documents use it.

    Args:
        model: Client model name, e.g. ``V1PodSpec`` or ``CoreV1Event``.

    Returns:
        e.g. ``io.k8s.api.core.v1.PodSpec``, ``io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta``.
    """
    return _names().definition(model)


def list_meta(model: str, field: str) -> FieldMeta:
    """Merge/list facts of one field, for the strategic-merge-patch code.

    Args:
        model: A definition name (``io.k8s.api.core.v1.PodSpec``) or a client
            model name (``V1PodSpec``).
        field: The JSON field name (``containers``).

    Returns:
        The :class:`FieldMeta`; all ``None`` (replace the list) when the table
        has nothing for the field.
    """
    definition = model if model.startswith("io.k8s.") else definition_name(model)
    return FIELD_META.get((definition, field), FieldMeta())


class FieldFacts(NamedTuple):
    """What a patch needs to know about one field of one model (see :func:`field_facts`).

    Attributes:
        model: The client model of the field's objects, looking through lists and
            maps (``V1Container`` for ``PodSpec.containers``); ``None`` for scalars
            and free-form objects.
        container: ``"array"`` or ``"map"`` when the field holds a list or a map
            (``labels``, ``data``, ``resources.limits``), else ``None``.
        meta: The field's :data:`FIELD_META` entry (all ``None`` when it has none).
        atomic: Whether server-side apply treats the value as one unit: a
            ``+mapType=atomic`` map or a ``+structType=atomic`` object.
    """

    model: str | None
    container: str | None
    meta: FieldMeta
    atomic: bool


def field_facts(model: str, field: str) -> FieldFacts | None:
    """Everything the patch code needs about ``field`` of the client model ``model``.

    Args:
        model: A client model name (``V1PodSpec``).
        field: The JSON field name (``containers``).

    Returns:
        The :class:`FieldFacts`, or ``None`` when the model has no such field.
    """
    f = _catalog().model(model).fields.get(field)
    if f is None:
        return None
    t = f.type
    container = t.kind if t.kind in ("array", "map") else None
    while t.item is not None:
        t = t.item
    child = t.ref if t.kind == "model" else None
    meta = list_meta(model, field)
    atomic = meta.map_type == "atomic" or (
        child is not None and container is None and definition_name(child) in ATOMIC_STRUCTS)
    return FieldFacts(child, container, meta, atomic)


def is_atomic_struct(model: str) -> bool:
    """Whether the client model ``model`` is a ``+structType=atomic`` type (``V1LabelSelector``)."""
    return definition_name(model) in ATOMIC_STRUCTS


def field_model(model: str, field: str) -> str | None:
    """The client model of a field's objects, looking through lists and maps.

    ``field_model("V1PodSpec", "containers") == "V1Container"``; ``None`` for
    scalar fields, free-form objects and unknown fields. With :func:`list_meta`
    this lets a patch walk an object: start at ``ResourceType.model``.
    """
    f = _catalog().model(model).fields.get(field)
    if f is None:
        return None
    t = f.type
    while t.item is not None:
        t = t.item
    return t.ref if t.kind == "model" else None


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------


def _ref(definition: str) -> dict[str, Any]:
    return {"$ref": _REF + definition}


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def _split_gv(group_version: str) -> tuple[str, str]:
    return tuple(group_version.rsplit("/", 1)) if "/" in group_version else ("", group_version)  # type: ignore[return-value]


class _SchemaBuilder:
    def __init__(self, names: _Names, gvks: dict[str, list[dict[str, str]]]) -> None:
        self.names = names
        self.catalog = names.catalog
        self.gvks = gvks
        self.cache: dict[str, dict[str, Any]] = {}

    def type_schema(self, t: _T, wrap: bool) -> dict[str, Any]:
        """Schema of a type; references are wrapped in ``allOf`` when ``wrap``."""
        kind = t.kind
        if kind == "model":
            ref = _ref(self.names.definition(t.ref))  # type: ignore[arg-type]
            return {"allOf": [ref]} if wrap else ref
        if kind == "array":
            return {"type": "array", "items": self.type_schema(t.item, True)}  # type: ignore[arg-type]
        if kind == "map":
            return {"type": "object", "additionalProperties": self.type_schema(t.item, True)}  # type: ignore[arg-type]
        target = {"time": TIME, "microtime": MICRO_TIME, "intstr": INT_OR_STRING, "quantity": QUANTITY}.get(kind)
        if target:
            return {"allOf": [_ref(target)]} if wrap else _ref(target)
        if kind == "string":
            return {"type": "string"}
        if kind in ("int32", "int64"):
            return {"type": "integer", "format": kind}
        if kind == "bool":
            return {"type": "boolean"}
        if kind == "number":
            return {"type": "number", "format": "double"}
        if kind == "bytes":
            return {"type": "string", "format": "byte"}
        if kind == "date":
            return {"type": "string", "format": "date"}
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

    def model_schema(self, name: str) -> dict[str, Any]:
        cached = self.cache.get(name)
        if cached is not None:
            return cached
        model = self.catalog.model(name)
        definition = self.names.definition(name)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for f in model.fields.values():
            prop = self.type_schema(f.type, True)
            if f.description:
                prop["description"] = f.description
            meta = FIELD_META.get((definition, f.name))
            if meta is not None:
                if meta.strategy:
                    prop["x-kubernetes-patch-strategy"] = meta.strategy
                if meta.merge_key:
                    prop["x-kubernetes-patch-merge-key"] = meta.merge_key
                if meta.list_type:
                    prop["x-kubernetes-list-type"] = meta.list_type
                if meta.map_keys:
                    prop["x-kubernetes-list-map-keys"] = list(meta.map_keys)
                if meta.map_type:
                    prop["x-kubernetes-map-type"] = meta.map_type
            properties[f.name] = prop
            if f.required:
                required.append(f.name)
        schema: dict[str, Any] = {}
        if model.description:
            schema["description"] = model.description
        schema["type"] = "object"
        schema["properties"] = properties
        if required:
            schema["required"] = required
        gvk = self.gvks.get(name)
        if gvk:
            schema["x-kubernetes-group-version-kind"] = gvk
        if definition in ATOMIC_STRUCTS:
            schema["x-kubernetes-map-type"] = "atomic"
        self.cache[name] = schema
        return schema

    def components(self, roots: Iterable[str]) -> dict[str, Any]:
        schemas: dict[str, Any] = {}
        extra: set[str] = set()
        for name in self.catalog.closure(roots):
            schemas[self.names.definition(name)] = self.model_schema(name)
            for f in self.catalog.model(name).fields.values():
                t = f.type
                while t.item is not None:
                    t = t.item
                if t.kind in ("time", "microtime", "intstr", "quantity"):
                    extra.add(t.kind)
        if "time" in extra:
            schemas[TIME] = {"description": _OWN_DESCRIPTIONS[TIME], "type": "string", "format": "date-time"}
        if "microtime" in extra:
            schemas[MICRO_TIME] = {"description": _OWN_DESCRIPTIONS[MICRO_TIME], "type": "string",
                                   "format": "date-time"}
        if "intstr" in extra:
            schemas[INT_OR_STRING] = {"description": _OWN_DESCRIPTIONS[INT_OR_STRING], "type": "string",
                                      "format": "int-or-string"}
        if "quantity" in extra:
            schemas[QUANTITY] = {"description": _OWN_DESCRIPTIONS[QUANTITY], "type": "string"}
        schemas[PATCH] = {"description": _OWN_DESCRIPTIONS[PATCH], "type": "object"}
        return dict(sorted(schemas.items()))


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------

_JSON_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_WATCH_TYPES = ("application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": kind, "uniqueItems": True}}


_P_PRETTY = _query("pretty", "If 'true', the output is indented.")
_P_DRY_RUN = _query("dryRun", "When present (value All), the request is checked and answered but "
                              "nothing is stored.")
_P_FIELD_MANAGER = _query("fieldManager", "Name of the actor making the change, recorded in "
                                          "managedFields.")
_P_FIELD_VALIDATION = _query(
    "fieldValidation",
    "What to do with unknown or duplicate fields in the body: Ignore drops them, Warn drops them "
    "and answers with a Warning header for each, Strict rejects the request.")
_P_FORCE = _query("force", "Server-side apply: take over fields other managers own.", "boolean")
_P_GRACE = _query("gracePeriodSeconds", "Seconds before the object is deleted; 0 deletes at once.",
                  "integer")
_P_PROPAGATION = _query("propagationPolicy", "Garbage collection of dependents: Orphan, Background "
                                             "or Foreground.")
_P_ORPHAN = _query("orphanDependents", "Deprecated: use propagationPolicy.", "boolean")
_LIST_PARAMS = [
    _query("allowWatchBookmarks", "Ask for BOOKMARK events in a watch.", "boolean"),
    _query("continue", "Token from a previous page of a paginated list."),
    _query("fieldSelector", "Select objects by fields, e.g. metadata.name=web."),
    _query("labelSelector", "Select objects by labels, e.g. app=web,tier!=db."),
    _query("limit", "Maximum number of items in one page.", "integer"),
    _query("resourceVersion", "Read at (or newer than) this resourceVersion."),
    _query("resourceVersionMatch", "How resourceVersion is matched: Exact or NotOlderThan."),
    _query("sendInitialEvents", "Start a watch with ADDED events for the current objects.", "boolean"),
    _query("timeoutSeconds", "End the list or watch after this many seconds.", "integer"),
    _query("watch", "Watch for changes instead of listing.", "boolean"),
]


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "description": description, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


def _content(schema: dict[str, Any], types: Iterable[str]) -> dict[str, Any]:
    return {t: {"schema": schema} for t in types}


def _op_group_word(group: str, version: str) -> str:
    word = "".join(p.capitalize() for p in _group_package(group).split("-"))
    return word + version.capitalize()


class _PathBuilder:
    def __init__(self, names: _Names) -> None:
        self.names = names

    def ref(self, model: str) -> dict[str, Any]:
        return _ref(self.names.definition(model))

    def op(self, *, op_id: str, action: str, gvk: dict[str, str], tag: str, description: str,
           response: dict[str, Any] | None, codes: tuple[str, ...] = ("200",),
           params: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None,
           body_types: Iterable[str] = ("*/*",), response_types: Iterable[str] = _JSON_TYPES) -> dict[str, Any]:
        operation: dict[str, Any] = {"tags": [tag], "description": description, "operationId": op_id}
        if params:
            operation["parameters"] = params
        if body is not None:
            operation["requestBody"] = {"content": _content(body, body_types), "required": True}
        responses: dict[str, Any] = {}
        for code in codes:
            reply: dict[str, Any] = {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code]}
            if response is not None:
                reply["content"] = _content(response, response_types)
            responses[code] = reply
        responses["401"] = {"description": "Unauthorized"}
        operation["responses"] = responses
        operation["x-kubernetes-action"] = action
        operation["x-kubernetes-group-version-kind"] = dict(gvk)
        return operation

    def resource_paths(self, rt: ResourceType) -> dict[str, Any]:
        prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
        word = _op_group_word(rt.group, rt.version)
        scope = "Namespaced" if rt.namespaced else ""
        tag = f"{_group_package(rt.group)}_{rt.version}"
        gvk = _gvk(rt.group, rt.version, rt.kind)
        obj, lst = self.ref(rt.model), self.ref(_list_model(rt.model))
        verbs = set(rt.verbs)
        writes = [_P_DRY_RUN, _P_FIELD_MANAGER, _P_FIELD_VALIDATION]
        deletes = [_P_DRY_RUN, _P_GRACE, _P_ORPHAN, _P_PROPAGATION]
        p_ns = _path_param("namespace", "object name and auth scope, such as for teams and projects")
        p_name = _path_param("name", f"name of the {rt.kind}")
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        scope_params = [p_ns] if rt.namespaced else []
        paths: dict[str, Any] = {}

        collection: dict[str, Any] = {}
        if "list" in verbs:
            collection["get"] = self.op(
                op_id=f"list{word}{scope}{rt.kind}", action="list", gvk=gvk, tag=tag,
                description=f"list or watch objects of kind {rt.kind}", response=lst,
                params=list(_LIST_PARAMS), response_types=_JSON_TYPES + _WATCH_TYPES)
        if "create" in verbs:
            collection["post"] = self.op(
                op_id=f"create{word}{scope}{rt.kind}", action="post", gvk=gvk, tag=tag,
                description=f"create a {rt.kind}", response=obj, codes=("200", "201", "202"),
                params=writes, body=obj)
        if "deletecollection" in verbs:
            collection["delete"] = self.op(
                op_id=f"deletecollection{word}{scope}{rt.kind}", action="deletecollection", gvk=gvk,
                tag=tag, description=f"delete collection of {rt.kind}", response=self.ref("V1Status"),
                params=deletes + list(_LIST_PARAMS), body=self.ref("V1DeleteOptions"))
        if collection:
            collection["parameters"] = scope_params + [_P_PRETTY]
            paths[base] = collection

        item: dict[str, Any] = {}
        if "get" in verbs:
            item["get"] = self.op(op_id=f"read{word}{scope}{rt.kind}", action="get", gvk=gvk, tag=tag,
                                  description=f"read the specified {rt.kind}", response=obj)
        if "update" in verbs:
            item["put"] = self.op(op_id=f"replace{word}{scope}{rt.kind}", action="put", gvk=gvk, tag=tag,
                                  description=f"replace the specified {rt.kind}", response=obj,
                                  codes=("200", "201"), params=writes, body=obj)
        if "patch" in verbs:
            item["patch"] = self.op(op_id=f"patch{word}{scope}{rt.kind}", action="patch", gvk=gvk, tag=tag,
                                    description=f"partially update the specified {rt.kind}", response=obj,
                                    codes=("200", "201"), params=writes + [_P_FORCE],
                                    body=_ref(PATCH), body_types=_PATCH_TYPES)
        if "delete" in verbs:
            item["delete"] = self.op(op_id=f"delete{word}{scope}{rt.kind}", action="delete", gvk=gvk, tag=tag,
                                     description=f"delete a {rt.kind}", response=self.ref("V1Status"),
                                     codes=("200", "202"), params=deletes, body=self.ref("V1DeleteOptions"))
        if item:
            item["parameters"] = [p_name] + scope_params + [_P_PRETTY]
            paths[f"{base}/{{name}}"] = item

        if rt.namespaced and "list" in verbs:
            paths[f"{prefix}/{rt.plural}"] = {
                "get": self.op(op_id=f"list{word}{rt.kind}ForAllNamespaces", action="list", gvk=gvk, tag=tag,
                               description=f"list or watch objects of kind {rt.kind}", response=lst,
                               params=list(_LIST_PARAMS), response_types=_JSON_TYPES + _WATCH_TYPES),
                "parameters": [_P_PRETTY],
            }

        for sub, (sub_kind, sub_gv) in rt.subresources.items():
            paths[f"{base}/{{name}}/{sub}"] = self.subresource(rt, sub, sub_kind, sub_gv, word, scope, tag,
                                                               [p_name] + scope_params + [_P_PRETTY])
        return paths

    def subresource(self, rt: ResourceType, sub: str, sub_kind: str, sub_gv: str, word: str, scope: str,
                    tag: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        title = sub.capitalize()
        op_base = f"{word}{scope}{rt.kind}{title}"
        writes = [_P_DRY_RUN, _P_FIELD_MANAGER, _P_FIELD_VALIDATION]
        if sub_kind and sub_gv:
            group, version = _split_gv(sub_gv)
            gvk = _gvk(group, version, sub_kind)
            model = _subresource_model(sub_kind, sub_gv)
        else:
            gvk = _gvk(rt.group, rt.version, rt.kind)
            model = rt.model
        obj = self.ref(model)
        out: dict[str, Any] = {}
        if sub in ("status", "scale"):
            out["get"] = self.op(op_id=f"read{op_base}", action="get", gvk=gvk, tag=tag,
                                 description=f"read {sub} of the specified {rt.kind}", response=obj)
            out["put"] = self.op(op_id=f"replace{op_base}", action="put", gvk=gvk, tag=tag,
                                 description=f"replace {sub} of the specified {rt.kind}", response=obj,
                                 codes=("200", "201"), params=writes, body=obj)
            out["patch"] = self.op(op_id=f"patch{op_base}", action="patch", gvk=gvk, tag=tag,
                                   description=f"partially update {sub} of the specified {rt.kind}",
                                   response=obj, codes=("200", "201"), params=writes + [_P_FORCE],
                                   body=_ref(PATCH), body_types=_PATCH_TYPES)
        elif sub == "log":
            log_params = [_query("container", "The container whose log to read."),
                          _query("follow", "Stream the log as it grows.", "boolean"),
                          _query("previous", "Read the log of the previous run of the container.", "boolean"),
                          _query("sinceSeconds", "Only lines newer than this many seconds.", "integer"),
                          _query("tailLines", "Only this many lines from the end.", "integer"),
                          _query("timestamps", "Prefix every line with its timestamp.", "boolean")]
            out["get"] = self.op(op_id=f"read{op_base}", action="get", gvk=gvk, tag=tag,
                                 description=f"read log of the specified {rt.kind}", response={"type": "string"},
                                 params=log_params, response_types=("text/plain", "application/json"))
        elif sub == "finalize":
            out["put"] = self.op(op_id=f"replace{op_base}", action="put", gvk=gvk, tag=tag,
                                 description=f"replace finalize of the specified {rt.kind}", response=obj,
                                 codes=("200", "201"), params=writes, body=obj)
        else:  # binding, eviction: create-only
            out["post"] = self.op(op_id=f"create{op_base}", action="post", gvk=gvk, tag=tag,
                                  description=f"create {sub} of a {rt.kind}", response=obj,
                                  codes=("200", "201", "202"), params=writes, body=obj)
        out["parameters"] = params
        return out


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


def _doc_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


class OpenAPIV3:
    """The ``/openapi/v3`` documents of a set of resource types, built lazily and cached.

    Thread-safe; the first call to :meth:`root`, :meth:`document` or
    :meth:`document_bytes` builds every document (see the module docstring for
    the cost). Returned dicts are shared: do not modify them.

    Args:
        resources: The served types; one document per group-version.
        cache: Disk cache of extracted client metadata: ``True`` for
            :func:`cache_dir`, a directory, or ``False`` for none.
    """

    def __init__(self, resources: Iterable[ResourceType] = RESOURCES, cache: Path | str | bool = True) -> None:
        self.resources = tuple(resources)
        self._cache = cache
        self._lock = threading.Lock()
        self._docs: dict[str, dict[str, Any]] | None = None
        self._bytes: dict[str, bytes] = {}
        self._hashes: dict[str, str] = {}

    def _catalog(self) -> _Catalog:
        if self._cache is True:
            return _catalog()
        return _Catalog(cache=self._cache if self._cache else False)

    def _build(self) -> dict[str, dict[str, Any]]:
        catalog = self._catalog()
        names = _names() if catalog is _default_catalog and self.resources == RESOURCES else _Names(
            catalog, self.resources)
        gvks: dict[str, list[dict[str, str]]] = {}
        for rt in self.resources:
            gvks.setdefault(rt.model, []).append(_gvk(rt.group, rt.version, rt.kind))
            gvks.setdefault(_list_model(rt.model), []).append(_gvk(rt.group, rt.version, rt.list_kind))
            for kind, gv in rt.subresources.values():
                if kind and gv:
                    entry = _gvk(*_split_gv(gv), kind)
                    bucket = gvks.setdefault(_subresource_model(kind, gv), [])
                    if entry not in bucket:
                        bucket.append(entry)
        gvks["V1Status"] = [_gvk("", "v1", "Status")]
        served = []
        for rt in self.resources:
            if (rt.group, rt.version) not in served:
                served.append((rt.group, rt.version))
        gvks["V1DeleteOptions"] = [_gvk(g, v, "DeleteOptions") for g, v in served]
        schemas = _SchemaBuilder(names, gvks)
        paths = _PathBuilder(names)
        order = {g: i for i, g in enumerate(("",) + GROUP_ORDER)}
        docs: dict[str, dict[str, Any]] = {}
        for group, version in sorted(served, key=lambda gv: order.get(gv[0], len(order))):
            members = [rt for rt in self.resources if (rt.group, rt.version) == (group, version)]
            doc_paths: dict[str, Any] = {}
            roots: list[str] = []
            for rt in members:
                doc_paths.update(paths.resource_paths(rt))
                roots += [rt.model, _list_model(rt.model)]
                roots += [_subresource_model(k, gv) for k, gv in rt.subresources.values() if k and gv]
            roots += ["V1Status", "V1DeleteOptions"]
            docs[_doc_path(group, version)] = {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": "unversioned"},
                "paths": doc_paths,
                "components": {
                    "schemas": schemas.components(roots),
                    "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token "
                                                        "authentication", "name": "authorization",
                                                        "in": "header"}},
                },
                "security": [{"BearerToken": []}],
            }
        catalog.save()
        return docs

    def _ensure(self) -> dict[str, dict[str, Any]]:
        if self._docs is None:
            with self._lock:
                if self._docs is None:
                    docs = self._build()
                    for path, doc in docs.items():
                        data = json.dumps(doc, separators=(",", ":")).encode()
                        self._bytes[path] = data
                        self._hashes[path] = hashlib.sha512(data).hexdigest().upper()
                    self._docs = docs
        return self._docs

    def root(self) -> dict[str, Any]:
        """The ``/openapi/v3`` discovery document: every group-version with its hashed URL."""
        self._ensure()
        return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={self._hashes[path]}"}
                          for path in self._bytes}}

    def hash(self, path: str) -> str | None:
        """The hash in the root's URL for ``path`` (SHA-512 of the document bytes), if served."""
        self._ensure()
        return self._hashes.get(path.strip("/"))

    def cache_headers(self, path: str, requested_hash: str | None) -> dict[str, str]:
        """HTTP headers to send with a document, as a real server does.

        With ``?hash=`` equal to the current hash the answer is marked immutable
        for a year, and kubectl then reads the document from its disk cache on
        later runs instead of downloading it again (it still fetches the root).
        A server should answer a *different* ``hash`` with a 301 redirect to
        the root's ``serverRelativeURL``.

        Args:
            path: The group-version path (``apis/apps/v1``).
            requested_hash: The request's ``hash`` query value, if any.

        Returns:
            ``ETag`` and ``Vary`` always; ``Cache-Control`` and ``Expires`` too
            when the hash matches. Empty for an unknown path.
        """
        current = self.hash(path)
        if current is None:
            return {}
        headers = {"ETag": f'"{current}"', "Vary": "Accept"}
        if requested_hash == current:
            headers["Cache-Control"] = "public, immutable"
            headers["Expires"] = formatdate(time.time() + 365 * 86400, usegmt=True)
        return headers

    def document(self, path: str) -> dict[str, Any] | None:
        """The document of one group-version (``api/v1``, ``apis/apps/v1``), or ``None``."""
        return self._ensure().get(path.strip("/"))

    def document_bytes(self, path: str) -> bytes | None:
        """The JSON encoding of :meth:`document`, encoded once and cached."""
        self._ensure()
        return self._bytes.get(path.strip("/"))


# --------------------------------------------------------------------------------------------
# Decoding checks for the write path
# --------------------------------------------------------------------------------------------


_validation_ready = False


def warm_model_cache() -> None:
    """Extract every served model's metadata into the disk cache now.

    The install scripts call it, so the first sandbox start does not pay for importing the client's
    models (measured: about 850 ms to ready with an empty cache, 300-400 ms with it).
    """
    global _validation_ready
    _catalog().ensure(_roots(RESOURCES))
    _validation_ready = True


def _model_for(rt: ResourceType | str) -> _Model:
    if not _validation_ready:
        # Load (and cache) every served model at once, so that the disk cache is complete
        # and later writes never pay for importing the client.
        warm_model_cache()
    return _catalog().model(rt if isinstance(rt, str) else rt.model)


def unknown_fields(rt: ResourceType | str, obj: dict[str, Any], *, drop: bool = False) -> list[str]:
    """Fields of ``obj`` its schema does not have, as a strict decoder names them.

    Paths look like ``spec.template.spec.containers[0].imagee`` or
    ``metadata.labelz``, in document order. Maps (labels, annotations, data,
    resources.limits...) take any key; free-form objects take anything; values
    of the wrong type are not looked into (see :func:`wrong_type_fields`).

    Args:
        rt: The resource type, or a client model name (``"V1Scale"``).
        obj: The decoded JSON body.
        drop: Also delete the unknown fields from ``obj`` (in place), as decoding
            into a typed object does whatever ``fieldValidation`` says.

    Returns:
        The unknown paths; empty when every field is known.
    """
    out: list[str] = []
    if isinstance(obj, dict):
        _unknown_in(_model_for(rt), obj, "", out, drop)
    return out


def _unknown_in(model: _Model, obj: dict[str, Any], path: str, out: list[str], drop: bool) -> None:
    fields = model.fields
    for key, value in list(obj.items()):
        where = f"{path}.{key}" if path else key
        f = fields.get(key)
        if f is None:
            out.append(where)
            if drop:
                del obj[key]
        elif value is not None:
            _unknown_value(f.type, value, where, out, drop)


def _unknown_value(t: _T, value: Any, path: str, out: list[str], drop: bool) -> None:
    kind = t.kind
    if kind == "model":
        if isinstance(value, dict):
            _unknown_in(_catalog().model(t.ref), value, path, out, drop)  # type: ignore[arg-type]
    elif kind == "array":
        if isinstance(value, list) and (t.item.kind in ("model", "array", "map")):  # type: ignore[union-attr]
            for i, item in enumerate(value):
                if item is not None:
                    _unknown_value(t.item, item, f"{path}[{i}]", out, drop)  # type: ignore[arg-type]
    elif kind == "map":
        if isinstance(value, dict) and (t.item.kind in ("model", "array", "map")):  # type: ignore[union-attr]
            for key, item in value.items():
                if item is not None:
                    _unknown_value(t.item, item, f"{path}.{key}", out, drop)  # type: ignore[arg-type]


_INT_RANGES = {"int32": (-(2 ** 31), 2 ** 31 - 1), "int64": (-(2 ** 63), 2 ** 63 - 1)}

# (Go type, field) -> the named Go type of a string field (of its items, for lists), which
# the decoder's messages name instead of "string".
_NAMED_STRINGS = {
    ("LabelSelectorRequirement", "operator"): "v1.LabelSelectorOperator",
    ("PodSpec", "restartPolicy"): "v1.RestartPolicy",
    ("PodSpec", "dnsPolicy"): "v1.DNSPolicy",
    ("PodSpec", "preemptionPolicy"): "v1.PreemptionPolicy",
    ("Container", "imagePullPolicy"): "v1.PullPolicy",
    ("Container", "terminationMessagePolicy"): "v1.TerminationMessagePolicy",
    ("ContainerPort", "protocol"): "v1.Protocol",
    ("ServicePort", "protocol"): "v1.Protocol",
    ("HTTPGetAction", "scheme"): "v1.URIScheme",
    ("EmptyDirVolumeSource", "medium"): "v1.StorageMedium",
    ("HostPathVolumeSource", "type"): "v1.HostPathType",
    ("Toleration", "operator"): "v1.TolerationOperator",
    ("Toleration", "effect"): "v1.TaintEffect",
    ("Taint", "effect"): "v1.TaintEffect",
    ("DeploymentStrategy", "type"): "v1.DeploymentStrategyType",
    ("JobSpec", "completionMode"): "v1.CompletionMode",
    ("CronJobSpec", "concurrencyPolicy"): "v1.ConcurrencyPolicy",
    ("ServiceSpec", "type"): "v1.ServiceType",
    ("ServiceSpec", "sessionAffinity"): "v1.ServiceAffinity",
    ("ServiceSpec", "externalTrafficPolicy"): "v1.ServiceExternalTrafficPolicy",
    ("ServiceSpec", "internalTrafficPolicy"): "v1.ServiceInternalTrafficPolicy",
    ("ServiceSpec", "ipFamilies"): "v1.IPFamily",
    ("ServiceSpec", "ipFamilyPolicy"): "v1.IPFamilyPolicy",
    ("NamespaceSpec", "finalizers"): "v1.FinalizerName",
    ("Secret", "type"): "v1.SecretType",
    ("ObjectMeta", "uid"): "types.UID",
    ("OwnerReference", "uid"): "types.UID",
}

# (Go type, field) -> the named Go type of a map field (``v1.ResourceList``).
_NAMED_MAPS = {
    ("ResourceRequirements", "limits"): "v1.ResourceList",
    ("ResourceRequirements", "requests"): "v1.ResourceList",
    ("PodSpec", "overhead"): "v1.ResourceList",
    ("NodeStatus", "capacity"): "v1.ResourceList",
    ("NodeStatus", "allocatable"): "v1.ResourceList",
}


def json_kind(value: Any) -> str:
    """What Go's decoder calls a JSON value in its errors: string, number, bool, array, object, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _json_literal(value: Any) -> str:
    return json.dumps(value)


def quantity_error(value: Any) -> str | None:
    """Why ``value`` is not a valid resource quantity (the server's words), or ``None``.

    Decodes as ``Quantity.UnmarshalJSON`` does, with :class:`.validation.Quantity`.
    """
    try:
        Quantity.from_json(value)
    except QuantityError as err:
        return str(err)
    return None


def base64_error(text: str) -> str | None:
    """Why Go's standard base64 decoder rejects ``text`` (its words), or ``None``.

    Mirrors ``encoding/base64.StdEncoding``: padding required, line breaks
    skipped, the offset is that of the offending byte (or of the incomplete
    last quantum).
    """
    chars = [(i, c) for i, c in enumerate(text) if c not in "\r\n"]
    n, pos = len(chars), 0

    def error(offset: int) -> str:
        return f"illegal base64 data at input byte {offset}"

    while pos < n:
        start, j = chars[pos][0], 0
        while j < 4:
            if pos == n:
                return error(start)
            offset, ch = chars[pos]
            pos += 1
            if ch == "=":
                if j < 2:
                    return error(offset)
                if j == 2:
                    if pos == n:
                        return error(len(text))
                    if chars[pos][1] != "=":
                        return error(offset)
                    pos += 1
                return error(chars[pos][0]) if pos < n else None
            if ch not in _BASE64_ALPHABET:
                return error(offset)
            j += 1
    return None


_BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _go_type(t: _T, catalog: _Catalog) -> str:
    kind = t.kind
    if kind == "model":
        model = catalog.model(t.ref)  # type: ignore[arg-type]
        return f"{model.version}.{model.kind}"
    if kind == "array":
        return "[]" + _go_type(t.item, catalog)  # type: ignore[arg-type]
    if kind == "map":
        return "map[string]" + _go_type(t.item, catalog)  # type: ignore[arg-type]
    return {"string": "string", "int32": "int32", "int64": "int64", "bool": "bool", "number": "float64",
            "time": "v1.Time", "microtime": "v1.MicroTime", "bytes": "[]uint8", "date": "string",
            "intstr": "intstr.IntOrString", "quantity": "resource.Quantity",
            "any": "interface {}"}[kind]


def wrong_type_fields(rt: ResourceType | str, obj: dict[str, Any]) -> list[tuple[str, str]]:
    """Values Go's JSON decoder would refuse, with the messages it would give.

    Each entry is ``(path, message)``; the path is written like
    :func:`unknown_fields` paths, the message like the real decoder's, e.g.
    ``json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32``.
    A server answers the first one as 400 BadRequest:
    ``<Kind> in version "<version>" cannot be handled as a <Kind>: <message>``.
    Besides type mismatches this reports malformed quantities and base64.

    Args:
        rt: The resource type, or a client model name.
        obj: The decoded JSON body.

    Returns:
        The problems in document order; empty when the body decodes.
    """
    out: list[tuple[str, str]] = []
    if isinstance(obj, dict):
        catalog = _catalog()
        _types_in(catalog, _model_for(rt), obj, "", "", out)
    return out


def _types_in(catalog: _Catalog, model: _Model, obj: dict[str, Any], path: str, go_path: str,
              out: list[tuple[str, str]]) -> None:
    for key, value in obj.items():
        f = model.fields.get(key)
        if f is None or value is None:
            continue
        named = _NAMED_MAPS.get((model.kind, key)) or _NAMED_STRINGS.get((model.kind, key))
        _types_value(catalog, f.type, value, f"{path}.{key}" if path else key,
                     f"{go_path}.{key}" if go_path else key, model.kind, out, named)


def _mismatch(value: Any, go_struct: str, go_path: str, go_type: str, literal: bool = False) -> str:
    what = json_kind(value)
    if literal:
        what = f"{what} {_json_literal(value)}"
    return f"json: cannot unmarshal {what} into Go struct field {go_struct}.{go_path} of type {go_type}"


def _types_value(catalog: _Catalog, t: _T, value: Any, path: str, go_path: str, go_struct: str,
                 out: list[tuple[str, str]], named: str | None = None) -> None:
    """Check one value of type ``t``; ``named`` is the field's named Go type, if it has one."""
    kind = t.kind
    if kind == "model":
        if isinstance(value, dict):
            _types_in(catalog, catalog.model(t.ref), value, path, go_path, out)  # type: ignore[arg-type]
        else:
            out.append((path, _mismatch(value, go_struct, go_path, _go_type(t, catalog))))
    elif kind in ("array", "map"):
        container = list if kind == "array" else dict
        if not isinstance(value, container):
            go_type = _go_type(t, catalog)
            if named and kind == "map":
                go_type = named
            elif named and t.item is not None and t.item.kind == "string":
                go_type = "[]" + named
            out.append((path, _mismatch(value, go_struct, go_path, go_type)))
            return
        items = enumerate(value) if kind == "array" else value.items()
        item_named = named if kind == "array" else None
        for index, item in items:
            if item is None:
                continue
            where = f"{path}[{index}]" if kind == "array" else f"{path}.{index}"
            _types_value(catalog, t.item, item, where, go_path, go_struct, out, item_named)  # type: ignore[arg-type]
    elif kind in ("string", "date"):
        if not isinstance(value, str):
            out.append((path, _mismatch(value, go_struct, go_path, named or "string")))
    elif kind in ("int32", "int64"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append((path, _mismatch(value, go_struct, go_path, kind)))
        else:
            low, high = _INT_RANGES[kind]
            if isinstance(value, float) or not low <= value <= high:
                out.append((path, _mismatch(value, go_struct, go_path, kind, literal=True)))
    elif kind == "bool":
        if not isinstance(value, bool):
            out.append((path, _mismatch(value, go_struct, go_path, "bool")))
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append((path, _mismatch(value, go_struct, go_path, "float64")))
    elif kind in ("time", "microtime"):
        if not isinstance(value, str):
            out.append((path, f"json: cannot unmarshal {json_kind(value)} into Go value of type string"))
    elif kind == "bytes":
        if not isinstance(value, str):
            out.append((path, _mismatch(value, go_struct, go_path, "[]uint8")))
        else:
            problem = base64_error(value)
            if problem:
                out.append((path, problem))
    elif kind == "intstr":
        if isinstance(value, str):
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append((path, f"json: cannot unmarshal {json_kind(value)} into Go value of type int32"))
        elif isinstance(value, float) or not -(2 ** 31) <= value < 2 ** 31:
            out.append((path, f"json: cannot unmarshal number {_json_literal(value)} into Go value of type int32"))
    elif kind == "quantity":
        problem = quantity_error(value)
        if problem:
            out.append((path, problem))
