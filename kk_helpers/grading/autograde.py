"""``kk grade autograde``: every submission graded in its own fresh sandbox, N at a time, into one gradebook.

The pipeline, top to bottom:

1. :func:`plan` — which ``(lab, student)`` submissions to grade (already autograded ones are skipped
   unless ``force``);
2. the gradebook is snapshotted once (:func:`kk_helpers.grading.gradebook.snapshot`);
3. up to ``jobs`` submissions run at once, each in a **separate process** (:mod:`kk_helpers.grading.worker`,
   forked from a forkserver that imported nbgrader, ipykernel and the Kubernetes client once) with its own
   temporary ``KK_HOME``, sandbox daemon, kernel, kubeconfig and gradebook copy, under a wall-clock limit
   (``timeout``); a thread per slot starts the process, waits for it, kills it at the limit, and then ends
   whatever the job left running (pid files, then a ``/proc`` scan for the job's environment marker);
4. the main thread — the gradebook's only writer — merges each finished job's scores into the gradebook, or
   scores a failed one 0 and flags it;
5. a final sweep ends anything still carrying the run's marker, the temporary root is removed, and the
   results are saved in ``.kk/autograde.json`` for the report.

Statuses: ``graded`` (nbgrader ran; a dead or hung kernel still counts — zeros from that cell on),
``failed`` (nbgrader could not grade it, e.g. the notebook is not valid JSON: 0 and flagged), ``timeout``
(the submission exceeded its wall-clock limit: 0 and flagged), ``not graded`` (kk could not run it, e.g. the
sandbox did not start: the gradebook is left alone — run again), ``cancelled`` (Ctrl-C).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import KKError
from ..sandbox import daemon
from . import procs
from .course import Course, ensure_students, exclusive
from .gradebook import integrity_check, merge_submission, snapshot, zero_submission
from .kernels import PID_FILE as KERNEL_PID_FILE
from .preprocessors.resilientexecute import CELL_TIMEOUT, KERNEL_DIED, KERNEL_HUNG, NOT_EXECUTED
from .worker import LOG_FILE, JobSpec, environment, read_outcome, run, spec_to_json

#: Default wall-clock limit of one submission, sandbox start included (seconds).
DEFAULT_TIMEOUT = 900.0

GRADED = "graded"
FAILED = "failed"
TIMEOUT = "timeout"
NOT_GRADED = "not graded"
CANCELLED = "cancelled"

BACKENDS = ("sandbox", "current")


#: Parallel jobs per CPU by default. A submission spends about two thirds of its wall time waiting (kernel
#: start, rollouts, check polls: 6 s wall for 1.9 CPU s on the core labs), so one job per CPU leaves them
#: idle: on 2 cores, --jobs 2 graded 27 submissions a minute, --jobs 4 44-48 and --jobs 6 56-58, the rate
#: that grades 500 submissions in 8.8 minutes (docs/grading.md).
JOBS_PER_CPU = 3
#: Memory one job holds at most (worker, kernel, sandbox; measured about 200 MB), for the default's cap.
MEMORY_PER_JOB = 300 * 2**20


def default_jobs() -> int:
    """Parallel jobs by default: :data:`JOBS_PER_CPU` per CPU this process may use, and no more than the
    available memory holds (:data:`MEMORY_PER_JOB` each)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    jobs = max(1, cpus) * JOBS_PER_CPU
    memory = procs.available_memory()
    if memory is not None:
        jobs = min(jobs, memory // MEMORY_PER_JOB)
    return max(1, jobs)


@dataclass
class JobResult:
    """The outcome of grading one submission.

    Attributes:
        assignment: the lab.
        student: the student id.
        status: ``graded``, ``failed``, ``timeout``, ``not graded`` or ``cancelled``.
        score: points in the gradebook afterwards (None when it was not touched).
        max_score: points possible.
        seconds: wall-clock time of the job.
        reason: why it failed, in one sentence.
        notes: what happened inside (``kernel died in cell 7``...).
        log: the job's log in the course.
        worker_pid: the grading process.
        sandbox_pid: its sandbox daemon (0 with ``--backend current``).
        sandbox_url: its API server.
        cpu_seconds: CPU time of the job's processes (worker, kernel, sandbox), when the worker reported it.
        cpu_parts: ``cpu_seconds`` split into ``worker`` (nbgrader), ``sandbox`` and ``kernel`` (the notebook's
            kernel and the programs it ran, such as ``kubectl``).
    """

    assignment: str
    student: str
    status: str
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    log: str = ""
    worker_pid: int = 0
    sandbox_pid: int = 0
    sandbox_url: str = ""
    cpu_seconds: float = 0.0
    cpu_parts: dict[str, float] = field(default_factory=dict)


@dataclass
class RunReport:
    """A whole ``kk grade autograde`` run.

    Attributes:
        results: one per submission graded, sorted by lab then student.
        skipped: ``(lab, student)`` already autograded (and not forced).
        jobs: parallel jobs used.
        backend: ``sandbox`` or ``current``.
        seconds: wall-clock time of the run.
        stray: pids the final sweep had to end (normally none).
        gradebook_check: SQLite's integrity check of the gradebook afterwards.
        run_id: the value of ``KK_GRADE_RUN`` every process of the run carried.
        work_root: the run's temporary directory (removed at the end).
    """

    results: list[JobResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    jobs: int = 1
    backend: str = "sandbox"
    seconds: float = 0.0
    stray: list[int] = field(default_factory=list)
    gradebook_check: str = ""
    run_id: str = ""
    work_root: str = ""

    def count(self, status: str) -> int:
        """How many results have ``status``."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def per_minute(self) -> float:
        """Submissions graded per minute of wall-clock time."""
        return 60.0 * len(self.results) / self.seconds if self.seconds > 0 else 0.0


def plan(course: Course, *, assignment: str | None = None, students: list[str] | None = None,
         force: bool = False) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split the submissions into (to grade, already autograded).

    Args:
        course: the course.
        assignment: only this lab.
        students: only these students.
        force: grade already autograded submissions again.

    Raises:
        KKError: an unknown lab.
    """
    known = course.assignments()
    if assignment and assignment not in known:
        raise KKError(f"unknown assignment {assignment!r} — the course has: {', '.join(known) or 'none'}")
    todo, skipped = [], []
    for lab, student in course.submissions(assignment):
        if students and student not in students:
            continue
        done = (course.directory("autograded") / student / lab).is_dir()
        (skipped if done and not force else todo).append((lab, student))
    return todo, skipped


def _notes(course: Course, assignment: str, student: str) -> list[str]:
    """What the autograded notebook says happened: dead or hung kernels, timed-out cells, cells not run."""
    notes: list[str] = []
    for path in sorted((course.directory("autograded") / student / assignment).glob("*.ipynb")):
        try:
            nb = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        not_run = 0
        for index, cell in enumerate(nb.get("cells", []), start=1):
            names = {o.get("ename") for o in cell.get("outputs", []) if o.get("output_type") == "error"}
            if KERNEL_DIED in names:
                notes.append(f"kernel died in cell {index}")
            if KERNEL_HUNG in names:
                notes.append(f"kernel hung in cell {index}")
            elif CELL_TIMEOUT in names:
                notes.append(f"cell {index} timed out")
            not_run += NOT_EXECUTED in names
        if not_run:
            notes.append(f"{not_run} cells not run")
    return notes


_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$")


def _failure_reason(log_text: str) -> str:
    """The last exception line of an nbgrader log, as one sentence."""
    found = ""
    for line in log_text.splitlines():
        m = _ERROR_LINE.match(line)
        if m and m.group(1) not in ("NbGraderException",):
            found = f"{m.group(1)}: {m.group(2).strip()}"
    if "NotJSONError" in found or "JSONDecodeError" in found:
        return "the notebook is not valid JSON (corrupted or truncated file)"
    return found[:300] or "nbgrader could not grade it (see the log)"


#: Longest temporary directory under which multiprocessing's forkserver socket path stays within AF_UNIX's
#: 107 bytes (it adds ``/pymp-XXXXXXXX/listener-XXXXXXXX``, about 35).
MAX_SOCKET_BASE = 70


def _short_socket_dir() -> None:
    """Make multiprocessing keep its forkserver socket under a short directory.

    multiprocessing puts that socket in a ``pymp-*`` directory under ``$TMPDIR``; under a deep ``$TMPDIR`` the
    path passes AF_UNIX's limit and every job failed with "AF_UNIX path too long". The ``pymp-*`` directory is
    made once per process (and removed at exit); here it is made under ``/tmp`` when ``$TMPDIR`` is too deep.
    """
    from multiprocessing import util

    base = tempfile.gettempdir()
    if len(base) <= MAX_SOCKET_BASE or not os.access("/tmp", os.W_OK):
        return
    saved, tempfile.tempdir = tempfile.tempdir, "/tmp"
    try:
        util.get_temp_dir()
    finally:
        tempfile.tempdir = saved


def _forkserver_usable() -> bool:
    """Whether forkserver children can re-create ``__main__`` (not when it was read from stdin)."""
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None):
        return True
    path = getattr(main, "__file__", None)
    return path is None or os.path.exists(path)


class _Worker:
    """One worker process, forked from the preloaded forkserver or, failing that, a plain subprocess."""

    def __init__(self, spec: JobSpec, ctx: Any | None) -> None:
        self._proc: Any
        self._popen: subprocess.Popen[bytes] | None = None
        if ctx is not None:
            self._proc = ctx.Process(target=run, args=(spec,), name=f"kk-grade {spec.student}/{spec.assignment}")
            self._proc.start()
            self.pid = int(self._proc.pid or 0)
        else:
            path = Path(spec.job_dir) / "spec.json"
            path.write_text(spec_to_json(spec))
            self._popen = subprocess.Popen([sys.executable, "-m", "kk_helpers.grading.worker", str(path)],
                                           env=spec.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True)
            self.pid = self._popen.pid

    @property
    def exitcode(self) -> int | None:
        """The exit status, or None while it runs."""
        if self._popen is not None:
            return self._popen.poll()
        return self._proc.exitcode  # type: ignore[no-any-return]

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for it to end."""
        if self._popen is not None:
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            self._proc.join(timeout)

    def kill(self) -> None:
        """SIGKILL it."""
        if self._popen is not None:
            self._popen.kill()
        else:
            self._proc.kill()


class _Runner:
    """Runs jobs in worker processes; one instance per ``autograde`` call."""

    def __init__(self, course: Course, root: Path, template: Path, *, backend: str, cell_timeout: int | None,
                 timeout: float, check_timeout: float | None, sandbox_workers: int, launcher: str) -> None:
        self.course = course
        self.root = root
        self.template = template
        self.backend = backend
        self.cell_timeout = cell_timeout
        self.timeout = timeout
        self.check_timeout = check_timeout
        self.sandbox_workers = sandbox_workers
        self.run_id = uuid.uuid4().hex
        self.cancel = threading.Event()
        self.ctx: Any = None
        if launcher == "forkserver" or (launcher == "auto" and _forkserver_usable()):
            _short_socket_dir()
            self.ctx = multiprocessing.get_context("forkserver")
            self.ctx.set_forkserver_preload(["kk_helpers.grading.preload"])

    def spec(self, index: int, assignment: str, student: str) -> JobSpec:
        job_dir = self.root / f"job-{index:04d}"
        job_dir.mkdir()
        db = job_dir / "gradebook.db"
        shutil.copyfile(self.template, db)
        spec = JobSpec(course_root=str(self.course.root), assignment=assignment, student=student,
                       job_dir=str(job_dir), db_path=str(db), backend=self.backend, run_id=self.run_id,
                       job_id=f"{self.run_id}-{index}", cell_timeout=self.cell_timeout,
                       check_timeout=self.check_timeout, sandbox_workers=self.sandbox_workers)
        return JobSpec(**{**asdict(spec), "env": environment(spec)})

    def job(self, index: int, assignment: str, student: str) -> tuple[JobResult, JobSpec]:
        """Prepare and run one job (in a pool thread); a failure of kk itself becomes a ``not graded`` result."""
        spec = self.spec(index, assignment, student)
        if self.cancel.is_set():
            return JobResult(assignment, student, CANCELLED, reason="cancelled"), spec
        try:
            return self.execute(spec), spec
        except Exception as err:  # a bug or an OS error must not stop the batch
            self._clean_job(spec)
            return JobResult(assignment, student, NOT_GRADED, reason=f"kk could not run it: {err}"), spec

    def execute(self, spec: JobSpec) -> JobResult:
        """Run one job to its end (or its limit) and clean up after it."""
        result = JobResult(spec.assignment, spec.student, GRADED)
        t0 = time.monotonic()
        killed = False
        proc: _Worker | None = None
        try:
            proc = _Worker(spec, self.ctx)
            result.worker_pid = proc.pid
            deadline = t0 + self.timeout
            while proc.exitcode is None:
                proc.join(0.2)
                if proc.exitcode is None and (self.cancel.is_set() or time.monotonic() > deadline):
                    proc.kill()
                    proc.join(10)
                    killed = True
                    break
        finally:
            self._clean_job(spec)
            result.seconds = round(time.monotonic() - t0, 2)
        outcome = read_outcome(Path(spec.job_dir))
        if outcome is not None:
            result.sandbox_pid, result.sandbox_url = outcome.sandbox_pid, outcome.sandbox_url
            result.cpu_seconds = float(outcome.timings.get("cpu", 0.0))
            worker_cpu, sandbox_cpu = (float(outcome.timings.get(k, 0.0)) for k in ("cpu_worker", "cpu_sandbox"))
            result.cpu_parts = {"worker": worker_cpu, "sandbox": sandbox_cpu,
                                "kernel": round(max(0.0, result.cpu_seconds - worker_cpu - sandbox_cpu), 3)}
        if killed:
            result.status = CANCELLED if self.cancel.is_set() else TIMEOUT
            result.reason = ("cancelled" if self.cancel.is_set()
                             else f"did not finish within {self.timeout:.0f} s, so it was stopped")
        elif outcome is None:
            result.status = FAILED
            result.reason = f"the grading process died (exit code {proc.exitcode if proc else None})"
        elif outcome.phase != "done":
            result.status = NOT_GRADED
            result.reason = outcome.error or f"stopped during {outcome.phase}"
        elif outcome.exit_code != 0:
            result.status = FAILED
        result.log = str(self._keep_log(spec))
        if result.status == FAILED and not result.reason:
            result.reason = _failure_reason(Path(result.log).read_text(errors="replace"))
        return result

    def _clean_job(self, spec: JobSpec) -> None:
        """Stop the job's sandbox and end every process that carries the job's marker or mentions its directory."""
        if spec.backend == "sandbox":
            try:
                daemon.stop(spec.sandbox_dir, remove_context=False)
            except OSError:
                pass
        procs.kill_recorded(Path(spec.job_dir) / KERNEL_PID_FILE)  # a forked kernel: /proc shows no marker
        left = procs.find(env={procs.JOB_MARKER: spec.job_id}, cmdline_contains=spec.job_dir + os.sep)
        if left:
            procs.kill_all(left)

    def _keep_log(self, spec: JobSpec) -> Path:
        """Copy the job's log (and its sandbox log's tail) into ``.kk/logs/autograde/<lab>/<student>.log``."""
        dest = self.course.state_dir / "logs" / "autograde" / spec.assignment / f"{spec.student}.log"
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = ""
        try:
            text = (Path(spec.job_dir) / LOG_FILE).read_text(errors="replace")
        except OSError:
            pass
        sandbox_log = spec.sandbox_dir / "sandbox.log"
        if sandbox_log.exists():
            tail = sandbox_log.read_text(errors="replace").splitlines()[-40:]
            text += "\n--- sandbox.log (last lines) ---\n" + "\n".join(tail) + "\n"
        dest.write_text(text[-2_000_000:])
        return dest

    def sweep(self) -> list[int]:
        """End anything still carrying this run's marker, or any sandbox daemon under the run's root."""
        left = procs.find(env={procs.RUN_MARKER: self.run_id})
        seen = {p.pid for p in left}
        left += [p for p in procs.sandbox_daemons(under=self.root) if p.pid not in seen]
        return procs.kill_all(left) if left else []


def _record(course: Course, result: JobResult, spec: JobSpec) -> None:
    """Write one finished job into the gradebook (main thread only) and read its score back."""
    lab, student = result.assignment, result.student
    if result.status == GRADED:
        if not merge_submission(course, Path(spec.db_path), lab, student):
            result.status, result.reason = FAILED, "nbgrader recorded no submission"
    if result.status in (FAILED, TIMEOUT, CANCELLED):
        partial = course.directory("autograded") / student / lab
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    if result.status in (FAILED, TIMEOUT):
        zero_submission(course, lab, student, reason=result.reason)
    if result.status == GRADED:
        result.notes = _notes(course, lab, student)
    if result.status in (GRADED, FAILED, TIMEOUT):
        from nbgrader.api import MissingEntry

        with course.gradebook() as gb:
            try:
                sub = gb.find_submission(lab, student)
                result.score, result.max_score = float(sub.score), float(sub.max_score)
                if result.status == GRADED and sub.needs_manual_grade:
                    result.notes.append("needs manual grading")
            except MissingEntry:
                pass


def _save_results(course: Course, report: RunReport) -> None:
    """Merge this run's results into ``.kk/autograde.json`` (latest per submission)."""
    path = course.state_dir / "autograde.json"
    try:
        previous = json.loads(path.read_text()).get("results", [])
    except (OSError, ValueError, AttributeError):
        previous = []
    latest = {(r["assignment"], r["student"]): r for r in previous if isinstance(r, dict) and "assignment" in r}
    for r in report.results:
        latest[(r.assignment, r.student)] = asdict(r)
    data = {"finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "jobs": report.jobs,
            "backend": report.backend, "seconds": round(report.seconds, 2),
            "results": [latest[k] for k in sorted(latest)]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")


def load_results(course: Course) -> list[dict[str, Any]]:
    """The latest saved result of every submission ever autograded by kk (from ``.kk/autograde.json``)."""
    try:
        data = json.loads((course.state_dir / "autograde.json").read_text())
    except (OSError, ValueError):
        return []
    results = data.get("results", []) if isinstance(data, dict) else []
    return [r for r in results if isinstance(r, dict)]


def autograde(course: Course, *, assignment: str | None = None, students: list[str] | None = None,
              jobs: int | None = None, backend: str = "sandbox", cell_timeout: int | None = None,
              timeout: float = DEFAULT_TIMEOUT, check_timeout: float | None = None, force: bool = False,
              sandbox_workers: int = 2, work_dir: Path | None = None, launcher: str = "auto",
              on_start: Callable[[int], None] | None = None,
              on_done: Callable[[JobResult], None] | None = None) -> RunReport:
    """Autograde submissions, each against its own fresh sandbox, ``jobs`` at a time.

    Args:
        course: the course.
        assignment: only this lab (default: every lab with submissions).
        students: only these students.
        jobs: parallel submissions (default: :func:`default_jobs`). Results do not depend on it.
        backend: ``sandbox`` (a fresh sandbox per submission) or ``current`` (the cluster ``$KUBECONFIG`` and
            ``$KK_CONTEXT`` point at, one submission at a time — it is shared).
        cell_timeout: seconds a cell may run before it is interrupted (default: the course config's).
        timeout: seconds one submission may take in all before it is stopped and scored 0.
        check_timeout: ``$KK_CHECK_TIMEOUT`` for the labs' checks (default: theirs).
        force: grade already autograded submissions again.
        sandbox_workers: worker nodes of each sandbox.
        work_dir: where the run's temporary directory goes (default: the system's).
        launcher: how worker processes start: ``forkserver`` (forked from a process that imported nbgrader once),
            ``subprocess`` (a fresh interpreter each, two seconds slower), or ``auto`` (forkserver when possible).
        on_start: called with the number of submissions to grade.
        on_done: called (from the main thread) with each result as it is recorded.

    Returns:
        The run's report.

    Raises:
        KKError: an unknown lab or backend, more than one job on the current cluster, or another run on this
            course.
    """
    if backend not in BACKENDS:
        raise KKError(f"unknown backend {backend!r}: use sandbox or current")
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise KKError("--jobs must be at least 1")
    if backend == "current" and jobs > 1:
        raise KKError("--backend current grades on one shared cluster, where parallel submissions would see each "
                      "other's objects: use --jobs 1, or the sandbox backend")
    with exclusive(course, "autograde"):
        return _autograde(course, assignment=assignment, students=students, jobs=jobs, backend=backend,
                          cell_timeout=cell_timeout, timeout=timeout, check_timeout=check_timeout, force=force,
                          sandbox_workers=sandbox_workers, work_dir=work_dir, launcher=launcher, on_start=on_start,
                          on_done=on_done)


def _autograde(course: Course, *, assignment: str | None, students: list[str] | None, jobs: int, backend: str,
               cell_timeout: int | None, timeout: float, check_timeout: float | None, force: bool,
               sandbox_workers: int, work_dir: Path | None, launcher: str,
               on_start: Callable[[int], None] | None, on_done: Callable[[JobResult], None] | None) -> RunReport:
    """:func:`autograde`, holding the course's autograde lock."""
    todo, skipped = plan(course, assignment=assignment, students=students, force=force)
    report = RunReport(skipped=skipped, jobs=jobs, backend=backend)
    if on_start is not None:
        on_start(len(todo))
    if not todo:
        return report
    ensure_students(course, sorted({s for _, s in todo}))
    t0 = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="kk-grade-", dir=work_dir))
    template = root / "gradebook.db"
    snapshot(course.db_path, template)
    runner = _Runner(course, root, template, backend=backend, cell_timeout=cell_timeout, timeout=timeout,
                     check_timeout=check_timeout, sandbox_workers=sandbox_workers, launcher=launcher)
    report.run_id, report.work_root = runner.run_id, str(root)
    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="kk-grade") as pool:
            futures: list[Future[tuple[JobResult, JobSpec]]] = [
                pool.submit(runner.job, i, lab, student) for i, (lab, student) in enumerate(todo)]
            try:
                for future in as_completed(futures):
                    result, spec = future.result()
                    try:
                        _record(course, result, spec)
                    except Exception as err:  # e.g. the gradebook is locked by another program for too long
                        result.status, result.reason = NOT_GRADED, f"could not write the gradebook: {err}"
                    shutil.rmtree(spec.job_dir, ignore_errors=True)
                    report.results.append(result)
                    if on_done is not None:
                        on_done(result)
            except BaseException:
                runner.cancel.set()
                for f in futures:
                    f.cancel()
                raise
    finally:
        report.stray = runner.sweep()
        shutil.rmtree(root, ignore_errors=True)
        report.seconds = time.monotonic() - t0
        report.results.sort(key=lambda r: (r.assignment, r.student))
        report.gradebook_check = integrity_check(course.db_path)
        _save_results(course, report)
    return report
