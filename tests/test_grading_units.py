"""Unit tests of ``kk grade``'s parts that need no kernel and no sandbox.

They check: the course layout and config ``kk grade init`` writes and the roster it imports; collecting
submissions from nbgrader-layout folders and loose ``<student>_<lab>.ipynb`` files; which submissions a run
plans; each job's nbgrader config and environment (no instructor credentials leak into a sandbox job); the
``/proc`` scan that finds and ends a job's processes; merging a job's gradebook copy into the gradebook and
scoring failures as zeros; hiding hidden tests in feedback and finding leaks; the class report's statistics
and page; and the CLI's usage errors.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import nbformat
import pytest
from typer.testing import CliRunner

from kk_helpers.errors import KKError
from kk_helpers.grading import procs
from kk_helpers.grading.autograde import _failure_reason, plan
from kk_helpers.grading.collect import collect
from kk_helpers.grading.course import Course, init_course, load_roster
from kk_helpers.grading.feedback import find_leaks, page_text
from kk_helpers.grading.gradebook import FAILED_COMMENT, integrity_check, merge_submission, scores, snapshot, \
    zero_submission
from kk_helpers.grading.preprocessors import HideHiddenTests
from kk_helpers.grading.report import build_html, most_failed, task_stats
from kk_helpers.grading.worker import JobSpec, environment, job_config

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "grading"
LAB = "90-configmaps"
MARKER = "KK-HIDDEN-MARKER-0a7c"


@pytest.fixture(scope="module")
def template_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """One course built from the fixture solutions (nbgrader's imports and gradebook creation take seconds)."""
    root = tmp_path_factory.mktemp("course") / "course"
    roster = tmp_path_factory.mktemp("roster") / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.edu\nbob,Bob,,\n")
    return init_course(root, FIXTURES / "solutions", roster=roster, cell_timeout=7).course


@pytest.fixture
def course(template_course: Course, tmp_path: Path) -> Course:
    """A private copy of the template course."""
    root = tmp_path / "course"
    shutil.copytree(template_course.root, root)
    return Course.open(root)


def _notebook(path: Path, text: str = "print('hi')") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)]), path)
    return path


# --- course -------------------------------------------------------------------------------------------------


def test_init_lays_out_an_nbgrader_course(course: Course) -> None:
    """Does init copy each solutions notebook into source/<lab>/ and write a config with kk's preprocessors?"""
    assert course.assignments() == [LAB]
    assert (course.root / "source" / LAB / f"{LAB}.ipynb").exists()
    config = course.config_path.read_text()
    assert "c.Execute.timeout = 7" in config
    assert "kk_helpers.grading.preprocessors.ResilientExecute" in config
    assert "kk_helpers.grading.preprocessors.HideHiddenTests" in config
    assert "c.CourseDirectory.course_id = 'kk'" in config


def test_init_puts_assignments_and_roster_in_the_gradebook(course: Course) -> None:
    """Does the gradebook hold the lab as an assignment and the roster's students with their names?"""
    with course.gradebook() as gb:
        assert [a.name for a in gb.assignments] == [LAB]
        ada = gb.find_student("ada")
        assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.edu")
        assert gb.find_student("bob").last_name is None
    assert integrity_check(course.db_path) == "ok"


def test_init_without_notebooks_says_what_to_pass(tmp_path: Path) -> None:
    """Is an empty solutions folder one sentence naming --solutions?"""
    (tmp_path / "empty").mkdir()
    with pytest.raises(KKError, match="--solutions"):
        init_course(tmp_path / "c", tmp_path / "empty")


def test_open_rejects_a_folder_that_is_not_a_course(tmp_path: Path) -> None:
    """Does opening a plain folder say to run kk grade init?"""
    with pytest.raises(KKError, match="kk grade init"):
        Course.open(tmp_path)


@pytest.mark.parametrize("text, problem", [
    ("name,email\nada,a@x\n", "header row"),
    ("id,first_name\nada,Ada\nada,Again\n", "twice"),
])
def test_bad_rosters_are_explained(tmp_path: Path, text: str, problem: str) -> None:
    """Are a roster without an id column and a repeated id refused with the fix?"""
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(KKError, match=problem):
        load_roster(path)


