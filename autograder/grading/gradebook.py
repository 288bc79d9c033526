"""The gradebook of ``course-grade``: nbgrader's sqlite gradebook (under a lock, retried while another nbgrader
holds it) and the chapter's maxima.

Only trusted processes touch these files: no sandbox sees the course folder (see :mod:`autograder.trusted.isolation`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from autograder.notebook import nbgrader_meta

_DB_LOCK = threading.Lock()


def gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def with_db(fn, tries: int = 20):
    """Run a gradebook operation under the process lock, retrying while another nbgrader holds sqlite."""
    for i in range(tries):
        try:
            with _DB_LOCK:
                return fn()
        except Exception as exc:
            if "locked" not in str(exc) or i == tries - 1:
                raise
            time.sleep(0.5)


def source_notebooks(course: Path, assignment: str) -> list[Path]:
    return sorted((course / "source" / assignment).glob("*.ipynb"))


def max_scores(course: Path, assignment: str) -> dict:
    """{notebook: {cell_id: max_score}} of the assignment's graded code cells, from the source notebooks."""
    import nbformat

    out = {}
    for path in source_notebooks(course, assignment):
        nb = nbformat.read(str(path), as_version=4)
        out[path.stem] = {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
                          for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"}
    return out


def gradebook_maxima(course: Path, assignment: str) -> dict | None:
    """{notebook: {cell_id: max_score}} as the gradebook knows them, or None if it does not know the assignment."""
    from nbgrader.api import MissingEntry

    def read():
        with gradebook(course) as gb:
            try:
                a = gb.find_assignment(assignment)
            except MissingEntry:
                return None
            return {nb.name: {g.name: float(g.max_score) for g in nb.grade_cells if g.cell_type == "code"}
                    for nb in a.notebooks} or None
    if not (course / "gradebook.db").exists():
        return None
    return with_db(read)


def source_changes(course: Path, assignment: str) -> list[str]:
    """What differs between the source notebooks and the gradebook (cells, points); [] when they agree."""
    known = gradebook_maxima(course, assignment)
    if known is None:
        return []
    want = max_scores(course, assignment)
    out = []
    for nb in sorted(set(want) | set(known)):
        a, b = want.get(nb, {}), known.get(nb, {})
        for cell in sorted(set(a) | set(b)):
            if a.get(cell) != b.get(cell):
                out.append(f"{nb}:{cell}: source says {a.get(cell, 'no such cell')}, gradebook {b.get(cell, 'none')}")
    return out


def forget(course: Path, assignment: str, student: str):
    """Remove the student's submission from the gradebook (a re-run never keeps old grades)."""
    from nbgrader.api import MissingEntry

    def remove():
        with gradebook(course) as gb:
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass
    with_db(remove)


def set_scores(course: Path, assignment: str, student: str, scores: dict[str, float]) -> bool:
    """Write ``{"nb:cell": points}`` as auto scores (manual scores cleared); adds the submission if nbgrader
    recorded none (its notebook run failed). True when written."""
    from nbgrader.api import MissingEntry

    def write():
        with gradebook(course) as gb:
            try:
                gb.find_submission(assignment, student)
            except MissingEntry:  # nbgrader could not run the notebook: the verdict still goes in
                gb.add_submission(assignment, student)
            for key, value in scores.items():
                nb, cell = key.split(":", 1)
                grade = gb.find_grade(cell, nb, assignment, student)
                grade.auto_score = float(value)
                grade.manual_score = None
            gb.db.commit()
            return True
    return with_db(write)
