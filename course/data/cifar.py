"""CIFAR-10: ``load_cifar10(split)`` -> (X uint8 (N, 32, 32, 3) HWC, y uint8 (N,)); 50000 train / 10000 test images.

Where ``load_cifar10`` gets the data, in order:

1. ``COURSE_DATA_FIXTURES`` set: the offline subset (10000 train / 2000 test, lossy JPEG re-encoding), for tests/CI.
2. The parsed-array cache ``<cache>/cifar10/{train,test}.npz`` (``<cache>``: ``data_dir``, else ``$COURSE_DATA_DIR``,
   else ``~/.cache/nn-from-scratch``), written after a verified load.
3. ``COURSE_CIFAR10_DIR``: the official tarball ``cifar-10-python.tar.gz``, a folder holding it, or its extracted
   ``cifar-10-batches-py`` folder (each batch file is then checked against its published md5); never modified.
   It may also name the course's lossy JPEG copy (``cifar10-full-jpeg.npz``, a folder holding it, or a folder of
   ``train|test/<class>/NNNN.jpg`` files; :mod:`course.data.cifar_jpeg`): checked before the cache, decoded once
   (cached), returned in one fixed shuffled order (the copy is class-major and keeps no official order).
4. The official tarball in ``<cache>/cifar10/``, downloaded there when missing (md5 c58f30108f718f92721af3b95e74349a).

The batches are read straight out of the tarball in memory: nothing from the archive is written to disk (so no path
traversal is possible), and an archive with an absolute or ``..`` member path, a link or a device is rejected anyway.
The pickled batches are loaded with an unpickler that only allows the numpy array classes they need.

``load_cifar10_jpeg(npz_path, split)`` decodes ``cifar10-full-jpeg.npz`` (all 60000 images as JPEG bytes, a lossy
re-encoding) for benchmarks when the official tarball cannot be had.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import warnings
from pathlib import Path, PurePosixPath

import numpy as np

from course.data import fetching
from course.data.cifar_jpeg import JPEG_NPZ, jpeg_source, load_jpeg_folder, shuffled
from course.data.fetching import ChecksumError, DataError, DownloadError
from course.data.fixtures import fixture_dir, load_fixture
from course.i18n import gettext as _
from course.i18n import join

SPLITS = ("train", "test")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
LOCAL_ENV = "COURSE_CIFAR10_DIR"
TAR_NAME = "cifar-10-python.tar.gz"
URLS = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
TAR_MD5 = "c58f30108f718f92721af3b95e74349a"
TAR_BYTES = 170_498_071
FOLDER = "cifar-10-batches-py"
BATCHES = {"train": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"),
           "test": ("test_batch",)}
BATCH_MD5 = {  # of the extracted files (used when COURSE_CIFAR10_DIR points at an extracted folder)
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}

# ----------------------------------------------------------------------------------------------------------------
# parsing the pickled batches

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct, ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): scalar, ("numpy._core.multiarray", "scalar"): scalar,
    ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 batch; refuses every global except numpy arrays (a pickle can otherwise run code)."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if (module, name) == ("_codecs", "encode"):  # bytes in protocol-2 pickles written by Python 3
            import codecs
            return codecs.encode
        raise pickle.UnpicklingError(_("refusing to load {module}.{name} from a CIFAR-10 batch file", module=module,
                                       name=name))


def parse_batch(data: bytes, name: str = "batch") -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR-10 batch (dict with b"data" (N, 3072) uint8 CHW rows, b"labels") -> (X (N, 32, 32, 3), y)."""
    try:
        batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:
        raise DataError(_("{file}: not a readable CIFAR-10 batch ({error_type}: {error})", file=name,
                          error_type=type(exc).__name__, error=exc)) from exc
    if not isinstance(batch, dict):
        raise DataError(_("{file}: expected a dict, got {kind}", file=name, kind=type(batch).__name__))
    pixels = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3072:
        raise DataError(_("{file}: b'data' should be a uint8 array of shape (N, 3072), got {shape} {dtype}", file=name,
                          shape=getattr(pixels, "shape", type(pixels).__name__), dtype=getattr(pixels, "dtype", "")))
    y = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if y.shape != (len(pixels),) or (y.size and (y.min() < 0 or y.max() > 9)):
        raise DataError(_("{file}: b'labels' should hold {count} labels in 0..9, got shape {shape}", file=name,
                          count=len(pixels), shape=y.shape))
    x = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), y.astype(np.uint8)


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        raise DataError(_("{archive}: unsafe path {member!r} in the archive; refusing to use it", archive=archive,
                          member=member.name))
    if not (member.isfile() or member.isdir()):
        raise DataError(_("{archive}: unexpected link or special file {member!r} in the archive; refusing to use it",
                          archive=archive, member=member.name))


