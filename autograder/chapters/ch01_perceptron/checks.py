"""Checks for chapter 1 (perceptron)."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch01_perceptron import reference as ref
from autograder.chapters.messages import gettext as _
from course.compare import as_array, call, expect_close, expect_shape, expect_tuple, fail, rngs

__all__ = ["check_perceptron_predict", "check_perceptron_train"]


def check_perceptron_predict(fn):
    """perceptron_predict(X, w, b) -> (N,) labels in {0, 1}, for batches from 1 row to realistic sizes."""
    for case, rng in enumerate(rngs(101, 10)):
        N = int(rng.integers(1, 40)) if case < 5 else (40, 64, 257, 1000, 4096)[case - 5]
        D = int(rng.integers(1, 8))
        X, w, b = rng.normal(size=(N, D)), rng.normal(size=D), float(rng.normal())
        what = _("perceptron_predict on X {shape}", shape=X.shape)
        out = expect_shape(call(fn, X, w, b), (N,), what)
        if out.dtype.kind not in "iu":
            fail(_("{what} returned labels of dtype {dtype}: return an integer array of 0/1 labels, as the docstring "
                   "says (cast the comparison: (X @ w + b > 0).astype(np.int64))", what=what, dtype=out.dtype))
        if not np.isin(out, (0, 1)).all():
            fail(_("perceptron_predict must return labels 0 and 1 only, got values {values}",
                   values=np.unique(out)[:5]))
        expect_close(out, ref.perceptron_predict(X, w, b), what, 0, 0)
    # A score of exactly zero is class 0 ("> 0", not ">= 0").
    X = np.array([[1.0, -1.0], [2.0, 2.0], [0.0, 0.0]])
    out = call(fn, X, np.array([1.0, 1.0]), 0.0)
    expect_close(out, [0, 1, 0], _("perceptron_predict where X @ w + b == 0 (should be 0)"), 0, 0)


def _separable(rng, N, D):
    w_true = rng.normal(size=D)
    X = rng.normal(size=(N, D))
    scores = X @ w_true + 0.3
    keep = np.abs(scores) > 0.3  # a margin, so the perceptron converges quickly
    return X[keep], (scores[keep] > 0).astype(np.int64)


def _replay(X, y, lr, epochs, seed, *, order_once=False, stale=False):
    """The reference run, or one of two classic faults: the order drawn once (not per epoch), or predictions of
    the whole epoch made with the weights of its start (stale). Returns the mistakes per epoch."""
    rng = np.random.default_rng(seed)
    N, D = X.shape
    w, b, errors = np.zeros(D), 0.0, []
    fixed = rng.permutation(N) if order_once else None
    for _epoch in range(epochs):
        order = fixed if order_once else rng.permutation(N)
        preds = (X @ w + b > 0).astype(np.int64) if stale else None
        mistakes = 0
        for i in order:
            pred = preds[i] if stale else (1 if X[i] @ w + b > 0 else 0)
            if pred != y[i]:
                w += lr * (y[i] - pred) * X[i]
                b += lr * (y[i] - pred)
                mistakes += 1
        errors.append(mistakes)
    return errors


def _diagnose_train(errors, X, y, lr, epochs, seed, what):
    """Name the fault when the mistakes per epoch match a known wrong run."""
    if np.array_equal(errors, _replay(X, y, lr, epochs, seed, order_once=True)):
        fail(_("{what}: your mistakes per epoch {errors} are those of a run that draws the visiting order once "
               "and reuses it; call order = rng.permutation(N) at the start of EVERY epoch", what=what,
               errors=[int(e) for e in errors]), "permutation_per_epoch")
    if np.array_equal(errors, _replay(X, y, lr, epochs, seed, stale=True)):
        fail(_("{what}: your mistakes per epoch {errors} are those of a run that predicts the whole epoch with "
               "the weights from its start; predict each example with the CURRENT w and b, just before deciding "
               "whether to update", what=what, errors=[int(e) for e in errors]), "stale_prediction")


def check_perceptron_train(fn):
    """perceptron_train(X, y, lr, epochs, rng) -> (w, b, errors), same run as the reference for a given seed."""
    for case, rng in enumerate(rngs(202, 5)):
        N, D = int(rng.integers(5, 40)), int(rng.integers(1, 6))
        X, y = _separable(rng, N, D)
        if case == 4:  # not separable: labels at random
            y = rng.integers(0, 2, size=len(X))
        lr, epochs = float(rng.choice([0.1, 0.5, 1.0])), int(rng.integers(1, 8))
        seed = int(rng.integers(1 << 30))
        what = _("perceptron_train (case {case}: N={n}, D={d}, lr={lr}, epochs={epochs})", case=case + 1, n=len(X),
                 d=D, lr=lr, epochs=epochs)
        given = np.random.default_rng(seed)
        out = expect_tuple(call(fn, X, y, lr, epochs, given), 3, what, "w, b, errors")
        unused = given.bit_generator.state == np.random.default_rng(seed).bit_generator.state
        w_ref, b_ref, err_ref = ref.perceptron_train(X, y, lr, epochs, np.random.default_rng(seed))
        errors = np.asarray(out[2])
        if errors.shape != (epochs,):
            fail(_("{what}: errors should hold one count per epoch ({epochs}), got shape {shape}", what=what,
                   epochs=epochs, shape=errors.shape))
        again = expect_tuple(call(fn, X, y, lr, epochs, np.random.default_rng(seed)), 3, what, "w, b, errors")
        if unused or not (np.array_equal(np.asarray(again[2]), errors) and np.array_equal(np.asarray(again[0]),
                                                                                          np.asarray(out[0]))):
            fail(_("{what}: two runs with the same seed gave different results; draw the order from the rng you "
                   "are given (rng.permutation(N)), not from np.random", what=what), "rng_usage")
        if not np.array_equal(errors, err_ref):
            _diagnose_train(errors, X, y, lr, epochs, seed, what)
        expect_close(errors, err_ref, _("{what}: mistakes per epoch", what=what), 0, 0)
        expect_close(out[0], w_ref, _("{what}: {name}", what=what, name="w"), 1e-9, 1e-12)
        expect_close(np.asarray(out[1]).reshape(()), b_ref, _("{what}: {name}", what=what, name="b"), 1e-9, 1e-12)
    # On separable data with enough epochs the last epoch has no mistakes.
    rng = np.random.default_rng(303)
    X, y = _separable(rng, 60, 2)
    w, b, errors = call(fn, X, y, 1.0, 50, np.random.default_rng(0))
    if errors[-1] != 0 or not np.array_equal(ref.perceptron_predict(X, np.asarray(w), float(b)), y):
        fail(_("perceptron_train should separate linearly separable data: after 50 epochs there were still "
               "{mistakes} mistakes", mistakes=errors[-1]))
    _check_float32(fn)


def _check_float32(fn):
    """float32 in, float32 out: a run on a float32 X gives a float32 w with the reference's values."""
    X, y = _separable(np.random.default_rng(404), 30, 3)
    X = X.astype(np.float32)
    what = _("perceptron_train on a float32 X {shape}", shape=X.shape)
    out = expect_tuple(call(fn, X, y, 0.5, 4, np.random.default_rng(5)), 3, what, "w, b, errors")
    w_ref, b_ref, err_ref = ref.perceptron_train(X, y, 0.5, 4, np.random.default_rng(5))
    w = as_array(out[0], what)
    if w.dtype != np.float32:
        fail(_("{what} returned w of dtype {dtype}: keep X's dtype (float32 in, float32 out, as the docstring says). "
               "Start from w = np.zeros(D, dtype=X.dtype) (np.zeros(D) alone is float64) and update w in place "
               "(w += ...): w = w + step * X[i] becomes float64 when step is a NumPy float64, such as "
               "lr * (y[i] - pred).", what=what, dtype=w.dtype), "dtype")
    expect_close(np.asarray(out[2]), err_ref, _("{what}: mistakes per epoch", what=what), 0, 0)
    expect_close(w, w_ref, _("{what}: {name}", what=what, name="w"), 1e-5, 1e-6)
    expect_close(np.asarray(out[1]).reshape(()), b_ref, _("{what}: {name}", what=what, name="b"), 1e-5, 1e-6)
