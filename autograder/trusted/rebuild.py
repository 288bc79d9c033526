"""Which cells the out-of-kernel re-check runs, in what order: the student's code as their notebook ran it.

The submission's order decides. Each of its code cells is one of:

* a **locked cell** (setup, given code; matched by ``grade_id``): run, with the instructor's source text (a student
  may edit a locked cell; nbgrader restores it too). One the student deleted still runs at its source position;
* a **solution cell**: run with the student's text (the last copy of a duplicated one, as nbgrader grades);
* a **cell the student added** (no nbgrader metadata, or metadata without a known ``grade_id``), or a demo cell of
  the chapter they edited: run with their text. A function defined there is theirs as much as one in a solution
  cell (a helper above a solution, a later redefinition: the last definition wins, as in the notebook);
* a **chapter cell**: a test cell (its visible part, from the source) or an unchanged demo cell of the chapter text.
  These call the student's functions and train networks; what they compute is never graded, so they run only when
  a cell the student wrote (or a chapter cell that runs) reads a name they define (``X_small`` of a visible test,
  the data a demo loaded), in the grader's quick mode (``COURSE_QUICK=1``).

Every cell has its own deadline (the trusted side, :func:`autograder.trusted.recheck.verify_cells`): a cell that
does not finish is stopped, reported and skipped; the cells after it still run. Errors are recorded per cell.
"""

from __future__ import annotations

import ast
import symtable

from autograder.chapters.messages import N_
from autograder.chapters.messages import gettext as _
from autograder.notebook import cell_source, grade_id, strip_magics

STUDENT_KINDS = ("solution", "added")

# User-facing notes (whole sentences with named placeholders), in the learner's language through the checks' catalog
NOTES = {
    "missing_solution": N_("solution cell {grade_id} is missing"),
    "redefined": N_("your notebook redefines {name} in cell {cell} ({first_line}) after its solution cell; the grade "
                    "uses the last definition, as your notebook does"),
    "redefined_after_test": N_("your notebook redefines {name} in cell {cell} ({first_line}) after its visible test "
                               "{test_id}: run from the top, that test checked the earlier definition, so its verdict "
                               "in the notebook is not about this one; the grade and the cells below use this last "
                               "definition, as your notebook does (run the test cell again after this cell to see its "
                               "verdict, or delete the cell)"),
    "added_raised": N_("cell {cell} ({first_line}), a cell you added, raised an error when the grader re-ran your "
                       "notebook: {error}; the cells after it still ran"),
    "timed_out": N_("cell {cell} ({first_line}) did not finish within {seconds:g} s when the grader re-ran your "
                    "notebook: it was stopped and skipped; the cells after it still ran"),
    "chapter_raised": N_("a cell of the chapter ({name}) raised an error when the grader re-ran it because your "
                         "cells use what it defines: {error}"),
}


def first_line(source: str, width: int = 60) -> str:
    """The first non-blank line of a cell, shortened: how a note points at a cell."""
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[:width - 3] + "..."


