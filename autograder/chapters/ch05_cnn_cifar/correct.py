"""Correct answers for chapter 5 (convolution, im2col, max-pooling), written independently of the reference:
each differs from it in a choice the exercise leaves open. The fast versions stay fast (no loop over pixels or
images), since they are graded on speed too."""

from collections import namedtuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ConvCache = namedtuple("ConvCache", "x w b stride pad")
FastCache = namedtuple("FastCache", "x w b stride pad cols")


def _pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def _out_size(H, W, kh, kw, stride, pad):
    return (H + 2 * pad - kh) // stride + 1, (W + 2 * pad - kw) // stride + 1


# -- the naive convolution -----------------------------------------------------------------------------------
def conv_forward_positions(x, w, b, stride, pad):
    """Loops over output positions only; each window meets all images and filters in one einsum. The cache is a
    namedtuple (x, w, b, stride, pad)."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho, Wo = _out_size(H, W, KH, KW, stride, pad)
    xp = _pad(x, pad)
    out = np.empty((N, F, Ho, Wo), dtype=np.result_type(x, w))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", window, w) + b
    return out, ConvCache(x, w, b, stride, pad)


def conv_forward_tensordot(x, w, b, stride, pad):
    """Loops over images and positions, all filters at once with np.tensordot."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho, Wo = _out_size(H, W, KH, KW, stride, pad)
    xp = _pad(x, pad)
    out = np.zeros((N, F, Ho, Wo), dtype=np.result_type(x, w))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                window = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                out[n, :, i, j] = np.tensordot(w, window, axes=3) + b
    return out, tuple([x, w, b, stride, pad])


def conv_backward_positions(dout, cache):
    """Loops over output positions; every image and filter of a position handled by einsum."""
    x, w, b, stride, pad = cache
    F, C, KH, KW = w.shape
    xp = _pad(x, pad)
    dxp = np.zeros_like(xp, dtype=np.result_type(dout, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dout, x))
    Ho, Wo = dout.shape[2:]
    for i in range(Ho):
        for j in range(Wo):
            rows, cols = slice(i * stride, i * stride + KH), slice(j * stride, j * stride + KW)
            g = dout[:, :, i, j]  # (N, F)
            dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", g, w)
            dw += np.einsum("nf,nchw->fchw", g, xp[:, :, rows, cols])
    H, W = x.shape[2:]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))


def conv_backward_kernel_offsets(dout, cache):
    """Loops over the kernel offsets (p, q): each offset's strided slice of the padded input gets its share."""
    x, w, b, stride, pad = cache
    F, C, KH, KW = w.shape
    N, _, Ho, Wo = dout.shape
    xp = _pad(x, pad)
    dxp = np.zeros(xp.shape, dtype=np.result_type(dout, w))
    dw = np.empty(w.shape, dtype=np.result_type(dout, x))
    for p in range(KH):
        for q in range(KW):
            view = (slice(None), slice(None), slice(p, p + stride * (Ho - 1) + 1, stride),
                    slice(q, q + stride * (Wo - 1) + 1, stride))
            dw[:, :, p, q] = np.einsum("nfij,ncij->fc", dout, xp[view])
            dxp[view] += np.einsum("nfij,fc->ncij", dout, w[:, :, p, q])
    H, W = x.shape[2:]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, np.einsum("nfij->f", dout)


# -- max-pooling ---------------------------------------------------------------------------------------------
def _windows(x, size, stride):
    """(N, C, Ho, Wo, size, size) read-only view of the pooling windows."""
    return sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]


def _offsets(H, W, size, stride):
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    return Ho, Wo, [(slice(None), slice(None), slice(p, p + stride * (Ho - 1) + 1, stride),
                     slice(q, q + stride * (Wo - 1) + 1, stride)) for p in range(size) for q in range(size)]


def pool_forward_stacked(x, size, stride):
    """Stacks the size * size strided slices (one per offset in the window) and takes their max."""
    _, _, idx = _offsets(x.shape[2], x.shape[3], size, stride)
    return np.stack([x[i] for i in idx]).max(axis=0), (x, size, stride)


