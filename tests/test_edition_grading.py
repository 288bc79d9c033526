"""Grading reads nothing of a Chinese submission but what it shares with the English one, in every chapter
(issue 30): tests/test_mixed_class.py grades a mixed class of chapter 1 end to end; this cheap test shows, for every
chapter, that the inputs of that grading are the same in both editions, so its result carries over.

What course-grade reads of a submission: the cells the judge rebuilds (code cells, their ids and kinds, in order:
:func:`autograder.trusted.rebuild.notebook_cells`, planned from the English source notebook), nbgrader's metadata
(edition_differences in tests/test_translations.py compares it), and the text of read-only cells (a read-only
markdown cell of a translation must be the store's translation, or nbgrader counts it as edited). The language
only chooses the messages' wording, and tests/test_i18n_messages.py shows on every chapter's wrong answers that it
never changes a verdict or a hint."""

from __future__ import annotations

import copy

import nbformat
import pytest

from autograder.chapters import chapter_names
from autograder.chapters.store import is_translation
from autograder.notebook import grade_id
from autograder.paths import release_path, source_path
from autograder.trusted.rebuild import notebook_cells
from autograder.trusted.recheck import plan_from_notebook

LANG = "zh_CN"


def read(path):
    return nbformat.read(str(path), as_version=4)


@pytest.mark.parametrize("chapter", chapter_names())
def test_the_judge_runs_the_same_cells_for_both_editions(chapter):
    zh_path = release_path(chapter, lang=LANG)
    if not zh_path.exists():
        pytest.skip(f"{chapter} has no {LANG} release yet")
    source, english, chinese = read(source_path(chapter)), read(release_path(chapter)), read(zh_path)
    plan = plan_from_notebook(source)
    assert plan["tests"], chapter
    en_cells, en_notes, _ = notebook_cells(plan, english)
    zh_cells, zh_notes, _ = notebook_cells(plan, chinese)
    assert zh_cells == en_cells and zh_notes == en_notes
    # the test can fail: one code cell changed in the Chinese notebook changes what the judge runs
    changed = copy.deepcopy(chinese)
    cell = next(c for c in changed.cells if c.cell_type == "code" and grade_id(c) is None and c.source.strip())
    cell.source += "\nx_changed = 1"
    assert notebook_cells(plan, changed)[0] != en_cells


@pytest.mark.parametrize("chapter", chapter_names())
def test_every_read_only_cell_of_the_chinese_release_is_its_english_cell_or_the_translation(chapter):
    zh_path = release_path(chapter, lang=LANG)
    if not zh_path.exists():
        pytest.skip(f"{chapter} has no {LANG} release yet")
    source = {grade_id(c): c for c in read(source_path(chapter)).cells if grade_id(c)}
    locked = [c for c in read(zh_path).cells if c.get("metadata", {}).get("nbgrader", {}).get("locked")]
    for cell in locked:
        english = source[grade_id(cell)]
        if cell.cell_type == "markdown" and cell.source != english.source:
            assert is_translation(LANG, english.source, cell.source), (chapter, grade_id(cell))
