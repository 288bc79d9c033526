"""Read course notebooks: find graded cells and functions, and load a notebook's functions without a kernel."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

MAGIC = re.compile(r"^\s*[%!]")


def load(path) -> dict:
    """A notebook as plain JSON (dict)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def solution_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and nbgrader_meta(c).get("solution")]


def grading_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and nbgrader_meta(c).get("grade")]


def defined_functions(source: str) -> list[str]:
    """Top-level function names defined in a code cell."""
    tree = ast.parse(strip_magics(source))
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]


def graded_functions(nb: dict) -> list[str]:
    """Names of the functions students write (top-level defs in solution cells), in notebook order."""
    names = []
    for cell in solution_cells(nb):
        names += defined_functions(cell_source(cell))
    return names


def strip_magics(source: str) -> str:
    return "\n".join("" if MAGIC.match(line) else line for line in source.splitlines())


def load_functions(path) -> dict:
    """Execute a notebook's setup (locked) and solution cells in a fresh namespace and return it.

    Demo and test cells are not run, so this is fast and works on the release skeleton too (its functions
    then raise NotImplementedError when called).
    """
    nb = load(path)
    namespace: dict = {"__name__": "__course_notebook__"}
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] != "code" or meta.get("grade"):
            continue
        if meta.get("solution") or meta.get("locked"):
            exec(compile(strip_magics(cell_source(cell)), f"<{Path(path).name}:{meta.get('grade_id')}>", "exec"),
                 namespace)
    return namespace
