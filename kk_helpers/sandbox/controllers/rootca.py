"""The root CA publisher (pkg/controller/certificates/rootcacertpublisher): ``kube-root-ca.crt`` everywhere.

Every namespace gets a ConfigMap ``kube-root-ca.crt`` whose ``ca.crt`` is the
sandbox's CA certificate (PEM; see :mod:`..tls`), annotated
``kubernetes.io/description``. Pods use it to verify the API server. As the
real publisher does, it is created when a namespace appears, recreated when
deleted, and put back (``data`` replaced, the description annotation restored)
when someone edits it; other edits (labels, other annotations) are kept.
Namespaces that are terminating are left alone.

The certificate comes from ``manager.root_ca`` (PEM text), which
:class:`..controllers.ControllerManager` takes as ``root_ca=`` (the sandbox
passes its :class:`..tls.TLS` CA). Without it nothing is published.
"""

from __future__ import annotations

import copy
import logging
from typing import Iterable

from .. import errors
from ..resources import CONFIGMAPS, NAMESPACES
from ..store import Event, Store
from .base import Controller, Key
from .replicaset import is_namespace_terminating
from .workloads import is_deleting, meta, write_options

log = logging.getLogger("kk.sandbox.controllers")

NAME = "kube-root-ca.crt"
KEY = "ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


class RootCAPublisher(Controller):
    """Keeps ``kube-root-ca.crt`` in every active namespace equal to the sandbox CA."""

    name = "root-ca-cert-publisher"
    watches = (NAMESPACES, CONFIGMAPS)

    def __init__(self, manager: object) -> None:
        super().__init__(manager)  # type: ignore[arg-type]
        self.ca: str | None = getattr(manager, "root_ca", None)
        if self.ca is None:
            log.info("%s: no CA certificate known; kube-root-ca.crt is not published", self.name)

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.rt is NAMESPACES:
            if ev.type == "DELETED" or is_deleting(ev.obj):
                return []
            return [("", meta(ev.obj).get("name", ""))]
        if meta(ev.obj).get("name") != NAME or ev.type == "ADDED":
            return []
        return [("", meta(ev.obj).get("namespace", ""))]

    def reconcile(self, key: Key) -> None:
        _, ns_name = key
        ca = self.ca
        ns = self.store.get(NAMESPACES, "", ns_name)
        if ca is None or ns is None or is_deleting(ns):
            return
        data = {KEY: ca}
        current = self.store.get(CONFIGMAPS, ns_name, NAME)
        try:
            if current is None:
                self.registry.create(CONFIGMAPS, ns_name, {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": NAME, "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                    "data": data}, write_options())
                return
            annotations = meta(current).get("annotations") or {}
            if current.get("data") == data and annotations.get(DESCRIPTION_ANNOTATION):
                return
            new = copy.deepcopy(current)
            new["data"] = data
            new["metadata"]["annotations"] = {**annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}
            self.registry.update(CONFIGMAPS, ns_name, NAME, new, write_options())
        except errors.APIError as err:
            if err.code == 404 or is_namespace_terminating(err):
                return
            if err.code == 409:  # created or changed meanwhile: look again
                self.enqueue(key)
                return
            raise

    async def resync(self) -> None:
        for ns in self.store.list(NAMESPACES):
            if not is_deleting(ns):
                self.enqueue(("", meta(ns)["name"]))


__all__ = ["RootCAPublisher", "NAME", "DESCRIPTION", "DESCRIPTION_ANNOTATION"]
