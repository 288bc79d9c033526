"""Wrong answers for chapter 2 (dense layers, MSE, numerical gradients)."""

import numpy as np

from autograder.chapters.ch02_dense_backprop.wrong_dtype import (
    affine_backward_db_ones_float64,
    affine_forward_float64_buffer,
    mse_dpred_astype_float,
)


def affine_forward_transposed_W(x, W, b):
    """Multiplies by W transposed (x @ W.T): runs only when W is square, and is wrong there."""
    return x @ W.T + b, (x, W, b)


def affine_forward_no_bias(x, W, b):
    """Forgets the bias."""
    return x @ W, (x, W, b)


def affine_forward_cache_out(x, W, b):
    """Caches the output instead of the input x."""
    out = x @ W + b
    return out, (out, W, b)


def affine_forward_in_place(x, W, b):
    """Adds the bias into x in place (x += ...) and so changes the caller's array."""
    x += 0.0 * x[:, :1] + b[: x.shape[1]].sum() * 0 + 1e-3
    return x @ W + b, (x, W, b)


def affine_backward_transposed_dW(dout, cache):
    """dW = dout.T @ x: the transpose of the right gradient (shape (M, D))."""
    x, W, b = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


def affine_backward_db_wrong_axis(dout, cache):
    """Sums db over the features (axis=1) instead of over the batch (axis=0)."""
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=1)


def affine_backward_db_mean(dout, cache):
    """Averages db over the batch (the 1/N is already inside dout)."""
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.mean(axis=0)


def affine_backward_extra_1_over_N(dout, cache):
    """Divides dW by N again (the 1/N belongs to the loss, and is already inside dout)."""
    x, W, b = cache
    return dout @ W.T, x.T @ dout / x.shape[0], dout.sum(axis=0)


def affine_backward_dx_no_transpose(dout, cache):
    """dx = dout @ W (no transpose): runs only for a square W, and is wrong there."""
    x, W, b = cache
    return dout @ W, x.T @ dout, dout.sum(axis=0)


def affine_backward_no_bias_grad(dout, cache):
    """Forgets the bias gradient (returns zeros for db)."""
    x, W, b = cache
    return dout @ W.T, x.T @ dout, np.zeros_like(b)


def mse_sum(pred, target):
    """Missing 1/N: sums the squared errors instead of averaging them."""
    d = pred - target
    return float(np.sum(d**2)), 2 * d


def mse_mean_over_rows(pred, target):
    """Divides by the number of rows only, not by the number of elements."""
    d = pred - target
    n = d.shape[0]
    return float(np.sum(d**2) / n), 2 * d / n


def mse_grad_no_2(pred, target):
    """Forgets the factor 2 in the gradient."""
    d = pred - target
    return float(np.mean(d**2)), d / d.size


def mse_grad_no_1_over_N(pred, target):
    """Right loss, but the gradient misses the 1/N of the mean."""
    d = pred - target
    return float(np.mean(d**2)), 2 * d


def mse_grad_sign(pred, target):
    """Gradient with the wrong sign (with respect to target instead of pred)."""
    d = pred - target
    return float(np.mean(d**2)), -2 * d / d.size


def numgrad_forward(f, x, h=1e-5):
    """Forward differences (f(x+h) - f(x)) / h: only first-order accurate."""
    grad = np.zeros_like(x)
    fx = f(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        grad[idx] = (f(x) - fx) / h
        x[idx] = old
    return grad


def numgrad_not_restored(f, x, h=1e-5):
    """Leaves each entry at x - h instead of restoring it."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = f(x)
        x[idx] = old - h
        grad[idx] = (fp - f(x)) / (2 * h)
    return grad


def numgrad_restore_by_arithmetic(f, x, h=1e-5):
    """Restores with x[i] += h after x[i] -= 2h: rounding leaves x slightly changed."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        x[idx] += h
        fp = f(x)
        x[idx] -= 2 * h
        fm = f(x)
        x[idx] += h
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def numgrad_divide_by_h(f, x, h=1e-5):
    """Central difference divided by h instead of 2h."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = f(x)
        x[idx] = old - h
        fm = f(x)
        x[idx] = old
        grad[idx] = (fp - fm) / h
    return grad


def numgrad_ignores_h(f, x, h=1e-5):
    """Always uses h = 1e-5, whatever h is given."""
    grad = np.zeros_like(x)
    step = 1e-5
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + step
        fp = f(x)
        x[idx] = old - step
        fm = f(x)
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * step)
    return grad


def numgrad_first_row_only(f, x, h=1e-5):
    """Loops over range(len(x)) with a flat index into x.flat only for the first len(x) entries."""
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(len(x)):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def numgrad_perturbs_copy(f, x, h=1e-5):
    """Perturbs a copy of x and passes the copy to f: an f that reads x itself (a network's loss) never sees it."""
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        xp = x.copy()
        xp[idx] += h
        xm = x.copy()
        xm[idx] -= h
        grad[idx] = (f(xp) - f(xm)) / (2 * h)
    return grad


def affine_forward_cache_no_bias(x, W, b):
    """Caches (x, W, None): enough for affine_backward, but not the (x, W, b) the spec asks for."""
    return x @ W + b, (x, W, None)


def relerr_absolute(a, b):
    """Absolute error ||a - b||, not divided by the sizes of a and b."""
    return float(np.linalg.norm(a - b))


def relerr_one_sided(a, b):
    """Divides by ||b|| only (not symmetric; blows up when b is small)."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def relerr_nan_for_zeros(a, b):
    """No special case: 0 / 0 gives nan when both arrays are zero."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def relerr_elementwise(a, b):
    """Returns the elementwise array |a - b| / (|a| + |b|) instead of one number."""
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)


def relerr_sum_abs(a, b):
    """Uses sums of absolute values (L1) instead of Euclidean norms."""
    return float(np.abs(a - b).sum() / (np.abs(a).sum() + np.abs(b).sum()))


def relerr_floor_1e8(a, b):
    """CS231n's max(1e-8, ...) floor in the denominator: not scale-free for gradients below ~1e-8."""
    return float(np.linalg.norm(a - b) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(b)))


WRONG = {
    "affine_forward": [affine_forward_transposed_W, affine_forward_no_bias, affine_forward_cache_out,
                       affine_forward_in_place, affine_forward_cache_no_bias, affine_forward_float64_buffer],
    "affine_backward": [affine_backward_transposed_dW, affine_backward_db_wrong_axis, affine_backward_db_mean,
                        affine_backward_extra_1_over_N, affine_backward_dx_no_transpose,
                        affine_backward_no_bias_grad, affine_backward_db_ones_float64],
    "mse_loss": [mse_sum, mse_mean_over_rows, mse_grad_no_2, mse_grad_no_1_over_N, mse_grad_sign,
                 mse_dpred_astype_float],
    "numerical_gradient": [numgrad_forward, numgrad_not_restored, numgrad_restore_by_arithmetic,
                           numgrad_divide_by_h, numgrad_ignores_h, numgrad_first_row_only, numgrad_perturbs_copy],
    "relative_error": [relerr_absolute, relerr_one_sided, relerr_nan_for_zeros, relerr_elementwise,
                       relerr_sum_abs, relerr_floor_1e8],
}

# The words each of these answers' check message must contain ("!word": must not contain), case-insensitive:
# the message names the real fault (tests/test_check_messages.py).
MESSAGES = {
    "numerical_gradient": {"numgrad_perturbs_copy": ("in place", "not a copy", "reads the array x itself")},
    "relative_error": {"relerr_floor_1e8": ("scale-free", "max(1e-8")},
}
