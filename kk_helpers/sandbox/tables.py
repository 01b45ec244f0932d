"""Server-side ``Table`` (``meta.k8s.io/v1``) responses, cell for cell as a real API server builds them.

``kubectl get`` asks for a Table (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...``)
and prints the server's columns and cells as they come, so every rule here follows the printers
of a real kube-apiserver (``pkg/printers/internalversion/printers.go``, ages from
``k8s.io/apimachinery/pkg/util/duration``). The real server always renders the wide cells
(priority-1 columns included); kubectl hides priority-1 columns unless ``-o wide``.

Facts the HTTP layer relies on:

* ``includeObject`` query parameter: ``Metadata`` (default, also when empty) puts a
  ``PartialObjectMetadata`` in each row, ``Object`` the full object, ``None`` a JSON ``null``.
  Any other value is ``400 BadRequest`` (:func:`validate_include_object`).
* A Table watch sends one Table per event, each with one row; only the first event carries
  ``columnDefinitions``, later ones carry ``"columnDefinitions": null`` (``with_columns=False``).
  ``Status`` objects (ERROR events) are sent as they are, not as Tables.
* :func:`negotiate_table` reads the Accept header and says which Table version, if any, to send.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from . import errors
from .resources import ResourceType

Obj = dict[str, Any]

TABLE_V1 = "meta.k8s.io/v1"
TABLE_V1BETA1 = "meta.k8s.io/v1beta1"
INCLUDE_OBJECT_VALUES = ("Metadata", "Object", "None")

_US_PER_SECOND = 1_000_000
_SECONDS_PER_HOUR = 3600


# ---------------------------------------------------------------------------------------------
# Durations and timestamps
# ---------------------------------------------------------------------------------------------


def human_duration(d: timedelta) -> str:
    """Render a duration the way ``duration.HumanDuration`` does (about 2-3 significant figures).

    Less than 2s in the future counts as ``0s`` (clock skew); further ahead is ``<invalid>``.
    """
    us = d // timedelta(microseconds=1)
    seconds = abs(us) // _US_PER_SECOND * (1 if us >= 0 else -1)  # truncation toward zero
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // _SECONDS_PER_HOUR
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d" if rest == 0 else f"{days}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y" if rest == 0 else f"{years}y{rest}d"
    return f"{years}y"


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def format_age(created: datetime | None, now: datetime) -> str:
    """Age of something created at ``created``, as printed in Age/Last Seen columns.

    Returns ``<unknown>`` when the timestamp is missing; otherwise :func:`human_duration` of
    ``now - created`` (so ``0s`` just ahead of ``now``, ``<invalid>`` further in the future).
    Naive datetimes are taken as UTC.
    """
    if created is None:
        return "<unknown>"
    return human_duration(_utc(now) - _utc(created))


def parse_time(value: Any) -> datetime | None:
    """Parse an RFC 3339 ``Time``/``MicroTime`` string; ``None`` when missing or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return _utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _age_of(value: Any, now: datetime) -> str:
    return format_age(parse_time(value), now)


# ---------------------------------------------------------------------------------------------
# Small formatting helpers shared by several printers
# ---------------------------------------------------------------------------------------------


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", ""))


def _created(obj: Obj, now: datetime) -> str:
    return _age_of(_meta(obj).get("creationTimestamp"), now)


