"""API semantics over the store: what a real kube-apiserver does between the wire and etcd.

Create, get, list, update, patch and delete with defaulting, validation,
resourceVersion concurrency, generateName, finalizers and graceful deletion,
namespaces that must exist, status/scale subresources, and ClusterIP/NodePort
allocation. The HTTP layer and the in-process controllers both call this, so
they see exactly the same rules.
"""

from __future__ import annotations

import copy
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from . import defaults, errors, openapi, patch, selectors, validation
from .resources import (
    DEPLOYMENTS, NAMESPACES, NODES, PODS, REPLICASETS, SERVICES, ResourceType,
)
from .services import Allocator
from .store import Obj, Store

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

#: Kinds whose objects track ``metadata.generation`` (spec changes bump it).
GENERATION_KINDS = frozenset({"Deployment", "ReplicaSet", "Job", "CronJob", "Pod"})


def now_rfc3339(ts: float | None = None) -> str:
    """Kubernetes timestamps: second precision, UTC, ``Z``."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(NAME_ALPHABET) for _ in range(n))


def deep_copy(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


@dataclass
class WriteOptions:
    """Query options shared by writes."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    warnings: list[str] = field(default_factory=list)


class Registry:
    """The sandbox's REST storage layer."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.allocator = Allocator(store)
        # Hooks the runtime (kubelet simulation) installs.
        self.log_provider: Callable[[Obj, str | None, dict[str, Any]], str] | None = None
        #: ``pods/<name>/exec``: (pod, exec.ExecRequest) -> exec.ExecRunner; raises exec.ContainerUnavailable.
        self.exec_provider: Callable[[Obj, Any], Any] | None = None
        #: ``pods/<name>/attach``: (pod, exec.ExecRequest) -> exec.ExecRunner; raises exec.ContainerUnavailable.
        self.attach_provider: Callable[[Obj, Any], Any] | None = None

    # -- helpers -----------------------------------------------------------------------------

    def now(self) -> str:
        return now_rfc3339(self.clock())

    def _ns(self, rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    def require_namespace(self, namespace: str, *, creating: bool = False) -> None:
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise errors.namespace_not_found(namespace)
        if creating and ns["metadata"].get("deletionTimestamp"):
            raise errors.APIError(
                403, "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being terminated",
                {"name": namespace, "kind": "namespaces"})

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.store.get(rt, self._ns(rt, namespace), name)
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def list(self, rt: ResourceType, namespace: str | None = None, *, label_selector: str | None = None,
             field_selector: str | None = None) -> list[Obj]:
        items = self.store.list(rt, self._ns(rt, namespace) or None)
        if label_selector:
            match = selectors.parse_label_selector(label_selector)
            items = [o for o in items if match(o.get("metadata", {}).get("labels") or {})]
        if field_selector:
            fmatch = selectors.compile_field_selector(rt, field_selector)
            items = [o for o in items if fmatch(o)]
        return items

    # -- validation plumbing -----------------------------------------------------------------

    def _check_body(self, rt: ResourceType, obj: Any, namespace: str | None, opts: WriteOptions) -> Obj:
        if not isinstance(obj, dict):
            raise errors.bad_request(f"the body of the request was in an unknown format - expected a {rt.kind} object")
        kind = obj.get("kind")
        api_version = obj.get("apiVersion")
        if kind is not None and kind != rt.kind:
            raise errors.bad_request(
                f'the API version in the data ({api_version}) does not match the expected API version ({rt.group_version})'
                if api_version and api_version != rt.group_version else
                f"{kind} in version \"{rt.version}\" cannot be handled as a {rt.kind}: "
                f"kind \"{kind}\" does not match expected kind \"{rt.kind}\"")
        if api_version is not None and api_version != rt.group_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({rt.group_version})")
        md = obj.get("metadata")
        if md is None:
            obj["metadata"] = md = {}
        if not isinstance(md, dict):
            raise errors.bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                                     "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta")
        if rt.namespaced:
            body_ns = md.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request")
            md["namespace"] = namespace or body_ns or "default"
        else:
            md.pop("namespace", None)
        obj["kind"] = rt.kind
        obj["apiVersion"] = rt.group_version
        wrong = openapi.wrong_type_fields(rt, obj)
        if wrong:
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {wrong[0][1]}')
        # Decoding into a typed object drops unknown fields whatever fieldValidation says;
        # Strict refuses them first, Warn reports them, Ignore says nothing.
        unknown = openapi.unknown_fields(rt, obj, drop=True)
        if unknown and opts.field_validation == "Strict":
            detail = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: {detail}')
        if opts.field_validation == "Warn":
            opts.warnings.extend(f'unknown field "{u}"' for u in unknown)
        return obj

    def _validate(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        causes = validation.validate(rt, obj, old)
        if causes:
            raise errors.invalid(rt, obj.get("metadata", {}).get("name") or obj.get("metadata", {}).get("generateName") or "", causes)

    # -- create ------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str | None, body: Any, opts: WriteOptions | None = None) -> Obj:
        opts = opts or WriteOptions()
        obj = self._check_body(rt, deep_copy(body) if isinstance(body, dict) else body, namespace, opts)
        md = obj["metadata"]
        if rt.namespaced:
            self.require_namespace(md["namespace"], creating=True)
        if not md.get("name") and md.get("generateName"):
            # as the real name generator: the base is cut to 58 characters, then 5 random ones follow
            md["name"] = str(md["generateName"])[:58] + random_suffix()
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            md.pop(key, None)
        if md.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        obj = defaults.apply_defaults(rt, obj)
        obj = defaults.prepare_create(rt, obj)
        md = obj["metadata"]
        if rt is SERVICES:
            # allocated before validation, which checks clusterIPs against clusterIP
            self.allocator.allocate(obj, None, dry_run=opts.dry_run)
        self._validate(rt, obj, None)
        if md.get("name") and self.store.get(rt, self._ns(rt, md.get("namespace")), md["name"]) is not None:
            raise errors.already_exists(rt, md["name"])
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = self.now()
        if rt.kind in GENERATION_KINDS:
            md["generation"] = 1
        if rt.kind == "Job":
            obj = defaults.prepare_job(obj, md["uid"])
        if opts.field_manager:
            obj = patch.update_managed_fields(None, obj, opts.field_manager, "Update", rt, md["creationTimestamp"])
        if opts.dry_run:
            md["resourceVersion"] = ""
            return obj
        return self.store.put(rt, obj, create=True)

    # -- update ------------------------------------------------------------------------------

    def update(self, rt: ResourceType, namespace: str | None, name: str, body: Any,
               opts: WriteOptions | None = None, *, subresource: str | None = None,
               allow_create: bool = False) -> Obj:
        opts = opts or WriteOptions()
        old = self.store.get(rt, self._ns(rt, namespace), name)
        if old is None:
            if allow_create and subresource is None:
                return self.create(rt, namespace, body, opts)
            raise errors.not_found(rt, name)
        obj = self._check_body(rt, deep_copy(body) if isinstance(body, dict) else body, namespace, opts)
        md = obj["metadata"]
        if md.get("name") and md["name"] != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (md["name"], name))
        md["name"] = name
        return self._replace(rt, old, obj, opts, subresource=subresource)

    def _replace(self, rt: ResourceType, old: Obj, obj: Obj, opts: WriteOptions, *,
                 subresource: str | None = None, expect_rv: str | None = None,
                 managed_subresource: str | None = None) -> Obj:
        """Common tail of update and patch: carry immutable metadata, validate, store."""
        md = obj.setdefault("metadata", {})
        omd = old["metadata"]
        expect = expect_rv if expect_rv is not None else md.get("resourceVersion") or None
        if expect and expect != omd.get("resourceVersion"):
            raise errors.conflict(rt, omd["name"])
        for key in ("uid", "creationTimestamp", "namespace", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if key in omd:
                md[key] = omd[key]
            else:
                md.pop(key, None)
        if "generation" in omd:
            md["generation"] = omd["generation"]
        if subresource == "status":
            obj = defaults.for_status_update(rt, old, obj)
        elif subresource == "finalize":
            obj = defaults.for_finalize_update(rt, old, obj)
        else:
            obj = defaults.apply_defaults(rt, obj)
            obj = defaults.prepare_update(rt, old, obj)
        md = obj["metadata"]
        if rt is SERVICES and subresource is None:
            self.allocator.allocate(obj, old, dry_run=opts.dry_run)
        self._validate(rt, obj, old)
        _drop_empty_maps(obj["metadata"])
        if opts.field_manager:
            obj = patch.update_managed_fields(old, obj, opts.field_manager, "Update", rt, self.now(),
                                              subresource=managed_subresource or subresource)
        elif "managedFields" not in obj["metadata"] and old["metadata"].get("managedFields"):
            obj["metadata"]["managedFields"] = old["metadata"]["managedFields"]
        if opts.dry_run:
            return obj
        # Finalizers emptied on an object being deleted: it goes now.
        if md.get("deletionTimestamp") and not md.get("finalizers") and self._gone_when_unfinalized(rt, obj):
            return self.store.remove(rt, self._ns(rt, md.get("namespace")), md["name"])
        if _same(old, obj):
            return old  # a no-op write keeps its resourceVersion, as on a real server
        return self.store.put(rt, obj, expect_rv=omd.get("resourceVersion"))

    def _gone_when_unfinalized(self, rt: ResourceType, obj: Obj) -> bool:
        if rt is PODS and obj["metadata"].get("deletionGracePeriodSeconds", 0) > 0 and obj.get("spec", {}).get("nodeName"):
            return False  # the kubelet finishes a graceful pod deletion
        if rt is NAMESPACES:
            return not (obj.get("spec") or {}).get("finalizers")
        return True

    # -- patch -------------------------------------------------------------------------------

    def patch(self, rt: ResourceType, namespace: str | None, name: str, patch_type: str, body: Any,
              opts: WriteOptions | None = None, *, subresource: str | None = None, force: bool = False) -> tuple[Obj, bool]:
        """Apply a patch; returns (object, created). Only server-side apply may create."""
        opts = opts or WriteOptions()
        old = self.store.get(rt, self._ns(rt, namespace), name)
        if patch_type == "apply":
            if not isinstance(body, dict):
                raise errors.bad_request("error decoding YAML: the body must be an object")
            if old is None:
                if subresource:
                    raise errors.not_found(rt, name)
                if body.get("metadata", {}).get("name") not in (None, name):
                    raise errors.bad_request(f"the name of the object ({body['metadata']['name']}) does not match the name on the URL ({name})")
                applied = self._check_body(rt, deep_copy(body), namespace, opts)
                applied["metadata"]["name"] = name
                new = patch.server_side_apply(None, applied, rt, opts.field_manager, force, self.now())
                manager, opts.field_manager = opts.field_manager, ""
                try:
                    created = self.create(rt, namespace, new, opts)
                finally:
                    opts.field_manager = manager
                return created, True
            applied = self._check_body(rt, deep_copy(body), namespace, opts)
            target = self._subresource_view(rt, old, subresource)
            new = patch.server_side_apply(target, applied, rt, opts.field_manager, force, self.now(),
                                          subresource=subresource)
            new = self._from_subresource_view(rt, old, new, subresource)
            manager, opts.field_manager = opts.field_manager, ""
            try:
                return self._replace(rt, old, new, opts, subresource=subresource), False
            finally:
                opts.field_manager = manager
        if old is None:
            raise errors.not_found(rt, name)
        current = self._subresource_view(rt, old, subresource)
        if patch_type == "json":
            if not isinstance(body, list):
                raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            new = patch.json_patch(current, body)
        elif patch_type == "merge":
            if not isinstance(body, dict):
                raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
            new = patch.merge_patch(current, body)
        elif patch_type == "strategic":
            if not isinstance(body, dict):
                raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
            new = patch.strategic_merge_patch(current, body, rt)
        else:
            raise patch.unsupported_patch_type(patch_type)
        if not isinstance(new, dict):
            raise errors.bad_request("the patch result is not an object")
        expect_rv = None
        if isinstance(new.get("metadata"), dict):
            patched_rv = new["metadata"].get("resourceVersion")
            if patched_rv != current.get("metadata", {}).get("resourceVersion"):
                expect_rv = patched_rv or None
        if subresource == "scale":
            new = self._from_subresource_view(rt, old, new, subresource)
            return self._replace(rt, old, new, opts, subresource=None, expect_rv=expect_rv,
                                 managed_subresource="scale"), False
        new = self._check_body(rt, new, namespace, opts)
        new["metadata"]["resourceVersion"] = old["metadata"].get("resourceVersion")
        return self._replace(rt, old, new, opts, subresource=subresource,
                             expect_rv=expect_rv or old["metadata"].get("resourceVersion")), False

    # -- scale subresource -------------------------------------------------------------------

    def _subresource_view(self, rt: ResourceType, obj: Obj, subresource: str | None) -> Obj:
        if subresource == "scale":
            return self.scale_of(rt, obj)
        return obj

    def _from_subresource_view(self, rt: ResourceType, old: Obj, view: Obj, subresource: str | None) -> Obj:
        if subresource != "scale":
            return view
        replicas = (view.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise errors.bad_request(f"Scale in version \"v1\" cannot be handled as a Scale: spec.replicas must be an integer")
        if replicas < 0:
            raise errors.APIError(422, "Invalid", f'Scale.autoscaling "{old["metadata"]["name"]}" is invalid: '
                                  f"spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0",
                                  {"name": old["metadata"]["name"], "group": "autoscaling", "kind": "Scale",
                                   "causes": [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                                               "message": f"Invalid value: {replicas}: must be greater than or equal to 0"}]})
        new = deep_copy(old)
        new["spec"]["replicas"] = replicas
        vmd = view.get("metadata") or {}
        if vmd.get("resourceVersion"):
            new["metadata"]["resourceVersion"] = vmd["resourceVersion"]
        return new

    def scale_of(self, rt: ResourceType, obj: Obj) -> Obj:
        """The autoscaling/v1 Scale view of a deployment or replica set."""
        md = obj["metadata"]
        sel = (obj.get("spec") or {}).get("selector") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": selectors.selector_to_string(sel)},
        }

    def update_scale(self, rt: ResourceType, namespace: str | None, name: str, body: Any, opts: WriteOptions) -> Obj:
        old = self.get(rt, namespace, name)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format - expected a Scale object")
        new = self._from_subresource_view(rt, old, body, "scale")
        rv = (body.get("metadata") or {}).get("resourceVersion")
        return self._replace(rt, old, new, opts, expect_rv=rv or None, managed_subresource="scale")

    # -- delete ------------------------------------------------------------------------------

    def delete(self, rt: ResourceType, namespace: str | None, name: str, *, grace_period: int | None = None,
               propagation: str | None = None, preconditions: dict[str, Any] | None = None,
               dry_run: bool = False) -> tuple[Obj, bool]:
        """Delete an object; returns (object, gone_now)."""
        ns = self._ns(rt, namespace)
        old = self.store.get(rt, ns, name)
        if old is None:
            raise errors.not_found(rt, name)
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
            raise errors.conflict(rt, name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                            f"UID in object meta: {old['metadata'].get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"].get("resourceVersion"):
            raise errors.conflict(rt, name, f"Precondition failed: ResourceVersion in precondition: "
                                            f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                            f"{old['metadata'].get('resourceVersion')}")
        if propagation not in (None, "", "Orphan", "Background", "Foreground"):
            raise errors.APIError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                                  f'Unsupported value: "{propagation}": supported values: "Foreground", "Background", "Orphan", "nil"')
        if dry_run:
            return old, False
        new = deep_copy(old)
        md = new["metadata"]
        finalizers = list(md.get("finalizers") or [])
        if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if propagation == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if rt is NAMESPACES:
            if md.get("deletionTimestamp"):
                return old, False
            md["deletionTimestamp"] = self.now()
            md["deletionGracePeriodSeconds"] = 0
            new.setdefault("status", {})["phase"] = "Terminating"
            if finalizers:
                md["finalizers"] = finalizers
            return self.store.put(rt, new), False
        graceful = False
        if rt is PODS and (new.get("spec") or {}).get("nodeName") and (new.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            grace = grace_period if grace_period is not None else (new.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            if grace is not None and grace > 0:
                graceful = True
                if md.get("deletionTimestamp"):
                    # A second delete may only shorten the grace period.
                    if grace >= md.get("deletionGracePeriodSeconds", grace):
                        return old, False
                md["deletionTimestamp"] = now_rfc3339(self.clock() + grace)
                md["deletionGracePeriodSeconds"] = grace
        if finalizers or graceful:
            if finalizers:
                md["finalizers"] = finalizers
            if not md.get("deletionTimestamp"):
                md["deletionTimestamp"] = self.now()
                md["deletionGracePeriodSeconds"] = 0
            if _same(old, new):
                return old, False
            return self.store.put(rt, new), False
        if rt is SERVICES:
            self.allocator.release(old)
        return self.store.remove(rt, ns, name), True

    def finish_delete(self, rt: ResourceType, namespace: str | None, name: str, uid: str | None = None) -> Obj | None:
        """Remove an object whose graceful deletion is over (the kubelet's final delete)."""
        try:
            obj = self.store.remove(rt, self._ns(rt, namespace), name, expect_uid=uid)
        except errors.APIError:
            return None
        if rt is SERVICES:
            self.allocator.release(obj)
        return obj

    def delete_collection(self, rt: ResourceType, namespace: str | None, *, label_selector: str | None = None,
                          field_selector: str | None = None, grace_period: int | None = None,
                          propagation: str | None = None, dry_run: bool = False) -> list[Obj]:
        out = []
        for obj in self.list(rt, namespace, label_selector=label_selector, field_selector=field_selector):
            try:
                gone, _ = self.delete(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"],
                                      grace_period=grace_period, propagation=propagation, dry_run=dry_run)
                out.append(gone)
            except errors.APIError as err:
                if err.code != 404:
                    raise
        return out

    # -- pods: binding, eviction, logs -------------------------------------------------------

    def bind(self, namespace: str, name: str, node: str) -> Obj:
        pod = self.get(PODS, namespace, name)
        if (pod.get("spec") or {}).get("nodeName"):
            raise errors.conflict(PODS, name, f"pod {name} is already assigned to node \"{pod['spec']['nodeName']}\"")
        if self.store.get(NODES, "", node) is None:
            raise errors.not_found(NODES, node)
        new = deep_copy(pod)
        new["spec"]["nodeName"] = node
        conds = [c for c in (new.setdefault("status", {}).get("conditions") or []) if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": self.now()})
        new["status"]["conditions"] = conds
        return self.store.put(PODS, new)

    def log(self, namespace: str, name: str, container: str | None, params: dict[str, Any]) -> str:
        pod = self.get(PODS, namespace, name)
        spec = pod.get("spec") or {}
        containers = [c.get("name") for c in spec.get("containers") or []]
        init = [c.get("name") for c in spec.get("initContainers") or []]
        if container is None:
            if len(containers) > 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]")
            container = containers[0] if containers else None
        elif container not in containers and container not in init:
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        if self.log_provider is None:
            return ""
        return self.log_provider(pod, container, params)

    # -- workload helpers controllers use ----------------------------------------------------

    def put_status(self, rt: ResourceType, obj: Obj) -> Obj:
        """Write a changed status computed by a controller (no validation round trip)."""
        old = self.store.get(rt, self._ns(rt, obj["metadata"].get("namespace")), obj["metadata"]["name"])
        if old is None:
            raise errors.not_found(rt, obj["metadata"]["name"])
        if _same(old, obj):
            return old
        return self.store.put(rt, obj, expect_rv=obj["metadata"].get("resourceVersion"))


def _same(a: Obj, b: Obj) -> bool:
    """Equal ignoring resourceVersion and managedFields timestamps (ownership changes count)."""
    if a is b:
        return True
    am, bm = a.get("metadata", {}), b.get("metadata", {})
    keys = (set(am) | set(bm)) - {"resourceVersion", "managedFields"}
    if any(am.get(k) != bm.get(k) for k in keys):
        return False
    if _ownership(am.get("managedFields")) != _ownership(bm.get("managedFields")):
        return False
    return all(a.get(k) == b.get(k) for k in (set(a) | set(b)) - {"metadata"})


def _ownership(entries: Any) -> list[Any]:
    return [{k: v for k, v in e.items() if k != "time"} for e in entries or [] if isinstance(e, dict)]


def _drop_empty_maps(md: Obj) -> None:
    """Go's omitempty: an emptied labels/annotations map is not stored."""
    for key in ("labels", "annotations"):
        if key in md and not md[key]:
            del md[key]


__all__ = ["Registry", "WriteOptions", "now_rfc3339", "random_suffix", "GENERATION_KINDS", "DEPLOYMENTS",
           "REPLICASETS"]
