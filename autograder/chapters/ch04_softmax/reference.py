"""Chapter 4 reference: softmax cross-entropy and mini-batch SGD."""

from __future__ import annotations

import numpy as np

__all__ = ["softmax", "softmax_cross_entropy", "one_hot", "iterate_minibatches", "sgd_step", "accuracy"]


def _check_logits(z, name="z"):
    z = np.asarray(z)
    if z.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, K), got shape {z.shape}")
    return z


def _check_labels(y, n, k=None):
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) (one integer label per row), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer labels, got dtype {y.dtype}")
    if k is not None and y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must be in 0..{k - 1}, got values from {y.min()} to {y.max()}")
    return y


def softmax(z):
    """Row-wise softmax of logits z (N, K) -> probabilities (N, K), each row summing to 1.

    Stable for logits of any size (up to 1e4 and beyond): subtracts each row's maximum before exponentiating.
    """
    z = _check_logits(z)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) (N, K) against integer labels y (N,).

    Returns (loss: float, dlogits: (N, K)) with dlogits = (softmax(logits) - one_hot(y)) / N, the gradient of
    the mean loss. Computed with log-sum-exp, so exact and finite for logits up to 1e4 in magnitude.
    """
    logits = _check_logits(logits, "logits")
    N, K = logits.shape
    y = _check_labels(y, N, K)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    rows = np.arange(N)
    loss = -log_probs[rows, y].mean()
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1
    dlogits /= N
    return float(loss), dlogits


def one_hot(y, num_classes):
    """Integer labels y (N,) -> (N, num_classes) float array with 1.0 at column y[i] of row i, 0 elsewhere."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}")
    y = _check_labels(y, y.shape[0], num_classes)
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def iterate_minibatches(X, y, batch_size, rng):
    """Yield (X_batch, y_batch) pairs covering one epoch of X (N, ...) and y (N,) in a shuffled order.

    The order is ``rng.permutation(N)``; batches are consecutive slices of it of ``batch_size`` examples; the last
    batch is smaller when ``batch_size`` does not divide N. Every example appears exactly once; X and y stay aligned.
    """
    N = len(X)
    if len(y) != N:
        raise ValueError(f"X and y must have the same length, got {N} and {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = rng.permutation(N)
    for start in range(0, N, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def sgd_step(params, grads, lr):
    """Plain SGD, in place: ``params[k] -= lr * grads[k]`` for every key of the dict ``params``.

    The arrays in ``params`` are modified (not replaced), so anything holding them sees the new values.
    Returns None.
    """
    for name, p in params.items():
        if name not in grads:
            raise KeyError(f"no gradient for parameter {name!r}")
        p -= lr * grads[name]


def accuracy(logits, y):
    """Fraction (a float in [0, 1]) of rows of logits (N, K) whose largest entry is at column y[i]."""
    logits = _check_logits(logits, "logits")
    y = _check_labels(y, logits.shape[0])
    return float(np.mean(logits.argmax(axis=1) == y))
