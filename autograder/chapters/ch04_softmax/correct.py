"""Correct answers for chapter 4 (softmax cross-entropy and mini-batch SGD), written independently of the
reference: each differs from it in a choice the exercise leaves open."""

import math

import numpy as np


# -- softmax ------------------------------------------------------------------------------------------------------
def softmax_logsumexp(z):
    """exp(z - logsumexp(z)) row by row: normalises in log space instead of dividing by the row sums."""
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return np.exp(z - lse)


def softmax_row_loop(z):
    """A Python loop over the rows, each normalised on its own (subtracting its own maximum)."""
    z = np.asarray(z)
    z = z.astype(np.result_type(z, 1.0))  # integers become float64; float32 stays float32
    out = np.empty(z.shape, dtype=z.dtype)
    for i, row in enumerate(z):
        e = np.exp(row - row.max())
        out[i] = e / e.sum()
    return out


# -- softmax_cross_entropy ----------------------------------------------------------------------------------------
def ce_one_hot_matrix(logits, y):
    """Log-softmax, then the loss and gradient through an explicit one-hot matrix (np.eye(K)[y])."""
    N, K = logits.shape
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    target = np.eye(K, dtype=log_p.dtype)[np.asarray(y, dtype=np.int64)]
    loss = -np.sum(target * log_p) / N
    return np.float64(loss), (np.exp(log_p) - target) / N


def ce_example_loop(logits, y):
    """One example at a time with math.fsum; the loss returned as a Python float."""
    N, K = logits.shape
    d = np.empty((N, K), dtype=np.result_type(logits, 1.0))
    terms = []
    for i in range(N):
        row = logits[i] - logits[i].max()
        lse = math.log(float(np.exp(row).sum()))
        terms.append(lse - float(row[int(y[i])]))
        d[i] = np.exp(row - lse)
        d[i, int(y[i])] -= 1.0
    return math.fsum(terms) / N, d / N


# -- one_hot ------------------------------------------------------------------------------------------------------
def one_hot_eye(y, num_classes):
    """Rows of the identity matrix, picked by label."""
    return np.eye(num_classes)[np.asarray(y, dtype=np.int64)]


def one_hot_compare(y, num_classes):
    """Broadcast comparison of the labels with 0..K-1, cast to float."""
    return (np.asarray(y)[:, None] == np.arange(num_classes)[None, :]).astype(np.float64)


# -- iterate_minibatches ------------------------------------------------------------------------------------------
def batches_split_points(X, y, batch_size, rng):
    """np.split of the permutation at multiples of batch_size; X and y indexed with np.take."""
    N = len(X)
    order = rng.permutation(N)
    for idx in np.split(order, np.arange(batch_size, N, batch_size)):
        yield np.take(X, idx, axis=0), np.take(y, idx, axis=0)


def batches_while_loop(X, y, batch_size, rng):
    """A while loop over start offsets, the permutation drawn with rng.permutation(X.shape[0])."""
    order = rng.permutation(X.shape[0])
    start = 0
    while start < len(order):
        idx = order[start:start + batch_size]
        start += batch_size
        yield X[idx], y[idx]


# -- sgd_step -----------------------------------------------------------------------------------------------------
def sgd_ufunc_out(params, grads, lr):
    """np.subtract(p, lr * g, out=p): in place through the ufunc's out argument, keys taken from grads."""
    for name, g in grads.items():
        p = params[name]
        np.subtract(p, np.asarray(lr * g, dtype=p.dtype), out=p)


def sgd_slice_assign(params, grads, lr):
    """p[...] = p - lr * g for every item: writes into the existing array."""
    for name, p in params.items():
        p[...] = p - lr * grads[name]


# -- accuracy -----------------------------------------------------------------------------------------------------
def accuracy_count_nonzero(logits, y):
    """np.count_nonzero of the matches divided by N."""
    return np.count_nonzero(np.argmax(logits, axis=1) == y) / len(y)


def accuracy_loop(logits, y):
    """A loop over the rows comparing each row's argmax with its label."""
    right = sum(1 for row, label in zip(logits, y) if int(np.argmax(row)) == int(label))
    return float(right) / len(y)


CORRECT = {
    "softmax": [softmax_logsumexp, softmax_row_loop],
    "softmax_cross_entropy": [ce_one_hot_matrix, ce_example_loop],
    "one_hot": [one_hot_eye, one_hot_compare],
    "iterate_minibatches": [batches_split_points, batches_while_loop],
    "sgd_step": [sgd_ufunc_out, sgd_slice_assign],
    "accuracy": [accuracy_count_nonzero, accuracy_loop],
}
