"""Chapter 1 reference: the perceptron."""

from __future__ import annotations

import numpy as np

__all__ = ["perceptron_predict", "perceptron_train"]


def perceptron_predict(X, w, b):
    """Labels for X (N, D) with weights w (D,) and bias b (scalar): (N,) int64, 1 where X @ w + b > 0 else 0."""
    return (X @ w + b > 0).astype(np.int64)


def perceptron_train(X, y, lr, epochs, rng):
    """Rosenblatt's rule on X (N, D), labels y (N,) in {0, 1}.

    Starts from w = 0 (D,) in X's float dtype, b = 0.0. Each epoch visits the examples in the order
    ``rng.permutation(N)``; on a mistake, ``w += lr * (y_i - pred_i) * x_i`` (in place: w keeps X's dtype) and
    ``b += lr * (y_i - pred_i)``.
    Returns (w (D,) of X's dtype, b float, errors: list of the number of mistakes in each epoch).
    """
    N, D = X.shape
    w = np.zeros(D, dtype=X.dtype)
    b = 0.0
    errors = []
    for _ in range(epochs):
        mistakes = 0
        for i in rng.permutation(N):
            pred = 1 if X[i] @ w + b > 0 else 0
            if pred != y[i]:
                step = lr * (y[i] - pred)
                w += step * X[i]
                b += step
                mistakes += 1
        errors.append(mistakes)
    return w, float(b), errors
