"""The chapter text format: a jupytext percent-format file as the nbgrader *source* notebook, and back.

Cell headers carry the nbgrader metadata::

    # %% [markdown] key="ch01-predict"                markdown (a stable key that names its translation)
    # %%                                              ordinary code (students may edit)
    # %% nbgrader={"grade_id": "setup", "locked": true, ...}           read-only code
    # %% nbgrader={"grade_id": "fn", "solution": true, ...}            graded answer (### BEGIN/END SOLUTION)
    # %% nbgrader={"grade_id": "test_fn", "grade": true, "points": 2, ...}   autograded tests (hidden region)

Every markdown cell carries a ``key``, unique in the course, that its translations refer to (see
:mod:`autograder.authoring.translations`); it goes to the notebook cell's metadata. The header's ``course``
metadata (``time_budget_seconds``) goes to the notebook metadata.
"""

from __future__ import annotations

import jupytext
import nbformat

from autograder.chapters import get

FORMAT = "py:percent"
# What a chapter text keeps of the notebook metadata: the course's own keys and the kernel, not the jupytext
# version (so that saving from another jupytext release changes nothing).
JUPYTEXT_META = {"notebook_metadata_filter": "course,-jupytext.text_representation.jupytext_version",
                 "cell_metadata_filter": "key,nbgrader,-all"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class ChapterError(ValueError):
    """A malformed chapter text file."""


def read_chapter(text: str, name: str = "<chapter>") -> nbformat.NotebookNode:
    """A chapter text (jupytext percent format) as the nbgrader source notebook: validated, no outputs."""
    try:
        parsed = jupytext.reads(text, fmt=FORMAT)
    except Exception as exc:
        raise ChapterError(f"{name}: not a jupytext percent-format file: {exc}") from exc
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    if parsed.metadata.get("course"):
        nb.metadata["course"] = dict(parsed.metadata["course"])
    seen: set[str] = set()
    keys: set[str] = set()
    for i, cell in enumerate(parsed.cells):
        if cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        elif cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
        else:
            raise ChapterError(f"{name}: cell {i} is a {cell.cell_type} cell; use markdown or code")
        key = cell.metadata.get("key")
        if key is not None:
            if cell.cell_type != "markdown" or not isinstance(key, str) or not key or key in keys:
                raise ChapterError(f"{name}: cell {i}: a key belongs to a markdown cell, once: {key!r}")
            keys.add(key)
            new.metadata["key"] = key
        meta = cell.metadata.get("nbgrader")
        if meta:
            gid = meta.get("grade_id")
            if not gid or gid in seen:
                raise ChapterError(f"{name}: cell {i}: nbgrader cell without a grade_id, or a duplicate {gid!r}")
            seen.add(gid)
            if meta.get("solution") and "### BEGIN SOLUTION" not in cell.source:
                raise ChapterError(f"{name}: solution cell {gid!r} has no ### BEGIN SOLUTION")
            if meta.get("grade") and "points" not in meta:
                raise ChapterError(f"{name}: tests cell {gid!r} needs points")
            new.metadata["nbgrader"] = dict(meta)
        new.id = f"c{i:03d}"
        nb.cells.append(new)
    nbformat.validate(nb)
    return nb


def write_chapter(nb: nbformat.NotebookNode) -> str:
    """The chapter text of a notebook (inverse of :func:`read_chapter` for the metadata it keeps)."""
    nb = nbformat.from_dict(nb)
    nb.metadata = {"jupytext": dict(JUPYTEXT_META), "kernelspec": dict(KERNELSPEC),
                   **({"course": nb.metadata["course"]} if nb.metadata.get("course") else {})}
    return jupytext.writes(nb, fmt=FORMAT)


def render_source(chapter: str) -> str:
    """The source notebook text of ``chapter`` (``NN_<topic>``), exactly as committed in source/."""
    path = get(chapter).text
    return nbformat.writes(read_chapter(path.read_text(encoding="utf-8"), f"{chapter}/{path.name}")) + "\n"
