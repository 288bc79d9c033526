"""After grading: nbgrader's gradebook must hold exactly what the CSV says, for exactly the students graded.

nbgrader is driven by ids (and takes them as globs); a run that touched another student's grade, or left a
student's gradebook score unlike the judge's total, is found here: each graded student whose gradebook total
differs from the CSV gets a review reason, and a student *not* in this run whose gradebook total changed during it is
reported (course-grade prints it and lists the student for review in the summary).
"""

from __future__ import annotations

from pathlib import Path

from autograder.grading import gradebook as gbk
from autograder.grading.safe_text import visible

DIFFERS = ("the gradebook holds {gradebook:g} for this student but the checker's total is {total:g}: re-grade this "
           "student (course-grade --student {student})")
CHANGED = ("the gradebook total of {student}, who was not graded in this run, changed from {before} to {after} "
           "during it: re-grade {student} and check nbgrader's logs")


def totals(course: Path, assignment: str) -> dict[str, float]:
    """{student: gradebook total} of every submission of ``assignment`` ({} without a gradebook)."""
    if not (course / "gradebook.db").exists():
        return {}

    def read():
        with gbk.gradebook(course) as gb:
            try:
                subs = gb.find_assignment(assignment).submissions
            except Exception:
                return {}
            return {s.student_id: float(s.score or 0.0) for s in subs}
    return gbk.with_db(read)


def check(course: Path, assignment: str, results: list[dict], before: dict[str, float]) -> list[str]:
    """Add a review reason to each graded result whose gradebook total differs; return the sentences about
    students outside ``results`` whose gradebook total changed since ``before``."""
    after = totals(course, assignment)
    graded = {r["student"] for r in results}
    for r in results:
        if r["status"] != "graded" or r["student"] not in after:
            continue
        if abs(after[r["student"]] - r["total"]) > 1e-6:
            r["review"].append(DIFFERS.format(gradebook=after[r["student"]], total=r["total"], student=r["student"]))
    return [CHANGED.format(student=visible(s), before=before.get(s, "none"), after=after.get(s, "none"))
            for s in sorted(set(before) | set(after)) if s not in graded and before.get(s) != after.get(s)]