def test_roster_tolerates_bom_spaces_and_missing_columns(tmp_path: Path) -> None:
    """Does a spreadsheet export (BOM, padded headers, blank lines, only some columns) load?"""
    path = tmp_path / "roster.csv"
    path.write_text("\ufeff id , First_Name \n ada , Ada \n\n bob ,\n", encoding="utf-8")
    students = load_roster(path)
    assert [(s.id, s.first_name) for s in students] == [("ada", "Ada"), ("bob", "")]


# --- collect ------------------------------------------------------------------------------------------------


def test_collect_copies_an_nbgrader_layout_and_renames_a_lone_notebook(course: Course, tmp_path: Path) -> None:
    """Is submitted/<student>/<lab>/ copied, with a renamed notebook stored under the name nbgrader expects?"""
    src = tmp_path / "export" / "submitted"
    _notebook(src / "ada" / LAB / f"{LAB}.ipynb")
    _notebook(src / "bob" / LAB / f"{LAB}-Copy1.ipynb")
    (src / "bob" / LAB / "timestamp.txt").write_text("2026-01-30 15:30:10 UTC")
    result = collect(course, tmp_path / "export")
    assert sorted((c.student, c.notebooks) for c in result.collected) == [
        ("ada", (f"{LAB}.ipynb",)), ("bob", (f"{LAB}.ipynb",))]
    bob = course.root / "submitted" / "bob" / LAB
    assert sorted(p.name for p in bob.iterdir()) == [f"{LAB}.ipynb", "timestamp.txt"]
    assert result.skipped == []


def test_collect_loose_files_and_unlisted_students(course: Course, tmp_path: Path) -> None:
    """Are <student>_<lab>.ipynb files collected, odd names skipped with a reason, and new students added?"""
    _notebook(tmp_path / "in" / f"ada_{LAB}.ipynb")
    _notebook(tmp_path / "in" / f"zoe_smith_{LAB}.ipynb")
    _notebook(tmp_path / "in" / "random.ipynb")
    result = collect(course, tmp_path / "in")
    assert sorted(c.student for c in result.collected) == ["ada", "zoe_smith"]
    assert len(result.skipped) == 1 and "random.ipynb" in result.skipped[0]
    assert result.unlisted == ["zoe_smith"]
    with course.gradebook() as gb:
        assert gb.find_student("zoe_smith").id == "zoe_smith"


def test_collect_refuses_unknown_labs_and_missing_paths(course: Course, tmp_path: Path) -> None:
    """Are an unknown --assignment and a missing source explained?"""
    with pytest.raises(KKError, match="unknown assignment"):
        collect(course, tmp_path, assignment="99-nope")
    with pytest.raises(KKError, match="neither a folder"):
        collect(course, tmp_path / "missing.txt")


def test_plan_skips_autograded_submissions_unless_forced(course: Course) -> None:
    """Does a run skip what is already autograded, grade it with force, and filter by student?"""
    for who in ("ada", "bob"):
        _notebook(course.root / "submitted" / who / LAB / f"{LAB}.ipynb")
    (course.root / "autograded" / "ada" / LAB).mkdir(parents=True)
    assert plan(course) == ([(LAB, "bob")], [(LAB, "ada")])
    assert plan(course, force=True) == ([(LAB, "ada"), (LAB, "bob")], [])
    assert plan(course, force=True, students=["bob"]) == ([(LAB, "bob")], [])
    with pytest.raises(KKError, match="unknown assignment"):
        plan(course, assignment="nope")


def test_two_runs_on_one_course_are_refused(course: Course) -> None:
    """Is a second autograde run on a course refused, naming the process that holds it?"""
    from kk_helpers.grading.autograde import autograde
    from kk_helpers.grading.course import exclusive

    with exclusive(course, "autograde"):
        with pytest.raises(KKError, match=f"another kk grade autograde is running .*pid {os.getpid()}"):
            autograde(course, jobs=1)
    assert autograde(course, jobs=1).results == []


# --- jobs ---------------------------------------------------------------------------------------------------


def _spec(tmp_path: Path, **kw: object) -> JobSpec:
    base = dict(course_root=str(tmp_path / "c"), assignment=LAB, student="ada", job_dir=str(tmp_path / "job"),
                db_path=str(tmp_path / "job" / "gradebook.db"), run_id="run1", job_id="run1-0")
    base.update(kw)
    return JobSpec(**base)  # type: ignore[arg-type]


