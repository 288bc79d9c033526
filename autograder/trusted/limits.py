"""The resource limits of every process that runs student code or judges it (the one place they are set)."""

from __future__ import annotations

import os
import resource

CPU_GRACE_S = 10  # from the soft CPU limit (SIGXCPU, catchable) to the hard one (SIGKILL)


def apply_limits(mem_mb: int | None, cpu_s: int | None, new_session: bool = False) -> None:
    """In the child, before it runs anything: an address-space limit of ``mem_mb`` MB and ``cpu_s`` CPU seconds
    (None or 0: no limit), inherited by every process it starts; ``new_session``: its own session (a process
    group the grader can kill whole)."""
    if new_session:
        os.setsid()
    if mem_mb:
        resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
    if cpu_s:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + CPU_GRACE_S))


def limits(mem_mb: int | None, cpu_s: int | None, new_session: bool = False):
    """:func:`apply_limits` as a ``preexec_fn`` for :class:`subprocess.Popen`."""
    return lambda: apply_limits(mem_mb, cpu_s, new_session)
