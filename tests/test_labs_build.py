"""The lab build pipeline (kk_helpers.labs_build): the Markdown source format, nbgrader metadata, leak checks,
and points with one source of truth (the checks' declared points are the nbgrader points of the test cells).

Pure unit tests, except those marked slow: they build a tiny lab once with ``kk labs build`` (the real
``nbgrader generate_assignment``, in a temporary directory, no cluster) and run ``kk labs check`` on it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator
from typer.testing import CliRunner

from kk_helpers import labs_build as lb
from kk_helpers.checks import base as checks_base
from kk_helpers.checks.base import Context, LabChecks, checks_for
from kk_helpers.cli import app
from kk_helpers.errors import KKError

ROOT = Path(__file__).resolve().parent.parent
LAB_NAMES = sorted(p.stem for p in (ROOT / "solutions" / lb.SOURCE_DIR).glob("*.md"))

TINY = '''\
# Lab 42 — tiny

Goals.

```python locked
x = 1
```

Some text with a snippet that stays Markdown:

```py
print("not a cell")
```

```python
print("an ordinary cell")
```

```python answer id=task
answer = None
### BEGIN SOLUTION
answer = 42
### END SOLUTION
```

```python test id=test-task points=2
assert answer is not None
### BEGIN HIDDEN TESTS
assert answer == 42
### END HIDDEN TESTS
```

+++ answer id=why points=1

Why?

### BEGIN SOLUTION
Because.
### END SOLUTION

+++

The end.
'''


def test_parse_kinds() -> None:
    """Does each fence and +++ line become the right kind of cell, in order?"""
    cells = lb.parse_source(TINY, "tiny.md")
    assert [(c.cell_type, c.kind) for c in cells] == [
        ("markdown", "locked"), ("code", "locked"), ("markdown", "locked"), ("code", "plain"),
        ("code", "answer"), ("code", "test"), ("markdown", "answer"), ("markdown", "locked")]
    assert 'print("not a cell")' in cells[2].source
    assert cells[5].points == 2 and cells[5].grade_id == "test-task"
    assert cells[6].points == 1 and cells[6].source.startswith("Why?")


def test_metadata_is_valid_nbgrader() -> None:
    """Does the notebook carry nbgrader metadata (schema 3) that nbgrader's own validator accepts?"""
    nb = lb.to_notebook(lb.parse_source(TINY, "tiny.md"))
    MetadataValidator().validate_nb(nb)
    metas = [c.metadata.get("nbgrader") for c in nb.cells]
    assert metas[3] is None  # the ordinary cell
    assert metas[4] == {"grade": False, "grade_id": "task", "locked": False, "schema_version": 3, "solution": True}
    assert metas[5] == {"grade": True, "grade_id": "test-task", "locked": True, "points": 2, "schema_version": 3,
                        "solution": False}
    assert metas[6]["grade"] and metas[6]["solution"] and not metas[6]["locked"]
    assert metas[0] == {"grade": False, "grade_id": "md-01", "locked": True, "schema_version": 3, "solution": False}
    assert nb.metadata.kernelspec.name == "python3"
    assert len({c.id for c in nb.cells}) == len(nb.cells)


@pytest.mark.parametrize("source, message", [
    ("```python frozen\nx\n```\n", "unknown cell kind 'frozen'"),
    ("```python answer\nx\n```\n", "needs an id"),
    ("```python test id=t\nx\n```\n", "give the cell its points"),
    ("```python test id=t points=0\nx\n```\n", "points must be more than 0"),
    ("```python answer id=a\nx\n```\n```python answer id=a\ny\n```\n", "used twice"),
    ("```python answer id=a b\nx\n```\n", "unexpected word 'b'"),
    ("```python\nx\n", "never closed"),
    ("+++ test id=x\ntext\n", r"after \+\+\+"),
    ("```python answer id=no/slash\nx\n```\n", "may only use"),
])
def test_parse_errors(source: str, message: str) -> None:
    """Is a malformed source refused with a message naming the line and the fix?"""
    with pytest.raises(KKError, match=message) as err:
        lb.parse_source(source, "bad.md")
    assert "bad.md:" in str(err.value)


