"""A translated read-only markdown cell is not an edit (issue 30).

nbgrader 0.9.6 hashes a locked cell's *source* (``nbgrader.utils.compute_checksum``: source, cell type, grade/
solution/locked flags, grade id, points). Two places compare it: ``nbgrader validate`` (the Assignments tab's
Validate: the recorded ``metadata.nbgrader.checksum`` against the cell's current source) and ``autograde``'s
``OverwriteCells`` (the gradebook's checksum of the English source cell against the submitted cell's source:
"Attribute 'checksum' for cell X has changed", and the source is replaced by the English). So the translated
release records its own checksum, and course-grade's ``CourseOverwriteCells`` grades the current translation as the
English cell while keeping the Chinese text; an edited translation is still an edit.
"""

from __future__ import annotations

import copy
import logging
from types import SimpleNamespace

import nbformat
from nbgrader.utils import compute_checksum

from autograder.authoring.translations import chapter_notebook, edition_differences, load_store, translate
from autograder.chapters import get
from autograder.grading.preprocessors.overwrite_cells import CourseOverwriteCells

CHAPTER = "01_perceptron"
KEY = "ch01-intro"


def locked_notebook() -> nbformat.NotebookNode:
    """Chapter 1 as a release would be with its first markdown cell read-only (nbgrader metadata + checksum)."""
    nb = chapter_notebook(get(CHAPTER))
    cell = next(c for c in nb.cells if c.metadata.get("key") == KEY)
    cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True, "grade_id": "intro_text",
                                 "schema_version": 3, "task": False}
    cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
    return nb


def the_cell(nb) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("key") == KEY)


class Gradebook:
    """What OverwriteCells asks the gradebook for: the English source cell."""

    def __init__(self, cell):
        self.cell = SimpleNamespace(source=cell.source, checksum=cell.metadata.nbgrader.checksum, locked=True,
                                    cell_type="markdown", name="intro_text")

    def find_source_cell(self, grade_id, notebook_id, assignment_id):
        assert grade_id == "intro_text"
        return self.cell


def sanitise(submitted, english_cell, caplog) -> tuple[str, list[str]]:
    """(the cell's source after CourseOverwriteCells, its warnings) for a submitted notebook."""
    pre = CourseOverwriteCells()
    pre.gradebook, pre.notebook_id, pre.assignment_id = Gradebook(english_cell), CHAPTER, CHAPTER
    pre.language = submitted.metadata.get("course", {}).get("language", "en")
    pre.log = logging.getLogger("test-overwrite")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="test-overwrite"):
        cell, _ = pre.preprocess_cell(copy.deepcopy(the_cell(submitted)), {}, 0)
    return cell.source, [r.getMessage() for r in caplog.records]


def test_nbgrader_checksum_covers_the_markdown_text():
    english = the_cell(locked_notebook())
    chinese = copy.deepcopy(english)
    chinese.source = load_store(get(CHAPTER), "zh_CN")[KEY].text
    assert compute_checksum(chinese) != english.metadata.nbgrader.checksum  # what makes a translation look edited


def test_the_translated_release_records_its_own_checksum():
    nb = locked_notebook()
    zh = translate(nb, load_store(get(CHAPTER), "zh_CN"), "zh_CN")
    cell = the_cell(zh)
    assert cell.source != the_cell(nb).source
    assert cell.metadata.nbgrader.checksum == compute_checksum(cell)  # nbgrader validate: unchanged
    assert not edition_differences(nb, zh)  # only prose (and the checksum of that prose) differs


def test_course_grade_keeps_the_translation_and_flags_a_real_edit(caplog):
    nb = locked_notebook()
    english = the_cell(nb)
    zh = translate(nb, load_store(get(CHAPTER), "zh_CN"), "zh_CN")
    source, warnings = sanitise(zh, english, caplog)
    assert source == the_cell(zh).source and not warnings  # the released translation: no alarm, kept

    edited = copy.deepcopy(zh)
    the_cell(edited).source += "\n\n我改了这一段。"
    source, warnings = sanitise(edited, english, caplog)
    assert source == english.source and any("checksum" in w for w in warnings), warnings

    # the same Chinese text in a notebook that does not say it is Chinese is an edit too
    unmarked = copy.deepcopy(zh)
    unmarked.metadata["course"].pop("language")
    source, warnings = sanitise(unmarked, english, caplog)
    assert source == english.source and any("checksum" in w for w in warnings), warnings

    source, warnings = sanitise(nb, english, caplog)  # the English release, untouched
    assert source == english.source and not warnings
