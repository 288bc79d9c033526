"""Chapter 6 reference: super-resolution with an MLP (resampling, PSNR, and the fixed trainer of the clinic).

Layouts: images are (N, H, W, C) float (channels last, values 0..1). The MLP works on flattened rows:
x (N, D_in), y (N, D_out). Parameters are a dict {"W1": (D0, D1), "b1": (D1,), "W2": ..., ...}: ReLU after every
hidden layer, a linear output layer, loss = mean squared error over every output value.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["downsample_box", "upsample_nearest", "upsample_bilinear", "psnr", "init_mlp", "mlp_loss_grads",
           "mlp_train_step"]


def _check_images(a, name):
    a = np.asarray(a)
    if a.ndim != 4:
        raise ValueError(f"{name} must be images (N, H, W, C), got shape {a.shape}")
    return a


def downsample_box(hr, factor):
    """Mean of each factor x factor block: (N, H, W, C) -> (N, H // factor, W // factor, C) float.

    H and W must be multiples of factor (ValueError otherwise).
    """
    hr = _check_images(hr, "hr")
    n, h, w, c = hr.shape
    if h % factor or w % factor:
        raise ValueError(f"H and W ({h}, {w}) must be multiples of factor {factor}")
    return hr.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def upsample_nearest(lr, factor):
    """Repeat every pixel factor times along H and W: (N, h, w, C) -> (N, h * factor, w * factor, C)."""
    lr = _check_images(lr, "lr")
    return np.repeat(np.repeat(lr, factor, axis=1), factor, axis=2)


def _bilinear_axis(size, factor):
    """Source coordinates for one axis: output pixel i has its centre at (i + 0.5) / factor - 0.5 in input pixels,
    clamped to [0, size - 1] (edge pixels are repeated)."""
    src = (np.arange(size * factor) + 0.5) / factor - 0.5
    src = np.clip(src, 0, size - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, size - 1)
    return i0, i1, src - i0


def upsample_bilinear(lr, factor):
    """Bilinear upsampling with pixel centres aligned (align_corners=False) and edge clamping.

    (N, h, w, C) -> (N, h * factor, w * factor, C). Output pixel (i, j) samples the input at
    ((i + 0.5) / factor - 0.5, (j + 0.5) / factor - 0.5), clamped to the image, interpolating the 4 neighbours.
    """
    lr = _check_images(lr, "lr")
    _, h, w, _ = lr.shape
    y0, y1, ty = _bilinear_axis(h, factor)
    x0, x1, tx = _bilinear_axis(w, factor)
    ty = ty[None, :, None, None]
    tx = tx[None, None, :, None]
    rows = lr[:, y0] * (1 - ty) + lr[:, y1] * ty
    return rows[:, :, x0] * (1 - tx) + rows[:, :, x1] * tx


def psnr(pred, target, data_range):
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE); inf when the images are identical."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} must have the same shape")
    mse = float(np.mean((pred - target) ** 2))
    if mse == 0:
        return math.inf
    return float(10 * np.log10(data_range ** 2 / mse))


def init_mlp(sizes, rng):
    """He initialisation for a ReLU MLP with layer sizes [D0, D1, ..., DL].

    For l = 1..L, in order: W{l} = rng.standard_normal((D{l-1}, D{l})) * sqrt(2 / D{l-1}), b{l} = zeros(D{l}).
    Returns {"W1", "b1", ..., "WL", "bL"} float64 arrays.
    """
    params = {}
    for l in range(1, len(sizes)):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        params[f"b{l}"] = np.zeros(fan_out)
    return params


def _num_layers(params):
    return sum(1 for k in params if k.startswith("W"))


def mlp_loss_grads(params, x, y):
    """MSE loss and its gradients for the MLP: ReLU on hidden layers, linear output.

    x: (N, D0); y: (N, DL); loss = mean((out - y) ** 2) over all N * DL values.
    Returns (loss float, grads dict with the same keys and shapes as params).
    """
    L = _num_layers(params)
    acts = [x]
    pre = []
    h = x
    for l in range(1, L + 1):
        z = h @ params[f"W{l}"] + params[f"b{l}"]
        pre.append(z)
        h = np.maximum(z, 0) if l < L else z
        acts.append(h)
    diff = h - y
    loss = float(np.mean(diff ** 2))
    grads = {}
    dz = 2.0 * diff / diff.size
    for l in range(L, 0, -1):
        grads[f"W{l}"] = acts[l - 1].T @ dz
        grads[f"b{l}"] = dz.sum(axis=0)
        if l > 1:
            dz = (dz @ params[f"W{l}"].T) * (pre[l - 2] > 0)
    return loss, grads


def mlp_train_step(params, x, y, lr):
    """One plain gradient-descent step: returns (loss before the step, new params dict).

    new[k] = params[k] - lr * grads[k] for every key; the input dict and arrays are left unchanged.
    """
    loss, grads = mlp_loss_grads(params, x, y)
    return loss, {k: params[k] - lr * grads[k] for k in params}
