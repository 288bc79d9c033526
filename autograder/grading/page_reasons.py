"""Why a graded notebook has no detailed feedback page, in the learner's language (issue 30).

course-grade's review reasons are English, for the instructor (the CSV, the run's summary). The few that explain a
missing nbgrader page (the notebook run for it failed) also reach the learner, on the plain page
(:func:`autograder.grading.feedback.feedback`): they are keyed here (the checks' catalog), recorded beside the
English as ``[key, values]`` (the result's ``page_reasons``) and worded on the page in the submission's language.
"""

from __future__ import annotations

from autograder.chapters.messages import N_
from autograder.chapters.messages import gettext as _

REASONS = {
    "locked_edited": N_("locked cell {cell} was edited (nbgrader restored it)"),
    "run_timed_out": N_("the notebook run for the feedback page timed out as a whole (the score comes from the "
                        "checker)"),
    "autograde_failed": N_("nbgrader autograde failed (exit {code}): {line}"),
    "kernel_died": N_("the kernel died during the notebook run"),
}


def english(key: str, **names) -> str:
    """The reason ``key`` in English (what the review list and the CSV hold)."""
    return REASONS[key].format(**names)


def keyed_reason(page: list, key: str, **names) -> str:
    """Record ``[key, names]`` in ``page`` and return the reason's English (for the review list)."""
    page.append([key, names])
    return english(key, **names)


def worded(reasons: list[str], page: list) -> list[str]:
    """``reasons`` for the plain page in the language in effect: each one recorded in ``page`` worded from its key,
    any other (the instructor's English) as it is."""
    known = {english(key, **names): (key, names) for key, names in page if key in REASONS}
    return [_(REASONS[known[r][0]], **known[r][1]) if r in known else r for r in reasons]
