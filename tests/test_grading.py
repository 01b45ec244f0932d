"""End-to-end tests of ``kk grade``: a synthetic class graded for real, each submission in its own sandbox.

A course is built from the instructor notebook in tests/fixtures/grading/solutions (three tasks that create
and read ConfigMaps through the official client, a hidden test region), released, and a class of ten
learners (tests/fixtures/grading/synthetic_class.py: perfect, empty, partial, a hung kernel, a dead kernel,
deleted cells, a stderr flood, corrupted JSON, a cluster wipe, an endless loop) arrives as an LMS zip.

They check: every learner gets the expected score on every task, and the batch survives the bad ones; every
submission ran against its own sandbox; ``--jobs 2`` gives what a serial run gives; no sandbox, kernel or
grading process is left running (pid files and a ``/proc`` scan); the gradebook passes SQLite's integrity
check and nbgrader can still export it; a submission over its wall-clock limit is stopped and scored 0;
feedback shows the checks' messages but never hidden test code (and refuses to ship a page that would);
``--backend current`` grades on the cluster the environment points at; a course config cannot redirect a job.

Slow (about two minutes on two cores): marked ``slow``, still run by default.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from kk_helpers.grading import procs
from kk_helpers.grading.autograde import FAILED, GRADED, NOT_GRADED, TIMEOUT, RunReport, autograde
from kk_helpers.grading.collect import collect
from kk_helpers.grading.course import Course, init_course, release
from kk_helpers.grading.feedback import export, feedback
from kk_helpers.grading.gradebook import integrity_check, scores
from kk_helpers.grading.report import report
from kk_helpers.errors import KKError

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "grading"))
import synthetic_class as sc  # noqa: E402

pytestmark = pytest.mark.slow

#: Long enough for any honest cell on a loaded machine, short enough for the endless loops.
CELL_TIMEOUT = 10
#: Learners graded serially too: one of each kind (the loops, which cost cell timeouts, are left out for time).
SERIAL = ["ada", "bob", "cy", "eve", "fay", "hal"]


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A released course whose class handed in through an LMS zip (plus one roster learner who did not)."""
    base = tmp_path_factory.mktemp("grading")
    roster = sc.roster_csv(base / "roster.csv", list(sc.EXPECTED) + ["kim"])
    course = init_course(base / "course", sc.SOLUTIONS, roster=roster, cell_timeout=CELL_TIMEOUT).course
    with course.config_path.open("a") as f:  # a hung kernel costs cell timeout + these two: keep tests short
        f.write("c.Execute.iopub_timeout = 4\nc.ResilientExecute.unresponsive_grace = 5\n")
    release(course)
    files = sc.build(course.root / "release" / sc.LAB / f"{sc.LAB}.ipynb",
                     course.root / "source" / sc.LAB / f"{sc.LAB}.ipynb", base / "handed-in")
    archive = base / "lms-export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in files.values():
            zf.write(path, f"Lab 90 submissions/{path.name}")
        zf.writestr("Lab 90 submissions/index.html", "<html>LMS index</html>")
    result = collect(course, archive)
    assert sorted(c.student for c in result.collected) == sorted(sc.EXPECTED)
    return course


def _copy(course: Course, dest: Path) -> Course:
    shutil.copytree(course.root, dest)
    return Course.open(dest)


@pytest.fixture(scope="module")
def parallel(released: Course, tmp_path_factory: pytest.TempPathFactory) -> tuple[Course, RunReport]:
    """The whole class autograded with --jobs 2."""
    course = _copy(released, tmp_path_factory.mktemp("parallel") / "course")
    work = tmp_path_factory.mktemp("parallel-work")
    run = autograde(course, jobs=2, cell_timeout=CELL_TIMEOUT, timeout=120, work_dir=work)
    return course, run


def _grades(course: Course) -> dict[str, dict[str, float]]:
    return {s.student: {k: v[0] for k, v in s.grades.items()} for s in scores(course)}