def test_job_config_points_nbgrader_at_the_copy_and_escapes_the_student(tmp_path: Path) -> None:
    """Does the job config name the job's gradebook copy, and make a student id with glob characters literal?"""
    spec = _spec(tmp_path, student="a[1]*")
    ns: dict[str, object] = {}

    class Section(dict):  # type: ignore[type-arg]
        def __getattr__(self, key: str) -> "Section":
            return self.setdefault(key, Section())

        def __setattr__(self, key: str, value: object) -> None:
            self[key] = value

    cfg = Section()
    exec(job_config(spec), {"get_config": lambda: cfg}, ns)  # noqa: S102 - our own generated config
    assert cfg["CourseDirectory"]["db_url"] == f"sqlite:///{tmp_path / 'job' / 'gradebook.db'}"
    assert cfg["CourseDirectory"]["student_id"] == "a[[]1][*]"
    assert cfg["CourseDirectory"]["root"] == str(tmp_path / "c")


def test_sandbox_jobs_never_inherit_the_instructors_cluster(tmp_path: Path) -> None:
    """Does a sandbox job drop KUBECONFIG/KK_CONTEXT/KK_HOME and carry the run and job markers?"""
    base = {"PATH": "/usr/bin", "KUBECONFIG": "/home/i/.kube/config", "KK_CONTEXT": "prod", "KK_HOME": "/home/i/.kk"}
    env = environment(_spec(tmp_path), base=base)
    assert "KUBECONFIG" not in env and "KK_CONTEXT" not in env
    assert env["KK_HOME"] == str(tmp_path / "job" / "home")
    assert env[procs.RUN_MARKER] == "run1" and env[procs.JOB_MARKER] == "run1-0"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    current = environment(_spec(tmp_path, backend="current", check_timeout=5.0), base=base)
    assert current["KUBECONFIG"] == "/home/i/.kube/config" and current["KK_CONTEXT"] == "prod"
    assert current["KK_CHECK_TIMEOUT"] == "5.0"


@pytest.mark.parametrize("log, reason", [
    ("Traceback...\nnbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{\"ce'\n", "not valid JSON"),
    ("  File x\nValueError: bad things\n[AutogradeApp | ERROR] There was an error\n", "ValueError: bad things"),
    ("nothing useful", "see the log"),
])
def test_failure_reasons_are_one_sentence(log: str, reason: str) -> None:
    """Is the last exception of an nbgrader log turned into one sentence?"""
    assert reason in _failure_reason(log)


@pytest.fixture
def marked_sleeper() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A detached ``sleep`` carrying a unique job marker, killed afterwards if a test left it."""
    marker = uuid.uuid4().hex
    env = dict(os.environ, **{procs.JOB_MARKER: marker})
    proc = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    yield proc, marker
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_proc_scan_finds_and_ends_a_detached_process_by_its_marker(
        marked_sleeper: tuple[subprocess.Popen[bytes], str]) -> None:
    """Does the /proc scan find a process in another session by its environment marker, and end it?"""
    proc, marker = marked_sleeper
    deadline = time.monotonic() + 5
    found: list[procs.ProcInfo] = []
    while not found and time.monotonic() < deadline:
        found = procs.find(env={procs.JOB_MARKER: marker})
    assert [p.pid for p in found] == [proc.pid]
    assert procs.kill_all(found, grace=1) == [proc.pid]
    proc.wait(5)
    assert procs.find(env={procs.JOB_MARKER: marker}) == []
    assert not procs.alive(proc.pid)


# --- gradebook ----------------------------------------------------------------------------------------------


def _release_cells(course: Course) -> None:
    """Record the lab's cells in the gradebook as generate_assignment would (without running nbgrader)."""
    nb = json.loads((course.root / "source" / LAB / f"{LAB}.ipynb").read_text())
    with course.gradebook() as gb:
        gb.update_or_create_notebook(LAB, LAB)
        for cell in nb["cells"]:
            meta = cell["metadata"].get("nbgrader") or {}
            if meta.get("grade"):
                gb.update_or_create_grade_cell(meta["grade_id"], LAB, LAB, max_score=meta["points"], cell_type="code")
            if meta.get("solution"):
                gb.update_or_create_solution_cell(meta["grade_id"], LAB, LAB)


