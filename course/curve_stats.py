"""Robust statistics of noisy recorded curves, for the diagnosis rules: block means, medians, a noise estimate.

Curves are lists of ``(step, value)`` points. Everything is float64 NumPy under ``errstate(all="ignore")``, so
values such as 1e200, inf or nan never raise (Python floats would: ``x ** 2`` and ``math.fsum`` overflow).
"""

from __future__ import annotations

import math

import numpy as np

# np.median imports numpy.ma on its first call: 10-30 ms inside a watched loop's first evaluation, the largest single
# cost of a monitor on a sub-second loop; imported with the monitor instead
import numpy.ma  # noqa: F401

MAD_TO_SD = 1.4826  # median absolute deviation -> standard deviation of a normal distribution


def as_float64(a) -> np.ndarray:
    """Any array-like as a float64 array (no copy when it already is one)."""
    return np.asarray(a, np.float64)


def values(points) -> np.ndarray:
    """The values of ``[(step, value), ...]`` as a float64 array."""
    return np.array([v for _, v in points], dtype=np.float64)


def recent(points, n: int) -> np.ndarray | None:
    """The last ``n`` values, or None when there are fewer."""
    return values(points[-n:]) if len(points) >= n else None


def median(a) -> float:
    """The median (nan for an empty array or one holding a nan, as np.median); short arrays sorted in Python,
    which is several times faster than np.median for the few samples the rules look at."""
    a = as_float64(a)
    if a.size > 64:
        return float(np.median(a))
    v = sorted(a.ravel().tolist())
    if not v or v[-1] != v[-1] or any(x != x for x in v):
        return math.nan
    h = len(v) // 2
    return v[h] if len(v) % 2 else 0.5 * (v[h - 1] + v[h])


def noise_sd(a) -> float:
    """Point-to-point noise of a curve: the robust spread (MAD) of its first differences / sqrt(2). Slow trends
    barely change the differences, so this is the noise around the trend."""
    a = as_float64(a)
    if a.size < 3:
        return math.inf
    with np.errstate(all="ignore"):
        d = np.diff(a)
        sd = MAD_TO_SD * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2)
    return sd if math.isfinite(sd) else math.inf


def block_means(a, size: int) -> np.ndarray:
    """Means of consecutive blocks of ``size`` values, aligned so that the last block ends at the last value."""
    a = as_float64(a)
    n = a.size // size
    if n == 0:
        return np.empty(0)
    with np.errstate(all="ignore"):
        return a[a.size - n * size:].reshape(n, size).mean(axis=1)


def log_or_linear(a) -> tuple[np.ndarray, bool]:
    """log10 of the values when all are positive (loss curves are multiplicative), else the values; and whether
    the log was taken."""
    a = as_float64(a)
    if a.size and np.all(a > 0):
        with np.errstate(all="ignore"):
            return np.log10(a), True
    return a, False


def first_at_or_after(points, step):
    """The value of the first point at or after ``step`` (None if there is none)."""
    for s, v in points:
        if s >= step:
            return v
    return None
