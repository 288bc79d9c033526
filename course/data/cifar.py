"""CIFAR-10: ``load_cifar10(split)`` -> (X uint8 (N, 32, 32, 3) HWC, y uint8 (N,)).

With ``COURSE_DATA_FIXTURES`` set, returns the offline subset (10000 train / 2000 test, lossy JPEG re-encoding).
The real download (official tarball, md5, pickled batches, cache) is being written.
"""

from __future__ import annotations

import numpy as np

from course.data.fixtures import load_fixture

SPLITS = ("train", "test")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def load_cifar10(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images (N, 32, 32, 3) uint8 HWC and labels (N,) uint8 for ``split`` ("train" or "test")."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    data = load_fixture("cifar10-subset")
    if data is not None:
        return data[f"x_{split}"], data[f"y_{split}"]
    raise NotImplementedError("downloading CIFAR-10 is not implemented yet; set COURSE_DATA_FIXTURES")
