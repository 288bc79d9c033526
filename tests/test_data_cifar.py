"""course.data.cifar: official-layout tarball (md5, safe in-memory extraction, pickled batches), local copies,
cache, and the JPEG archive decoder. No network: a small fake tarball is built from ../shared/data/cifar10-subset.npz.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from course.data import cifar, fetching
from course.data.cifar import CIFAR10_CLASSES, load_cifar10, load_cifar10_jpeg, parse_batch
from course.data.fetching import ChecksumError, DataError, DownloadError
from tests.conftest import SHARED_DATA, offline_download_env

SUBSET = SHARED_DATA / "cifar10-subset.npz"
FULL_JPEG = SHARED_DATA / "cifar10-full-jpeg.npz"
PER_BATCH, N_TEST = 12, 30
pytestmark = pytest.mark.skipif(not SUBSET.exists(), reason=f"offline fixture {SUBSET} not found")


@pytest.fixture(scope="module")
def subset():
    with np.load(SUBSET) as data:
        return {"train": (data["x_train"][:5 * PER_BATCH], data["y_train"][:5 * PER_BATCH]),
                "test": (data["x_test"][::2000 // N_TEST][:N_TEST], data["y_test"][::2000 // N_TEST][:N_TEST])}


def batch_pickle(x: np.ndarray, y: np.ndarray, label: bytes) -> bytes:
    """A batch as the official files store it: dict with bytes keys, rows of 3072 = R plane, G plane, B plane."""
    rows = np.stack([img.transpose(2, 0, 1).reshape(-1) for img in x]).astype(np.uint8)
    return pickle.dumps({b"batch_label": label, b"labels": [int(v) for v in y], b"data": rows,
                         b"filenames": [b"img_%d.png" % i for i in range(len(y))]}, protocol=2)


def batch_files(subset) -> dict[str, bytes]:
    x, y = subset["train"]
    files = {f"data_batch_{k + 1}": batch_pickle(x[k * PER_BATCH:(k + 1) * PER_BATCH],
                                                 y[k * PER_BATCH:(k + 1) * PER_BATCH], b"training batch")
             for k in range(5)}
    files["test_batch"] = batch_pickle(*subset["test"], b"testing batch 1 of 1")
    files["batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in CIFAR10_CLASSES]}, protocol=2)
    return files


def write_tarball(path: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo] = ()) -> str:
    """Official layout: cifar-10-batches-py/<file>; returns the tarball's md5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        folder = tarfile.TarInfo("cifar-10-batches-py")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No fixtures/local copies, a fresh cache in tmp_path, and only file:// URLs may be opened."""
    return offline_download_env(tmp_path, monkeypatch, "COURSE_CIFAR10_DIR")


def cache_files(tmp_path, sub="cifar10") -> list[str]:
    folder = tmp_path / "cache" / sub
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_split(got, want):
    x, y = got
    assert x.shape == want[0].shape and x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x, want[0])
    np.testing.assert_array_equal(y, want[1])


# ---------------------------------------------------------------------------------------------------- parsing


def test_parse_batch_gives_hwc_images(subset):
    x, y = subset["test"]
    got_x, got_y = parse_batch(batch_pickle(x, y, b"t"))
    assert got_x.shape == (N_TEST, 32, 32, 3) and got_x.flags.c_contiguous
    assert_split((got_x, got_y), (x, y))


def py2_batch_pickle(x: np.ndarray, y: np.ndarray) -> bytes:
    """A batch pickled as Python 2's cPickle wrote the official files: protocol 2, str as BINSTRING, and the
    ``numpy.core.multiarray._reconstruct`` global (written opcode by opcode; Python 3's pickle cannot produce it)."""
    rows = np.stack([img.transpose(2, 0, 1).reshape(-1) for img in x]).astype(np.uint8)

    def s(b: bytes) -> bytes:  # a Python 2 str
        return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<I", len(b)) + b)

    def i(v: int) -> bytes:
        return b"J" + struct.pack("<i", v)

    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + i(0) + b"\x85" + s(b"b") + b"\x87R"
             + b"(" + i(1) + i(rows.shape[0]) + i(rows.shape[1]) + b"\x86"
             + b"cnumpy\ndtype\n" + s(b"u1") + b"\x89\x88\x87R"
             + b"(" + i(3) + s(b"|") + b"NNN" + i(-1) + i(-1) + i(0) + b"tb"
             + b"\x89" + s(rows.tobytes()) + b"tb")
    labels = b"](" + b"".join(i(int(v)) for v in y) + b"e"
    return (b"\x80\x02}(" + s(b"batch_label") + s(b"testing batch 1 of 1") + s(b"labels") + labels
            + s(b"data") + array + b"u.")


