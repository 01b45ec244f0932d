"""Build the labs: instructor notebooks from their sources, student notebooks from the instructor notebooks.

The pipeline, top to bottom (``kk labs build``):

1. :func:`render_sources` — each ``solutions/_source/<lab>.md`` becomes ``solutions/<lab>.ipynb``, an
   instructor notebook in nbgrader's source format (solution regions, hidden tests, cell metadata). The
   ``.ipynb`` files are what nbgrader reads and what instructors grade from; the Markdown sources exist so
   that a lab can be read and reviewed as text.
2. :func:`generate_student` — ``nbgrader generate_assignment`` in a temporary course directory
   (``source/<lab>/<lab>.ipynb`` -> ``release/<lab>/<lab>.ipynb``, run as a subprocess: nbgrader's apps are
   process-wide singletons), then each release notebook is copied to ``labs/<lab>.ipynb``.
3. :func:`problems` (``kk labs check``) — both steps again in a temporary directory, compared with what is
   committed, plus the leak checks of :func:`leaks` (no solution, no hidden test, no output in ``labs/``).

Source format (a lab is Markdown, so it reads well on its own)
    * Markdown text becomes read-only (locked) instruction cells; a line ``+++`` starts a new cell.
    * ``+++ answer id=<grade_id> points=<n>`` starts a manually graded Markdown answer (its text between
      ``BEGIN SOLUTION``/``END SOLUTION`` lines is the model answer nbgrader replaces).
    * A fence opened with `````python`` is a code cell; a word after ``python`` says which kind:

      - nothing: an ordinary cell the learner may change (explore, re-run);
      - ``locked``: read-only code (setup, demonstrations that must run as written);
      - ``answer id=<grade_id>``: an autograded answer (``### BEGIN SOLUTION`` / ``### END SOLUTION``);
      - ``test id=<grade_id>``: an autograder test (``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``).

      Other fences (`````py``, `````yaml``, `````console``...) stay inside the Markdown: use `````py`` to show
      Python that should not become a cell.

Points: one source of truth
    A lab with checks (``kk_helpers/checks/labNN.py``) grades each task in exactly one test cell, whose hidden
    tests call ``kk.checks.require(lab, "<task>")`` (all or nothing) or, for a task declared ``partial=True``,
    ``kk.checks.grade(lab, "<task>")`` (partial credit). The cell's nbgrader points are the task's declared
    points — what ``lab.check()`` and the CheckPanel show — so a test cell needs no ``points=``; one that
    gives them must agree with the check. A test cell that grades no check, and every test cell of a lab
    without checks, gives ``points=<n>``. :func:`check_points` enforces all of this.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import KKError

if TYPE_CHECKING:
    from .checks.base import LabChecks

#: Folder (inside the solutions folder) holding the Markdown sources of the labs.
SOURCE_DIR = "_source"
#: nbgrader course configuration kept next to the instructor notebooks.
CONFIG_NAME = "nbgrader_config.py"
#: Seconds ``nbgrader generate_assignment`` may take for all labs together.
GENERATE_TIMEOUT = 300
#: Cell kinds of the source format.
CODE_KINDS = ("plain", "locked", "answer", "test")
#: Strings that must never reach a student notebook.
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

_FENCE = re.compile(r"^```python(?:\s+(?P<rest>.*))?\s*$")
_ANSWER_MD = re.compile(r"^\+\+\+\s*(?P<rest>.*)$")
#: A check graded in a hidden test: ``kk.checks.require(lab, "task", ...)`` or ``kk.checks.grade(lab, "task", ...)``.
_CHECK_CALL = re.compile(r"kk\.checks\.(?P<how>require|grade)\(\s*lab\s*,\s*[\"'](?P<task>[^\"']+)[\"']"
                         r"(?P<args>[^)]*)\)")
_OUT_OF = re.compile(r"\bout_of\s*=\s*(?P<value>[0-9.]+)")


@dataclass
class CellSpec:
    """One cell of a lab source.

    Attributes:
        cell_type: ``markdown`` or ``code``.
        kind: ``plain``, ``locked``, ``answer`` or ``test`` (Markdown: ``locked`` or ``answer``).
        source: the cell's text.
        grade_id: nbgrader's cell id (generated for read-only cells).
        points: points of a test or a manually graded answer.
        line: line of the source file the cell starts on (for error messages).
    """

    cell_type: str
    kind: str
    source: str
    grade_id: str = ""
    points: float | None = None
    line: int = 0


@dataclass
class BuildResult:
    """What a build wrote.

    Attributes:
        solutions: instructor notebooks written (or already current).
        labs: student notebooks written (or already current).
        changed: files whose content changed.
    """

    solutions: list[Path] = field(default_factory=list)
    labs: list[Path] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- sources

def _attributes(text: str, where: str) -> tuple[str, dict[str, str]]:
    """``"test id=x points=2"`` -> ``("test", {"id": "x", "points": "2"})``."""
    words = shlex.split(text or "")
    kind = "plain"
    attrs: dict[str, str] = {}
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            attrs[key] = value
        elif kind == "plain":
            kind = word
        else:
            raise KKError(f"{where}: unexpected word {word!r} (write kind key=value ...)")
    return kind, attrs


def _points(attrs: dict[str, str], where: str) -> float:
    try:
        value = float(attrs["points"])
    except (KeyError, ValueError) as err:
        raise KKError(f"{where}: give the cell its points, e.g. points=2") from err
    if value <= 0:
        raise KKError(f"{where}: points must be more than 0")
    return value


def parse_source(text: str, name: str = "lab", checks: LabChecks | None = None) -> list[CellSpec]:
    """Split a lab source into cells (see the module docstring for the format).

    Args:
        text: the Markdown source.
        name: its file name, for error messages.
        checks: the lab's checks: test cells that grade a check get its points (see :func:`check_points`).

    Raises:
        KKError: an unknown cell kind, a missing id or points, an unclosed fence, points that disagree with
            the checks.
    """
    cells: list[CellSpec] = []
    md_lines: list[str] = []
    md_kind, md_attrs, md_start = "locked", {}, 1

    def flush_markdown() -> None:
        body = "\n".join(md_lines).strip("\n")
        if body.strip():
            where = f"{name}:{md_start}"
            if md_kind == "answer":
                cells.append(CellSpec("markdown", "answer", body, md_attrs.get("id", ""), _points(md_attrs, where),
                                      md_start))
            else:
                cells.append(CellSpec("markdown", "locked", body, line=md_start))
        md_lines.clear()

    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        brk = _ANSWER_MD.match(line)
        if fence:
            flush_markdown()
            where = f"{name}:{i + 1}"
            kind, attrs = _attributes(fence.group("rest") or "", where)
            if kind not in CODE_KINDS:
                raise KKError(f"{where}: unknown cell kind {kind!r}; use one of {', '.join(CODE_KINDS)}")
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise KKError(f"{where}: the code cell is never closed with ```")
            points = _points(attrs, where) if kind == "test" and "points" in attrs else None
            cells.append(CellSpec("code", kind, "\n".join(body).strip("\n"), attrs.get("id", ""), points, i + 1))
            md_kind, md_attrs, md_start = "locked", {}, i + 2
        elif brk:
            flush_markdown()
            where = f"{name}:{i + 1}"
            kind, attrs = _attributes(brk.group("rest"), where)
            if kind not in ("plain", "answer"):
                raise KKError(f"{where}: after +++ write nothing or 'answer id=... points=...'")
            md_kind, md_attrs, md_start = ("answer" if kind == "answer" else "locked"), attrs, i + 2
        else:
            md_lines.append(line)
        i += 1
    flush_markdown()
    _assign_ids(cells, name)
    check_points(cells, name, checks)
    return cells


def graded_checks(source: str) -> list[tuple[str, str, float | None]]:
    """The checks a test cell's hidden tests grade: ``(task, "require" or "grade", out_of or None)`` per call."""
    hidden = source.partition("### BEGIN HIDDEN TESTS")[2].partition("### END HIDDEN TESTS")[0]
    found = []
    for m in _CHECK_CALL.finditer(hidden):
        out_of = _OUT_OF.search(m.group("args"))
        found.append((m.group("task"), m.group("how"), float(out_of.group("value")) if out_of else None))
    return found


