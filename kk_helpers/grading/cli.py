"""``kk grade``: the instructor's commands, thin typer wrappers over :mod:`kk_helpers.grading`.

Every command takes ``--course/-C`` (default: the current directory) except ``init``, which creates it.
nbgrader is imported only inside commands, so ``kk --help`` stays fast.
"""

from __future__ import annotations

import signal
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Optional

import typer
from rich.table import Table

from ..console import console, out
from ..console import fail as _fail
from ..errors import KKError

if TYPE_CHECKING:
    from .autograde import JobResult, RunReport
    from .course import Course

grade_app = typer.Typer(no_args_is_help=True, help="Instructor grading with nbgrader: init, release, collect, "
                                                   "autograde (each submission in its own sandbox), feedback, "
                                                   "export, report.")


COURSE_OPTION = typer.Option(Path("."), "--course", "-C", help="The course directory (made by kk grade init).")


class GradeBackend(str, Enum):
    sandbox = "sandbox"
    current = "current"


def _open(course: Path) -> Course:
    from .course import Course

    try:
        return Course.open(course)
    except KKError as err:
        _fail(err)


@grade_app.command("init")
def init(
    course_dir: Path = typer.Argument(..., help="Directory of the new course (created if missing)."),
    solutions: Path = typer.Option(Path("solutions"), help="Instructor notebooks (nbgrader source), one per lab."),
    roster: Optional[Path] = typer.Option(None, help="Roster CSV with id,first_name,last_name,email."),
    course_id: str = typer.Option("kk", help="nbgrader course id."),
    cell_timeout: int = typer.Option(120, min=1, help="Seconds a cell may run while autograding (Execute.timeout)."),
    force: bool = typer.Option(False, help="Rewrite nbgrader_config.py even if it exists."),
) -> None:
    """Create an nbgrader course: config, one assignment per solutions notebook, the gradebook, the roster."""
    from .course import init_course

    try:
        result = init_course(course_dir, solutions, course_id=course_id, roster=roster, cell_timeout=cell_timeout,
                             force=force)
    except KKError as err:
        _fail(err)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(f"course {result.course.root}: {len(result.labs)} labs ({', '.join(result.labs)})"
                  + (f", {len(result.students)} students" if result.students else ""))
    out.print(str(result.course.root))


@grade_app.command("release")
def release(
    assignments: Optional[list[str]] = typer.Argument(None, help="Labs to release (default: all)."),
    course: Path = COURSE_OPTION,
) -> None:
    """Generate the student versions (nbgrader generate_assignment) into release/."""
    from .course import release as do_release

    c = _open(course)
    try:
        with console.status("nbgrader generate_assignment..."):
            paths = do_release(c, assignments or None)
    except KKError as err:
        _fail(err)
    for p in paths:
        out.print(str(p))


@grade_app.command("collect")
def collect(
    src: Path = typer.Argument(..., help="A folder (submitted/<student>/<lab>/ layout or <student>_<lab>.ipynb "
                                         "files) or an LMS zip."),
    roster: Optional[Path] = typer.Option(None, help="Roster CSV (id,first_name,last_name,email) to add to the "
                                                     "gradebook."),
    assignment: Optional[str] = typer.Option(None, help="Collect only this lab."),
    regex: Optional[str] = typer.Option(None, help="For zips: nbgrader's FileNameCollectorPlugin.named_regexp, "
                                                   "matched against each extracted file's path; needs "
                                                   "(?P<student_id>...) and (?P<file_id>...); {assignment} is "
                                                   "replaced by the lab name."),
    course: Path = COURSE_OPTION,
) -> None:
    """Bring submissions into submitted/ and the roster into the gradebook."""
    from .collect import DEFAULT_ZIP_REGEX
    from .collect import collect as do_collect

    c = _open(course)
    try:
        result = do_collect(c, src, roster=roster, assignment=assignment, regex=regex or DEFAULT_ZIP_REGEX)
    except KKError as err:
        _fail(err)
    for line in result.skipped:
        console.print(f"[yellow]skipped:[/] {line}")
    if result.unlisted:
        console.print(f"[yellow]not on the roster (added anyway):[/] {', '.join(result.unlisted)}")
    table = Table("lab", "student", "notebooks", "from", title=f"{len(result.collected)} submissions collected")
    for item in sorted(result.collected, key=lambda x: (x.assignment, x.student)):
        table.add_row(item.assignment, item.student, ", ".join(item.notebooks), item.origin)
    out.print(table)


def _summary(report: RunReport) -> Table:
    from .autograde import GRADED

    table = Table("lab", "student", "score", "status", "time", "notes",
                  title=f"autograde: {len(report.results)} submissions")
    for r in report.results:
        score = f"{r.score:g}/{r.max_score:g}" if r.score is not None and r.max_score is not None else "-"
        style = "green" if r.status == GRADED and not r.notes else ("yellow" if r.status == GRADED else "red")
        table.add_row(r.assignment, r.student, score, f"[{style}]{r.status}[/]", f"{r.seconds:.1f}s",
                      "; ".join(r.notes + ([r.reason] if r.reason else [])))
    return table


