"""Similarity report of ``course-grade``: answers that share code in ways independent answers do not.

Per solution cell, each answer becomes its set of *lines* (whitespace collapsed; lines of the released skeleton
removed; comments kept: a shared comment is the strongest sign of a shared text). Two answers sharing a line is
evidence only when the line is **unusual**:

* a line that an independent correct answer of the chapter also writes (``correct.py``: written apart from the
  reference) weighs nothing, nor does a short line (``else:``, ``return w``);
* a line written by many students of the class weighs nothing (the obvious way to write it); one written by few
  weighs ``1 + log2(N / df)`` (N answers, df of them hold it), a comment twice as much.

A pair's **score** is the sum over the lines they share; pairs are ranked by it. A pair is **flagged** for review
when its score reaches :data:`FLAG_SCORE` and the shared lines cover most of the shorter answer
(:data:`FLAG_COVERAGE`): e.g. twins with the same odd comment and the same odd line. Each answer is also compared
with the **reference** (``reference.py`` and the source notebook's solution cell): flagged when it holds nearly all
of the reference's lines (:data:`REF_COVERAGE`) including at least :data:`REF_UNUSUAL` lines no independent answer
writes. A one-line reference (the obvious answer) is never evidence.

Rows go to ``grading/ASSIGNMENT-similarity.csv`` (ranked), flagged rows into both students' review reasons with the
matching lines. Nothing here changes a score. False flags on honest answers: measured in tests/test_similarity.py
(docs/grading.md).
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path

from autograder.grading.csvfile import write_csv_atomic
from autograder.notebook import nbgrader_meta

REFERENCE = "the reference implementation"
MIN_LINE = 12  # characters: shorter lines are never evidence
COMMON_SHARE = 0.1  # a line held by more than this share of the class (and more than 2) is the obvious way
FLAG_SCORE = 8.0
FLAG_COVERAGE = 0.8
REF_COVERAGE = 0.85
REF_UNUSUAL = 3
COLUMNS = ["notebook", "cell", "a", "b", "similarity", "score", "flag", "lines"]


def lines_of(source: str, skeleton: set[str]) -> list[str]:
    """The answer's lines (whitespace collapsed), skeleton and ``### BEGIN/END SOLUTION`` lines removed."""
    out = []
    for line in source.splitlines():
        norm = " ".join(line.split())
        if norm and norm not in skeleton and "### BEGIN SOLUTION" not in norm and "### END SOLUTION" not in norm:
            out.append(norm)
    return out


def _code_only(lines: list[str]) -> str:
    return "\n".join(x for x in (re.sub(r"#.*$", "", ln).strip() for ln in lines) if x)


def _is_comment(line: str) -> bool:
    return line.startswith("#") or " # " in line


def weights(answers: dict[str, list[str]], independent: set[str]) -> dict[str, float]:
    """{line: weight} over the class's ``answers`` (see the module docstring)."""
    n = len(answers)
    df: dict[str, int] = {}
    for lines in answers.values():
        for line in set(lines):
            df[line] = df.get(line, 0) + 1
    common = max(2, int(COMMON_SHARE * n))
    out = {}
    for line, k in df.items():
        if line in independent or len(line) < MIN_LINE or k > common:
            out[line] = 0.0
        else:
            out[line] = (1.0 + math.log2(max(n, 2) / k)) * (2.0 if _is_comment(line) else 1.0)
    return out


def compare(a: list[str], b: list[str], w: dict[str, float]) -> tuple[float, float, list[str]]:
    """(score, coverage of the shorter answer, the unusual shared lines, rarest first)."""
    shared = set(a) & set(b)
    unusual = sorted((ln for ln in shared if w.get(ln, 0) > 0), key=lambda ln: -w[ln])
    score = sum(w[ln] for ln in unusual)
    coverage = len(shared) / max(1, min(len(set(a)), len(set(b))))
    return score, coverage, unusual


def reference_match(answer: list[str], reference: list[str], independent: set[str]) -> tuple[bool, list[str]]:
    """(flag, the unusual lines shared) of one answer against the reference's lines."""
    ref = set(reference)
    shared = set(answer) & ref
    unusual = sorted(ln for ln in shared if ln not in independent and len(ln) >= MIN_LINE)
    coverage = len(shared) / max(1, len(ref))
    return len(ref) >= REF_UNUSUAL and coverage >= REF_COVERAGE and len(unusual) >= REF_UNUSUAL, unusual


