"""Bring submissions into ``submitted/<student>/<lab>/<lab>.ipynb``, and the roster into the gradebook.

Three shapes of input are understood:

* a folder in nbgrader's layout — ``<src>/submitted/<student>/<lab>/*.ipynb`` or ``<src>/<student>/<lab>/*.ipynb``
  (``timestamp.txt`` files come along);
* a folder of loose notebooks named ``<student>_<lab>.ipynb`` (what many LMS "download all" buttons give);
* the zip an LMS exports: handed to nbgrader's ``zip_collect`` (its ``ExtractorPlugin`` unpacks nested zips, its
  ``FileNameCollectorPlugin`` maps each file to a student with a named regular expression).

A lab with a single notebook accepts a submitted notebook under any name (learners rename files); it is
stored under the name nbgrader expects.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KKError
from .course import Course, ensure_students, import_roster, load_roster, run_nbgrader

#: Default ``FileNameCollectorPlugin.named_regexp`` for zips; ``{assignment}`` becomes the escaped lab name.
#: nbgrader matches it against each extracted file's full path.
DEFAULT_ZIP_REGEX = r".*/(?P<student_id>[^/]+?)_(?P<file_id>{assignment})\.ipynb$"


@dataclass(frozen=True)
class Collected:
    """One submission put in place.

    Attributes:
        assignment: the lab.
        student: the student id.
        notebooks: notebook files now under ``submitted/<student>/<assignment>/``.
        origin: where it came from (a path, or ``zip:<file>``).
    """

    assignment: str
    student: str
    notebooks: tuple[str, ...]
    origin: str


@dataclass
class CollectResult:
    """What ``kk grade collect`` did.

    Attributes:
        collected: submissions put in place.
        skipped: files that were not collected, each with the reason.
        roster: students imported from the roster.
        unlisted: students who submitted but are not on the roster (added to the gradebook anyway).
    """

    collected: list[Collected] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    roster: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)


def _target_name(course: Course, assignment: str, given: str) -> str | None:
    """The notebook file name nbgrader expects for a submitted file named ``given``, or None if none fits."""
    names = course.notebooks(assignment)
    stem = Path(given).stem
    if stem in names:
        return f"{stem}.ipynb"
    if len(names) == 1:
        return f"{names[0]}.ipynb"
    return None


def _put(course: Course, assignment: str, student: str, files: list[Path], origin: str,
         result: CollectResult) -> None:
    """Replace ``submitted/<student>/<assignment>/`` with ``files`` (notebooks renamed as nbgrader expects)."""
    notebooks = [f for f in files if f.suffix == ".ipynb"]
    if not notebooks:
        result.skipped.append(f"{origin}: no notebook")
        return
    if len(notebooks) > 1 and len(course.notebooks(assignment)) == 1:
        exact = [f for f in notebooks if f.stem == assignment]
        if len(exact) != 1:
            result.skipped.append(f"{origin}: {len(notebooks)} notebooks for the one notebook of {assignment}; "
                                  f"keep one, or name it {assignment}.ipynb")
            return
        notebooks = exact
    dest = course.directory("submitted") / student / assignment
    placed: list[str] = []
    staged: list[tuple[Path, Path]] = []
    for nb in notebooks:
        name = _target_name(course, assignment, nb.name)
        if name is None:
            result.skipped.append(f"{origin}: {nb.name} is not a notebook of {assignment} "
                                  f"({', '.join(course.notebooks(assignment))})")
            continue
        staged.append((nb, dest / name))
        placed.append(name)
    if not staged:
        return
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for src, target in staged:
        shutil.copyfile(src, target)
    for extra in files:
        if extra.suffix != ".ipynb" and extra.is_file():
            shutil.copyfile(extra, dest / extra.name)
    result.collected.append(Collected(assignment, student, tuple(sorted(placed)), origin))


def _collect_layout(course: Course, root: Path, assignments: list[str], result: CollectResult) -> None:
    """``root/<student>/<assignment>/`` folders."""
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for name in assignments:
            sub = student_dir / name
            if sub.is_dir():
                _put(course, name, student_dir.name, sorted(p for p in sub.iterdir() if p.is_file()), str(sub), result)


def _collect_loose(course: Course, folder: Path, assignments: list[str], result: CollectResult) -> None:
    """``folder/<student>_<assignment>.ipynb`` files (the longest matching lab name wins)."""
    by_length = sorted(assignments, key=len, reverse=True)
    for nb in sorted(folder.glob("*.ipynb")):
        match = next((a for a in by_length if nb.name.endswith(f"_{a}.ipynb") and len(nb.name) > len(a) + 7), None)
        if match is None:
            result.skipped.append(f"{nb}: not named <student>_<lab>.ipynb for a lab of this course")
            continue
        student = nb.name[: -len(f"_{match}.ipynb")]
        _put(course, match, student, [nb], str(nb), result)


def _zip_assignments(archive: Path, assignments: list[str]) -> list[str]:
    """Labs whose name appears in a member of the zip (all of them if it holds nested zips)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile) as err:
        raise KKError(f"{archive} is not a readable zip ({err}) — download it again from the LMS") from err
    if any(n.lower().endswith(".zip") for n in names):
        return assignments
    return [a for a in assignments if any(a in n for n in names)]