def _dig(obj: Obj, *path: str) -> Any:
    """``obj[path[0]][path[1]]...`` with ``None`` for anything missing on the way."""
    cur: Any = obj
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def _format_labels(labels: dict[str, str] | None) -> str:
    """``labels.FormatLabels``: ``k=v`` pairs sorted by key, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _selector_string(selector: Obj | None) -> str | None:
    """A LabelSelector as ``labels.Selector.String()`` renders it.

    ``""`` when it selects everything or nothing; ``None`` when an operator is unknown.
    """
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op)
        if text is None:
            return None
        reqs.append((key, text))
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def _format_selector(selector: Obj | None) -> str:
    """``metav1.FormatLabelSelector``: the selector string, ``<none>`` when empty."""
    text = _selector_string(selector)
    return "<error>" if text is None else (text or "<none>")


def _containers_cells(pod_spec: Obj | None) -> list[str]:
    """The wide Containers and Images cells: names and images joined by commas."""
    containers = (pod_spec or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def _condition_true(conditions: list[Obj] | None, ctype: str) -> bool:
    """Whether the *first* condition of ``ctype`` has status True (as the job printer checks)."""
    for cond in conditions or []:
        if cond.get("type") == ctype:
            return bool(cond.get("status") == "True")
    return False


def _join_host_port(host: str, port: Any) -> str:
    try:
        bracket = isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        bracket = ":" in host
    return f"[{host}]:{port}" if bracket else f"{host}:{port}"


def _list_with_more(items: list[str], limit: int = 3) -> str:
    """The first ``limit`` items, then ``+ N more...``; ``<unset>`` when there are none."""
    text = ",".join(items[:limit])
    if len(items) > limit:
        return f"{text} + {len(items) - limit} more..."
    return text or "<unset>"


# ---------------------------------------------------------------------------------------------
# Column definitions
# ---------------------------------------------------------------------------------------------


def _col(name: str, description: str, type_: str = "string", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


_NAME = _col("Name", "Name of the object, unique within its namespace for the type.", fmt="name")
_AGE = _col("Age", "How long ago the object was created (metadata.creationTimestamp).")
_CONTAINERS = _col("Containers", "Names of the containers in the pod template.", priority=1)
_IMAGES = _col("Images", "Images of the containers in the pod template.", priority=1)


def _selector_col(what: str) -> dict[str, Any]:
    return _col("Selector", f"Label query over the pods this {what} manages.", priority=1)


_EVENT_COLUMNS = (
    _col("Last Seen", "When the event was last observed."),
    _col("Type", "Type of the event: Normal or Warning."),
    _col("Reason", "Short, machine-readable reason for the event."),
    _col("Object", "The object the event is about, as kind/name."),
    _col("Subobject", "The part of the object the event is about (involvedObject.fieldPath).", priority=1),
    _col("Source", "The component (and host) that reported the event.", priority=1),
    _col("Message", "Human-readable description of the event."),
    _col("First Seen", "When the event was first observed.", priority=1),
    _col("Count", "How many times the event has occurred.", priority=1),
    _col("Name", "Name of the Event object.", priority=1, fmt="name"),
)


# ---------------------------------------------------------------------------------------------
# Printers: one function per type, returning the (wide) cells of one row
# ---------------------------------------------------------------------------------------------

CellsFn = Callable[[Obj, datetime], list[Any]]


@dataclass(frozen=True)
class _Printer:
    columns: tuple[dict[str, Any], ...]
    cells: CellsFn
    conditions: Callable[[Obj], list[Obj]] | None = None


def _is_restartable_init(container: Obj | None) -> bool:
    """A sidecar: an init container whose ``restartPolicy`` is ``Always``."""
    return bool(container and container.get("restartPolicy") == "Always")


def _terminated_reason(term: Obj, prefix: str = "") -> str:
    if term.get("reason"):
        return f"{prefix}{term['reason']}"
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


class _LastRestart:
    """The latest ``lastState.terminated.finishedAt`` among the containers looked at."""

    def __init__(self) -> None:
        self.when: datetime | None = None

    def see(self, status: Obj) -> None:
        finished = parse_time(_dig(status, "lastState", "terminated", "finishedAt"))
        if finished is not None and (self.when is None or finished > self.when):
            self.when = finished


def pod_status(pod: Obj) -> tuple[str, int, int, int, datetime | None]:
    """The pod printer's summary: (Status, ready containers, total containers, restarts, last restart).

    Follows the real printer's precedence: phase, then ``status.reason``, then ``SchedulingGated``,
    then init containers (``Init:N/M``, ``Init:<reason>``, ``Init:ExitCode:N``...), then app
    containers (a waiting or terminated reason overrides; ``Completed`` turns back into
    ``Running``/``NotReady`` while a container still runs), then ``Terminating`` / ``Unknown``
    (NodeLost) for pods being deleted.
    """
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    conditions = status.get("conditions") or []
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions):
        reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values() if _is_restartable_init(c))
    ready = restarts = sidecar_restarts = 0
    last, sidecar_last = _LastRestart(), _LastRestart()

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        last.see(cs)
        sidecar = _is_restartable_init(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            sidecar_last.see(cs)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = next((c.get("status") == "True" for c in conditions if c.get("type") == "Initialized"), False)
    if not initializing or initialized:
        restarts, last = sidecar_restarts, sidecar_last
        has_running, error_reason = False, ""
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last.see(cs)
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None:
                reason = _terminated_reason(term)
                if int(term.get("exitCode") or 0) != 0:
                    error_reason = reason
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed":
            if has_running and any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
                reason = "Running"
            elif error_reason:
                reason = error_reason
            elif has_running:
                reason = "NotReady"

    deleting = bool(_meta(pod).get("deletionTimestamp"))
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, last.when


def _pod_cells(pod: Obj, now: datetime) -> list[Any]:
    reason, ready, total, restarts, last_restart = pod_status(pod)
    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({format_age(last_restart, now)} ago)"
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    pod_ips = status.get("podIPs") or []
    ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        by_type: dict[str, Any] = {}
        for cond in status.get("conditions") or []:
            by_type.setdefault(cond.get("type"), cond.get("status"))
        true_gates = sum(1 for g in gates if by_type.get(g.get("conditionType")) == "True")
        gates_cell = f"{true_gates}/{len(gates)}"
    return [_name(pod), f"{ready}/{total}", reason, restarts_cell, _created(pod, now),
            ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gates_cell]


def _pod_conditions(pod: Obj) -> list[Obj]:
    phase = _dig(pod, "status", "phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return []


def _deployment_cells(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = spec.get("replicas", 1)
    selector = _selector_string(spec.get("selector"))
    return [_name(obj), f"{status.get('readyReplicas', 0)}/{desired}", int(status.get("updatedReplicas", 0)),
            int(status.get("availableReplicas", 0)), _created(obj, now),
            *_containers_cells(_dig(spec, "template", "spec")), "<invalid>" if selector is None else selector]


def _replicaset_cells(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [_name(obj), int(spec.get("replicas", 1)), int(status.get("replicas", 0)),
            int(status.get("readyReplicas", 0)), _created(obj, now),
            *_containers_cells(_dig(spec, "template", "spec")), _format_selector(spec.get("selector"))]


def _job_status(job: Obj) -> str:
    conditions = _dig(job, "status", "conditions")
    if _condition_true(conditions, "Complete"):
        return "Complete"
    if _condition_true(conditions, "Failed"):
        return "Failed"
    if _meta(job).get("deletionTimestamp"):
        return "Terminating"
    for ctype in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if _condition_true(conditions, ctype):
            return ctype
    return "Running"


def _job_cells(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = "" if start is None else human_duration((end or _utc(now)) - start)
    return [_name(obj), _job_status(obj), completions, duration, _created(obj, now),
            *_containers_cells(_dig(spec, "template", "spec")), _format_selector(spec.get("selector"))]


def _cronjob_cells(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = status.get("lastScheduleTime")
    suspend = spec.get("suspend")
    job_spec = _dig(spec, "jobTemplate", "spec") or {}
    return [_name(obj), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else ("True" if suspend else "False"),
            len(status.get("active") or []), "<none>" if last is None else _age_of(last, now), _created(obj, now),
            *_containers_cells(_dig(job_spec, "template", "spec")), _format_selector(job_spec.get("selector"))]


def _external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    external = spec.get("externalIPs") or []
    svc_type = spec.get("type") or "ClusterIP"
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if svc_type == "LoadBalancer":
        found = {ing.get("ip") or ing.get("hostname") for ing in _dig(svc, "status", "loadBalancer", "ingress") or []}
        lb_ips = sorted(x for x in found if x)
        if external:
            return ",".join(lb_ips + external)
        return ",".join(lb_ips) if lb_ips else "<pending>"
    if svc_type == "ExternalName":
        return str(spec.get("externalName", ""))
    return "<unknown>"


def _service_cells(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    ports = []
    for p in spec.get("ports") or []:
        node_port = f":{p['nodePort']}" if p.get("nodePort") else ""
        ports.append(f"{p.get('port')}{node_port}/{p.get('protocol') or 'TCP'}")
    return [_name(obj), spec.get("type") or "ClusterIP", cluster_ips[0] if cluster_ips else "<none>",
            _external_ip(obj), ",".join(ports) or "<none>", _created(obj, now), _format_labels(spec.get("selector"))]


def _endpoints_cell(subsets: list[Obj] | None, limit: int = 3) -> str:
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        for port in ports or [None]:  # a headless service may list addresses without ports
            count += len(addresses)
            for ip in addresses:
                if len(shown) == limit:
                    break
                shown.append(ip if port is None else _join_host_port(ip, port.get("port")))
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if count > limit else text


def _endpoints_cells(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), _endpoints_cell(obj.get("subsets")), _created(obj, now)]


def _endpointslice_cells(obj: Obj, now: datetime) -> list[Any]:
    ports = []
    for p in obj.get("ports") or []:
        if p.get("port") is not None:
            ports.append(str(p["port"]))
        else:
            ports.append("*" if p.get("name") is None else str(p["name"]))
    addresses = [a for ep in obj.get("endpoints") or [] for a in ep.get("addresses") or []]
    return [_name(obj), obj.get("addressType", ""), _list_with_more(ports),
            _list_with_more(addresses), _created(obj, now)]


def _node_roles(labels: dict[str, str] | None) -> str:
    roles: set[str] = set()
    for key, value in (labels or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_cells(obj: Obj, now: datetime) -> list[Any]:
    status = obj.get("status") or {}
    ready = {c.get("type"): c for c in status.get("conditions") or []}.get("Ready")
    states = ["Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")]
    if _dig(obj, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        return next((a.get("address", "") for a in status.get("addresses") or [] if a.get("type") == kind), "<none>")

    return [_name(obj), ",".join(states), _node_roles(_meta(obj).get("labels")), _created(obj, now),
            info.get("kubeletVersion", ""), address("InternalIP"), address("ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _event_cells(obj: Obj, now: datetime) -> list[Any]:
    """Cells of a core/v1 Event (events.k8s.io/v1 Events are first mapped onto this shape)."""
    first = _age_of(obj.get("firstTimestamp"), now)
    if parse_time(obj.get("firstTimestamp")) is None:
        first = _age_of(obj.get("eventTime"), now)
    last = first if parse_time(obj.get("lastTimestamp")) is None else _age_of(obj.get("lastTimestamp"), now)
    count = int(obj.get("count") or 0)
    series = obj.get("series")
    if series is not None:
        last = _age_of(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    involved = obj.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    return [last, obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""),
            f"{component}, {host}" if host else component, str(obj.get("message", "")).strip(),
            first, count, _name(obj)]


def events_v1_as_core(obj: Obj) -> Obj:
    """An events.k8s.io/v1 Event mapped onto core/v1 field names, as the server's internal type does."""
    return {
        "metadata": obj.get("metadata") or {},
        "involvedObject": obj.get("regarding") or {},
        "message": obj.get("note", ""),
        "source": obj.get("deprecatedSource") or {},
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount"),
        "eventTime": obj.get("eventTime"),
        "series": obj.get("series"),
        "reportingComponent": obj.get("reportingController", ""),
        "reportingInstance": obj.get("reportingInstance", ""),
        "type": obj.get("type", ""),
        "reason": obj.get("reason", ""),
    }


