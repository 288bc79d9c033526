"""Shared machinery for the checks: calling student code safely and comparing results with clear messages.

Every check goes through :func:`call` (copies inputs, turns ``NotImplementedError`` and crashes into a
readable AssertionError, reports modified inputs) and the ``expect_*`` comparisons below.
"""

from __future__ import annotations

import copy
import math

import numpy as np


class CheckFailure(AssertionError):
    """Raised by a check when the student's function is wrong; the message says how."""


class NotImplementedYet(CheckFailure, NotImplementedError):
    """The function is still the skeleton (it raised NotImplementedError)."""


def fail(message: str):
    raise CheckFailure(message)


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.random.Generator):
        return value  # generators are passed as is: the check owns them
    if callable(value):
        return value
    return copy.deepcopy(value)


def _skeleton(name: str) -> NotImplementedYet:
    return NotImplementedYet(f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code.")


def call(fn, *args, name: str | None = None, check_inputs_unchanged: bool = True, **kwargs):
    """Call ``fn(*args, **kwargs)`` on copies of the inputs and return its result.

    Raises CheckFailure when ``fn`` is still the skeleton, crashes, or modifies an input array in place.
    """
    name = name or getattr(fn, "__name__", "your function")
    if not callable(fn):
        fail(f"{name}: expected a function, got {_describe(fn)}")
    given = [_copy(a) for a in args]
    given_kw = {k: _copy(v) for k, v in kwargs.items()}
    try:
        result = fn(*given, **given_kw)
    except NotImplementedError:
        raise _skeleton(name) from None
    except CheckFailure:
        raise
    except Exception as exc:  # the student's bug, reported with the input shapes
        if getattr(exc, "remote_died", False):  # the student's process is gone (autograder.protocol)
            raise
        # ``ename``: the original type name of an exception raised in the student's process
        ename = getattr(exc, "ename", None) or type(exc).__name__
        if ename == "NotImplementedError":
            raise _skeleton(name) from None
        shapes = ", ".join(_describe(a) for a in args)
        fail(f"{name} raised {ename}: {exc}\n  (called with: {shapes})")
    if check_inputs_unchanged:
        for i, (orig, used) in enumerate(zip(args, given)):
            if isinstance(orig, np.ndarray) and (orig.shape != used.shape or not np.array_equal(orig, used)):
                fail(f"{name} modified its input argument #{i + 1} in place; work on a copy instead.")
    return result


def expect_tuple(value, length: int, what: str, names: str = ""):
    """``value`` must be a tuple (or list) of ``length`` items."""
    if not isinstance(value, (tuple, list)) or len(value) != length:
        hint = f" ({names})" if names else ""
        fail(f"{what} should return a tuple of {length} items{hint}, got {_describe(value)}")
    return tuple(value)


def as_array(value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception:
        fail(f"{what} should be a NumPy array, got {_describe(value)}")
    if arr.dtype == object:
        fail(f"{what} should be a numeric array, got an array of Python objects")
    return arr


def expect_shape(value, shape: tuple, what: str) -> np.ndarray:
    arr = as_array(value, what)
    if arr.shape != tuple(shape):
        fail(f"{what} has shape {arr.shape}, expected {tuple(shape)}")
    return arr


def expect_close(actual, expected, what: str, rtol: float = 1e-6, atol: float = 1e-8) -> np.ndarray:
    """Shapes must match and values agree within ``atol + rtol * |expected|`` everywhere."""
    expected = np.asarray(expected)
    arr = expect_shape(actual, expected.shape, what)
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        fail(f"{what} should be numeric, got dtype {arr.dtype}")
    a = arr.astype(np.float64)
    e = expected.astype(np.float64)
    if not np.all(np.isfinite(a) | ~np.isfinite(e)) or np.any(np.isnan(a) != np.isnan(e)):
        bad = np.argwhere(~np.isfinite(a))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        fail(f"{what} contains nan or inf (first at index {where}); expected finite values")
    diff = np.abs(a - e)
    diff = np.where(np.isnan(diff) | (np.isinf(a) & (a == e)), 0.0, diff)
    tol = atol + rtol * np.abs(e)
    if np.any(diff > tol):
        idx = np.unravel_index(int(np.argmax(diff - tol)), diff.shape) if diff.ndim else ()
        idx = tuple(int(i) for i in idx)
        fail(f"{what} is wrong: at index {idx} got {float(a[idx]):.6g}, expected {float(e[idx]):.6g} "
             f"(largest absolute error {float(diff.max()):.3g})")
    return arr


def expect_scalar(value, expected: float, what: str, rtol: float = 1e-6, atol: float = 1e-8) -> float:
    arr = as_array(value, what)
    if arr.size != 1:
        fail(f"{what} should be a single number, got {_describe(value)}")
    got = float(arr.reshape(()))
    if math.isnan(got) and not math.isnan(expected):
        fail(f"{what} is nan, expected {expected!r}")
    if not (got == expected or abs(got - expected) <= atol + rtol * abs(expected)):
        fail(f"{what} is {got!r}, expected {expected!r}")
    return got


def rngs(seed: int, count: int) -> list[np.random.Generator]:
    """``count`` independent seeded generators for random test cases."""
    return [np.random.default_rng([seed, i]) for i in range(count)]