def pool_forward_separable(x, size, stride):
    """Separable max: first over the size column offsets (N, C, H, Wo), then over the size row offsets."""
    Ho, Wo = (x.shape[2] - size) // stride + 1, (x.shape[3] - size) // stride + 1
    cols = x[:, :, :, 0:stride * (Wo - 1) + 1:stride].copy()
    for q in range(1, size):
        np.maximum(cols, x[:, :, :, q:q + stride * (Wo - 1) + 1:stride], out=cols)
    out = cols[:, :, 0:stride * (Ho - 1) + 1:stride].copy()
    for p in range(1, size):
        np.maximum(out, cols[:, :, p:p + stride * (Ho - 1) + 1:stride], out=out)
    return out, (x, size, stride)


def pool_backward_offsets_where(dout, cache):
    """Offsets in row-major order: an offset equal to the window's max that no earlier offset won gets dout."""
    x, size, stride = cache
    Ho, Wo, idx = _offsets(x.shape[2], x.shape[3], size, stride)
    out = np.stack([x[i] for i in idx]).max(axis=0)
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    won = np.zeros(out.shape, dtype=bool)
    for i in idx:
        first = (x[i] == out) & ~won
        won |= first
        dx[i] += np.where(first, dout, 0)
    return dx


def pool_backward_first_of_stack(dout, cache):
    """argmax over the stacked offsets (the first maximum in row-major order), one masked add per offset."""
    x, size, stride = cache
    Ho, Wo, idx = _offsets(x.shape[2], x.shape[3], size, stride)
    winner = np.stack([x[i] for i in idx]).argmax(axis=0)
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for k, i in enumerate(idx):
        dx[i] += dout * (winner == k)
    return dx


