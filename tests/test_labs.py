"""The lab notebooks: committed and current, graded by nbgrader the way an instructor grades them.

Without a cluster: every lab source renders to the committed instructor notebook, ``labs/`` is what
``kk labs build`` makes from it and leaks no solution, hidden test or output, every graded test calls a check
of its lab, and every check of a lab is graded.

Against fresh sandboxes (marked slow): each lab gets an nbgrader course in a temporary directory, and
``nbgrader autograde`` grades three kinds of submission — the instructor notebook itself (no error, full
marks), the committed student notebook unsolved (0 on every graded cell; the only errors are
NotImplementedError in answer cells and AssertionError in test cells), and partly solved notebooks (lab 03
with only the scale-up solved, lab 05 with traffic reaching a single pod: partial credit). Labs run in parallel,
each in its own namespace on one shared sandbox; lab 04 stops a node, so it has a sandbox of its own. Each
kernel gets ``KK_CONTEXT=kk-sandbox``, the sandbox's kubeconfig, its own ``HOME`` and ``KK_STATIC=1``. Only
the labs the selected tests name are graded: ``-k 05-nodeport`` runs one lab.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from kk_helpers import labs_build as lb
from kk_helpers.checks.base import checks_for

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LABS = ROOT / "labs"
BIN = Path(sys.executable).parent
LAB_NAMES = sorted(p.stem for p in (SOLUTIONS / lb.SOURCE_DIR).glob("*.md"))
#: Labs that get a sandbox of their own (they change the whole cluster).
OWN_SANDBOX = {"04-self-healing"}
#: Labs that take longest (started first).
LONGEST = {"04-self-healing", "06-rollouts"}
#: Labs run at once on the shared sandbox (2 cores: the kernels, kubectl and the sandbox share them).
PARALLEL = 4
#: Seconds one `nbgrader autograde` of one submission may take.
AUTOGRADE_TIMEOUT = 300
#: What a solved lab may take on the fast sandbox (the issue asks for under 2 minutes).
LAB_BUDGET = 120.0

_CHECK_CALL = re.compile(r"kk\.checks\.(require|grade)\(lab, \"([a-z-]+)\"")


def grade_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The autograder test cells of a notebook."""
    return [c for c in nb.cells if c.cell_type == "code" and (c.metadata.get("nbgrader") or {}).get("grade")]


def grade_id(cell: nbformat.NotebookNode) -> str:
    return str((cell.metadata.get("nbgrader") or {}).get("grade_id", ""))


def solution(name: str) -> nbformat.NotebookNode:
    """The committed instructor notebook of a lab."""
    return nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)


# --------------------------------------------------------------------------------------------- no cluster

def test_every_lab_is_there() -> None:
    """Are the ten labs there, each as source, instructor notebook and student notebook?"""
    assert LAB_NAMES == ["00-environment", "01-pods", "02-deployments", "03-scaling", "04-self-healing",
                         "05-nodeport", "06-rollouts", "07-declarative", "08-batch", "09-portability"]
    for name in LAB_NAMES:
        assert (SOLUTIONS / f"{name}.ipynb").exists() and (LABS / f"{name}.ipynb").exists()


@pytest.mark.parametrize("name", LAB_NAMES)
def test_solution_notebook_is_current(name: str) -> None:
    """Is solutions/<lab>.ipynb exactly what its Markdown source renders to?"""
    rendered = lb.render_source(SOLUTIONS / lb.SOURCE_DIR / f"{name}.md")
    committed = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    assert lb.comparable(committed) == lb.comparable(rendered), f"solutions/{name}.ipynb is stale: run kk labs build"


@pytest.mark.slow
def test_student_notebooks_are_current_and_clean() -> None:
    """Is labs/ what nbgrader makes from solutions/ today, without solutions, hidden tests or outputs?"""
    assert lb.problems(SOLUTIONS, LABS) == []


@pytest.mark.parametrize("name", LAB_NAMES)
def test_graded_cells_use_the_lab_checks(name: str) -> None:
    """Does every test cell grade with a check of its own lab, is every check graded, and is every answer stubbed?"""
    nb = solution(name)
    spec = checks_for(name)
    assert spec is not None
    used: set[str] = set()
    for cell in grade_cells(nb):
        hidden = cell.source.partition("### BEGIN HIDDEN TESTS")[2]
        assert hidden, f"{grade_id(cell)} has no hidden tests"
        calls = _CHECK_CALL.findall(hidden)
        assert calls, f"{grade_id(cell)} calls no kk.checks.require/grade"
        for _, task in calls:
            assert task in spec.tasks, f"{grade_id(cell)} uses {task!r}, not a check of lab {spec.number}"
            used.add(task)
    assert used == set(spec.tasks), f"checks never graded: {sorted(set(spec.tasks) - used)}"
    student = nbformat.read(LABS / f"{name}.ipynb", as_version=4)
    for cell in student.cells:
        meta = cell.metadata.get("nbgrader") or {}
        if meta.get("solution") and cell.cell_type == "code":
            assert cell.source.endswith("# YOUR CODE HERE\nraise NotImplementedError()"), grade_id(cell)
    setup = next(c for c in student.cells if c.cell_type == "code")
    assert f'kk.lab("{name}")' in setup.source and (setup.metadata.get("nbgrader") or {}).get("locked")


