"""The dtype contract the graded functions' docstrings state, checked: float32 in, float32 out.

The chapters train in float32. An answer that returns float64 for float32 inputs (``np.zeros(shape)`` without
``dtype=``, a float64 constant array, ``np.array(..., dtype=float)``) has the right values and passes every float64
case; it then makes every later layer of a training step compute in float64. ``expect_float32`` fails such an
answer with a message naming the dtype (hint ``dtype``), then compares the values to float32 precision.
"""

from __future__ import annotations

import numpy as np

from autograder.chapters.messages import gettext as _
from course.compare import as_array, expect_close, fail


def expect_float32(value, expected, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> np.ndarray:
    """``value`` (an output computed from float32 inputs) must be a float32 array close to ``expected``."""
    arr = as_array(value, what)
    if arr.dtype != np.float32:
        if arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
            fail(_("{what} has dtype {dtype}, but every input was float32: keep the inputs' dtype (float32 in, float32 "
                   "out, as the docstring says; the chapter trains in float32 and a {dtype} result doubles the memory "
                   "and time of every later step of training). Create arrays with the input's dtype (np.zeros(shape, "
                   "dtype=x.dtype); np.zeros(shape) alone is float64).", what=what, dtype=arr.dtype), "dtype")
        fail(_("{what} has dtype {dtype}, but every input was float32: keep the inputs' dtype (float32 in, float32 "
               "out, as the docstring says; the chapter trains in float32 and a {dtype} result is not the training "
               "dtype). Create arrays with the input's dtype (np.zeros(shape, dtype=x.dtype); np.zeros(shape) alone is "
               "float64).", what=what, dtype=arr.dtype), "dtype")
    return expect_close(arr, np.asarray(expected, dtype=np.float32), what, rtol, atol)
