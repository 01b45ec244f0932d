"""``kk grade report``: one self-contained HTML page about the class, charts embedded as base64 PNGs.

For each lab: the distribution of total scores and, per task (grade cell), the mean score and how many
learners got full marks. For the class: the tasks most learners failed, and the submissions kk could not grade
(from the last autograde runs). Charts are drawn with matplotlib's object API (``Figure``, no pyplot state),
so the report can be built from any thread or server.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .autograde import load_results
from .course import Course
from .gradebook import SubmissionScore, scores

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class TaskStats:
    """How a class did on one task (grade cell) of a lab.

    Attributes:
        assignment: the lab.
        task: the grade cell id.
        max_score: its points.
        scores: each learner's points on it (final scores only).
        pending: learners whose score on it awaits manual grading (not counted in ``scores``).
    """

    assignment: str
    task: str
    max_score: float
    scores: list[float] = field(default_factory=list)
    pending: int = 0

    @property
    def failed(self) -> int:
        """Learners without full marks."""
        return sum(1 for s in self.scores if s < self.max_score)

    @property
    def fail_rate(self) -> float:
        """Share of learners without full marks."""
        return self.failed / len(self.scores) if self.scores else 0.0

    @property
    def mean_fraction(self) -> float:
        """Mean score as a share of the points."""
        return statistics.fmean(self.scores) / self.max_score if self.scores and self.max_score else 0.0


def task_stats(subs: list[SubmissionScore]) -> list[TaskStats]:
    """Per (lab, task) statistics, in the order tasks appear in the gradebook (scores awaiting manual grading
    are counted apart, not as failures)."""
    table: dict[tuple[str, str], TaskStats] = {}
    for sub in subs:
        for task, (score, max_score) in sub.grades.items():
            stats = table.setdefault((sub.assignment, task), TaskStats(sub.assignment, task, max_score))
            if task in sub.pending:
                stats.pending += 1
            else:
                stats.scores.append(score)
    return list(table.values())


def most_failed(stats: list[TaskStats], limit: int = 10) -> list[TaskStats]:
    """The tasks most learners failed (ties: the lower mean first)."""
    failing = [t for t in stats if t.failed]
    return sorted(failing, key=lambda t: (-t.fail_rate, t.mean_fraction, t.assignment, t.task))[:limit]


def _png(fig: Figure) -> str:
    """A figure as a base64 PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def lab_chart(lab: str, subs: list[SubmissionScore], stats: list[TaskStats]) -> str:
    """A two-panel PNG (base64): the lab's score distribution, and each task's mean and full-marks share."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.4))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    max_score = max((s.max_score for s in subs), default=1.0) or 1.0
    totals = [s.score for s in subs]
    if max_score <= 30 and all(float(t).is_integer() for t in totals):
        bins = [i - 0.5 for i in range(int(max_score) + 2)]  # one bar per possible score
    else:
        bins = [max_score * i / 10 for i in range(11)]
    left.hist(totals, bins=bins, color="#4c72b0", edgecolor="white")
    left.set_title(f"{lab}: total score ({len(subs)} submissions)")
    left.set_xlabel(f"points (of {max_score:g})")
    left.set_ylabel("learners")
    left.yaxis.get_major_locator().set_params(integer=True)
    names = [t.task for t in stats]
    y = list(range(len(stats)))
    right.barh([i - 0.2 for i in y], [100 * t.mean_fraction for t in stats], height=0.4, color="#55a868",
               label="mean score (% of points)")
    right.barh([i + 0.2 for i in y], [100 * (1 - t.fail_rate) for t in stats], height=0.4, color="#8172b3",
               label="learners with full marks (%)")
    right.set_yticks(y, names)
    right.invert_yaxis()
    right.set_xlim(0, 100)
    right.set_xlabel("%")
    right.set_title("per task")
    right.legend(loc="lower right", fontsize="small")
    return _png(fig)


def failed_chart(worst: list[TaskStats]) -> str:
    """A PNG (base64) of the tasks most learners failed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 0.45 * len(worst) + 1.2))
    ax = fig.subplots()
    y = list(range(len(worst)))
    ax.barh(y, [100 * t.fail_rate for t in worst], color="#c44e52")
    ax.set_yticks(y, [f"{t.assignment} · {t.task}" for t in worst])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of learners without full marks")
    ax.set_title("tasks most learners failed")
    return _png(fig)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}
