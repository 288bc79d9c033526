"""Data sets for the course.

- ``make_blobs``, ``make_xor``: small synthetic sets (chapter 1).
- ``load_superres``: 64x64 / 16x16 super-resolution pairs from photos bundled with scikit-image (chapter 6).
- ``load_mnist``, ``load_cifar10``: the real data sets, downloaded once with checksum checks and cached
  (see ``course.data.mnist`` / ``course.data.cifar``; cache folder ``$COURSE_DATA_DIR``, default
  ``~/.cache/nn-from-scratch``; local copies via ``$COURSE_MNIST_DIR`` / ``$COURSE_CIFAR10_DIR``).
- ``load_cifar10_jpeg(npz_path, split)``: decodes the shared lossy JPEG copy of all of CIFAR-10 (benchmarks).
- ``DataError`` (``ChecksumError``, ``DownloadError``): raised with instructions when data cannot be had.

Offline fixtures: when the environment variable ``COURSE_DATA_FIXTURES`` names a folder holding
``mnist-subset.npz`` / ``cifar10-subset.npz`` / ``sr-patches.npz`` (the tests point it at ``../shared/data``),
the loaders return those small subsets instead of downloading anything.
"""

from course.data.cifar import CIFAR10_CLASSES, load_cifar10, load_cifar10_jpeg
from course.data.fetching import ChecksumError, DataError, DownloadError
from course.data.mnist import load_mnist
from course.data.photos import SR_PHOTOS, TEST_PHOTOS, TRAIN_PHOTOS, box_downsample, load_photo, load_superres
from course.data.synthetic import make_blobs, make_xor

__all__ = ["CIFAR10_CLASSES", "load_cifar10", "load_mnist", "make_blobs", "make_xor",
           "SR_PHOTOS", "TEST_PHOTOS", "TRAIN_PHOTOS", "box_downsample", "load_photo", "load_superres"]
__all__ += ["ChecksumError", "DataError", "DownloadError", "load_cifar10_jpeg"]