def test_parse_batch_reads_python2_pickles(subset):
    x, y = subset["test"]
    assert_split(parse_batch(py2_batch_pickle(x, y), "test_batch"), (x, y))


def test_parse_batch_rejects_bad_content(subset, tmp_path):
    x, y = subset["test"]
    with pytest.raises(DataError, match="not a readable CIFAR-10 batch"):
        parse_batch(b"garbage")
    with pytest.raises(DataError, match=r"\(N, 3072\)"):
        parse_batch(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, protocol=2))
    with pytest.raises(DataError, match="labels"):
        parse_batch(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, protocol=2))

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with pytest.raises(DataError, match=r"refusing to load (builtins|io)\.open"):
        parse_batch(pickle.dumps({b"data": Evil()}, protocol=2))
    assert not marker.exists()  # the pickle's code was never run


# ---------------------------------------------------------------------------------------------------- download


def test_download_tarball_then_cache(tmp_path, monkeypatch, env, subset):
    tarball = tmp_path / "mirror" / cifar.TAR_NAME
    monkeypatch.setattr(cifar, "TAR_MD5", write_tarball(tarball, batch_files(subset)))
    monkeypatch.setattr(cifar, "URLS", (tarball.as_uri(),))
    assert_split(load_cifar10("train", progress=False), subset["train"])
    assert cache_files(tmp_path) == [cifar.TAR_NAME, "test.npz", "train.npz"]  # both splits parsed at once

    monkeypatch.setattr(fetching, "urlopen", lambda *a, **k: pytest.fail("cached data must not be downloaded"))
    assert_split(load_cifar10("test"), subset["test"])
    (tmp_path / "cache" / "cifar10" / "test.npz").unlink()  # parsed cache gone: re-parsed from the cached tarball
    assert_split(load_cifar10("test"), subset["test"])


def test_checksum_failure_is_reported_and_not_cached(tmp_path, monkeypatch, env, subset):
    tarball = tmp_path / "mirror" / cifar.TAR_NAME
    fake_md5 = write_tarball(tarball, batch_files(subset))
    monkeypatch.setattr(cifar, "URLS", (tarball.as_uri(),))  # TAR_MD5 stays the official one
    with pytest.raises(ChecksumError) as info:
        load_cifar10("train", progress=False)
    message = str(info.value)
    assert "c58f30108f718f92721af3b95e74349a" in message and fake_md5 in message and cifar.TAR_NAME in message
    assert cache_files(tmp_path) == []


def test_offline_error_says_what_to_download_and_where(tmp_path, monkeypatch, env):
    def no_network(request, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fetching, "urlopen", no_network)
    with pytest.raises(DownloadError) as info:
        load_cifar10("test", progress=False)
    message = str(info.value)
    assert cifar.URLS[0] in message and cifar.TAR_MD5 in message
    assert str(tmp_path / "cache" / "cifar10") in message and "COURSE_CIFAR10_DIR" in message
    assert cache_files(tmp_path) == []
    monkeypatch.setattr(fetching, "urlopen", lambda *a, **k: pytest.fail("download=False must not download"))
    with pytest.raises(DownloadError, match="download=False"):
        load_cifar10("test", download=False)


def test_unsafe_archives_are_rejected(tmp_path, monkeypatch, env, subset):
    evil = tarfile.TarInfo("../evil.txt")
    evil.size = 4
    link = tarfile.TarInfo("cifar-10-batches-py/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    for name, extra in (("traversal", evil), ("symlink", link)):
        tarball = tmp_path / name / cifar.TAR_NAME
        monkeypatch.setattr(cifar, "TAR_MD5", write_tarball(tarball, batch_files(subset), [extra]))
        monkeypatch.setattr(cifar, "URLS", (tarball.as_uri(),))
        with pytest.raises(DataError, match="refusing to use it"):
            load_cifar10("train", progress=False)
        assert cache_files(tmp_path) == []  # neither the archive nor parsed arrays are kept
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "cache" / "evil.txt").exists()


# ---------------------------------------------------------------------------------------------------- local copies