def test_merge_copies_one_submission_and_keeps_manual_grades(course: Course, tmp_path: Path) -> None:
    """Does a merge copy auto scores and comments from a job's copy, leaving other rows and manual scores alone?"""
    _release_cells(course)
    with course.gradebook() as gb:
        gb.add_student("cy")
        gb.add_submission(LAB, "bob")
        gb.find_grade("check-summary", LAB, LAB, "bob").manual_score = 0.5
        gb.db.commit()
    copy = tmp_path / "job.db"
    snapshot(course.db_path, copy)
    from kk_helpers.grading.course import open_gradebook

    with open_gradebook(f"sqlite:///{copy}", course.course_id) as job:
        job.update_or_create_submission(LAB, "ada")
        for name, score in {"check-greeting": 2.0, "check-settings": 0.0, "check-summary": 1.0}.items():
            g = job.find_grade(name, LAB, LAB, "ada")
            g.auto_score, g.needs_manual_grade = score, False
        job.find_comment("task1-answer", LAB, LAB, "ada").auto_comment = "No response."
        job.db.commit()
    assert merge_submission(course, copy, LAB, "ada")
    assert not merge_submission(course, copy, LAB, "cy")
    got = {s.student: s for s in scores(course)}
    assert got["ada"].score == 3.0 and got["ada"].grades["check-settings"] == (0.0, 3.0)
    assert got["bob"].grades["check-summary"] == (0.5, 1.0)
    with course.gradebook() as gb:
        assert gb.find_comment("task1-answer", LAB, LAB, "ada").auto_comment == "No response."


def test_zero_scores_flags_and_explains_a_failed_submission(course: Course) -> None:
    """Is an ungradable submission scored 0 everywhere, flagged, and commented with the reason?"""
    _release_cells(course)
    zero_submission(course, LAB, "ada", reason="the notebook is not valid JSON")
    [ada] = scores(course)
    assert (ada.score, ada.max_score, ada.flagged, ada.needs_manual_grade) == (0.0, 6.0, True, False)
    with course.gradebook() as gb:
        comment = gb.find_comment("task2-answer", LAB, LAB, "ada").auto_comment
    assert comment.startswith(FAILED_COMMENT) and "not valid JSON" in comment


# --- feedback and report ------------------------------------------------------------------------------------


def _graded_cell(source: str, outputs: list[dict[str, object]]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1,
                                 "schema_version": 3, "locked": True, "task": False}
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def test_hidden_tests_are_removed_and_their_tracebacks_cut_to_the_message() -> None:
    """Does feedback keep a hidden check's message but neither its code nor its traceback context?"""
    cell = _graded_cell(
        f"assert x == 1, 'visible'\n### BEGIN HIDDEN TESTS\n# {MARKER}\nassert y == 2, 'expected 2, got 3. Hint: y'\n"
        "### END HIDDEN TESTS",
        [{"output_type": "error", "ename": "AssertionError", "evalue": "expected 2, got 3. Hint: y",
          "traceback": ["----> 3 # " + MARKER, "AssertionError: expected 2, got 3. Hint: y"]}])
    out, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert MARKER not in out.source and "assert y" not in out.source
    assert out.source.startswith("assert x == 1")
    assert out.outputs[0]["traceback"] == ["\x1b[0;31mAssertionError\x1b[0m: expected 2, got 3. Hint: y"]


def test_cells_without_hidden_tests_keep_their_tracebacks() -> None:
    """Are ordinary cells (and their full tracebacks) left alone?"""
    tb = ["Traceback", "----> 1 1/0", "ZeroDivisionError: division by zero"]
    cell = _graded_cell("1/0", [{"output_type": "error", "ename": "ZeroDivisionError",
                                 "evalue": "division by zero", "traceback": tb}])
    out, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert out.source == "1/0" and out.outputs[0]["traceback"] == tb


def test_leaks_are_found_through_markup_and_entities(tmp_path: Path) -> None:
    """Is a hidden line found in a page even when syntax highlighting splits it into spans and escapes it?"""
    line = 'assert labels.get("lab") == "synthetic"'
    page = tmp_path / "f.html"
    page.write_text('<pre><span class="k">assert</span> <span class="n">labels</span>.get(<span class="s">'
                    '&quot;lab&quot;</span>) == <span>&quot;synthetic&quot;</span></pre>')
    assert page_text(page.read_text()).strip() == line
    assert find_leaks(page, [line, "something else entirely"]) == [line]


