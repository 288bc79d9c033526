"""Autograde, sanitising: a duplicated graded cell no longer fails the whole notebook; the last copy is graded
(the kernel runs all copies, so the last definition is the one in effect)."""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import DeduplicateIds

from autograder.notebook import grade_id


class CourseDeduplicateIds(DeduplicateIds):
    """Keep the last copy of a duplicated graded cell; earlier copies become ordinary cells.

    The stock preprocessor leaves the copies with empty ``nbgrader`` metadata, which CheckCellMetadata then
    rejects ("old version of nbgrader metadata"): the whole notebook fails to grade.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)):
            return cell, resources
        gid = grade_id(cell)
        if gid in self.grade_ids:
            self.log.warning("Cell with id '%s' exists multiple times!", gid)
            del cell.metadata["nbgrader"]
        else:
            self.grade_ids.add(gid)
        return cell, resources