def check_points(cells: list[CellSpec], name: str, checks: LabChecks | None) -> None:
    """Give every test cell its points from the check it grades, and refuse what would make them disagree.

    With ``checks``: each test cell grades exactly one task of the lab, each task is graded by exactly one
    cell, a ``partial=True`` task through ``kk.checks.grade`` and any other through ``kk.checks.require``;
    a ``points=`` or ``out_of=`` written in the source must equal the task's points. Without: every test
    cell gives ``points=``.

    Raises:
        KKError: naming the line of the source and the fix.
    """
    graded_by: dict[str, CellSpec] = {}
    for cell in cells:
        if cell.kind != "test":
            continue
        where = f"{name}:{cell.line}"
        calls = graded_checks(cell.source) if checks is not None else []
        if checks is None or not calls:
            if checks is not None:
                raise KKError(f"{where}: test cell {cell.grade_id} grades no check: its hidden tests must call "
                              f"kk.checks.require(lab, \"<task>\") for one task of lab {checks.number} "
                              f"({', '.join(checks.tasks)})")
            if cell.points is None:
                raise KKError(f"{where}: give the cell its points, e.g. points=2")
            continue
        tasks = sorted({task for task, _, _ in calls})
        if len(tasks) > 1:
            raise KKError(f"{where}: test cell {cell.grade_id} grades {', '.join(tasks)}: grade one check per test "
                          f"cell (its points are that check's)")
        try:
            task = checks.lookup(tasks[0])
        except KKError as err:
            raise KKError(f"{where}: {err}") from err
        if task.name in graded_by:
            raise KKError(f"{where}: check {task.name!r} is already graded by {graded_by[task.name].grade_id}; "
                          f"grade each check in one test cell (add a task to kk_helpers/checks/lab{checks.number}.py)")
        graded_by[task.name] = cell
        want = "grade" if task.partial else "require"
        for _, how, out_of in calls:
            if how != want:
                kind = "gives partial credit" if task.partial else "is all or nothing"
                raise KKError(f"{where}: check {task.name!r} {kind}: grade it with "
                              f"kk.checks.{want}(lab, \"{task.name}\")")
            if out_of is not None and out_of != task.points:
                raise KKError(f"{where}: out_of={out_of:g} but check {task.name!r} is worth {task.points:g} points "
                              f"(kk_helpers/checks/lab{checks.number}.py): drop out_of=")
        if cell.points is not None and cell.points != task.points:
            raise KKError(f"{where}: points={cell.points:g} but check {task.name!r} is worth {task.points:g} "
                          f"points (kk_helpers/checks/lab{checks.number}.py): drop points= from the cell, or "
                          f"change the check's points")
        cell.points = task.points
    if checks is not None:
        never = [t for t in checks.tasks if t not in graded_by]
        if never:
            raise KKError(f"{name}: check(s) {', '.join(never)} of lab {checks.number} are graded by no test cell; "
                          f"lab.check() would count points nbgrader never gives")


