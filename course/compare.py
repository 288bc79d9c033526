"""Shared machinery for the checks: calling student code safely and comparing results with clear messages.

Every check goes through :func:`call` and the ``expect_*`` comparisons below. Contract (stable API used by
the course's checks and the visible-test helpers in :mod:`course.testing`):

``call(fn, *args, name=None, may_modify=(), forbid_warnings=False, warnings_out=None,
check_inputs_unchanged=True, **kwargs)``
    Runs ``fn(*args, **kwargs)`` and returns its result. ``fn`` may be a local function or a handle to a
    function in the student's process (a remote handle of the grader's channel): both behave the same.

    * Skeleton (``NotImplementedError``) and crashes become a readable :class:`CheckFailure`.
    * **In-place changes** (item 4 of issue 12): every argument is deep-copied, ``fn`` gets the copies, and
      afterwards each copy is compared with the original *at any depth* (arrays inside tuples, lists and
      dicts, e.g. a cache tuple or a params dict; dict keys and list lengths too). A difference fails with
      the path of the changed object (``argument #3[1][0]``). ``may_modify`` lists the arguments the spec
      lets (or requires) ``fn`` to change: positional indices (0-based ints) and/or keyword names. Those
      objects are passed **as they are** (not copied) and not compared, so the check can inspect what ``fn``
      did to them (e.g. ``sgd_step``: ``call(fn, params, grads, lr, may_modify=(0,))`` then look at
      ``params``). ``check_inputs_unchanged=False`` turns the comparison off for all arguments (legacy).
    * **Warnings and floating-point errors** (item 2): warnings raised while ``fn`` runs are recorded, with
      NumPy's divide/overflow/invalid errors turned into ``RuntimeWarning`` for the call (underflow ignored),
      on the side where ``fn`` runs: in this process for a local function, in the student's process (kernel
      or sandbox) for a remote one, whose reply carries them back. ``forbid_warnings=True`` fails on any
      ``RuntimeWarning`` (NumPy's floating-point errors); a tuple of categories (e.g. ``(Warning,)``) forbids
      those instead. The message names the warning and the inputs, e.g. ``sigmoid_forward raised
      RuntimeWarning: overflow encountered in exp (called with: array of shape (7,), float64, values from
      -1e+04 to 1e+04)``, hint key ``fp_overflow``/``fp_invalid``/``fp_divide``/``warning``. Pass a list as
      ``warnings_out`` to receive every recorded ``(category_name, message)``. Warnings that are not
      forbidden are re-issued to the caller's context afterwards (an enclosing ``warnings`` filter sees them).
      A function that silences NumPy itself (``with np.errstate(over="ignore")``) is not reported.

``time_calls(fn, *args, repeats=5, **kwargs) -> list[float]``
    Seconds of each of ``repeats`` back-to-back runs of ``fn``, measured in the process where ``fn`` runs
    (the channel excluded; each run gets fresh copies of the arguments). See ``RemoteFunction.time_calls``
    for how the judge's clock bounds the student's.

``fail(message, hint=None)`` / ``CheckFailure(message, hint=None)``
    A failure may carry a **hint key** naming the failing property; the grader's report maps keys to
    hints (:mod:`course.hints`, the home of every key and its text). The ``expect_*`` helpers
    set ``shape``, ``tuple``, ``nonfinite``, ``values``, ``numeric``; :func:`call` sets ``not_implemented``,
    ``raised`` (``raised_KeyError`` etc. for common exception types), ``inplace`` and the warning keys.
"""

from __future__ import annotations

import builtins
import copy
import math
import time
import warnings
from contextlib import contextmanager

import numpy as np

from course.hints import HINTS, hint_key
from course.i18n import gettext as _
from course.i18n import join

#: Hint keys a check may attach with ``fail(message, hint=KEY)``; each has its text in :mod:`course.hints`.
HINT_KEYS = frozenset(HINTS)


class CheckFailure(AssertionError):
    """Raised by a check when the student's function is wrong; the message says how, ``hint`` (a key of
    :data:`HINT_KEYS` or None) names the failing property."""

    def __init__(self, message: str = "", hint: str | None = None):
        super().__init__(message)
        # no key: the pattern found in the English (a catalog message remembers it), the same in every language
        self.hint = hint if hint is not None else hint_key(message)


class NotImplementedYet(CheckFailure, NotImplementedError):
    """The function is still the skeleton (it raised NotImplementedError)."""


def fail(message: str, hint: str | None = None):
    raise CheckFailure(message, hint)


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return _("array of shape {shape}, dtype {dtype}", shape=value.shape, dtype=value.dtype)
    if isinstance(value, (list, tuple)):
        return _("{kind} of length {length}", kind=type(value).__name__, length=len(value))
    return type(value).__name__


