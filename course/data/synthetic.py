"""Small synthetic data sets made on the fly (chapter 1)."""

from __future__ import annotations

import numpy as np


def make_blobs(n_per_class=50, gap=2.0, rng=None):
    """Two Gaussian blobs in 2-D, linearly separable for a large ``gap``.

    Returns X (2 * n_per_class, 2) float64 and y (2 * n_per_class,) int64 in {0, 1}.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    centre = np.array([gap / 2, gap / 2])
    X = np.concatenate([rng.normal(size=(n_per_class, 2)) * 0.6 - centre,
                        rng.normal(size=(n_per_class, 2)) * 0.6 + centre])
    y = np.repeat(np.array([0, 1], dtype=np.int64), n_per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def make_xor():
    """The four XOR points: X (4, 2) float64 and y (4,) int64. No line separates the two classes."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y
