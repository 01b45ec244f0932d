"""An nbgrader course built from the instructor notebooks in ``solutions/``: layout, config, gradebook, roster.

``kk grade init COURSE`` lays out what nbgrader expects::

    COURSE/
      nbgrader_config.py        course id, timeouts, kk's preprocessors (edit freely)
      gradebook.db              nbgrader's SQLite gradebook: one assignment per lab, the roster's students
      source/<lab>/<lab>.ipynb  copied from solutions/<lab>.ipynb (plus solutions/<lab>/ files, if any)
      release/<lab>/            student versions (kk grade release)
      submitted/<student>/<lab>/ what learners handed in (kk grade collect)
      autograded/, feedback/    nbgrader's outputs (kk grade autograde / feedback)
      .kk/                      kk's own state: course.json, per-submission logs, the last run's results

Every nbgrader command runs as a subprocess in the course directory (nbgrader's apps are process-wide
singletons), with the Python environment's ``bin/`` first on ``PATH`` (nbgrader shells out to ``alembic``
when it creates a gradebook, and labs call ``kubectl``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import KKError

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

#: Seconds a cell may run before it is interrupted (``Execute.timeout``): cluster waits and check polls.
DEFAULT_CELL_TIMEOUT = 120
#: Course id written into a new course's config.
DEFAULT_COURSE_ID = "kk"

CONFIG_TEMPLATE = '''\
"""nbgrader configuration of this course, written by `kk grade init` (edit freely).

kk grade autograde overrides Execute.timeout with --cell-timeout and the gradebook with a per-submission copy.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = {course_id!r}