def test_report_statistics_and_page(course: Course) -> None:
    """Does the report rank the most failed tasks (not counting scores awaiting manual grading) and embed one chart
    per lab plus the failures chart?"""
    _release_cells(course)
    from kk_helpers.grading.course import open_gradebook

    with open_gradebook(course.db_url, course.course_id) as gb:
        for who, marks in {"ada": (2, 3, 1), "bob": (0, 3, 0), "cy": (2, 0, 0)}.items():
            gb.update_or_create_student(who)
            gb.add_submission(LAB, who)
            for name, score in zip(("check-greeting", "check-settings", "check-summary"), marks):
                g = gb.find_grade(name, LAB, LAB, who)
                g.auto_score, g.needs_manual_grade = float(score), False
        gb.find_grade("check-summary", LAB, LAB, "cy").needs_manual_grade = True  # awaiting a human
        gb.db.commit()
    stats = task_stats(scores(course))
    worst = most_failed(stats)
    assert [(t.task, t.failed, t.pending) for t in worst] == [
        ("check-summary", 1, 1), ("check-greeting", 1, 0), ("check-settings", 1, 0)]
    page = build_html(course)
    assert page.count("data:image/png;base64,") == 2
    assert "<td>check-summary</td><td>1 of 2 (50%)</td>" in page


def test_report_of_an_empty_course_says_what_to_run(course: Course) -> None:
    """Does a report before any grading say to run kk grade autograde?"""
    assert "kk grade autograde" in build_html(course)


# --- CLI ----------------------------------------------------------------------------------------------------


def test_cli_rejects_parallel_jobs_on_the_current_cluster(course: Course) -> None:
    """Is --backend current with --jobs 2 a usage error that says what to do?"""
    from kk_helpers.cli import app

    result = CliRunner().invoke(app, ["grade", "autograde", "-C", str(course.root), "--backend", "current",
                                      "--jobs", "2"])
    assert result.exit_code == 2
    assert "--jobs 1" in result.output


def test_cli_on_a_folder_that_is_not_a_course(tmp_path: Path) -> None:
    """Does every command on a non-course folder exit 1 with the fix?"""
    from kk_helpers.cli import app

    result = CliRunner().invoke(app, ["grade", "report", "-C", str(tmp_path)])
    assert result.exit_code == 1
    assert "kk grade init" in result.output


def test_cli_export_writes_nbgraders_csv(course: Course, tmp_path: Path) -> None:
    """Does kk grade export write nbgrader's CSV header for the roster's students?"""
    from kk_helpers.cli import app

    dest = tmp_path / "grades.csv"
    result = CliRunner().invoke(app, ["grade", "export", "-C", str(course.root), "--to", str(dest)])
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(dest.read_text().splitlines())
    assert {"assignment", "student_id", "score", "max_score"} <= set(reader.fieldnames or [])
    assert sorted(row["student_id"] for row in reader) == ["ada", "bob"]


def test_default_jobs_three_per_cpu_capped_by_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is the default --jobs three per usable CPU, never more than the available memory holds, and at least 1?"""
    from kk_helpers.grading import autograde

    cpus = len(os.sched_getaffinity(0))
    monkeypatch.setattr(autograde.procs, "available_memory", lambda: None)
    assert autograde.default_jobs() == 3 * cpus
    monkeypatch.setattr(autograde.procs, "available_memory", lambda: 2 * autograde.MEMORY_PER_JOB + 1)
    assert autograde.default_jobs() == min(2, 3 * cpus)
    monkeypatch.setattr(autograde.procs, "available_memory", lambda: 10)
    assert autograde.default_jobs() == 1
    monkeypatch.undo()
    assert autograde.procs.available_memory() > 0  # this Linux machine reports MemAvailable


def test_forkserver_starts_under_a_deep_tmpdir(tmp_path: Path) -> None:
    """Under a $TMPDIR too deep for an AF_UNIX socket path, does the forkserver still start (its socket under /tmp)?"""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    code = (
        "import multiprocessing, os, sys\n"
        "from kk_helpers.grading import autograde\n"
        "if sys.argv[1] == 'fixed':\n"
        "    autograde._short_socket_dir()\n"
        "p = multiprocessing.get_context('forkserver').Process(target=os.getpid)\n"
        "try:\n"
        "    p.start(); p.join(); print('exit', p.exitcode)\n"
        "except OSError as err:\n"
        "    print('error', err)\n"
    )
    env = dict(os.environ, TMPDIR=str(deep))
    broken = subprocess.run([sys.executable, "-c", code, "plain"], env=env, capture_output=True, text=True, timeout=120)
    assert "AF_UNIX path too long" in broken.stdout  # what every job hit before
    fixed = subprocess.run([sys.executable, "-c", code, "fixed"], env=env, capture_output=True, text=True, timeout=120)
    assert fixed.stdout.strip() == "exit 0", fixed.stdout + fixed.stderr
