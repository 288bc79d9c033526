"""In-kernel client of the trusted judge (layer 1 of :mod:`autograder.trusted.judge`).

``autograder.checks.check_<fn>(fn)`` is :func:`remote_check`: the real check runs in a judge subprocess that
never executes student code; ``fn`` runs here when the judge asks. Patching numpy, numpy.testing or builtins
in the kernel therefore cannot change a verdict. (Replacing this client itself is caught by layer 2, the
out-of-kernel re-check of ``course-grade``.)
"""

from __future__ import annotations

import os
import subprocess
import sys

from autograder.chapters.messages import gettext as _
from course.compare import CheckFailure, NotImplementedYet

_judge = None


def _start_judge():
    global _judge
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", "autograder.trusted.judge"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True)
    from autograder.trusted.channel import Endpoint
    from autograder.trusted.wording import render

    ep = Endpoint(proc.stdout.fileno(), proc.stdin.fileno(), None, peer=proc, render=render)
    ep.resolve = lambda target: ep.handles[int(target[2:])]
    _judge = (proc, ep)
    return _judge


def _endpoint():
    if _judge is None or _judge[0].poll() is not None or _judge[1].dead:
        _start_judge()
    return _judge[1]


def remote_check(name: str):
    """The public ``check_<fn>``: ask the judge to run the real check ``name`` on ``fn``."""

    def check(fn):
        from autograder.trusted.errors import RemoteDied

        if not callable(fn):
            raise CheckFailure(_("{name} should be a function, got {kind}", name=name[6:], kind=type(fn).__name__))
        try:
            verdict, _info = _endpoint().call(f"check:{name}", (fn,), {})
        except RemoteDied as exc:
            raise CheckFailure(_("the checker stopped while checking your function ({error})", error=exc)) from None
        if not isinstance(verdict, dict) or not verdict.get("ok"):
            message = verdict.get("message") if isinstance(verdict, dict) else None
            message = message or _("check failed")
            hint = verdict.get("hint") if isinstance(verdict, dict) else None
            if isinstance(verdict, dict) and verdict.get("not_implemented") :
                raise NotImplementedYet(message, hint) from None
            raise CheckFailure(message, hint if isinstance(hint, str) else None) from None

    check.__name__ = check.__qualname__ = name
    check.__doc__ = f"Run the trusted check {name} on ``fn`` (raises AssertionError with a message if wrong)."
    return check
