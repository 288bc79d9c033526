"""``check_<function>(fn)`` for every graded function of the course: what the notebooks' hidden tests call.

A check raises AssertionError with a message a student can act on when ``fn`` is wrong, and returns None
when it is right. Inputs are random but seeded, with random shapes, so hard-coding the visible examples
does not pass. The real checks live in each chapter's folder (``autograder/chapters/chNN_*/checks.py``) and
run only in the trusted judge (:mod:`autograder.trusted.judge`), a process that never runs student code; the
names here are thin clients of it (:mod:`autograder.trusted.client`), made on first use.
"""

from __future__ import annotations

from autograder.chapters import real_checks
from autograder.trusted.client import remote_check

__all__ = sorted(real_checks())


def __getattr__(name: str):
    """``autograder.checks.check_<fn>``: the client of the judge's real check of that name."""
    if name in __all__:
        client = remote_check(name)
        globals()[name] = client
        return client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
