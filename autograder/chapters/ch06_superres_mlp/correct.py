"""Correct answers for chapter 6 (super-resolution MLP), written independently of the reference: each differs
from it in a choice the exercise leaves open."""

import math
from collections import OrderedDict

import numpy as np


def _blocks_ok(h, w, factor):
    if h % factor or w % factor:
        raise ValueError(f"height {h} and width {w} must be multiples of {factor}")


def _floats(a):
    """a as a float array: float32 stays float32; integers (uint8 photos) become float64."""
    a = np.asarray(a)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


# -- resampling ----------------------------------------------------------------------------------------------
def downsample_offset_sum(hr, factor):
    """Adds the factor * factor strided sub-images (one per offset in the block) and divides by their count."""
    hr = _floats(hr)
    n, h, w, c = hr.shape
    _blocks_ok(h, w, factor)
    total = np.zeros((n, h // factor, w // factor, c), dtype=hr.dtype)
    for p in range(factor):
        for q in range(factor):
            total += hr[:, p::factor, q::factor]
    return total / factor ** 2


def downsample_two_means(hr, factor):
    """Averages the width blocks first, then the height blocks (two reshapes, one mean each)."""
    hr = _floats(hr)
    n, h, w, c = hr.shape
    _blocks_ok(h, w, factor)
    across = hr.reshape(n, h, w // factor, factor, c).mean(axis=3)
    return across.reshape(n, h // factor, factor, w // factor, c).mean(axis=2)


def upsample_nearest_index(lr, factor):
    """Fancy indexing with i // factor along both axes."""
    lr = np.asarray(lr)
    _, h, w, _ = lr.shape
    return lr[:, np.arange(h * factor) // factor][:, :, np.arange(w * factor) // factor]


def upsample_nearest_kron(lr, factor):
    """A Kronecker product with a block of ones, (1, factor, factor, 1)."""
    lr = np.asarray(lr)
    return np.kron(lr, np.ones((1, factor, factor, 1), dtype=lr.dtype))


def _interp_matrix(size, factor):
    """(size * factor, size) matrix whose row i holds the two bilinear weights of output pixel i."""
    out = size * factor
    m = np.zeros((out, size))
    for i in range(out):
        s = min(max((i + 0.5) / factor - 0.5, 0.0), size - 1.0)
        k = int(math.floor(s))
        t = s - k
        m[i, k] += 1 - t
        m[i, min(k + 1, size - 1)] += t
    return m


def upsample_bilinear_matrices(lr, factor):
    """Separable interpolation matrices for the height and the width, applied with one einsum."""
    lr = np.asarray(lr, dtype=np.float64)
    _, h, w, _ = lr.shape
    return np.einsum("ih,nhwc,jw->nijc", _interp_matrix(h, factor), lr, _interp_matrix(w, factor))


def upsample_bilinear_pixel_loop(lr, factor):
    """A loop over the output pixels, each blending its four neighbours (width first, then height)."""
    lr = np.asarray(lr, dtype=np.float64)
    n, h, w, c = lr.shape
    out = np.empty((n, h * factor, w * factor, c))

    def coord(i, size):
        s = min(max((i + 0.5) / factor - 0.5, 0.0), size - 1.0)
        k = int(s)  # s >= 0, so int() is floor
        return k, min(k + 1, size - 1), s - k

    for i in range(h * factor):
        y0, y1, ty = coord(i, h)
        for j in range(w * factor):
            x0, x1, tx = coord(j, w)
            top = (1 - tx) * lr[:, y0, x0] + tx * lr[:, y0, x1]
            bottom = (1 - tx) * lr[:, y1, x0] + tx * lr[:, y1, x1]
            out[:, i, j] = (1 - ty) * top + ty * bottom
    return out


# -- PSNR ----------------------------------------------------------------------------------------------------
def psnr_db_difference(pred, target, data_range):
    """20 log10(R) - 10 log10(MSE) with math.log10; math.inf for identical images."""
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    mse = float(np.mean(np.square(diff)))
    if mse == 0.0:
        return math.inf
    return 20 * math.log10(data_range) - 10 * math.log10(mse)


def psnr_rmse(pred, target, data_range):
    """20 log10(R / RMSE), the squared error summed with np.dot of the flattened difference."""
    diff = (np.asarray(pred).astype(np.float64) - np.asarray(target).astype(np.float64)).ravel()
    rmse = math.sqrt(float(np.dot(diff, diff)) / diff.size)
    return float("inf") if rmse == 0 else float(20 * np.log10(data_range / rmse))


# -- the trainer ---------------------------------------------------------------------------------------------
def init_mlp_ordered(sizes, rng):
    """An OrderedDict, each weight drawn with rng.normal(0, sqrt(2 / fan_in), shape)."""
    params = OrderedDict()
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        params[f"b{l}"] = np.zeros(fan_out)
    return params


def init_mlp_two_passes(sizes, rng):
    """Draws all weights first (in order W1, W2, ...), then adds the zero biases; keys in another order."""
    weights = {f"W{l}": rng.standard_normal((a, b)) / math.sqrt(a / 2.0)
               for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)}
    biases = {f"b{l}": np.zeros(b) for l, b in enumerate(sizes[1:], start=1)}
    return {**weights, **biases}


def _layers(params):
    return sum(1 for k in params if k.startswith("W"))


def loss_grads_ordered(params, x, y):
    """Caches (input, pre-activation) per layer in a list; returns an OrderedDict of gradients."""
    L = _layers(params)
    caches, h = [], x
    for l in range(1, L + 1):
        z = h @ params[f"W{l}"] + params[f"b{l}"]
        caches.append((h, z))
        h = z if l == L else np.where(z > 0, z, 0.0)
    diff = h - y
    grads = OrderedDict()
    dz = 2.0 * diff / diff.size
    for l in range(L, 0, -1):
        h_in, _ = caches[l - 1]
        grads[f"W{l}"] = h_in.T @ dz
        grads[f"b{l}"] = np.sum(dz, axis=0)
        if l > 1:
            dz = (dz @ params[f"W{l}"].T) * (caches[l - 2][1] > 0)
    return float(np.sum(diff * diff) / diff.size), grads


def loss_grads_einsum(params, x, y):
    """einsum for every product and np.heaviside for the ReLU derivative; the loss as np.float64."""
    L = _layers(params)
    hs, zs = [x], []
    for l in range(1, L + 1):
        z = np.einsum("nd,de->ne", hs[-1], params[f"W{l}"]) + params[f"b{l}"]
        zs.append(z)
        hs.append(z if l == L else np.maximum(z, 0))
    diff = hs[-1] - y
    dz = diff * (2.0 / diff.size)
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = np.einsum("nd,ne->de", hs[l - 1], dz)
        grads[f"b{l}"] = np.einsum("ne->e", dz)
        if l > 1:
            dz = np.einsum("ne,de->nd", dz, params[f"W{l}"]) * np.heaviside(zs[l - 2], 0.0)
    return np.mean(diff ** 2), grads


def train_step_copy_then_subtract(params, x, y, lr):
    """Copies every array, then subtracts lr * grad from the copies in place; returns an OrderedDict."""
    loss, grads = loss_grads_ordered(params, x, y)
    new = OrderedDict((k, np.array(v, copy=True)) for k, v in params.items())
    for k in new:
        new[k] -= lr * grads[k]
    return loss, new


def train_step_einsum(params, x, y, lr):
    """The einsum gradients, new arrays built by np.subtract in a dict comprehension."""
    loss, grads = loss_grads_einsum(params, x, y)
    return float(loss), {k: np.subtract(v, lr * grads[k]) for k, v in params.items()}


CORRECT = {
    "downsample_box": [downsample_offset_sum, downsample_two_means],
    "upsample_nearest": [upsample_nearest_index, upsample_nearest_kron],
    "upsample_bilinear": [upsample_bilinear_matrices, upsample_bilinear_pixel_loop],
    "psnr": [psnr_db_difference, psnr_rmse],
    "init_mlp": [init_mlp_ordered, init_mlp_two_passes],
    "mlp_loss_grads": [loss_grads_ordered, loss_grads_einsum],
    "mlp_train_step": [train_step_copy_then_subtract, train_step_einsum],
}
