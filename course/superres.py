"""Helpers for chapter 6's weight-shared super-resolution MLP (one small MLP applied to every output block).

Images are (N, H, W, C) float arrays. For a 4x upsampling of a 16x16 input, the network predicts each 4x4 block
of the 64x64 output from the ``k x k`` low-res neighbourhood around the block's own low-res pixel:

- ``neighbourhoods(lr, k)``: (N, h, w, C) -> (N, h, w, k*k*C), edges repeated ("edge" padding)
- ``to_blocks(hr, f)``: (N, h*f, w*f, C) -> (N, h, w, f*f*C) and ``from_blocks`` back
- ``dihedral(a, t)`` / ``undihedral(a, t)``: the 8 symmetries of the square on axes 1, 2 (t = 0..7)
"""

from __future__ import annotations

import numpy as np

from course.i18n import gettext as _


def _images(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 4:
        raise ValueError(_("{name} must be images (N, H, W, C), got shape {shape}", name=name, shape=a.shape))
    return a


def neighbourhoods(lr, k: int) -> np.ndarray:
    """Every pixel's ``k x k`` neighbourhood (k odd), flattened: (N, h, w, C) -> (N, h, w, k*k*C).

    Order of the last axis: row offset, column offset, channel. Outside the image the edge pixel is repeated.
    """
    lr = _images(lr, "lr")
    if k < 1 or k % 2 == 0:
        raise ValueError(_("k must be a positive odd number, got {k}", k=k))
    p = k // 2
    n, h, w = lr.shape[:3]
    padded = np.pad(lr, ((0, 0), (p, p), (p, p), (0, 0)), mode="edge")
    return np.concatenate([padded[:, i:i + h, j:j + w, :] for i in range(k) for j in range(k)], axis=-1)


def to_blocks(hr, factor: int) -> np.ndarray:
    """Cut each image into ``factor x factor`` blocks: (N, h*f, w*f, C) -> (N, h, w, f*f*C)."""
    hr = _images(hr, "hr")
    n, hh, ww, c = hr.shape
    if hh % factor or ww % factor:
        raise ValueError(_("height and width ({height}, {width}) must be multiples of factor {factor}", height=hh,
                           width=ww, factor=factor))
    h, w = hh // factor, ww // factor
    return hr.reshape(n, h, factor, w, factor, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h, w, factor * factor * c)


def from_blocks(blocks, factor: int, channels: int = 3) -> np.ndarray:
    """Inverse of ``to_blocks``: (N, h, w, f*f*C) -> (N, h*f, w*f, C)."""
    blocks = _images(blocks, "blocks")
    n, h, w, d = blocks.shape
    if d != factor * factor * channels:
        raise ValueError(_("last axis {d} != factor * factor * channels = {expected}", d=d,
                           expected=factor * factor * channels))
    out = blocks.reshape(n, h, w, factor, factor, channels).transpose(0, 1, 3, 2, 4, 5)
    return out.reshape(n, h * factor, w * factor, channels)


def dihedral(a, t: int) -> np.ndarray:
    """Symmetry ``t`` (0..7) of the square applied to images (N, H, W, C): rotate t % 4 quarter turns, then
    mirror left-right when t >= 4."""
    a = np.rot90(_images(a, "images"), t % 4, axes=(1, 2))
    return a[:, :, ::-1] if t >= 4 else a


def undihedral(a, t: int) -> np.ndarray:
    """Inverse of ``dihedral(a, t)``."""
    a = _images(a, "images")
    if t >= 4:
        a = a[:, :, ::-1]
    return np.rot90(a, -(t % 4), axes=(1, 2))
