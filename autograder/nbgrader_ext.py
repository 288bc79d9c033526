"""Deprecated: the course's nbgrader preprocessors moved to :mod:`autograder.grading.preprocessors`.

Kept for one release so that a course directory holding an older copy of ``nbgrader_config.py`` (which imports
them from here) keeps working; copy the repository's current ``nbgrader_config.py`` into it.
"""

import warnings

from autograder.grading.preprocessors.cap_output import CapOutput
from autograder.grading.preprocessors.dedup import CourseDeduplicateIds
from autograder.grading.preprocessors.hidden_tests import HideHiddenTests, StripHiddenTests
from autograder.grading.preprocessors.overwrite_cells import CourseOverwriteCells
from autograder.grading.preprocessors.sandboxed_execute import SandboxedExecute

__all__ = ["CapOutput", "CourseDeduplicateIds", "CourseOverwriteCells", "HideHiddenTests", "SandboxedExecute",
           "StripHiddenTests"]

warnings.warn("autograder.nbgrader_ext is deprecated: your course's nbgrader_config.py is older than the course; "
              "copy the repository's nbgrader_config.py over it (it imports from autograder.grading.preprocessors)",
              FutureWarning, stacklevel=2)