# Cells wait for the cluster (rollouts, checks polling up to $KK_CHECK_TIMEOUT s): long cell timeouts.
c.Execute.timeout = {cell_timeout}
c.Execute.interrupt_on_timeout = True
# Output may lag behind a cell's reply this long (a loaded machine must not cost a test cell its points);
# a cell that timed out and then hangs costs it once more before ResilientExecute declares the kernel hung.
c.Execute.iopub_timeout = 30
c.Execute.kernel_name = "python3"
# Grading needs no graceful kernel shutdown; this saves seconds per submission.
c.Execute.shutdown_kernel = "immediate"
# nbgrader's Execute stops a notebook at a dead kernel and declares, but never reads, execute_retries.
# kk's ResilientExecute grades a dead or hung kernel as zeros from that cell on instead.
c.Autograde.autograde_preprocessors = [
    "kk_helpers.grading.preprocessors.ResilientExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A learner who deletes a test cell gets it back (and is graded by it).
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# Feedback: hidden test code never shown, only the messages its checks raised.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "kk_helpers.grading.preprocessors.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
'''


@dataclass(frozen=True)
class Student:
    """One roster row.

    Attributes:
        id: the student id nbgrader files submissions under.
        first_name: given name.
        last_name: family name.
        email: address.
    """

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory managed by ``kk grade``.

    Attributes:
        root: the course directory (absolute).
        course_id: nbgrader's course id.
    """

    root: Path
    course_id: str = DEFAULT_COURSE_ID

    @classmethod
    def open(cls, root: Path | str) -> Course:
        """The course at ``root``.

        Raises:
            KKError: ``root`` is not a course made by ``kk grade init``.
        """
        path = Path(root).expanduser().resolve()
        meta = path / ".kk" / "course.json"
        if not (path / "nbgrader_config.py").exists() or not meta.exists():
            raise KKError(f"{path} is not a kk grading course — create it with: kk grade init {root}")
        try:
            course_id = str(json.loads(meta.read_text()).get("course_id") or DEFAULT_COURSE_ID)
        except (OSError, ValueError) as err:
            raise KKError(f"{meta} is unreadable ({err}) — run kk grade init {root} again") from err
        return cls(path, course_id)

    @property
    def config_path(self) -> Path:
        """``nbgrader_config.py``."""
        return self.root / "nbgrader_config.py"

    @property
    def db_path(self) -> Path:
        """The gradebook file."""
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        """The gradebook's SQLAlchemy URL."""
        return f"sqlite:///{self.db_path}"

    @property
    def state_dir(self) -> Path:
        """kk's own files inside the course (``.kk/``)."""
        return self.root / ".kk"

    def directory(self, step: str) -> Path:
        """One of nbgrader's step directories: ``source``, ``release``, ``submitted``, ``autograded``, ``feedback``."""
        return self.root / step

    def assignments(self) -> list[str]:
        """Assignments (labs) with a source notebook, sorted."""
        src = self.directory("source")
        if not src.is_dir():
            return []
        return sorted(d.name for d in src.iterdir() if d.is_dir() and any(d.glob("*.ipynb")))

    def notebooks(self, assignment: str) -> list[str]:
        """Notebook names (without ``.ipynb``) of one assignment's source."""
        return sorted(p.stem for p in (self.directory("source") / assignment).glob("*.ipynb"))

    def submissions(self, assignment: str | None = None) -> list[tuple[str, str]]:
        """``(assignment, student)`` pairs with a submitted folder, sorted by assignment then student."""
        sub = self.directory("submitted")
        wanted = [assignment] if assignment else self.assignments()
        pairs = []
        if sub.is_dir():
            for student_dir in sub.iterdir():
                for name in wanted:
                    if (student_dir / name).is_dir():
                        pairs.append((name, student_dir.name))
        return sorted(pairs)

    @contextmanager
    def gradebook(self) -> Iterator[Gradebook]:
        """nbgrader's :class:`~nbgrader.api.Gradebook` on this course, closed afterwards.

        SQLAlchemy's ``SAWarning`` messages about nbgrader's own session use are silenced inside (they are nbgrader's,
        harmless, and would fail a ``-W error`` run).
        """
        with open_gradebook(self.db_url, self.course_id) as gb:
            yield gb


@dataclass
class InitResult:
    """What ``kk grade init`` did.

    Attributes:
        course: the course.
        labs: assignments created, one per solutions notebook.
        students: students imported from the roster.
        warnings: notebooks without grade cells and similar.
    """

    course: Course
    labs: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def bin_dir() -> Path:
    """The ``bin/`` of the Python environment kk runs in (nbgrader, alembic, kubectl, jupyter)."""
    return Path(sys.executable).parent


def tool_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose ``PATH`` starts with :func:`bin_dir`.

    Args:
        base: the environment to extend; default ``os.environ``.
    """
    env = dict(os.environ if base is None else base)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    first = str(bin_dir())
    env["PATH"] = os.pathsep.join([first] + [p for p in parts if p != first])
    return env


@contextmanager
def open_gradebook(db_url: str, course_id: str) -> Iterator[Gradebook]:
    """An nbgrader Gradebook on ``db_url``, with nbgrader's SQLAlchemy warnings silenced; closed afterwards."""
    import warnings

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SAWarning)
        with alembic_on_path():
            gb = Gradebook(db_url, course_id)
        try:
            yield gb
        finally:
            gb.close()


@contextmanager
def alembic_on_path() -> Iterator[None]:
    """Put :func:`bin_dir` on ``PATH`` while nbgrader may create a gradebook (it runs ``alembic heads``)."""
    old = os.environ.get("PATH")
    os.environ["PATH"] = tool_env()["PATH"]
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


@contextmanager
def exclusive(course: Course, what: str) -> Iterator[None]:
    """Hold ``.kk/<what>.lock`` (flock) for the block: two ``kk grade autograde`` runs on one course would grade
    the same submissions twice and race on the gradebook.

    Raises:
        KKError: another process holds it (its pid is named).
    """
    import fcntl

    course.state_dir.mkdir(parents=True, exist_ok=True)
    path = course.state_dir / f"{what}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise KKError(f"another kk grade {what} is running on {course.root} (pid {holder}); wait for it to finish "
                      f"or stop it") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def run_nbgrader(course: Course, args: list[str], *, log_name: str, timeout: float | None = None,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``python -m nbgrader ARGS`` in the course directory, its output kept in ``.kk/logs/LOG_NAME``.

    Args:
        course: the course.
        args: nbgrader's arguments, e.g. ``["generate_assignment", "01-pods", "--force"]``.
        log_name: file name of the log under ``.kk/logs/``.
        timeout: seconds before the command is killed.
        check: raise on a non-zero exit.

    Raises:
        KKError: nbgrader failed (with its error lines and the log's path).
    """
    log = course.state_dir / "logs" / log_name
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "nbgrader", *args]
    try:
        proc = subprocess.run(cmd, cwd=course.root, env=tool_env(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise KKError(f"nbgrader {args[0]} did not finish within {timeout:.0f} s") from err
    log.write_text(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if check and proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "ERROR" in line][-3:]
        raise KKError(f"nbgrader {args[0]} failed: " + (" | ".join(errors) or f"exit {proc.returncode}")
                      + f" — see {log}")
    return proc


def load_roster(path: Path) -> list[Student]:
    """Read a roster CSV with a header row ``id,first_name,last_name,email`` (only ``id`` is required).

    Raises:
        KKError: the file is missing, has no ``id`` column, or repeats an id.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as err:
        raise KKError(f"cannot read the roster {path}: {err.strerror or err}") from err
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "id" not in fields:
        raise KKError(f"{path} needs a header row id,first_name,last_name,email (found: {', '.join(fields) or 'none'})")
    students: list[Student] = []
    seen: set[str] = set()
    for row in reader:
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        sid = clean.get("id", "")
        if not sid:
            continue
        if sid in seen:
            raise KKError(f"{path} lists student {sid!r} twice — keep one row per student")
        seen.add(sid)
        students.append(Student(sid, clean.get("first_name", ""), clean.get("last_name", ""), clean.get("email", "")))
    return students


def import_roster(course: Course, students: list[Student]) -> list[str]:
    """Add or update ``students`` in the gradebook; returns their ids."""
    with course.gradebook() as gb:
        for s in students:
            gb.update_or_create_student(s.id, first_name=s.first_name or None, last_name=s.last_name or None,
                                        email=s.email or None)
    return [s.id for s in students]


def ensure_students(course: Course, student_ids: list[str]) -> list[str]:
    """Add students the gradebook lacks (no names); returns the ids that were new."""
    from nbgrader.api import MissingEntry

    new = []
    with course.gradebook() as gb:
        for sid in student_ids:
            try:
                gb.find_student(sid)
            except MissingEntry:
                gb.add_student(sid)
                new.append(sid)
    return new


def _grade_cells(notebook: Path) -> int:
    """How many nbgrader grade cells a notebook has (0 when it cannot be read)."""
    try:
        nb = json.loads(notebook.read_text())
    except (OSError, ValueError):
        return 0
    return sum(1 for c in nb.get("cells", []) if (c.get("metadata", {}).get("nbgrader") or {}).get("grade"))


def init_course(root: Path, solutions: Path, *, course_id: str = DEFAULT_COURSE_ID, roster: Path | None = None,
                cell_timeout: int = DEFAULT_CELL_TIMEOUT, force: bool = False) -> InitResult:
    """Create (or refresh) an nbgrader course from instructor notebooks.

    Each ``solutions/<lab>.ipynb`` becomes assignment ``<lab>`` with source ``source/<lab>/<lab>.ipynb``; a folder
    ``solutions/<lab>/`` next to it, if any, is copied along (data files the lab reads). Running it again
    refreshes the sources and keeps the gradebook.

    Args:
        root: course directory (created if missing).
        solutions: folder of nbgrader-source notebooks.
        course_id: nbgrader course id.
        roster: optional roster CSV to import.
        cell_timeout: ``Execute.timeout`` written into the config.
        force: rewrite ``nbgrader_config.py`` even if it exists.

    Raises:
        KKError: no notebooks in ``solutions``, or an unreadable roster.
    """
    solutions = Path(solutions).expanduser().resolve()
    labs = sorted(p for p in solutions.glob("*.ipynb") if not p.name.startswith((".", "_")))
    if not labs:
        raise KKError(f"there are no notebooks in {solutions} — pass the instructor notebooks with --solutions")
    students = load_roster(roster) if roster else []
    root = Path(root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    course = Course(root, course_id)
    result = InitResult(course)
    if force or not course.config_path.exists():
        course.config_path.write_text(CONFIG_TEMPLATE.format(course_id=course_id, cell_timeout=int(cell_timeout)))
    course.state_dir.mkdir(exist_ok=True)
    (course.state_dir / "course.json").write_text(json.dumps({"course_id": course_id,
                                                              "solutions": str(solutions)}, indent=2) + "\n")
    for nb in labs:
        lab = nb.stem
        dest = course.directory("source") / lab
        dest.mkdir(parents=True, exist_ok=True)
        extra = solutions / lab
        if extra.is_dir():
            shutil.copytree(extra, dest, dirs_exist_ok=True)
        shutil.copyfile(nb, dest / f"{lab}.ipynb")
        if _grade_cells(nb) == 0:
            result.warnings.append(f"{nb.name} has no nbgrader grade cells: nothing in it will be scored")
        result.labs.append(lab)
    with course.gradebook() as gb:
        for lab in result.labs:
            gb.update_or_create_assignment(lab)
    if students:
        result.students = import_roster(course, students)
    return result


def release(course: Course, assignments: list[str] | None = None) -> list[Path]:
    """``nbgrader generate_assignment`` for each assignment: student versions in ``release/``.

    Args:
        course: the course.
        assignments: which; default all.

    Returns:
        The released notebooks.

    Raises:
        KKError: an unknown assignment, or nbgrader failed (e.g. malformed solution regions).
    """
    known = course.assignments()
    wanted = assignments or known
    unknown = [a for a in wanted if a not in known]
    if unknown:
        raise KKError(f"unknown assignment(s) {', '.join(unknown)} — the course has: {', '.join(known) or 'none'}")
    out: list[Path] = []
    for name in wanted:
        run_nbgrader(course, ["generate_assignment", name, "--force"], log_name=f"release-{name}.log")
        out.extend(sorted((course.directory("release") / name).glob("*.ipynb")))
    return out
