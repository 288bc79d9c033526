"""Correct answers for chapter 2 (dense layers, MSE, numerical gradients), written independently."""

from collections import namedtuple

import numpy as np

AffineCache = namedtuple("AffineCache", ["x", "W", "b"])


def affine_forward_einsum_namedtuple(x, W, b):
    """einsum for the product, the cache as a namedtuple (x, W, b) (a tuple subclass)."""
    out = np.einsum("nd,dm->nm", x, W) + b[None, :]
    return out, AffineCache(x, W, b)


def affine_forward_dot(x, W, b):
    """np.dot and an explicit broadcast of b to (N, M)."""
    out = np.dot(x, W) + np.broadcast_to(b, (x.shape[0], W.shape[1]))
    return out, (x, W, b)


def affine_backward_einsum(dout, cache):
    """einsum for both products; works with any (x, W, b) sequence, e.g. a namedtuple."""
    x, W, _b = cache
    dx = np.einsum("nm,dm->nd", dout, W)
    dW = np.einsum("nd,nm->dm", x, dout)
    return dx, dW, np.einsum("nm->m", dout)


def affine_backward_dot(dout, cache):
    """np.dot with W.transpose(), db as a ones vector times dout, cache read by index."""
    x, W = cache[0], cache[1]
    ones = np.ones(dout.shape[0], dtype=dout.dtype)
    return np.dot(dout, W.transpose()), np.dot(x.transpose(), dout), ones @ dout


def mse_sum_over_size(pred, target):
    """Sum of squares divided by pred.size, the gradient scaled by 2 / pred.size."""
    diff = np.subtract(pred, target)
    P = diff.size
    return float(np.sum(diff * diff) / P), diff * (2.0 / P)


def mse_square_mean(pred, target):
    """np.square(...).mean(), returned as a NumPy float64 scalar."""
    err = pred - target
    return np.square(err).mean(), 2 * err / int(np.prod(err.shape))  # a Python int keeps float32


def numgrad_flat(f, x, h=1e-5):
    """Walks x.flat (any shape); grad filled through its own flat iterator."""
    grad = np.empty_like(x, dtype=np.float64)
    for i in range(x.size):
        saved = x.flat[i]
        x.flat[i] = saved + h
        up = f(x)
        x.flat[i] = saved - h
        down = f(x)
        x.flat[i] = saved
        grad.flat[i] = (up - down) / (2 * h)
    return grad


def numgrad_nditer(f, x, h=1e-5):
    """np.nditer with multi_index over x (read-only iterator), writes by index."""
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        idx = it.multi_index
        keep = x[idx].copy()
        x[idx] = keep + h
        fp = f(x)
        x[idx] = keep - h
        fm = f(x)
        x[idx] = keep
        grad[idx] = (fp - fm) / h / 2
        it.iternext()
    return grad


def relerr_manual_norms(a, b):
    """Euclidean norms written out with sqrt(sum of squares)."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    na, nb = np.sqrt(np.sum(a * a)), np.sqrt(np.sum(b * b))
    if na + nb == 0.0:
        return 0.0
    return float(np.sqrt(np.sum((a - b) ** 2)) / (na + nb))


def relerr_norm_ravel(a, b):
    """np.linalg.norm of the flattened arrays, both-zero tested on the arrays themselves."""
    if not np.any(a) and not np.any(b):
        return 0.0
    a1, b1 = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(np.linalg.norm(a1 - b1) / (np.linalg.norm(a1) + np.linalg.norm(b1)))


CORRECT = {
    "affine_forward": [affine_forward_einsum_namedtuple, affine_forward_dot],
    "affine_backward": [affine_backward_einsum, affine_backward_dot],
    "mse_loss": [mse_sum_over_size, mse_square_mean],
    "numerical_gradient": [numgrad_flat, numgrad_nditer],
    "relative_error": [relerr_manual_norms, relerr_norm_ravel],
}