def test_local_tarball_and_folder_holding_it(tmp_path, monkeypatch, env, subset):
    tarball = tmp_path / "local" / cifar.TAR_NAME
    monkeypatch.setattr(cifar, "TAR_MD5", write_tarball(tarball, batch_files(subset)))
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(tarball))
    assert_split(load_cifar10("test", data_dir=tmp_path / "c1"), subset["test"])
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(tarball.parent))
    assert_split(load_cifar10("train", data_dir=tmp_path / "c2"), subset["train"])
    assert env == []


def test_local_extracted_folder_checks_each_batch(tmp_path, monkeypatch, env, subset):
    folder = tmp_path / "local" / cifar.FOLDER
    folder.mkdir(parents=True)
    for name, data in batch_files(subset).items():
        (folder / name).write_bytes(data)
        monkeypatch.setitem(cifar.BATCH_MD5, name, hashlib.md5(data).hexdigest())
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(folder.parent))  # the folder holding cifar-10-batches-py
    assert_split(load_cifar10("train", data_dir=tmp_path / "c1"), subset["train"])
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(folder))  # cifar-10-batches-py itself
    data = bytearray((folder / "test_batch").read_bytes())
    data[-100] ^= 0xFF
    (folder / "test_batch").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"test_batch: md5 is [0-9a-f]{32}, expected"):
        load_cifar10("test", data_dir=tmp_path / "c2")
    assert (folder / "test_batch").exists()  # the user's own files are never deleted
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="COURSE_CIFAR10_DIR"):
        load_cifar10("test", data_dir=tmp_path / "c3")


def test_fixtures_env_still_returns_the_subset(fixtures_env):
    x, y = load_cifar10("test")
    assert x.shape == (2000, 32, 32, 3) and y.shape == (2000,)
    with pytest.raises(ValueError, match="split"):
        load_cifar10("valid")


# ---------------------------------------------------------------------------------------------------- JPEG archive


def write_jpeg_npz(path: Path, subset, class_names=CIFAR10_CLASSES) -> None:
    from PIL import Image

    arrays = {"class_names": np.array(class_names)}
    for split, (x, y) in subset.items():
        blobs = []
        for img in x:
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=95)
            blobs.append(np.frombuffer(buf.getvalue(), np.uint8))
        arrays[f"{split}_jpeg"] = np.concatenate(blobs)
        arrays[f"{split}_offsets"] = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
        arrays[f"{split}_labels"] = y
    np.savez(path, **arrays)


def test_jpeg_archive_decodes_and_caches(tmp_path, monkeypatch, env, subset):
    archive = tmp_path / "small-jpeg.npz"
    write_jpeg_npz(archive, subset)
    x, y = load_cifar10_jpeg(archive, "test", progress=False)
    want_x, want_y = subset["test"]
    assert x.shape == want_x.shape and x.dtype == np.uint8
    np.testing.assert_array_equal(y, want_y)
    mse = np.mean((x.astype(float) - want_x) ** 2)
    assert 10 * np.log10(255**2 / mse) > 30  # quality-95 re-encoding of the same images

    import PIL.Image
    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: pytest.fail("cached images must not be decoded again"))
    x2, _ = load_cifar10_jpeg(archive, "test")
    np.testing.assert_array_equal(x2, x)
    assert len(cache_files(tmp_path, "cifar10-jpeg")) == 1


def test_jpeg_archive_rejects_wrong_class_order(tmp_path, env, subset):
    archive = tmp_path / "bad.npz"
    write_jpeg_npz(archive, subset, class_names=CIFAR10_CLASSES[::-1])
    with pytest.raises(DataError, match="official order"):
        load_cifar10_jpeg(archive, "train", progress=False)
    with pytest.raises(FileNotFoundError):
        load_cifar10_jpeg(tmp_path / "missing.npz", "train")


@pytest.mark.skipif(not FULL_JPEG.exists(), reason="cifar10-full-jpeg.npz not found")
def test_full_jpeg_test_split_matches_the_subset(tmp_path, env):
    """The 10000 shared test JPEGs decode (about 1 s) to exactly the subset's pixels for its 200 per class."""
    x, y = load_cifar10_jpeg(FULL_JPEG, "test", progress=False)
    assert x.shape == (10000, 32, 32, 3) and np.bincount(y).tolist() == [1000] * 10
    with np.load(FULL_JPEG) as full, np.load(SUBSET) as small:
        first = full["test_index_in_class"] < 200
        np.testing.assert_array_equal(x[first], small["x_test"])
        np.testing.assert_array_equal(y[first], small["y_test"])
