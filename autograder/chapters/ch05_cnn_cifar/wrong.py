"""Wrong answers for chapter 5 (convolution, im2col, max-pooling)."""

import numpy as np

from autograder.chapters.ch05_cnn_cifar import reference as ref
from autograder.chapters.ch05_cnn_cifar.wrong_dtype import (
    bwd_float64_buffers,
    col2im_float64_image,
    fast_bwd_float64_grads,
    fast_float64_bias,
    fwd_float64_buffer,
    im2col_always_float32,
    im2col_float64_cols,
    pool_bwd_float64_dx,
    pool_float64_out,
)
from autograder.chapters.ch05_cnn_cifar.wrong_speed import (
    conv_backward_per_image,
    conv_backward_window_loop,
    conv_forward_per_image,
    conv_forward_window_loop,
    fast_bwd_is_naive,
    fast_is_naive,
    pool_backward_loops,
    pool_bwd_window_loop,
    pool_forward_pixel_loops,
    pool_forward_reshape_trick,
    pool_forward_window_view,
)


def _conv(x, w, b, stride, pad, *, flip=False, pad_axes=(2, 3), one_sided=False, use_stride=True, bias=True):
    """A loop convolution with switchable mistakes."""
    if flip:
        w = w[:, :, ::-1, ::-1]
    widths = [(0, 0)] * 4
    for a in pad_axes:
        widths[a] = (0, 2 * pad) if one_sided else (pad, pad)
    xp = np.pad(x, widths)
    s = stride if use_stride else 1
    N, C, Hp, Wp = xp.shape
    F, _, KH, KW = w.shape
    Ho, Wo = (Hp - KH) // s + 1, (Wp - KW) // s + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * s:i * s + KH, j * s:j * s + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + (b[f] if bias else 0)
    return out, (x, w, b, stride, pad)


def fwd_flipped_kernel(x, w, b, stride, pad):
    """True convolution: flips the kernel (w[:, :, ::-1, ::-1]) instead of cross-correlating."""
    out, _ = _conv(x, w, b, stride, pad, flip=True)
    return out, (x, w, b, stride, pad)


def fwd_pad_wrong_axes(x, w, b, stride, pad):
    """Pads the batch and channel axes instead of height and width."""
    return _conv(x, w, b, stride, pad, pad_axes=(0, 1))


def fwd_pad_width_only(x, w, b, stride, pad):
    """Pads only the width axis (axes 1 and 3 confused with 2 and 3)."""
    return _conv(x, w, b, stride, pad, pad_axes=(3,))


def fwd_pad_one_side(x, w, b, stride, pad):
    """Puts all 2 * pad zeros after the image (bottom/right) instead of pad on each side."""
    return _conv(x, w, b, stride, pad, one_sided=True)


def fwd_stride_ignored(x, w, b, stride, pad):
    """Always moves the window by one pixel."""
    return _conv(x, w, b, stride, pad, use_stride=False)


def fwd_no_bias(x, w, b, stride, pad):
    """Forgets the bias."""
    return _conv(x, w, b, stride, pad, bias=False)


def fwd_cache_padded(x, w, b, stride, pad):
    """Stores the padded input in the cache instead of x."""
    out, _ = _conv(x, w, b, stride, pad)
    return out, (np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))), w, b, stride, pad)


def _conv_bwd(dout, cache, *, use_stride=True, dw_mode="sum", flip=False, db_mean=False, keep_pad=False):
    x, w, b, stride, pad = cache[:5]
    s = stride if use_stride else 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    wk = w[:, :, ::-1, ::-1] if flip else w
    F, C, KH, KW = w.shape
    N, _, Ho, Wo = dout.shape
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for n in range(N):
        dw_n = np.zeros_like(w)
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    if i * s + KH > xp.shape[2] or j * s + KW > xp.shape[3]:
                        continue
                    g = dout[n, f, i, j]
                    dxp[n, :, i * s:i * s + KH, j * s:j * s + KW] += g * wk[f]
                    dw_n[f] += g * xp[n, :, i * s:i * s + KH, j * s:j * s + KW]
        if dw_mode == "last":
            dw = dw_n
        elif dw_mode == "first":
            dw = dw_n if n == 0 else dw
        else:
            dw += dw_n
    if dw_mode == "mean":
        dw /= N
    db = dout.mean(axis=(0, 2, 3)) if db_mean else dout.sum(axis=(0, 2, 3))
    dx = dxp if keep_pad else dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db


