"""The lab build pipeline (kk_helpers.labs_build): the Markdown source format, nbgrader metadata, leak checks.

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
from kk_helpers.cli import app
from kk_helpers.errors import KKError

ROOT = Path(__file__).resolve().parent.parent

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