@pytest.mark.parametrize("name", LAB_NAMES)
def test_every_lab_has_its_parts(name: str) -> None:
    """Does every lab state its goals, use kubectl and the Python client, show a widget or drawing, and clean up?"""
    nb = solution(name)
    text = "\n".join(c.source for c in nb.cells)
    assert "**Goals**" in nb.cells[0].source
    assert "!kubectl " in text
    assert re.search(r"lab\.(cluster|core|apps|batch)\.|client\.[A-Z]\w*Api\(", text)  # the official client
    assert re.search(r"kk\.(ClusterView|ScaleSlider|ChaosButton|TrafficProbe|RolloutView|CheckPanel|tree)\(", text)
    assert "lab.check(" in text
    assert "## Cleanup" in text and "delete namespace" in nb.cells[-1].source


def test_course_config() -> None:
    """Does the nbgrader config give cells time for cluster waits, run python3, and stub answers as nbgrader does?"""
    from traitlets.config import PyFileConfigLoader

    cfg = PyFileConfigLoader(lb.CONFIG_NAME, path=str(SOLUTIONS)).load_config()
    assert cfg.Execute.timeout >= 180
    assert cfg.Execute.kernel_name == "python3"
    assert cfg.ClearSolutions.code_stub["python"] == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert cfg.CourseDirectory.root == str(SOLUTIONS)


# --------------------------------------------------------------------------------------------- autograding