def _describe_input(value) -> str:
    """Like _describe, with the value range of numeric arrays (for warning messages)."""
    if isinstance(value, np.ndarray) and value.size and value.dtype.kind in "iuf":
        if value.dtype.kind == "f" and np.all(np.isnan(value)):
            return _("array of shape {shape}, {dtype}, all nan", shape=value.shape, dtype=value.dtype)
        lo, hi = np.nanmin(value), np.nanmax(value)
        return _("array of shape {shape}, {dtype}, values from {lo:.3g} to {hi:.3g}", shape=value.shape,
                 dtype=value.dtype, lo=float(lo), hi=float(hi))
    if isinstance(value, (bool, int, float)):
        return repr(value)
    return _describe(value)


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.random.Generator):
        return value  # generators are passed as is: the check owns them
    if callable(value):
        return value
    return copy.deepcopy(value)


def _skeleton(name: str) -> NotImplementedYet:
    return NotImplementedYet(_("{name} is not implemented yet: replace `raise NotImplementedError()` with your code.",
                               name=name), "not_implemented")


def _num(v) -> str:
    try:
        return f"{v.item() if hasattr(v, 'item') else v:.6g}"
    except (TypeError, ValueError):
        return repr(v)


def _first_change(orig, used, path: str):
    """(path, what changed) for the first difference between an argument and the copy ``fn`` got, or None."""
    if isinstance(orig, np.ndarray):
        if not isinstance(used, np.ndarray):
            return path, _("an array of shape {shape} was replaced by {new}", shape=orig.shape, new=_describe(used))
        if used.shape != orig.shape or used.dtype != orig.dtype:
            return path, _("an array of shape {shape}, {dtype} became shape {new_shape}, {new_dtype}",
                           shape=orig.shape, dtype=orig.dtype, new_shape=used.shape, new_dtype=used.dtype)
        nan = orig.dtype.kind in "fc"
        if not np.array_equal(orig, used, equal_nan=nan):
            diff = ~((orig == used) | (np.isnan(orig) & np.isnan(used))) if nan else orig != used
            idx = tuple(int(i) for i in np.argwhere(diff)[0]) if orig.ndim else ()
            return path, _("an array of shape {shape} changed, e.g. at index {index}: {old} -> {new}",
                           shape=orig.shape, index=idx, old=_num(orig[idx]), new=_num(used[idx]))
        return None
    if isinstance(orig, np.random.Generator) or callable(orig):
        return None
    if isinstance(orig, dict):
        if not isinstance(used, dict) or set(orig) != set(used):
            keys = sorted(map(repr, used)) if isinstance(used, dict) else _describe(used)
            return path, _("a dict with keys {keys} now has keys {new}", keys=sorted(map(repr, orig)), new=keys)
        for k in orig:
            found = _first_change(orig[k], used[k], f"{path}[{k!r}]")
            if found:
                return found
        return None
    if isinstance(orig, (list, tuple)):
        if not isinstance(used, (list, tuple)) or len(used) != len(orig):
            return path, _("a {kind} of length {length} became {new}", kind=type(orig).__name__, length=len(orig),
                           new=_describe(used))
        for j, (a, b) in enumerate(zip(orig, used)):
            found = _first_change(a, b, f"{path}[{j}]")
            if found:
                return found
        return None
    try:
        same = bool(orig == used) or (isinstance(orig, float) and math.isnan(orig) and math.isnan(used))
    except Exception:
        return None
    return None if same else (path, _("{old!r} became {new!r}", old=orig, new=used))


_FP_KEYS = (("overflow", "fp_overflow"), ("invalid value", "fp_invalid"), ("divide by zero", "fp_divide"))


@contextmanager
def recording_warnings(log: list):
    """Record ``(category_name, message)`` of every warning raised inside into ``log``; NumPy's divide,
    overflow and invalid errors warn (underflow is ignored). Used by :func:`call` and by the student side of
    the judge's channel."""
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        try:
            yield log
        finally:
            for w in caught[:50]:
                log.append((w.category.__name__, str(w.message)[:500]))


def warning_category(name: str) -> type[Warning]:
    """The Warning class called ``name`` (builtins or NumPy), else UserWarning."""
    cls = getattr(builtins, name, None) or getattr(getattr(np, "exceptions", None), name, None)
    return cls if isinstance(cls, type) and issubclass(cls, Warning) else UserWarning


def reissue_warnings(records, where: str = "<student code>") -> None:
    """Raise recorded ``(category_name, message)`` warnings again here (for an enclosing recorder/filter)."""
    for cat, msg in records:
        cls = warning_category(str(cat))
        text = str(msg) if cls is not UserWarning or cat == "UserWarning" else f"{cat}: {msg}"
        warnings.warn_explicit(text, cls, where, 0)


