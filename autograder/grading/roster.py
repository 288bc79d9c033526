"""``course-grade --roster FILE``: who each nbgrader student id is in the LMS, for the Canvas export.

Canvas matches an imported grade row to a student by ``ID`` (Canvas's user id) or ``SIS User ID`` (and shows
``Student``, ``SIS Login ID``, ``Section``). nbgrader knows only its own student id (the hub or Unix user name). The
roster is a CSV that maps one to the other; the easiest one to get is Canvas's own gradebook export (Grades ->
Export), whose columns are ``Student, ID, SIS User ID, SIS Login ID, Section, ...``:

* with a column ``nbgrader_id``, that column names the nbgrader student of each row;
* without one, the nbgrader id is matched to ``SIS Login ID`` (set it up so that hub user names are the SIS login).

Rows other than students (Canvas's ``Points Possible`` row) are skipped.
"""

from __future__ import annotations

import csv
from pathlib import Path

CANVAS_ID_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
KEY_COLUMN = "nbgrader_id"

NO_KEY = ("The roster {path} has neither a column {key} nor a column 'SIS Login ID': add a column {key} with each "
          "student's nbgrader id (their user name on the hub).")
NO_ID = ("The roster {path} has neither an 'ID' nor a 'SIS User ID' column: Canvas needs one of them to match a "
         "grade to a student (export the gradebook from Canvas to get both).")
DUPLICATE = "The roster {path} names the nbgrader id {student} twice (rows {first} and {second})."


class RosterError(ValueError):
    """The roster file cannot map nbgrader ids to Canvas ids."""


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """{nbgrader id: {Canvas column: value}} from the roster CSV at ``path`` (BOM and surrounding spaces ignored)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        key = KEY_COLUMN if KEY_COLUMN in header else "SIS Login ID" if "SIS Login ID" in header else None
        if key is None:
            raise RosterError(NO_KEY.format(path=path, key=KEY_COLUMN))
        if "ID" not in header and "SIS User ID" not in header:
            raise RosterError(NO_ID.format(path=path))
        roster, where = {}, {}
        for line, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            student = row.get(key, "")
            if not student or row.get("Student", "").strip().lower() == "points possible":
                continue
            if student in roster:
                raise RosterError(DUPLICATE.format(path=path, student=student, first=where[student], second=line))
            roster[student], where[student] = {c: row.get(c, "") for c in CANVAS_ID_COLUMNS}, line
    return roster


def canvas_identity(student: str, roster: dict[str, dict[str, str]] | None) -> dict[str, str] | None:
    """The Canvas id columns of ``student``: from the roster; without a roster, the nbgrader id as ``SIS Login ID``
    (the older layout); None when a roster is given and does not list the student."""
    if roster is None:
        return {"Student": student, "ID": "", "SIS User ID": "", "SIS Login ID": student, "Section": ""}
    return roster.get(student)
