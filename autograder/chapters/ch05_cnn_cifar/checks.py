"""Checks for chapter 5 (convolution, im2col, max-pooling).

Backward passes are graded with caches made by the reference forward passes, so the cache contracts in the
notebook (and in autograder.reference.ch05_cnn_cifar) are part of the exercise. The fast convolution is also
timed against the reference naive loops on a fixed shape: it must be at least ``SPEEDUP`` times faster.
"""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch05_cnn_cifar import reference as ref
from autograder.chapters.ch05_cnn_cifar.dtype_cases import check_float32
from autograder.chapters.ch05_cnn_cifar.step_timing import (
    POOL_FACTOR,
    check_batch_rule,
    check_step_rule,
    check_window_rule,
)
from autograder.chapters.messages import N_, join
from autograder.chapters.messages import gettext as _
from course.compare import HINT_KEYS, as_array, call, expect_close, expect_shape, expect_tuple, fail, rngs, time_calls

__all__ = [
    "check_conv_forward_naive",
    "check_conv_backward_naive",
    "check_im2col",
    "check_col2im",
    "check_conv_forward_fast",
    "check_conv_backward_fast",
    "check_maxpool_forward",
    "check_maxpool_backward",
]

SPEEDUP = 50  # the fast convolution must beat the naive loops by at least this factor
SPEED_ROUNDS, FAST_RUNS = 3, 5  # see _check_speed
SPEED_SHAPE = dict(x=(8, 3, 16, 16), w=(8, 3, 3, 3), stride=1, pad=1)

LAYOUT = N_("im2col layout: cols[(c * kh + p) * kw + q, (n * Ho + i) * Wo + j] = "
            "x_pad[n, c, i * stride + p, j * stride + q]")


def _conv_case(rng, case):
    """A random convolution problem; later cases add stride, padding, non-square kernels and images."""
    N, C, F = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    stride = 1 if case < 2 else int(rng.integers(1, 4))
    pad = 0 if case % 2 == 0 else int(rng.integers(1, 3))
    if case == 4:
        N, stride, pad = 3, 2, 1  # always one batch > 1 with stride and padding
    KH, KW = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    if case == 0:
        KH, KW = 3, 2  # non-square, non-symmetric kernel
    H = int(rng.integers(max(KH - 2 * pad, 1), 9))
    W = int(rng.integers(max(KW - 2 * pad, 1), 9))
    if case == 5:
        H, W = 5, 9  # non-square image
    if case == 7:
        N, C, F, H, W, KH, KW, stride, pad = 4, 3, 4, 16, 16, 3, 3, 1, 1  # a CIFAR-sized layer, several images
    x = rng.normal(size=(N, C, H, W))
    w = rng.normal(size=(F, C, KH, KW))
    b = rng.normal(size=F)
    what = f"x {x.shape}, w {w.shape}, stride={stride}, pad={pad}"  # code: the same in every language
    return x, w, b, stride, pad, what


CONV_CASES = 8


def _check_conv_forward(fn, name, fast):
    for case, rng in enumerate(rngs(501 if not fast else 502, CONV_CASES)):
        x, w, b, stride, pad, what = _conv_case(rng, case)
        res = expect_tuple(call(fn, x, w, b, stride, pad), 2, f"{name}({what})", "out, cache")
        out_ref, cache_ref = (ref.conv_forward_fast if fast else ref.conv_forward_naive)(x, w, b, stride, pad)
        call_text = f"{name}({what})"
        expect_close(res[0], out_ref, _("{what}: {name}", what=call_text, name="out"), 1e-6, 1e-8)
        n_cache = 6 if fast else 5
        names = "(x, w, b, stride, pad, cols)" if fast else "(x, w, b, stride, pad)"
        cache = expect_tuple(res[1], n_cache, _("{what}: {name}", what=call_text, name="cache"), names)
        expect_close(cache[0], x, _("{what}: cache[0] should be the input x (unpadded)", what=call_text), 0, 0,
                     "cache_contents")
        expect_close(cache[1], w, _("{what}: cache[1] should be the filters w", what=call_text), 0, 0,
                     "cache_contents")
        if (cache[3], cache[4]) != (stride, pad):
            fail(_("{what}: cache[3:5] should be (stride, pad) = ({stride}, {pad}), got {got}", what=call_text,
                   stride=stride, pad=pad, got=cache[3:5]), "cache_contents")
        if fast:
            expect_close(cache[5], cache_ref[5], _("{what}: cache[5] should be im2col(x, KH, KW, stride, pad) "
                                                   "({layout})", what=call_text, layout=_(LAYOUT)), 1e-12, 0, "layout")
    check_float32(name, fn)


