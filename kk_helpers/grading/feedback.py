"""``kk grade feedback`` and ``kk grade export``: per-learner HTML feedback (checked for leaks) and a grades CSV.

Feedback is nbgrader's ``generate_feedback``, configured by ``kk grade init`` to run
:class:`~kk_helpers.grading.preprocessors.HideHiddenTests`: learners see each check's output (expected,
actual, hint) and the message a hidden test raised, never the hidden test's code. As a last line of defence,
every generated page is searched for the lines of the instructor's hidden test regions (those that do not
also appear in the released notebook); a page that contains one is deleted and reported.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KKError
from .autograde import load_results
from .course import Course, run_nbgrader

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"


@dataclass
class FeedbackResult:
    """What ``kk grade feedback`` produced.

    Attributes:
        files: the HTML pages, ``feedback/<student>/<lab>/<notebook>.html``.
        missing: ``(lab, student, reason)`` for submissions kk could not grade (so no feedback).
        leaks: ``(page, line)`` for pages that showed hidden test code (deleted).
    """

    files: list[Path] = field(default_factory=list)
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    leaks: list[tuple[Path, str]] = field(default_factory=list)


def _cell_text(cell: dict[str, object]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def hidden_lines(course: Course, assignment: str) -> list[str]:
    """Lines of the hidden test regions of a lab's source that the released notebook does not show.

    Blank lines, delimiters and very short lines (``)``, ``pass``) are left out: they prove nothing.
    """
    released = ""
    for nb in (course.directory("release") / assignment).glob("*.ipynb"):
        released += nb.read_text(errors="replace")
    found: list[str] = []
    for nb in sorted((course.directory("source") / assignment).glob("*.ipynb")):
        try:
            cells = json.loads(nb.read_text()).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            inside = False
            for line in _cell_text(cell).splitlines():
                if BEGIN_HIDDEN in line:
                    inside = True
                elif END_HIDDEN in line:
                    inside = False
                elif inside:
                    text = line.strip()
                    if len(text) >= 12 and json.dumps(text)[1:-1] not in released:
                        found.append(text)
    return found


def page_text(page: str) -> str:
    """The visible text of an HTML page (tags removed, entities decoded, ANSI codes dropped)."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\x1b\[[0-9;]*m", "", html.unescape(text))


def find_leaks(page: Path, lines: list[str]) -> list[str]:
    """The hidden lines that appear in a feedback page (in its markup or its visible text)."""
    raw = page.read_text(errors="replace")
    visible = page_text(raw)
    return [line for line in lines if line in visible or html.escape(line, quote=False) in raw]


def feedback(course: Course, *, assignment: str | None = None) -> FeedbackResult:
    """Generate feedback pages for every autograded submission (of one lab), then check them for leaks.

    Raises:
        KKError: an unknown lab, nbgrader failed, or hidden test code reached a page (the page is deleted).
    """
    known = course.assignments()
    if assignment and assignment not in known:
        raise KKError(f"unknown assignment {assignment!r} — the course has: {', '.join(known) or 'none'}")
    result = FeedbackResult()
    autograded = course.directory("autograded")
    for lab in [assignment] if assignment else known:
        if not any(autograded.glob(f"*/{lab}")):
            continue
        run_nbgrader(course, ["generate_feedback", lab, "--force"], log_name=f"feedback-{lab}.log")
        lines = hidden_lines(course, lab)
        for page in sorted(course.directory("feedback").glob(f"*/{lab}/*.html")):
            leaked = find_leaks(page, lines)
            if leaked:
                page.unlink()
                result.leaks.extend((page, line) for line in leaked)
            else:
                result.files.append(page)
    for r in load_results(course):
        if r.get("status") in ("failed", "timeout") and (not assignment or r.get("assignment") == assignment):
            result.missing.append((str(r["assignment"]), str(r["student"]), str(r.get("reason", ""))))
    if result.leaks:
        pages = sorted({str(p) for p, _ in result.leaks})
        raise KKError(f"hidden test code appeared in {len(pages)} feedback page(s), which were deleted "
                      f"({', '.join(pages[:3])}{'...' if len(pages) > 3 else ''}) — keep HideHiddenTests in "
                      f"GenerateFeedback.preprocessors in nbgrader_config.py")
    return result


def export(course: Course, dest: Path) -> Path:
    """Write the grades CSV (nbgrader's ``export``: one row per student and lab) to ``dest``.

    Raises:
        KKError: nbgrader failed.
    """
    dest = Path(dest).expanduser().resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_nbgrader(course, ["export", f"--to={dest}"], log_name="export.log")
    if not dest.exists():
        raise KKError(f"nbgrader export wrote nothing to {dest} — see {course.state_dir / 'logs' / 'export.log'}")
    return dest