def _forbidden(records, forbid) -> tuple | None:
    if not forbid:
        return None
    cats = (RuntimeWarning,) if forbid is True else tuple(forbid)
    for cat, msg in records:
        if issubclass(warning_category(cat), cats):
            return cat, msg
    return None


def call(fn, *args, name: str | None = None, check_inputs_unchanged: bool = True, may_modify=(),
         forbid_warnings=False, warnings_out: list | None = None, **kwargs):
    """Call ``fn(*args, **kwargs)`` on copies of the inputs and return its result (contract: module docstring).

    Raises CheckFailure when ``fn`` is still the skeleton, crashes, modifies an input it may not modify (at
    any depth), or raises a forbidden warning.
    """
    name = name or getattr(fn, "__name__", None) or _("your function")
    if not callable(fn):
        fail(_("{name}: expected a function, got {got}", name=name, got=_describe(fn)))
    allowed = set(may_modify)
    given = [a if i in allowed else _copy(a) for i, a in enumerate(args)]
    given_kw = {k: v if k in allowed else _copy(v) for k, v in kwargs.items()}
    records: list = []
    try:
        with recording_warnings(records):
            result = fn(*given, **given_kw)
    except NotImplementedError:
        raise _skeleton(name) from None
    except CheckFailure:
        raise
    except Exception as exc:  # the student's bug, reported with the input shapes
        if getattr(exc, "remote_died", False):  # the student's process is gone (the grader's channel)
            raise
        # ``ename``: the original type name of an exception raised in the student's process
        ename = getattr(exc, "ename", None) or type(exc).__name__
        if ename == "NotImplementedError":
            raise _skeleton(name) from None
        shapes = join(_describe(a) for a in args)
        key = f"raised_{ename}" if f"raised_{ename}" in HINT_KEYS else "raised"
        fail(_("{name} raised {error_type}: {error}\n  (called with: {inputs})", name=name, error_type=ename, error=exc,
               inputs=shapes), key)
    if warnings_out is not None:
        warnings_out.extend(records)
    bad = _forbidden(records, forbid_warnings)
    if bad:
        key = next((k for text, k in _FP_KEYS if text in bad[1]), "warning")
        inputs = join(_describe_input(a) for a in args)
        fail(_("{name} raised {warning_type}: {warning} (called with: {inputs}); it must not warn on these inputs",
               name=name, warning_type=bad[0], warning=bad[1], inputs=inputs), key)
    if check_inputs_unchanged:
        pairs = [(f"#{i + 1}", a, g) for i, (a, g) in enumerate(zip(args, given)) if i not in allowed]
        pairs += [(repr(k), v, given_kw[k]) for k, v in kwargs.items() if k not in allowed]
        for label, orig, used in pairs:
            found = _first_change(orig, used, "")
            if found:
                if found[0]:
                    fail(_("{name} modified its input argument {label} in place (at {label}{path}): {change}; work "
                           "on a copy instead.", name=name, label=label, path=found[0], change=found[1]), "inplace")
                fail(_("{name} modified its input argument {label} in place: {change}; work on a copy instead.",
                       name=name, label=label, change=found[1]), "inplace")
    reissue_warnings(records, f"<{name}>")
    return result


def time_calls(fn, *args, repeats: int = 5, **kwargs) -> list[float]:
    """Seconds each of ``repeats`` back-to-back runs of ``fn(*args, **kwargs)`` took, timed where ``fn`` runs.

    A remote function (``RemoteFunction.time_calls``) is timed inside the student's process, so the channel is
    not counted; a local one here. Every run gets fresh copies of the arguments; results are discarded.
    """
    if getattr(type(fn), "time_calls", None) is not None:  # a remote handle: timed where it runs
        return list(fn.time_calls(args, kwargs, repeats))
    out = []
    for _run in range(repeats):
        a = [_copy(v) for v in args]
        kw = {k: _copy(v) for k, v in kwargs.items()}
        t0 = time.perf_counter()
        fn(*a, **kw)
        out.append(time.perf_counter() - t0)
    return out


def expect_tuple(value, length: int, what: str, names: str = ""):
    """``value`` must be a tuple (or list) of ``length`` items."""
    if not isinstance(value, (tuple, list)) or len(value) != length:
        if names:
            fail(_("{what} should return a tuple of {length} items ({names}), got {got}", what=what, length=length,
                   names=names, got=_describe(value)), "tuple")
        fail(_("{what} should return a tuple of {length} items, got {got}", what=what, length=length,
               got=_describe(value)), "tuple")
    return tuple(value)


