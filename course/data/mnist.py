"""MNIST: ``load_mnist(split)`` -> (X uint8 (N, 28, 28), y uint8 (N,)); 60000 train / 10000 test images.

Where the data comes from, in order:

1. ``COURSE_DATA_FIXTURES`` set: the offline subset (10000 train / 2000 test images), for tests and CI.
2. The parsed-array cache ``<cache>/mnist/{train,test}.npz`` (``<cache>``: ``data_dir``, else ``$COURSE_DATA_DIR``,
   else ``~/.cache/nn-from-scratch``), written after a verified load.
3. ``COURSE_MNIST_DIR``: a folder holding the four official files ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``
   (or unzipped); never modified.
4. The raw files in ``<cache>/mnist/``, downloaded there from the mirrors (tried in order) when missing.

Every idx file is verified by the md5 of its *unzipped* content (mirrors re-zip the files, so .gz checksums
differ) and parsed here (big-endian idx format: magic 2051 images / 2049 labels, then the dimensions).
"""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from pathlib import Path

import numpy as np

from course.data import fetching
from course.data.fetching import ChecksumError, DataError, DownloadError
from course.data.fixtures import load_fixture
from course.i18n import gettext, join

SPLITS = ("train", "test")
LOCAL_ENV = "COURSE_MNIST_DIR"
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FILES = {  # split -> (images file, labels file)
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MD5 = {  # md5 of the UNZIPPED content (published values)
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


class IdxFormatError(DataError, ValueError):
    """A file is not a well-formed idx file (bad magic number, truncated, trailing bytes)."""


_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def parse_idx(data: bytes, expected_magic: int | None = None, name: str = "idx data") -> np.ndarray:
    """Parse an (unzipped) idx file: 4-byte big-endian magic (0, 0, dtype code, ndim), ndim big-endian uint32 sizes,
    then the values. Returns the array of shape (dims...); raises IdxFormatError on malformed input."""
    if len(data) < 4:
        raise IdxFormatError(gettext("{file}: only {size} bytes, too short for an idx header (truncated file?)",
                                     file=name, size=len(data)))
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise IdxFormatError(gettext("{file}: bad magic number {magic} (0x{magic:08x}), expected {expected} "
                                     "(0x{expected:08x}); this is not the right idx file (or it is still gzipped)",
                                     file=name, magic=magic, expected=expected_magic))
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES or data[3] == 0:
        raise IdxFormatError(gettext("{file}: bad magic number {magic} (0x{magic:08x}); not an idx file", file=name,
                                     magic=magic))
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(gettext("{file}: truncated header ({size} bytes, the header needs {header})", file=name,
                                     size=len(data), header=header))
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(dims, dtype=np.int64))
    need = header + count * dtype.itemsize
    if len(data) < need:
        raise IdxFormatError(gettext("{file}: truncated: the header promises shape {shape} ({need} bytes in all) but "
                                     "the file has only {size} bytes (incomplete download?)", file=name, shape=dims,
                                     need=need, size=len(data)))
    if len(data) > need:
        raise IdxFormatError(gettext("{file}: {extra} unexpected bytes after the {shape} values", file=name,
                                     extra=len(data) - need, shape=dims))
    values = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike, md5: str | None = None, expected_magic: int | None = None) -> np.ndarray:
    """Read an idx file (``.gz`` or unzipped), check the md5 of its unzipped content against ``md5``, parse it."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise ChecksumError(gettext("{path}: cannot be read/unzipped ({error}); the file is corrupted or incomplete",
                                    path=path, error=exc)) from exc
    if md5 is not None:
        got = fetching.md5_bytes(data)
        if got != md5:
            raise ChecksumError(gettext("{path}: md5 of the unzipped content is {got}, expected {md5} (corrupted or "
                                        "not the official file)", path=path, got=got, md5=md5))
    return parse_idx(data, expected_magic, name=str(path))


def _help(folder: Path) -> str:
    names = [name for pair in FILES.values() for name in pair]
    return gettext("To get MNIST without this downloader, download these four files (from any one mirror):\n{files}\n"
                   "  (other mirrors: {mirrors})\nand put them in the folder {folder}\nor put them in any folder and "
                   "set the environment variable {env} to that folder\n(set {cache_env} to move the whole data cache "
                   "elsewhere); the files may be gzipped or unzipped.\nFor tests: COURSE_DATA_FIXTURES=<folder with "
                   "mnist-subset.npz> makes load_mnist return the 12,000-image offline subset.",
                   files="\n".join(f"  {MIRRORS[0]}{name}" for name in names), mirrors=join(MIRRORS[1:]),
                   folder=folder, env=LOCAL_ENV, cache_env=fetching.CACHE_ENV)


def _local_copy(name: str) -> Path | None:
    value = os.environ.get(LOCAL_ENV, "").strip()
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise DataError(gettext("{env}={value!r} is not a folder; it should hold the four MNIST idx .gz files",
                                env=LOCAL_ENV, value=value))
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    raise DataError(gettext("{env}={value!r} does not contain {name} (nor its unzipped form); it should hold the "
                            "four MNIST files {files}", env=LOCAL_ENV, value=value, name=name,
                            files=join(n for p in FILES.values() for n in p)))


def _load_file(name: str, magic: int, folder: Path, download: bool, progress: bool) -> np.ndarray:
    local = _local_copy(name)
    if local is not None:  # the user's own copy: verify, never modify
        return read_idx(local, MD5[name], magic)
    path = folder / name
    if path.exists():
        try:
            return read_idx(path, MD5[name], magic)
        except DataError as exc:
            warnings.warn(gettext("deleting corrupted cached file: {error}", error=exc), stacklevel=3)
            path.unlink(missing_ok=True)
    if not download:
        raise DownloadError(gettext("MNIST file {name} is not in the cache and download=False.\n{help}", name=name,
                                    help=_help(folder)))
    fetching.fetch(name, [mirror + name for mirror in MIRRORS], path, md5=MD5[name], gunzip_md5=True,
                 progress=progress, hint=_help(folder))
    return read_idx(path, MD5[name], magic)


def load_mnist(split: str = "train", *, data_dir: str | os.PathLike | None = None, download: bool = True,
               progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (N, 28, 28) uint8 0..255 and labels (N,) uint8 0..9 for ``split`` ("train" or "test").

    ``data_dir``: cache folder (default ``$COURSE_DATA_DIR`` or ``~/.cache/nn-from-scratch``); ``download=False``
    raises DownloadError instead of using the network; ``progress=False`` silences the download display.
    With ``COURSE_DATA_FIXTURES`` set, returns the offline subset (10000 train / 2000 test) instead.
    """
    if split not in SPLITS:
        raise ValueError(gettext("split must be one of {splits}, got {split!r}", splits=SPLITS, split=split))
    data = load_fixture("mnist-subset")
    if data is not None:
        return data[f"x_{split}"], data[f"y_{split}"]

    folder = fetching.cache_dir(data_dir, "mnist")
    cached = fetching.load_arrays(folder / f"{split}.npz", ("x", "y"))
    if cached is not None:
        return cached["x"], cached["y"]

    images_name, labels_name = FILES[split]
    x = _load_file(images_name, IMAGES_MAGIC, folder, download, progress)
    y = _load_file(labels_name, LABELS_MAGIC, folder, download, progress)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
        raise DataError(gettext("MNIST {split} images have shape {shape} dtype {dtype}, expected (N, 28, 28) uint8",
                                split=split, shape=x.shape, dtype=x.dtype))
    if y.shape != (len(x),) or y.dtype != np.uint8 or (y.size and y.max() > 9):
        raise DataError(gettext("MNIST {split} labels have shape {shape}, expected ({count},) uint8 values 0..9",
                                split=split, shape=y.shape, count=len(x)))
    fetching.save_arrays(folder / f"{split}.npz", x=x, y=y)
    return x, y
