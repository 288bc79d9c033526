"""Chapter 2 reference: dense (affine) layers, MSE, numerical gradients."""

from __future__ import annotations

import numpy as np

__all__ = ["affine_forward", "affine_backward", "mse_loss", "numerical_gradient", "relative_error"]


def affine_forward(x, W, b):
    """out = x @ W + b for x (N, D), W (D, M), b (M,). Returns (out (N, M), cache = (x, W, b))."""
    out = x @ W + b
    return out, (x, W, b)


def affine_backward(dout, cache):
    """Gradients of an affine layer. dout (N, M); cache (x, W, b). Returns (dx (N, D), dW (D, M), db (M,))."""
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def mse_loss(pred, target):
    """Mean squared error over *all* elements: loss = mean((pred - target)**2).

    pred, target: arrays of the same shape. Returns (loss float, dpred = 2 (pred - target) / pred.size).
    """
    diff = pred - target
    return float(np.mean(diff**2)), 2.0 * diff / diff.size


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar function f at x (float array of any shape).

    Each entry of x is perturbed in place, f(x) is evaluated, and the saved value is put back, so x is
    unchanged afterwards. Returns grad with x's shape: (f(x + h e_i) - f(x - h e_i)) / (2 h).
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||) (Euclidean norms over all entries) as a float; 0.0 when both are zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)