def names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell reads from the notebook's namespace, names it binds there). Over-approximate on purpose."""
    try:
        table = symtable.symtable(strip_magics(source), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set(), set()
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    reads = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        reads |= {s.get_name() for s in child.get_symbols() if s.is_global() and s.is_referenced()}
        binds |= {s.get_name() for s in child.get_symbols() if s.is_declared_global() and s.is_assigned()}
        stack += child.get_children()
    return reads - binds, binds


def defines(source: str) -> set[str]:
    """Names a cell binds at its top level (def, assignment, import as): what it may redefine."""
    try:
        tree = ast.parse(strip_magics(source))
    except SyntaxError:
        return set()
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return out


def _classify(plan: dict, submitted_nb) -> list[dict]:
    """The submission's code cells in order, as entries ``{kind, id, source, cell, text}`` (``cell``: 1-based
    position in the submission; ``text``: what the student sees there)."""
    by_id = {c["id"]: c for c in plan["cells"] if c.get("id")}
    demo_ids = {c["cell_id"]: c["source"] for c in plan["cells"] if c["kind"] == "demo"}
    demo_texts = {c["source"].strip() for c in plan["cells"] if c["kind"] == "demo"}
    entries: list[dict] = []
    seen: dict[str, dict] = {}
    for position, cell in enumerate(submitted_nb.cells if submitted_nb is not None else [], start=1):
        if cell.get("cell_type") != "code":
            continue
        text = cell_source(cell)
        gid = grade_id(cell)
        known = by_id.get(gid) if gid else None
        if known is not None and known["kind"] == "solution":
            if gid in seen:  # the last copy wins, as in nbgrader's DeduplicateIds
                entries.remove(seen[gid])
            seen[gid] = {"kind": "solution", "id": gid, "source": text, "cell": position, "text": text}
            entries.append(seen[gid])
        elif known is not None:
            if gid not in seen:  # a duplicated locked or test cell runs once
                seen[gid] = {"kind": known["kind"], "id": gid, "source": known["source"], "cell": position,
                             "text": text}
                entries.append(seen[gid])
        elif demo_ids.get(cell.get("id")) == text or text.strip() in demo_texts:
            entries.append({"kind": "demo", "id": None, "source": text, "cell": position, "text": text})
        elif text.strip():
            entries.append({"kind": "added", "id": None, "source": text, "cell": position, "text": text})
    # locked and test cells the student deleted: at their source position (after the source cell before them)
    previous = None
    for c in plan["cells"]:
        if c["kind"] in ("setup", "test") and c["id"] not in seen:
            at = entries.index(seen[previous]) + 1 if previous in seen else 0
            seen[c["id"]] = {"kind": c["kind"], "id": c["id"], "source": c["source"], "cell": None, "text": ""}
            entries.insert(at, seen[c["id"]])
        if c.get("id") in seen:
            previous = c["id"]
    return entries


def _needed(entries: list[dict]) -> None:
    """Mark ``run`` on every entry: chapter cells (test, demo) only when a later cell that runs reads a name they
    bind."""
    wanted: set[str] = set()
    for entry in reversed(entries):
        reads, binds = names(entry["source"])
        entry["run"] = entry["kind"] not in ("test", "demo") or bool(binds & wanted)
        if entry["run"]:
            wanted |= reads


def notebook_cells(plan: dict, submitted_nb) -> tuple[list[dict], list[str], dict[str, list[str]]]:
    """(cells for the sandbox, notes, {graded function: notes about it}) for a submission (None: unreadable).

    Each cell: ``name`` (its code's file name in tracebacks), ``source``, ``kind`` (setup, solution, added, test,
    demo) and ``cell`` (its 1-based position in the submission, None for a deleted locked cell)."""
    entries = _classify(plan, submitted_nb)
    _needed(entries)
    present = {e["id"] for e in entries if e["kind"] == "solution"}
    notes = [_(NOTES["missing_solution"], grade_id=c["id"]) for c in plan["cells"]
             if c["kind"] == "solution" and c["id"] not in present]
    graded = {fn for test in plan["tests"] for _, fn in test["checks"]}
    tested_by = {t["id"]: {fn for _, fn in t["checks"]} for t in plan["tests"]}
    about: dict[str, list[str]] = {}
    solved: set[str] = set()
    tested: dict[str, str] = {}  # graded function -> the visible test cell above this point that checks it
    cells = []
    for e in entries:
        if e["kind"] == "solution":
            solved |= defines(e["source"]) & graded
        if e["kind"] == "test":
            tested.update({fn: e["id"] for fn in tested_by.get(e["id"], ())})
        if e["kind"] == "added":
            for name in sorted(defines(e["source"]) & solved):
                where = dict(name=name, cell=e["cell"], first_line=first_line(e["source"]))
                note = (_(NOTES["redefined_after_test"], test_id=tested[name], **where) if name in tested
                        else _(NOTES["redefined"], **where))
                notes.append(note)
                about.setdefault(name, []).append(note)
        if not e["run"]:
            continue
        label = {"setup": f"setup {e['id']}", "solution": f"solution {e['id']}", "test": f"test {e['id']}",
                 "added": f"cell {e['cell']}", "demo": f"chapter cell {e['cell']}"}[e["kind"]]
        cells.append({"name": label, "source": e["source"], "kind": e["kind"], "cell": e["cell"]})
    return cells, notes, about


def cell_notes(cells: list[dict], failures: list[dict]) -> list[str]:
    """Notes for the cells that raised or timed out (``failures``: verify_cells' ``cell_errors``). A solution cell
    that raised is left to its test's message; the setup cell is the instructor's."""
    out = []
    for failure in failures:
        cell = cells[failure["index"]]
        if failure.get("seconds") is not None and cell["kind"] in STUDENT_KINDS:
            out.append(_(NOTES["timed_out"], cell=cell["cell"], first_line=first_line(cell["source"]),
                         seconds=failure["seconds"]))
        elif cell["kind"] == "added":
            out.append(_(NOTES["added_raised"], cell=cell["cell"], first_line=first_line(cell["source"]),
                         error=failure["error"]))
        elif cell["kind"] in ("test", "demo"):
            out.append(_(NOTES["chapter_raised"], name=cell["name"], error=failure["error"]))
    return out
