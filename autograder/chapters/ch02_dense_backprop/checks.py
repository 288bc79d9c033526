"""Checks for chapter 2 (dense layers, MSE, numerical gradients)."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch02_dense_backprop import reference as ref
from autograder.chapters.ch02_dense_backprop.dtype_cases import check_float32
from autograder.chapters.messages import gettext as _
from course.compare import (
    HINT_KEYS,
    CheckFailure,
    call,
    expect_close,
    expect_scalar,
    expect_shape,
    expect_tuple,
    fail,
    rngs,
)

__all__ = ["check_affine_forward", "check_affine_backward", "check_mse_loss", "check_numerical_gradient",
           "check_relative_error"]


def _dims(rng):
    """Random N, D, M with D != M (so a transposed W cannot pass by accident) and N != D, M."""
    while True:
        N, D, M = (int(v) for v in rng.integers(2, 9, size=3))
        if len({N, D, M}) == 3:
            return N, D, M


def check_affine_forward(fn):
    """affine_forward(x, W, b) -> (out (N, M), cache = (x, W, b)), also for a realistic batch (N = 512)."""
    for case, rng in enumerate(rngs(2101, 7)):
        N, D, M = _dims(rng) if case else (4, 3, 3)  # case 0: square W, where x @ W.T runs but is wrong
        if case == 6:  # a realistic batch
            N, D, M = 512, 33, 17
        x, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
        what = _("affine_forward(x {x}, W {w}, b {b})", x=x.shape, w=W.shape, b=b.shape)
        out, cache = expect_tuple(call(fn, x, W, b), 2, what, "out, cache")
        ref_out, ref_cache = ref.affine_forward(x, W, b)
        expect_close(out, ref_out, _("{what}: {name}", what=what, name="out"))
        if isinstance(cache, (tuple, list)) and len(cache) != 3:
            fail(_("{what}: the cache should be the tuple (x, W, b), got {kind} of length {length}", what=what,
                   kind=type(cache).__name__, length=len(cache)), "cache_contents")
        if not isinstance(cache, (tuple, list)):
            fail(_("{what}: the cache should be the tuple (x, W, b), got {kind}", what=what,
                   kind=type(cache).__name__), "cache_contents")
        for k, (item, given) in enumerate(zip(cache, ("x", "W", "b"))):
            try:
                expect_close(item, (x, W, b)[k], _("{what}: cache[{k}] (should be {given} itself)", what=what, k=k,
                                                   given=given), 0, 0)
            except CheckFailure as exc:
                fail(str(exc), "cache_contents")
        dout = rng.normal(size=(N, M))
        try:
            got = ref.affine_backward(dout, cache)
        except Exception as exc:
            fail(_("{what}: the cache should be the tuple (x, W, b) that affine_backward needs; using it failed "
                   "with {error_type}: {error}", what=what, error_type=type(exc).__name__, error=exc))
        for name, g, e in zip(("dx", "dW", "db"), got, ref.affine_backward(dout, ref_cache)):
            expect_close(g, e, _("{what}: the cache should be (x, W, b); backward from it gives a wrong {name}",
                                 what=what, name=name))
    check_float32("affine_forward", fn)


def check_affine_backward(fn):
    """affine_backward(dout, cache) -> (dx, dW, db) with the shapes of x, W, b."""
    for case, rng in enumerate(rngs(2202, 7)):
        N, D, M = _dims(rng) if case else (3, 3, 3)  # case 0: all square, where transposes do not crash
        if case == 6:  # a realistic batch
            N, D, M = 300, 20, 10
        x, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
        dout = rng.normal(size=(N, M))
        what = _("affine_backward(dout {dout}, cache (x {x}, W {w}, b {b}))", dout=dout.shape, x=x.shape,
                 w=W.shape, b=b.shape)
        got = expect_tuple(call(fn, dout, (x, W, b)), 3, what, "dx, dW, db")
        for name, g, e in zip(("dx", "dW", "db"), got, ref.affine_backward(dout, (x, W, b))):
            if g is None:
                fail(_("{what}: {name} is None; every gradient must be returned", what=what, name=name))
            expect_close(g, e, _("{what}: {name}", what=what, name=name))
    check_float32("affine_backward", fn)


def check_mse_loss(fn):
    """mse_loss(pred, target) -> (loss, dpred): the mean over all elements, and its gradient."""
    for case, rng in enumerate(rngs(2303, 7)):
        shape = (int(rng.integers(2, 9)),) if case == 0 else tuple(int(v) for v in rng.integers(2, 7, size=2))
        if case == 6:  # a realistic batch
            shape = (256, 12)
        pred, target = rng.normal(size=shape), rng.normal(size=shape)
        what = _("mse_loss(pred {shape}, target {shape})", shape=shape)
        loss, dpred = expect_tuple(call(fn, pred, target), 2, what, "loss, dpred")
        ref_loss, ref_dpred = ref.mse_loss(pred, target)
        expect_scalar(loss, ref_loss, _("{what}: loss (the mean of the squared errors over all {size} elements)",
                                        what=what, size=pred.size))
        expect_close(dpred, ref_dpred, _("{what}: {name}", what=what, name="dpred"))
    check_float32("mse_loss", fn)


def _cubic(x):
    return float(np.sum(x**3 + np.sin(x)))


def _cubic_grad(x):
    return 3 * x**2 + np.cos(x)


def _direct(fn, f, x, *h):
    """Call numerical_gradient on x itself, not on a copy as call() makes: it must perturb and restore x."""
    try:
        return fn(f, x, *h)
    except CheckFailure:
        raise
    except Exception as exc:
        if getattr(exc, "remote_died", False):
            raise
        ename = getattr(exc, "ename", None) or type(exc).__name__  # ename: raised in the student's process
        if ename == "NotImplementedError":
            fail(_("numerical_gradient is not implemented yet: replace `raise NotImplementedError()` with your "
                   "code."), "not_implemented")
        fail(_("numerical_gradient raised {error_type}: {error}\n  (called with x of shape {shape})",
               error_type=ename, error=exc, shape=x.shape), f"raised_{ename}" if f"raised_{ename}" in HINT_KEYS
             else "raised")


class _Recorder:
    """f(x) = sum(x**3 + sin x), remembering every x it was called with."""

    __name__ = "f"

    def __init__(self):
        self.seen = []

    def __call__(self, v):
        v = np.array(v, dtype=np.float64)
        self.seen.append(v)
        return _cubic(v)


def _check_in_place(fn, x, what):
    """The chapter's later use: f ignores its argument and reads x itself (as a network's loss reads its weights),
    so numerical_gradient must perturb x in place, not a copy."""
    original = x.copy()

    def loss_reading_x(_ignored):
        return _cubic(x)

    grad = expect_shape(_direct(fn, loss_reading_x, x), x.shape, what)
    if np.allclose(grad, _cubic_grad(original), rtol=1e-7, atol=1e-7):
        return
    if np.all(np.abs(np.asarray(grad, dtype=np.float64)) < 1e-6):
        fail(_("{what} with f = lambda _: sum(x**3 + sin x), an f that reads the array x itself and ignores its "
               "argument (as the gradient check of section 6 does with a network's weights): every entry of the "
               "gradient is 0, so f never saw x change. numerical_gradient must perturb x itself, in place "
               "(x[idx] = old + h), not a copy of x, and restore each entry afterwards.", what=what),
             "inplace_perturb")
    expect_close(grad, _cubic_grad(original), _("{what} with f = lambda _: sum(x**3 + sin x) (an f that reads x "
                                                "itself, as the gradient check of section 6 does; perturb x in "
                                                "place, not a copy): the gradient", what=what),
                 rtol=1e-7, atol=1e-7, hint="inplace_perturb")


def check_numerical_gradient(fn):
    """numerical_gradient(f, x, h): central differences, one entry perturbed at a time, x restored exactly."""
    for case, rng in enumerate(rngs(2404, 5)):
        shape = [(int(rng.integers(2, 6)),), tuple(int(v) for v in rng.integers(2, 5, size=2)),
                 tuple(int(v) for v in rng.integers(2, 4, size=3))][case % 3]
        x = rng.normal(size=shape)
        original = x.copy()
        what = _("numerical_gradient(f, x {shape})", shape=shape)
        f = _Recorder()
        grad = expect_shape(_direct(fn, f, x), shape, what)
        if not np.array_equal(x, original):
            fail(_("{what} left x changed (largest change {change:.3g}): save each entry before perturbing it and "
                   "put the saved value back (x[i] = old), not x[i] -= h", what=what,
                   change=float(np.abs(x - original).max())))
        for k, seen in enumerate(f.seen):
            if seen.shape != shape:
                fail(_("{what}: f was called with an array of shape {shape}; pass it x itself", what=what,
                       shape=seen.shape))
            changed = np.argwhere(seen != original)
            if len(changed) > 1:
                i = tuple(int(v) for v in changed[0])
                fail(_("{what}: in call {call} to f, {count} entries of x differed from their original values (e.g. "
                       "x{index} was off by {off:.3g}). Perturb one entry at a time and restore each one exactly "
                       "(old = x[i]; ...; x[i] = old) before moving on", what=what, call=k + 1, count=len(changed),
                       index=list(i), off=abs(float(seen[i] - original[i]))))
        if case == 0:
            _check_in_place(fn, x, what)
        if len(f.seen) < 2 * x.size:
            fail(_("{what} called f {calls} times; central differences need 2 calls per entry ({needed} for "
                   "{size} entries)", what=what, calls=len(f.seen), needed=2 * x.size, size=x.size))
        # Central differences are accurate to O(h^2) (about 1e-10 here); forward differences only to O(h).
        expect_close(grad, _cubic_grad(original), _("{what}, h=1e-5, for f(x) = sum(x**3 + sin x) (central "
                                                    "differences (f(x+h) - f(x-h)) / 2h are accurate to ~1e-10 "
                                                    "here): the gradient", what=what), rtol=1e-7, atol=1e-7)
        # h must be used: compare with the reference at a large h, where the O(h^2) error is visible.
        h = float(rng.choice([0.1, 0.05]))
        big = expect_shape(_direct(fn, _Recorder(), x, h), shape, _("{what} with h={h}", what=what, h=h))
        expect_close(big, ref.numerical_gradient(_cubic, original.copy(), h),
                     _("{what} with h={h} (use the h you are given): the gradient", what=what, h=h),
                     rtol=1e-6, atol=1e-9)


def check_relative_error(fn):
    """relative_error(a, b) -> ||a - b|| / (||a|| + ||b||) as a float, 0.0 when both are zero."""
    for case, rng in enumerate(rngs(2505, 6)):
        shape = tuple(int(v) for v in rng.integers(1, 6, size=case % 3 + 1))
        scale = 10.0 ** float(rng.integers(-6, 6))
        a = rng.normal(size=shape) * scale
        b = a + rng.normal(size=shape) * scale * 10.0 ** float(rng.integers(-9, 0))
        if case == 5:
            b = -a  # completely wrong gradient: relative error 1
        what = _("relative_error(a, b) for arrays of shape {shape} and size ~{scale:g}", shape=shape, scale=scale)
        got = call(fn, a, b)
        if np.ndim(got) != 0:
            fail(_("{what} should return one number (a float), got {shape}", what=what, shape=np.shape(got)))
        expect_scalar(got, ref.relative_error(a, b), what, rtol=1e-6, atol=0)
        expect_scalar(call(fn, b, a), ref.relative_error(a, b),
                      _("{what} with a and b swapped (it is symmetric)", what=what), rtol=1e-6, atol=0)
    tiny_a, tiny_b = np.array([[1e-9, -2e-9]]), np.array([[3e-9, -2e-9]])
    expect_scalar(call(fn, tiny_a, tiny_b), ref.relative_error(tiny_a, tiny_b),
                  _("relative_error of two arrays of size ~1e-9 (it is scale-free: no floor such as max(1e-8, ...) "
                    "in the denominator, only 0.0 when both are zero)"), rtol=1e-6, atol=0)
    z = np.zeros((2, 3))
    got = call(fn, z, z.copy())
    expect_scalar(got, 0.0, _("relative_error of two zero arrays (should be 0.0, not nan)"), atol=0)
