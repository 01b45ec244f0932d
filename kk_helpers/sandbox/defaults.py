"""Defaulting and registry preparation, as kube-apiserver applies them to writes.

Four steps happen between decoding a request body and storing it; each has a
function here, all pure over JSON-form dicts (each returns a new dict):

* :func:`apply_defaults` - the ``pkg/apis/*/v1/defaults.go`` and generated
  declarative defaults (``replicas: 1``, ``imagePullPolicy``, ``targetPort``...),
  the pod defaults of the admission plugins every cluster runs (ServiceAccount,
  Priority, DefaultTolerationSeconds), Secret ``stringData`` folding, and the
  canonical form of resource quantities (``0.5`` -> ``500m``).
* :func:`prepare_create` - each registry strategy's ``PrepareForCreate``:
  status reset (pods start ``Pending`` with a QoS class, namespaces ``Active``),
  ``metadata.generation: 1``, the namespace finalizer, the pod's service account
  token volume.
* :func:`prepare_job` - the Job registry's selector generation from the uid.
* :func:`prepare_update` / :func:`for_status_update` - ``PrepareForUpdate`` of the
  main resource (status kept, generation bumped on spec changes, allocated
  Service values carried over) and of the ``/status`` subresource (spec kept).
"""

from __future__ import annotations

import base64
import copy
import random
import re
from typing import Any
from collections.abc import Callable

from .resources import ResourceType
from .validation import Quantity, QuantityError

__all__ = [
    "apply_defaults", "prepare_create", "prepare_job", "prepare_update", "for_status_update", "for_finalize_update",
    "image_pull_policy", "qos_class", "service_account_volume_name",
]

Obj = dict[str, Any]

#: Labels the Job registry puts on a job's pod template (and selects on).
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"

_NOT_READY = "node.kubernetes.io/not-ready"
_UNREACHABLE = "node.kubernetes.io/unreachable"


def _dict(parent: Obj, key: str) -> Obj:
    """``parent[key]`` as a dict, created (or replaced, if not a dict) when needed."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value


def _dicts(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _get_dict(parent: Obj, key: str) -> Obj:
    """``parent[key]`` if it is a dict, else a fresh empty dict (nothing is stored)."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _get_list(parent: Obj, key: str) -> list[Any]:
    """``parent[key]`` if it is a list, else a fresh empty list (nothing is stored)."""
    value = parent.get(key)
    return value if isinstance(value, list) else []


def _setdefault(d: Obj, key: str, value: Any) -> None:
    """Set ``key`` when absent or null (a Go nil pointer / zero value)."""
    if d.get(key) is None:
        d[key] = value


def _set_if_empty(d: Obj, key: str, value: Any) -> None:
    """Set ``key`` when absent, null or empty (a Go empty string)."""
    if d.get(key) in (None, ""):
        d[key] = value


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE_RE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?")


def _image_tag(image: str) -> str:
    """The tag ``parsers.ParseImageName`` finds: ``latest`` when neither tag nor digest; "" on errors."""
    m = _REFERENCE_RE.fullmatch(image)
    if not m or len(m.group("name")) > 255:
        return ""
    name = m.group("name")
    first = name.split("/")[0]
    # A first component that is not a registry host must be a lower-case repository path.
    if "/" in name and not ("." in first or ":" in first or first == "localhost") and first != first.lower():
        return ""
    if m.group("tag"):
        return m.group("tag")
    return "" if m.group("digest") else "latest"


