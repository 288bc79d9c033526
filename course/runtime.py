"""How much work the notebooks' demos should do in the current run.

``quick_mode()`` is True under nbgrader (``NBGRADER_EXECUTION`` is set: grading only needs the graded cells,
so demos train for a token number of steps) or when ``COURSE_QUICK=1`` (the tests). Notebooks use it as::

    epochs = 2 if quick_mode() else 20
"""

from __future__ import annotations

import os


def quick_mode() -> bool:
    """True when demos should be cut short (under nbgrader, or COURSE_QUICK=1)."""
    if os.environ.get("COURSE_QUICK", "").strip() not in ("", "0"):
        return True
    return bool(os.environ.get("NBGRADER_EXECUTION"))
