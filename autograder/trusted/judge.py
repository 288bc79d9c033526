"""The trusted judge: the real checks run in a process where student code never runs.

Why
---
nbgrader runs the hidden tests in the student's own kernel. Anything the student ran before (``np.allclose =
lambda *a, **k: True``, patching ``numpy.testing``, ``builtins``, ``autograder.checks`` or ``sys.modules``) changes
what an in-kernel check sees. No check can defend itself from inside a process the student controls, so we
split the work in two processes that only exchange *data*:

* the **judge** (this module, ``python -m autograder.trusted.judge``) imports numpy, the references and the
  real checks (``autograder/chapters/chNN_*/checks.py``) and never executes a line of student code;
* the **student side** holds the student's functions and runs them when the judge asks. Arguments and
  results travel as JSON with arrays serialised by ``np.save(allow_pickle=False)``: the judge only ever decodes
  numbers, strings, arrays, lists/tuples/dicts of them and generator states, never pickles or objects.
  Callables crossing the boundary become *handles*: calling one sends a request back to its owner.

The comparisons (``expect_close`` ...) therefore use the judge's pristine numpy; the student's function only
ever sees copies of the inputs, and what it returns is judged as data.

Two layers use this protocol:

1. **In the instructor's and self-learner's kernel** (source notebooks): ``autograder.checks.check_<fn>(fn)``
   is a thin client. It starts (once per process) a judge subprocess, offers ``fn`` as a handle and serves the
   judge's calls until the verdict comes back, then raises ``CheckFailure`` with the judge's message. Patching
   numpy, numpy.testing or builtins in the kernel cannot change that verdict.
2. **Out of the kernel** (``course-grade`` and ``course-selfcheck``, one function for both:
   :func:`autograder.trusted.recheck.check_notebook`): the student's functions are rebuilt in a fresh *sandbox*
   process (:mod:`autograder.trusted.sandbox`, under bubblewrap: see :mod:`autograder.trusted.isolation`) as the
   submitted notebook ran them: its solution cells and the cells the student added, in its order, with the locked
   cells from the instructor's source notebook (demo and visible test cells only when a student cell uses what they
   define: :mod:`autograder.trusted.rebuild`), and every check of every test cell runs from the judge. This verdict
   IS the score of each test cell: under ``course-grade`` the nbgrader kernel (sandboxed too, hidden tests
   stripped) only produces the outputs of the feedback page, and the judge's verdict is written into the gradebook
   and shown in that cell's output.

The worst a student can do to the judge is send it wrong data (bounded in size, memory and time).
"""

from __future__ import annotations

import os
import sys

from autograder.chapters.messages import gettext as _
from autograder.trusted.channel import Endpoint
from autograder.trusted.errors import ProtocolError, RemoteDied, StudentError
from autograder.trusted.wording import hint_of, render


def real_checks() -> dict:
    """``{check_name: real check function}``, imported fresh in this (trusted) process."""
    from autograder.chapters import real_checks as registered

    return registered()


def run_check(check, fn) -> dict:
    """Run one real check on a (remote) function; the verdict as a dict: ``ok``, ``message`` and ``hint`` (the
    key of the failing property, see course.compare.HINT_KEYS, or None)."""
    from course.compare import CheckFailure

    try:
        check(fn)
    except StudentError as exc:  # raised outside `call`: the check called fn directly
        key = "not_implemented" if exc.ename == "NotImplementedError" else "raised"
        name = getattr(fn, "__name__", None) or _("your function")
        return {"ok": False, "message": _("{name} raised {error_type}: {error}", name=name, error_type=exc.ename,
                                          error=exc), "hint": key}
    except CheckFailure as exc:
        return {"ok": False, "message": str(exc), "not_implemented": isinstance(exc, NotImplementedError),
                "hint": getattr(exc, "hint", None)}
    except RemoteDied as exc:  # the hint from the message's key, whatever the language
        return {"ok": False, "message": str(exc), "hint": hint_of(exc) or "crashed"}
    except AssertionError as exc:
        return {"ok": False, "message": str(exc) or "check failed"}
    except ProtocolError as exc:
        return {"ok": False, "message": _("could not talk to your code ({error})", error=exc)}
    except Exception as exc:  # a crash while judging student data counts as wrong, with the reason
        return {"ok": False, "message": _("your result could not be checked: {error_type}: {error}",
                                          error_type=type(exc).__name__, error=exc)}
    return {"ok": True, "message": ""}


def judge_main():
    """Judge for the in-kernel client: stdin/stdout carry the protocol; never runs student code."""
    rfd, wfd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    checks = real_checks()
    ep = None

    def resolve(target: str):
        if target.startswith("check:") and target[6:] in checks:
            name = target[6:]
            return lambda handle: run_check(checks[name], handle)
        if target.startswith("h:"):
            return ep.handles[int(target[2:])]
        raise KeyError(f"unknown target {target}")

    ep = Endpoint(rfd, wfd, resolve, render=render)
    ep.serve_forever()


if __name__ == "__main__":
    judge_main()
    sys.exit(0)
