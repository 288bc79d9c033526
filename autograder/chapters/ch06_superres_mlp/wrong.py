"""Wrong answers for chapter 6 (super-resolution MLP)."""

import math

import numpy as np

from autograder.chapters.ch06_superres_mlp import reference as ref
from autograder.chapters.ch06_superres_mlp.wrong_dtype import (
    downsample_always_float64,
    loss_grads_float64,
    train_step_float64,
    upsample_nearest_kron_float64,
)

# -- resampling ----------------------------------------------------------------------------------------------


def downsample_stride(hr, factor):
    """Downsamples by striding (keeps the top-left pixel of each block) instead of averaging."""
    return hr[:, ::factor, ::factor]


def downsample_sum(hr, factor):
    """Sums each block instead of averaging it."""
    n, h, w, c = hr.shape
    return hr.reshape(n, h // factor, factor, w // factor, factor, c).sum(axis=(2, 4))


def downsample_swapped_reshape(hr, factor):
    """Reshapes as (n, factor, h // factor, ...), averaging pixels that are far apart."""
    n, h, w, c = hr.shape
    return hr.reshape(n, factor, h // factor, factor, w // factor, c).mean(axis=(1, 3))


def downsample_crops_silently(hr, factor):
    """Crops H and W down to multiples of factor instead of raising the ValueError the exercise asks for."""
    n, h, w, c = hr.shape
    hr = hr[:, :h - h % factor, :w - w % factor]
    return hr.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def downsample_assert_instead_of_error(hr, factor):
    """Checks divisibility with assert (AssertionError) instead of raising ValueError."""
    n, h, w, c = hr.shape
    assert h % factor == 0 and w % factor == 0, "H and W must be multiples of factor"
    return hr.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def upsample_nearest_tile(lr, factor):
    """Tiles the whole image factor x factor times instead of repeating each pixel."""
    return np.tile(lr, (1, factor, factor, 1))


def upsample_nearest_height_only(lr, factor):
    """Repeats along the height only, leaving the width unchanged."""
    return np.repeat(lr, factor, axis=1)


def _axis_corners(size, out_size):
    """align_corners=True: the first and last output pixels sit exactly on the first and last input pixels."""
    src = np.linspace(0, size - 1, out_size) if out_size > 1 else np.zeros(1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, size - 1)
    return i0, i1, src - i0


def upsample_bilinear_align_corners(lr, factor):
    """Uses align_corners=True (corner pixels aligned) instead of aligned pixel centres."""
    n, h, w, c = lr.shape
    y0, y1, ty = _axis_corners(h, h * factor)
    x0, x1, tx = _axis_corners(w, w * factor)
    rows = lr[:, y0] * (1 - ty)[None, :, None, None] + lr[:, y1] * ty[None, :, None, None]
    return rows[:, :, x0] * (1 - tx)[None, None, :, None] + rows[:, :, x1] * tx[None, None, :, None]


def _axis_no_half(size, factor):
    src = np.clip(np.arange(size * factor) / factor, 0, size - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, size - 1)
    return i0, i1, src - i0


def upsample_bilinear_top_left(lr, factor):
    """Maps output pixel i to input coordinate i / factor (top-left corners aligned, no half-pixel shift)."""
    n, h, w, c = lr.shape
    y0, y1, ty = _axis_no_half(h, factor)
    x0, x1, tx = _axis_no_half(w, factor)
    rows = lr[:, y0] * (1 - ty)[None, :, None, None] + lr[:, y1] * ty[None, :, None, None]
    return rows[:, :, x0] * (1 - tx)[None, None, :, None] + rows[:, :, x1] * tx[None, None, :, None]


def upsample_bilinear_width_only(lr, factor):
    """Interpolates along the width but uses nearest neighbour along the height."""
    out = ref.upsample_bilinear(lr, factor)
    return np.repeat(out[:, ::factor], factor, axis=1)


def upsample_bilinear_is_nearest(lr, factor):
    """Returns nearest-neighbour upsampling."""
    return ref.upsample_nearest(lr, factor)


# -- PSNR ----------------------------------------------------------------------------------------------------


def psnr_natural_log(pred, target, data_range):
    """Uses the natural logarithm instead of log10."""
    mse = np.mean((np.asarray(pred, float) - target) ** 2)
    return math.inf if mse == 0 else float(10 * np.log(data_range ** 2 / mse))


def psnr_range_not_squared(pred, target, data_range):
    """Uses data_range instead of data_range ** 2."""
    mse = np.mean((np.asarray(pred, float) - target) ** 2)
    return math.inf if mse == 0 else float(10 * np.log10(data_range / mse))


def psnr_fixed_255(pred, target, data_range):
    """Always assumes a data range of 255, ignoring the argument."""
    mse = np.mean((np.asarray(pred, float) - target) ** 2)
    return math.inf if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def psnr_rmse_10(pred, target, data_range):
    """Uses the RMSE with the factor 10 (should be 20 log10(range / RMSE) or 10 log10(range^2 / MSE))."""
    rmse = np.sqrt(np.mean((np.asarray(pred, float) - target) ** 2))
    return math.inf if rmse == 0 else float(10 * np.log10(data_range / rmse))


def psnr_per_image_mean(pred, target, data_range):
    """Averages the PSNR of each image instead of computing it from the MSE of the whole batch."""
    pred = np.asarray(pred, float)
    mse = np.mean((pred - target) ** 2, axis=(1, 2, 3))
    if np.any(mse == 0):
        return math.inf
    return float(np.mean(10 * np.log10(data_range ** 2 / mse)))


def psnr_no_float_cast(pred, target, data_range):
    """Subtracts without a float cast: on uint8 images the differences and squares wrap around modulo 256."""
    mse = np.mean((pred - target) ** 2)
    return math.inf if mse == 0 else float(10 * np.log10(data_range ** 2 / mse))


def psnr_no_inf(pred, target, data_range):
    """Adds an epsilon to the MSE, so identical images give a large finite number instead of inf."""
    mse = np.mean((np.asarray(pred, float) - target) ** 2) + 1e-12
    return float(10 * np.log10(data_range ** 2 / mse))


# -- the clinic's bugs ---------------------------------------------------------------------------------------


def init_unscaled_randn(sizes, rng):
    """The clinic's bug: weights straight from standard_normal, no sqrt(2 / fan_in) scale."""
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l]))
        params[f"b{l}"] = np.zeros(sizes[l])
    return params


