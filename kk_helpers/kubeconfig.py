"""Merge and remove kubeconfig contexts the way ``kind`` does.

Other clusters, users and contexts in the file are left untouched; the file is
written atomically with mode 0600.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml


def default_path() -> Path:
    """The kubeconfig kubectl would use: the first entry of ``$KUBECONFIG``, else ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), "")
    return Path(first) if first else Path.home() / ".kube" / "config"


def load(path: Path) -> dict[str, Any]:
    """Read a kubeconfig; a missing or empty file is an empty config."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a kubeconfig (expected a mapping); move it away and try again")
    data.setdefault("apiVersion", "v1")
    data.setdefault("kind", "Config")
    data.setdefault("preferences", {})
    for key in ("clusters", "users", "contexts"):
        if not isinstance(data.get(key), list):
            data[key] = []
    data.setdefault("current-context", "")
    return data


def save(path: Path, data: dict[str, Any]) -> None:
    """Write atomically, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kubeconfig-")
    try:
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(data, f, default_flow_style=False, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _upsert(items: list[dict[str, Any]], entry: dict[str, Any]) -> None:
    for i, item in enumerate(items):
        if item.get("name") == entry["name"]:
            items[i] = entry
            return
    items.append(entry)


def build(context: str, server: str, *, token: str | None = None, ca_data: str | None = None,
          namespace: str | None = None, cluster: str | None = None, user: str | None = None,
          client_cert_data: str | None = None, client_key_data: str | None = None) -> dict[str, Any]:
    """A single-context kubeconfig document."""
    cluster = cluster or context
    user = user or context
    cluster_entry: dict[str, Any] = {"server": server}
    if ca_data:
        cluster_entry["certificate-authority-data"] = ca_data
    user_entry: dict[str, Any] = {}
    if token:
        user_entry["token"] = token
    if client_cert_data:
        user_entry["client-certificate-data"] = client_cert_data
    if client_key_data:
        user_entry["client-key-data"] = client_key_data
    ctx: dict[str, Any] = {"cluster": cluster, "user": user}
    if namespace:
        ctx["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster, "cluster": cluster_entry}],
        "users": [{"name": user, "user": user_entry}],
        "contexts": [{"name": context, "context": ctx}],
        "current-context": context,
    }


def merge(path: Path, doc: dict[str, Any], *, switch: bool = True) -> None:
    """Merge every cluster/user/context of ``doc`` into the file at ``path``."""
    data = load(path)
    for key in ("clusters", "users", "contexts"):
        for entry in doc.get(key, []):
            _upsert(data[key], entry)
    if switch and doc.get("current-context"):
        data["current-context"] = doc["current-context"]
    save(path, data)


def remove(path: Path, context: str) -> bool:
    """Remove a context and its cluster and user (if no other context uses them)."""
    if not path.exists():
        return False
    data = load(path)
    ctx = next((c for c in data["contexts"] if c.get("name") == context), None)
    if ctx is None:
        return False
    data["contexts"] = [c for c in data["contexts"] if c.get("name") != context]
    cluster = (ctx.get("context") or {}).get("cluster")
    user = (ctx.get("context") or {}).get("user")
    still = [c.get("context") or {} for c in data["contexts"]]
    if cluster and not any(c.get("cluster") == cluster for c in still):
        data["clusters"] = [c for c in data["clusters"] if c.get("name") != cluster]
    if user and not any(c.get("user") == user for c in still):
        data["users"] = [u for u in data["users"] if u.get("name") != user]
    if data.get("current-context") == context:
        data["current-context"] = ""
    save(path, data)
    return True