def image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or untagged images, else ``IfNotPresent`` (digests included)."""
    return "Always" if _image_tag(image) == "latest" else "IfNotPresent"


# ---------------------------------------------------------------------------------------------
# Pod specs
# ---------------------------------------------------------------------------------------------

def _canonical_resources(res: Obj) -> None:
    """``SetDefaults_ResourceList``: quantities rounded up to milli units, in canonical form."""
    for key in ("limits", "requests"):
        rl = res.get(key)
        if not isinstance(rl, dict):
            continue
        for name, raw in list(rl.items()):
            try:
                q = Quantity.from_json(raw)
            except QuantityError:
                continue
            if q is not None:
                rl[name] = str(q.round_up_milli())


def _default_http_get(action: Any) -> None:
    if isinstance(action, dict):
        _set_if_empty(action, "path", "/")
        _set_if_empty(action, "scheme", "HTTP")


def _default_handler(handler: Any) -> None:
    if isinstance(handler, dict):
        _default_http_get(handler.get("httpGet"))


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        if probe.get(key) in (None, 0):
            probe[key] = value
    _default_handler(probe)
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        _setdefault(grpc, "service", "")


def _default_container(c: Obj) -> None:
    """``SetDefaults_Container`` plus the declarative defaults of its sub-structs."""
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = image_pull_policy(c["image"] if isinstance(c.get("image"), str) else "")
    _set_if_empty(c, "terminationMessagePath", "/dev/termination-log")
    _set_if_empty(c, "terminationMessagePolicy", "File")
    res = c.get("resources")
    if not isinstance(res, dict):
        res = c["resources"] = {}
    _canonical_resources(res)
    for port in _dicts(c.get("ports")):
        _set_if_empty(port, "protocol", "TCP")
    for ev in _dicts(c.get("env")):
        vf = ev.get("valueFrom")
        if isinstance(vf, dict) and isinstance(vf.get("fieldRef"), dict):
            _set_if_empty(vf["fieldRef"], "apiVersion", "v1")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(key))
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        _default_handler(lifecycle.get("postStart"))
        _default_handler(lifecycle.get("preStop"))


_VOLUME_SOURCE_KEYS = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
                       "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs",
                       "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte",
                       "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos",
                       "csi", "ephemeral", "image")


def _default_downward_items(items: Any) -> None:
    for item in _dicts(items):
        if isinstance(item.get("fieldRef"), dict):
            _set_if_empty(item["fieldRef"], "apiVersion", "v1")


def _default_volume(v: Obj) -> None:
    """``SetDefaults_Volume`` and the defaults of each volume source."""
    if not any(v.get(k) is not None for k in _VOLUME_SOURCE_KEYS):
        v["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        src = v.get(key)
        if isinstance(src, dict):
            _setdefault(src, "defaultMode", 420)
    hp = v.get("hostPath")
    if isinstance(hp, dict):
        _setdefault(hp, "type", "")
    ed = v.get("emptyDir")
    if isinstance(ed, dict) and ed.get("sizeLimit") is not None:
        try:
            q = Quantity.from_json(ed["sizeLimit"])
            if q is not None:
                ed["sizeLimit"] = str(q)
        except QuantityError:
            pass
    dapi = v.get("downwardAPI")
    if isinstance(dapi, dict):
        _default_downward_items(dapi.get("items"))
    proj = v.get("projected")
    if isinstance(proj, dict):
        for source in _dicts(proj.get("sources")):
            sat = source.get("serviceAccountToken")
            if isinstance(sat, dict):
                _setdefault(sat, "expirationSeconds", 3600)
            if isinstance(source.get("downwardAPI"), dict):
                _default_downward_items(source["downwardAPI"].get("items"))
    eph = v.get("ephemeral")
    if isinstance(eph, dict) and isinstance(eph.get("volumeClaimTemplate"), dict):
        _setdefault(_dict(eph["volumeClaimTemplate"], "spec"), "volumeMode", "Filesystem")


def _default_pod_spec(spec: Obj) -> None:
    """``SetDefaults_PodSpec`` and the container/volume defaults reached from a pod spec."""
    _set_if_empty(spec, "dnsPolicy", "ClusterFirst")
    _set_if_empty(spec, "restartPolicy", "Always")
    if not isinstance(spec.get("securityContext"), dict):
        spec["securityContext"] = {}
    _setdefault(spec, "terminationGracePeriodSeconds", 30)
    _set_if_empty(spec, "schedulerName", "default-scheduler")
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in _dicts(spec.get(group)):
            _default_container(c)
    for v in _dicts(spec.get("volumes")):
        _default_volume(v)
    res = spec.get("resources")
    if isinstance(res, dict):
        _canonical_resources(res)


def _default_template(parent: Obj) -> None:
    """Default ``parent.template`` (a struct value in Go, so defaulted even when absent)."""
    _default_pod_spec(_dict(_dict(parent, "template"), "spec"))


def _tolerates(tolerations: list[Obj], key: str) -> bool:
    return any(t.get("key") in (key, "", None) and t.get("effect") in ("NoExecute", "", None) for t in tolerations)


def _default_pod(pod: Obj) -> None:
    """``SetDefaults_Pod`` plus the pod mutations of the default admission plugins."""
    spec = _dict(pod, "spec")
    _default_pod_spec(spec)
    # SetDefaults_Pod: requests default to limits (pods only, not templates).
    for group in ("containers", "initContainers"):
        for c in _dicts(spec.get(group)):
            res = c["resources"]
            limits = res.get("limits")
            if isinstance(limits, dict) and limits:
                requests = res.get("requests")
                if not isinstance(requests, dict):
                    requests = res["requests"] = {}
                for name, value in limits.items():
                    requests.setdefault(name, value)
    _setdefault(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        for group in ("containers", "initContainers"):
            for c in _dicts(spec.get(group)):
                for port in _dicts(c.get("ports")):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort", 0)
    # ServiceAccount admission: the default account; v1 mirrors it in the deprecated field.
    _set_if_empty(spec, "serviceAccountName", "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    # Priority admission, with no PriorityClass marked globalDefault.
    if not spec.get("priorityClassName"):
        _setdefault(spec, "priority", 0)
    _set_if_empty(spec, "preemptionPolicy", "PreemptLowerPriority")
    # DefaultTolerationSeconds admission.
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    current = _dicts(tolerations)
    added = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
             for key in (_NOT_READY, _UNREACHABLE) if not _tolerates(current, key)]
    if added:
        spec["tolerations"] = tolerations + added


# ---------------------------------------------------------------------------------------------
# Other kinds
# ---------------------------------------------------------------------------------------------

def _default_deployment(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _setdefault(spec, "replicas", 1)
    strategy = _dict(spec, "strategy")
    _set_if_empty(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = _dict(strategy, "rollingUpdate")
        _setdefault(ru, "maxUnavailable", "25%")
        _setdefault(ru, "maxSurge", "25%")
    _setdefault(spec, "revisionHistoryLimit", 10)
    _setdefault(spec, "progressDeadlineSeconds", 600)
    _default_template(spec)


def _default_replicaset(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _setdefault(spec, "replicas", 1)
    _default_template(spec)


def _default_job_spec(spec: Obj) -> None:
    """``SetDefaults_Job`` on a job's spec."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _setdefault(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    _setdefault(spec, "completionMode", "NonIndexed")
    _setdefault(spec, "suspend", False)
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"
    _setdefault(spec, "manualSelector", False)
    pfp = spec.get("podFailurePolicy")
    if isinstance(pfp, dict):
        for rule in _dicts(pfp.get("rules")):
            for pattern in _dicts(rule.get("onPodConditions")):
                _set_if_empty(pattern, "status", "True")


