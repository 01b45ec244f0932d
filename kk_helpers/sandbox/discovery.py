"""Legacy JSON discovery documents and ``/version``, built once from the resource table."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .resources import GROUP_ORDER, RESOURCES, ResourceType, group_versions, in_group_version

KUBE_VERSION = {"major": "1", "minor": "37", "gitVersion": "v1.37.0+kk.sandbox"}


def version_info() -> dict[str, str]:
    return {
        "major": KUBE_VERSION["major"],
        "minor": KUBE_VERSION["minor"],
        "emulationMajor": KUBE_VERSION["major"],
        "emulationMinor": KUBE_VERSION["minor"],
        "minCompatibilityMajor": KUBE_VERSION["major"],
        "minCompatibilityMinor": str(int(KUBE_VERSION["minor"]) - 1),
        "gitVersion": KUBE_VERSION["gitVersion"],
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions() -> dict[str, Any]:
    """``/api``: APIVersions."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def _group(name: str) -> dict[str, Any]:
    versions = [v for g, v in group_versions() if g == name]
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> dict[str, Any]:
    """``/apis``: APIGroupList."""
    groups = [g for g in GROUP_ORDER if any(r.group == g for r in RESOURCES)]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in groups]}


def api_group(name: str) -> dict[str, Any] | None:
    """``/apis/<group>``: APIGroup."""
    if not any(r.group == name for r in RESOURCES) or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def _resource_entry(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    digest = hashlib.sha256(f"{rt.group_version}/{rt.kind}".encode()).digest()
    entry["storageVersionHash"] = base64.b64encode(digest[:8]).decode()[:11]
    return entry


def _sub_entry(rt: ResourceType, sub: str, kind: str, gv: str) -> dict[str, Any]:
    verbs = {
        "status": ["get", "patch", "update"],
        "scale": ["get", "patch", "update"],
        "log": ["get"],
        "binding": ["create"],
        "eviction": ["create"],
        "finalize": ["update"],
    }[sub]
    entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                             "kind": kind or rt.kind, "verbs": verbs}
    if gv and "/" in gv:
        entry["group"], entry["version"] = gv.split("/", 1)
    elif gv:
        entry["version"] = gv
    return entry


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """``/api/v1`` or ``/apis/<g>/<v>``: APIResourceList, or None if not served."""
    rts = in_group_version(group, version)
    if not rts:
        return None
    resources: list[dict[str, Any]] = []
    for rt in sorted(rts, key=lambda r: r.plural):
        resources.append(_resource_entry(rt))
        for sub, (kind, gv) in sorted(rt.subresources.items()):
            resources.append(_sub_entry(rt, sub, kind, gv))
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
