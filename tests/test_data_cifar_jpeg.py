"""load_cifar10 with COURSE_CIFAR10_DIR naming the course's JPEG copy (the npz, a folder holding it, a folder of
JPEG files), and errors that name load_cifar10_jpeg when a JPEG copy is given where the tarball is expected
(issue 26 item 7). No network; small copies are built from ../shared/data/cifar10-subset.npz."""

from __future__ import annotations

import numpy as np
import pytest

from course.data.cifar import CIFAR10_CLASSES, cifar10_source, load_cifar10
from course.data.fetching import ChecksumError, DataError
from tests.test_data_cifar import SUBSET, env, subset, write_jpeg_npz  # noqa: F401  (pytest fixtures)

pytestmark = pytest.mark.skipif(not SUBSET.exists(), reason=f"offline fixture {SUBSET} not found")


def _same_images(got, want_x, want_y):
    x, y = got
    assert x.shape == want_x.shape and x.dtype == np.uint8 and y.dtype == np.uint8
    assert sorted(y.tolist()) == sorted(want_y.tolist())
    mse = np.mean((np.sort(x.reshape(len(x), -1).mean(axis=1)) - np.sort(want_x.reshape(len(x), -1).mean(axis=1)))
                  ** 2)
    assert mse < 1.0  # the same images (a quality-95 re-encoding), in another order


@pytest.mark.parametrize("where", ["npz", "folder holding the npz"])
def test_load_cifar10_reads_the_jpeg_npz(tmp_path, monkeypatch, env, subset, where):  # noqa: F811
    archive = tmp_path / "cifar10-full-jpeg.npz"
    write_jpeg_npz(archive, subset)
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(archive if where == "npz" else tmp_path))
    for split in ("train", "test"):
        _same_images(load_cifar10(split, progress=False), *subset[split])
    again = load_cifar10("train", progress=False)
    np.testing.assert_array_equal(again[1], load_cifar10("train", progress=False)[1])  # one fixed order
    assert "JPEG copy" in cifar10_source()


def test_load_cifar10_reads_a_folder_of_jpegs(tmp_path, monkeypatch, env, subset):  # noqa: F811
    from PIL import Image

    root = tmp_path / "CIFAR-10-images"
    for split, (x, y) in subset.items():
        counts = {}
        for img, label in zip(x, y):
            folder = root / split / CIFAR10_CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            k = counts[label] = counts.get(label, -1) + 1
            Image.fromarray(img).save(folder / f"{k:04d}.jpg", quality=95)
        for name in CIFAR10_CLASSES:
            (root / split / name).mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(root))
    _same_images(load_cifar10("test", progress=False), *subset["test"])


def test_errors_name_load_cifar10_jpeg(tmp_path, monkeypatch, env):  # noqa: F811
    not_a_tarball = tmp_path / "cifar10-full-jpeg.tar.gz"
    not_a_tarball.write_bytes(b"not the official tarball")
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(not_a_tarball))
    with pytest.raises(ChecksumError, match="load_cifar10_jpeg"):
        load_cifar10("train", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("COURSE_CIFAR10_DIR", str(empty))
    with pytest.raises(DataError, match="load_cifar10_jpeg"):
        load_cifar10("train", progress=False)
