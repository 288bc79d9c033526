"""Wrong answers for chapter 4 (softmax cross-entropy and mini-batch SGD)."""

import numpy as np

from autograder.chapters.ch04_softmax.wrong_dtype import ce_one_hot_float64, softmax_float64


# -- softmax ------------------------------------------------------------------------------------------------------
def softmax_wrong_axis(z):
    """Normalises over axis 0 (the batch) instead of each row."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_unstable(z):
    """No max subtraction: np.exp overflows for large logits (inf / inf = nan)."""
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_global_max(z):
    """Subtracts the max of the whole batch: rows far below it underflow to 0 / 0."""
    e = np.exp(z - z.max())
    return e / e.sum(axis=1, keepdims=True)


def softmax_no_keepdims(z):
    """Divides by the row sums without keepdims: they broadcast along the wrong axis (or crash if N != K)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1)


def softmax_plain_exp_ratio(z):
    """Normalises e**z by its row maximum instead of its row sum."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.max(axis=1, keepdims=True)


# -- softmax_cross_entropy ----------------------------------------------------------------------------------------
def _probs(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ce_not_divided_by_n(logits, y):
    """dlogits is softmax - one_hot, not divided by N (the gradient of the sum, not of the mean)."""
    N = len(y)
    p = _probs(logits)
    loss = -np.log(p[np.arange(N), y]).mean()
    d = p.copy()
    d[np.arange(N), y] -= 1
    return float(loss), d


def ce_sum_loss(logits, y):
    """Loss is the sum over examples instead of the mean (gradient is right)."""
    N = len(y)
    p = _probs(logits)
    d = p.copy()
    d[np.arange(N), y] -= 1
    return float(-np.log(p[np.arange(N), y]).sum()), d / N


def ce_log_of_unstable_softmax(logits, y):
    """log(softmax) of the unshifted logits: overflows to nan for large logits."""
    N = len(y)
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(N), y] -= 1
    return float(-np.log(p[np.arange(N), y]).mean()), d / N


def ce_log_eps(logits, y):
    """np.log(probs + 1e-8): the loss is capped near 18.4 when the true class has logit 1e4 below the best."""
    N = len(y)
    p = _probs(logits)
    d = p.copy()
    d[np.arange(N), y] -= 1
    return float(-np.log(p[np.arange(N), y] + 1e-8).mean()), d / N


def ce_gradient_sign(logits, y):
    """dlogits = (one_hot - softmax) / N: the gradient of the negative loss."""
    loss, d = ce_not_divided_by_n(logits, y)
    return loss, -d / len(y)


def ce_forgets_one_hot(logits, y):
    """dlogits = softmax / N: forgets to subtract 1 at the true class."""
    loss, _ = ce_not_divided_by_n(logits, y)
    return loss, _probs(logits) / len(y)


def ce_wrong_axis_softmax(logits, y):
    """Softmax over axis 0 inside the loss."""
    N = len(y)
    p = softmax_wrong_axis(logits)
    d = p.copy()
    d[np.arange(N), y] -= 1
    return float(-np.log(p[np.arange(N), y]).mean()), d / N


# -- one_hot ------------------------------------------------------------------------------------------------------
def one_hot_off_by_one(y, num_classes):
    """Puts the 1 at column y - 1 (labels treated as 1-based)."""
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), np.asarray(y, dtype=np.int64) - 1] = 1
    return out


def one_hot_width_from_labels(y, num_classes):
    """Width y.max() + 1 instead of num_classes."""
    return np.eye(int(np.max(y)) + 1)[y]


def one_hot_transposed(y, num_classes):
    """Returns (K, N) instead of (N, K)."""
    return np.eye(num_classes)[y].T


def one_hot_extra_column(y, num_classes):
    """np.eye(num_classes + 1): one column too many."""
    return np.eye(num_classes + 1)[y]


# -- iterate_minibatches ------------------------------------------------------------------------------------------
def batches_drop_last(X, y, batch_size, rng):
    """Drops the last, smaller batch, so some examples are never seen."""
    order = rng.permutation(len(X))
    for start in range(0, len(X) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def batches_with_replacement(X, y, batch_size, rng):
    """Draws every batch with rng.integers: examples repeat and others are skipped."""
    N = len(X)
    for start in range(0, N, batch_size):
        idx = rng.integers(0, N, size=min(batch_size, N - start))
        yield X[idx], y[idx]


def batches_overlapping(X, y, batch_size, rng):
    """Slices order[start:start + batch_size + 1]: the last example of each batch repeats in the next."""
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size + 1]
        yield X[idx], y[idx]


def batches_no_shuffle(X, y, batch_size, rng):
    """Never shuffles: the same order every epoch."""
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


def batches_misaligned(X, y, batch_size, rng):
    """Shuffles X and y with two different permutations: labels no longer match the images."""
    ox, oy = rng.permutation(len(X)), rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        yield X[ox[start:start + batch_size]], y[oy[start:start + batch_size]]


def batches_global_rng(X, y, batch_size, rng):
    """Shuffles with np.random.permutation (the global generator), ignoring rng."""
    order = np.random.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def batches_fixed_seed(X, y, batch_size, rng):
    """Creates its own generator with a fixed seed: the same order every epoch, whatever rng is passed."""
    order = np.random.default_rng(0).permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def batches_shuffle_in_place(X, y, batch_size, rng):
    """Shuffles the caller's X and y in place (same permutation), changing the training set."""
    order = rng.permutation(len(X))
    X[:] = X[order]
    y[:] = y[order]
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


