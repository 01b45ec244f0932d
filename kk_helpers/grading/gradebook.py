"""The gradebook's single writer: snapshots for grading jobs, merges of their results, zeros for failures.

nbgrader writes the gradebook while it autogrades (the submission row when it starts, every grade when
``SaveAutoGrades`` runs). Parallel ``nbgrader autograde`` processes on one SQLite file would contend for its write
lock — nbgrader turns "database is locked" into a failed submission — so kk never lets them near it:

1. before a run, the main gradebook is copied with SQLite's online backup API (:func:`snapshot`) — one read;
2. each job autogrades against its **own copy** (``CourseDirectory.db_url`` points at it; the worker checks);
3. when a job ends, the parent process copies that one submission's scores and comments from the copy into the
   main gradebook (:func:`merge_submission`) — from one thread, one submission at a time, each in one
   transaction.

A job touches only its own (assignment, student) rows, so merges commute: the order jobs finish in cannot change
the result, and ``--jobs N`` gives the gradebook a serial run gives.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, open_gradebook

#: Prefix of the comment kk leaves on a submission it could not grade.
FAILED_COMMENT = "kk grade: not graded automatically"


def snapshot(db_path: Path, dest: Path) -> None:
    """Copy a SQLite gradebook consistently (SQLite's backup API, the source opened read-only)."""
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def integrity_check(db_path: Path) -> str:
    """SQLite's ``PRAGMA integrity_check`` answer (``"ok"`` for a sound file)."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def merge_submission(course: Course, job_db: Path, assignment: str, student: str) -> bool:
    """Copy one submission's autograder results from a job's gradebook copy into the course gradebook.

    Copied: the submission timestamp, each grade's ``auto_score`` and ``needs_manual_grade``, each comment's
    ``auto_comment``, each notebook's late penalty. Manual scores and comments in the main gradebook are kept.

    Args:
        course: the course (its gradebook is written).
        job_db: the job's SQLite copy.
        assignment: the lab.
        student: the student id.

    Returns:
        False when the copy holds no such submission (nbgrader failed before creating it).
    """
    from nbgrader.api import MissingEntry

    with open_gradebook(f"sqlite:///{job_db}", course.course_id) as job:
        try:
            sub = job.find_submission(assignment, student)
        except MissingEntry:
            return False
        timestamp = sub.timestamp
        notebooks = []
        for nb in sub.notebooks:
            grades = [(g.name, g.auto_score, g.needs_manual_grade) for g in nb.grades]
            comments = [(c.name, c.auto_comment) for c in nb.comments]
            notebooks.append((nb.name, nb.late_submission_penalty, grades, comments))
    with course.gradebook() as gb:
        kwargs = {"timestamp": timestamp} if timestamp is not None else {}
        gb.update_or_create_submission(assignment, student, **kwargs)
        for name, penalty, grades, comments in notebooks:
            dest_nb = gb.find_submission_notebook(name, assignment, student)
            dest_nb.late_submission_penalty = penalty
            dest_nb.flagged = False
            for cell, auto_score, needs_manual in grades:
                grade = gb.find_grade(cell, name, assignment, student)
                grade.auto_score = auto_score
                grade.needs_manual_grade = needs_manual
            for cell, auto_comment in comments:
                gb.find_comment(cell, name, assignment, student).auto_comment = auto_comment
        gb.db.commit()
    return True


def zero_submission(course: Course, assignment: str, student: str, *, reason: str) -> None:
    """Score a submission that could not be graded as 0 everywhere, flag it, and say why in its comments.

    Args:
        course: the course.
        assignment: the lab.
        student: the student id.
        reason: one sentence (``"the notebook is not valid JSON"``), left as the autograder comment.
    """
    with course.gradebook() as gb:
        sub = gb.update_or_create_submission(assignment, student)
        for nb in sub.notebooks:
            nb.flagged = True
            for grade in nb.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
            for comment in nb.comments:
                comment.auto_comment = f"{FAILED_COMMENT}: {reason}"
        gb.db.commit()


@dataclass
class SubmissionScore:
    """One submission's scores, read back from the gradebook.

    Attributes:
        assignment: the lab.
        student: the student id.
        score: points (late penalties not subtracted).
        max_score: points possible.
        grades: per grade cell (task): ``name -> (score, max_score)``.
        flagged: kk (or a grader) flagged a notebook of it.
        needs_manual_grade: some cell awaits a human.
        pending: the grade cells awaiting a human (written answers), whose score is not final.
    """

    assignment: str
    student: str
    score: float
    max_score: float
    grades: dict[str, tuple[float, float]] = field(default_factory=dict)
    flagged: bool = False
    needs_manual_grade: bool = False
    pending: set[str] = field(default_factory=set)


def scores(course: Course, assignment: str | None = None) -> list[SubmissionScore]:
    """Every submission's scores (optionally of one lab), sorted by assignment then student."""
    out = []
    with course.gradebook() as gb:
        for a in gb.assignments:
            if assignment and a.name != assignment:
                continue
            for sub in a.submissions:
                item = SubmissionScore(a.name, sub.student.id, float(sub.score), float(sub.max_score))
                for nb in sub.notebooks:
                    item.flagged = item.flagged or bool(nb.flagged)
                    item.needs_manual_grade = item.needs_manual_grade or bool(nb.needs_manual_grade)
                    for g in nb.grades:
                        item.grades[g.name] = (float(g.score), float(g.max_score))
                        if g.needs_manual_grade:
                            item.pending.add(g.name)
                out.append(item)
    return sorted(out, key=lambda s: (s.assignment, s.student))