def _check_conv_backward(fn, name, fast):
    forward = ref.conv_forward_fast if fast else ref.conv_forward_naive
    backward = ref.conv_backward_fast if fast else ref.conv_backward_naive
    for case, rng in enumerate(rngs(511 if not fast else 512, CONV_CASES)):
        x, w, b, stride, pad, what = _conv_case(rng, case)
        out, cache = forward(x, w, b, stride, pad)
        dout = rng.normal(size=out.shape)
        res = expect_tuple(call(fn, dout, cache), 3, _("{name}(dout, cache) for {case}", name=name, case=what),
                           "dx, dw, db")
        dx, dw, db = backward(dout, cache)
        call_text = f"{name}, {what}"
        if fast:
            _expect_dout_layout(res, dout, cache, call_text)
        expect_close(res[0], dx, _("{what}: {name}", what=call_text, name="dx"), 1e-6, 1e-8)
        expect_close(res[1], dw, _("{what}: dw (summed over the {n} images of the batch)", what=call_text,
                                   n=x.shape[0]), 1e-6, 1e-8)
        expect_close(res[2], db, _("{what}: {name}", what=call_text, name="db"), 1e-6, 1e-8)
    check_float32(name, fn)


def _expect_dout_layout(res, dout, cache, what):
    """dout.reshape(F, -1) without the transpose scrambles images and filters (right for one image only)."""
    N, F = dout.shape[:2]
    if N == 1:
        return
    x, w, b, stride, pad, cols = cache
    d2 = dout.reshape(F, -1)
    scrambled = (ref.col2im(w.reshape(F, -1).T @ d2, x.shape, w.shape[2], w.shape[3], stride, pad),
                 (d2 @ cols.T).reshape(w.shape), d2.sum(axis=1))
    hits = [name for name, got, bad in zip(("dx", "dw", "db"), res, scrambled)
            if np.shape(got) == bad.shape and np.allclose(np.asarray(got, dtype=np.float64), bad, 1e-6, 1e-8)]
    if hits and not np.allclose(scrambled[2], dout.sum(axis=(0, 2, 3))):
        fail(_("{what}: {names} match(es) what dout.reshape(F, -1) gives: dout is (N, F, Ho, Wo), so a plain reshape "
               "mixes the images and the filters (it is right only for N = 1). Bring F first: "
               "dout.transpose(1, 0, 2, 3).reshape(F, -1) has columns in im2col's (n, i, j) order", what=what,
               names=join(hits)), "dout_layout")


def check_conv_forward_naive(fn):
    """conv_forward_naive(x, w, b, stride, pad) -> (out, cache=(x, w, b, stride, pad)); cross-correlation."""
    _check_conv_forward(fn, "conv_forward_naive", fast=False)


def check_conv_backward_naive(fn):
    """conv_backward_naive(dout, cache) -> (dx, dw, db) for the reference naive cache."""
    _check_conv_backward(fn, "conv_backward_naive", fast=False)


