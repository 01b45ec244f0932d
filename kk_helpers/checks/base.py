"""The machinery of checks: results with parts and points, the per-lab registry, and the polling runner.

A check is a function of cluster state. It receives a :class:`Context` (the
cluster, the namespace, the lab, the learner's parameters) and records
:class:`Part` verdicts on it; each object it reads through the context is kept
as evidence. The runner calls it again until it passes, until a failing part is
*final* (waiting cannot change it, e.g. the deployment does not exist or has the
wrong image), or until a bounded wait (``$KK_CHECK_TIMEOUT``, default 30 s) runs out.

The same :class:`CheckResult` serves feedback (``lab.check("task")`` shows it)
and grading (:meth:`CheckResult.assert_passed` raises :class:`CheckFailed`, an
AssertionError, with the same sentence), so the two never disagree.
"""

from __future__ import annotations

import importlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from .. import reprs
from ..connect import Cluster, current
from ..errors import KKError

if TYPE_CHECKING:
    from ..lab import Lab

Obj = dict[str, Any]

#: Default seconds a check keeps polling before it reports a failure.
DEFAULT_TIMEOUT = 30.0
#: Seconds between two looks.
POLL_INTERVAL = 0.5
#: MIME type of a check result's JSON in a cell's output.
RESULT_MIMETYPE = "application/vnd.kk.check+json"