def bwd_stride_ignored(dout, cache):
    """Ignores the stride in the backward pass (windows at i, j instead of i * stride, j * stride)."""
    return _conv_bwd(dout, cache, use_stride=False)


def bwd_dw_last_image(dout, cache):
    """dw not summed over the batch: overwritten by each image, so only the last one counts."""
    return _conv_bwd(dout, cache, dw_mode="last")


def bwd_dw_mean(dout, cache):
    """Averages dw over the batch instead of summing (the loss already carries any 1/N)."""
    return _conv_bwd(dout, cache, dw_mode="mean")


def bwd_flipped_kernel(dout, cache):
    """Uses the flipped kernel for dx."""
    return _conv_bwd(dout, cache, flip=True)


def bwd_db_mean(dout, cache):
    """Averages db instead of summing over batch and positions."""
    return _conv_bwd(dout, cache, db_mean=True)


def bwd_dx_keeps_padding(dout, cache):
    """Returns the gradient of the padded input (padding not cropped off)."""
    return _conv_bwd(dout, cache, keep_pad=True)


def _im2col(x, kh, kw, stride, pad, *, order="cpq", columns="nij", use_stride=True, transpose=False):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    s = stride if use_stride else 1
    N, C, Hp, Wp = xp.shape
    Ho, Wo = (Hp - kh) // s + 1, (Wp - kw) // s + 1
    blocks = np.empty((C, kh, kw, N, Ho, Wo))
    for p in range(kh):
        for q in range(kw):
            blocks[:, p, q] = xp[:, :, p:p + s * (Ho - 1) + 1:s, q:q + s * (Wo - 1) + 1:s].transpose(1, 0, 2, 3)
    if order == "pqc":
        blocks = blocks.transpose(1, 2, 0, 3, 4, 5)
    if columns == "ijn":
        blocks = blocks.transpose(0, 1, 2, 4, 5, 3)
    cols = blocks.reshape(C * kh * kw, N * Ho * Wo)
    return cols.T if transpose else cols


def im2col_rows_pqc(x, kh, kw, stride, pad):
    """Rows ordered (p, q, c) instead of (c, p, q): does not match w.reshape(F, -1)."""
    return _im2col(x, kh, kw, stride, pad, order="pqc")


def im2col_columns_ijn(x, kh, kw, stride, pad):
    """Columns ordered (i, j, n) instead of (n, i, j)."""
    return _im2col(x, kh, kw, stride, pad, columns="ijn")


def im2col_transposed(x, kh, kw, stride, pad):
    """Returns (N * Ho * Wo, C * kh * kw): one window per row instead of per column."""
    return _im2col(x, kh, kw, stride, pad, transpose=True)


def im2col_stride_ignored(x, kh, kw, stride, pad):
    """Takes every window position (stride 1)."""
    return _im2col(x, kh, kw, stride, pad, use_stride=False)


def im2col_no_pad(x, kh, kw, stride, pad):
    """Forgets the padding."""
    return _im2col(x, kh, kw, stride, 0)


def _col2im(cols, x_shape, kh, kw, stride, pad, *, overwrite=False, keep_pad=False, use_stride=True):
    N, C, H, W = x_shape
    Ho, Wo = (H + 2 * pad - kh) // stride + 1, (W + 2 * pad - kw) // stride + 1
    s = stride if use_stride else 1
    c6 = cols.reshape(C, kh, kw, N, Ho, Wo)
    xp = np.zeros((N, C, H + 2 * pad + s * Ho, W + 2 * pad + s * Wo))
    for p in range(kh):
        for q in range(kw):
            view = (slice(None), slice(None), slice(p, p + s * (Ho - 1) + 1, s), slice(q, q + s * (Wo - 1) + 1, s))
            if overwrite:
                xp[view] = c6[:, p, q].transpose(1, 0, 2, 3)
            else:
                xp[view] += c6[:, p, q].transpose(1, 0, 2, 3)
    if keep_pad:
        return xp[:, :, :H + 2 * pad, :W + 2 * pad]
    return xp[:, :, pad:pad + H, pad:pad + W]