def _default_cells(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), _created(obj, now)]


_PRINTERS: dict[tuple[str, str], _Printer] = {
    ("", "pods"): _Printer((
        _NAME,
        _col("Ready", "Ready containers out of all containers (sidecars included)."),
        _col("Status", "Summary of the pod's phase and its containers' states."),
        _col("Restarts", "Container restarts, and how long ago the last one was."),
        _AGE,
        _col("IP", "The pod's (first) IP address.", priority=1),
        _col("Node", "The node the pod is bound to.", priority=1),
        _col("Nominated Node", "The node the scheduler nominated by preemption.", priority=1),
        _col("Readiness Gates", "Readiness gates whose condition is True, out of all gates.", priority=1),
    ), _pod_cells, _pod_conditions),
    ("apps", "deployments"): _Printer((
        _NAME,
        _col("Ready", "Ready pods out of desired replicas."),
        _col("Up-to-date", "Pods running the newest pod template."),
        _col("Available", "Pods ready for at least minReadySeconds."),
        _AGE, _CONTAINERS, _IMAGES, _selector_col("deployment"),
    ), _deployment_cells),
    ("apps", "replicasets"): _Printer((
        _NAME,
        _col("Desired", "Replicas asked for (spec.replicas).", "integer"),
        _col("Current", "Pods the replica set has (status.replicas).", "integer"),
        _col("Ready", "Pods that are ready (status.readyReplicas).", "integer"),
        _AGE, _CONTAINERS, _IMAGES, _selector_col("replica set"),
    ), _replicaset_cells),
    ("batch", "jobs"): _Printer((
        _NAME,
        _col("Status", "Complete, Failed, Running, Suspended... from the job's conditions."),
        _col("Completions", "Succeeded pods out of the completions asked for."),
        _col("Duration", "Time from start to completion, or since start while running."),
        _AGE, _CONTAINERS, _IMAGES, _selector_col("job"),
    ), _job_cells),
    ("batch", "cronjobs"): _Printer((
        _NAME,
        _col("Schedule", "Cron schedule of the jobs."),
        _col("Timezone", "Time zone the schedule is read in."),
        _col("Suspend", "Whether new runs are suspended.", "boolean"),
        _col("Active", "Jobs currently running.", "integer"),
        _col("Last Schedule", "How long ago a job was last scheduled."),
        _AGE, _CONTAINERS, _IMAGES, _selector_col("cron job's jobs"),
    ), _cronjob_cells),
    ("", "services"): _Printer((
        _NAME,
        _col("Type", "ClusterIP, NodePort, LoadBalancer or ExternalName."),
        _col("Cluster-IP", "The virtual IP of the service inside the cluster."),
        _col("External-IP", "Addresses reaching the service from outside the cluster."),
        _col("Port(s)", "Service ports, with node ports, and protocols."),
        _AGE,
        _col("Selector", "Label query choosing the pods behind the service.", priority=1),
    ), _service_cells),
    ("", "endpoints"): _Printer((
        _NAME, _col("Endpoints", "Addresses and ports backing the service."), _AGE,
    ), _endpoints_cells),
    ("discovery.k8s.io", "endpointslices"): _Printer((
        _NAME,
        _col("AddressType", "Kind of addresses held: IPv4, IPv6 or FQDN."),
        _col("Ports", "Ports exposed by the endpoints."),
        _col("Endpoints", "Addresses of the endpoints."),
        _AGE,
    ), _endpointslice_cells),
    ("", "nodes"): _Printer((
        _NAME,
        _col("Status", "The node's Ready condition, and whether scheduling is disabled."),
        _col("Roles", "Roles from the node-role.kubernetes.io/<role> labels."),
        _AGE,
        _col("Version", "Version of the kubelet on the node."),
        _col("Internal-IP", "The node's internal address.", priority=1),
        _col("External-IP", "The node's external address.", priority=1),
        _col("OS-Image", "Operating system image of the node.", priority=1),
        _col("Kernel-Version", "Kernel version of the node.", priority=1),
        _col("Container-Runtime", "Container runtime and its version.", priority=1),
    ), _node_cells),
    ("", "events"): _Printer(_EVENT_COLUMNS, _event_cells),
    ("events.k8s.io", "events"): _Printer(_EVENT_COLUMNS, lambda obj, now: _event_cells(events_v1_as_core(obj), now)),
    ("", "namespaces"): _Printer((
        _NAME, _col("Status", "Phase of the namespace: Active or Terminating."), _AGE,
    ), lambda obj, now: [_name(obj), str(_dig(obj, "status", "phase") or ""), _created(obj, now)]),
    ("", "configmaps"): _Printer((
        _NAME, _col("Data", "Number of keys in data and binaryData."), _AGE,
    ), lambda obj, now: [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}),
                         _created(obj, now)]),
    ("", "secrets"): _Printer((
        _NAME, _col("Type", "Type of the secret."), _col("Data", "Number of keys in data."), _AGE,
    ), lambda obj, now: [_name(obj), obj.get("type", ""), len(obj.get("data") or {}), _created(obj, now)]),
    ("", "serviceaccounts"): _Printer((_NAME, _AGE), _default_cells),
}

