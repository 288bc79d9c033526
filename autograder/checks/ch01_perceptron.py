"""Checks for chapter 1 (perceptron)."""

from __future__ import annotations

import numpy as np

from autograder.reference import ch01_perceptron as ref
from course.compare import call, expect_close, expect_shape, expect_tuple, fail, rngs

__all__ = ["check_perceptron_predict", "check_perceptron_train"]


def check_perceptron_predict(fn):
    """perceptron_predict(X, w, b) -> (N,) labels in {0, 1}."""
    for rng in rngs(101, 8):
        N, D = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        X, w, b = rng.normal(size=(N, D)), rng.normal(size=D), float(rng.normal())
        out = expect_shape(call(fn, X, w, b), (N,), f"perceptron_predict on X {X.shape}")
        if not np.isin(out, (0, 1)).all():
            fail(f"perceptron_predict must return labels 0 and 1 only, got values {np.unique(out)[:5]}")
        expect_close(out, ref.perceptron_predict(X, w, b), f"perceptron_predict on X {X.shape}", 0, 0)
    # A score of exactly zero is class 0 ("> 0", not ">= 0").
    X = np.array([[1.0, -1.0], [2.0, 2.0], [0.0, 0.0]])
    out = call(fn, X, np.array([1.0, 1.0]), 0.0)
    expect_close(out, [0, 1, 0], "perceptron_predict where X @ w + b == 0 (should be 0)", 0, 0)


def _separable(rng, N, D):
    w_true = rng.normal(size=D)
    X = rng.normal(size=(N, D))
    scores = X @ w_true + 0.3
    keep = np.abs(scores) > 0.3  # a margin, so the perceptron converges quickly
    return X[keep], (scores[keep] > 0).astype(np.int64)


def check_perceptron_train(fn):
    """perceptron_train(X, y, lr, epochs, rng) -> (w, b, errors), same run as the reference for a given seed."""
    for case, rng in enumerate(rngs(202, 5)):
        N, D = int(rng.integers(5, 40)), int(rng.integers(1, 6))
        X, y = _separable(rng, N, D)
        if case == 4:  # not separable: labels at random
            y = rng.integers(0, 2, size=len(X))
        lr, epochs = float(rng.choice([0.1, 0.5, 1.0])), int(rng.integers(1, 8))
        seed = int(rng.integers(1 << 30))
        what = f"perceptron_train (case {case + 1}: N={len(X)}, D={D}, lr={lr}, epochs={epochs})"
        out = expect_tuple(call(fn, X, y, lr, epochs, np.random.default_rng(seed)), 3, what, "w, b, errors")
        w_ref, b_ref, err_ref = ref.perceptron_train(X, y, lr, epochs, np.random.default_rng(seed))
        errors = np.asarray(out[2])
        if errors.shape != (epochs,):
            fail(f"{what}: errors should hold one count per epoch ({epochs}), got shape {errors.shape}")
        expect_close(errors, err_ref, f"{what}: mistakes per epoch", 0, 0)
        expect_close(out[0], w_ref, f"{what}: w", 1e-9, 1e-12)
        expect_close(np.asarray(out[1]).reshape(()), b_ref, f"{what}: b", 1e-9, 1e-12)
    # On separable data with enough epochs the last epoch has no mistakes.
    rng = np.random.default_rng(303)
    X, y = _separable(rng, 60, 2)
    w, b, errors = call(fn, X, y, 1.0, 50, np.random.default_rng(0))
    if errors[-1] != 0 or not np.array_equal(ref.perceptron_predict(X, np.asarray(w), float(b)), y):
        fail("perceptron_train should separate linearly separable data: after 50 epochs there were still "
             f"{errors[-1]} mistakes")
