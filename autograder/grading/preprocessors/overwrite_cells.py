"""Autograde, sanitising: the stock ``OverwriteCells`` warns "checksum has changed" for *every* submission,
because the released test cells lack their hidden region while the gradebook stores the source cell (with it).
Here a locked cell that equals the source cell with its hidden region removed is restored silently, so the
warning only fires when a student really edited a locked cell. Missing test cells are re-added from the gradebook
even when their neighbours are gone too (the stock code raises KeyError when a deleted test cell follows a
deleted solution cell, and when a student duplicated a graded cell: ``DeduplicateIds`` empties the copy's
metadata and ``add_missing_task_cells`` trips on it).

A translated notebook (issue 30): nbgrader compares a locked cell's checksum, computed on its *source*, with the
gradebook's (the English source notebook's), so a read-only markdown cell of the Chinese release would count as
edited and be replaced by the English. A locked markdown cell whose text is the translation store's current
translation of the source cell is graded as the English cell and keeps its translated text (the feedback page
shows the prose the student read); any other text is an edit, as before."""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import OverwriteCells

from autograder.chapters.store import is_translation
from autograder.notebook import BEGIN_HIDDEN, grade_id, notebook_language, strip_hidden


class CourseOverwriteCells(OverwriteCells):
    """OverwriteCells without the false checksum alarm, and with robust re-adding of missing test cells."""

    language = "en"  # of the notebook being sanitised (its metadata, as the build wrote it)

    def preprocess(self, nb, resources):
        self.language = notebook_language(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        gid = grade_id(cell)
        translated = None
        if gid is not None and utils.is_locked(cell):
            try:
                source_cell = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id)
            except Exception:
                source_cell = None
            if source_cell is not None and BEGIN_HIDDEN in source_cell.source:
                if cell.source.strip() == strip_hidden(source_cell.source).strip():
                    cell.source = source_cell.source  # the released version of this cell: not an edit
            if (source_cell is not None and cell.cell_type == source_cell.cell_type == "markdown"
                    and self.language != "en" and is_translation(self.language, source_cell.source, cell.source)):
                translated, cell.source = cell.source, source_cell.source  # the released translation: not an edit
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if translated is not None:
            cell.source = translated
        return cell, resources

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = source_nb.source_cells
        order = [c.name for c in source_cells]
        solution_ids = {c.name for c in source_nb.solution_cells}
        for grade_cell in source_nb.grade_cells:
            present = [grade_id(c) for c in nb.cells]
            if grade_cell.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            idx = order.index(grade_cell.name)
            new = self.missing_cell_transform(source_cells[idx], grade_cell.max_score,
                                              is_solution=grade_cell.name in solution_ids)
            # after the nearest earlier source cell still present, else at the top
            pos = 0
            for prev in reversed(order[:idx]):
                if prev in present:
                    pos = present.index(prev) + 1
                    break
            nb.cells.insert(pos, new)
        return nb, resources

    def add_missing_task_cells(self, nb, resources):
        # DeduplicateIds leaves duplicated cells with empty nbgrader metadata: the stock code raises KeyError
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [c.name for c in source_nb.source_cells]
        present = {grade_id(c) for c in nb.cells}
        for task_cell in source_nb.task_cells:
            if task_cell.name not in present:
                cell = source_nb.source_cells[order.index(task_cell.name)]
                nb.cells.append(self.missing_cell_transform(cell, task_cell.max_score, is_task=True))
        return nb, resources
