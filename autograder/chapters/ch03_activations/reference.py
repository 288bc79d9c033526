"""Chapter 3 reference: ReLU, sigmoid, stable BCE, initialisation, an L-layer ReLU...ReLU-sigmoid network."""

from __future__ import annotations

import numpy as np

__all__ = ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "bce_with_logits",
           "init_params", "deep_forward", "deep_backward"]

SCHEMES = ("he", "xavier", "small")


def relu_forward(x):
    """max(0, x) elementwise. Returns (out (same shape as x), cache = x)."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where the input x (the cache) was > 0, else 0."""
    return dout * (cache > 0)


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), elementwise, without overflow (same shape as x)."""
    # exp of a non-positive number never overflows: use exp(-|x|) on both sides.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_forward(x):
    """1 / (1 + exp(-x)) elementwise, without overflow for any finite x. Returns (out, cache = out)."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """dx = dout * s * (1 - s), where the cache s is the sigmoid output."""
    return dout * cache * (1 - cache)


def bce_with_logits(logits, y):
    """Mean binary cross-entropy of sigmoid(logits) against labels y in {0, 1} (same shape, e.g. (N,)).

    loss = mean(max(z, 0) - z y + log(1 + exp(-|z|))), stable for any finite z.
    Returns (loss float, dlogits = (sigmoid(z) - y) / z.size).
    """
    z = np.asarray(logits, dtype=np.float64)
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dlogits = (sigmoid(z) - y) / z.size
    return float(loss), dlogits.astype(np.result_type(logits, np.float32))


def init_params(layer_dims, scheme, rng):
    """Parameters of a dense net with sizes layer_dims = [n0, n1, ..., nL].

    For l = 1..L: W{l} (n{l-1}, n{l}) = rng.standard_normal((n{l-1}, n{l})) * scale and b{l} = zeros (n{l},),
    scale = sqrt(2 / n{l-1}) ("he"), sqrt(1 / n{l-1}) ("xavier") or 0.01 ("small"). Returns {"W1", "b1", ...}.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    params = {}
    for l in range(1, len(layer_dims)):
        n_in, n_out = layer_dims[l - 1], layer_dims[l]
        scale = {"he": np.sqrt(2.0 / n_in), "xavier": np.sqrt(1.0 / n_in), "small": 0.01}[scheme]
        params[f"W{l}"] = rng.standard_normal((n_in, n_out)) * scale
        params[f"b{l}"] = np.zeros(n_out)
    return params


def deep_forward(X, params):
    """L-layer net: (affine -> ReLU) x (L-1), then affine -> sigmoid.

    X (N, n0); params {"W1", "b1", ..., "WL", "bL"} with WL (n{L-1}, 1).
    Returns (probs (N,), caches) with caches[l-1] = ((A_prev, W, b), Z) for layer l (Z before the activation).
    """
    L = len(params) // 2
    A = X
    caches = []
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ W + b
        caches.append(((A, W, b), Z))
        A = np.maximum(Z, 0) if l < L else sigmoid(Z)
    return A[:, 0], caches


def deep_backward(probs, y, caches):
    """Gradients of the mean BCE cost of probs (N,) against y (N,), through the caches of deep_forward.

    Returns {"W1": dW1, "b1": db1, ...} with the shapes of the parameters. The output layer uses
    dZ_L = (probs - y) / N (sigmoid and cross-entropy together).
    """
    N = probs.shape[0]
    L = len(caches)
    grads = {}
    dZ = ((probs - y) / N)[:, None]
    for l in range(L, 0, -1):
        (A_prev, W, _), _ = caches[l - 1]
        grads[f"W{l}"] = A_prev.T @ dZ
        grads[f"b{l}"] = dZ.sum(axis=0)
        if l > 1:
            dZ = (dZ @ W.T) * (caches[l - 2][1] > 0)  # back through layer l-1's ReLU
    return grads
