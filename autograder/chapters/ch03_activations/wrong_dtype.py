"""Chapter 3's answers with the right values in float64 for float32 inputs (a float64 buffer, constant or cast):
caught by dtype_cases.check_float32 and by the visible tests' float32 case."""

import numpy as np

from autograder.chapters.ch03_activations import reference as ref


def relu_forward_float64(x):
    """np.maximum(x, np.zeros(x.shape)): the zeros array is float64, so a float32 x comes out float64."""
    return np.maximum(x, np.zeros(x.shape)), x


def relu_backward_float64(dout, cache):
    """dx = np.zeros(dout.shape), then dout copied where x > 0: float64 for float32 inputs."""
    dx = np.zeros(np.shape(dout))
    dx[cache > 0] = dout[cache > 0]
    return dx


def sigmoid_forward_float64(x):
    """np.asarray(x, dtype=float) first (a float32 x is computed and returned in float64)."""
    out = ref.sigmoid(np.asarray(x, dtype=float))
    return out, out


def sigmoid_backward_float64(dout, cache):
    """dout * s * (np.ones(s.shape) - s): the ones array is float64."""
    return dout * cache * (np.ones(np.shape(cache)) - cache)


def bce_dlogits_float64(logits, y):
    """The stable loss in float64 and dlogits left in float64 for float32 logits."""
    z = np.asarray(logits, dtype=np.float64)
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return float(loss), (ref.sigmoid(z) - y) / z.size


def deep_forward_float64(X, params):
    """A = X.astype(float) first: every layer of a float32 network computes in float64."""
    L = len(params) // 2
    A, caches = np.asarray(X).astype(float), []
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ W + b
        caches.append(((A, W, b), Z))
        A = np.maximum(Z, 0) if l < L else ref.sigmoid(Z)
    return A[:, 0], caches
