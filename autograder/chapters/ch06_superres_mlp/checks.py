"""Checks for chapter 6 (super-resolution MLP)."""

from __future__ import annotations

import math

import numpy as np

from autograder.chapters.ch06_superres_mlp import reference as ref
from autograder.chapters.ch06_superres_mlp.dtype_cases import check_float32
from autograder.chapters.messages import gettext as _
from autograder.chapters.messages import join
from course.compare import CheckFailure, NotImplementedYet, call, expect_close, expect_shape, expect_tuple, fail, rngs

__all__ = ["check_downsample_box", "check_upsample_nearest", "check_upsample_bilinear", "check_psnr",
           "check_init_mlp", "check_mlp_loss_grads", "check_mlp_train_step"]


def _images(rng, n, h, w, c):
    return rng.random((n, h, w, c))


def _expect_value_error(fn, hr, factor, what):
    """fn(hr, factor) must raise ValueError (the exercise says so); anything else fails naming what happened."""
    try:
        got = call(fn, hr, factor)
    except NotImplementedYet:
        raise
    except CheckFailure as exc:
        if exc.hint == "raised_ValueError":
            return
        fail(_("{what} should raise ValueError; instead: {error}", what=what, error=exc), "raised_expected_error")
    fail(_("{what} should raise ValueError, but it returned {shape} without an error", what=what,
           shape=np.shape(got)), "raised_expected_error")


