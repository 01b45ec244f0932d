"""How Kubernetes objects look in a notebook: HTML and plain-text tables, the ownership tree, YAML evidence.

Everything here is pure: functions of wire-format dicts (camelCase, as the API
server sends them), no cluster access. The columns follow ``kubectl get`` (see
/work/shared/kubernetes-api-notes.md, "Tables") so what a learner sees in a
helper's output matches what ``!kubectl get`` prints.

:func:`live_frontend` decides whether a widget frontend is listening; without
one (nbconvert/nbgrader execution, plain Python, ``KK_STATIC=1``) widgets and
progress bars render static HTML/text and start no thread. :class:`Progress`,
the indicator of a bounded wait, is the one ipywidgets object made here.

Marks and symbols are glyphs every ordinary font has (✓ ✗ ●, CSS-drawn dots),
never colour emoji, which show as empty boxes in a browser without an emoji
font. Stable elements carry ``kk-*`` CSS classes (``kk-pod kk-pod--Running``,
``kk-table--Pod``, ``kk-tree``, ``kk-bar``...) and ``data-*`` attributes, for
instructors' custom CSS and for browser tests; see :mod:`kk_helpers.widgets`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from typing import Any

import yaml

Obj = dict[str, Any]

#: Chip colours by pod status (what ``kubectl get pods`` prints in STATUS).
STATUS_COLORS: dict[str, str] = {
    "Running": "#2e7d32",
    "Succeeded": "#1565c0",
    "Completed": "#1565c0",
    "Pending": "#f9a825",
    "ContainerCreating": "#f9a825",
    "PodInitializing": "#f9a825",
    "Terminating": "#757575",
    "Unknown": "#757575",
    "Failed": "#c62828",
    "Error": "#c62828",
    "CrashLoopBackOff": "#c62828",
    "ErrImagePull": "#c62828",
    "ImagePullBackOff": "#c62828",
    "Evicted": "#c62828",
}
#: MIME type of the evidence a check leaves in a cell's output.
EVIDENCE_MIMETYPE = "application/vnd.kk.evidence+json"


# --------------------------------------------------------------------------- frontend

def live_frontend() -> bool:
    """Is a widget-capable frontend (JupyterLab, Notebook 7, VS Code) listening to this kernel?

    ``KK_STATIC=1`` forces static output and ``KK_STATIC=0`` live widgets. Otherwise there must be an
    IPython kernel (``get_ipython().kernel``), and either the request being executed came from a
    frontend that sends ``cellId`` (JupyterLab does, nbclient/nbconvert/nbgrader do not) or the
    ipywidgets control channel was opened by a widget manager.
    """
    forced = os.environ.get("KK_STATIC", "").strip().lower()
    if forced in ("1", "true", "yes"):
        return False
    if forced in ("0", "false", "no"):
        return True
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None) if shell is not None else None
    if kernel is None:
        return False
    try:
        parent = kernel.get_parent() or {}
    except Exception:  # older/newer kernels: no parent for this thread
        parent = {}
    if "cellId" in (parent.get("metadata") or {}):
        return True
    try:
        from ipywidgets import Widget

        return getattr(Widget, "_control_comm", None) is not None
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        return False


def in_ipython() -> bool:
    """Is code running inside IPython (a kernel or the terminal shell)?"""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


def display_or_print(obj: Any) -> None:
    """``IPython.display.display`` inside IPython, else print the plain ``repr``."""
    if in_ipython():
        from IPython.display import display

        display(obj)
    else:
        print(repr(obj) if not isinstance(obj, str) else obj)


class Progress:
    """The progress indicator of a bounded wait (``kk.wait_for``, a check that polls).

    With a widget frontend, an ipywidgets bar and a label, shown when created (or, with ``show_now=False``,
    at the first :meth:`update`, so a wait that ends at its first look shows nothing). The wait never
    closes it: :meth:`finish` leaves it in its final state — a full green bar with ``done in 2.1 s``, or a
    red one saying why the wait failed — so the cell keeps a record of the wait, and the frontend is never
    told to close models it may still be drawing (closing them right after a short wait raced JupyterLab's
    rendering of the box). Without a frontend it shows nothing.

    Class hooks: the box has ``kk-progress`` and, once finished, ``kk-progress--done`` or
    ``kk-progress--failed``; the label's HTML is a ``kk-progress__label`` span.

    Args:
        description: what is awaited (``deployment/myd1 ready``).
        total: seconds until the timeout.
        live: force the widget on or off; default :func:`live_frontend`.
        show_now: show the bar at once (else at the first :meth:`update`).
    """

    def __init__(self, description: str, total: float, *, live: bool | None = None, show_now: bool = True) -> None:
        self.description = description
        self.total = total
        self.live = live_frontend() if live is None else live
        self.state = "waiting"  # then "done" or "failed"
        self.text = ""
        self._started = time.monotonic()
        self._box: Any = None
        self._bar: Any = None
        self._label: Any = None
        self._closed = False
        if show_now:
            self.update(0.0)

    def _show(self) -> None:
        if not self.live or self._box is not None or self._closed:
            return
        import ipywidgets as w
        from IPython.display import display

        self._bar = w.FloatProgress(value=0.0, min=0.0, max=max(self.total, 0.001), description="waiting",
                                    layout=w.Layout(width="16em", flex="0 0 auto"))
        self._label = w.HTML()
        self._box = w.HBox([self._bar, self._label], layout=w.Layout(align_items="center", flex_flow="row wrap"))
        self._box.add_class("kk-progress")
        display(self._box)

    def update(self, elapsed: float, status: str = "") -> None:
        """Move the bar (showing it the first time); ``status`` is what is seen now."""
        self._show()
        if self._bar is not None:
            self._bar.value = min(elapsed, self.total)
            seen = f" — {escape(status)}" if status else ""
            self._label.value = self._label_html(escape(self.description) + seen)

    def finish(self, ok: bool, text: str = "") -> None:
        """Leave the indicator in its final state (shown only if the wait was shown).

        Args:
            ok: the wait succeeded.
            text: what to say; default ``done in 2.1 s`` (ok) or ``failed after 2.1 s``.
        """
        elapsed = time.monotonic() - self._started
        self.state = "done" if ok else "failed"
        self.text = text or (f"done in {elapsed:.1f} s" if ok else f"failed after {elapsed:.1f} s")
        if self._bar is None:
            return
        self._bar.value = self._bar.max if ok else min(elapsed, self.total)
        self._bar.bar_style = "success" if ok else "danger"
        self._bar.description = "done" if ok else "failed"
        self._box.add_class(f"kk-progress--{self.state}")
        self._label.value = self._label_html(f"{mark_html(ok)} {escape(self.description)}: {escape(self.text)}")

    def close(self) -> None:
        """Remove the indicator (the wait helpers call :meth:`finish` instead, and leave it shown)."""
        if self._box is not None:
            self._box.close()
            self._bar.close()
            self._label.close()
            self._box = self._bar = self._label = None
        self._closed = True

    @staticmethod
    def _label_html(inner: str) -> str:
        return f"<span class='kk-progress__label' style='color:#555;margin-left:6px'>{inner}</span>"


# --------------------------------------------------------------------------- small formatters

def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def format_age(seconds: float) -> str:
    """kubectl's human duration (k8s.io/apimachinery/pkg/util/duration.HumanDuration).

    Args:
        seconds: elapsed seconds.

    Returns:
        ``"42s"``, ``"3m20s"``, ``"15m"``, ``"5h10m"``, ``"20h"``, ``"3d4h"``, ``"40d"``, ``"2y30d"`` or ``"9y"``.
    """
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if h < 24 * 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 365 * 2:
        return f"{d}d"
    y = d // 365
    if d < 365 * 8:
        return f"{y}y{d % 365}d" if d % 365 else f"{y}y"
    return f"{y}y"


def age(obj: Obj, now: datetime | None = None, key: str = "creationTimestamp") -> str:
    """Age of an object from a metadata timestamp, as kubectl prints it (``<unknown>`` without one)."""
    ts = _parse_time((obj.get("metadata") or {}).get(key))
    if ts is None:
        return "<unknown>"
    now = now or datetime.now(timezone.utc)
    return format_age((now - ts).total_seconds())


def meta(obj: Obj) -> Obj:
    """``obj["metadata"]`` or an empty dict."""
    return obj.get("metadata") or {}


def name_of(obj: Obj) -> str:
    """``metadata.name``."""
    return str(meta(obj).get("name", ""))


def kind_of(obj: Obj, default: str = "") -> str:
    """The object's ``kind`` (list items often lack it; pass the list's kind as default)."""
    return str(obj.get("kind") or default)


def images_of(obj: Obj) -> list[str]:
    """Container images of a pod, or of the pod template of a workload."""
    spec = obj.get("spec") or {}
    if "template" in spec:
        spec = (spec.get("template") or {}).get("spec") or {}
    if "jobTemplate" in spec:
        spec = ((((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {})
    return [str(c.get("image", "")) for c in spec.get("containers") or []]


def controller_of(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def pod_status(pod: Obj) -> str:
    """The STATUS column of ``kubectl get pods`` (printers.go printPod, without init containers' detail)."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    running = False
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated:
            reason = (f"Signal:{terminated['signal']}" if terminated.get("signal")
                      else f"ExitCode:{terminated.get('exitCode', 0)}")
        elif cs.get("ready") and state.get("running") is not None:
            running = True
    if reason == "Completed" and running:
        reason = "Running"
    if meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return str(reason)


def pod_ready(pod: Obj) -> str:
    """``ready/total`` containers."""
    spec_count = len((pod.get("spec") or {}).get("containers") or [])
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    return f"{ready}/{max(spec_count, len(statuses))}"


def pod_is_ready(pod: Obj) -> bool:
    """Condition Ready is True and the pod is not being deleted."""
    if meta(pod).get("deletionTimestamp"):
        return False
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_restarts(pod: Obj) -> str:
    """Sum of container restarts."""
    return str(sum(int(cs.get("restartCount") or 0) for cs in (pod.get("status") or {}).get("containerStatuses") or []))


def node_ready(node: Obj) -> bool:
    """Condition Ready is True."""
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def node_status(node: Obj) -> str:
    """``Ready``/``NotReady`` plus ``,SchedulingDisabled`` when cordoned."""
    text = "Ready" if node_ready(node) else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def node_roles(node: Obj) -> str:
    """Roles from ``node-role.kubernetes.io/<role>`` labels, else ``<none>``."""
    roles = sorted(k.split("/", 1)[1] for k in (meta(node).get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/") and "/" in k)
    return ",".join(r for r in roles if r) or "<none>"


def node_address(node: Obj, kind: str = "InternalIP") -> str:
    """The node's address of a type (``InternalIP``, ``ExternalIP``, ``Hostname``), or ``""``."""
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == kind:
            return str(addr.get("address", ""))
    return ""


def service_ports(svc: Obj) -> str:
    """The PORT(S) column: ``80/TCP`` or ``80:31234/TCP``."""
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        text = str(p.get("port", ""))
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    ips = list(spec.get("externalIPs") or [])
    for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        ips.append(ing.get("ip") or ing.get("hostname") or "")
    if ips:
        return ",".join(i for i in ips if i)
    return "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"


def _selector_text(sel: Obj | None) -> str:
    if not sel:
        return "<none>"
    labels = sel.get("matchLabels", sel) if isinstance(sel, dict) else {}
    if not isinstance(labels, dict):
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in labels.items() if isinstance(v, str)) or "<none>"


def _event_time(ev: Obj) -> Obj:
    ts = ev.get("lastTimestamp") or ev.get("eventTime") or meta(ev).get("creationTimestamp")
    return {"metadata": {"creationTimestamp": ts}}


def job_completions(job: Obj) -> str:
    """``succeeded/completions``."""
    return f"{(job.get('status') or {}).get('succeeded', 0) or 0}/{(job.get('spec') or {}).get('completions', 1) or 1}"


def _involved(ev: Obj) -> str:
    inv = ev.get("involvedObject") or ev.get("regarding") or {}
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


def job_status(job: Obj) -> str:
    """``Complete``, ``Failed``, ``Suspended`` or ``Running``."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed", "Suspended"):
            return str(cond["type"])
    return "Running"


# --------------------------------------------------------------------------- tables

Column = tuple[str, Callable[[Obj], str]]

COLUMNS: dict[str, list[Column]] = {
    "Pod": [
        ("NAME", name_of), ("READY", pod_ready), ("STATUS", pod_status), ("RESTARTS", pod_restarts),
        ("AGE", age), ("IP", lambda o: str((o.get("status") or {}).get("podIP") or "<none>")),
        ("NODE", lambda o: str((o.get("spec") or {}).get("nodeName") or "<none>")),
    ],
    "Deployment": [
        ("NAME", name_of),
        ("READY", lambda o: f"{(o.get('status') or {}).get('readyReplicas', 0) or 0}/"
                            f"{(o.get('spec') or {}).get('replicas', 0) or 0}"),
        ("UP-TO-DATE", lambda o: str((o.get("status") or {}).get("updatedReplicas", 0) or 0)),
        ("AVAILABLE", lambda o: str((o.get("status") or {}).get("availableReplicas", 0) or 0)),
        ("AGE", age), ("IMAGES", lambda o: ",".join(images_of(o))),
    ],
    "ReplicaSet": [
        ("NAME", name_of),
        ("DESIRED", lambda o: str((o.get("spec") or {}).get("replicas", 0) or 0)),
        ("CURRENT", lambda o: str((o.get("status") or {}).get("replicas", 0) or 0)),
        ("READY", lambda o: str((o.get("status") or {}).get("readyReplicas", 0) or 0)),
        ("AGE", age), ("IMAGES", lambda o: ",".join(images_of(o))),
    ],
    "Service": [
        ("NAME", name_of), ("TYPE", lambda o: str((o.get("spec") or {}).get("type", "ClusterIP"))),
        ("CLUSTER-IP", lambda o: str((o.get("spec") or {}).get("clusterIP") or "<none>")),
        ("EXTERNAL-IP", _external_ip), ("PORT(S)", service_ports), ("AGE", age),
        ("SELECTOR", lambda o: _selector_text((o.get("spec") or {}).get("selector"))),
    ],
    "Node": [
        ("NAME", name_of), ("STATUS", node_status), ("ROLES", node_roles), ("AGE", age),
        ("VERSION", lambda o: str(((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""))),
        ("INTERNAL-IP", lambda o: node_address(o) or "<none>"),
    ],
    "Event": [
        ("LAST SEEN", lambda o: age(_event_time(o))), ("TYPE", lambda o: str(o.get("type", ""))),
        ("REASON", lambda o: str(o.get("reason", ""))), ("OBJECT", _involved),
        ("MESSAGE", lambda o: str(o.get("message") or o.get("note") or "")),
    ],
    "Job": [
        ("NAME", name_of), ("STATUS", job_status), ("COMPLETIONS", job_completions),
        ("AGE", age),
    ],
    "Namespace": [("NAME", name_of), ("STATUS", lambda o: str((o.get("status") or {}).get("phase", "Active"))),
                  ("AGE", age)],
}
_GENERIC: list[Column] = [("NAME", name_of), ("KIND", lambda o: kind_of(o)), ("AGE", age)]


def _with_namespace(columns: list[Column]) -> list[Column]:
    return [("NAMESPACE", lambda o: str(meta(o).get("namespace", "")))] + columns


def rows(kind: str, objs: Sequence[Obj], *, namespaces: bool = False) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a ``kubectl get``-like table.

    Args:
        kind: the objects' kind (``Pod``...); unknown kinds get NAME/KIND/AGE.
        objs: wire-format objects.
        namespaces: add a NAMESPACE column first.
    """
    columns = COLUMNS.get(kind, _GENERIC)
    if namespaces:
        columns = _with_namespace(columns)
    return [c[0] for c in columns], [[fn(o) for _, fn in columns] for o in objs]


def text_table(kind: str, objs: Sequence[Obj], *, namespaces: bool = False, empty: str = "") -> str:
    """A plain-text table with kubectl's spacing (columns padded, three spaces apart)."""
    if not objs:
        return empty or f"No {kind or 'object'}s found."
    headers, body = rows(kind, objs, namespaces=namespaces)
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    lines = ["   ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in [headers, *body]]
    return "\n".join(lines)


def css_token(text: str) -> str:
    """``text`` as a CSS class fragment: ``ExitCode:1`` -> ``ExitCode-1`` (letters, digits, ``-`` and ``_``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "none"


def classes(*names: str) -> str:
    """A ``class='...'`` attribute of the non-empty names (``""`` when there are none)."""
    value = " ".join(n for n in names if n)
    return f" class='{escape(value, quote=True)}'" if value else ""


def chip(text: str, color: str = "#546e7a", *, title: str = "", cls: str = "",
         data: dict[str, str] | None = None) -> str:
    """A rounded coloured label (HTML).

    Args:
        text: the label.
        color: background colour (the text is white).
        title: tooltip.
        cls: extra CSS classes (``kk-chip`` is always there), e.g. ``"kk-pod kk-pod--Running"``.
        data: ``data-*`` attributes (``{"pod": "web"}`` -> ``data-pod='web'``).
    """
    tip = f" title='{escape(title, quote=True)}'" if title else ""
    attrs = "".join(f" data-{k}='{escape(v, quote=True)}'" for k, v in (data or {}).items())
    return (f"<span{classes('kk-chip', cls)}{tip}{attrs} style='display:inline-block;padding:1px 8px;margin:1px;"
            f"border-radius:10px;background:{color};color:white;font-size:0.85em;white-space:nowrap'>"
            f"{escape(text)}</span>")


def pod_chip(pod: Obj, text: str | None = None) -> str:
    """A pod as a chip coloured by status, with the class hooks ``kk-pod kk-pod--<Status>``.

    Its title reads ``<name> · <status> · <IP>``; ``data-pod`` and ``data-status`` carry name and status.
    """
    name, status = name_of(pod), pod_status(pod)
    ip = (pod.get("status") or {}).get("podIP") or "no IP"
    return chip(name if text is None else text, status_color(status), title=f"{name} · {status} · {ip}",
                cls=f"kk-pod kk-pod--{css_token(status)}", data={"pod": name, "status": status})


#: Pass/fail marks: glyphs every ordinary font has (DejaVu, Liberation, Segoe UI Symbol), never colour emoji,
#: which render as empty boxes where no emoji font is installed (Debian's chromium, many servers).
MARKS: dict[bool | None, tuple[str, str, str]] = {
    True: ("✓", "pass", "#2e7d32"),
    False: ("✗", "fail", "#c62828"),
    None: ("?", "unchecked", "#757575"),
}


def mark_html(passed: bool | None) -> str:
    """✓ (passed), ✗ (failed) or ? (not checked yet) as a coloured ``kk-mark kk-mark--pass|fail|unchecked`` span."""
    glyph, kind, color = MARKS[passed]
    label = {"pass": "passed", "fail": "failed", "unchecked": "not checked yet"}[kind]
    return (f"<span class='kk-mark kk-mark--{kind}' title='{label}' aria-label='{label}' "
            f"style='color:{color};font-weight:bold'>{glyph}</span>")


def hint_html(text: str, number: int | None = None) -> str:
    """A hint as a ``kk-hint`` line led by a bold ``Hint:`` (or ``Hint 2:``) label."""
    label = "Hint" if number is None else f"Hint {number}"
    return (f"<div class='kk-hint' style='color:#6a1b9a'><b class='kk-hint__label'>{label}:</b> "
            f"{escape(text)}</div>")


#: How many dots :func:`replica_dots` draws at most (then ``+N``).
MAX_DOTS = 24


def _dot(kind: str, color: str, filled: bool) -> str:
    return (f"<span class='kk-dot kk-dot--{kind}' style='display:inline-block;box-sizing:border-box;width:0.8em;"
            f"height:0.8em;margin:0 2px;border-radius:50%;vertical-align:-0.1em;border:2px solid {color};"
            f"background:{color if filled else 'transparent'}'></span>")


def replica_dots(desired: int, ready: int, *, legend: bool = True) -> str:
    """Desired vs ready replicas as dots: filled for a ready replica, hollow for one not ready yet.

    Drawn with CSS (not font glyphs), so they show in any browser; filled vs hollow reads without colour.
    Ready replicas beyond ``desired`` (scaling down) are filled grey (``kk-dot--surplus``).

    Args:
        desired: ``spec.replicas``.
        ready: ``status.readyReplicas``.
        legend: add a small "● ready ○ not ready yet" legend.

    Returns:
        ``<span class='kk-dots' title='2 of 3 ready'>`` with one ``kk-dot--ready``/``--waiting``/``--surplus``
        span per replica (at most :data:`MAX_DOTS`, then ``+N``).
    """
    kinds = (["ready"] * min(ready, desired) + ["waiting"] * max(0, desired - ready)
             + ["surplus"] * max(0, ready - desired))
    look = {"ready": ("#2e7d32", True), "waiting": ("#9e9e9e", False), "surplus": ("#9e9e9e", True)}
    dots = "".join(_dot(k, *look[k]) for k in kinds[:MAX_DOTS])
    if len(kinds) > MAX_DOTS:
        dots += f"<span style='color:#666;font-size:0.85em'> +{len(kinds) - MAX_DOTS}</span>"
    title = f"{min(ready, desired)} of {desired} desired replicas ready"
    if ready > desired:
        title += f", {ready - desired} more still running (scaling down)"
    key = ""
    if legend and kinds:
        key = (f"<span class='kk-dots__legend' style='color:#666;font-size:0.8em;margin-left:4px;white-space:nowrap'>"
               f"{_dot('ready', *look['ready'])}ready {_dot('waiting', *look['waiting'])}not ready yet</span>")
    return (f"<span class='kk-dots' role='img' aria-label='{escape(title, quote=True)}' "
            f"title='{escape(title, quote=True)}' style='white-space:nowrap'>{dots}</span>{key}")


def status_color(status: str) -> str:
    """The chip colour of a pod status."""
    if status.startswith(("ExitCode:", "Signal:", "Init:Error")):
        return STATUS_COLORS["Error"]
    return STATUS_COLORS.get(status, "#546e7a")


_TABLE_STYLE = "border-collapse:collapse;font-family:monospace;font-size:0.9em"
_CELL = "padding:2px 10px;text-align:left;border-bottom:1px solid #ddd"


def html_table(kind: str, objs: Sequence[Obj], *, namespaces: bool = False, caption: str = "") -> str:
    """An HTML table with the same columns as :func:`text_table`; pod and node statuses as chips."""
    if not objs:
        return (f"<div class='kk-table kk-table--empty' style='font-family:monospace;color:#666'>"
                f"{escape(text_table(kind, objs))}</div>")
    headers, body = rows(kind, objs, namespaces=namespaces)
    status_idx = headers.index("STATUS") if "STATUS" in headers and kind in ("Pod", "Node") else -1
    head = "".join(f"<th style='{_CELL}'>{escape(h)}</th>" for h in headers)
    out = [f"<table class='kk-table kk-table--{css_token(kind or 'objects')}' style='{_TABLE_STYLE}'>"]
    if caption:
        out.append(f"<caption style='text-align:left;font-weight:bold'>{escape(caption)}</caption>")
    out.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for line in body:
        cells = []
        for i, cell in enumerate(line):
            if i == status_idx:
                color = status_color(cell) if kind == "Pod" else ("#2e7d32" if cell.startswith("Ready") else "#c62828")
                cls = f"kk-status kk-status--{css_token(cell)}"
                cells.append(f"<td style='{_CELL}'>{chip(cell, color, cls=cls)}</td>")
            else:
                cells.append(f"<td style='{_CELL}'>{escape(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


# --------------------------------------------------------------------------- YAML and evidence

def clean(obj: Obj) -> Obj:
    """A copy without ``metadata.managedFields`` (noise in a notebook)."""
    out = dict(obj)
    if isinstance(out.get("metadata"), dict):
        md = dict(out["metadata"])
        md.pop("managedFields", None)
        out["metadata"] = md
    return out


def to_yaml(obj: Obj | Sequence[Obj]) -> str:
    """YAML of one object or a ``---``-separated list, without managedFields."""
    if isinstance(obj, dict):
        return str(yaml.safe_dump(clean(obj), sort_keys=False, default_flow_style=False))
    return "---\n".join(yaml.safe_dump(clean(o), sort_keys=False, default_flow_style=False) for o in obj)


def describe_ref(obj: Obj) -> str:
    """``deployment/myd1`` (kind lower-cased)."""
    return f"{kind_of(obj, 'object').lower()}/{name_of(obj)}"


def evidence_html(objs: Sequence[Obj], title: str = "evidence") -> str:
    """A collapsed ``<details>`` block with the YAML of the objects a check looked at."""
    if not objs:
        return ""
    refs = ", ".join(describe_ref(o) for o in objs[:6]) + (" …" if len(objs) > 6 else "")
    return (f"<details style='margin-top:4px'><summary style='cursor:pointer;color:#555'>{escape(title)}: "
            f"{len(objs)} object{'s' if len(objs) != 1 else ''} ({escape(refs)})</summary>"
            f"<pre style='font-size:0.8em;max-height:30em;overflow:auto'>{escape(to_yaml(list(objs)))}</pre>"
            f"</details>")


# --------------------------------------------------------------------------- ownership tree

@dataclass
class TreeNode:
    """One object in an ownership tree.

    Attributes:
        kind: ``Deployment``, ``ReplicaSet``, ``Pod``...
        name: object name.
        detail: a short status text (``4/4 ready``).
        status: a status word that picks the colour (pod status, or ``ok``/``warn``).
        children: owned objects.
    """

    kind: str
    name: str
    detail: str = ""
    status: str = ""
    children: list[TreeNode] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """``kind/name`` as kubectl prints it."""
        return f"{self.kind.lower()}/{self.name}"

    def walk(self) -> Iterable[TreeNode]:
        """This node, then every descendant depth-first."""
        yield self
        for c in self.children:
            yield from c.walk()


def _deployment_node(d: Obj) -> TreeNode:
    spec, st = d.get("spec") or {}, d.get("status") or {}
    want, ready = spec.get("replicas", 1) or 0, st.get("readyReplicas", 0) or 0
    detail = f"{ready}/{want} ready · {', '.join(images_of(d))}"
    return TreeNode("Deployment", name_of(d), detail, "ok" if ready == want else "warn")


def _rs_node(rs: Obj) -> TreeNode:
    spec, st = rs.get("spec") or {}, rs.get("status") or {}
    want, ready = spec.get("replicas", 0) or 0, st.get("readyReplicas", 0) or 0
    rev = (meta(rs).get("annotations") or {}).get("deployment.kubernetes.io/revision", "")
    detail = f"{want} desired, {ready} ready" + (f" · revision {rev}" if rev else "") + f" · {', '.join(images_of(rs))}"
    return TreeNode("ReplicaSet", name_of(rs), detail, "ok" if ready == want else "warn")


def _pod_node(p: Obj) -> TreeNode:
    node = (p.get("spec") or {}).get("nodeName") or "unscheduled"
    ip = (p.get("status") or {}).get("podIP") or ""
    status = pod_status(p)
    return TreeNode("Pod", name_of(p), f"{status} · {node}" + (f" · {ip}" if ip else ""), status)


def ownership_tree(deployments: Sequence[Obj], replicasets: Sequence[Obj], pods: Sequence[Obj]) -> list[TreeNode]:
    """Deployment -> ReplicaSet -> Pods, matched by controller ownerReferences (uid, else name).

    ReplicaSets without a deployment and pods without a ReplicaSet become roots of their own.
    """
    def key(ref: Obj | None) -> tuple[str, str]:
        return (str((ref or {}).get("kind", "")), str((ref or {}).get("uid") or (ref or {}).get("name", "")))

    def keys_of(obj: Obj, kind: str) -> set[tuple[str, str]]:
        md = meta(obj)
        return {(kind, str(md.get("uid", ""))), (kind, str(md.get("name", "")))} - {(kind, "")}

    pods_by_owner: dict[tuple[str, str], list[Obj]] = {}
    for p in pods:
        pods_by_owner.setdefault(key(controller_of(p)), []).append(p)
    rs_by_owner: dict[tuple[str, str], list[Obj]] = {}
    for rs in replicasets:
        rs_by_owner.setdefault(key(controller_of(rs)), []).append(rs)

    used_rs: set[str] = set()
    used_pods: set[str] = set()

    def rs_tree(rs: Obj) -> TreeNode:
        node = _rs_node(rs)
        used_rs.add(name_of(rs))
        for k in keys_of(rs, "ReplicaSet"):
            for p in sorted(pods_by_owner.get(k, []), key=name_of):
                if name_of(p) not in used_pods:
                    used_pods.add(name_of(p))
                    node.children.append(_pod_node(p))
        return node

    roots: list[TreeNode] = []
    for d in sorted(deployments, key=name_of):
        dn = _deployment_node(d)
        owned = [rs for k in keys_of(d, "Deployment") for rs in rs_by_owner.get(k, [])]
        seen: set[str] = set()
        for rs in sorted(owned, key=lambda r: -int((meta(r).get("annotations") or {})
                                                    .get("deployment.kubernetes.io/revision", "0") or 0)):
            if name_of(rs) not in seen:
                seen.add(name_of(rs))
                dn.children.append(rs_tree(rs))
        roots.append(dn)
    for rs in sorted(replicasets, key=name_of):
        if name_of(rs) not in used_rs:
            roots.append(rs_tree(rs))
    for p in sorted(pods, key=name_of):
        if name_of(p) not in used_pods:
            roots.append(_pod_node(p))
    return roots


def tree_text(roots: Sequence[TreeNode]) -> str:
    """The tree drawn with box characters, one object per line."""
    lines: list[str] = []

    def draw(node: TreeNode, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└── " if last else "├── ")
        lines.append(f"{prefix}{branch}{node.ref}" + (f"  ({node.detail})" if node.detail else ""))
        child_prefix = prefix + ("" if top else ("    " if last else "│   "))
        for i, c in enumerate(node.children):
            draw(c, child_prefix, i == len(node.children) - 1, False)

    for r in roots:
        draw(r, "", True, True)
    return "\n".join(lines) if lines else "(nothing here: no deployments, replica sets or pods)"


_TREE_COLORS = {"Deployment": "#1565c0", "ReplicaSet": "#6a1b9a", "Pod": "#2e7d32"}


def tree_html(roots: Sequence[TreeNode]) -> str:
    """The tree drawn as nested boxes joined by lines: each owner encloses what it owns."""
    if not roots:
        return (f"<div class='kk-tree kk-tree--empty' style='font-family:monospace;color:#666'>"
                f"{escape(tree_text(roots))}</div>")

    def box(node: TreeNode) -> str:
        color = _TREE_COLORS.get(node.kind, "#546e7a")
        if node.kind == "Pod":
            badge = chip(node.name, status_color(node.status), title=node.detail,
                         cls=f"kk-pod kk-pod--{css_token(node.status)}", data={"pod": node.name, "status": node.status})
            return (f"<li class='kk-tree__node kk-tree__node--Pod' style='margin:2px 0'>{badge} "
                    f"<span style='color:#666;font-size:0.85em'>"
                    f"{escape(node.detail)}</span></li>")
        head = (f"<span style='color:{color};font-weight:bold'>{escape(node.kind)}</span> "
                f"<b>{escape(node.name)}</b> <span style='color:#666;font-size:0.85em'>{escape(node.detail)}</span>")
        kids = "".join(box(c) for c in node.children)
        inner = (f"<ul style='list-style:none;margin:4px 0 0 6px;padding-left:14px;border-left:2px solid {color}'>"
                 f"{kids}</ul>") if kids else ""
        return (f"<li class='kk-tree__node kk-tree__node--{css_token(node.kind)}' style='margin:4px 0'>"
                f"<div style='border:1px solid {color};border-radius:6px;padding:4px 8px;"
                f"display:inline-block;min-width:20em'>{head}{inner}</div></li>")

    return ("<ul class='kk-tree' style='list-style:none;padding-left:0;font-family:sans-serif;font-size:0.95em'>"
            + "".join(box(r) for r in roots) + "</ul>")


# --------------------------------------------------------------------------- bars

def bars_html(counts: dict[str, int], *, title: str = "", unit: str = "responses") -> str:
    """Horizontal bars, one per key, widths proportional to the counts (pure HTML, no matplotlib)."""
    total = sum(counts.values())
    if not counts:
        return f"<div class='kk-bars kk-bars--empty' style='color:#666'>{escape(title or 'no data')}: nothing yet</div>"
    top = max(counts.values()) or 1
    palette = ["#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e", "#546e7a"]
    out = ["<div class='kk-bars' style='font-family:sans-serif;font-size:0.9em'>"]
    if title:
        out.append(f"<div class='kk-bars__title' style='font-weight:bold;margin-bottom:4px'>{escape(title)}</div>")
    for i, (key, n) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))):
        width = int(300 * n / top)
        out.append(f"<div class='kk-bar' data-key='{escape(key, quote=True)}' data-count='{n}' "
                   f"style='display:flex;align-items:center;margin:2px 0'>"
                   f"<span title='{escape(key, quote=True)}' style='flex:0 1 22em;min-width:6em;font-family:monospace;"
                   f"overflow:hidden;text-overflow:ellipsis;white-space:nowrap'>"
                   f"{escape(key)}</span><span style='display:inline-block;height:14px;width:{width}px;"
                   f"background:{palette[i % len(palette)]};border-radius:3px'></span>"
                   f"<span style='margin-left:6px'>{n}</span></div>")
    out.append(f"<div class='kk-bars__total' style='color:#666'>{total} {escape(unit)}, {len(counts)} distinct</div>"
               "</div>")
    return "".join(out)


def bars_text(counts: dict[str, int], *, title: str = "", unit: str = "responses") -> str:
    """The same bars in text: ``name  ████████ 7``."""
    if not counts:
        return f"{title or 'no data'}: nothing yet"
    top = max(counts.values()) or 1
    width = max(len(k) for k in counts)
    lines = [title] if title else []
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"{key.ljust(width)}  {'█' * max(1, round(30 * n / top))} {n}")
    lines.append(f"{sum(counts.values())} {unit}, {len(counts)} distinct")
    return "\n".join(lines)