def check_im2col(fn):
    """im2col(x, kh, kw, stride, pad) -> cols (C*kh*kw, N*Ho*Wo) in the documented layout."""
    for case, rng in enumerate(rngs(521, CONV_CASES)):
        x, w, _b, stride, pad, what = _conv_case(rng, case)
        F, C, KH, KW = w.shape
        expected = ref.im2col(x, KH, KW, stride, pad)
        cols = expect_shape(call(fn, x, KH, KW, stride, pad), expected.shape,
                            f"im2col(x {x.shape}, kh={KH}, kw={KW}, stride={stride}, pad={pad})")
        expect_close(cols, expected, _("im2col(x {shape}, kh={kh}, kw={kw}, stride={stride}, pad={pad}) [{layout}]",
                                       shape=x.shape, kh=KH, kw=KW, stride=stride, pad=pad, layout=_(LAYOUT)), 0, 0,
                     "layout")
    check_float32("im2col", fn)


def check_col2im(fn):
    """col2im(cols, x_shape, kh, kw, stride, pad) -> (N, C, H, W), overlapping windows accumulate.

    Windows that do not overlap come first, so a layout mistake is reported as one before any overlap.
    """
    cases = []
    for case, rng in enumerate(rngs(531, CONV_CASES)):
        x, w, _b, stride, pad, what = _conv_case(rng, case)
        cases.append((rng, x.shape, w.shape[2], w.shape[3], stride, pad))
    rng = np.random.default_rng(532)
    cases.append((rng, (2, 3, 6, 7), 3, 3, 1, 1))  # heavy overlap: a pixel is in up to 9 windows
    cases.append((rng, (1, 2, 7, 7), 3, 2, 2, 0))  # overlap in H only
    cases.append((rng, (3, 2, 6, 6), 2, 3, 3, 0))  # no overlap, several images and channels
    cases.sort(key=lambda c: c[4] < max(c[2], c[3]))  # stable: non-overlapping cases first
    for rng, shape, KH, KW, stride, pad in cases:
        N, C, H, W = shape
        Ho, Wo = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
        cols = rng.normal(size=(C * KH * KW, N * Ho * Wo))
        call_text = f"col2im(cols {cols.shape}, x_shape={shape}, kh={KH}, kw={KW}, stride={stride}, pad={pad})"
        if stride < max(KH, KW):
            what, key = _("{what} (windows overlap here: their contributions must be added, not overwritten)",
                          what=call_text), "accumulate"
        else:
            what, key = _("{what} (no windows overlap here; {layout})", what=call_text, layout=_(LAYOUT)), "layout"
        expect_close(call(fn, cols, shape, KH, KW, stride, pad), ref.col2im(cols, shape, KH, KW, stride, pad),
                     what, 1e-9, 1e-12, key)
    check_float32("col2im", fn)


def _check_speed(name, fn, args, naive, naive_args):
    """``fn`` must be SPEEDUP times faster than the reference ``naive`` loops on SPEED_SHAPE.

    ``fn`` is timed where it runs (inside the student's process for a remote function: course.compare.time_calls,
    the channel excluded), the naive loops here, in SPEED_ROUNDS interleaved rounds (one naive run, then
    FAST_RUNS runs of ``fn``), so a burst of load hits both; the ratio compares the fastest run of each (load only
    ever slows a run down). An answer under a tenth of the required speed-up after a round is rejected without the
    other rounds (no burst of load makes the fastest of FAST_RUNS runs 10x slower; loops over windows are about
    as slow as the naive ones). Measured margins: benchmarks/RESULTS.md.
    """
    call(fn, *args)  # warm-up (caches, lazy imports); its result was checked above
    t_naive, t_fast = [], []
    for _round in range(SPEED_ROUNDS):
        t_naive += time_calls(naive, *naive_args, repeats=1)
        try:
            t_fast += time_calls(fn, *args, repeats=FAST_RUNS)
        except Exception as exc:
            if getattr(exc, "remote_died", False):
                raise
            ename = getattr(exc, "ename", None) or type(exc).__name__
            fail(_("{name} raised {error_type} while being timed: {error}", name=name, error_type=ename, error=exc),
                 f"raised_{ename}" if f"raised_{ename}" in HINT_KEYS else "raised")
        if min(t_naive) / max(min(t_fast), 1e-7) < SPEEDUP / 10:
            break
    own, loops = max(min(t_fast), 1e-7), min(t_naive)
    ratio = loops / own
    shape = f"x {SPEED_SHAPE['x']}, w {SPEED_SHAPE['w']}, stride={SPEED_SHAPE['stride']}, pad={SPEED_SHAPE['pad']}"
    timing = _("{own:.2f} ms vs {loops:.1f} ms, fastest of {fast_runs} and {naive_runs} runs", own=own * 1e3,
               loops=loops * 1e3, fast_runs=len(t_fast), naive_runs=len(t_naive))
    if ratio < SPEEDUP:
        fail(_("{name} is only {ratio:.1f}x faster than the reference naive loops on {shape} ({timing}); it must be "
               "at least {speedup}x faster. Loop over the kernel offsets (kh * kw iterations) in im2col/col2im, never "
               "over windows, pixels or images.", name=name, ratio=ratio, shape=shape, timing=timing,
               speedup=SPEEDUP), "too_slow")
    print(_("{name}: {ratio:.0f}x faster than the naive loops on {shape} ({timing}; at least {speedup}x required)",
            name=name, ratio=ratio, shape=shape, timing=timing, speedup=SPEEDUP))
    return ratio