@grade_app.command("autograde")
def autograde(
    assignment: Optional[str] = typer.Argument(None, help="Lab to grade (default: every lab with submissions)."),
    student: Optional[list[str]] = typer.Option(None, "--student", help="Only this student (repeatable)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1,
                                       help="Submissions graded at once, each in its own process and sandbox "
                                            "(default: three per CPU, as many as the free memory holds at 300 MB "
                                            "each: a submission waits most of its time). Results do not depend on it."),
    backend: GradeBackend = typer.Option(GradeBackend.sandbox, help="sandbox: a fresh sandbox per submission. "
                                         "current: the cluster $KUBECONFIG/$KK_CONTEXT point at (your real "
                                         "cluster!), one submission at a time."),
    cell_timeout: Optional[int] = typer.Option(None, min=1, help="Seconds a cell may run before it is "
                                               "interrupted (default: the course's Execute.timeout)."),
    timeout: float = typer.Option(900.0, min=1, help="Seconds one submission may take in all (sandbox start "
                                  "included) before it is stopped and scored 0."),
    check_timeout: Optional[float] = typer.Option(None, min=0, help="$KK_CHECK_TIMEOUT for the labs' checks "
                                                  "(seconds a failing check keeps polling; default theirs, 30)."),
    force: bool = typer.Option(False, help="Grade already autograded submissions again."),
    launcher: str = typer.Option("auto", hidden=True, help="forkserver, subprocess or auto (benchmarks)."),
    course: Path = COURSE_OPTION,
) -> None:
    """Autograde submissions, each against its own fresh sandbox, in parallel; print a summary."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from . import autograde as ag

    c = _open(course)
    if backend == GradeBackend.current:
        if jobs is not None and jobs > 1:
            raise typer.BadParameter("--backend current grades on one shared cluster, where parallel submissions "
                                     "would see each other's objects: use --jobs 1, or --backend sandbox",
                                     param_hint="--jobs")
        jobs = 1
        console.print("[bold yellow]warning:[/] --backend current: submissions run against the cluster your "
                      "KUBECONFIG/KK_CONTEXT point at, and can change or delete anything there")
    progress = Progress(SpinnerColumn(), BarColumn(bar_width=24), MofNCompleteColumn(),
                        TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[bad]} failed[/]"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        TextColumn("[dim]{task.fields[last]}"), console=console, transient=False)
    task = progress.add_task("autograde", total=None, ok=0, bad=0, last="")

    def on_start(total: int) -> None:
        progress.update(task, total=total)

    def on_done(result: JobResult) -> None:
        ok = result.status == ag.GRADED
        fields = progress.tasks[0].fields
        progress.update(task, advance=1, ok=fields["ok"] + ok, bad=fields["bad"] + (not ok),
                        last=f"{result.student}/{result.assignment}: {result.status}")

    def on_term(signum: int, frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with progress:
            report = ag.autograde(c, assignment=assignment, students=student or None, jobs=jobs,
                                  backend=backend.value, cell_timeout=cell_timeout, timeout=timeout,
                                  check_timeout=check_timeout, force=force, launcher=launcher,
                                  on_start=on_start, on_done=on_done)
    except KKError as err:
        _fail(err)
    except KeyboardInterrupt:
        console.print("[red]cancelled[/]: every sandbox and grading process was stopped; graded submissions are "
                      "in the gradebook")
        raise typer.Exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if report.skipped:
        console.print(f"skipped {len(report.skipped)} already autograded submission(s) (use --force to grade "
                      f"them again)")
    if report.results:
        out.print(_summary(report))
        console.print(f"{len(report.results)} submissions in {report.seconds:.1f} s "
                      f"({report.per_minute:.1f}/min, --jobs {report.jobs}, backend {report.backend}): "
                      f"{report.count(ag.GRADED)} graded, {report.count(ag.FAILED)} failed, "
                      f"{report.count(ag.TIMEOUT)} timed out, {report.count(ag.NOT_GRADED)} not graded; "
                      f"gradebook integrity {report.gradebook_check}; "
                      + (f"[yellow]ended {len(report.stray)} stray processes[/]" if report.stray
                         else "nothing left running"))
    if report.count(ag.NOT_GRADED):
        console.print("[red]some submissions could not be run (see 'not graded' above); run kk grade autograde "
                      "again to retry them[/]")
        raise typer.Exit(1)


@grade_app.command("feedback")
def feedback(
    assignment: Optional[str] = typer.Argument(None, help="Lab (default: all autograded labs)."),
    course: Path = COURSE_OPTION,
) -> None:
    """Per-student feedback HTML (nbgrader generate_feedback), hidden test code removed and checked for."""
    from .feedback import feedback as do_feedback

    c = _open(course)
    try:
        with console.status("nbgrader generate_feedback..."):
            result = do_feedback(c, assignment=assignment)
    except KKError as err:
        _fail(err)
    for lab, student, reason in result.missing:
        console.print(f"[yellow]no feedback for {student}/{lab}:[/] {reason}")
    console.print(f"{len(result.files)} feedback pages in {c.directory('feedback')}")
    for page in result.files:
        out.print(str(page))


@grade_app.command("export")
def export(
    to: Optional[Path] = typer.Option(None, "--to", help="CSV file (default: <course>/grades.csv)."),
    course: Path = COURSE_OPTION,
) -> None:
    """Write the grades CSV (nbgrader export)."""
    from .feedback import export as do_export

    c = _open(course)
    try:
        path = do_export(c, to or c.root / "grades.csv")
    except KKError as err:
        _fail(err)
    out.print(str(path))


@grade_app.command("report")
def report(
    out_file: Optional[Path] = typer.Option(None, "--out", help="HTML file (default: "
                                            "<course>/reports/class-report.html)."),
    course: Path = COURSE_OPTION,
) -> None:
    """Write the class report: score distributions per lab and per task, the tasks most learners failed."""
    from .report import report as do_report

    c = _open(course)
    try:
        path = do_report(c, out_file)
    except KKError as err:
        _fail(err)
    out.print(str(path))