th{background:#f2f2f2}td.n{text-align:right}img{max-width:100%}h2{margin-top:2em}.muted{color:#777}"""


def _table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{html.escape(c)}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def build_html(course: Course) -> str:
    """The report page."""
    subs = scores(course)
    stats = task_stats(subs)
    labs = sorted({s.assignment for s in subs})
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Class report — {html.escape(course.course_id)}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>Class report: {html.escape(course.course_id)}</h1>",
             f"<p class=muted>{len(subs)} submissions in {len(labs)} labs · generated "
             f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} from {html.escape(str(course.db_path))}</p>"]
    if not subs:
        parts.append("<p>No graded submissions yet: run <code>kk grade autograde</code>.</p></body></html>")
        return "".join(parts)
    rows = []
    for lab in labs:
        lab_subs = [s for s in subs if s.assignment == lab]
        totals = [s.score for s in lab_subs]
        top = max(s.max_score for s in lab_subs)
        rows.append([lab, str(len(lab_subs)), f"{statistics.fmean(totals):.2f}", f"{statistics.median(totals):g}",
                     f"{min(totals):g}", f"{max(totals):g}", f"{top:g}",
                     str(sum(1 for s in lab_subs if s.score >= top)), str(sum(1 for s in lab_subs if s.flagged))])
    parts.append("<h2>Labs</h2>" + _table(["lab", "submissions", "mean", "median", "min", "max", "of", "full marks",
                                            "flagged"], rows, numeric=set(range(1, 9))))
    worst = most_failed(stats)
    if worst:
        parts.append("<h2>Tasks most learners failed</h2>")
        parts.append(f"<img alt='tasks most learners failed' src='data:image/png;base64,{failed_chart(worst)}'>")
        parts.append(_table(["lab", "task", "failed by", "mean score"],
                            [[t.assignment, t.task, f"{t.failed} of {len(t.scores)} ({100 * t.fail_rate:.0f}%)",
                              f"{100 * t.mean_fraction:.0f}%"] for t in worst]))
    for lab in labs:
        lab_subs = [s for s in subs if s.assignment == lab]
        lab_stats = [t for t in stats if t.assignment == lab]
        parts.append(f"<h2>{html.escape(lab)}</h2>")
        parts.append(f"<img alt='scores of {html.escape(lab)}' "
                     f"src='data:image/png;base64,{lab_chart(lab, lab_subs, lab_stats)}'>")
        parts.append(_table(["task", "points", "mean", "full marks", "failed by", "awaiting manual grading"],
                            [[t.task, f"{t.max_score:g}",
                              f"{100 * t.mean_fraction:.0f}%" if t.scores else "-",
                              f"{len(t.scores) - t.failed} of {len(t.scores)}", str(t.failed), str(t.pending)]
                             for t in lab_stats],
                            numeric={1, 4, 5}))
    problems = [r for r in load_results(course) if r.get("status") not in ("graded", None)]
    if problems:
        parts.append("<h2>Submissions kk could not grade</h2>")
        parts.append(_table(["lab", "student", "status", "why"],
                            [[str(r.get("assignment")), str(r.get("student")), str(r.get("status")),
                              str(r.get("reason", ""))] for r in problems]))
    parts.append("</body></html>")
    return "".join(parts)


def report(course: Course, dest: Path | None = None) -> Path:
    """Write the class report (default ``<course>/reports/class-report.html``) and return its path."""
    dest = Path(dest).expanduser().resolve() if dest else course.root / "reports" / "class-report.html"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(build_html(course), encoding="utf-8")
    return dest