def test_leaks() -> None:
    """Are solution markers, hidden tests, outputs and execution counts reported?"""
    nb = lb.to_notebook(lb.parse_source(TINY, "tiny.md"))
    found = lb.leaks(nb)
    assert "task contains BEGIN SOLUTION" in found and "test-task contains BEGIN HIDDEN TESTS" in found
    assert "why contains BEGIN SOLUTION" in found
    clean = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    assert lb.leaks(clean) == []
    clean.cells[0].outputs = [nbformat.v4.new_output("stream", text="1")]
    clean.cells[0].execution_count = 3
    assert lb.leaks(clean) == ["cell 0 has outputs", "cell 0 has an execution count"]


def test_comparable_ignores_checksums_and_ids() -> None:
    """Do volatile cell ids and nbgrader checksums leave the comparison alone, while a source change does not?"""
    a = lb.to_notebook(lb.parse_source(TINY, "tiny.md"))
    b = nbformat.from_dict(nbformat.from_dict(a))
    b.cells[4].id = "other"
    b.cells[4].metadata["nbgrader"]["checksum"] = "abc"
    assert lb.comparable(a) == lb.comparable(b)
    b.cells[4].source += "\n# changed"
    assert lb.comparable(a) != lb.comparable(b)


def tiny_course(root: Path) -> tuple[Path, Path]:
    """A solutions folder with one tiny lab source and the repository's nbgrader config; an empty labs folder."""
    solutions = root / "solutions"
    (solutions / lb.SOURCE_DIR).mkdir(parents=True)
    (solutions / lb.SOURCE_DIR / "42-tiny.md").write_text(TINY)
    (solutions / lb.CONFIG_NAME).write_text((ROOT / "solutions" / lb.CONFIG_NAME).read_text())
    return solutions, root / "labs"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny lab built once with `kk labs build` (nbgrader runs for real)."""
    solutions, labs = tiny_course(tmp_path_factory.mktemp("built"))
    result = CliRunner().invoke(app, ["labs", "build", "--solutions", str(solutions), "--labs", str(labs)])
    assert result.exit_code == 0, result.output
    assert "1 instructor and 1 student notebooks, 2 changed" in result.output
    return solutions, labs


@pytest.mark.slow
def test_build_output(built: tuple[Path, Path]) -> None:
    """Does a build write both notebooks, the student one stubbed by nbgrader, and change nothing when run again?"""
    solutions, labs = built
    assert (solutions / "42-tiny.ipynb").exists()
    student = nbformat.read(labs / "42-tiny.ipynb", as_version=4)
    sources = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in student.cells}
    assert sources["task"] == "answer = None\n# YOUR CODE HERE\nraise NotImplementedError()"
    assert sources["test-task"] == "assert answer is not None"
    assert "YOUR ANSWER HERE" in sources["why"] and "Because" not in sources["why"]
    assert lb.leaks(student) == []
    assert lb.render_sources(solutions).changed == []


@pytest.mark.slow
def test_check_passes(built: tuple[Path, Path]) -> None:
    """Does `kk labs check` find nothing wrong right after a build?"""
    solutions, labs = built
    checked = CliRunner().invoke(app, ["labs", "check", "--solutions", str(solutions), "--labs", str(labs)])
    assert checked.exit_code == 0, checked.output
    assert "up to date" in checked.output


@pytest.mark.slow
def test_check_finds_stale_and_leaky(built: tuple[Path, Path], tmp_path: Path) -> None:
    """Does check report a changed source, a hand-edited student notebook, outputs, and strays?"""
    solutions, labs = (Path(shutil.copytree(d, tmp_path / d.name)) for d in built)
    src = solutions / lb.SOURCE_DIR / "42-tiny.md"
    src.write_text(src.read_text().replace("answer = 42", "answer = 43"))
    student = nbformat.read(labs / "42-tiny.ipynb", as_version=4)
    student.cells[1].outputs = [nbformat.v4.new_output("stream", text="leak")]
    student.cells[1].source += "\n# BEGIN SOLUTION"
    nbformat.write(student, labs / "42-tiny.ipynb")
    (labs / "99-stray.ipynb").write_text(lb.notebook_text(nbformat.v4.new_notebook()))
    found = lb.problems(solutions, labs)
    assert any("solutions/42-tiny.ipynb is stale" in f for f in found)
    assert any("labs/42-tiny.ipynb is stale" in f for f in found)
    assert "labs/42-tiny.ipynb: code-01 has outputs" in found
    assert "labs/42-tiny.ipynb: code-01 contains BEGIN SOLUTION" in found
    assert any("99-stray.ipynb has no instructor notebook" in f for f in found)


def test_cli_errors(tmp_path: Path) -> None:
    """Do `kk labs build` and `kk labs check` exit 1 with one sentence (no traceback) when something is wrong?"""
    solutions, labs = tiny_course(tmp_path)
    runner = CliRunner()
    missing = runner.invoke(app, ["labs", "build", "--solutions", str(solutions), "--labs", str(labs),
                                  "--lab", "77-none"])
    assert missing.exit_code == 1
    assert "no lab source for 77-none" in " ".join(missing.output.split())
    (solutions / lb.CONFIG_NAME).unlink()
    no_config = runner.invoke(app, ["labs", "check", "--solutions", str(solutions), "--labs", str(labs)])
    assert no_config.exit_code == 1
    assert "nbgrader_config.py is missing" in " ".join(no_config.output.split())


# --------------------------------------------------------------------------------------------- points

def _graded(nb: nbformat.NotebookNode) -> dict[str, float]:
    """task -> nbgrader points of the test cell grading it (each test cell grades exactly one task)."""
    out: dict[str, float] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader") or {}
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        tasks = {task for task, _, _ in lb.graded_checks(cell.source)}
        assert len(tasks) == 1, f"{meta['grade_id']} grades {sorted(tasks)}: one check per test cell"
        task = tasks.pop()
        assert task not in out, f"{task} is graded twice"
        out[task] = float(meta["points"])
    return out


def _test_points(nb: nbformat.NotebookNode) -> dict[str, float]:
    """grade_id -> nbgrader points of every autograder test cell."""
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"]) for c in nb.cells
            if c.cell_type == "code" and (c.metadata.get("nbgrader") or {}).get("grade")}


def _passing(ctx: Context) -> None:
    ctx.part("a", True, "a", "a", points=1.0)
    ctx.part("b", True, "b", "b", points=2.0)


def _half(ctx: Context) -> None:
    ctx.part("a", True, "a", "a", points=1.0)
    ctx.part("b", False, "b", "not b", points=2.0, final=True)


@pytest.mark.parametrize("name", LAB_NAMES)
def test_check_points_are_the_nbgrader_points(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does every task of a lab show, through lab.check(), the points nbgrader gives its one test cell?"""
    spec = checks_for(name)
    assert spec is not None
    solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    graded = _graded(solution)
    assert sorted(graded) == sorted(spec.tasks), f"tasks graded by no test cell, or unknown: {sorted(graded)}"
    source = lb.parse_source((ROOT / "solutions" / lb.SOURCE_DIR / f"{name}.md").read_text(), name, spec)
    tests = _test_points(solution)
    assert {c.grade_id: c.points for c in source if c.kind == "test"} == tests, "solutions/ is stale"
    student = nbformat.read(ROOT / "labs" / f"{name}.ipynb", as_version=4)
    assert _test_points(student) == tests, "labs/ is stale: run kk labs build"
    for task, points in graded.items():
        t = spec.tasks[task]
        for fn, earned in ((_passing, points), (_half, points / 3 if t.partial else 0.0)):
            monkeypatch.setitem(spec.tasks, task, checks_base.Task(t.name, t.title, fn, t.hints, t.points, t.partial))
            result = checks_base.run(name, task, cluster=object(), namespace="x", timeout=0)  # type: ignore[arg-type]
            assert result.max_points == points, f"lab.check({task!r}) shows {result.max_points:g} points, " \
                                                f"nbgrader gives {points:g}"
            assert result.points == pytest.approx(earned) and result.score() == pytest.approx(earned)
            assert f"/{points:g} points" in result.message


