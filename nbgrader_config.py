"""nbgrader configuration for the course (instructors run nbgrader from the repository root)."""

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "nn-from-scratch"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.timeout = 300

# --- Grading hardening (autograder/grading/preprocessors/, docs/grading.md) -------------------------------------------
# Preprocessor lists are nbgrader 0.9.6's defaults with course classes swapped in or added:
#   StripHiddenTests: the kernel runs no hidden test (a test cell's score is the trusted judge's verdict, which
#     course-grade writes into the gradebook after its out-of-kernel re-check);
#   SandboxedExecute: the kernel runs in a bubblewrap sandbox (autograder/grading/kernel.py,
#     autograder/trusted/isolation.py);
#   CourseDeduplicateIds: a duplicated graded cell does not fail the notebook (the last copy is graded);
#   CourseOverwriteCells: no false "checksum changed" warning; deleted test cells are re-added and graded;
#   CapOutput: output capped by bytes and lines (all output types); stderr alone does not fail a test cell;
#   HideHiddenTests: feedback never shows hidden tests or tracebacks through check code;
#   SanitizeHTML (nbconvert): no script or active HTML from outputs in feedback pages.
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbconvert.preprocessors.sanitize import SanitizeHTML  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.grading.preprocessors.cap_output import CapOutput  # noqa: E402
from autograder.grading.preprocessors.dedup import CourseDeduplicateIds  # noqa: E402
from autograder.grading.preprocessors.hidden_tests import HideHiddenTests, StripHiddenTests  # noqa: E402
from autograder.grading.preprocessors.overwrite_cells import CourseOverwriteCells  # noqa: E402
from autograder.grading.preprocessors.sandboxed_execute import SandboxedExecute  # noqa: E402

c.Autograde.sanitize_preprocessors = [ClearOutput, CourseDeduplicateIds, OverwriteKernelspec, CourseOverwriteCells,
                                      CheckCellMetadata]
c.Autograde.autograde_preprocessors = [StripHiddenTests, SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor,
                                       CapOutput, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, SanitizeHTML, CSSHTMLHeaderPreprocessor]
c.OverwriteCells.add_missing_cells = True
c.CourseOverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
c.SanitizeHTML.enabled = True  # nbconvert preprocessors run only when enabled
