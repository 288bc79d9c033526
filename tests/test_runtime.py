"""course.runtime: quick mode, and the one place BLAS threads are set (``import course`` applies the rule)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from course.runtime import blas_threads_wanted, quick_mode

PROBE = "import numpy, course; from course.runtime import blas_threads; print(sorted(blas_threads().values()))"


def _threads_seen(**env) -> str:
    full = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                            "MKL_NUM_THREADS", "COURSE_BLAS_THREADS")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", PROBE], env=full, capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()


def test_import_course_sets_one_blas_thread_even_when_numpy_came_first():
    assert _threads_seen() == "[1]"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores to see a second thread")
def test_course_blas_threads_overrides_the_rule():
    assert _threads_seen(COURSE_BLAS_THREADS="2") == "[2]"


def test_wanted_threads_and_quick_mode(monkeypatch):
    monkeypatch.delenv("COURSE_BLAS_THREADS", raising=False)
    assert blas_threads_wanted() == 1
    monkeypatch.setenv("COURSE_BLAS_THREADS", "default")
    assert blas_threads_wanted() is None
    monkeypatch.setenv("COURSE_BLAS_THREADS", "many")
    with pytest.raises(ValueError, match="COURSE_BLAS_THREADS"):
        blas_threads_wanted()
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert not quick_mode()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert quick_mode()