def _speed_inputs():
    rng = np.random.default_rng(540)
    x = rng.normal(size=SPEED_SHAPE["x"])
    w = rng.normal(size=SPEED_SHAPE["w"])
    b = rng.normal(size=SPEED_SHAPE["w"][0])
    return x, w, b, SPEED_SHAPE["stride"], SPEED_SHAPE["pad"]


def check_conv_forward_fast(fn):
    """conv_forward_fast: same result as the naive version, cache=(x, w, b, stride, pad, cols), >= 50x faster than
    the naive loops, within 10x of the reference on many small images (no loop over images) and keeping the
    batch-64 training step within 5x (step_timing)."""
    _check_conv_forward(fn, "conv_forward_fast", fast=True)
    x, w, b, stride, pad = _speed_inputs()
    _check_speed("conv_forward_fast", fn, (x, w, b, stride, pad), ref.conv_forward_naive, (x, w, b, stride, pad))
    check_batch_rule("conv_forward_fast", fn, backward=False)
    check_step_rule("conv_forward_fast", fn)


def check_conv_backward_fast(fn):
    """conv_backward_fast(dout, cache) -> (dx, dw, db) for the reference fast cache; >= 50x faster than naive, and
    the batch and step rules of conv_forward_fast."""
    _check_conv_backward(fn, "conv_backward_fast", fast=True)
    x, w, b, stride, pad = _speed_inputs()
    out, cache_fast = ref.conv_forward_fast(x, w, b, stride, pad)
    _out, cache_naive = ref.conv_forward_naive(x, w, b, stride, pad)
    dout = np.random.default_rng(541).normal(size=out.shape)
    _check_speed("conv_backward_fast", fn, (dout, cache_fast), ref.conv_backward_naive, (dout, cache_naive))
    check_batch_rule("conv_backward_fast", fn, backward=True)
    check_step_rule("conv_backward_fast", fn)


def _pool_cases():
    """(x, size, stride): random, overlapping windows, windows that leave a border, and many ties."""
    cases = []
    for case, rng in enumerate(rngs(551, 6)):
        size = int(rng.integers(1, 4))
        stride = size if case < 2 else int(rng.integers(1, 4))
        H, W = int(rng.integers(size, 9)), int(rng.integers(size, 9))
        N, C = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        x = rng.normal(size=(N, C, H, W))
        if case >= 3:
            x = rng.integers(0, 3, size=(N, C, H, W)).astype(np.float64)  # lots of tied maxima
        cases.append((x, size, stride))
    rng = np.random.default_rng(552)
    cases.append((np.maximum(rng.normal(size=(2, 3, 6, 6)), 0), 2, 2))  # after ReLU: windows of zeros tie
    cases.append((rng.integers(0, 2, size=(2, 2, 7, 7)).astype(np.float64), 3, 1))  # ties + overlap
    cases.append((rng.normal(size=(1, 2, 7, 5)), 2, 2))  # odd sizes: the last row/column is not pooled
    cases.append((np.maximum(rng.normal(size=(8, 8, 16, 16)), 0), 2, 2))  # a CIFAR-sized layer after ReLU
    return cases