def _read_tarball(path: Path) -> dict[str, bytes]:
    """The six batch files of the (already md5-checked) tarball, read in memory."""
    wanted = {f"{FOLDER}/{name}": name for names in BATCHES.values() for name in names}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                _check_member(member, path)
                key = str(PurePosixPath(member.name))
                if key in wanted and member.isfile():
                    found[wanted[key]] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(_("{path}: cannot read the archive ({error})", path=path, error=exc)) from exc
    missing = sorted(set(wanted.values()) - set(found))
    if missing:
        raise DataError(_("{path}: the archive lacks {members}", path=path,
                          members=join(f"{FOLDER}/{m}" for m in missing)))
    return found


def _read_folder(folder: Path) -> dict[str, bytes]:
    """The six batch files of an extracted ``cifar-10-batches-py`` folder, each checked against its md5."""
    found = {}
    for name in (n for names in BATCHES.values() for n in names):
        path = folder / name
        if not path.is_file():
            raise DataError(_("{folder} does not contain {name}; it should be the extracted {expected} folder",
                              folder=folder, name=name, expected=FOLDER))
        data = path.read_bytes()
        got = fetching.md5_bytes(data)
        if got != BATCH_MD5[name]:
            raise ChecksumError(_("{path}: md5 is {got}, expected {expected} (corrupted or not the official file)",
                                  path=path, got=got, expected=BATCH_MD5[name]))
        found[name] = data
    return found


