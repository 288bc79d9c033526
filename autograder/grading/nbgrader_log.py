"""Reading nbgrader's log of one student's autograde without trusting any text the student could have put there.

A student's text can reach the log: a cell's source quoted in an exception (nbclient's timeout preview), a grade id,
a file name. So a grader fault ("the kernel could not start") is decided from what only trusted code writes:

* the sandboxed kernel's own stdout/stderr go to /dev/null (:mod:`autograder.grading.kernel`), never to the log;
* once the kernel has answered, :class:`~autograder.grading.preprocessors.sandboxed_execute.SandboxedExecute` logs
  :data:`READY` with a secret made for this run (:func:`new_nonce`, passed in the environment of the nbgrader
  process, never into the sandbox). Before that line no student code ran, so a fault pattern there is the grader's;
  after it, only nbgrader's own record lines (``[AutogradeApp | ERROR] ...`` at the start of a line) count.
"""

from __future__ import annotations

import os
import re
import secrets

ENV_NONCE = "COURSE_GRADE_NONCE"
READY = "course-grade: the sandboxed kernel is ready ({nonce})"
_RECORD = re.compile(r"^\[[A-Za-z]+App \| (?:ERROR|CRITICAL|WARNING)\] ")


def new_nonce() -> str:
    return secrets.token_hex(16)


def ready_line() -> str | None:
    """The line the trusted preprocessor logs once the kernel answered (None outside course-grade)."""
    nonce = os.environ.get(ENV_NONCE, "")
    return READY.format(nonce=nonce) if nonce else None


def grader_fault(log: str, nonce: str, patterns: tuple[str, ...]) -> bool:
    """True when ``log`` shows one of ``patterns`` where only the grader could have written it."""
    ready = READY.format(nonce=nonce) if nonce else None
    before, found, after = log.partition(ready) if ready else (log, "", "")
    if not found:  # the kernel never answered: no student code ran
        return any(p in before for p in patterns)
    return any(_RECORD.match(line) and any(p in line for p in patterns) for line in after.splitlines())
