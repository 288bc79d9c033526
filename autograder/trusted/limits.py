"""The resource limits of every process that runs student code or judges it (the one place they are set).

* address space (``RLIMIT_AS``) and CPU seconds (``RLIMIT_CPU``) per process, inherited by every child;
* a **process limit** per grading unit: the process joins a cgroup of its own whose ``pids.max`` is ``pids``
  (tasks, threads included), so a fork bomb in a sandbox fails with EAGAIN inside that unit only. ``RLIMIT_NPROC``
  cannot do this: it counts every process of the user on the machine, and root (whom course-grade may run as) is
  exempt from it. The cgroup is made under the pids controller (cgroup v1 ``/sys/fs/cgroup/pids``, or v2 when its
  root delegates ``pids``); where none is writable (an unprivileged user without delegation) there is no process
  limit, and :func:`process_limit_available` says so;
* a file size limit (``RLIMIT_FSIZE``) for processes that run student code: with the size-limited tmpfs of
  ``/tmp`` and the scratch folder (:mod:`autograder.trusted.isolation`) it bounds what a sandbox can write.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

CPU_GRACE_S = 10  # from the soft CPU limit (SIGXCPU, catchable) to the hard one (SIGKILL)
MAX_PIDS = 256  # tasks (processes and threads) of one student's grading unit
_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


def _root() -> Path | None:
    for root in _ROOTS:
        if (root / "cgroup.procs").exists() and os.access(root, os.W_OK):
            if root.name == "pids" or "pids" in (root / "cgroup.subtree_control").read_text(errors="replace"):
                return root
    return None


def process_limit_available() -> bool:
    return _root() is not None


def cgroup_of(pid: int) -> Path | None:
    root = _root()
    return None if root is None else root / f"course-grade-{pid}"


def join_pids_cgroup(pids: int) -> bool:
    """In the child: make a cgroup for this process with ``pids.max`` = ``pids`` and move into it."""
    group = cgroup_of(os.getpid())
    if group is None:
        return False
    try:
        group.mkdir(exist_ok=True)
        (group / "pids.max").write_text(str(pids))
        (group / "cgroup.procs").write_text(str(os.getpid()))
        return True
    except OSError:
        return False


def release_pids_cgroup(pid: int) -> None:
    """Remove ``pid``'s cgroup once its processes are gone (the parent calls this after the wait)."""
    group = cgroup_of(pid)
    if group is not None:
        try:
            group.rmdir()
        except OSError:
            pass


def apply_limits(mem_mb: int | None, cpu_s: int | None, new_session: bool = False, pids: int | None = None,
                 fsize_mb: int | None = None) -> None:
    """In the child, before it runs anything: an address-space limit of ``mem_mb`` MB and ``cpu_s`` CPU seconds
    (None or 0: no limit), inherited by every process it starts; ``new_session``: its own session (a process
    group the grader can kill whole); ``pids``: at most that many tasks (:func:`join_pids_cgroup`); ``fsize_mb``:
    no file written larger than that."""
    if new_session:
        os.setsid()
    if pids:
        join_pids_cgroup(pids)
    if mem_mb:
        resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
    if cpu_s:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + CPU_GRACE_S))
    if fsize_mb:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_mb << 20, fsize_mb << 20))


def limits(mem_mb: int | None, cpu_s: int | None, new_session: bool = False, pids: int | None = None,
           fsize_mb: int | None = None):
    """:func:`apply_limits` as a ``preexec_fn`` for :class:`subprocess.Popen`."""
    return lambda: apply_limits(mem_mb, cpu_s, new_session, pids, fsize_mb)