def check_maxpool_forward(fn):
    """maxpool_forward(x, size, stride) -> (out, cache=(x, size, stride))."""
    for x, size, stride in _pool_cases():
        what = f"maxpool_forward(x {x.shape}, size={size}, stride={stride})"  # code: the same in every language
        res = expect_tuple(call(fn, x, size, stride), 2, what, "out, cache")
        out, _cache = ref.maxpool_forward(x, size, stride)
        expect_close(res[0], out, _("{what}: {name}", what=what, name="out"), 0, 0)
        cache = expect_tuple(res[1], 3, _("{what}: {name}", what=what, name="cache"), "(x, size, stride)")
        expect_close(cache[0], x, _("{what}: cache[0] should be the input x", what=what), 0, 0)
        if (cache[1], cache[2]) != (size, stride):
            fail(_("{what}: cache should be (x, size, stride), got (x, {size!r}, {stride!r})", what=what,
                   size=cache[1], stride=cache[2]))
    check_float32("maxpool_forward", fn)
    check_step_rule("maxpool_forward", fn, layer_factor=POOL_FACTOR)


def check_maxpool_backward(fn):
    """maxpool_backward(dout, cache) -> dx; each window's gradient goes to its first maximum only."""
    # A hand case without ties first: only the maximum of the window gets the gradient.
    x = np.array([[[[1.0, 2.0], [4.0, 3.0]]]])
    dx = as_array(call(fn, np.array([[[[5.0]]]]), (x, 2, 2)), "maxpool_backward")
    if dx.shape == x.shape and np.count_nonzero(dx) > 1:
        fail(_("maxpool_backward for the window [[1, 2], [4, 3]] with dout 5 gave gradient to {count} positions "
               "({values}): only the window's maximum (the 4, the value the forward pass passed on) gets dout; the "
               "other positions did not affect the output and get 0", count=np.count_nonzero(dx),
               values=dx.reshape(-1).tolist()), "pool_max_only")
    expect_close(dx, [[[[0.0, 0.0], [5.0, 0.0]]]], _("maxpool_backward for the window [[1, 2], [4, 3]] with dout 5 "
                                                    "(no ties: the maximum 4 gets all of dout)"), 0, 0)
    # A hand case: ties in a 2x2 window; the whole gradient goes to the first maximum in row-major order.
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    dx = call(fn, np.array([[[[5.0]]]]), (x, 2, 2))
    expect_close(dx, [[[[5.0, 0.0], [0.0, 0.0]]]], _("maxpool_backward for the window [[1, 1], [0, 1]] with dout 5 "
                                                    "(tied maxima: only the first one, in row-major order, gets the "
                                                    "gradient)"), 0, 0)
    for x, size, stride in _pool_cases():
        out, cache = ref.maxpool_forward(x, size, stride)
        dout = np.random.default_rng(int(x.size)).normal(size=out.shape)
        what = _("maxpool_backward for x {shape}, size={size}, stride={stride}", shape=x.shape, size=size,
                 stride=stride)
        tied, overlap = len(np.unique(x)) < x.size, stride < size
        if tied and overlap:
            what = _("{what} (tied maxima: only the first in each window gets the gradient; overlapping windows: a "
                     "pixel's gradient is the sum over the windows it wins)", what=what)
        elif tied:
            what = _("{what} (tied maxima: only the first in each window gets the gradient)", what=what)
        elif overlap:
            what = _("{what} (overlapping windows: a pixel's gradient is the sum over the windows it wins)", what=what)
        expect_close(call(fn, dout, cache), ref.maxpool_backward(dout, cache), what, 1e-9, 1e-12)
    check_float32("maxpool_backward", fn)
    check_window_rule("maxpool_backward", fn)
    check_step_rule("maxpool_backward", fn)
