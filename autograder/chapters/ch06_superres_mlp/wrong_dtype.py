"""Chapter 6's answers with the right values in float64 for float32 inputs: caught by dtype_cases.check_float32 and
by the visible tests' float32 case."""

import numpy as np

from autograder.chapters.ch06_superres_mlp import reference as ref


def downsample_always_float64(hr, factor):
    """np.asarray(hr, dtype=np.float64) first (right for uint8 photos, but a float32 batch comes out float64)."""
    return ref.downsample_box(np.asarray(hr, dtype=np.float64), factor)


def upsample_nearest_kron_float64(lr, factor):
    """np.kron(lr, np.ones((1, f, f, 1))): the ones block is float64, so the output is too."""
    return np.kron(lr, np.ones((1, factor, factor, 1)))


def loss_grads_float64(params, x, y):
    """x and y cast with .astype(float) first: every gradient float64 for a float32 network."""
    return ref.mlp_loss_grads(params, np.asarray(x).astype(float), np.asarray(y).astype(float))


def train_step_float64(params, x, y, lr):
    """The new parameters built as np.array(p - lr * g, dtype=float): float64 for a float32 network."""
    loss, grads = ref.mlp_loss_grads(params, x, y)
    return loss, {k: np.array(p - lr * grads[k], dtype=float) for k, p in params.items()}