def col2im_overwrite(cols, x_shape, kh, kw, stride, pad):
    """Overwrites (=) instead of accumulating (+=) where windows overlap."""
    return _col2im(cols, x_shape, kh, kw, stride, pad, overwrite=True)


def col2im_keeps_padding(cols, x_shape, kh, kw, stride, pad):
    """Returns the padded image (padding not cropped off)."""
    return _col2im(cols, x_shape, kh, kw, stride, pad, keep_pad=True)


def col2im_stride_ignored(cols, x_shape, kh, kw, stride, pad):
    """Puts window (i, j) at (i, j) instead of (i * stride, j * stride)."""
    return _col2im(cols, x_shape, kh, kw, stride, pad, use_stride=False)


def col2im_columns_ijn(cols, x_shape, kh, kw, stride, pad):
    """Reads the columns in (i, j, n) order, matching im2col_columns_ijn: the pair is consistent, but not the
    documented (n, i, j) layout."""
    N, C, H, W = x_shape
    Ho, Wo = (H + 2 * pad - kh) // stride + 1, (W + 2 * pad - kw) // stride + 1
    c6 = cols.reshape(C, kh, kw, Ho, Wo, N).transpose(0, 1, 2, 5, 3, 4)
    return ref.col2im(np.ascontiguousarray(c6).reshape(cols.shape), x_shape, kh, kw, stride, pad)


def fast_flipped_kernel(x, w, b, stride, pad):
    """True convolution (flipped kernel) on im2col columns."""
    return ref.conv_forward_fast(x, np.ascontiguousarray(w[:, :, ::-1, ::-1]), b, stride, pad)


def fast_reshape_without_transpose(x, w, b, stride, pad):
    """Reshapes the (F, N*Ho*Wo) product straight to (N, F, Ho, Wo), mixing images and filters."""
    F, C, KH, KW = w.shape
    N, _, H, W = x.shape
    Ho, Wo = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    cols = ref.im2col(x, KH, KW, stride, pad)
    out = (w.reshape(F, -1) @ cols + b[:, None]).reshape(N, F, Ho, Wo)
    return out, (x, w, b, stride, pad, cols)


def fast_cache_without_cols(x, w, b, stride, pad):
    """Right output, but the cache leaves out the im2col columns the backward pass needs."""
    out, cache = ref.conv_forward_fast(x, w, b, stride, pad)
    return out, cache[:5]


