"""The resource types the sandbox API server serves, and lookups over them.

One :class:`ResourceType` per (group, version, plural). Discovery, routing,
OpenAPI, Tables and storage all read this table, so a new type is one row here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served resource type.

    Attributes:
        group: API group; ``""`` for the core group.
        version: API version, e.g. ``"v1"``.
        kind: Object kind, e.g. ``"Deployment"``.
        plural: URL path segment, e.g. ``"deployments"``.
        singular: Lower-case singular name.
        namespaced: Whether objects live in a namespace.
        model: Name of the official client's model class (``"V1Deployment"``),
            used to generate OpenAPI schemas.
        short_names: kubectl short names (``deploy``).
        categories: Discovery categories (``all``).
        subresources: Mapping subresource name -> (kind, group_version) it
            serves; ``None`` kind means the parent's kind.
        verbs: Verbs allowed on the collection/object.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    model: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: dict[str, tuple[str, str]] = field(default_factory=dict)
    verbs: tuple[str, ...] = ALL_VERBS

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_version(self) -> str:
        """``apiVersion`` string: ``v1`` or ``apps/v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """Name used in error messages: ``pods`` or ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """Kind used in Invalid messages: ``Pod`` or ``Deployment.apps``."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def __hash__(self) -> int:
        return hash((self.group, self.version, self.plural))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceType):
            return NotImplemented
        return (self.group, self.version, self.plural) == (other.group, other.version, other.plural)


_STATUS = {"status": ("", "")}
_SCALE = {"scale": ("Scale", "autoscaling/v1")}

RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", False, "V1Namespace", ("ns",),
                 subresources={**_STATUS, "finalize": ("", "")},
                 verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    ResourceType("", "v1", "Pod", "pods", True, "V1Pod", ("po",), ("all",),
                 subresources={**_STATUS, "log": ("Pod", "v1"), "binding": ("Binding", "v1"),
                               "eviction": ("Eviction", "policy/v1")}),
    ResourceType("", "v1", "Service", "services", True, "V1Service", ("svc",), ("all",),
                 subresources=dict(_STATUS),
                 verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    ResourceType("", "v1", "Endpoints", "endpoints", True, "V1Endpoints", ("ep",)),
    ResourceType("", "v1", "Node", "nodes", False, "V1Node", ("no",), subresources=dict(_STATUS)),
    ResourceType("", "v1", "Event", "events", True, "CoreV1Event", ("ev",)),
    ResourceType("", "v1", "ConfigMap", "configmaps", True, "V1ConfigMap", ("cm",)),
    ResourceType("", "v1", "Secret", "secrets", True, "V1Secret"),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", True, "V1ServiceAccount", ("sa",)),
    ResourceType("apps", "v1", "Deployment", "deployments", True, "V1Deployment", ("deploy",), ("all",),
                 subresources={**_STATUS, **_SCALE}),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, "V1ReplicaSet", ("rs",), ("all",),
                 subresources={**_STATUS, **_SCALE}),
    ResourceType("batch", "v1", "Job", "jobs", True, "V1Job", (), ("all",), subresources=dict(_STATUS)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", True, "V1CronJob", ("cj",), ("all",),
                 subresources=dict(_STATUS)),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True, "V1EndpointSlice"),
    ResourceType("events.k8s.io", "v1", "Event", "events", True, "EventsV1Event", ("ev",)),
)

# Groups in the order discovery lists them (core first, as a real server does).
GROUP_ORDER: tuple[str, ...] = ("apps", "events.k8s.io", "batch", "discovery.k8s.io")

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.group_version, r.kind): r for r in RESOURCES}


def by_path(group: str, version: str, plural: str) -> ResourceType | None:
    """The type served at ``/api(s)/<group>/<version>/<plural>``, if any."""
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The type for an ``apiVersion``/``kind`` pair, if served."""
    return _BY_KIND.get((api_version, kind))


def group_versions() -> list[tuple[str, str]]:
    """Every (group, version) served, core first."""
    seen: list[tuple[str, str]] = []
    for r in RESOURCES:
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    order = {g: i for i, g in enumerate(("",) + GROUP_ORDER)}
    return sorted(seen, key=lambda gv: order.get(gv[0], 99))


def in_group_version(group: str, version: str) -> list[ResourceType]:
    return [r for r in RESOURCES if r.group == group and r.version == version]


# Well-known resource types, for code that needs one by name.
NAMESPACES = by_path("", "v1", "namespaces")
PODS = by_path("", "v1", "pods")
SERVICES = by_path("", "v1", "services")
ENDPOINTS = by_path("", "v1", "endpoints")
NODES = by_path("", "v1", "nodes")
EVENTS = by_path("", "v1", "events")
CONFIGMAPS = by_path("", "v1", "configmaps")
SECRETS = by_path("", "v1", "secrets")
SERVICEACCOUNTS = by_path("", "v1", "serviceaccounts")
DEPLOYMENTS = by_path("apps", "v1", "deployments")
REPLICASETS = by_path("apps", "v1", "replicasets")
JOBS = by_path("batch", "v1", "jobs")
CRONJOBS = by_path("batch", "v1", "cronjobs")
ENDPOINTSLICES = by_path("discovery.k8s.io", "v1", "endpointslices")
EVENTS_V1 = by_path("events.k8s.io", "v1", "events")
