"""Similarity report of ``course-grade``: identical and near-identical solution cells across students.

Per solution cell, each student's code is normalised (comments, blank lines and lines of the released skeleton
removed, whitespace collapsed); pairs whose normalised code is identical, or whose ``difflib`` ratio is at least
:data:`THRESHOLD`, are listed in ``grading/ASSIGNMENT-similarity.csv`` and in the summary, for a person to
review. Nothing here changes a score. Cells shorter than :data:`MIN_CHARS` after normalising are ignored (a
one-line answer is often the same for everyone).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from autograder.grading.csvfile import write_csv_atomic
from autograder.notebook import nbgrader_meta

THRESHOLD = 0.95
MIN_CHARS = 80


def _normalise(source: str, skeleton: set[str]) -> str:
    out = []
    for line in source.splitlines():
        line = re.sub(r"#.*$", "", line).strip()
        if line and line not in skeleton:
            out.append(" ".join(line.split()))
    return "\n".join(out)


def _solutions(path: Path) -> dict[str, str]:
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return {}
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and nbgrader_meta(c).get("solution")}


def similar_pairs(students: dict[str, dict[str, str]], skeleton: dict[str, str]) -> list[dict]:
    """``students``: {student: {cell: source}}; rows {a, b, cell, similarity} sorted by cell then score."""
    rows = []
    cells = sorted({c for sol in students.values() for c in sol})
    for cell in cells:
        skel = {ln.strip() for ln in skeleton.get(cell, "").splitlines() if ln.strip()}
        norm = {s: _normalise(sol[cell], skel) for s, sol in students.items() if cell in sol}
        norm = {s: t for s, t in norm.items() if len(t) >= MIN_CHARS}
        names = sorted(norm)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                ratio = 1.0 if norm[a] == norm[b] else difflib.SequenceMatcher(None, norm[a], norm[b]).ratio()
                if ratio >= THRESHOLD:
                    rows.append({"cell": cell, "a": a, "b": b,
                                 "similarity": "identical" if ratio == 1.0 else f"{ratio:.2f}"})
    return rows


def similarity_report(course: Path, assignment: str, students: list[str]) -> list[dict]:
    """Write ``grading/ASSIGNMENT-similarity.csv`` for ``students``; the rows."""
    rows = []
    for source in sorted((course / "source" / assignment).glob("*.ipynb")):
        release = course / "release" / assignment / source.name
        skeleton = _solutions(release) if release.exists() else {}
        subs = {s: _solutions(course / "submitted" / s / assignment / source.name) for s in students}
        rows += [{"notebook": source.stem, **r} for r in similar_pairs(subs, skeleton)]
    write_csv_atomic(course / "grading" / f"{assignment}-similarity.csv",
                     ["notebook", "cell", "a", "b", "similarity"], rows)
    return rows
