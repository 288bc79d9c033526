"""The processes course-grade starts: each in a session of its own with resource limits, killed whole (with
everything below it) on timeout or Ctrl-C; ``nbgrader`` commands as forks of a process that imported it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from autograder.grading import nbgrader_fork
from autograder.trusted.limits import MAX_PIDS, limits, release_pids_cgroup

_PROCS: set[int] = set()  # pids of the commands running now (a pid, not its object: that may be closed meanwhile)
_PROCS_LOCK = threading.Lock()
STOP = threading.Event()  # set on Ctrl-C: workers start nothing new


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live process below it, read from /proc (parents before children)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop(0))
        todo += children.get(out[-1], [])
    return out


def kill_tree(pid: int):
    """SIGKILL ``pid``'s process group and every process below it, stopped first so none forks away meanwhile.

    A kernel that nbgrader starts runs in a session of its own (outside the group), and bubblewrap's
    --die-with-parent does not hold when bwrap runs as root (the parent-death signal is cleared when it changes
    credentials), so killing the group alone can leave a sandbox running."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for p in process_tree(pid):
            try:
                os.kill(p, sig)
            except (ProcessLookupError, PermissionError):
                pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all():
    """Kill every command still running and everything below it (Ctrl-C); bwrap takes its sandbox with it."""
    with _PROCS_LOCK:
        pids = list(_PROCS)
    for pid in pids:
        kill_tree(pid)


def supervise(proc, wait, timeout: float) -> int:
    """Register a started command (Ctrl-C kills it), wait up to ``timeout`` s (``wait(seconds or None)``: its exit
    code, None while it runs), kill its whole tree on timeout (-9999), and what is left of its session always."""
    pid = proc.pid
    with _PROCS_LOCK:
        _PROCS.add(pid)
    try:
        code = wait(max(timeout, 1))
        if code is None:
            kill_tree(pid)
            wait(None)
            code = -9999
        return code
    finally:
        try:  # leftovers of this command
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        with _PROCS_LOCK:
            _PROCS.discard(pid)
        release_pids_cgroup(pid)


def run(cmd: list[str], cwd: Path, env: dict, timeout: float, mem_mb=None, cpu_s=None) -> tuple[int, str]:
    """Run ``cmd`` in its own session with limits; kill the whole group on timeout. (returncode, output)."""
    if STOP.is_set():
        return -9998, "stopped (Ctrl-C)"

    def wait(seconds):
        try:
            return proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=limits(mem_mb, cpu_s, new_session=True, pids=MAX_PIDS if mem_mb else None),
                                close_fds=True)
        code = supervise(proc, wait, timeout)
        log.seek(0)
        return code, log.read()


def run_nbgrader(args: list[str], cwd: Path, env: dict, timeout: float, mem_mb=None, cpu_s=None) -> tuple[int, str]:
    """``run([python, -m, nbgrader, *args], ...)``, started as a fork of a process that has imported nbgrader
    (:mod:`autograder.grading.nbgrader_fork`: ~3 s sooner per command); a plain subprocess if no fork can be had."""
    return run_forked("nbgrader", args, cwd, env, timeout, mem_mb, cpu_s)


def run_forked(module: str, args: list[str], cwd: Path, env: dict, timeout: float, mem_mb=None,
               cpu_s=None) -> tuple[int, str]:
    """``run([python, -m, module, *args], ...)`` (``module``: one of :data:`nbgrader_fork.COMMANDS`) as a fork of the
    grader's fork server; a plain subprocess (``python -I`` for the judge) if no fork can be had."""
    if STOP.is_set():
        return -9998, "stopped (Ctrl-C)"

    def wait(seconds):
        proc.join(seconds)
        return proc.exitcode

    with tempfile.NamedTemporaryFile("w+", encoding="utf-8", errors="replace", prefix="course-grade-") as log:
        try:
            proc = nbgrader_fork.start(args, cwd, env, log.name, mem_mb, cpu_s, module)
        except (OSError, EOFError, RuntimeError):
            flags = [] if module == "nbgrader" else ["-I"]
            return run([sys.executable, *flags, "-m", module, *args], cwd, env, timeout, mem_mb, cpu_s)
        code = supervise(proc, wait, timeout)
        proc.close()
        log.seek(0)
        return code, log.read()