def init_xavier(sizes, rng):
    """Uses sqrt(1 / fan_in) (LeCun/Xavier-style) instead of He's sqrt(2 / fan_in) for ReLU layers."""
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * np.sqrt(1.0 / sizes[l - 1])
        params[f"b{l}"] = np.zeros(sizes[l])
    return params


def init_fan_out(sizes, rng):
    """Scales by the fan-out sqrt(2 / D_l) instead of the fan-in."""
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * np.sqrt(2.0 / sizes[l])
        params[f"b{l}"] = np.zeros(sizes[l])
    return params


def init_he_uniform(sizes, rng):
    """He-uniform, rng.uniform(-sqrt(6 / fan_in), sqrt(6 / fan_in)): the right variance, the wrong distribution
    (the exercise asks for standard_normal draws)."""
    params = {}
    for l in range(1, len(sizes)):
        limit = np.sqrt(6.0 / sizes[l - 1])
        params[f"W{l}"] = rng.uniform(-limit, limit, size=(sizes[l - 1], sizes[l]))
        params[f"b{l}"] = np.zeros(sizes[l])
    return params


def _loss_grads(params, x, y, *, through_dw=False, relu_out=False, no_mask=False, sum_loss=False):
    L = sum(1 for k in params if k.startswith("W"))
    acts, pre, h = [x], [], x
    for l in range(1, L + 1):
        z = h @ params[f"W{l}"] + params[f"b{l}"]
        pre.append(z)
        h = np.maximum(z, 0) if (l < L or relu_out) else z
        acts.append(h)
    diff = h - y
    loss = float(np.sum(diff ** 2) / len(x)) if sum_loss else float(np.mean(diff ** 2))
    dz = 2.0 * diff / (len(x) if sum_loss else diff.size)
    if relu_out:
        dz = dz * (pre[-1] > 0)
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = acts[l - 1].T @ dz
        grads[f"b{l}"] = dz.sum(axis=0)
        if l > 1:
            back = grads[f"W{l}"] if through_dw else params[f"W{l}"]
            dz = dz @ back.T
            if not no_mask:
                dz = dz * (pre[l - 2] > 0)
    return loss, grads


def loss_grads_through_dw(params, x, y):
    """The clinic's bug: propagates the error back through dW (the gradient) instead of through W."""
    return _loss_grads(params, x, y, through_dw=True)


def loss_grads_relu_output(params, x, y):
    """The clinic's bug: ReLU on the output layer too, so negative outputs (and their gradients) vanish."""
    return _loss_grads(params, x, y, relu_out=True)