def check_downsample_box(fn):
    """downsample_box(hr, factor) -> (N, H // f, W // f, C) block means; ValueError when f does not divide H, W."""
    for case, rng in enumerate(rngs(601, 7)):
        f = int(rng.integers(2, 5))
        n, h, w, c = int(rng.integers(1, 4)), f * int(rng.integers(1, 6)), f * int(rng.integers(1, 6)), int(
            rng.integers(1, 4))
        if case == 6:
            n, h, w, c, f = 8, 64, 64, 3, 4  # the chapter's batch of 64x64 photos
        hr = _images(rng, n, h, w, c)
        what = _("downsample_box(hr {shape}, factor={f})", shape=hr.shape, f=f)
        out = expect_shape(call(fn, hr, f), (n, h // f, w // f, c), what)
        if np.allclose(np.asarray(out, dtype=np.float64), hr[:, ::f, ::f], rtol=1e-9, atol=1e-12) and \
                not np.allclose(hr[:, ::f, ::f], ref.downsample_box(hr, f)):
            fail(_("{what}: the output is hr[:, ::{f}, ::{f}], the top-left pixel of each {f}x{f} block (striding, "
                   "which aliases fine detail); the box filter averages all f * f pixels of each block: reshape to "
                   "(N, H // f, f, W // f, f, C) and take the mean over axes 2 and 4", what=what, f=f), "striding")
        expect_close(out, ref.downsample_box(hr, f), what, 1e-9, 1e-12)
    # A 4x4 block holding 0..15 averages to 7.5 (striding would give 0, a corner pixel).
    hr = np.arange(16.0).reshape(1, 4, 4, 1)
    expect_close(call(fn, hr, 4), [[[[7.5]]]], _("downsample_box of one 4x4 block holding 0..15 (the mean is 7.5)"),
                 1e-9, 1e-12)
    for shape, f in [((1, 6, 8, 1), 4), ((2, 8, 6, 3), 4), ((1, 9, 9, 2), 2)]:
        _expect_value_error(fn, np.zeros(shape), f, _("downsample_box(hr {shape}, factor={f}) (H or W not a multiple "
                                                      "of {f})", shape=shape, f=f))
    check_float32("downsample_box", fn)


def _random_upsampling(fn, reference, seed, max_side, rtol):
    """Compare fn(lr, factor) with ``reference`` on 6 seeded random images (sides 1..max_side, factors 2..4) and a
    batch of 16x16 thumbnails (factor 4)."""
    name = reference.__name__
    for case, rng in enumerate(rngs(seed, 7)):
        f = int(rng.integers(2, 5))
        lr = _images(rng, int(rng.integers(1, 4)), int(rng.integers(1, max_side + 1)),
                     int(rng.integers(1, max_side + 1)), int(rng.integers(1, 4)))
        if case == 6:
            f, lr = 4, _images(rng, 8, 16, 16, 3)  # the chapter's thumbnails
        n, h, w, c = lr.shape
        what = _("{name}(lr {shape}, factor={f})", name=name, shape=lr.shape, f=f)
        out = expect_shape(call(fn, lr, f), (n, h * f, w * f, c), what)
        expect_close(out, reference(lr, f), what, rtol, 1e-12)


def check_upsample_nearest(fn):
    """upsample_nearest(lr, factor) -> every pixel repeated factor x factor times."""
    _random_upsampling(fn, ref.upsample_nearest, seed=602, max_side=5, rtol=1e-12)
    check_float32("upsample_nearest", fn)


def check_upsample_bilinear(fn):
    """upsample_bilinear(lr, factor): half-pixel centres (align_corners=False), clamped at the edges."""
    # The convention, on one row [0, 1] upsampled 2x: output centres sit at input coordinates
    # -0.25, 0.25, 0.75, 1.25 -> clamped to 0, 0.25, 0.75, 1 -> values 0, 0.25, 0.75, 1.
    row = np.array([0.0, 1.0]).reshape(1, 1, 2, 1)
    out = expect_shape(call(fn, row, 2), (1, 2, 4, 1), _("upsample_bilinear of a 1x2 image [0, 1], factor 2"))
    expect_close(out[0, 0, :, 0], [0.0, 0.25, 0.75, 1.0],
                 _("upsample_bilinear([0, 1], 2) along the width: with pixel centres aligned (align_corners=False) "
                   "output pixel j samples the input at (j + 0.5) / 2 - 0.5, clamped to [0, w - 1], so the row is "
                   "[0, 0.25, 0.75, 1]"), 1e-9, 1e-12)
    col = np.array([0.0, 4.0]).reshape(1, 2, 1, 1)
    expect_close(call(fn, col, 4)[0, :, 0, 0], ref.upsample_bilinear(col, 4)[0, :, 0, 0],
                 _("upsample_bilinear of a 2x1 column [0, 4], factor 4 (along the height)"), 1e-9, 1e-12)
    _random_upsampling(fn, ref.upsample_bilinear, seed=603, max_side=6, rtol=1e-9)


def check_psnr(fn):
    """psnr(pred, target, data_range) -> float dB, inf for identical images."""
    for case, rng in enumerate(rngs(604, 6)):
        data_range = [1.0, 255.0, 2.0][case % 3]
        shape = (int(rng.integers(1, 4)), int(rng.integers(2, 9)), int(rng.integers(2, 9)), 3)
        target = rng.random(shape) * data_range
        pred = target + rng.normal(scale=float(rng.choice([0.01, 0.05, 0.2])) * data_range, size=shape)
        what = _("psnr(pred, target {shape}, data_range={data_range})", shape=shape, data_range=data_range)
        got = call(fn, pred, target, data_range)
        arr = np.asarray(got)
        if arr.size != 1:
            fail(_("{what} should return one number (the PSNR of the whole batch), got shape {shape}", what=what,
                   shape=arr.shape))
        expect_close(arr.reshape(()), ref.psnr(pred, target, data_range),
                     _("{what} (10 * log10(data_range ** 2 / MSE), MSE over all values)", what=what), 1e-7, 1e-9)
    # 8-bit images (uint8, data_range 255): the difference must be taken in floats (uint8 wraps modulo 256), and
    # a realistic batch of 64x64 photos.
    rng = np.random.default_rng(610)
    for shape in [(2, 6, 6, 3), (8, 64, 64, 3)]:
        target = rng.integers(0, 256, size=shape).astype(np.uint8)
        pred = np.clip(target + rng.normal(scale=20, size=shape), 0, 255).astype(np.uint8)
        what = _("psnr(pred, target uint8 {shape}, data_range=255)", shape=shape)
        got = np.asarray(call(fn, pred, target, 255.0))
        if got.size != 1:
            fail(_("{what} should return one number, got shape {shape}", what=what, shape=got.shape))
        expected = ref.psnr(pred, target, 255.0)
        if abs(float(got.reshape(())) - expected) > 1e-7 * abs(expected):
            fail(_("{what} is {got:.6g} dB, expected {expected:.6g}: convert to float before subtracting (uint8 "
                   "differences and squares wrap around modulo 256)", what=what, got=float(got.reshape(())),
                   expected=expected), "dtype")
    img = np.random.default_rng(605).random((2, 5, 5, 3))
    got = call(fn, img, img.copy(), 1.0)
    if not (np.asarray(got).size == 1 and math.isinf(float(np.asarray(got).reshape(()))) and float(
            np.asarray(got).reshape(())) > 0):
        fail(_("psnr of two identical images should be inf (MSE = 0), got {got!r}", got=got))


def check_init_mlp(fn):
    """init_mlp(sizes, rng) -> He-scaled Gaussian weights, zero biases, drawn in the documented order."""
    # The distribution first (clearer than a replay mismatch): 300,000 draws of a standard normal have
    # kurtosis 3.00 +- 0.01; a uniform draw (He-uniform) has 1.8.
    W = np.asarray(call(fn, [1000, 300], np.random.default_rng(1))["W1"], dtype=np.float64)
    centred = W - W.mean()
    kurtosis = float(np.mean(centred ** 4) / np.mean(centred ** 2) ** 2)
    if not 2.9 < kurtosis < 3.1:
        fail(_("init_mlp([1000, 300]): W1's values have kurtosis {kurtosis:.2f}, a Gaussian has 3 (a uniform draw "
               "1.8): draw the weights with rng.standard_normal and scale them by sqrt(2 / fan_in)",
               kurtosis=kurtosis), "distribution")
    for rng in rngs(606, 4):
        sizes = [int(s) for s in rng.integers(1, 40, size=int(rng.integers(2, 5)))]
        seed = int(rng.integers(1 << 30))
        what = f"init_mlp({sizes})"
        params = call(fn, sizes, np.random.default_rng(seed))
        expected = ref.init_mlp(sizes, np.random.default_rng(seed))
        if not isinstance(params, dict) or set(params) != set(expected):
            keys = sorted(params) if isinstance(params, dict) else type(params).__name__
            fail(_("{what} should return a dict with keys {keys}, got {got}", what=what, keys=sorted(expected),
                   got=keys))
        for k in expected:
            expect_close(params[k], expected[k], _("{what}['{key}'] (W: standard_normal * sqrt(2 / fan_in); b: "
                                                   "zeros)", what=what, key=k), 1e-9, 1e-12)
    # Scale: with 1000 inputs the weights' standard deviation must be about sqrt(2 / 1000) = 0.045.
    W = np.asarray(call(fn, [1000, 200], np.random.default_rng(0))["W1"])
    if not 0.04 < W.std() < 0.05:
        fail(_("init_mlp([1000, 200]): W1 has standard deviation {std:.4g}, expected sqrt(2 / 1000) = 0.0447 (He "
               "initialisation for ReLU layers)", std=float(W.std())))


def _problem(rng, sizes, n):
    params = ref.init_mlp(sizes, rng)
    for k in params:
        if k.startswith("b"):
            params[k] = rng.normal(scale=0.1, size=params[k].shape)
    x = rng.random((n, sizes[0]))
    y = rng.random((n, sizes[-1]))
    return params, x, y


def _numeric_grad(params, x, y, key, index, eps=1e-6):
    plus = {k: v.copy() for k, v in params.items()}
    minus = {k: v.copy() for k, v in params.items()}
    plus[key][index] += eps
    minus[key][index] -= eps
    return (ref.mlp_loss_grads(plus, x, y)[0] - ref.mlp_loss_grads(minus, x, y)[0]) / (2 * eps)


def _expect_no_common_scale(grads, ref_grads, params, y, what):
    """Every gradient off by one and the same factor (a 1/N vs 1/(N * D_out) slip): say so, not 'W1 is wrong'."""
    ratios = []
    for k in sorted(params):
        g = np.asarray(grads[k], dtype=np.float64) if np.shape(grads[k]) == params[k].shape else None
        r = ref_grads[k]
        if g is None or not np.any(r):
            return
        c = float(np.vdot(g, r) / np.vdot(r, r))  # least-squares factor g ~ c * r
        if not np.allclose(g, c * r, rtol=1e-6, atol=1e-10 * max(1.0, float(np.abs(r).max()))):
            return
        ratios.append(c)
    if ratios and np.allclose(ratios, ratios[0], rtol=1e-6) and not np.isclose(ratios[0], 1.0, rtol=1e-6):
        d_out = y.shape[1]
        fail(_("{what}: every gradient (all of {names}) is {ratio:.6g} times the right one, a constant scale factor "
               "on every gradient (D_out = {d_out}, N = {n}): the output gradient dout = 2 (out - y) / (N * D_out) "
               "carries the mean over ALL N * D_out values of the loss, and nothing else in the backward pass should "
               "scale it", what=what, names=join(sorted(params)), ratio=ratios[0], d_out=d_out, n=y.shape[0]),
             "grad_scale")


def check_mlp_loss_grads(fn):
    """mlp_loss_grads(params, x, y) -> (loss, grads): values match the reference and a numerical gradient check."""
    for case, rng in enumerate(rngs(607, 6)):
        depth = [2, 3, 3, 4, 2, 3][case]
        sizes = [int(s) for s in rng.integers(2, 12, size=depth + 1)]
        n = int(rng.integers(1, 8))
        if case == 5:
            sizes, n = [48, 64, 64, 192], 64  # a realistic batch: 4x4 -> 8x8 colour patches
        params, x, y = _problem(rng, sizes, n)
        what = _("mlp_loss_grads (layer sizes {sizes}, N={n})", sizes=sizes, n=n)
        loss, grads = expect_tuple(call(fn, params, x, y), 2, what, "loss, grads")
        ref_loss, ref_grads = ref.mlp_loss_grads(params, x, y)
        expect_close(np.asarray(loss).reshape(()), ref_loss,
                     _("{what}: loss (mean of (out - y) ** 2 over all N * D_out values, linear output)", what=what),
                     1e-7, 1e-12)
        if not isinstance(grads, dict) or set(grads) != set(params):
            keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
            fail(_("{what}: grads should be a dict with the keys of params {keys}, got {got}", what=what,
                   keys=sorted(params), got=keys))
        _expect_no_common_scale(grads, ref_grads, params, y, what)
        for k in sorted(params):
            name = f"grads['{k}']"
            g = expect_shape(grads[k], params[k].shape, _("{what}: {name}", what=what, name=name))
            # Gradient check: central differences on a few entries (independent of the reference).
            for _entry in range(3):
                idx = tuple(int(rng.integers(s)) for s in params[k].shape)
                num = _numeric_grad(params, x, y, k, idx)
                if abs(float(g[idx]) - num) > 1e-5 * max(1.0, abs(num)) + 1e-7:
                    fail(_("{what}: gradient check failed for grads['{key}'] at {index}: yours {got:.6g}, numerical "
                           "(central difference) {num:.6g}", what=what, key=k, index=idx, got=float(g[idx]),
                           num=num))
            expect_close(g, ref_grads[k], _("{what}: {name}", what=what, name=name), 1e-6, 1e-10)
    check_float32("mlp_loss_grads", fn)


def check_mlp_train_step(fn):
    """mlp_train_step(params, x, y, lr) -> (loss, new params): one gradient-descent step, loss falls from a seed."""
    for rng in rngs(608, 3):
        sizes = [int(s) for s in rng.integers(2, 10, size=int(rng.integers(3, 5)))]
        params, x, y = _problem(rng, sizes, int(rng.integers(2, 8)))
        lr = float(rng.choice([0.01, 0.1, 0.5]))
        what = _("mlp_train_step (layer sizes {sizes}, lr={lr})", sizes=sizes, lr=lr)
        # call() fails when fn modifies params (or x, y) in place at any depth: it must build new arrays.
        loss, new = expect_tuple(call(fn, params, x, y, lr), 2, what, "loss, new_params")
        ref_loss, ref_new = ref.mlp_train_step(params, x, y, lr)
        expect_close(np.asarray(loss).reshape(()), ref_loss, _("{what}: loss (before the step)", what=what), 1e-7,
                     1e-12)
        if not isinstance(new, dict) or set(new) != set(params):
            fail(_("{what}: the new params should be a dict with keys {keys}", what=what, keys=sorted(params)))
        for k in sorted(params):
            expect_close(new[k], ref_new[k], _("{what}: new params['{key}'] (params - lr * grads)", what=what, key=k),
                         1e-7, 1e-10)
    # From a fixed seed on a tiny super-resolution problem (4x4 -> 8x8 grey, values 0..1) the loss must be
    # finite and fall over the first 20 steps.
    rng = np.random.default_rng(609)
    hr = rng.random((16, 8, 8, 1))
    x = ref.downsample_box(hr, 2).reshape(16, -1)
    y = hr.reshape(16, -1)
    params = ref.init_mlp([16, 32, 64], np.random.default_rng(0))
    losses = []
    for _step in range(20):
        loss, params = call(fn, params, x, y, 0.1)
        losses.append(float(np.asarray(loss).reshape(())))
        if not np.isfinite(losses[-1]):
            fail(_("mlp_train_step: the loss became {loss} after {steps} steps (lr 0.1, data in 0..1)",
                   loss=losses[-1], steps=len(losses)))
    if not all(b < a for a, b in zip(losses, losses[1:])):
        fail(_("mlp_train_step: the loss should fall at every one of the first 20 steps, got {losses}",
               losses=np.round(losses, 5)))
    check_float32("mlp_train_step", fn)
