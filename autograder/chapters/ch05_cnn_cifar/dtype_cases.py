"""Chapter 5's dtype contract, checked: float32 in, float32 out (every graded function's docstring says so).

The chapter trains in float32. A layer that returns float64 for float32 inputs (``np.zeros(shape)`` or
``np.full(shape, -np.inf)`` without ``dtype=``, a float64 constant) gives the right values, passes every float64
case, and then makes each later layer of every training step compute in float64: twice the memory and up to twice
the time. ``check_float32(name, fn)`` calls ``fn`` on a float32 problem and asks for float32 outputs with the
reference's values (to float32 precision, through the chapters' shared
:func:`autograder.chapters.float32_contract.expect_float32`); it runs after the float64 cases, so a wrong value is
reported first.
"""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch05_cnn_cifar import reference as ref
from autograder.chapters.float32_contract import expect_float32
from autograder.chapters.messages import gettext as _
from course.compare import call, expect_tuple


def _problem(seed=570):
    """x (2, 3, 6, 5), w (4, 3, 3, 3), b (4,), stride 1, pad 1, all float32."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 3, 6, 5)).astype(np.float32)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    return rng, x, w, b, 1, 1


def check_float32(name: str, fn) -> None:
    """``fn`` (the graded function ``name``) on float32 inputs: float32 outputs with the reference's values."""
    rng, x, w, b, stride, pad = _problem()
    what = _("{name} on float32 inputs (x {x}, w {w}, stride={stride}, pad={pad})", name=name, x=x.shape, w=w.shape,
             stride=stride, pad=pad)
    if name in ("conv_forward_naive", "conv_forward_fast"):
        out = expect_tuple(call(fn, x, w, b, stride, pad), 2, what, "out, cache")[0]
        expect_float32(out, ref.conv_forward_naive(x, w, b, stride, pad)[0], _("{what}: {name}", what=what, name="out"))
    elif name in ("conv_backward_naive", "conv_backward_fast"):
        forward = ref.conv_forward_fast if name.endswith("fast") else ref.conv_forward_naive
        out, cache = forward(x, w, b, stride, pad)
        dout = rng.normal(size=out.shape).astype(np.float32)
        res = expect_tuple(call(fn, dout, cache), 3, what, "dx, dw, db")
        for label, got, expected in zip(("dx", "dw", "db"), res, ref.conv_backward_naive(dout, cache[:5])):
            expect_float32(got, expected, _("{what}: {name}", what=what, name=label))
    elif name == "im2col":
        what = _("im2col on a float32 x {shape} (kh=3, kw=3, stride={stride}, pad={pad})", shape=x.shape,
                 stride=stride, pad=pad)
        expect_float32(call(fn, x, 3, 3, stride, pad), ref.im2col(x, 3, 3, stride, pad), what)
    elif name == "col2im":
        cols = ref.im2col(x, 3, 3, stride, pad)
        what = _("col2im on float32 cols {cols} (x_shape={shape}, kh=3, kw=3, stride={stride}, pad={pad})",
                 cols=cols.shape, shape=x.shape, stride=stride, pad=pad)
        expect_float32(call(fn, cols, x.shape, 3, 3, stride, pad), ref.col2im(cols, x.shape, 3, 3, stride, pad), what)
    elif name == "maxpool_forward":
        what = _("maxpool_forward on a float32 x {shape} (size=2, stride=2)", shape=x.shape)
        out = expect_tuple(call(fn, x, 2, 2), 2, what, "out, cache")[0]
        expect_float32(out, ref.maxpool_forward(x, 2, 2)[0], _("{what}: {name}", what=what, name="out"))
    elif name == "maxpool_backward":
        out, cache = ref.maxpool_forward(x, 2, 2)
        dout = rng.normal(size=out.shape).astype(np.float32)
        what = _("maxpool_backward on float32 dout {dout} and x {shape} (size=2, stride=2)", dout=dout.shape,
                 shape=x.shape)
        expect_float32(call(fn, dout, cache), ref.maxpool_backward(dout, cache), what)
    else:
        raise ValueError(f"no float32 case for {name}")  # a course error (instructor-side), never a learner's
