"""Read course notebooks: cell metadata, the hidden-test region, graded cells and functions, and a notebook's
functions loaded without a kernel. The one place that knows how nbgrader marks cells (works on plain JSON dicts
and on nbformat nodes alike)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

MAGIC = re.compile(r"^\s*[%!]")
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def load(path) -> dict:
    """A notebook as plain JSON (dict)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def nbgrader_meta(cell: dict) -> dict:
    """The cell's nbgrader metadata ({} for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell: dict) -> str | None:
    """The cell's nbgrader ``grade_id`` (None for an ordinary cell)."""
    return nbgrader_meta(cell).get("grade_id")


def notebook_language(nb: dict, default: str | None = "en") -> str | None:
    """The language of a notebook's prose, for its feedback and self-check: ``metadata.course.language`` (the
    build writes it into a translated release) resolved against the course's message catalogs (unknown: English);
    ``default`` when the notebook names none (or not as a string: the metadata is the student's)."""
    from course.i18n import language

    course = nb.get("metadata", {}).get("course") if isinstance(nb, dict) else None
    tag = course.get("language") if isinstance(course, dict) else None
    return language({"COURSE_LANG": tag[:40] or "en"}) if isinstance(tag, str) else default


def _with_hidden_flag(source: str):
    """Each line of ``source`` except the markers, with True when it lies between BEGIN and END HIDDEN TESTS."""
    hidden = False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line:
            hidden = False
        else:
            yield line, hidden


def strip_hidden(source: str) -> str:
    """``source`` without the lines from BEGIN HIDDEN TESTS to END HIDDEN TESTS (as generate_assignment does)."""
    return "\n".join(line for line, hidden in _with_hidden_flag(source) if not hidden).rstrip()


def hidden_source(source: str) -> str:
    """The lines between BEGIN and END HIDDEN TESTS (the hidden tests), as one text."""
    return "\n".join(line for line, hidden in _with_hidden_flag(source) if hidden)


def hidden_lines(source: str) -> list[str]:
    """The non-blank lines between BEGIN and END HIDDEN TESTS, stripped."""
    return [line.strip() for line in hidden_source(source).split("\n") if line.strip()]


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


def python_code(source: str) -> str:
    """A cell's source as the plain Python IPython runs (``%matplotlib inline`` becomes
    ``get_ipython().run_line_magic(...)``): text only, nothing is run. Made on the trusted side, so the judge's
    sandbox never imports IPython."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return strip_magics(source)


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