def _assign_ids(cells: list[CellSpec], name: str) -> None:
    seen: set[str] = set()
    counters: dict[str, int] = {}
    for cell in cells:
        if cell.kind in ("answer", "test"):
            if not cell.grade_id:
                raise KKError(f"{name}:{cell.line}: a {cell.kind} cell needs an id, e.g. id=scale-up")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,60}", cell.grade_id):
                raise KKError(f"{name}:{cell.line}: id {cell.grade_id!r} may only use letters, digits, - and _")
        elif cell.kind != "plain":
            prefix = "md" if cell.cell_type == "markdown" else "code"
            counters[prefix] = counters.get(prefix, 0) + 1
            cell.grade_id = f"{prefix}-{counters[prefix]:02d}"
        if cell.grade_id:
            if cell.grade_id in seen:
                raise KKError(f"{name}:{cell.line}: id {cell.grade_id!r} is used twice")
            seen.add(cell.grade_id)


def to_notebook(cells: Iterable[CellSpec]) -> Any:
    """An nbformat 4.5 notebook (nbgrader source format) from parsed cells."""
    import nbformat

    out = []
    plain = 0
    for cell in cells:
        if cell.cell_type == "markdown":
            nb_cell = nbformat.v4.new_markdown_cell(cell.source)
        else:
            nb_cell = nbformat.v4.new_code_cell(cell.source)
        if cell.kind == "plain":
            plain += 1
            nb_cell.id = f"cell-{plain:02d}"
        else:
            meta: dict[str, Any] = {"grade": cell.kind == "test" or (cell.cell_type == "markdown" and
                                                                     cell.kind == "answer"),
                                    "grade_id": cell.grade_id, "locked": cell.kind in ("locked", "test"),
                                    "schema_version": 3, "solution": cell.kind == "answer"}
            if cell.points is not None:
                meta["points"] = int(cell.points) if float(cell.points).is_integer() else cell.points
            nb_cell.metadata["nbgrader"] = meta
            nb_cell.id = cell.grade_id
        out.append(nb_cell)
    nb = nbformat.v4.new_notebook(cells=out)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.nbformat_minor = 5
    return nb


