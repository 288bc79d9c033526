"""Wrong answers for chapter 1 (perceptron)."""

import numpy as np


def predict_ge_zero(X, w, b):
    """Uses >= 0, so a score of exactly 0 becomes class 1."""
    return (X @ w + b >= 0).astype(int)


def predict_no_bias(X, w, b):
    """Forgets the bias."""
    return (X @ w > 0).astype(int)


def predict_sign_labels(X, w, b):
    """Returns -1/+1 labels instead of 0/1."""
    return np.where(X @ w + b > 0, 1, -1)


def predict_column(X, w, b):
    """Returns a (N, 1) column instead of (N,)."""
    return (X @ w + b > 0).astype(int)[:, None]


def predict_fixed_buffer(X, w, b):
    """Fills a label buffer preallocated for 40 rows: every example from row 40 on is labelled 0."""
    labels = np.zeros(max(len(X), 40), dtype=np.int64)
    scores = X @ w + b
    labels[: min(len(X), 40)] = scores[:40] > 0
    return labels[: len(X)]


def predict_bool_labels(X, w, b):
    """Returns the comparison itself: a bool array, not the integer labels the docstring asks for."""
    return X @ w + b > 0


def predict_float_labels(X, w, b):
    """Returns 0.0/1.0 floats instead of integer labels."""
    return np.where(X @ w + b > 0, 1.0, 0.0)


def _train(X, y, lr, epochs, rng, *, shuffle=True, bias=True, sign=1, reset=False, count_after=False):
    N, D = X.shape
    w, b, errors = np.zeros(D), 0.0, []
    for _ in range(epochs):
        if reset:
            w, b = np.zeros(D), 0.0
        order = rng.permutation(N) if shuffle else np.arange(N)
        mistakes = 0
        for i in order:
            pred = 1 if X[i] @ w + b > 0 else 0
            if pred != y[i]:
                w += sign * lr * (y[i] - pred) * X[i]
                if bias:
                    b += sign * lr * (y[i] - pred)
                mistakes += 1
        if count_after:
            mistakes = int(np.sum((X @ w + b > 0).astype(int) != y))
        errors.append(mistakes)
    return w, b, errors


def train_no_shuffle(X, y, lr, epochs, rng):
    """Visits the examples in the same order every epoch (ignores rng)."""
    return _train(X, y, lr, epochs, rng, shuffle=False)


def train_no_bias(X, y, lr, epochs, rng):
    """Never updates the bias."""
    return _train(X, y, lr, epochs, rng, bias=False)


def train_wrong_sign(X, y, lr, epochs, rng):
    """Moves the weights away from the missed example."""
    return _train(X, y, lr, epochs, rng, sign=-1)


def train_reset_each_epoch(X, y, lr, epochs, rng):
    """Re-initialises w and b at the start of every epoch."""
    return _train(X, y, lr, epochs, rng, reset=True)


def train_counts_after_epoch(X, y, lr, epochs, rng):
    """Counts mistakes of the final weights instead of the mistakes made during the epoch."""
    return _train(X, y, lr, epochs, rng, count_after=True)


def train_batch_update(X, y, lr, epochs, rng):
    """Updates once per epoch with the summed error (batch rule, not Rosenblatt's online rule)."""
    N, D = X.shape
    w, b, errors = np.zeros(D), 0.0, []
    for _ in range(epochs):
        rng.permutation(N)
        err = y - (X @ w + b > 0).astype(int)
        w = w + lr * err @ X
        b = b + lr * err.sum()
        errors.append(int(np.count_nonzero(err)))
    return w, b, errors


def train_permutation_once(X, y, lr, epochs, rng):
    """Draws the visiting order once, before the first epoch, and reuses it in every epoch."""
    N, D = X.shape
    w, b, errors = np.zeros(D), 0.0, []
    order = rng.permutation(N)
    for _ in range(epochs):
        mistakes = 0
        for i in order:
            pred = 1 if X[i] @ w + b > 0 else 0
            if pred != y[i]:
                w += lr * (y[i] - pred) * X[i]
                b += lr * (y[i] - pred)
                mistakes += 1
        errors.append(mistakes)
    return w, b, errors


def train_global_permutation(X, y, lr, epochs, rng):
    """Shuffles with np.random.permutation (the global generator) instead of the rng it is given."""
    N, D = X.shape
    w, b, errors = np.zeros(D), 0.0, []
    for _ in range(epochs):
        mistakes = 0
        for i in np.random.permutation(N):
            pred = 1 if X[i] @ w + b > 0 else 0
            if pred != y[i]:
                w += lr * (y[i] - pred) * X[i]
                b += lr * (y[i] - pred)
                mistakes += 1
        errors.append(mistakes)
    return w, b, errors


def train_stale_predictions(X, y, lr, epochs, rng):
    """Predicts the whole epoch once with the weights of the epoch's start (stale predictions), then updates."""
    N, D = X.shape
    w, b, errors = np.zeros(D), 0.0, []
    for _ in range(epochs):
        preds = (X @ w + b > 0).astype(int)
        mistakes = 0
        for i in rng.permutation(N):
            if preds[i] != y[i]:
                w += lr * (y[i] - preds[i]) * X[i]
                b += lr * (y[i] - preds[i])
                mistakes += 1
        errors.append(mistakes)
    return w, b, errors


def train_float64_w(X, y, lr, epochs, rng):
    """Right run, but w starts as np.zeros(D) (float64) whatever X's dtype: float64 w for a float32 X."""
    N, D = X.shape
    w, b, errors = np.zeros(D), 0.0, []
    for _ in range(epochs):
        mistakes = 0
        for i in rng.permutation(N):
            pred = 1 if X[i] @ w + b > 0 else 0
            if pred != y[i]:
                w += lr * (y[i] - pred) * X[i]
                b += lr * (y[i] - pred)
                mistakes += 1
        errors.append(mistakes)
    return w, b, errors


def train_upcasting_update(X, y, lr, epochs, rng):
    """Starts from w in X's dtype, but w = w + step * X[i] with step a NumPy float64 (lr * (y[i] - pred)) makes
    w float64 at the first mistake."""
    N, D = X.shape
    w, b, errors = np.zeros(D, dtype=X.dtype), 0.0, []
    for _ in range(epochs):
        mistakes = 0
        for i in rng.permutation(N):
            pred = 1 if X[i] @ w + b > 0 else 0
            if pred != y[i]:
                step = lr * (y[i] - pred)
                w = w + step * X[i]
                b += step
                mistakes += 1
        errors.append(mistakes)
    return w, b, errors


WRONG = {
    "perceptron_predict": [predict_ge_zero, predict_no_bias, predict_sign_labels, predict_column,
                           predict_fixed_buffer, predict_bool_labels, predict_float_labels],
    "perceptron_train": [train_no_shuffle, train_no_bias, train_wrong_sign, train_reset_each_epoch,
                         train_counts_after_epoch, train_batch_update, train_permutation_once,
                         train_global_permutation, train_stale_predictions, train_float64_w,
                         train_upcasting_update],
}

# The words each of these answers' check message must contain, case-insensitive (tests/test_check_messages.py).
MESSAGES = {
    "perceptron_predict": {"predict_bool_labels": ("dtype bool", "integer array"),
                           "predict_float_labels": ("dtype float64", "integer array")},
    "perceptron_train": {"train_float64_w": ("dtype float64", "float32 in, float32 out", "np.zeros(D, dtype=X.dtype)"),
                         "train_upcasting_update": ("dtype float64", "float32 in, float32 out", "in place")},
}