def test_every_learner_gets_the_expected_score_on_every_task(parallel: tuple[Course, RunReport]) -> None:
    """Is each learner's score on each task what their submission deserves, bad submissions included?"""
    course, run = parallel
    assert _grades(course) == {k: {t: float(p) for t, p in v.items()} for k, v in sc.EXPECTED.items()}
    statuses = {r.student: r.status for r in run.results}
    assert statuses == {s: sc.STATUS.get(s, GRADED) for s in sc.EXPECTED}
    totals = {r.student: r.score for r in run.results}
    assert totals == {s: sc.total(s) for s in sc.EXPECTED}


def test_bad_submissions_are_explained(parallel: tuple[Course, RunReport]) -> None:
    """Does the run say what went wrong inside each bad submission, and flag the one it could not grade?"""
    course, run = parallel
    by = {r.student: r for r in run.results}
    assert "kernel hung in cell 7" in by["dee"].notes
    assert "kernel died in cell 7" in by["eve"].notes
    assert "cell 10 timed out" in by["jay"].notes
    assert by["hal"].reason == "the notebook is not valid JSON (corrupted or truncated file)"
    assert by["ada"].notes == [] and by["gus"].notes == []
    flagged = {s.student for s in scores(course) if s.flagged}
    assert flagged == {"hal"}
    assert not (course.root / "autograded" / "hal").exists()


def test_the_stderr_flood_was_truncated(parallel: tuple[Course, RunReport]) -> None:
    """Was the flooding learner graded in full, with the flood cut to nbgrader's output limit?"""
    course, _ = parallel
    nb = json.loads((course.root / "autograded" / "gus" / sc.LAB / f"{sc.LAB}.ipynb").read_text())
    streams = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    text = "".join("".join(o["text"]) if isinstance(o["text"], list) else o["text"] for o in streams)
    assert "Output truncated" in text
    assert text.count("\n") < 1100


def test_each_submission_ran_against_its_own_sandbox(parallel: tuple[Course, RunReport]) -> None:
    """Did every submission get a sandbox of its own, and is that the cluster its notebook talked to?"""
    course, run = parallel
    urls = [r.sandbox_url for r in run.results]
    assert all(u.startswith("https://127.0.0.1:") for u in urls)
    assert len(set(urls)) == len(urls)
    for r in run.results:
        if r.status != GRADED:
            continue
        text = (course.root / "autograded" / r.student / sc.LAB / f"{sc.LAB}.ipynb").read_text()
        assert f"at {r.sandbox_url}" in text, r.student


def test_nothing_is_left_running(parallel: tuple[Course, RunReport]) -> None:
    """Are all grading processes, kernels and sandbox daemons gone (pids, pid files, /proc scan)?"""
    _, run = parallel
    assert run.stray == []
    for r in run.results:
        assert r.worker_pid and not procs.alive(r.worker_pid)
        assert r.sandbox_pid and not procs.alive(r.sandbox_pid)
    assert procs.find(env={procs.RUN_MARKER: run.run_id}) == []
    assert procs.sandbox_daemons(under=Path(run.work_root).parent) == []
    assert not Path(run.work_root).exists()
    assert list(Path(run.work_root).parent.glob("**/server.json")) == []


def test_the_gradebook_is_sound_and_nbgrader_can_still_use_it(parallel: tuple[Course, RunReport],
                                                               tmp_path: Path) -> None:
    """Does the gradebook pass SQLite's integrity check, open in nbgrader, and export every learner's total?"""
    course, run = parallel
    assert run.gradebook_check == "ok" and integrity_check(course.db_path) == "ok"
    rows = {r["student_id"]: r for r in csv.DictReader(export(course, tmp_path / "grades.csv").read_text()
                                                        .splitlines())}
    assert {s: float(rows[s]["score"]) for s in sc.EXPECTED} == {s: sc.total(s) for s in sc.EXPECTED}
    assert float(rows["kim"]["score"]) == 0.0


