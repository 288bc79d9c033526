"""The course's lossy JPEG copies of CIFAR-10 as a source for ``load_cifar10`` (``COURSE_CIFAR10_DIR``).

``COURSE_CIFAR10_DIR`` may name, besides the official tarball or its folders:

* ``cifar10-full-jpeg.npz`` (all 60,000 images as JPEG bytes), or a folder holding it: decoded by
  ``course.data.cifar.load_cifar10_jpeg``;
* a folder of JPEG files laid out ``train/<class>/NNNN.jpg`` and ``test/<class>/NNNN.jpg`` (the layout the course's
  copy was made from): decoded here by :func:`load_jpeg_folder`.

Both copies are class-major and lossy (quality-75 JPEG, about 30 dB PSNR to the official images).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from course.data import fetching
from course.data.fetching import DataError
from course.i18n import gettext, join

JPEG_NPZ = "cifar10-full-jpeg.npz"
LOCAL_ENV = "COURSE_CIFAR10_DIR"


def is_jpeg_folder(path: Path) -> bool:
    """``path`` holds ``train/<class>/*.jpg`` (the JPEG folder layout)."""
    train = path / "train"
    return train.is_dir() and any(p.is_dir() and any(p.glob("*.jpg")) for p in train.iterdir())


def jpeg_source() -> Path | None:
    """The JPEG copy ``COURSE_CIFAR10_DIR`` names (the npz or a folder of JPEGs), or None."""
    value = os.environ.get(LOCAL_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_file() and path.suffix == ".npz":
        return path
    if path.is_dir():
        if (path / JPEG_NPZ).is_file():
            return path / JPEG_NPZ
        if is_jpeg_folder(path):
            return path
    return None


def load_jpeg_folder(folder: str | os.PathLike, split: str, classes: tuple[str, ...], *,
                     data_dir: str | os.PathLike | None = None, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``folder/<split>/<class>/*.jpg`` -> (X uint8 (N, 32, 32, 3), y uint8 (N,)), class-major, files in
    name order. The decoded arrays are cached in ``<cache>/cifar10-jpeg/`` keyed by the folder and its file count."""
    from PIL import Image

    root = Path(folder).expanduser() / split
    missing = [c for c in classes if not (root / c).is_dir()]
    if missing:
        raise DataError(gettext("{root}: missing class folders {missing}; expected {split}/<class>/NNNN.jpg for the "
                                "classes {classes}", root=root, missing=missing, split=split,
                                classes=join(classes)))
    files = [(label, p) for label, c in enumerate(classes) for p in sorted((root / c).glob("*.jpg"))]
    key = fetching.md5_bytes(f"{root.resolve()}:{len(files)}".encode())[:12]
    cache = fetching.cache_dir(data_dir, "cifar10-jpeg") / f"{split}-folder-{key}.npz"
    cached = fetching.load_arrays(cache, ("x", "y"))
    if cached is not None:
        return cached["x"], cached["y"]
    x = np.empty((len(files), 32, 32, 3), dtype=np.uint8)
    with fetching.progress_bar(len(files), gettext("decoding CIFAR-10 {split} JPEGs", split=split),
                               unit=gettext("images"),
                               enabled=progress) as bar:
        for i, (_, path) in enumerate(files):
            try:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("RGB"))
            except (OSError, ValueError) as exc:
                raise DataError(gettext("{path} is not a readable JPEG ({error})", path=path, error=exc)) from exc
            if pixels.shape != (32, 32, 3):
                raise DataError(gettext("{path} decodes to shape {shape}, not (32, 32, 3)", path=path,
                                        shape=pixels.shape))
            x[i] = pixels
            if (i + 1) % 500 == 0 or i + 1 == len(files):
                bar.update((i + 1) - bar.n)
    y = np.array([label for label, _ in files], dtype=np.uint8)
    fetching.save_arrays(cache, x=x, y=y)
    return x, y


def shuffled(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The class-major copy in one fixed shuffled order (seed 0), so that a prefix X[:n] holds every class."""
    order = np.random.default_rng(0).permutation(len(y))
    return x[order], y[order]
