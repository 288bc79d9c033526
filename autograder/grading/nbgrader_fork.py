"""Run ``nbgrader`` commands as forks of one process that has imported nbgrader already (for ``course-grade``).

Importing nbgrader costs about 2.4 s of CPU (its package imports every app and the Jupyter server extensions), a
fifth of grading one chapter-1 submission. :func:`start` asks multiprocessing's fork server (one single-threaded
process that imports :data:`PRELOAD` once, at the first call) for a fork; the fork runs the command as
``python -m nbgrader ARGS`` would, in a session of its own, with the given environment, folder, limits and log
file. It is the grader's own process: the kernel nbgrader starts from it is sandboxed as before
(:mod:`autograder.grading.kernel`), and the fork server exits with the process that started it.

As with any use of multiprocessing, each fork imports the caller's main module again: ``course-grade`` and
``python -m autograder.grading.cli`` are safe; a script of your own that calls :func:`autograder.grading.cli.grade`
needs an ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import sys
import threading

PRELOAD = ["nbgrader.apps", "nbgrader.converters", "nbgrader.preprocessors", "autograder.grading.preprocessors.dedup",
           "autograder.grading.preprocessors.overwrite_cells", "autograder.grading.preprocessors.hidden_tests",
           "autograder.grading.preprocessors.sandboxed_execute", "autograder.grading.preprocessors.cap_output"]
_LOCK = threading.Lock()
_CONTEXT = None


def _context():
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            multiprocessing.forkserver.set_forkserver_preload(PRELOAD)
            _CONTEXT = multiprocessing.get_context("forkserver")
        return _CONTEXT


def _command(args: list[str], cwd: str, env: dict, log_path: str, mem_mb: int | None, cpu_s: int | None):
    """In the fork: become what ``subprocess.Popen([python, -m, nbgrader, *args], start_new_session=True)`` with
    these limits, folder, environment and output file would have started, then run nbgrader."""
    from autograder.trusted.limits import MAX_PIDS, apply_limits

    apply_limits(mem_mb, cpu_s, new_session=True, pids=MAX_PIDS if mem_mb else None)  # the kernel's too
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [sys.executable, "-m", "nbgrader", *args]
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.launch_instance(args)


def start(args: list[str], cwd, env: dict, log_path, mem_mb: int | None = None, cpu_s: int | None = None):
    """Start ``nbgrader ARGS`` as a fork; returns the started ``multiprocessing.Process`` (``pid``, ``join``,
    ``exitcode``: negative when a signal ended it, as a Popen's return code)."""
    proc = _context().Process(target=_command, args=(list(args), str(cwd), dict(env), str(log_path), mem_mb, cpu_s),
                              name="nbgrader", daemon=False)
    with _LOCK:  # multiprocessing's bookkeeping of children is not meant for several threads at once
        proc.start()
    return proc