def test_parallel_equals_serial(released: Course, parallel: tuple[Course, RunReport], tmp_path: Path) -> None:
    """Does a serial run (--jobs 1) give the gradebook --jobs 2 gave, task by task?"""
    course = _copy(released, tmp_path / "course")
    run = autograde(course, jobs=1, students=SERIAL, cell_timeout=CELL_TIMEOUT, timeout=120, work_dir=tmp_path)
    parallel_grades = _grades(parallel[0])
    assert _grades(course) == {s: parallel_grades[s] for s in SERIAL}
    assert {r.student: r.status for r in run.results} == {r.student: r.status for r in parallel[1].results
                                                          if r.student in SERIAL}
    assert run.stray == [] and integrity_check(course.db_path) == "ok"


def test_feedback_shows_messages_never_hidden_tests(parallel: tuple[Course, RunReport]) -> None:
    """Does feedback show each check's expected/actual and hint, but not the hidden test code?"""
    course, _ = parallel
    result = feedback(course)
    assert sorted(p.parent.parent.name for p in result.files) == sorted(set(sc.EXPECTED) - {"hal"})
    assert [(lab, who) for lab, who, _ in result.missing] == [(sc.LAB, "hal")]
    for page in result.files:
        assert sc.HIDDEN_MARKER not in page.read_text(), page
    cy = (course.root / "feedback" / "cy" / sc.LAB / f"{sc.LAB}.html").read_text()
    assert "expected label lab=synthetic, found labels {}. Hint: set metadata.labels" in cy
    assert "labels.get(" not in cy
    bob = (course.root / "feedback" / "bob" / sc.LAB / f"{sc.LAB}.html").read_text()
    assert re.search(r"expected: \{.*message.*hello", bob)


def test_feedback_refuses_to_ship_hidden_code(parallel: tuple[Course, RunReport], tmp_path: Path) -> None:
    """If the config stops hiding hidden tests, are the leaking pages deleted and the instructor told?"""
    course = _copy(parallel[0], tmp_path / "course")
    config = course.config_path.read_text().replace('    "kk_helpers.grading.preprocessors.HideHiddenTests",\n', "")
    course.config_path.write_text(config)
    with pytest.raises(KKError, match="hidden test code appeared"):
        feedback(course)
    for page in (course.root / "feedback").glob("*/*/*.html"):
        assert sc.HIDDEN_MARKER not in page.read_text()


def test_report_charts_the_class(parallel: tuple[Course, RunReport]) -> None:
    """Does the class report embed charts, rank the most failed tasks, and list the ungradable submission?"""
    course, _ = parallel
    page = report(course).read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "<td>check-summary</td><td>8 of 10 (80%)</td>" in page
    assert "not valid JSON" in page


def test_a_submission_over_its_time_limit_is_stopped_and_scored_zero(released: Course, tmp_path: Path) -> None:
    """Is a submission that exceeds --timeout killed (kernel included), scored 0 and flagged, batch unharmed?"""
    course = _copy(released, tmp_path / "course")
    run = autograde(course, jobs=2, students=["ada", "dee"], cell_timeout=60, timeout=15, work_dir=tmp_path)
    by = {r.student: r for r in run.results}
    assert by["dee"].status == TIMEOUT and "within 15 s" in by["dee"].reason
    assert by["dee"].score == 0.0
    assert by["ada"].status == GRADED and by["ada"].score == 6.0
    assert {s.student: s.flagged for s in scores(course)} == {"ada": False, "dee": True}
    assert procs.find(env={procs.RUN_MARKER: run.run_id}) == []
    assert not procs.alive(by["dee"].sandbox_pid)


def _descendants_of_run(tmp: Path) -> list[procs.ProcInfo]:
    """Processes started (directly or not) by a kk run whose environment had TMPDIR=tmp (jobs: a folder in it)."""
    return [p for p in procs.processes()
            if p.environ.get("TMPDIR", "") == str(tmp) or p.environ.get("TMPDIR", "").startswith(f"{tmp}/")]


