"""Chapter 2's answers with the right values in float64 for float32 inputs: caught by dtype_cases.check_float32
and by the visible tests' float32 case."""

import numpy as np


def affine_forward_float64_buffer(x, W, b):
    """out = np.zeros((N, M)) filled with x @ W + b: float64 for float32 inputs."""
    out = np.zeros((x.shape[0], W.shape[1]))
    out[:] = x @ W + b
    return out, (x, W, b)


def affine_backward_db_ones_float64(dout, cache):
    """db = np.ones(N) @ dout: the ones vector is float64, so db is float64 for a float32 dout."""
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, np.ones(dout.shape[0]) @ dout


def mse_dpred_astype_float(pred, target):
    """(pred - target).astype(float) first: loss right, dpred float64 for float32 inputs."""
    diff = (pred - target).astype(float)
    return float(np.mean(diff ** 2)), 2 * diff / diff.size
