"""Correct answers for chapter 1 (perceptron), written independently of the reference."""

import numpy as np


def predict_where(X, w, b):
    """np.where on the scores, with np.dot instead of the @ operator."""
    return np.where(np.dot(X, w) + b > 0, 1, 0)


def predict_row_loop(X, w, b):
    """One row at a time in a Python loop (slow, but the spec's result), scores summed by hand."""
    labels = np.zeros(len(X), dtype=np.int64)
    for n, x in enumerate(X):
        labels[n] = 1 if float(np.sum(x * w)) + b > 0 else 0
    return labels


def predict_einsum_bool_cast(X, w, b):
    """einsum for the scores, a boolean comparison cast with np.asarray(..., dtype=int)."""
    return np.asarray(np.einsum("nd,d->n", X, w) + b > 0, dtype=int)


def train_always_update(X, y, lr, epochs, rng):
    """Applies w += lr * (y - pred) * x for every example (a zero step when right); counts mistakes apart."""
    n_examples, n_features = X.shape
    w, b = np.zeros(n_features, dtype=X.dtype), 0.0
    errors = []
    for _epoch in range(epochs):
        order = rng.permutation(n_examples)
        wrong = 0
        for i in order:
            pred = int(np.dot(w, X[i]) + b > 0)
            delta = int(y[i]) - pred  # a Python int: lr * delta * X[i] keeps X's dtype
            if delta:
                w = w + lr * delta * X[i]
                b = b + lr * delta
            wrong += int(delta != 0)
        errors.append(wrong)
    return w, b, errors


def train_while_index(X, y, lr, epochs, rng):
    """A while loop over the permuted positions; returns b as a NumPy float and errors built with append."""
    N = X.shape[0]
    w = np.zeros_like(X[0])
    b = np.float64(0.0)
    errors = []
    epoch = 0
    while epoch < epochs:
        perm = rng.permutation(N)
        k = 0
        count = 0
        while k < N:
            i = perm[k]
            guess = 1 if X[i] @ w + b > 0 else 0
            if guess != y[i]:
                sign = 1.0 if y[i] == 1 else -1.0
                w += (lr * sign) * X[i]
                b += lr * sign
                count += 1
            k += 1
        errors.append(count)
        epoch += 1
    return w, b, errors


CORRECT = {
    "perceptron_predict": [predict_where, predict_row_loop, predict_einsum_bool_cast],
    "perceptron_train": [train_always_update, train_while_index],
}
