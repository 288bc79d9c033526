"""Super-resolution data (chapter 6): 64x64 high-res crops and their 16x16 box-averaged low-res inputs.

Layout: images are ``(N, H, W, C)`` float32 in 0..1 (channels last, as photos are stored); the chapter flattens
them to ``(N, H * W * C)`` rows for the MLP.

Sources (``load_superres(source=...)``):

- ``"photos"`` (default, no download): the colour photographs that ship inside scikit-image's wheel (its
  ``skimage/data`` folder) and whose docstrings in ``skimage.data`` declare them CC0 or public domain:
  astronaut (NASA, public domain), coffee (CC0, Rachel Michetti), chelsea (CC0, Stefan van der Walt),
  rocket (SpaceX, public domain), hubble_deep_field (NASA, public domain), retina (CC0 1.0).
  Train and test are split **by photo** (``TEST_PHOTOS``), so no pixel of a test photo is seen in training.
- ``"kodak"``: the 24 Kodak images as 64x64 tiles (``sr-patches.npz``, read through ``load_fixture`` when
  ``COURSE_DATA_FIXTURES`` is set). Split by image: ``image_id <= 20`` train, 21..24 test.

Low-res inputs are 4x4 box averages of the high-res crops, made by Pillow's ``Image.reduce`` (``box_downsample``;
chapter 6 asks you to write the same thing in NumPy).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from course.data.fixtures import load_fixture
from course.i18n import gettext

# name -> file inside skimage/data (all bundled in the wheel; licences as stated in skimage.data's docstrings)
SR_PHOTOS = {
    "astronaut": "astronaut.png",
    "coffee": "coffee.png",
    "chelsea": "chelsea.png",
    "rocket": "rocket.jpg",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
}
TEST_PHOTOS = ("chelsea", "coffee")
TRAIN_PHOTOS = tuple(name for name in SR_PHOTOS if name not in TEST_PHOTOS)
KODAK_TEST_IDS = (21, 22, 23, 24)
SOURCES = ("photos", "kodak")


def _skimage_data_dir() -> Path:
    try:
        import skimage.data
    except ImportError as exc:  # pragma: no cover - scikit-image is a course dependency
        raise ImportError(gettext("the super-resolution photos come from scikit-image: pip install scikit-image")) \
            from exc
    return Path(skimage.data.__file__).resolve().parent


def load_photo(name: str) -> np.ndarray:
    """One bundled photo as (H, W, 3) uint8, read straight from skimage's data folder (never downloads)."""
    if name not in SR_PHOTOS:
        raise ValueError(gettext("unknown photo {name!r}; choose from {names}", name=name, names=sorted(SR_PHOTOS)))
    from PIL import Image

    path = _skimage_data_dir() / SR_PHOTOS[name]
    if not path.exists():
        raise FileNotFoundError(gettext("{path} is missing: this scikit-image wheel does not bundle {name!r}",
                                        path=path, name=name))
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def box_downsample(hr: np.ndarray, factor: int = 4) -> np.ndarray:
    """Pillow's box reduction of every image and channel: (N, H, W, C) -> (N, H // factor, W // factor, C) float32."""
    from PIL import Image

    images = np.asarray(hr, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] % factor or images.shape[2] % factor:
        raise ValueError(gettext("expected images (N, H, W, C) with H and W multiples of {factor}, got shape {shape}",
                                 factor=factor, shape=images.shape))
    return np.stack([np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(image[:, :, k]))
                                          .reduce(factor)) for k in range(image.shape[2])], axis=-1)
                     for image in images]).astype(np.float32, copy=False)


def photo_crops(photo: np.ndarray, size: int = 64, stride: int = 32) -> np.ndarray:
    """All ``size x size`` crops of an (H, W, 3) photo on a grid with step ``stride``: (K, size, size, 3)."""
    h, w = photo.shape[:2]
    ys = range(0, h - size + 1, stride)
    xs = range(0, w - size + 1, stride)
    return np.stack([photo[y:y + size, x:x + size] for y in ys for x in xs])


def _keep_textured(crops: np.ndarray, min_std: float) -> np.ndarray:
    """Drop almost flat crops (the black borders of retina and hubble teach nothing)."""
    return crops[crops.reshape(len(crops), -1).std(axis=1) >= min_std]


def _photos_split(names, stride, max_per_photo, rng):
    hr, ids = [], []
    for name in names:
        crops = _keep_textured(photo_crops(load_photo(name), 64, stride), min_std=8.0)
        if max_per_photo is not None and len(crops) > max_per_photo:
            crops = crops[np.sort(rng.choice(len(crops), max_per_photo, replace=False))]
        hr.append(crops)
        ids.extend([name] * len(crops))
    return np.concatenate(hr), np.array(ids)


def load_superres(source: str = "photos", factor: int = 4, stride: int = 32, max_per_photo: int | None = 600,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Train/test pairs for 4x super-resolution, split by photo.

    Returns a dict of float32 arrays in 0..1, layout (N, H, W, 3):
    ``lr_train`` (N, 16, 16, 3), ``hr_train`` (N, 64, 64, 3), ``lr_test``, ``hr_test``, and
    ``photo_train`` / ``photo_test`` (N,) naming the photo (or Kodak image id) of every crop.

    source: "photos" (bundled scikit-image photos, no download) or "kodak" (offline Kodak tiles; needs
    ``COURSE_DATA_FIXTURES``). stride: step between crops for "photos"; max_per_photo: cap per training photo
    (a seeded random subset; None keeps all).
    """
    if source not in SOURCES:
        raise ValueError(gettext("source must be one of {sources}, got {source!r}", sources=SOURCES, source=source))
    if stride < 1:
        raise ValueError(gettext("stride must be >= 1, got {stride}", stride=stride))
    rng = np.random.default_rng(seed)
    if source == "photos":
        hr_train, id_train = _photos_split(TRAIN_PHOTOS, stride, max_per_photo, rng)
        hr_test, id_test = _photos_split(TEST_PHOTOS, stride, None, rng)
    else:
        data = load_fixture("sr-patches")
        if data is None:
            raise FileNotFoundError(gettext("the Kodak tiles are read from sr-patches.npz in the folder named by "
                                            "COURSE_DATA_FIXTURES; set it, or use source='photos'"))
        test = np.isin(data["image_id"], KODAK_TEST_IDS)
        hr_train, id_train = data["hr"][~test], data["image_id"][~test]
        hr_test, id_test = data["hr"][test], data["image_id"][test]
    out = {}
    for split, hr, ids in [("train", hr_train, id_train), ("test", hr_test, id_test)]:
        hr = hr.astype(np.float32) / 255.0
        out[f"hr_{split}"] = hr
        out[f"lr_{split}"] = box_downsample(hr, factor)
        out[f"photo_{split}"] = ids
    return out
