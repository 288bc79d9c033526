"""``check_<function>(fn)`` for every graded function of the course.

A check raises AssertionError with a message a student can act on when ``fn`` is wrong, and returns None
when it is right. Inputs are random but seeded, with random shapes, so hard-coding the visible examples
does not pass. Each chapter lives in ``chNN_<topic>.py``.
"""

from autograder._registry import collect

__all__ = collect(__name__, __path__, globals(), prefix="check_")