_DEFAULT = _Printer((_NAME, _col("Age", _AGE["description"], "date")), _default_cells)


def _printer(rt: ResourceType) -> _Printer:
    return _PRINTERS.get((rt.group, rt.plural), _DEFAULT)


# ---------------------------------------------------------------------------------------------
# Public interface
# ---------------------------------------------------------------------------------------------


def column_definitions(rt: ResourceType) -> list[dict[str, Any]]:
    """The Table columns for ``rt``: ``{name, type, format, description, priority}`` each, wide ones included."""
    return [dict(c) for c in _printer(rt).columns]


def validate_include_object(include_object: str | None) -> str:
    """The effective ``includeObject`` (empty means ``Metadata``); 400 BadRequest for anything else.

    Raises:
        errors.APIError: with the real server's message for an unknown value.
    """
    if not include_object:
        return "Metadata"
    if include_object not in INCLUDE_OBJECT_VALUES:
        raise errors.bad_request(
            "Unable to convert to Table as requested: includeObject: Invalid value: "
            f"\"{include_object}\": must be 'Metadata', 'Object', 'None', or empty")
    return include_object


def row(rt: ResourceType, obj: Obj, now: datetime, include_object: str = "Metadata",
        api_version: str = TABLE_V1) -> Obj:
    """One Table row: ``cells`` (wide), ``conditions`` for finished pods, and ``object``.

    ``object`` is a ``PartialObjectMetadata`` for ``Metadata`` (it shares the input's metadata
    dict: serialize, don't mutate), the object itself (with apiVersion/kind) for ``Object``,
    and ``None`` (JSON null, as the real server writes it) for ``None``.
    """
    include_object = validate_include_object(include_object)
    printer = _printer(rt)
    result: Obj = {"cells": printer.cells(obj, now)}
    conditions = printer.conditions(obj) if printer.conditions else []
    if conditions:
        result["conditions"] = conditions
    if include_object == "Metadata":
        result["object"] = {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": _meta(obj)}
    elif include_object == "Object":
        result["object"] = {"apiVersion": rt.group_version, "kind": rt.kind, **obj}
    else:
        result["object"] = None
    return result


def table(rt: ResourceType, objs: list[Obj], now: datetime, resource_version: str,
          include_object: str = "Metadata", continue_token: str | None = None, with_columns: bool = True,
          *, remaining_item_count: int | None = None, api_version: str = TABLE_V1) -> Obj:
    """A whole ``Table`` for a list, a single GET (one object) or one watch event (one object).

    Args:
        rt: The type of every object in ``objs``.
        objs: The objects, in the order to show them.
        now: The time ages are measured against.
        resource_version: ``metadata.resourceVersion`` of the Table: the list's, or the object's
            for a GET or a watch event. Empty leaves it out.
        include_object: ``Metadata`` (default), ``Object`` or ``None``; see :func:`row`.
        continue_token: ``metadata.continue`` for a paged list.
        with_columns: ``False`` gives ``"columnDefinitions": null``, as the real server sends on
            every watch event after the first.
        remaining_item_count: ``metadata.remainingItemCount`` for a paged list, if known.
        api_version: ``meta.k8s.io/v1`` or ``meta.k8s.io/v1beta1`` (see :func:`negotiate_table`).
    """
    include_object = validate_include_object(include_object)
    metadata: Obj = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    if remaining_item_count is not None:
        metadata["remainingItemCount"] = remaining_item_count
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": metadata,
        "columnDefinitions": column_definitions(rt) if with_columns else None,
        "rows": [row(rt, obj, now, include_object, api_version) for obj in objs],
    }


def negotiate_table(accept: str | None) -> str | None:
    """Which Table ``apiVersion`` an Accept header asks for, or ``None`` to answer with plain JSON.

    Media ranges are taken by ``q`` (highest first, then header order). The first one the server
    can give decides: ``application/json;as=Table;g=meta.k8s.io;v=v1|v1beta1`` gives a Table;
    ``application/json``, ``application/*`` or ``*/*`` without ``as`` gives the plain object. A
    range asking for another ``as`` (e.g. PartialObjectMetadataList) or version is skipped here.
    """
    ranges: list[tuple[float, int, str, dict[str, str]]] = []
    for index, part in enumerate((accept or "").split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        options = {}
        for param in params:
            key, _, value = param.partition("=")
            options[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(options.pop("q", "1"))
        except ValueError:
            q = 1.0
        ranges.append((-q, index, media.lower(), options))
    for neg_q, _, media, options in sorted(ranges):
        if neg_q == 0 or media not in ("application/json", "application/*", "*/*"):
            continue
        if "as" not in options:
            return None
        if options["as"] == "Table" and options.get("g") == "meta.k8s.io" and options.get("v") in ("v1", "v1beta1"):
            return f"meta.k8s.io/{options['v']}"
    return None