# -- im2col / col2im -----------------------------------------------------------------------------------------
def im2col_window_view(x, kh, kw, stride, pad):
    """sliding_window_view of the padded input, axes moved to (c, p, q, n, i, j) and reshaped."""
    N, C = x.shape[:2]
    win = sliding_window_view(_pad(x, pad), (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]  # (N, C, Ho, Wo, kh, kw)
    Ho, Wo = win.shape[2:4]
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(C * kh * kw, N * Ho * Wo)


def im2col_column_loop(x, kh, kw, stride, pad):
    """A loop over images and positions writing each raveled window into its column (slow, but exact)."""
    N, C, H, W = x.shape
    Ho, Wo = _out_size(H, W, kh, kw, stride, pad)
    xp = _pad(x, pad)
    cols = np.empty((C * kh * kw, N * Ho * Wo), dtype=x.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                window = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                cols[:, (n * Ho + i) * Wo + j] = window.ravel()
    return cols


def col2im_column_loop(cols, x_shape, kh, kw, stride, pad):
    """A loop over the columns, each added back onto its window of the padded image."""
    N, C, H, W = x_shape
    Ho, Wo = _out_size(H, W, kh, kw, stride, pad)
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += \
                    cols[:, (n * Ho + i) * Wo + j].reshape(C, kh, kw)
    return xp[:, :, pad:pad + H, pad:pad + W]


def col2im_add_at(cols, x_shape, kh, kw, stride, pad):
    """np.add.at with index arrays for every (c, p, q, n, i, j) entry (unbuffered, so overlaps accumulate)."""
    N, C, H, W = x_shape
    Ho, Wo = _out_size(H, W, kh, kw, stride, pad)
    c, p, q, n, i, j = np.indices((C, kh, kw, N, Ho, Wo)).reshape(6, -1)
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=np.asarray(cols).dtype)
    np.add.at(xp, (n, c, i * stride + p, j * stride + q), np.asarray(cols).reshape(-1))
    return xp[:, :, pad:pad + H, pad:pad + W]


# -- the fast convolution ------------------------------------------------------------------------------------
def _col2im_offsets(cols, x_shape, kh, kw, stride, pad):
    N, C, H, W = x_shape
    Ho, Wo = _out_size(H, W, kh, kw, stride, pad)
    blocks = cols.reshape(C, kh, kw, N, Ho, Wo)
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            xp[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += \
                blocks[:, p, q].transpose(1, 0, 2, 3)
    return xp[:, :, pad:pad + H, pad:pad + W]


def fast_forward_rows(x, w, b, stride, pad):
    """Columns filled one kernel offset at a time from the padded image; the product taken as cols.T @ W.T,
    (N * Ho * Wo, F), then moved to (N, F, Ho, Wo)."""
    N = x.shape[0]
    F, C, KH, KW = w.shape
    Ho, Wo = _out_size(x.shape[2], x.shape[3], KH, KW, stride, pad)
    xp = _pad(x, pad)
    cols6 = np.empty((C, KH, KW, N, Ho, Wo), dtype=x.dtype)
    for p in range(KH):
        for q in range(KW):
            cols6[:, p, q] = xp[:, :, p:p + stride * (Ho - 1) + 1:stride,
                                q:q + stride * (Wo - 1) + 1:stride].swapaxes(0, 1)
    cols = cols6.reshape(C * KH * KW, N * Ho * Wo)
    out = (cols.T @ w.reshape(F, -1).T + b).reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out), (x, w, b, stride, pad, cols)


def fast_forward_einsum(x, w, b, stride, pad):
    """Columns filled offset by offset; the product by np.einsum with the (F, C, KH, KW) filters, namedtuple
    cache."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho, Wo = _out_size(H, W, KH, KW, stride, pad)
    xp = _pad(x, pad)
    blocks = np.empty((C, KH, KW, N, Ho, Wo), dtype=x.dtype)
    for p in range(KH):
        for q in range(KW):
            blocks[:, p, q] = np.moveaxis(xp[:, :, p:p + stride * (Ho - 1) + 1:stride,
                                             q:q + stride * (Wo - 1) + 1:stride], 1, 0)
    out = np.einsum("fcpq,cpqnij->nfij", w, blocks, optimize=True) + b[None, :, None, None]
    return out, FastCache(x, w, b, stride, pad, blocks.reshape(C * KH * KW, -1))


def fast_backward_rows(dout, cache):
    """dout arranged as (N * Ho * Wo, F): dw = (cols @ d).T, dx = col2im((d @ W).T)."""
    x, w, b, stride, pad, cols = cache
    F, C, KH, KW = w.shape
    d = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (cols @ d).T.reshape(w.shape)
    dx = _col2im_offsets((d @ w.reshape(F, -1)).T, x.shape, KH, KW, stride, pad)
    return dx, dw, d.sum(axis=0)


def fast_backward_tensordot(dout, cache):
    """np.tensordot for both products, the columns' gradient folded back offset by offset."""
    x, w, b, stride, pad, cols = cache
    F, C, KH, KW = w.shape
    d2 = np.moveaxis(dout, 1, 0).reshape(F, -1)
    dw = np.tensordot(d2, cols, axes=(1, 1)).reshape(F, C, KH, KW)
    dcols = np.tensordot(w.reshape(F, -1), d2, axes=(0, 0))
    return _col2im_offsets(dcols, x.shape, KH, KW, stride, pad), dw, np.einsum("fk->f", d2)


CORRECT = {
    "conv_forward_naive": [conv_forward_positions, conv_forward_tensordot],
    "conv_backward_naive": [conv_backward_positions, conv_backward_kernel_offsets],
    "maxpool_forward": [pool_forward_stacked, pool_forward_separable],
    "maxpool_backward": [pool_backward_offsets_where, pool_backward_first_of_stack],
    "im2col": [im2col_window_view, im2col_column_loop],
    "col2im": [col2im_column_loop, col2im_add_at],
    "conv_forward_fast": [fast_forward_rows, fast_forward_einsum],
    "conv_backward_fast": [fast_backward_rows, fast_backward_tensordot],
}