def as_array(value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception:
        fail(_("{what} should be a NumPy array, got {got}", what=what, got=_describe(value)), "numeric")
    if arr.dtype == object:
        fail(_("{what} should be a numeric array, got an array of Python objects", what=what), "numeric")
    return arr


def expect_shape(value, shape: tuple, what: str) -> np.ndarray:
    arr = as_array(value, what)
    if arr.shape != tuple(shape):
        fail(_("{what} has shape {shape}, expected {expected}", what=what, shape=arr.shape, expected=tuple(shape)),
             "shape")
    return arr


def pair(got: float, expected: float) -> tuple[str, str]:
    """``got`` and ``expected`` printed with the fewest significant digits (6 to 17) that tell them apart."""
    for digits in (6, 9, 12, 17):
        a, e = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if a != e:
            break
    return a, e


def _low_precision(arr: np.ndarray, expected: np.ndarray) -> bool:
    """The answer is float32/float16 where the expected values are float64 (the input's dtype was not kept)."""
    return arr.dtype.kind == "f" and arr.dtype.itemsize < 8 and expected.dtype == np.float64


def expect_close(actual, expected, what: str, rtol: float = 1e-6, atol: float = 1e-8,
                 hint: str = "values") -> np.ndarray:
    """Shapes must match and values agree within ``atol + rtol * |expected|`` everywhere (``hint``: the key of
    a value mismatch; shape and nan/inf failures have their own).

    dtype contract: a float64 ``expected`` needs a float64 answer (a float32 one fails with the ``float32``
    hint); a float32 ``expected`` (the contract allows float32: the input was float32) is compared with
    tolerances scaled to float32 (``rtol`` at least 1e-5)."""
    expected = np.asarray(expected)
    arr = expect_shape(actual, expected.shape, what)
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        fail(_("{what} should be numeric, got dtype {dtype}", what=what, dtype=arr.dtype), "numeric")
    if _low_precision(arr, expected):
        fail(_("{what} is {dtype}, but the inputs were float64: keep the input's dtype (compute and return "
               "float64 here; float32 in, float32 out is for training)", what=what, dtype=arr.dtype), "float32")
    if expected.dtype == np.float32 and arr.dtype.kind == "f" and rtol > 0:
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        rtol, atol = max(rtol, 1e-5), max(atol, 1e-6 * scale) if atol else atol
    a = arr.astype(np.float64)
    e = expected.astype(np.float64)
    if not np.all(np.isfinite(a) | ~np.isfinite(e)) or np.any(np.isnan(a) != np.isnan(e)):
        bad = np.argwhere(~np.isfinite(a))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        fail(_("{what} contains nan or inf (first at index {index}); expected finite values", what=what, index=where),
             "nonfinite")
    diff = np.abs(a - e)
    diff = np.where(np.isnan(diff) | (np.isinf(a) & (a == e)), 0.0, diff)
    tol = atol + rtol * np.abs(e)
    if np.any(diff > tol):
        idx = np.unravel_index(int(np.argmax(diff - tol)), diff.shape) if diff.ndim else ()
        idx = tuple(int(i) for i in idx)
        got, want = pair(float(a[idx]), float(e[idx]))
        err = float(diff[idx])
        rel = err / abs(float(e[idx])) if e[idx] else math.inf
        # a float32 computation of the right formula is off by about 1e-7 relative, far inside any visible error
        if hint == "values" and 1e-9 < rel < 1e-5:
            hint = "float32"
        fail(_("{what} is wrong: at index {index} got {got}, expected {expected} (error there {error:.3g}, relative "
               "{relative:.2g}; allowed {allowed:.3g}; {count} of {size} entries outside the tolerance)", what=what,
               index=idx, got=got, expected=want, error=err, relative=rel, allowed=float(tol[idx]),
               count=int(np.sum(diff > tol)), size=diff.size), hint)
    return arr


def expect_scalar(value, expected: float, what: str, rtol: float = 1e-6, atol: float = 1e-8,
                  hint: str = "values") -> float:
    arr = as_array(value, what)
    if arr.size != 1:
        fail(_("{what} should be a single number, got {got}", what=what, got=_describe(value)), "shape")
    got = float(arr.reshape(()))
    if math.isnan(got) and not math.isnan(expected):
        fail(_("{what} is nan, expected {expected!r}", what=what, expected=expected), "nonfinite")
    if not (got == expected or abs(got - expected) <= atol + rtol * abs(expected)):
        a, e = pair(got, float(expected))
        rel = abs(got - expected) / abs(expected) if expected else math.inf
        if hint == "values" and 1e-9 < rel < 1e-5:
            hint = "float32"
        fail(_("{what} is {got}, expected {expected} (relative error {relative:.2g})", what=what, got=a, expected=e,
               relative=rel), hint)
    return got


def rngs(seed: int, count: int) -> list[np.random.Generator]:
    """``count`` independent seeded generators for random test cases."""
    return [np.random.default_rng([seed, i]) for i in range(count)]