def loss_grads_no_relu_mask(params, x, y):
    """Forgets to multiply by the ReLU derivative (z > 0) when going back through a hidden layer."""
    return _loss_grads(params, x, y, no_mask=True)


def loss_grads_per_example_sum(params, x, y):
    """Divides the squared error by N only (sum over outputs), not by every value: loss and grads too large."""
    return _loss_grads(params, x, y, sum_loss=True)


def loss_grads_missing_factor_2(params, x, y):
    """Drops the 2 of the derivative of the square: every gradient is half as large."""
    loss, grads = ref.mlp_loss_grads(params, x, y)
    return loss, {k: g / 2 for k, g in grads.items()}


def train_step_ascent(params, x, y, lr):
    """Adds the gradient (ascent) instead of subtracting it."""
    loss, grads = ref.mlp_loss_grads(params, x, y)
    return loss, {k: params[k] + lr * grads[k] for k in params}


def train_step_through_dw(params, x, y, lr):
    """Steps with the clinic's back-propagation-through-dW gradients."""
    loss, grads = loss_grads_through_dw(params, x, y)
    return loss, {k: params[k] - lr * grads[k] for k in params}


def train_step_weights_only(params, x, y, lr):
    """Updates the weights but never the biases."""
    loss, grads = ref.mlp_loss_grads(params, x, y)
    return loss, {k: params[k] - lr * grads[k] if k.startswith("W") else params[k] for k in params}


def train_step_loss_after(params, x, y, lr):
    """Returns the loss after the step instead of before it."""
    _, new = ref.mlp_train_step(params, x, y, lr)
    return ref.mlp_loss_grads(new, x, y)[0], new


def train_step_in_place(params, x, y, lr):
    """Updates the given params in place (params[k] -= ...) and returns them: the caller's arrays change."""
    loss, grads = ref.mlp_loss_grads(params, x, y)
    for k in params:
        params[k] -= lr * grads[k]
    return loss, params


def train_step_shallow_copy(params, x, y, lr):
    """dict(params) copies the dict, not the arrays: new[k] -= ... still modifies the caller's arrays."""
    loss, grads = ref.mlp_loss_grads(params, x, y)
    new = dict(params)
    for k in new:
        new[k] -= lr * grads[k]
    return loss, new


def loss_grads_times_d_out(params, x, y):
    """Mean over the N rows only (2 * diff / N): the loss is right, but every gradient is D_out times too large."""
    loss, grads = ref.mlp_loss_grads(params, x, y)
    d_out = y.shape[1]
    return loss, {k: g * d_out for k, g in grads.items()}


def upsample_bilinear_float32(lr, factor):
    """The right formula computed in float32 (as Pillow's mode "F" does): float32 out for float64 in."""
    return ref.upsample_bilinear(lr.astype(np.float32), factor).astype(np.float32)


WRONG = {
    "downsample_box": [downsample_stride, downsample_sum, downsample_swapped_reshape, downsample_crops_silently,
                       downsample_assert_instead_of_error, downsample_always_float64],
    "upsample_nearest": [upsample_nearest_tile, upsample_nearest_height_only, upsample_nearest_kron_float64],
    "upsample_bilinear": [upsample_bilinear_align_corners, upsample_bilinear_top_left, upsample_bilinear_width_only,
                          upsample_bilinear_is_nearest, upsample_bilinear_float32],
    "psnr": [psnr_natural_log, psnr_range_not_squared, psnr_fixed_255, psnr_rmse_10, psnr_per_image_mean,
             psnr_no_inf, psnr_no_float_cast],
    "init_mlp": [init_unscaled_randn, init_xavier, init_fan_out, init_he_uniform],
    "mlp_loss_grads": [loss_grads_through_dw, loss_grads_relu_output, loss_grads_no_relu_mask,
                       loss_grads_per_example_sum, loss_grads_missing_factor_2, loss_grads_times_d_out,
                       loss_grads_float64],
    "mlp_train_step": [train_step_ascent, train_step_through_dw, train_step_weights_only, train_step_loss_after,
                       train_step_in_place, train_step_shallow_copy, train_step_float64],
}

# The words each of these answers' check message must contain ("!word": must not contain), case-insensitive:
# the message names the real fault (tests/test_check_messages.py).
MESSAGES = {
    "downsample_box": {"downsample_stride": ("hr[:, ::", "striding")},
    "upsample_bilinear": {"upsample_bilinear_float32": ("float32", "float64", "keep the input's dtype")},
    "mlp_loss_grads": {"loss_grads_times_d_out": ("constant scale factor", "every gradient", "!gradient check")},
}
