"""The ServiceAccount controller (pkg/controller/serviceaccount): a ``default`` ServiceAccount everywhere.

Every active namespace gets a ``default`` ServiceAccount as soon as it exists,
and gets it back if someone deletes it.
"""

from __future__ import annotations

from typing import Iterable

from .. import errors
from ..resources import NAMESPACES, SERVICEACCOUNTS
from ..store import Event
from .base import Controller, Key
from .workloads import is_deleting, meta, write_options

DEFAULT = "default"


class ServiceAccountController(Controller):
    """Ensures the ``default`` ServiceAccount of each namespace."""

    name = "serviceaccount-controller"
    watches = (NAMESPACES, SERVICEACCOUNTS)

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is NAMESPACES:
            if ev.type == "DELETED" or is_deleting(ev.obj):
                return []
            return [("", meta(ev.obj).get("name", ""))]
        if ev.type == "DELETED" and meta(ev.obj).get("name") == DEFAULT:
            return [("", meta(ev.obj).get("namespace", ""))]
        return []

    def reconcile(self, key: Key) -> None:
        _, name = key
        ns = self.store.get(NAMESPACES, "", name)
        if ns is None or is_deleting(ns) or self.store.get(SERVICEACCOUNTS, name, DEFAULT) is not None:
            return
        try:
            self.registry.create(SERVICEACCOUNTS, name, {"metadata": {"name": DEFAULT}}, write_options())
        except errors.APIError as err:
            if err.code not in (403, 404, 409):
                raise