def notebook_text(nb: Any) -> str:
    """The notebook as the JSON text written to disk (nbformat's layout, newline at the end)."""
    import nbformat

    return nbformat.writes(nb) + "\n"


def _write_if_changed(path: Path, text: str, result: BuildResult) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        result.changed.append(path)


def source_files(solutions: Path, only: Iterable[str] | None = None) -> list[Path]:
    """The lab sources ``solutions/_source/*.md`` (or only the named labs)."""
    files = sorted((solutions / SOURCE_DIR).glob("*.md"))
    wanted = set(only or ())
    if wanted:
        files = [f for f in files if f.stem in wanted]
        missing = wanted - {f.stem for f in files}
        if missing:
            raise KKError(f"no lab source for {', '.join(sorted(missing))} in {solutions / SOURCE_DIR}")
    return files


def lab_checks(lab: str) -> LabChecks | None:
    """The checks of a lab (``05-nodeport`` -> ``kk_helpers/checks/lab05.py``), None when it has none."""
    from .checks.base import checks_for

    return checks_for(lab)


def render_source(path: Path) -> Any:
    """The instructor notebook of one lab source file (test cells get their points from the lab's checks)."""
    return to_notebook(parse_source(path.read_text(encoding="utf-8"), path.name, lab_checks(path.stem)))


def render_sources(solutions: Path, *, only: Iterable[str] | None = None,
                   result: BuildResult | None = None) -> BuildResult:
    """Write ``solutions/<lab>.ipynb`` for every source (files left alone when already current)."""
    result = result or BuildResult()
    files = source_files(solutions, only)
    if not files:
        raise KKError(f"there are no lab sources in {solutions / SOURCE_DIR}")
    for src in files:
        dest = solutions / f"{src.stem}.ipynb"
        _write_if_changed(dest, notebook_text(render_source(src)), result)
        result.solutions.append(dest)
    return result


# --------------------------------------------------------------------------------------------- nbgrader

def tool_env() -> dict[str, str]:
    """The environment for nbgrader: this Python's ``bin/`` first on ``PATH`` (nbgrader and alembic)."""
    env = dict(os.environ)
    first = str(Path(sys.executable).parent)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != first]
    env["PATH"] = os.pathsep.join([first, *parts])
    return env


def _config(solutions: Path) -> Path:
    config = solutions / CONFIG_NAME
    if not config.exists():
        raise KKError(f"{config} is missing: the labs' nbgrader configuration lives there (run kk labs commands "
                      f"from the repository root, or pass --solutions)")
    return config


def make_course(root: Path, solutions: Path, notebooks: Iterable[Path]) -> Path:
    """Lay out an nbgrader course in ``root``: the course config and ``source/<lab>/<lab>.ipynb``."""
    config = _config(solutions)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, root / CONFIG_NAME)
    for nb in notebooks:
        dest = root / "source" / nb.stem / nb.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(nb, dest)
    return root


