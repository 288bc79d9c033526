"""source/ and release/ are generated from the chapter texts (autograder/chapters/*/chapter.py) and in sync;
release leaks nothing."""

from __future__ import annotations

import re

import pytest

from autograder.authoring.build import build
from autograder.chapters import get as get_chapter
from autograder.chapters.text import ChapterError, read_chapter, write_chapter
from autograder.notebook import cell_source, grading_cells, load, solution_cells
from autograder.paths import release_path, source_path
from tests.conftest import CHAPTERS


def test_source_and_release_are_in_sync_with_nbgrader():
    problems = build(check=True)
    assert not problems, "\n".join(problems) + "\nrun `python -m autograder.build` and commit"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_source_notebook_outputs_cleared(chapter):
    for cell in load(source_path(chapter))["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def _meaningful_lines(text):
    return {line.strip() for line in text.splitlines()
            if len(line.strip()) > 12 and not line.strip().startswith(("#", '"""'))}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_release_has_no_solution_or_hidden_test_text(chapter):
    src = load(source_path(chapter))
    released = release_path(chapter).read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "autograder"):
        assert marker not in released, f"release/{chapter} contains {marker!r}"
    secret = set()
    for cell in solution_cells(src):
        for body in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell_source(cell), re.S):
            secret |= _meaningful_lines(body)
    for cell in grading_cells(src):
        for body in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell_source(cell), re.S):
            secret |= _meaningful_lines(body)
    assert secret, "expected some solution text to look for"
    visible = set()
    for cell in load(release_path(chapter))["cells"]:
        visible |= {line.strip() for line in cell_source(cell).splitlines()}
    leaked = sorted(secret & visible)
    # A solution line may legitimately also appear in a visible demo (e.g. `return w, b`); none should here.
    assert not leaked, f"release/{chapter} shows solution or hidden-test lines: {leaked[:5]}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_release_skeleton_cells_raise_not_implemented(chapter):
    for cell in solution_cells(load(release_path(chapter))):
        assert "raise NotImplementedError()" in cell_source(cell)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_text_round_trips_through_the_notebook(chapter):
    """text -> notebook -> text changes nothing (what JupyterLab + jupytext write back when a chapter is saved)."""
    text = get_chapter(chapter).text.read_text(encoding="utf-8")
    nb = read_chapter(text, chapter)
    assert write_chapter(nb) == text
    assert nb.metadata.get("course", {}).get("time_budget_seconds"), "the header keeps the course metadata"
    kinds = {k for c in nb.cells for k in ("solution", "grade", "locked") if c.metadata.get("nbgrader", {}).get(k)}
    assert kinds == {"solution", "grade", "locked"}, "cell headers carry the nbgrader metadata"


def test_malformed_chapter_text_is_refused_with_its_name():
    bad = '# %% nbgrader={"grade_id": "x", "solution": true, "grade": false, "locked": false}\ndef f():\n    pass\n'
    with pytest.raises(ChapterError, match="bad.py: solution cell 'x' has no ### BEGIN SOLUTION"):
        read_chapter(bad, "bad.py")