def _collect_zip(course: Course, archive: Path, assignments: list[str], regex: str, result: CollectResult) -> None:
    """Hand the zip to ``nbgrader zip_collect``, once per lab it mentions."""
    for name in _zip_assignments(archive, assignments):
        pattern = regex.replace("{assignment}", re.escape(name))
        try:
            compiled = re.compile(pattern)
        except re.error as err:
            raise KKError(f"--regex is not a valid regular expression ({err})") from err
        if not {"student_id", "file_id"} <= set(compiled.groupindex):
            raise KKError("--regex needs the named groups (?P<student_id>...) and (?P<file_id>...)")
        base = course.root / "downloaded" / name
        archive_dir = base / "archive"
        if archive_dir.exists():
            shutil.rmtree(archive_dir)
        archive_dir.mkdir(parents=True)
        shutil.copyfile(archive, archive_dir / archive.name)
        run_nbgrader(course, ["zip_collect", name, "--force", f"--FileNameCollectorPlugin.named_regexp={pattern}"],
                     log_name=f"collect-{name}.log")
        extracted = base / "extracted"
        students: dict[str, set[str]] = {}
        for path in sorted(p for p in extracted.rglob("*") if p.is_file()) if extracted.is_dir() else []:
            m = compiled.match(str(path))
            if m and path.suffix == ".ipynb":
                students.setdefault(m.group("student_id"), set()).add(f"{Path(m.group('file_id')).stem}.ipynb")
        for student, files in sorted(students.items()):
            result.collected.append(Collected(name, student, tuple(sorted(files)), f"zip:{archive.name}"))


def collect(course: Course, src: Path, *, roster: Path | None = None, assignment: str | None = None,
            regex: str = DEFAULT_ZIP_REGEX) -> CollectResult:
    """Collect submissions from a folder or an LMS zip, and import the roster.

    Args:
        course: the course.
        src: a folder (nbgrader layout and/or loose ``<student>_<lab>.ipynb`` files) or a ``.zip``.
        roster: roster CSV (``id,first_name,last_name,email``) whose students are added to the gradebook.
        assignment: collect only this lab.
        regex: for zips, nbgrader's ``FileNameCollectorPlugin.named_regexp`` (``{assignment}`` is replaced by the
            lab name).

    Raises:
        KKError: ``src`` is missing, the lab is unknown, or nbgrader's zip_collect failed.
    """
    src = Path(src).expanduser().resolve()
    known = course.assignments()
    if assignment and assignment not in known:
        raise KKError(f"unknown assignment {assignment!r} — the course has: {', '.join(known) or 'none'}")
    labs = [assignment] if assignment else known
    result = CollectResult()
    if roster is not None:
        result.roster = import_roster(course, load_roster(roster))
    if src.is_file() and src.suffix.lower() == ".zip":
        _collect_zip(course, src, labs, regex, result)
    elif src.is_dir():
        layout = src / "submitted" if (src / "submitted").is_dir() else src
        _collect_layout(course, layout, labs, result)
        _collect_loose(course, src, labs, result)
        for archive in sorted(src.glob("*.zip")):
            _collect_zip(course, archive, labs, regex, result)
    else:
        raise KKError(f"{src} is neither a folder of submissions nor a .zip — check the path")
    students = sorted({c.student for c in result.collected})
    new = ensure_students(course, students)
    listed = set(result.roster)
    result.unlisted = [s for s in students if s in new or (roster is not None and s not in listed)]
    return result
