"""course.data.mnist: idx parsing, mirrors, md5 of the unzipped files, cache, local copies. No network.

Small idx .gz files are written from ../shared/data/mnist-subset.npz by an independent writer below.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from course.data import fetching, mnist
from course.data.fetching import ChecksumError, DataError, DownloadError
from course.data.mnist import IdxFormatError, load_mnist, parse_idx
from tests.conftest import SHARED_DATA, offline_download_env

SUBSET = SHARED_DATA / "mnist-subset.npz"
N_TRAIN, N_TEST = 300, 100
pytestmark = pytest.mark.skipif(not SUBSET.exists(), reason=f"offline fixture {SUBSET} not found")


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()


@pytest.fixture(scope="module")
def subset():
    with np.load(SUBSET) as data:
        return {"train": (data["x_train"][:N_TRAIN], data["y_train"][:N_TRAIN]),
                "test": (data["x_test"][:N_TEST], data["y_test"][:N_TEST])}


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No fixtures/local copies, a fresh cache in tmp_path, and only file:// URLs may be opened."""
    return offline_download_env(tmp_path, monkeypatch, "COURSE_MNIST_DIR")


def write_mirror(folder: Path, subset, monkeypatch, corrupt: str | None = None) -> Path:
    """Write the four small idx .gz files into ``folder`` and make their unzipped md5s the expected ones.

    ``corrupt``: name of a file whose served content gets one flipped byte after its md5 was registered."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, (x, y) in subset.items():
        images_name, labels_name = mnist.FILES[split]
        for name, raw in ((images_name, idx_bytes(x, 2051)), (labels_name, idx_bytes(y, 2049))):
            monkeypatch.setitem(mnist.MD5, name, hashlib.md5(raw).hexdigest())
            if name == corrupt:
                raw = raw[:-1] + bytes([raw[-1] ^ 0xFF])
            (folder / name).write_bytes(gzip.compress(raw, mtime=0))
    return folder


def cache_files(tmp_path) -> list[str]:
    folder = tmp_path / "cache" / "mnist"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------------------------------------- parser


def test_parse_idx_images_and_labels(subset):
    x, y = subset["train"]
    got_x = parse_idx(idx_bytes(x, 2051), 2051)
    got_y = parse_idx(idx_bytes(y, 2049), 2049)
    assert got_x.shape == (N_TRAIN, 28, 28) and got_x.dtype == np.uint8 and got_x.flags.writeable
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


def test_parse_idx_big_endian_dims_and_values():
    values = (np.arange(6).reshape(2, 3) * 70000).astype(">i4")
    raw = bytes([0, 0, 0x0C, 2]) + struct.pack(">II", 2, 3) + values.tobytes()
    got = parse_idx(raw)
    assert got.shape == (2, 3) and got.dtype == np.int32
    np.testing.assert_array_equal(got, np.arange(6).reshape(2, 3) * 70000)


def test_parse_idx_bad_magic(subset):
    x, y = subset["test"]
    with pytest.raises(IdxFormatError, match=r"bad magic number 2049.*expected 2051"):
        parse_idx(idx_bytes(y, 2049), 2051)
    with pytest.raises(IdxFormatError, match="bad magic"):
        parse_idx(gzip.compress(idx_bytes(y, 2049)), 2049)  # still gzipped
    with pytest.raises(IdxFormatError, match="bad magic"):
        parse_idx(b"\x01\x02\x03\x04" + b"\0" * 20)


def test_parse_idx_truncated_and_trailing(subset):
    x, _ = subset["test"]
    raw = idx_bytes(x, 2051)
    with pytest.raises(IdxFormatError, match=r"truncated.*\(100, 28, 28\)"):
        parse_idx(raw[:-10], 2051)
    with pytest.raises(IdxFormatError, match="truncated"):
        parse_idx(raw[:9], 2051)
    with pytest.raises(IdxFormatError, match="too short"):
        parse_idx(raw[:2])
    with pytest.raises(IdxFormatError, match="unexpected bytes"):
        parse_idx(raw + b"\0\0", 2051)


# ---------------------------------------------------------------------------------------------------- download


def test_download_from_mirrors_then_cache(tmp_path, monkeypatch, env, subset):
    mirror = write_mirror(tmp_path / "mirror", subset, monkeypatch)
    monkeypatch.setattr(mnist, "MIRRORS", ((tmp_path / "dead").as_uri() + "/", mirror.as_uri() + "/"))
    for split in ("train", "test"):
        x, y = load_mnist(split, progress=False)
        assert x.shape == (len(subset[split][0]), 28, 28) and x.dtype == np.uint8 and y.dtype == np.uint8
        np.testing.assert_array_equal(x, subset[split][0])
        np.testing.assert_array_equal(y, subset[split][1])
    assert len(env) == 8  # each of the four files: dead mirror first, then the working one
    assert cache_files(tmp_path) == sorted(["test.npz", "train.npz", *mnist.MD5])

    # Second load: parsed arrays from the cache, no download at all.
    monkeypatch.setattr(fetching, "urlopen", lambda *a, **k: pytest.fail("cached data must not be downloaded"))
    x, y = load_mnist("test")
    np.testing.assert_array_equal(x, subset["test"][0])


def test_corrupted_download_raises_and_is_not_cached(tmp_path, monkeypatch, env, subset):
    bad = "t10k-images-idx3-ubyte.gz"
    mirror = write_mirror(tmp_path / "mirror", subset, monkeypatch, corrupt=bad)
    monkeypatch.setattr(mnist, "MIRRORS", (mirror.as_uri() + "/",))
    with pytest.raises(ChecksumError) as info:
        load_mnist("test", progress=False)
    message = str(info.value)
    served = gzip.decompress((mirror / bad).read_bytes())
    assert bad in message and mnist.MD5[bad] in message and hashlib.md5(served).hexdigest() in message
    assert cache_files(tmp_path) == []  # no .gz, no .part, no parsed arrays
    assert load_mnist("train", progress=False)[0].shape == (N_TRAIN, 28, 28)  # the intact files still work


def test_corrupted_cached_file_is_replaced(tmp_path, monkeypatch, env, subset):
    mirror = write_mirror(tmp_path / "mirror", subset, monkeypatch)
    monkeypatch.setattr(mnist, "MIRRORS", (mirror.as_uri() + "/",))
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"junk"))
    with pytest.warns(UserWarning, match="corrupted cached file"):
        _, y = load_mnist("test", progress=False)
    np.testing.assert_array_equal(y, subset["test"][1])


def test_offline_error_says_what_to_download_and_where(tmp_path, monkeypatch, env):
    def no_network(request, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fetching, "urlopen", no_network)
    with pytest.raises(DownloadError) as info:
        load_mnist("train", progress=False)
    message = str(info.value)
    for name in mnist.MD5:
        assert f"{mnist.MIRRORS[0]}{name}" in message
    assert str(tmp_path / "cache" / "mnist") in message and "COURSE_MNIST_DIR" in message
    assert all(mirror in message for mirror in mnist.MIRRORS)
    assert cache_files(tmp_path) == []


def test_download_false_never_uses_the_network(tmp_path, monkeypatch, env):
    monkeypatch.setattr(fetching, "urlopen", lambda *a, **k: pytest.fail("download=False must not download"))
    with pytest.raises(DownloadError, match="COURSE_MNIST_DIR"):
        load_mnist("test", download=False)


# ---------------------------------------------------------------------------------------------------- local copies


def test_local_copy_from_env(tmp_path, monkeypatch, env, subset):
    local = write_mirror(tmp_path / "local", subset, monkeypatch)
    (local / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress((local / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    (local / "t10k-labels-idx1-ubyte.gz").unlink()  # an unzipped file is accepted too
    monkeypatch.setenv("COURSE_MNIST_DIR", str(local))
    x, y = load_mnist("test", data_dir=tmp_path / "other-cache")
    np.testing.assert_array_equal(x, subset["test"][0])
    np.testing.assert_array_equal(y, subset["test"][1])
    assert env == [] and (tmp_path / "other-cache" / "mnist" / "test.npz").exists()


def test_local_copy_with_bad_file_is_reported_and_kept(tmp_path, monkeypatch, env, subset):
    local = write_mirror(tmp_path / "local", subset, monkeypatch, corrupt="train-labels-idx1-ubyte.gz")
    monkeypatch.setenv("COURSE_MNIST_DIR", str(local))
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz: md5 of the unzipped content"):
        load_mnist("train")
    assert (local / "train-labels-idx1-ubyte.gz").exists()  # the user's own file is never deleted
    (local / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="does not contain train-labels-idx1-ubyte.gz"):
        load_mnist("train")


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="full MNIST copy not found")
def test_shared_full_mnist_folder_is_accepted(tmp_path, monkeypatch, env):
    """../shared/data/mnist holds the real files (re-zipped): the published unzipped md5s must accept them."""
    monkeypatch.setenv("COURSE_MNIST_DIR", str(SHARED_DATA / "mnist"))
    x, y = load_mnist("test")
    assert x.shape == (10000, 28, 28) and y.shape == (10000,) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    with np.load(SUBSET) as data:
        np.testing.assert_array_equal(x[:2000], data["x_test"])
        np.testing.assert_array_equal(y[:2000], data["y_test"])


def test_fixtures_env_still_returns_the_subset(fixtures_env):
    x, y = load_mnist("test")
    assert x.shape == (2000, 28, 28) and y.shape == (2000,)
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")