_DRAWN_ORDERS = {}


def batches_permutation_once(X, y, batch_size, rng):
    """Draws the permutation once (on the first call, kept in a module cache) and reuses it every epoch."""
    N = len(X)
    if N not in _DRAWN_ORDERS:
        _DRAWN_ORDERS[N] = rng.permutation(N)
    order = _DRAWN_ORDERS[N]
    for start in range(0, N, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def batches_number_of_batches(X, y, batch_size, rng):
    """Treats batch_size as the number of batches (np.array_split)."""
    order = rng.permutation(len(X))
    for idx in np.array_split(order, max(1, min(batch_size, len(X)))):
        yield X[idx], y[idx]


# -- sgd_step -----------------------------------------------------------------------------------------------------
def sgd_returns_new(params, grads, lr):
    """Returns new arrays and leaves params untouched."""
    return {k: p - lr * grads[k] for k, p in params.items()}


def sgd_rebinds_dict(params, grads, lr):
    """params[k] = params[k] - lr * g: the dict gets new arrays, the caller's arrays never change."""
    for k in params:
        params[k] = params[k] - lr * grads[k]


def sgd_local_rebind(params, grads, lr):
    """p = p - lr * g inside the loop: only rebinds a local name."""
    for k, p in params.items():
        p = p - lr * grads[k]  # noqa: F841


def sgd_plus(params, grads, lr):
    """p += lr * g: gradient ascent."""
    for k, p in params.items():
        p += lr * grads[k]


def sgd_ignores_lr(params, grads, lr):
    """p -= g: forgets the learning rate."""
    for k, p in params.items():
        p -= grads[k]


def sgd_weights_only(params, grads, lr):
    """Updates only the weights (keys starting with W), not the biases."""
    for k, p in params.items():
        if k.startswith("W"):
            p -= lr * grads[k]


def sgd_updates_grads(params, grads, lr):
    """Scales the gradients in place first (grads *= lr), corrupting the caller's grads."""
    for k, p in params.items():
        grads[k] *= lr
        p -= grads[k]


# -- accuracy -----------------------------------------------------------------------------------------------------
def accuracy_wrong_axis(logits, y):
    """argmax over axis 0."""
    return float(np.mean(np.argmax(logits, axis=0) == y))


def accuracy_count(logits, y):
    """Returns the number of correct rows, not the fraction."""
    return int(np.sum(logits.argmax(axis=1) == y))


def accuracy_percent(logits, y):
    """Returns a percentage (0..100) instead of a fraction."""
    return 100.0 * float(np.mean(logits.argmax(axis=1) == y))


def accuracy_max_value(logits, y):
    """Compares the largest logit's value (not its index) with the label."""
    return float(np.mean(logits.max(axis=1) == y))


def accuracy_count_in_label_dtype(logits, y):
    """Counts the matches in the labels' dtype (uint8 for MNIST): the count wraps past 255 on large batches."""
    right = np.sum(np.argmax(logits, axis=1) == y, dtype=np.asarray(y).dtype)
    return float(right) / len(y)


def accuracy_argmin(logits, y):
    """argmin instead of argmax."""
    return float(np.mean(logits.argmin(axis=1) == y))


def accuracy_0d_array(logits, y):
    """Returns np.asarray of the mean: the right value as a 0-d array, not the Python float promised."""
    return np.asarray(np.mean(np.argmax(logits, axis=1) == y))


def accuracy_float32(logits, y):
    """Returns the right fraction as np.float32, not the Python float promised."""
    return np.float32(np.mean(np.argmax(logits, axis=1) == y))


WRONG = {
    "softmax": [softmax_wrong_axis, softmax_unstable, softmax_global_max, softmax_no_keepdims,
                softmax_plain_exp_ratio, softmax_float64],
    "softmax_cross_entropy": [ce_not_divided_by_n, ce_sum_loss, ce_log_of_unstable_softmax, ce_log_eps,
                              ce_gradient_sign, ce_forgets_one_hot, ce_wrong_axis_softmax, ce_one_hot_float64],
    "one_hot": [one_hot_off_by_one, one_hot_width_from_labels, one_hot_transposed, one_hot_extra_column],
    "iterate_minibatches": [batches_drop_last, batches_with_replacement, batches_overlapping, batches_no_shuffle,
                            batches_misaligned, batches_global_rng, batches_fixed_seed, batches_shuffle_in_place,
                            batches_number_of_batches, batches_permutation_once],
    "sgd_step": [sgd_returns_new, sgd_rebinds_dict, sgd_local_rebind, sgd_plus, sgd_ignores_lr, sgd_weights_only,
                 sgd_updates_grads],
    "accuracy": [accuracy_wrong_axis, accuracy_count, accuracy_percent, accuracy_max_value, accuracy_argmin,
                 accuracy_count_in_label_dtype, accuracy_0d_array, accuracy_float32],
}

# The words each of these answers' check message must contain ("!word": must not contain), case-insensitive:
# the message names the real fault (tests/test_check_messages.py).
MESSAGES = {
    "accuracy": {"accuracy_0d_array": ("python float", "0-d array"),
                 "accuracy_float32": ("python float", "float32", "value is right")},
}