def fast_bwd_dw_first_image(dout, cache):
    """dw not summed over the batch: uses only the first image's columns."""
    x, w, b, stride, pad, cols = cache
    dx, dw, db = ref.conv_backward_fast(dout, cache)
    N = x.shape[0]
    F = w.shape[0]
    d2 = dout[:1].transpose(1, 0, 2, 3).reshape(F, -1)
    dw = (d2 @ cols[:, :cols.shape[1] // N].T).reshape(w.shape)
    return dx, dw, db


def fast_bwd_col2im_overwrites(dout, cache):
    """dx through a col2im that overwrites overlapping windows instead of adding them."""
    x, w, b, stride, pad, cols = cache
    _, dw, db = ref.conv_backward_fast(dout, cache)
    F, C, KH, KW = w.shape
    d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dx = _col2im(w.reshape(F, -1).T @ d2, x.shape, KH, KW, stride, pad, overwrite=True)
    return dx, dw, db


def fast_bwd_dw_not_transposed(dout, cache):
    """dw from the product with the wrong operand transposed (cols @ d2.T reshaped)."""
    x, w, b, stride, pad, cols = cache
    dx, _, db = ref.conv_backward_fast(dout, cache)
    F = w.shape[0]
    d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    return dx, (cols @ d2.T).reshape(w.shape), db


def fast_bwd_reuses_cached_cols(dout, cache):
    """Saves memory by writing the columns' gradient into the cached cols array (cols[...] = W.T @ d2), which
    overwrites the forward pass's cache."""
    x, w, b, stride, pad, cols = cache
    F, C, KH, KW = w.shape
    d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    db = d2.sum(axis=1)
    dw = (d2 @ cols.T).reshape(w.shape)
    cols[...] = w.reshape(F, -1).T @ d2
    return ref.col2im(cols, x.shape, KH, KW, stride, pad), dw, db


def pool_mean(x, size, stride):
    """Average pooling instead of max pooling."""
    out = None
    for _, _, idx in ref.pool_windows(x, size, stride):
        out = x[idx].copy() if out is None else out + x[idx]
    return out / size ** 2, (x, size, stride)


def pool_stride_is_size(x, size, stride):
    """Assumes non-overlapping windows (moves by size, ignoring stride)."""
    return ref.maxpool_forward(x, size, size)[0], (x, size, stride)


def pool_ceil_size(x, size, stride):
    """Pools a partial window at the border (ceil instead of floor for the output size)."""
    N, C, H, W = x.shape
    Ho, Wo = -(-(H - size) // stride) + 1, -(-(W - size) // stride) + 1
    xp = np.pad(x, ((0, 0), (0, 0), (0, size), (0, size)), constant_values=-np.inf)
    out = np.empty((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = xp[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out, (x, size, stride)


def pool_no_cache_x(x, size, stride):
    """Caches the output instead of the input."""
    out, _ = ref.maxpool_forward(x, size, stride)
    return out, (out, size, stride)


def _pool_bwd(dout, cache, mode):
    x, size, stride = cache
    out, _ = ref.maxpool_forward(x, size, stride)
    dx = np.zeros(x.shape)
    taken = np.zeros(out.shape, dtype=bool)
    windows = list(ref.pool_windows(x, size, stride))
    if mode == "last":
        windows = windows[::-1]
    for _, _, idx in windows:
        if mode == "all":
            dx[idx] += dout
            continue
        hit = x[idx] == out
        if mode in ("first", "last"):
            hit &= ~taken
            taken |= hit
        if mode == "overwrite":
            hit &= ~taken
            taken |= hit
            dx[idx] = np.where(hit, dout, dx[idx])
            continue
        dx[idx] += np.where(hit, dout, 0)
    return dx


def pool_bwd_marks_cache(dout, cache):
    """Handles ties by setting each window's chosen maximum to -inf in the cached x (so overlapping windows pick
    another one): overwrites the forward pass's cache, and is wrong where windows overlap."""
    x, size, stride = cache
    N, C, H, W = x.shape
    Ho, Wo = dout.shape[2:]
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]
                    window[p, q] = -np.inf
    return dx


def pool_bwd_every_tie(dout, cache):
    """Routes the gradient to every element equal to the window's maximum (all ties get it)."""
    return _pool_bwd(dout, cache, "ties")


def pool_bwd_every_element(dout, cache):
    """Routes the gradient to every element of the window, max or not (upsampling)."""
    return _pool_bwd(dout, cache, "all")


def pool_bwd_last_max(dout, cache):
    """Gives a tied window's gradient to its last maximum instead of the first."""
    return _pool_bwd(dout, cache, "last")


def pool_bwd_overwrite(dout, cache):
    """Overwrites instead of adding where overlapping windows pick the same pixel."""
    return _pool_bwd(dout, cache, "overwrite")


def fast_bwd_dout_reshape_no_transpose(dout, cache):
    """d2 = dout.reshape(F, -1) without bringing F first: right for one image, scrambled for a batch."""
    x, w, b, stride, pad, cols = cache
    F, C, KH, KW = w.shape
    d2 = dout.reshape(F, -1)
    return ref.col2im(w.reshape(F, -1).T @ d2, x.shape, KH, KW, stride, pad), (d2 @ cols.T).reshape(w.shape), \
        d2.sum(axis=1)


WRONG = {
    "conv_forward_naive": [fwd_flipped_kernel, fwd_pad_wrong_axes, fwd_pad_width_only, fwd_pad_one_side,
                           fwd_stride_ignored, fwd_no_bias, fwd_cache_padded, fwd_float64_buffer],
    "conv_backward_naive": [bwd_stride_ignored, bwd_dw_last_image, bwd_dw_mean, bwd_flipped_kernel, bwd_db_mean,
                            bwd_dx_keeps_padding, bwd_float64_buffers],
    "im2col": [im2col_rows_pqc, im2col_columns_ijn, im2col_transposed, im2col_stride_ignored, im2col_no_pad,
               im2col_float64_cols, im2col_always_float32],
    "col2im": [col2im_overwrite, col2im_keeps_padding, col2im_stride_ignored, col2im_columns_ijn,
               col2im_float64_image],
    "conv_forward_fast": [fast_flipped_kernel, fast_reshape_without_transpose, fast_cache_without_cols,
                          fast_is_naive, conv_forward_window_loop, conv_forward_per_image, fast_float64_bias],
    "conv_backward_fast": [fast_bwd_dw_first_image, fast_bwd_col2im_overwrites, fast_bwd_dw_not_transposed,
                           fast_bwd_is_naive, conv_backward_window_loop, fast_bwd_reuses_cached_cols,
                           fast_bwd_dout_reshape_no_transpose, conv_backward_per_image, fast_bwd_float64_grads],
    "maxpool_forward": [pool_forward_pixel_loops, pool_mean, pool_stride_is_size, pool_ceil_size,
                        pool_no_cache_x, pool_forward_reshape_trick, pool_forward_window_view, pool_float64_out],
    "maxpool_backward": [pool_backward_loops, pool_bwd_every_tie, pool_bwd_every_element,
                         pool_bwd_last_max, pool_bwd_overwrite, pool_bwd_marks_cache, pool_bwd_float64_dx,
                         pool_bwd_window_loop],
}

_SPEED_ONLY = ("right values, only too slow: a visible test cannot time it fairly on a busy machine (no tight "
               "wall-clock asserts), so the speed rules are the hidden check's (>= 50x the naive loops, the batch "
               "window and step rules of step_timing), which report the measured ratios")
NOT_VISIBLE = {
    "conv_forward_fast": {"fast_is_naive": _SPEED_ONLY, "conv_forward_window_loop": _SPEED_ONLY,
                          "conv_forward_per_image": _SPEED_ONLY},
    "conv_backward_fast": {"fast_bwd_is_naive": _SPEED_ONLY, "conv_backward_window_loop": _SPEED_ONLY,
                           "conv_backward_per_image": _SPEED_ONLY},
    "maxpool_forward": {"pool_forward_pixel_loops": _SPEED_ONLY, "pool_forward_reshape_trick": _SPEED_ONLY,
                        "pool_forward_window_view": _SPEED_ONLY},
    "maxpool_backward": {"pool_backward_loops": _SPEED_ONLY, "pool_bwd_window_loop": _SPEED_ONLY},
}

# The words each of these answers' check message must contain ("!word": must not contain), case-insensitive:
# the message names the real fault (tests/test_check_messages.py).
MESSAGES = {
    "maxpool_backward": {"pool_bwd_every_element": ("only the window's maximum", "!tie"),
                         "pool_bwd_window_loop": ("loop over the windows", "offsets")},
    "maxpool_forward": {"pool_forward_reshape_trick": ("the reference layer", "window view", "np.maximum"),
                        "pool_forward_window_view": ("the reference layer", "window view", "np.maximum"),
                        "pool_float64_out": ("dtype float64", "float32 in, float32 out")},
    "im2col": {"im2col_float64_cols": ("dtype float64", "float32 in, float32 out"),
               "im2col_always_float32": ("float32", "keep the input's dtype")},
    "conv_backward_fast": {"fast_bwd_dout_reshape_no_transpose": ("dout.reshape(f, -1)", "transpose(1, 0, 2, 3)",
                                                                  "!col2im", "!overlap")},
}
