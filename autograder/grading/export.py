"""``course-grade --export canvas|moodle FILE``: the grades in the CSV layout an LMS gradebook imports.

* ``canvas``: Canvas "Import grades" CSV (Canvas guide "How do I import grades in the Gradebook?"): columns
  ``Student, ID, SIS User ID, SIS Login ID, Section`` then one column per assignment; a ``Points Possible`` row
  first. With ``--roster FILE`` (:mod:`autograder.grading.roster`) each row carries the student's Canvas ``ID`` and
  ``SIS User ID`` (what Canvas matches rows on); a graded student missing from the roster is left out and named.
  Without a roster, nbgrader's student id goes to ``Student`` and ``SIS Login ID`` and the others stay empty.
* ``moodle``: Moodle "Import grades from CSV" (docs.moodle.org, Grade import): one identifier column
  (``Username``, mapped to the user field of that name on import) and one column per grade item.

The values are the same data as the course's CSV (the judge's totals); a student whose status is not
``graded`` gets an empty grade (Canvas and Moodle then leave that grade untouched) so a grader fault is never
uploaded as a zero.
"""

from __future__ import annotations

from pathlib import Path

from autograder.grading.csvfile import write_csv_atomic
from autograder.grading.roster import canvas_identity

COLUMNS = {"canvas": ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], "moodle": ["Username"]}


def rows(fmt: str, results: list[dict], maxes: dict, assignment: str, roster: dict | None = None,
         missing: list | None = None) -> list[dict]:
    max_total = sum(v for cells in maxes.values() for v in cells.values())
    out = []
    if fmt == "canvas":
        out.append({"Student": "Points Possible", "ID": "", "SIS User ID": "", "SIS Login ID": "", "Section": "",
                    assignment: f"{max_total:g}"})
    for r in sorted(results, key=lambda r: r["student"]):
        grade = f"{r['total']:g}" if r["status"] in ("graded", "invalid") else ""
        if fmt == "canvas":
            ids = canvas_identity(r["student"], roster)
            if ids is None:
                if missing is not None:
                    missing.append(r["student"])
                continue
            out.append({**ids, assignment: grade})
        else:
            out.append({"Username": r["student"], assignment: grade})
    return out


def export(fmt: str, path: Path, results: list[dict], maxes: dict, assignment: str, roster: dict | None = None,
           column: str | None = None) -> list[str]:
    """Write ``path`` atomically in ``fmt`` (canvas or moodle); ``column``: the assignment column's header (default
    the assignment name). Returns the students left out (not in ``roster``)."""
    missing: list[str] = []
    column = column or assignment
    out = [{(column if k == assignment else k): v for k, v in row.items()}
           for row in rows(fmt, results, maxes, assignment, roster, missing)]
    write_csv_atomic(path, [*COLUMNS[fmt], column], out)
    return missing