def similar_pairs(students: dict[str, dict[str, str]], skeleton: dict[str, str],
                  independent: dict[str, set[str]] | None = None, reference: dict[str, str] | None = None
                  ) -> list[dict]:
    """``students``: {student: {cell: source}}; rows {cell, a, b, similarity, score, flag, lines}, ranked by
    score. ``independent``: {cell: lines of independent correct answers}; ``reference``: {cell: source}."""
    import difflib

    independent, reference = independent or {}, reference or {}  # reference: {cell: source or [sources]}
    rows = []
    for cell in sorted({c for sol in students.values() for c in sol}):
        skel = {" ".join(ln.split()) for ln in skeleton.get(cell, "").splitlines() if ln.strip()}
        answers = {s: lines_of(sol[cell], skel) for s, sol in students.items() if cell in sol}
        answers = {s: ln for s, ln in answers.items() if ln}
        alt = independent.get(cell, set())
        w = weights(answers, alt)
        names = sorted(answers)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                score, coverage, unusual = compare(answers[a], answers[b], w)
                code_a, code_b = _code_only(answers[a]), _code_only(answers[b])
                same = answers[a] == answers[b]
                ratio = 1.0 if same else difflib.SequenceMatcher(None, code_a, code_b).ratio()
                if score <= 0:  # nothing unusual shared: the obvious answer, whoever wrote it
                    continue
                rows.append({"cell": cell, "a": a, "b": b,
                             "similarity": "identical" if same else f"{ratio:.2f}", "score": f"{score:.1f}",
                             "flag": "yes" if score >= FLAG_SCORE and coverage >= FLAG_COVERAGE else "",
                             "lines": " | ".join(unusual[:4])})
        refs = reference.get(cell, [])
        for s in names:
            for text in [refs] if isinstance(refs, str) else refs:
                flag, unusual = reference_match(answers[s], lines_of(text, skel), alt)
                if flag:
                    rows.append({"cell": cell, "a": s, "b": REFERENCE, "similarity": "reference",
                                 "score": f"{len(unusual) * 2.0:.1f}", "flag": "yes", "lines": " | ".join(unusual[:4])})
                    break
    return sorted(rows, key=lambda r: (-float(r["score"]), r["cell"], r["a"], r["b"]))


def _solutions(path: Path) -> dict[str, str]:
    import nbformat

    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # a link or a FIFO is refused by the grader, never read
            return {}
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return {}
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and nbgrader_meta(c).get("solution")}


def chapter_answers(assignment: str, cells: list[str]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """({cell: lines of the chapter's independent correct answers}, {cell: reference source}) for the cells named
    like the function they define; empty when the assignment is not a chapter of this course."""
    import inspect

    from autograder import chapters

    try:
        chapter = chapters.get(assignment)
        correct, ref = chapter.module("correct").CORRECT, chapter.module("reference")
    except (KeyError, ImportError, AttributeError):
        return {}, {}
    independent, reference = {}, {}
    for cell in cells:
        fns = correct.get(cell, [])
        independent[cell] = {" ".join(ln.split()) for fn in fns for ln in inspect.getsource(fn).splitlines()
                             if ln.strip()}
        if hasattr(ref, cell):
            reference[cell] = without_docstring(inspect.getsource(getattr(ref, cell)))
    return independent, reference


def without_docstring(source: str) -> str:
    """A function's source without its docstring (a student pasting the body keeps the skeleton's docstring)."""
    import ast

    lines = source.splitlines()
    try:
        fn = ast.parse(source).body[0]
        first = fn.body[0]
    except (SyntaxError, IndexError, AttributeError):
        return source
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        del lines[first.lineno - 1:first.end_lineno]
    return "\n".join(lines)


def outside_solution(source: str) -> str:
    """The lines of a source solution cell that the released skeleton keeps (outside BEGIN/END SOLUTION)."""
    out, inside = [], False
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def similarity_report(course: Path, assignment: str, students: list[str]) -> list[dict]:
    """Write ``grading/ASSIGNMENT-similarity.csv`` for ``students``; the rows, ranked (flagged ones first)."""
    rows = []
    for source in sorted((course / "source" / assignment).glob("*.ipynb")):
        release = course / "release" / assignment / source.name
        skeleton = _solutions(release) if release.exists() else {}
        solved = _solutions(source)
        for cell, text in solved.items():
            skeleton[cell] = skeleton.get(cell, "") + "\n" + outside_solution(text)
        independent, reference = chapter_answers(assignment, sorted(solved))
        for cell, text in solved.items():  # the source notebook's solution cell is a reference too
            reference[cell] = [*([reference[cell]] if cell in reference else []), text]
        subs = {s: _solutions(course / "submitted" / s / assignment / source.name) for s in students}
        rows += [{"notebook": source.stem, **r} for r in similar_pairs(subs, skeleton, independent, reference)]
    rows.sort(key=lambda r: (r["flag"] != "yes", -float(r["score"])))
    write_csv_atomic(course / "grading" / f"{assignment}-similarity.csv", COLUMNS, rows)
    return rows