def _default_job(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _default_job_spec(spec)
    _default_template(spec)
    tmd = spec["template"].get("metadata")
    labels = tmd.get("labels") if isinstance(tmd, dict) else None
    md = _dict(obj, "metadata")
    if isinstance(labels, dict) and not md.get("labels"):
        md["labels"] = dict(labels)


def _default_cronjob(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _set_if_empty(spec, "concurrencyPolicy", "Allow")
    _setdefault(spec, "suspend", False)
    _setdefault(spec, "successfulJobsHistoryLimit", 3)
    _setdefault(spec, "failedJobsHistoryLimit", 1)
    _default_template(_dict(_dict(spec, "jobTemplate"), "spec"))


def _externally_accessible(spec: Obj) -> bool:
    stype = spec.get("type")
    return stype in ("LoadBalancer", "NodePort") or (stype == "ClusterIP" and bool(spec.get("externalIPs")))


def _default_service(obj: Obj) -> None:
    """``SetDefaults_Service`` plus the IP family fields the registry fills at allocation."""
    spec = _dict(obj, "spec")
    _set_if_empty(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        cfg = spec.get("sessionAffinityConfig")
        client = cfg.get("clientIP") if isinstance(cfg, dict) else None
        if not isinstance(client, dict) or client.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    _set_if_empty(spec, "type", "ClusterIP")
    for port in _dicts(spec.get("ports")):
        _set_if_empty(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port", 0)
    stype = spec["type"]
    if _externally_accessible(spec):
        _set_if_empty(spec, "externalTrafficPolicy", "Cluster")
    if stype in ("NodePort", "LoadBalancer", "ClusterIP"):
        _setdefault(spec, "internalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer":
        _setdefault(spec, "allocateLoadBalancerNodePorts", True)
        for ing in _dicts(_dict(_dict(obj, "status"), "loadBalancer").get("ingress")):
            if ing.get("ip") and ing.get("ipMode") is None:
                ing["ipMode"] = "VIP"
    if stype != "ExternalName":
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]
        _setdefault(spec, "ipFamilyPolicy", "SingleStack")


def _default_secret(obj: Obj) -> None:
    _set_if_empty(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data")
        if not isinstance(data, dict):
            data = obj["data"] = {}
        for key, value in string_data.items():
            text = value if isinstance(value, str) else str(value)
            data[key] = base64.b64encode(text.encode()).decode()


def _default_namespace(obj: Obj) -> None:
    md = _dict(obj, "metadata")
    if md.get("name"):
        labels = md.get("labels")
        if not isinstance(labels, dict):
            labels = md["labels"] = {}
        labels["kubernetes.io/metadata.name"] = md["name"]


def _default_node(obj: Obj) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and isinstance(status.get("capacity"), dict) and status.get("allocatable") is None:
        status["allocatable"] = dict(status["capacity"])


def _default_endpoints(obj: Obj) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            _set_if_empty(port, "protocol", "TCP")


def _default_endpointslice(obj: Obj) -> None:
    for port in _dicts(obj.get("ports")):
        _setdefault(port, "name", "")
        _setdefault(port, "protocol", "TCP")


def _default_core_event(obj: Obj) -> None:
    # Fields the v1 Event serializes even when unset (no omitempty, or a zero time).
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        obj.setdefault(key, None)
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")


_DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "pods"): _default_pod,
    ("", "services"): _default_service,
    ("", "secrets"): _default_secret,
    ("", "namespaces"): _default_namespace,
    ("", "nodes"): _default_node,
    ("", "endpoints"): _default_endpoints,
    ("", "events"): _default_core_event,
    ("apps", "deployments"): _default_deployment,
    ("apps", "replicasets"): _default_replicaset,
    ("batch", "jobs"): _default_job,
    ("batch", "cronjobs"): _default_cronjob,
    ("discovery.k8s.io", "endpointslices"): _default_endpointslice,
}


def apply_defaults(rt: ResourceType, obj: Obj) -> Obj:
    """Return a defaulted deep copy of ``obj``, as the API server defaults a decoded request body.

    Safe to apply repeatedly (creates, updates and patches all default again):
    only absent or empty fields are filled, quantities are re-canonicalized.
    Malformed parts (a string where a list belongs) are left for validation.
    """
    out = copy.deepcopy(obj)
    fn = _DEFAULTERS.get((rt.group, rt.plural))
    if fn is not None:
        fn(out)
    return out


# ---------------------------------------------------------------------------------------------
# Registry strategies
# ---------------------------------------------------------------------------------------------

def _quantity_value(raw: Any) -> Any:
    try:
        q = Quantity.from_json(raw)
    except QuantityError:
        return None
    return None if q is None else q.value


def qos_class(pod: Obj) -> str:
    """``GetPodQOS``: ``Guaranteed``, ``Burstable`` or ``BestEffort`` from cpu/memory requests and limits."""
    spec = _get_dict(pod, "spec")
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for c in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        res = _get_dict(c, "resources")
        for name, raw in (res.get("requests") or {}).items():
            value = _quantity_value(raw)
            if name in ("cpu", "memory") and value is not None and value > 0:
                requests[name] = requests.get(name, 0) + value
        found: set[str] = set()
        for name, raw in (res.get("limits") or {}).items():
            value = _quantity_value(raw)
            if name in ("cpu", "memory") and value is not None and value > 0:
                found.add(name)
                limits[name] = limits.get(name, 0) + value
        if not {"cpu", "memory"} <= found:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(name) == value for name, value in requests.items()) \
            and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def service_account_volume_name(rng: random.Random | None = None) -> str:
    """``kube-api-access-`` plus five random name characters, as the ServiceAccount plugin names it."""
    r = rng or random
    return "kube-api-access-" + "".join(r.choice(NAME_ALPHABET) for _ in range(5))


def _add_service_account_token(pod: Obj) -> None:
    """The ServiceAccount admission plugin's projected token volume and its read-only mounts."""
    spec = _dict(pod, "spec")
    if spec.get("automountServiceAccountToken") is False:
        return
    containers = _dicts(spec.get("containers")) + _dicts(spec.get("initContainers"))
    if any(m.get("mountPath") == SERVICE_ACCOUNT_MOUNT_PATH for c in containers for m in _dicts(c.get("volumeMounts"))):
        return
    name = service_account_volume_name()
    volumes = _get_list(spec, "volumes")
    spec["volumes"] = volumes + [{
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace",
                                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
            "defaultMode": 420,
        },
    }]
    for c in containers:
        mounts = _get_list(c, "volumeMounts")
        c["volumeMounts"] = mounts + [{"name": name, "readOnly": True, "mountPath": SERVICE_ACCOUNT_MOUNT_PATH}]


def _normalize_cluster_ips(new: Obj, old: Obj | None) -> None:
    """The Service registry's ``normalizeClusterIPs``: keep ``clusterIP`` and ``clusterIPs`` in step."""
    spec = _dict(new, "spec")
    cip, cips = spec.get("clusterIP") or "", spec.get("clusterIPs") or []
    if old is None:
        if cip and not cips:
            spec["clusterIPs"] = [cip]
        return
    ospec = _get_dict(old, "spec")
    ocip, ocips = ospec.get("clusterIP") or "", ospec.get("clusterIPs") or []
    if ocips and not cips and ocip == cip:
        spec["clusterIPs"] = cips = list(ocips)
    if ocip != cip:
        same = (spec.get("clusterIPs") or []) == ocips
        if ocip and not cip and same:
            spec.pop("clusterIPs", None)
        if cip and same:
            spec["clusterIPs"] = [cip]


def _needs_cluster_ip(spec: Obj) -> bool:
    return spec.get("type") != "ExternalName"


def _needs_node_port(spec: Obj) -> bool:
    return spec.get("type") == "NodePort" or (spec.get("type") == "LoadBalancer"
                                              and spec.get("allocateLoadBalancerNodePorts", True) is not False)


def _patch_allocated_values(new: Obj, old: Obj) -> None:
    """The Service registry's ``patchAllocatedValues``: values a client left out keep their allocation."""
    spec = _dict(new, "spec")
    ospec = _get_dict(old, "spec")
    if _needs_cluster_ip(ospec) and _needs_cluster_ip(spec):
        if not spec.get("clusterIP") and ospec.get("clusterIP"):
            spec["clusterIP"] = ospec["clusterIP"]
        if not spec.get("clusterIPs") and ospec.get("clusterIPs"):
            spec["clusterIPs"] = list(ospec["clusterIPs"])
    if _needs_node_port(ospec) and _needs_node_port(spec):
        new_ports, old_ports = _dicts(spec.get("ports")), _dicts(ospec.get("ports"))
        used = {p.get("nodePort") for p in old_ports} & {p.get("nodePort") for p in new_ports}
        by_name = {p.get("name", ""): p.get("nodePort") for p in old_ports}
        for p in new_ports:
            if not p.get("nodePort"):
                old_value = by_name.get(p.get("name", ""))
                if old_value and old_value not in used:
                    p["nodePort"] = old_value
    if (spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"
            and ospec.get("type") == "LoadBalancer" and ospec.get("externalTrafficPolicy") == "Local"
            and not spec.get("healthCheckNodePort") and ospec.get("healthCheckNodePort")):
        spec["healthCheckNodePort"] = ospec["healthCheckNodePort"]
    for key in ("ipFamilies", "ipFamilyPolicy"):
        if _needs_cluster_ip(spec) and spec.get(key) is None and ospec.get(key) is not None:
            spec[key] = copy.deepcopy(ospec[key])


def _drop_type_dependent_fields(new: Obj, old: Obj) -> None:
    """``dropTypeDependentFields``: a type change releases what only the old type needed."""
    spec = _dict(new, "spec")
    ospec = _get_dict(old, "spec")
    if _needs_node_port(ospec) and not _needs_node_port(spec):
        old_ports = {(p.get("name", ""), p.get("nodePort")) for p in _dicts(ospec.get("ports"))}
        for p in _dicts(spec.get("ports")):
            if (p.get("name", ""), p.get("nodePort")) in old_ports:
                p.pop("nodePort", None)
    if _needs_cluster_ip(ospec) and not _needs_cluster_ip(spec):
        if spec.get("clusterIP") == ospec.get("clusterIP"):
            spec.pop("clusterIP", None)
        if spec.get("clusterIPs") == ospec.get("clusterIPs"):
            spec.pop("clusterIPs", None)
        if spec.get("ipFamilies") == ospec.get("ipFamilies"):
            spec.pop("ipFamilies", None)
        if spec.get("ipFamilyPolicy") == ospec.get("ipFamilyPolicy"):
            spec.pop("ipFamilyPolicy", None)
    if _externally_accessible(ospec) and not _externally_accessible(spec):
        if spec.get("externalTrafficPolicy") == ospec.get("externalTrafficPolicy"):
            spec.pop("externalTrafficPolicy", None)
    if ospec.get("type") == "LoadBalancer" and spec.get("type") != "LoadBalancer":
        for key in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if spec.get(key) == ospec.get(key):
                spec.pop(key, None)
    if (ospec.get("externalTrafficPolicy") == "Local" and ospec.get("type") == "LoadBalancer"
            and not (spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local")
            and spec.get("healthCheckNodePort") == ospec.get("healthCheckNodePort")):
        spec.pop("healthCheckNodePort", None)


#: Kinds whose ``PrepareForCreate`` sets ``metadata.generation: 1``.
GENERATION_KINDS = frozenset({("", "pods"), ("apps", "deployments"), ("apps", "replicasets"),
                              ("batch", "jobs"), ("batch", "cronjobs")})
#: The status a new object starts with; a user-supplied status is discarded.
_INITIAL_STATUS: dict[tuple[str, str], Callable[[Obj], Obj]] = {
    ("", "pods"): lambda o: {"phase": "Pending", "qosClass": qos_class(o)},
    ("", "services"): lambda o: {"loadBalancer": {}},
    ("", "namespaces"): lambda o: {"phase": "Active"},
    ("apps", "deployments"): lambda o: {},
    ("apps", "replicasets"): lambda o: {"replicas": 0},
    ("batch", "jobs"): lambda o: {},
    ("batch", "cronjobs"): lambda o: {},
}


def prepare_create(rt: ResourceType, obj: Obj) -> Obj:
    """The registry's ``PrepareForCreate`` on a defaulted object; returns a new dict.

    Pods get ``status {phase: Pending, qosClass}`` and their service account
    token volume; namespaces get ``spec.finalizers: [kubernetes]`` and
    ``status.phase: Active``; workloads get an empty status and generation 1;
    Services get ``status.loadBalancer: {}`` and ``clusterIPs`` from ``clusterIP``.
    Jobs with a ``metadata.uid`` also get their generated selector
    (:func:`prepare_job`); call that later when the uid is assigned later.
    """
    out = copy.deepcopy(obj)
    key = (rt.group, rt.plural)
    md = _dict(out, "metadata")
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds"):
        md.pop(field, None)
    if key == ("", "pods"):
        _add_service_account_token(out)
    status = _INITIAL_STATUS.get(key)
    if status is not None:
        out["status"] = status(out)
    if key in GENERATION_KINDS:
        md["generation"] = 1
    if key == ("", "namespaces"):
        spec = _dict(out, "spec")
        finalizers = _get_list(spec, "finalizers")
        if "kubernetes" not in finalizers:
            spec["finalizers"] = finalizers + ["kubernetes"]
    elif key == ("", "services"):
        _normalize_cluster_ips(out, None)
    elif key == ("batch", "jobs") and md.get("uid"):
        out = prepare_job(out, md["uid"])
    return out


def prepare_job(obj: Obj, uid: str) -> Obj:
    """The Job registry's selector generation, for a job whose ``metadata.uid`` is ``uid``.

    Unless ``spec.manualSelector`` is true: the pod template gets the labels
    ``batch.kubernetes.io/controller-uid``, ``batch.kubernetes.io/job-name``,
    ``controller-uid`` and ``job-name`` (values the user set are kept, for
    validation to judge), and ``spec.selector.matchLabels`` selects
    ``batch.kubernetes.io/controller-uid``. A job without labels of its own
    then shows the template's labels, as it does once the API server has
    re-decoded (and re-defaulted) the stored object.
    """
    out = copy.deepcopy(obj)
    md = _dict(out, "metadata")
    spec = _dict(out, "spec")
    if spec.get("manualSelector") is True:
        return out
    name = md.get("name") or ""
    template = _dict(spec, "template")
    tlabels = _dict(_dict(template, "metadata"), "labels")
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        tlabels.setdefault(key, name)
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        tlabels.setdefault(key, uid)
    selector = _dict(spec, "selector")
    _dict(selector, "matchLabels").setdefault(CONTROLLER_UID_LABEL, uid)
    if not md.get("labels"):
        md["labels"] = dict(tlabels)
    return out


def _carry_meta(new: Obj, old: Obj) -> Obj:
    """``rest.BeforeUpdate``'s metadata rules: identity and generation come from the stored object."""
    md = _dict(new, "metadata")
    omd = _get_dict(old, "metadata")
    if not md.get("uid") and omd.get("uid"):
        md["uid"] = omd["uid"]
    for key in ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if omd.get(key) is not None:
            md[key] = omd[key]
        elif key != "creationTimestamp":
            md.pop(key, None)
    if omd.get("generation") is not None:
        md["generation"] = omd["generation"]
    else:
        md.pop("generation", None)
    return md


def prepare_update(rt: ResourceType, old: Obj, new: Obj) -> Obj:
    """The registry's ``PrepareForUpdate`` for a write to the main resource; returns a new dict.

    The stored status is kept (status changes go through ``/status``), identity
    metadata and generation come from ``old``, and the generation is bumped
    when the spec changed (Deployments: also when annotations changed).
    Services keep allocated values the client omitted; namespaces keep their
    finalizers.
    """
    out = copy.deepcopy(new)
    key = (rt.group, rt.plural)
    md = _carry_meta(out, old)
    if key in _INITIAL_STATUS or key == ("", "nodes"):
        if "status" in old:
            out["status"] = copy.deepcopy(old["status"])
        else:
            out.pop("status", None)
    if key == ("", "namespaces"):
        ospec = _get_dict(old, "spec")
        spec = _dict(out, "spec")
        if "finalizers" in ospec:
            spec["finalizers"] = copy.deepcopy(ospec["finalizers"])
        else:
            spec.pop("finalizers", None)
    elif key == ("", "services"):
        _patch_allocated_values(out, old)
        _normalize_cluster_ips(out, old)
        _drop_type_dependent_fields(out, old)
    if key in GENERATION_KINDS:
        changed = out.get("spec") != old.get("spec")
        if key == ("apps", "deployments"):
            changed = changed or (md.get("annotations") or {}) != ((old.get("metadata") or {}).get("annotations") or {})
        if changed:
            md["generation"] = int((old.get("metadata") or {}).get("generation") or 0) + 1
    return out


def for_status_update(rt: ResourceType, old: Obj, new: Obj) -> Obj:
    """The ``/status`` subresource's ``PrepareForUpdate``: only the status (and object metadata) may change.

    The spec comes from ``old``; pods also keep their owner references and QoS
    class; Deployments keep their labels.
    """
    out = copy.deepcopy(new)
    md = _carry_meta(out, old)
    omd = _get_dict(old, "metadata")
    if "spec" in old:
        out["spec"] = copy.deepcopy(old["spec"])
    else:
        out.pop("spec", None)
    key = (rt.group, rt.plural)
    if key == ("", "pods"):
        if "ownerReferences" in omd:
            md["ownerReferences"] = copy.deepcopy(omd["ownerReferences"])
        else:
            md.pop("ownerReferences", None)
        status = out.get("status")
        ostatus = _get_dict(old, "status")
        if isinstance(status, dict) and not status.get("qosClass") and ostatus.get("qosClass"):
            status["qosClass"] = ostatus["qosClass"]
    elif key == ("apps", "deployments"):
        if "labels" in omd:
            md["labels"] = copy.deepcopy(omd["labels"])
        else:
            md.pop("labels", None)
    return out


def for_finalize_update(rt: ResourceType, old: Obj, new: Obj) -> Obj:
    """The namespace ``/finalize`` subresource: only ``spec.finalizers`` may change.

    A plain update of a namespace keeps the stored finalizers (see :func:`prepare_update`),
    so removing ``kubernetes`` from ``spec.finalizers`` must go through here.
    """
    out = copy.deepcopy(old)
    spec = _dict(out, "spec")
    nspec = _get_dict(new, "spec")
    if "finalizers" in nspec:
        spec["finalizers"] = copy.deepcopy(nspec["finalizers"])
    else:
        spec.pop("finalizers", None)
    md = _dict(out, "metadata")
    if "resourceVersion" in (new.get("metadata") or {}):
        md["resourceVersion"] = new["metadata"]["resourceVersion"]
    return out