def run_nbgrader(course: Path, *args: str, timeout: float = GENERATE_TIMEOUT,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader <args>`` in a course directory.

    Raises:
        KKError: it failed or timed out; the message carries the end of its log.
    """
    cmd = [sys.executable, "-m", "nbgrader", *args]
    try:
        proc = subprocess.run(cmd, cwd=course, env=env or tool_env(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise KKError(f"nbgrader {args[0]} did not finish within {timeout:.0f} s") from err
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise KKError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
    return proc


def generate_student(solutions: Path, out: Path, *, only: Iterable[str] | None = None,
                     workdir: Path | None = None, result: BuildResult | None = None) -> BuildResult:
    """Student notebooks ``out/<lab>.ipynb`` from ``solutions/<lab>.ipynb`` through nbgrader.

    Args:
        solutions: folder of instructor notebooks (and the course config).
        out: where the student notebooks go (``labs/``).
        only: lab names to build (default: every notebook in ``solutions``).
        workdir: where to make the temporary course (default: a fresh temporary directory).
        result: a result to add to.
    """
    import nbformat

    result = result or BuildResult()
    notebooks = sorted(p for p in solutions.glob("*.ipynb") if not p.name.startswith((".", "_")))
    if only:
        wanted = set(only)
        notebooks = [p for p in notebooks if p.stem in wanted]
    if not notebooks:
        raise KKError(f"there are no instructor notebooks in {solutions}; run: kk labs build")
    with tempfile.TemporaryDirectory(prefix="kk-labs-", dir=workdir) as tmp:
        course = make_course(Path(tmp) / "course", solutions, notebooks)
        run_nbgrader(course, "generate_assignment", "--no-db", "--force", "*")
        for nb_path in notebooks:
            released = course / "release" / nb_path.stem / nb_path.name
            if not released.exists():
                raise KKError(f"nbgrader did not release {nb_path.stem}; run nbgrader generate_assignment by "
                              f"hand in a course directory to see why")
            nb = nbformat.read(released, as_version=4)
            found = leaks(nb)
            if found:
                raise KKError(f"{nb_path.stem}: the student notebook would leak: {'; '.join(found)}")
            dest = out / nb_path.name
            _write_if_changed(dest, notebook_text(nb), result)
            result.labs.append(dest)
    return result


def build(solutions: Path, labs: Path, *, only: Iterable[str] | None = None) -> BuildResult:
    """``kk labs build``: sources -> instructor notebooks -> student notebooks."""
    only = list(only or ())
    result = render_sources(solutions, only=only or None)
    return generate_student(solutions, labs, only=only or None, result=result)


# --------------------------------------------------------------------------------------------- checks

def leaks(nb: Any) -> list[str]:
    """What a student notebook must not contain: solution or hidden-test markers, outputs, execution counts."""
    found: list[str] = []
    for i, cell in enumerate(nb.cells):
        label = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") or f"cell {i}"
        for marker in LEAK_MARKERS:
            if marker in cell.source:
                found.append(f"{label} contains {marker}")
        if cell.cell_type == "code":
            if cell.get("outputs"):
                found.append(f"{label} has outputs")
            if cell.get("execution_count") is not None:
                found.append(f"{label} has an execution count")
    return found


def comparable(nb: Any) -> list[tuple[str, str, str]]:
    """A notebook reduced to what matters for staleness: (cell type, source, nbgrader metadata) per cell.

    Cell ids and nbgrader checksums are left out: they may change without the lab changing.
    """
    out = []
    for cell in nb.cells:
        meta = dict(cell.get("metadata", {}).get("nbgrader") or {})
        meta.pop("checksum", None)
        out.append((cell.cell_type, cell.source, json.dumps(meta, sort_keys=True)))
    return out


def _differs(a: Path, b: Path) -> bool:
    import nbformat

    if not a.exists() or not b.exists():
        return True
    return comparable(nbformat.read(a, as_version=4)) != comparable(nbformat.read(b, as_version=4))


def problems(solutions: Path, labs: Path, *, workdir: Path | None = None) -> list[str]:
    """``kk labs check``: everything wrong with the committed notebooks (empty when all is well).

    Rebuilds both steps in a temporary directory and compares cell sources and nbgrader metadata; checks
    ``labs/`` for leaks and stray notebooks.
    """
    import nbformat

    found: list[str] = []
    config = _config(solutions)
    with tempfile.TemporaryDirectory(prefix="kk-labs-check-", dir=workdir) as tmp:
        fresh_solutions = Path(tmp) / "solutions"
        fresh_solutions.mkdir()
        shutil.copy(config, fresh_solutions / CONFIG_NAME)
        for src in source_files(solutions):
            nb = render_source(src)
            (fresh_solutions / f"{src.stem}.ipynb").write_text(notebook_text(nb), encoding="utf-8")
            if _differs(fresh_solutions / f"{src.stem}.ipynb", solutions / f"{src.stem}.ipynb"):
                found.append(f"solutions/{src.stem}.ipynb is stale (its source {SOURCE_DIR}/{src.name} changed): "
                             f"run kk labs build")
        fresh_labs = Path(tmp) / "labs"
        generate_student(solutions, fresh_labs, workdir=Path(tmp))
        names = {p.name for p in fresh_labs.glob("*.ipynb")}
        for name in sorted(names):
            if _differs(fresh_labs / name, labs / name):
                found.append(f"labs/{name} is stale or missing: run kk labs build")
        for path in sorted(labs.glob("*.ipynb")):
            if path.name not in names:
                found.append(f"labs/{path.name} has no instructor notebook in {solutions}")
                continue
            for leak in leaks(nbformat.read(path, as_version=4)):
                found.append(f"labs/{path.name}: {leak}")
    return found


__all__ = ["BuildResult", "CellSpec", "build", "check_points", "comparable", "generate_student", "graded_checks",
           "lab_checks", "leaks", "parse_source", "problems", "render_source", "render_sources", "run_nbgrader",
           "to_notebook"]
