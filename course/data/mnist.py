"""MNIST: ``load_mnist(split)`` -> (X uint8 (N, 28, 28), y uint8 (N,)).

With ``COURSE_DATA_FIXTURES`` set, returns the offline subset (10000 train / 2000 test images).
The real download (mirrors, md5 of the unzipped files, idx parsing, cache) is being written.
"""

from __future__ import annotations

import numpy as np

from course.data.fixtures import load_fixture

SPLITS = ("train", "test")


def load_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (N, 28, 28) uint8 0..255 and labels (N,) uint8 for ``split`` ("train" or "test")."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    data = load_fixture("mnist-subset")
    if data is not None:
        return data[f"x_{split}"], data[f"y_{split}"]
    raise NotImplementedError("downloading MNIST is not implemented yet; set COURSE_DATA_FIXTURES")
