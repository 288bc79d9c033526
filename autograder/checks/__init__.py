"""``check_<function>(fn)`` for every graded function of the course.

A check raises AssertionError with a message a student can act on when ``fn`` is wrong, and returns None
when it is right. Inputs are random but seeded, with random shapes, so hard-coding the visible examples
does not pass. Each chapter lives in ``chNN_<topic>.py``.
"""

from autograder._registry import collect

__all__ = collect(__name__, __path__, globals(), prefix="check_")

# The names above are thin clients: each real check runs in a separate judge process that never runs student
# code (see autograder.judge). REAL_CHECKS keeps the real functions for the judge itself.
from autograder.checks._remote import remote_check  # noqa: E402

REAL_CHECKS = {name: globals()[name] for name in __all__}
for _name in __all__:
    globals()[_name] = remote_check(_name)
del _name
