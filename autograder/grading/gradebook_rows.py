"""One student's rows of nbgrader's gradebook, as plain data: read on a Dask worker after grading in its
throw-away course, written by the instructor's machine into the one real gradebook (the only writer).

What travels is every column that is not a key of the student's submission (timestamp, extension), of each
submitted notebook (flagged, ...), of each grade (auto/manual score, extra credit, needs manual grade) and of each
comment (auto/manual comment), by notebook and cell name. Writing it is what ``nbgrader autograde`` does to the
gradebook (create the student if unknown, add the submission with its timestamp, fill grades and comments), so
the gradebook ends as a local run leaves it; the rows' ids (random uuids in nbgrader) differ.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from autograder.grading import gradebook as gbk


def _values(row) -> dict:
    """The non-key columns of a gradebook row."""
    table = row.__table__
    return {c.name: getattr(row, c.name) for c in table.columns if not c.primary_key and not c.foreign_keys}


def dump(course: Path, assignment: str, student: str) -> dict | None:
    """``{"submission": {...}, "notebooks": {nb: {"values", "grades": {cell: {...}}, "comments": {...}}}}``, or
    None when the gradebook holds no submission of the student."""
    from nbgrader.api import MissingEntry

    def read():
        with gbk.gradebook(course) as gb:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                return None
            out = {"submission": _values(sub), "notebooks": {}}
            for nb in sub.notebooks:
                out["notebooks"][nb.name] = {
                    "values": _values(nb),
                    "grades": {g.name: _values(g) for g in nb.grades},
                    "comments": {c.name: _values(c) for c in nb.comments}}
            return out
    return gbk.with_db(read)


def load(course: Path, assignment: str, student: str, rows: dict | None):
    """Write ``rows`` (from :func:`dump`) as the student's submission; the previous one must be gone
    (:func:`autograder.grading.gradebook.forget`). Nothing when ``rows`` is None (nbgrader recorded nothing)."""
    from nbgrader.api import MissingEntry

    if rows is None:
        return

    def write():
        with gbk.gradebook(course) as gb:
            try:
                gb.find_student(student)
            except MissingEntry:
                gb.add_student(student)
            with warnings.catch_warnings():  # SQLAlchemy's autoflush notes on nbgrader's add_submission (as in
                warnings.simplefilter("ignore")  # every nbgrader autograde, whose log we keep, not print)
                sub = gb.add_submission(assignment, student)
            for name, value in rows["submission"].items():
                setattr(sub, name, value)
            for nb in sub.notebooks:
                want = rows["notebooks"].get(nb.name)
                if want is None:
                    continue
                for name, value in want["values"].items():
                    setattr(nb, name, value)
                for kind, items in (("grades", nb.grades), ("comments", nb.comments)):
                    for row in items:
                        for name, value in want[kind].get(row.name, {}).items():
                            setattr(row, name, value)
            gb.db.commit()
    gbk.with_db(write)
