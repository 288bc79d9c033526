"""Checks for chapter 2 (dense layers, MSE, numerical gradients)."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch02_dense_backprop import reference as ref
from course.compare import (
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
        what = f"affine_forward(x {x.shape}, W {W.shape}, b {b.shape})"
        out, cache = expect_tuple(call(fn, x, W, b), 2, what, "out, cache")
        ref_out, ref_cache = ref.affine_forward(x, W, b)
        expect_close(out, ref_out, f"{what}: out")
        if not isinstance(cache, (tuple, list)) or len(cache) != 3:
            fail(f"{what}: the cache should be the tuple (x, W, b), got {type(cache).__name__}"
                 + (f" of length {len(cache)}" if isinstance(cache, (tuple, list)) else ""), "cache_contents")
        for k, (item, given) in enumerate(zip(cache, ("x", "W", "b"))):
            try:
                expect_close(item, (x, W, b)[k], f"{what}: cache[{k}] (should be {given} itself)", 0, 0)
            except CheckFailure as exc:
                fail(str(exc), "cache_contents")
        dout = rng.normal(size=(N, M))
        try:
            got = ref.affine_backward(dout, cache)
        except Exception as exc:
            fail(f"{what}: the cache should be the tuple (x, W, b) that affine_backward needs; using it failed "
                 f"with {type(exc).__name__}: {exc}")
        for name, g, e in zip(("dx", "dW", "db"), got, ref.affine_backward(dout, ref_cache)):
            expect_close(g, e, f"{what}: the cache should be (x, W, b); backward from it gives a wrong {name}")


def check_affine_backward(fn):
    """affine_backward(dout, cache) -> (dx, dW, db) with the shapes of x, W, b."""
    for case, rng in enumerate(rngs(2202, 7)):
        N, D, M = _dims(rng) if case else (3, 3, 3)  # case 0: all square, where transposes do not crash
        if case == 6:  # a realistic batch
            N, D, M = 300, 20, 10
        x, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
        dout = rng.normal(size=(N, M))
        what = f"affine_backward(dout {dout.shape}, cache (x {x.shape}, W {W.shape}, b {b.shape}))"
        got = expect_tuple(call(fn, dout, (x, W, b)), 3, what, "dx, dW, db")
        for name, g, e in zip(("dx", "dW", "db"), got, ref.affine_backward(dout, (x, W, b))):
            if g is None:
                fail(f"{what}: {name} is None; every gradient must be returned")
            expect_close(g, e, f"{what}: {name}")


def check_mse_loss(fn):
    """mse_loss(pred, target) -> (loss, dpred): the mean over all elements, and its gradient."""
    for case, rng in enumerate(rngs(2303, 7)):
        shape = (int(rng.integers(2, 9)),) if case == 0 else tuple(int(v) for v in rng.integers(2, 7, size=2))
        if case == 6:  # a realistic batch
            shape = (256, 12)
        pred, target = rng.normal(size=shape), rng.normal(size=shape)
        what = f"mse_loss(pred {shape}, target {shape})"
        loss, dpred = expect_tuple(call(fn, pred, target), 2, what, "loss, dpred")
        ref_loss, ref_dpred = ref.mse_loss(pred, target)
        expect_scalar(loss, ref_loss, f"{what}: loss (the mean of the squared errors over all {pred.size} "
                                      "elements)")
        expect_close(dpred, ref_dpred, f"{what}: dpred")


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
            fail("numerical_gradient is not implemented yet: replace `raise NotImplementedError()` with your code.")
        fail(f"numerical_gradient raised {ename}: {exc}\n  (called with x of shape {x.shape})")


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

    def loss_reading_x(_):
        return _cubic(x)

    grad = expect_shape(_direct(fn, loss_reading_x, x), x.shape, what)
    if np.allclose(grad, _cubic_grad(original), rtol=1e-7, atol=1e-7):
        return
    if np.all(np.abs(np.asarray(grad, dtype=np.float64)) < 1e-6):
        fail(f"{what} with f = lambda _: sum(x**3 + sin x), an f that reads the array x itself and ignores its "
             "argument (as the gradient check of section 6 does with a network's weights): every entry of the "
             "gradient is 0, so f never saw x change. numerical_gradient must perturb x itself, in place "
             "(x[idx] = old + h), not a copy of x, and restore each entry afterwards.", "inplace_perturb")
    expect_close(grad, _cubic_grad(original), f"{what} with f = lambda _: sum(x**3 + sin x) (an f that reads x "
                 "itself, as the gradient check of section 6 does; perturb x in place, not a copy): the gradient",
                 rtol=1e-7, atol=1e-7, hint="inplace_perturb")


def check_numerical_gradient(fn):
    """numerical_gradient(f, x, h): central differences, one entry perturbed at a time, x restored exactly."""
    for case, rng in enumerate(rngs(2404, 5)):
        shape = [(int(rng.integers(2, 6)),), tuple(int(v) for v in rng.integers(2, 5, size=2)),
                 tuple(int(v) for v in rng.integers(2, 4, size=3))][case % 3]
        x = rng.normal(size=shape)
        original = x.copy()
        what = f"numerical_gradient(f, x {shape})"
        f = _Recorder()
        grad = expect_shape(_direct(fn, f, x), shape, what)
        if not np.array_equal(x, original):
            fail(f"{what} left x changed (largest change {np.abs(x - original).max():.3g}): save each entry before "
                 "perturbing it and put the saved value back (x[i] = old), not x[i] -= h")
        for k, seen in enumerate(f.seen):
            if seen.shape != shape:
                fail(f"{what}: f was called with an array of shape {seen.shape}; pass it x itself")
            changed = np.argwhere(seen != original)
            if len(changed) > 1:
                i = tuple(int(v) for v in changed[0])
                fail(f"{what}: in call {k + 1} to f, {len(changed)} entries of x differed from their original values "
                     f"(e.g. x{list(i)} was off by {abs(float(seen[i] - original[i])):.3g}). Perturb one entry at a "
                     "time and restore each one exactly (old = x[i]; ...; x[i] = old) before moving on")
        if case == 0:
            _check_in_place(fn, x, what)
        if len(f.seen) < 2 * x.size:
            fail(f"{what} called f {len(f.seen)} times; central differences need 2 calls per entry "
                 f"({2 * x.size} for {x.size} entries)")
        # Central differences are accurate to O(h^2) (about 1e-10 here); forward differences only to O(h).
        expect_close(grad, _cubic_grad(original), f"{what}, h=1e-5, for f(x) = sum(x**3 + sin x) (central "
                     "differences (f(x+h) - f(x-h)) / 2h are accurate to ~1e-10 here): the gradient",
                     rtol=1e-7, atol=1e-7)
        # h must be used: compare with the reference at a large h, where the O(h^2) error is visible.
        h = float(rng.choice([0.1, 0.05]))
        big = expect_shape(_direct(fn, _Recorder(), x, h), shape, f"{what} with h={h}")
        expect_close(big, ref.numerical_gradient(_cubic, original.copy(), h), f"{what} with h={h} (use the h you "
                     "are given): the gradient", rtol=1e-6, atol=1e-9)


def check_relative_error(fn):
    """relative_error(a, b) -> ||a - b|| / (||a|| + ||b||) as a float, 0.0 when both are zero."""
    for case, rng in enumerate(rngs(2505, 6)):
        shape = tuple(int(v) for v in rng.integers(1, 6, size=case % 3 + 1))
        scale = 10.0 ** float(rng.integers(-6, 6))
        a = rng.normal(size=shape) * scale
        b = a + rng.normal(size=shape) * scale * 10.0 ** float(rng.integers(-9, 0))
        if case == 5:
            b = -a  # completely wrong gradient: relative error 1
        what = f"relative_error(a, b) for arrays of shape {shape} and size ~{scale:g}"
        got = call(fn, a, b)
        if np.ndim(got) != 0:
            fail(f"{what} should return one number (a float), got {np.shape(got)}")
        expect_scalar(got, ref.relative_error(a, b), what, rtol=1e-6, atol=0)
        expect_scalar(call(fn, b, a), ref.relative_error(a, b), f"{what} with a and b swapped (it is symmetric)",
                      rtol=1e-6, atol=0)
    tiny_a, tiny_b = np.array([[1e-9, -2e-9]]), np.array([[3e-9, -2e-9]])
    expect_scalar(call(fn, tiny_a, tiny_b), ref.relative_error(tiny_a, tiny_b), "relative_error of two arrays of "
                  "size ~1e-9 (it is scale-free: no floor such as max(1e-8, ...) in the denominator, only 0.0 when "
                  "both are zero)", rtol=1e-6, atol=0)
    z = np.zeros((2, 3))
    got = call(fn, z, z.copy())
    expect_scalar(got, 0.0, "relative_error of two zero arrays (should be 0.0, not nan)", atol=0)
