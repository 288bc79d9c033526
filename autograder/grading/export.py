"""``course-grade --export canvas|moodle FILE``: the grades in the CSV layout an LMS gradebook imports.

* ``canvas``: Canvas "Import grades" CSV (Canvas guide "How do I import grades in the Gradebook?"): columns
  ``Student, ID, SIS User ID, SIS Login ID, Section`` then one column per assignment; a ``Points Possible`` row
  first. nbgrader's student id goes to ``SIS Login ID`` (Canvas matches rows on it), the others stay empty.
* ``moodle``: Moodle "Import grades from CSV" (docs.moodle.org, Grade import): one identifier column
  (``Username``, mapped to the user field of that name on import) and one column per grade item.

The values are the same data as the course's CSV (the judge's totals); a student whose status is not
``graded`` gets an empty grade (Canvas and Moodle then leave that grade untouched) so a grader fault is never
uploaded as a zero.
"""

from __future__ import annotations

from pathlib import Path

from autograder.grading.csvfile import write_csv_atomic

COLUMNS = {"canvas": ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], "moodle": ["Username"]}


def rows(fmt: str, results: list[dict], maxes: dict, assignment: str) -> list[dict]:
    max_total = sum(v for cells in maxes.values() for v in cells.values())
    out = []
    if fmt == "canvas":
        out.append({"Student": "Points Possible", "ID": "", "SIS User ID": "", "SIS Login ID": "", "Section": "",
                    assignment: f"{max_total:g}"})
    for r in sorted(results, key=lambda r: r["student"]):
        grade = f"{r['total']:g}" if r["status"] in ("graded", "invalid") else ""
        if fmt == "canvas":
            out.append({"Student": r["student"], "ID": "", "SIS User ID": "", "SIS Login ID": r["student"],
                        "Section": "", assignment: grade})
        else:
            out.append({"Username": r["student"], assignment: grade})
    return out


def export(fmt: str, path: Path, results: list[dict], maxes: dict, assignment: str):
    """Write ``path`` atomically in ``fmt`` (canvas or moodle)."""
    write_csv_atomic(path, [*COLUMNS[fmt], assignment], rows(fmt, results, maxes, assignment))