def fake_checks(**tasks: tuple[float, bool]) -> LabChecks:
    """A lab's checks: task name -> (points, partial)."""
    spec = LabChecks("42", "tiny")
    for task, (points, partial) in tasks.items():
        spec.task(task, task, points=points, partial=partial)(_passing)
    return spec


def test_points_derived_from_the_checks() -> None:
    """Does a test cell that grades a check get the check's points, and keep points= that agree?"""
    source = ('```python test id=t1\nlab.check("scale")\n### BEGIN HIDDEN TESTS\nkk.checks.require(lab, "scale");\n'
              '### END HIDDEN TESTS\n```\n'
              '```python test id=t2 points=3\n### BEGIN HIDDEN TESTS\nkk.checks.grade(lab, "traffic", out_of=3, '
              'timeout=10)\n### END HIDDEN TESTS\n```\n')
    cells = lb.parse_source(source, "42-tiny.md", fake_checks(scale=(4, False), traffic=(3, True)))
    assert [(c.grade_id, c.points) for c in cells] == [("t1", 4), ("t2", 3)]
    nb = lb.to_notebook(cells)
    assert [c.metadata.nbgrader["points"] for c in nb.cells] == [4, 3]
    assert lb.graded_checks(cells[1].source) == [("traffic", "grade", 3.0)]
    assert lb.graded_checks('lab.check("scale")\n') == []  # feedback outside the hidden tests grades nothing