def test_sigterm_mid_run_stops_everything(released: Course, tmp_path: Path) -> None:
    """Does SIGTERM to a running `kk grade autograde` stop every job, exit 130 and leave nothing running?"""
    import os
    import signal
    import subprocess
    import time

    course = _copy(released, tmp_path / "course")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    kk = Path(sys.executable).parent / "kk"
    cli = subprocess.Popen([str(kk), "grade", "autograde", "-C", str(course.root), "--jobs", "2",
                            "--cell-timeout", "60", "--student", "dee", "--student", "jay"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 150
        sandboxes: list[int] = []
        while time.monotonic() < deadline and len(sandboxes) < 2:
            sandboxes = [json.loads(p.read_text())["pid"] for p in tmp.glob("kk-grade-*/job-*/home/sandbox/server.json")
                         if p.stat().st_size]
            time.sleep(0.2)
        if len(sandboxes) < 2:  # say what the run was doing: its output and the files of its jobs
            cli.kill()
            out, err = cli.communicate(timeout=30)
            files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))[:60]
            raise AssertionError(f"the two jobs did not start their sandboxes in 150 s (found {sandboxes}); "
                                 f"stdout:\n{out}\nstderr:\n{err}\nfiles: {files}")
        time.sleep(2)  # the kernels are running the endless loops now
        cli.send_signal(signal.SIGTERM)
        _, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 130, err
    assert "cancelled" in err
    deadline = time.monotonic() + 5
    while _descendants_of_run(tmp) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _descendants_of_run(tmp) == []
    assert not any(procs.alive(pid) for pid in sandboxes)
    assert list(tmp.iterdir()) == []
    assert integrity_check(course.db_path) == "ok"


def test_backend_current_grades_on_the_cluster_the_environment_names(released: Course, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With --backend current, does the notebook run against $KUBECONFIG/$KK_CONTEXT (and start no sandbox)?"""
    from kubernetes import client, config

    from kk_helpers.sandbox.app import SandboxThread

    course = _copy(released, tmp_path / "course")
    with SandboxThread(tmp_path / "cluster", mode="fast") as cluster:
        assert cluster.kubeconfig_path is not None
        monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_path))
        monkeypatch.setenv("KK_CONTEXT", "kk-sandbox")
        run = autograde(course, jobs=1, backend="current", students=["ada"], cell_timeout=CELL_TIMEOUT,
                        timeout=120, work_dir=tmp_path)
        [ada] = run.results
        assert (ada.status, ada.score, ada.sandbox_pid) == (GRADED, 6.0, 0)
        api = config.new_client_from_config(str(cluster.kubeconfig_path))
        try:
            cm = client.CoreV1Api(api).read_namespaced_config_map("greeting", "default")
        finally:
            api.close()
        assert cm.data == {"message": "hello"}


def test_a_course_config_cannot_redirect_a_job(released: Course, tmp_path: Path) -> None:
    """Does a job ignore a config that points at the main gradebook, and refuse one that changes its student?"""
    course = _copy(released, tmp_path / "course")
    with course.config_path.open("a") as f:
        f.write(f"c.CourseDirectory.db_url = 'sqlite:///{course.db_path}'\n")
    [ada] = autograde(course, jobs=1, students=["ada"], cell_timeout=CELL_TIMEOUT, timeout=120,
                      work_dir=tmp_path).results
    assert (ada.status, ada.score) == (GRADED, 6.0)
    with course.config_path.open("a") as f:
        f.write("c.CourseDirectory.student_id = '*'\n")
    [bob] = autograde(course, jobs=1, students=["bob"], cell_timeout=CELL_TIMEOUT, timeout=120,
                      work_dir=tmp_path).results
    assert bob.status == NOT_GRADED and "student_id" in bob.reason
    assert [s.student for s in scores(course)] == ["ada"]
    assert FAILED not in {r.status for r in (ada, bob)}