def check_timeout(timeout: float | None = None) -> float:
    """``timeout`` if given, else ``$KK_CHECK_TIMEOUT``, else :data:`DEFAULT_TIMEOUT` seconds."""
    if timeout is not None:
        return max(0.0, float(timeout))
    raw = os.environ.get("KK_CHECK_TIMEOUT", "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


class CheckFailed(AssertionError):
    """A check did not pass; the message is the same sentence the feedback shows."""


@dataclass
class Part:
    """One verdict inside a check.

    Attributes:
        name: short name (``replicas``).
        passed: the verdict.
        expected: what the task asks for, in words.
        actual: what the cluster shows, in words.
        points: weight of this part for partial credit.
        hint: what to try when it fails.
        final: a failure that waiting will not change (stop polling).
    """

    name: str
    passed: bool
    expected: str
    actual: str
    points: float = 1.0
    hint: str = ""
    final: bool = False


@dataclass
class CheckResult:
    """The outcome of one check: parts, points, hints and the evidence looked at.

    Attributes:
        lab: lab number (``"03"``).
        task: task name (``"scale"``).
        title: what the task asks, in one line.
        parts: the verdicts.
        hints: the task's progressive hints (general first).
        evidence: the objects the check read, as the API server sent them.
        elapsed: seconds spent, polls included.
        error: why the check could not look (cluster unreachable...), if so.
        task_points: the task's points (:attr:`Task.points`, the nbgrader points of the test cell grading it);
            None: the sum of the parts' weights.
        partial: partial credit (the parts' weights share the points) rather than all or nothing.
    """

    lab: str
    task: str
    title: str
    parts: list[Part] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    evidence: list[Obj] = field(default_factory=list)
    elapsed: float = 0.0
    error: str = ""
    task_points: float | None = None
    partial: bool = False

    @property
    def passed(self) -> bool:
        """Every part passed (and there was at least one)."""
        return not self.error and bool(self.parts) and all(p.passed for p in self.parts)

    @property
    def points(self) -> float:
        """Points earned: all or nothing, or (partial credit) the passed parts' share of :attr:`max_points`."""
        if self.error:
            return 0.0
        earned = sum(p.points for p in self.parts if p.passed)
        if self.task_points is None:
            return earned
        if not self.partial:
            return self.task_points if self.passed else 0.0
        weights = sum(p.points for p in self.parts)
        return round(earned / weights * self.task_points, 4) if weights else 0.0

    @property
    def max_points(self) -> float:
        """The task's points (what nbgrader gives its test cell), else the weights of all parts."""
        if self.task_points is not None:
            return self.task_points
        return sum(p.points for p in self.parts) or 1.0

    @property
    def failing(self) -> list[Part]:
        """Parts that did not pass."""
        return [p for p in self.parts if not p.passed]

    @property
    def expected(self) -> str:
        """What was expected (of the failing parts, or of all when it passed)."""
        return "; ".join(p.expected for p in (self.failing or self.parts))

    @property
    def actual(self) -> str:
        """What was found (of the failing parts, or of all when it passed)."""
        if self.error:
            return self.error
        return "; ".join(p.actual for p in (self.failing or self.parts))

    @property
    def all_hints(self) -> list[str]:
        """Hints of the failing parts, then the task's hints, without repeats."""
        out: list[str] = []
        for h in [p.hint for p in self.failing] + list(self.hints):
            if h and h not in out:
                out.append(h)
        return out

    @property
    def message(self) -> str:
        """One sentence: what passed, or what was expected, what was found, and the first hint."""
        head = f"lab {self.lab} · {self.task}"
        if self.passed:
            return f"{head}: passed ({self._points_text()}) — {self.title}"
        if self.error:
            return f"{head}: could not check — {self.error}"
        hint = self.all_hints[0] if self.all_hints else ""
        return (f"{head}: not yet ({self._points_text()}): expected {self.expected}, found {self.actual}"
                + (f" — hint: {hint}" if hint else ""))

    def _points_text(self) -> str:
        return f"{self.points:g}/{self.max_points:g} points"

    def score(self, out_of: float | None = None) -> float:
        """Partial credit: the fraction of points earned, times ``out_of`` (default: this check's points)."""
        frac = self.points / self.max_points if self.max_points else 0.0
        return round(frac * (self.max_points if out_of is None else out_of), 4)

    def assert_passed(self) -> CheckResult:
        """Raise :class:`CheckFailed` (an AssertionError) with :attr:`message` unless it passed."""
        if not self.passed:
            raise CheckFailed(self.message)
        return self

    def __bool__(self) -> bool:
        return self.passed

    def to_json(self) -> Obj:
        """A JSON-able summary (stored in the cell output under :data:`RESULT_MIMETYPE`)."""
        return {"lab": self.lab, "task": self.task, "title": self.title, "passed": self.passed,
                "points": self.points, "max_points": self.max_points, "message": self.message,
                "parts": [p.__dict__ for p in self.parts], "hints": self.hints, "error": self.error,
                "elapsed": round(self.elapsed, 3), "evidence": [reprs.clean(o) for o in self.evidence]}

    def __repr__(self) -> str:
        mark = "✓" if self.passed else "✗"
        lines = [f"{mark} {self.message}"]
        for p in self.parts:
            lines.append(f"   {'✓' if p.passed else '✗'} {p.name}: expected {p.expected}; found {p.actual}"
                         f" [{p.points if p.passed else 0:g}/{p.points:g}]")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        color = "#2e7d32" if self.passed else "#c62828"
        mark = reprs.mark_html(self.passed)
        rows = []
        for p in self.parts:
            td = "<td style='padding:1px 8px 1px 0;vertical-align:top'>"
            # A part's weight means something only with partial credit; all-or-nothing tasks show no points column.
            weight = f"<td style='text-align:right'>{p.points if p.passed else 0:g}/{p.points:g}</td>" if self.partial else ""
            rows.append(f"<tr class='kk-part kk-part--{'pass' if p.passed else 'fail'}'>{td}{reprs.mark_html(p.passed)}"
                        f"</td>{td}{escape(p.name)}</td>{td}{escape(p.expected)}</td>{td}{escape(p.actual)}</td>"
                        f"{weight}</tr>")
        table = ""
        if rows:
            table = ("<table class='kk-parts' style='border-collapse:collapse;font-size:0.9em;margin-top:4px'>"
                     "<thead><tr><th></th><th style='text-align:left'>part</th><th style='text-align:left'>expected"
                     "</th><th style='text-align:left'>found</th>" + ("<th>points</th>" if self.partial else "")
                     + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
        hint = ""
        if not self.passed and self.all_hints:
            hint = f"<div style='margin-top:4px'>{reprs.hint_html(self.all_hints[0])}</div>"
        error = (f"<div class='kk-check-result__error' style='color:#c62828'>{escape(self.error)}</div>"
                 if self.error else "")
        state = "pass" if self.passed else "fail"
        return (f"<div class='kk-check-result kk-check-result--{state}' data-task='{escape(self.task, quote=True)}' "
                f"style='border-left:4px solid {color};padding:4px 10px;margin:4px 0'>"
                f"<div><b>{mark} {escape(self.task)}</b> — {escape(self.title)} "
                f"<span style='color:#666'>({self._points_text()}, {self.elapsed:.1f} s)</span></div>"
                f"{error}{table}{hint}{reprs.evidence_html(self.evidence)}</div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {RESULT_MIMETYPE: self.to_json()}


class CheckReport(list[CheckResult]):
    """Several results (``lab.check()`` with no task): a summary table with the total."""

    @property
    def points(self) -> float:
        """Points earned over all checks."""
        return sum(r.points for r in self)

    @property
    def max_points(self) -> float:
        """Points possible over all checks."""
        return sum(r.max_points for r in self)

    def __repr__(self) -> str:
        return "\n".join(repr(r) for r in self) + f"\ntotal: {self.points:g}/{self.max_points:g} points"

    def _repr_html_(self) -> str:
        return ("".join(r._repr_html_() for r in self)
                + f"<div><b>total: {self.points:g}/{self.max_points:g} points</b></div>")


class Context:
    """What a check function gets: where to look, the learner's parameters, and a place for verdicts.

    Attributes:
        cluster: the cluster to read.
        namespace: the lab namespace.
        lab: the :class:`~kk_helpers.lab.Lab`, when checking a lab.
        params: keyword arguments the learner passed (``deleted="myd1-..."``).
        parts: verdicts recorded so far.
        evidence: objects read so far.
    """

    def __init__(self, cluster: Cluster, namespace: str, lab: Lab | None = None,
                 params: dict[str, Any] | None = None) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.lab = lab
        self.params = dict(params or {})
        self.parts: list[Part] = []
        self.evidence: list[Obj] = []
        self._seen: set[tuple[str, str, str]] = set()

    def remember(self, obj: Obj | None) -> Obj | None:
        """Keep an object as evidence (once per kind/namespace/name; the newest copy wins)."""
        if not obj:
            return obj
        md = obj.get("metadata") or {}
        key = (str(obj.get("kind", "")), str(md.get("namespace", "")), str(md.get("name", "")))
        if key in self._seen:
            self.evidence = [o for o in self.evidence if (str(o.get("kind", "")),
                                                           str((o.get("metadata") or {}).get("namespace", "")),
                                                           str((o.get("metadata") or {}).get("name", ""))) != key]
        self._seen.add(key)
        self.evidence.append(obj)
        return obj

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """Read one object (None when missing) and keep it as evidence."""
        from ..helpers import get_object

        return self.remember(get_object(kind, name, namespace or self.namespace, cluster=self.cluster))

    def list(self, kind: str, *, selector: str | None = None, field_selector: str | None = None,
             namespace: str | None = None, keep: bool = True) -> list[Obj]:
        """List objects and keep them as evidence (unless ``keep`` is False)."""
        from ..helpers import list_objects

        found = list_objects(kind, namespace or self.namespace, selector=selector, field_selector=field_selector,
                             cluster=self.cluster)
        if keep:
            for obj in found:
                self.remember(obj)
        return found

    def part(self, name: str, passed: bool, expected: str, actual: str, *, points: float = 1.0, hint: str = "",
             final: bool = False) -> bool:
        """Record a verdict; returns ``passed`` so checks can stop early."""
        self.parts.append(Part(name, bool(passed), expected, actual, points, hint, final))
        return bool(passed)

    def require(self, name: str, passed: bool, expected: str, actual: str, *, points: float = 1.0,
                hint: str = "") -> bool:
        """A prerequisite part: its failure is final (e.g. the object does not exist)."""
        return self.part(name, passed, expected, actual, points=points, hint=hint, final=not passed)

    def found(self, name: str, obj: Obj | None, expected: str, *, points: float = 1.0, hint: str = "") -> bool:
        """A prerequisite part: ``obj`` exists (a final failure when it does not)."""
        return self.require(name, obj is not None, expected, "exists" if obj is not None else "missing",
                            points=points, hint=hint)

    def param(self, key: str, default: Any = None) -> Any:
        """A parameter the learner passed, else ``default``."""
        return self.params.get(key, default)


CheckFn = Callable[[Context], None]


@dataclass
class Task:
    """One gradable task of a lab.

    Attributes:
        name: what learners type (``lab.check("scale")``).
        title: what it asks, in one line.
        fn: the check.
        hints: progressive hints, general first.
        points: what the task is worth: ``lab.check()`` shows them and ``kk labs build`` gives them to the
            nbgrader test cell that grades the task (one source of truth).
        partial: partial credit by the parts' weights (graded with :func:`grade`); else all or nothing
            (graded with :func:`require`).
    """

    name: str
    title: str
    fn: CheckFn
    hints: list[str] = field(default_factory=list)
    points: float = 1.0
    partial: bool = False


StepFn = Callable[["Lab"], None]


class LabChecks:
    """The checks, setup and resettable steps of one lab.

    Args:
        number: two digits (``"03"``).
        title: the lab's topic.
    """

    def __init__(self, number: str, title: str) -> None:
        self.number = number
        self.title = title
        self.tasks: dict[str, Task] = {}
        self.steps: dict[str, StepFn] = {}
        self.setup: StepFn | None = None

    def task(self, name: str, title: str, *, points: float = 1.0, partial: bool = False,
             hints: list[str] | tuple[str, ...] = ()) -> Callable[[CheckFn], CheckFn]:
        """Decorator: register a check function under ``name``, worth ``points`` (see :class:`Task`)."""
        if points <= 0:
            raise ValueError(f"task {name!r}: points must be more than 0")

        def register(fn: CheckFn) -> CheckFn:
            self.tasks[name] = Task(name, title, fn, list(hints), float(points), partial)
            return fn

        return register

    def step(self, name: str) -> Callable[[StepFn], StepFn]:
        """Decorator: register how to reach the starting state of a step (``lab.reset(name)``)."""
        def register(fn: StepFn) -> StepFn:
            self.steps[name] = fn
            return fn

        return register

    def set_setup(self, fn: StepFn) -> StepFn:
        """Decorator: the lab's starting state, run by ``kk.lab()`` and ``lab.reset()``."""
        self.setup = fn
        return fn

    def lookup(self, task: str) -> Task:
        """The task called ``task``.

        Raises:
            KKError: no such task; the message lists the lab's tasks.
        """
        found = self.tasks.get(task)
        if found is None:
            raise KKError(f"lab {self.number} has no task {task!r}; its tasks are: {', '.join(self.tasks)}")
        return found


def lab_number(name: str) -> str:
    """The two-digit lab number in a lab name (``"03-scaling"`` -> ``"03"``), or ``""``."""
    m = re.match(r"\s*(?:lab)?[-_ ]?(\d{1,2})(?!\d)", name, re.I)
    return m.group(1).zfill(2) if m else ""


def checks_for(lab: str) -> LabChecks | None:
    """The :class:`LabChecks` of a lab name or number, or None when it has none."""
    number = lab_number(lab)
    if not number:
        return None
    try:
        module = importlib.import_module(f"kk_helpers.checks.lab{number}")
    except ModuleNotFoundError as err:
        if err.name == f"kk_helpers.checks.lab{number}":
            return None
        raise
    found = getattr(module, "LAB", None)
    return found if isinstance(found, LabChecks) else None


def _where(lab: Any, namespace: str | None, cluster: Cluster | None) -> tuple[Cluster, str, Lab | None, str]:
    """(cluster, namespace, lab object, lab name) from a Lab, a lab name, or explicit arguments."""
    if isinstance(lab, str):
        c = current(cluster)
        return c, namespace or c.namespace, None, lab
    c = cluster or lab.cluster
    return c, namespace or lab.namespace, lab, lab.name


def run(lab: Lab | str, task: str, *, timeout: float | None = None, namespace: str | None = None,
        cluster: Cluster | None = None, live: bool | None = None, **params: Any) -> CheckResult:
    """Run one check, polling until it passes, fails for good, or the bounded wait runs out.

    Args:
        lab: a :class:`~kk_helpers.lab.Lab`, or a lab name/number (then ``namespace``/``cluster`` say where).
        task: the task name.
        timeout: seconds to keep polling (default ``$KK_CHECK_TIMEOUT`` or 30).
        namespace: override the lab's namespace.
        cluster: override the lab's cluster.
        live: force the progress bar on or off.
        **params: the learner's parameters (``deleted="myd1-abc"``).

    Returns:
        The last :class:`CheckResult`; a cluster failure becomes a failed result whose ``error`` says why.
    """
    c, ns, lab_obj, lab_name = _where(lab, namespace, cluster)
    spec = checks_for(lab_name)
    if spec is None:
        raise KKError(f"there are no checks for lab {lab_name!r}; labs with checks: 00 to 09")
    t = spec.lookup(task)
    limit = check_timeout(timeout)
    start = time.monotonic()
    progress: reprs.Progress | None = None
    try:
        while True:
            ctx = Context(c, ns, lab_obj, params)
            error = ""
            try:
                t.fn(ctx)
            except KKError as err:
                error = str(err)
            elapsed = time.monotonic() - start
            result = CheckResult(spec.number, t.name, t.title, ctx.parts, list(t.hints), ctx.evidence, elapsed, error,
                                 t.points, t.partial)
            settled = bool(error) or result.passed or any(p.final for p in result.failing)
            if settled or elapsed >= limit:
                if progress is not None:  # left shown in its final state (closing it raced the frontend)
                    progress.finish(result.passed, f"passed in {elapsed:.1f} s" if result.passed
                                    else f"not yet after {elapsed:.1f} s: {result.actual}")
                return result
            if progress is None:
                progress = reprs.Progress(f"checking {t.name}", limit, live=live)
            progress.update(elapsed, result.actual)
            time.sleep(min(POLL_INTERVAL, max(0.0, limit - elapsed)))
    except BaseException as err:  # a check's own bug, or the learner interrupting the kernel
        if progress is not None:
            progress.finish(False, str(err) or type(err).__name__)
        raise


def run_all(lab: Lab | str, *, timeout: float | None = 0.0, namespace: str | None = None,
            cluster: Cluster | None = None, **params: Any) -> CheckReport:
    """Every task of a lab, one look each by default (``timeout=0``)."""
    c, ns, _, lab_name = _where(lab, namespace, cluster)
    spec = checks_for(lab_name)
    if spec is None:
        raise KKError(f"there are no checks for lab {lab_name!r}; labs with checks: 00 to 09")
    return CheckReport(run(lab, name, timeout=timeout, namespace=ns, cluster=c, **params) for name in spec.tasks)


def _show(result: Any) -> None:
    if reprs.in_ipython():
        from IPython.display import display

        display(result)


def require(lab: Lab | str, task: str, **kwargs: Any) -> CheckResult:
    """For nbgrader hidden tests: run a check, leave its result and evidence in the output, assert it passed.

    Raises:
        CheckFailed: an AssertionError with the same sentence ``lab.check(task)`` shows.
    """
    from ..connect import install_error_display

    install_error_display(CheckFailed)
    result = run(lab, task, **kwargs)
    _show(result)
    return result.assert_passed()


def grade(lab: Lab | str, task: str, out_of: float | None = None, **kwargs: Any) -> float:
    """For nbgrader partial credit: run a check, show it, and return the points as a float.

    Make it the last expression of a hidden test cell; nbgrader reads a numeric result as the cell's
    score (0 to the cell's points). ``out_of`` defaults to the task's points, which ``kk labs build`` also
    gives the cell.
    """
    result = run(lab, task, **kwargs)
    _show(result)
    return result.score(out_of)


def iter_tasks() -> Iterator[tuple[str, Task]]:
    """(lab number, task) for every lab 00-09, in order."""
    for n in range(10):
        spec = checks_for(f"{n:02d}")
        if spec is not None:
            for t in spec.tasks.values():
                yield spec.number, t


# --------------------------------------------------------------------------- shared vocabulary

def image_matches(actual: str, expected: str) -> bool:
    """Does a container image match what a task asks? ``nginx`` matches any nginx tag; a tag must match.

    ``docker.io/library/`` and ``docker.io/`` prefixes are ignored, ``:latest`` equals no tag.
    """
    def norm(ref: str) -> tuple[str, str]:
        ref = ref.strip().split("@")[0]
        for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/"):
            if ref.startswith(prefix):
                ref = ref[len(prefix):]
        repo, sep, tag = ref.rpartition(":")
        if not sep or "/" in tag:
            return ref, ""
        return repo, tag

    a_repo, a_tag = norm(actual)
    e_repo, e_tag = norm(expected)
    if a_repo != e_repo:
        return False
    if not e_tag:
        return True
    return (a_tag or "latest") == e_tag


def deployment_counts(d: Obj) -> tuple[int, int, int, int]:
    """(desired, ready, updated, available) replicas of a deployment."""
    spec, st = d.get("spec") or {}, d.get("status") or {}
    want = spec.get("replicas", 1)
    return (1 if want is None else int(want), int(st.get("readyReplicas") or 0), int(st.get("updatedReplicas") or 0),
            int(st.get("availableReplicas") or 0))


def live_pods(pods: list[Obj]) -> list[Obj]:
    """Pods not being deleted and not finished."""
    return [p for p in pods if not reprs.meta(p).get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