def _parse_all(files: dict[str, bytes]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for split, names in BATCHES.items():
        parts = [parse_batch(files[name], name) for name in names]
        out[split] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return out


# ----------------------------------------------------------------------------------------------------------------
# finding the data


def _help(folder: Path) -> str:
    return _("To get CIFAR-10 without this downloader, download\n  {url}\n({size:,} bytes, md5 {md5}) and put it in "
             "the folder {folder}\nor set the environment variable {env} to the tarball, to the folder holding it, or "
             "to its extracted {extracted} folder\n(set {cache_env} to move the whole data cache elsewhere).\nOther "
             "local copies: load_cifar10_jpeg('cifar10-full-jpeg.npz', split) reads the course's lossy JPEG copy of "
             "all 60,000 images,\nand COURSE_DATA_FIXTURES=<folder with cifar10-subset.npz> makes load_cifar10 return "
             "the 12,000-image offline subset (lossy JPEG too).", url=URLS[0], size=TAR_BYTES, md5=TAR_MD5,
             folder=folder, env=LOCAL_ENV, extracted=FOLDER, cache_env=fetching.CACHE_ENV)


def _verified_tarball(path: Path) -> Path:
    got = fetching.md5_file(path)
    if got != TAR_MD5:
        raise ChecksumError(_("{path}: md5 is {got}, expected {expected} (corrupted, incomplete or not the official "
                              "CIFAR-10 python tarball). For the course's JPEG copy ({npz}) set {env} to that .npz "
                              "file (load_cifar10 then decodes it), or call load_cifar10_jpeg(path, split)", path=path,
                              got=got, expected=TAR_MD5, npz=JPEG_NPZ, env=LOCAL_ENV))
    return path


def _local_files() -> dict[str, bytes] | None:
    value = os.environ.get(LOCAL_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_file():
        return _read_tarball(_verified_tarball(path))
    if path.is_dir():
        if (path / FOLDER).is_dir():
            return _read_folder(path / FOLDER)
        if (path / "data_batch_1").is_file():
            return _read_folder(path)
        if (path / TAR_NAME).is_file():
            return _read_tarball(_verified_tarball(path / TAR_NAME))
    raise DataError(_("{env}={value!r} is neither the CIFAR-10 tarball nor a folder holding {tarball} or the "
                      "extracted {extracted} folder, nor the course's JPEG copy ({npz}, a folder holding it, or a "
                      "folder of train/<class>/*.jpg files); load_cifar10_jpeg(path, split) reads the JPEG npz "
                      "directly", env=LOCAL_ENV, value=value, tarball=TAR_NAME, extracted=FOLDER, npz=JPEG_NPZ))


def _cached_files(folder: Path, download: bool, progress: bool) -> dict[str, bytes]:
    path = folder / TAR_NAME
    if path.exists():
        try:
            return _read_tarball(_verified_tarball(path))
        except DataError as exc:
            warnings.warn(_("deleting corrupted cached file: {error}", error=exc), stacklevel=3)
            path.unlink(missing_ok=True)
    if not download:
        raise DownloadError(_("CIFAR-10 is not in the cache and download=False.\n{help}", help=_help(folder)))
    fetching.fetch(TAR_NAME, URLS, path, md5=TAR_MD5, progress=progress, hint=_help(folder))
    try:
        return _read_tarball(path)
    except DataError:
        path.unlink(missing_ok=True)  # an archive we cannot use is not kept in the cache
        raise


def load_cifar10(split: str = "train", *, data_dir: str | os.PathLike | None = None, download: bool = True,
                 progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images (N, 32, 32, 3) uint8 HWC and labels (N,) uint8 for ``split`` ("train" or "test").

    Labels index ``CIFAR10_CLASSES``; images are in the official order (data_batch_1..5, test_batch).
    ``data_dir``: cache folder (default ``$COURSE_DATA_DIR`` or ``~/.cache/nn-from-scratch``); ``download=False``
    raises DownloadError instead of using the network; ``progress=False`` silences the download display.
    With ``COURSE_DATA_FIXTURES`` set, returns the offline subset (10000 train / 2000 test) instead; with
    ``COURSE_CIFAR10_DIR`` naming the course's JPEG copy, all 60,000 of its (lossy) images in a fixed shuffled order.
    """
    if split not in SPLITS:
        raise ValueError(_("split must be one of {splits}, got {split!r}", splits=SPLITS, split=split))
    data = load_fixture("cifar10-subset")
    if data is not None:
        return data[f"x_{split}"], data[f"y_{split}"]
    jpeg = jpeg_source()
    if jpeg is not None:  # the course's JPEG copy, asked for by name: before the cache of the official arrays
        if jpeg.is_file():
            return shuffled(*load_cifar10_jpeg(jpeg, split, data_dir=data_dir, progress=progress))
        return shuffled(*load_jpeg_folder(jpeg, split, CIFAR10_CLASSES, data_dir=data_dir, progress=progress))

    folder = fetching.cache_dir(data_dir, "cifar10")
    cached = fetching.load_arrays(folder / f"{split}.npz", ("x", "y"))
    if cached is not None:
        return cached["x"], cached["y"]

    files = _local_files()
    if files is None:
        files = _cached_files(folder, download, progress)
    parsed = _parse_all(files)
    for name, (x, y) in parsed.items():  # cache both splits: reading the tarball is the slow part
        fetching.save_arrays(folder / f"{name}.npz", x=x, y=y)
    return parsed[split]


def cifar10_source() -> str:
    """Which copy of CIFAR-10 ``load_cifar10`` reads now, in words (notebooks print it next to accuracies)."""
    if fixture_dir() is not None:
        return _("the offline subset named by COURSE_DATA_FIXTURES (10,000 train / 2,000 test images), a lossy "
                 "quality-75 JPEG re-encoding: accuracies are close to, not equal to, the official images'")
    if jpeg_source() is not None:
        return _("the course's JPEG copy of all 60,000 images named by {env} ({path}), a lossy quality-75 "
                 "re-encoding: accuracies are close to, not equal to, the official images'", env=LOCAL_ENV,
                 path=jpeg_source())
    return _("the official CIFAR-10 images (lossless)")


# ----------------------------------------------------------------------------------------------------------------
# the shared JPEG copy (benchmarks)


def load_cifar10_jpeg(npz_path: str | os.PathLike, split: str = "train", *, data_dir: str | os.PathLike | None = None,
                      progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Decode a CIFAR-10 JPEG archive (``cifar10-full-jpeg.npz``) -> (X uint8 (N, 32, 32, 3) HWC, y uint8 (N,)).

    The archive holds every image as JPEG bytes (``<split>_jpeg`` sliced by ``<split>_offsets``) with
    ``<split>_labels`` indexing ``CIFAR10_CLASSES`` (the official class order; checked against ``class_names``).
    Images come class-major (all airplanes, then all automobiles, ...): shuffle before mini-batching.
    Decoded arrays are cached in ``<cache>/cifar10-jpeg/`` keyed by the archive's md5, so only the first call decodes
    (with a progress display). NOTE: these are lossy quality-75 JPEG re-encodings of the official images (about
    30 dB PSNR), so accuracies measured on them are close to, not equal to, those on the official CIFAR-10.
    """
    from PIL import Image

    if split not in SPLITS:
        raise ValueError(_("split must be one of {splits}, got {split!r}", splits=SPLITS, split=split))
    npz_path = Path(npz_path).expanduser()
    if not npz_path.is_file():
        raise FileNotFoundError(_("{path} does not exist (expected cifar10-full-jpeg.npz)", path=npz_path))
    key = fetching.md5_file(npz_path)[:12]
    cache = fetching.cache_dir(data_dir, "cifar10-jpeg") / f"{split}-{key}.npz"
    cached = fetching.load_arrays(cache, ("x", "y"))
    if cached is not None:
        return cached["x"], cached["y"]

    with np.load(npz_path, allow_pickle=False) as data:
        missing = [k for k in (f"{split}_jpeg", f"{split}_offsets", f"{split}_labels", "class_names")
                   if k not in data.files]
        if missing:
            raise DataError(_("{path}: missing arrays {missing}; expected the cifar10-full-jpeg.npz layout",
                              path=npz_path, missing=missing))
        blob, offsets, labels = data[f"{split}_jpeg"], data[f"{split}_offsets"], data[f"{split}_labels"]
        names = tuple(str(c) for c in data["class_names"])
    if names != CIFAR10_CLASSES:
        raise DataError(_("{path}: class_names {names} are not the official order {official}", path=npz_path,
                          names=names, official=CIFAR10_CLASSES))
    n = len(labels)
    if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) <= 0):
        raise DataError(_("{path}: {split}_offsets should rise from 0 to {end} in {count} steps", path=npz_path,
                          split=split, end=len(blob), count=n + 1))
    if n and labels.max() > 9:
        raise DataError(_("{path}: {split}_labels should be in 0..9", path=npz_path, split=split))

    x = np.empty((n, 32, 32, 3), dtype=np.uint8)
    with fetching.progress_bar(n, _("decoding CIFAR-10 {split} JPEGs", split=split), unit=_("images"),
                               enabled=progress) as bar:
        for i in range(n):
            try:
                with Image.open(io.BytesIO(blob[offsets[i]:offsets[i + 1]].tobytes())) as image:
                    pixels = np.asarray(image.convert("RGB"))
            except (OSError, ValueError) as exc:  # PIL.UnidentifiedImageError is an OSError
                raise DataError(_("{path}: {split} image {index} is not a readable JPEG ({error})", path=npz_path,
                                  split=split, index=i, error=exc)) from exc
            if pixels.shape != (32, 32, 3):
                raise DataError(_("{path}: {split} image {index} decodes to shape {shape}, not (32, 32, 3)",
                                  path=npz_path, split=split, index=i, shape=pixels.shape))
            x[i] = pixels
            if (i + 1) % 500 == 0 or i + 1 == n:
                bar.update((i + 1) - bar.n)
    y = labels.astype(np.uint8)
    fetching.save_arrays(cache, x=x, y=y)
    return x, y