@dataclass
class Sandbox:
    """A sandbox daemon started with `kk up` under its own KK_HOME and KUBECONFIG."""

    home: Path

    @property
    def kubeconfig(self) -> Path:
        return self.home / "kubeconfig"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("KK_", "JUPYTER", "PYTEST", "COV_")) and k != "KUBECONFIG"}
        env.update(KK_HOME=str(self.home), KUBECONFIG=str(self.kubeconfig),
                   PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]))
        return env

    def up(self) -> Sandbox:
        proc = subprocess.run([str(BIN / "kk"), "up", "--backend", "sandbox", "--mode", "fast"], env=self.env(),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return self

    def down(self) -> None:
        subprocess.run([str(BIN / "kk"), "down", "--backend", "sandbox"], env=self.env(), capture_output=True,
                       timeout=60)


@dataclass
class Graded:
    """One autograded submission.

    Attributes:
        lab: the lab.
        student: which submission (``solved``, ``unsolved``, ``partial``).
        scores: grade_id -> (score, max score) from the gradebook (score None: needs manual grading).
        notebook: the autograded notebook, outputs included (None when nbgrader failed).
        runtime: seconds from the first cell's start to the last cell's end, from the cells' timing metadata.
        log: the end of nbgrader's output.
    """

    lab: str
    student: str
    scores: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    notebook: nbformat.NotebookNode | None = None
    runtime: float = 0.0
    log: str = ""

    @property
    def auto(self) -> tuple[float, float]:
        """(score, max) over the autograded cells (tests)."""
        assert self.notebook is not None
        tests = {grade_id(c) for c in grade_cells(self.notebook)}
        got = sum(s or 0.0 for gid, (s, _) in self.scores.items() if gid in tests)
        return got, sum(m for gid, (_, m) in self.scores.items() if gid in tests)

    def errors(self) -> list[tuple[str, str, str]]:
        """(cell, kind, error name) for every error output: kind is answer, test or other."""
        assert self.notebook is not None
        out = []
        for i, cell in enumerate(self.notebook.cells):
            meta = cell.metadata.get("nbgrader") or {}
            kind = "test" if meta.get("grade") and cell.cell_type == "code" else (
                "answer" if meta.get("solution") else "other")
            for o in cell.get("outputs", []):
                if o.output_type == "error":
                    out.append((meta.get("grade_id") or f"cell {i}", kind, o.ename))
        return out

    def stderr(self) -> list[tuple[str, str]]:
        """(cell, text) of every stderr output."""
        assert self.notebook is not None
        return [(grade_id(c) or f"cell {i}", o.text) for i, c in enumerate(self.notebook.cells)
                for o in c.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]


def _answer_code(cell_source: str) -> str:
    """The code of an answer cell with its solution markers removed."""
    return "\n".join(line for line in cell_source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line)


def solve(name: str, answers: dict[str, str | None]) -> nbformat.NotebookNode:
    """The committed student notebook with some answer cells filled: the model answer (None) or given code."""
    student = nbformat.read(LABS / f"{name}.ipynb", as_version=4)
    model = {grade_id(c): c.source for c in solution(name).cells}
    for cell in student.cells:
        gid = grade_id(cell)
        if gid in answers:
            code = answers[gid]
            cell.source = _answer_code(model[gid]) if code is None else code
    return student


#: Partly solved submissions: lab -> (answers, expected autograded score).
PARTIAL: dict[str, tuple[dict[str, str | None], float]] = {
    # Only task 1 (scale up to 4): 4 of 10 points; the spread and scale-down tests give nothing.
    "03-scaling": ({"scale-up": None}, 4.0),
    # Everything, but the probe runs with a single replica: the traffic test gives 1 of its 3 points
    # (every request answered, but only one pod answered them).
    "05-nodeport": ({"expose": None, "url": None, "traffic": (
        "!kubectl scale deployment myd1 --replicas=1\n"
        "kk.wait_for('deployment/myd1 ready')\n"
        "probe = kk.TrafficProbe('myd1', n=20)\n"
        "probe.run()")}, 7.0),
}


def _runtime(nb: nbformat.NotebookNode) -> float:
    starts, ends = [], []
    for cell in nb.cells:
        timing = (cell.get("metadata") or {}).get("execution") or {}
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            starts.append(datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00")))
            ends.append(datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00")))
    return (max(ends) - min(starts)).total_seconds() if starts else 0.0


def _gradebook_scores(course: Path, lab: str, students: list[str]) -> dict[str, dict[str, tuple[float | None, float]]]:
    """Scores per student and grade cell, from nbgrader's gradebook through nbgrader's API."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's warnings about nbgrader's models are not ours to fix
        from nbgrader.api import Gradebook, MissingEntry

        out: dict[str, dict[str, tuple[float | None, float]]] = {}
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="kk") as gb:
            for student in students:
                try:
                    nb = gb.find_submission_notebook(lab, lab, student)
                except MissingEntry:
                    continue
                out[student] = {g.name: (None if g.needs_manual_grade else g.score, g.max_score) for g in nb.grades}
    return out


def release_all(root: Path, env: dict[str, str]) -> Path:
    """One nbgrader course with every lab released: its gradebook knows every assignment and its cells."""
    course = lb.make_course(root / "release", SOLUTIONS, [SOLUTIONS / f"{lab}.ipynb" for lab in LAB_NAMES])
    lb.run_nbgrader(course, "generate_assignment", "*", "--force", env=env)
    return course


def autograde_lab(lab: str, submissions: dict[str, nbformat.NotebookNode], sandbox: Sandbox, released: Path,
                  root: Path) -> list[Graded]:
    """A copy of the released course for one lab, its submissions autograded by one `nbgrader autograde`.

    nbgrader grades the submissions one after the other, each in a fresh kernel; kk.lab() recreates the lab's
    namespace for each, so they do not see each other's objects.
    """
    course = lb.make_course(root / lab, SOLUTIONS, [SOLUTIONS / f"{lab}.ipynb"])
    shutil.copy(released / "gradebook.db", course / "gradebook.db")
    home = course / ".home"
    home.mkdir()
    env = dict(sandbox.env(), HOME=str(home), KK_CONTEXT="kk-sandbox", KK_STATIC="1")
    for student, nb in submissions.items():
        dest = course / "submitted" / student / lab / f"{lab}.ipynb"
        dest.parent.mkdir(parents=True)
        nbformat.write(nb, dest)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", lab], cwd=course, env=env,
                          capture_output=True, text=True, timeout=AUTOGRADE_TIMEOUT * len(submissions),
                          stdin=subprocess.DEVNULL)
    scores = _gradebook_scores(course, lab, list(submissions))
    results = []
    for student in submissions:
        graded = Graded(lab, student, scores.get(student, {}), log=proc.stderr[-3000:])
        out = course / "autograded" / student / lab / f"{lab}.ipynb"
        if out.exists():
            graded.notebook = nbformat.read(out, as_version=4)
            graded.runtime = _runtime(graded.notebook)
        results.append(graded)
    return results


def selected_labs(session: pytest.Session) -> list[str]:
    """The labs the selected tests ask about (``-k 05`` grades lab 05 only); every lab when none is named."""
    wanted = {item.callspec.params["lab"] for item in session.items
              if "graded" in getattr(item, "fixturenames", ()) and "lab" in getattr(getattr(item, "callspec", None),
                                                                                   "params", {})}
    return [lab for lab in LAB_NAMES if lab in wanted] or list(LAB_NAMES)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[dict[tuple[str, str], Graded]]:
    """The selected labs autograded: solved and unsolved (and partly solved where PARTIAL says), in parallel."""
    root = tmp_path_factory.mktemp("labs")
    labs = selected_labs(request.session)
    sandboxes: dict[str, Sandbox] = {}
    try:
        shared = sandboxes["shared"] = Sandbox(root / "sandbox-shared").up()
        for lab in OWN_SANDBOX & set(labs):
            sandboxes[lab] = Sandbox(root / f"sandbox-{lab}").up()
        released = release_all(root, shared.env())
        jobs: list[Callable[[], list[Graded]]] = []
        for lab in sorted(labs, key=lambda name: name not in LONGEST):  # so the pool does not end on one
            subs = {"solved": solution(lab), "unsolved": nbformat.read(LABS / f"{lab}.ipynb", as_version=4)}
            if lab in PARTIAL:
                subs["partial"] = solve(lab, PARTIAL[lab][0])
            box = sandboxes.get(lab, shared)
            jobs.append(lambda lab=lab, subs=subs, box=box: autograde_lab(lab, subs, box, released, root / "courses"))
        with ThreadPoolExecutor(PARALLEL) as pool:
            futures = [pool.submit(job) for job in jobs]
            results = {(g.lab, g.student): g for f in futures for g in f.result()}
        yield results
    finally:
        for box in sandboxes.values():
            box.down()


def _report(g: Graded) -> str:
    return f"{g.lab}/{g.student}: errors {g.errors()}, stderr {g.stderr()}, scores {g.scores}\n{g.log}"


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("lab", LAB_NAMES)
def test_solution_gets_full_marks(graded: dict[tuple[str, str], Graded], lab: str) -> None:
    """Does the instructor notebook run without any error or stderr, get full marks, and finish in time?"""
    g = graded[(lab, "solved")]
    assert g.notebook is not None, _report(g)
    assert g.errors() == [], _report(g)
    assert g.stderr() == [], _report(g)
    score, possible = g.auto
    assert possible == sum(float(c.metadata["nbgrader"]["points"]) for c in grade_cells(solution(lab)))
    assert score == possible > 0, _report(g)
    manual = [gid for gid, (s, _) in g.scores.items() if s is None]
    written = [grade_id(c) for c in solution(lab).cells if c.cell_type == "markdown" and grade_id(c) in g.scores]
    assert manual == written  # written answers wait for the instructor
    assert g.runtime < LAB_BUDGET, f"{lab} took {g.runtime:.0f} s"


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("lab", LAB_NAMES)
def test_unsolved_gets_nothing(graded: dict[tuple[str, str], Graded], lab: str) -> None:
    """Does the unsolved student notebook score 0 everywhere, failing only with NotImplementedError and AssertionError?"""
    g = graded[(lab, "unsolved")]
    assert g.notebook is not None, _report(g)
    assert all(s == 0 for s, _ in g.scores.values()), _report(g)
    errors = g.errors()
    assert {(kind, name) for _, kind, name in errors} <= {("answer", "NotImplementedError"),
                                                          ("test", "AssertionError"), ("test", "CheckFailed")}, \
        _report(g)
    answers = [grade_id(c) for c in g.notebook.cells if c.cell_type == "code"
               and (c.metadata.get("nbgrader") or {}).get("solution")]
    assert sorted(cell for cell, kind, _ in errors if kind == "answer") == sorted(answers)
    tests = [grade_id(c) for c in grade_cells(g.notebook)]
    assert sorted(cell for cell, kind, _ in errors if kind == "test") == sorted(tests)
    assert g.stderr() == [], _report(g)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("lab", sorted(PARTIAL))
def test_partial_gets_partial_credit(graded: dict[tuple[str, str], Graded], lab: str) -> None:
    """Does a partly solved notebook get exactly the points of what it solved?"""
    g = graded[(lab, "partial")]
    assert g.notebook is not None, _report(g)
    score, possible = g.auto
    assert score == PARTIAL[lab][1] and possible > score, _report(g)
    assert g.stderr() == [], _report(g)
    assert {name for _, kind, name in g.errors()} <= {"NotImplementedError", "AssertionError", "CheckFailed"}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_runtimes(graded: dict[tuple[str, str], Graded], capsys: pytest.CaptureFixture[str]) -> None:
    """How long does each lab take on the fast sandbox (printed with -s; solved labs must stay under 2 minutes)?"""
    with capsys.disabled():
        print("\nlab runtimes on the fast sandbox (first cell start to last cell end), seconds:")
        for (lab, student), g in sorted(graded.items()):
            print(f"  {lab:18s} {student:9s} {g.runtime:6.1f}")
    assert all(g.runtime < LAB_BUDGET for (lab, student), g in graded.items() if student == "solved")
