"""How the notebooks' demos run: how much work they do, and on how many BLAS threads.

``quick_mode()`` is True under nbgrader (``NBGRADER_EXECUTION`` is set: grading only needs the graded cells,
so demos train for a token number of steps) or when ``COURSE_QUICK=1`` (the tests). Notebooks use it as::

    epochs = 2 if quick_mode() else 20

Every demo trains for a fixed number of steps or epochs (never a wall-clock budget), so for a given seed a
printed result is the same on any machine; only the times it prints depend on the machine.

``set_blas_threads()`` is the one place the course sets BLAS threads; ``import course`` calls it. The rule,
measured on every chapter's training loop (``benchmarks/bench_threads.py``, figures in benchmarks/RESULTS.md):
one thread. The course's matrix products are small (batches of 32-4096 rows, layers of 10-12288 units); on
two shared cores OpenBLAS's second thread made them 2-6x slower, and far slower still when the machine was
busy. ``COURSE_BLAS_THREADS=N`` chooses N threads instead, ``COURSE_BLAS_THREADS=default`` leaves BLAS alone.
"""

from __future__ import annotations

import os

from course.i18n import gettext as _

DEFAULT_BLAS_THREADS = 1
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def quick_mode() -> bool:
    """True when demos should be cut short (under nbgrader, or COURSE_QUICK=1)."""
    if os.environ.get("COURSE_QUICK", "").strip() not in ("", "0"):
        return True
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def blas_threads_wanted() -> int | None:
    """Threads the course wants for BLAS: COURSE_BLAS_THREADS if set (None for "default"), else 1."""
    raw = os.environ.get("COURSE_BLAS_THREADS", "").strip().lower()
    if raw in ("", "auto"):
        return DEFAULT_BLAS_THREADS
    if raw in ("default", "0", "none"):
        return None
    try:
        return max(1, int(raw))
    except ValueError:
        raise ValueError(_("COURSE_BLAS_THREADS={value!r}: give a number of threads or 'default'",
                           value=raw)) from None


def set_blas_threads(threads: int | None = None) -> int | None:
    """Limit the BLAS libraries NumPy loaded to `threads` (default: blas_threads_wanted()).

    Works after NumPy is imported (threadpoolctl talks to the loaded library). Returns the limit applied,
    or None when BLAS is left at its own default.
    """
    limit = blas_threads_wanted() if threads is None else threads
    if limit is None:
        return None
    for var in _THREAD_VARS:  # for processes started later (and for a BLAS loaded after this call)
        os.environ.setdefault(var, str(limit))
    import numpy  # noqa: F401  (loads the BLAS library, so threadpoolctl can find it)

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an environment without threadpoolctl: the variables above are all we can do
        return limit
    threadpool_limits(limits=limit, user_api="blas")
    return limit


def blas_threads() -> dict[str, int]:
    """Current thread count of each loaded BLAS library, e.g. {"openblas": 1}."""
    from threadpoolctl import threadpool_info

    return {i["internal_api"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
