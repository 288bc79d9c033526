"""Run the grader's Python commands (``nbgrader ...`` and the trusted judge ``autograder.trusted.recheck``) as forks
of one process that has imported them already (for ``course-grade``).

Importing nbgrader costs about 2.4 s of CPU (its package imports every app and the Jupyter server extensions), a
fifth of grading one chapter-1 submission; a judge process started Python and imported nbformat, numpy and every
chapter's checks (~0.3 s a student). :func:`start` asks multiprocessing's fork server (one single-threaded process
that imports :data:`PRELOAD` once, at the first call) for a fork; the fork runs the command as
``python -m MODULE ARGS`` would (:data:`COMMANDS`: nbgrader, or the judge), in a session of its own, with the given
environment, folder, limits and log file. It is the grader's own trusted process, as the subprocess was: the kernel
nbgrader starts from it and the judge's rebuild are sandboxed as before (:mod:`autograder.grading.kernel`,
:mod:`autograder.trusted.recheck`), no student code ever runs in the fork server, and it exits with the process that
started it. (The judge as a subprocess ran ``python -I``; its fork has course-grade's own ``sys.path``, which the
grader trusts already: it imported nbgrader and the checks from it.)

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
           "autograder.grading.preprocessors.sandboxed_execute", "autograder.grading.preprocessors.cap_output",
           "autograder.grading.fork_preload"]
COMMANDS = ("nbgrader", "autograder.trusted.recheck")  # what a fork may run (as ``python -m MODULE``)
_LOCK = threading.Lock()
_CONTEXT = None


def _context():
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            multiprocessing.forkserver.set_forkserver_preload(PRELOAD)
            _CONTEXT = multiprocessing.get_context("forkserver")
        return _CONTEXT


def _command(args: list[str], cwd: str, env: dict, log_path: str, mem_mb: int | None, cpu_s: int | None,
             module: str = "nbgrader"):
    """In the fork: become what ``subprocess.Popen([python, -m, module, *args], start_new_session=True)`` with
    these limits, folder, environment and output file would have started, then run the command."""
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
    sys.argv = [sys.executable, "-m", module, *args]
    if module == "autograder.trusted.recheck":
        from autograder.trusted.recheck import main

        sys.exit(main(args))
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.launch_instance(args)


def start(args: list[str], cwd, env: dict, log_path, mem_mb: int | None = None, cpu_s: int | None = None,
          module: str = "nbgrader"):
    """Start ``python -m MODULE ARGS`` (one of :data:`COMMANDS`) as a fork; returns the started
    ``multiprocessing.Process`` (``pid``, ``join``, ``exitcode``: negative when a signal ended it, as a Popen's
    return code)."""
    if module not in COMMANDS:
        raise ValueError(f"not a command of the fork server: {module}")
    proc = _context().Process(target=_command, args=(list(args), str(cwd), dict(env), str(log_path), mem_mb, cpu_s,
                                                     module), name=module, daemon=False)
    with _LOCK:  # multiprocessing's bookkeeping of children is not meant for several threads at once
        proc.start()
    return proc