def _cell(header: str, call: str) -> str:
    return f"```python test {header}\n### BEGIN HIDDEN TESTS\n{call}\n### END HIDDEN TESTS\n```\n"


@pytest.mark.parametrize("source, message", [
    (_cell("id=t points=2", 'kk.checks.require(lab, "scale")'), "points=2 but check 'scale' is worth 4 points"),
    (_cell("id=t", 'kk.checks.grade(lab, "traffic", out_of=5)'), "out_of=5 but check 'traffic' is worth 3"),
    (_cell("id=t", 'kk.checks.require(lab, "traffic")'), "'traffic' gives partial credit: grade it with "
                                                         "kk.checks.grade"),
    (_cell("id=t", 'kk.checks.grade(lab, "scale")'), "'scale' is all or nothing: grade it with kk.checks.require"),
    (_cell("id=t", 'kk.checks.require(lab, "nope")'), "has no task 'nope'"),
    (_cell("id=t", 'kk.checks.require(lab, "scale")\nkk.checks.grade(lab, "traffic")'), "grades scale, traffic"),
    (_cell("id=t points=1", "assert True"), "grades no check"),
    (_cell("id=t", 'kk.checks.require(lab, "scale")') + _cell("id=u", 'kk.checks.require(lab, "scale")'),
     "already graded by t"),
    (_cell("id=t", 'kk.checks.require(lab, "scale")'), "traffic of lab 42 are graded by no test cell"),
])
def test_points_that_disagree_are_refused(source: str, message: str) -> None:
    """Is a source refused when its points, its grading call or its coverage of the checks disagree with them?"""
    if "traffic" not in source and "graded by no" not in message:
        source += _cell("id=z", 'kk.checks.grade(lab, "traffic")')
    with pytest.raises(KKError, match=message) as err:
        lb.parse_source(source, "42-tiny.md", fake_checks(scale=(4, False), traffic=(3, True)))
    assert "42-tiny.md" in str(err.value)


def test_declared_points_must_be_positive() -> None:
    """Is a task declared with no points refused?"""
    with pytest.raises(ValueError, match="points must be more than 0"):
        LabChecks("42", "tiny").task("t", "t", points=0)
