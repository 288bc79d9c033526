"""Chapter 5 reference: convolution (naive and im2col), max-pooling.

Images are (N, C, H, W); filters w are (F, C, KH, KW); biases b are (F,). The convolution is a
cross-correlation (the kernel is *not* flipped), as in every deep-learning library:

    out[n, f, i, j] = b[f] + sum_{c, p, q} x_pad[n, c, i * stride + p, j * stride + q] * w[f, c, p, q]

with x_pad = x zero-padded by ``pad`` on both sides of H and W only, and
Ho = (H + 2 pad - KH) // stride + 1, Wo = (W + 2 pad - KW) // stride + 1.

Cache contracts (the backward passes are graded with caches made by these forward passes):
- conv_forward_naive: cache = (x, w, b, stride, pad)
- conv_forward_fast: cache = (x, w, b, stride, pad, cols) with cols = im2col(x, KH, KW, stride, pad)
- maxpool_forward: cache = (x, size, stride)

im2col column layout: cols has shape (C * KH * KW, N * Ho * Wo) and

    cols[(c * KH + p) * KW + q, (n * Ho + i) * Wo + j] = x_pad[n, c, i * stride + p, j * stride + q]

i.e. rows run over (c, p, q) in C order (so ``w.reshape(F, -1) @ cols`` is the convolution) and columns over
(n, i, j) in C order.

Max-pooling ties: the gradient of a window goes to its *first* maximum in row-major order (like np.argmax on
the flattened window), and only there.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "conv_forward_naive",
    "conv_backward_naive",
    "im2col",
    "col2im",
    "conv_forward_fast",
    "conv_backward_fast",
    "maxpool_forward",
    "maxpool_backward",
]


def _out_size(H, W, kh, kw, stride, pad):
    if stride < 1 or pad < 0:
        raise ValueError(f"need stride >= 1 and pad >= 0, got stride={stride}, pad={pad}")
    Hp, Wp = H + 2 * pad, W + 2 * pad
    if kh > Hp or kw > Wp:
        raise ValueError(f"kernel {kh}x{kw} is larger than the padded input {Hp}x{Wp}")
    return (Hp - kh) // stride + 1, (Wp - kw) // stride + 1


def _pad(x, pad):
    if pad == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def conv_forward_naive(x, w, b, stride, pad):
    """Convolution with explicit loops. x (N, C, H, W), w (F, C, KH, KW), b (F,).

    Returns (out (N, F, Ho, Wo), cache = (x, w, b, stride, pad)).
    """
    N, C, H, W = x.shape
    F, C2, KH, KW = w.shape
    if C2 != C:
        raise ValueError(f"x has {C} channels but w expects {C2}")
    Ho, Wo = _out_size(H, W, KH, KW, stride, pad)
    xp = _pad(x, pad)
    out = np.empty((N, F, Ho, Wo), dtype=np.result_type(x, w))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, stride, pad)


def conv_backward_naive(dout, cache):
    """Gradients of conv_forward_naive with loops. dout (N, F, Ho, Wo); cache = (x, w, b, stride, pad).

    Returns (dx (N, C, H, W), dw (F, C, KH, KW), db (F,)).
    """
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = _pad(x, pad)
    dxp = np.zeros_like(xp, dtype=np.result_type(dout, w))
    dw = np.zeros_like(w, dtype=np.result_type(dout, x))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    g = dout[n, f, i, j]
                    rows = slice(i * stride, i * stride + KH)
                    cols = slice(j * stride, j * stride + KW)
                    dxp[n, :, rows, cols] += g * w[f]
                    dw[f] += g * xp[n, :, rows, cols]
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def im2col(x, kh, kw, stride, pad):
    """Unfold the (kh, kw) windows of x (N, C, H, W) into columns.

    Returns cols (C * kh * kw, N * Ho * Wo) with
    cols[(c * kh + p) * kw + q, (n * Ho + i) * Wo + j] = x_pad[n, c, i * stride + p, j * stride + q].
    """
    N, C, H, W = x.shape
    Ho, Wo = _out_size(H, W, kh, kw, stride, pad)
    xp = _pad(x, pad)
    cols = np.empty((C, kh, kw, N, Ho, Wo), dtype=x.dtype)
    for p in range(kh):
        for q in range(kw):
            patch = xp[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride]
            cols[:, p, q] = patch.transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, N * Ho * Wo)


def col2im(cols, x_shape, kh, kw, stride, pad):
    """Adjoint of im2col: add every column entry back to the pixel it came from (overlaps accumulate).

    cols (C * kh * kw, N * Ho * Wo) in im2col's layout; x_shape = (N, C, H, W). Returns (N, C, H, W).
    """
    N, C, H, W = x_shape
    Ho, Wo = _out_size(H, W, kh, kw, stride, pad)
    if cols.shape != (C * kh * kw, N * Ho * Wo):
        raise ValueError(f"cols has shape {cols.shape}, expected {(C * kh * kw, N * Ho * Wo)} for x {x_shape}")
    c6 = cols.reshape(C, kh, kw, N, Ho, Wo)
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            xp[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += \
                c6[:, p, q].transpose(1, 0, 2, 3)
    return xp[:, :, pad:pad + H, pad:pad + W]


def conv_forward_fast(x, w, b, stride, pad):
    """Convolution as one matrix product on im2col columns. Same inputs/outputs as conv_forward_naive,
    but cache = (x, w, b, stride, pad, cols)."""
    N, C, H, W = x.shape
    F, C2, KH, KW = w.shape
    if C2 != C:
        raise ValueError(f"x has {C} channels but w expects {C2}")
    Ho, Wo = _out_size(H, W, KH, KW, stride, pad)
    cols = im2col(x, KH, KW, stride, pad)
    # One (F, C*KH*KW) @ (C*KH*KW, Ho*Wo) product per image gives (N, F, Ho*Wo) directly in NCHW order.
    out = np.matmul(w.reshape(F, -1), cols.reshape(-1, N, Ho * Wo).transpose(1, 0, 2))
    out += b.reshape(F, 1)
    return out.reshape(N, F, Ho, Wo), (x, w, b, stride, pad, cols)


def conv_backward_fast(dout, cache):
    """Gradients of conv_forward_fast. dout (N, F, Ho, Wo); cache = (x, w, b, stride, pad, cols).

    Returns (dx (N, C, H, W), dw (F, C, KH, KW), db (F,)).
    """
    x, w, b, stride, pad, cols = cache
    F, C, KH, KW = w.shape
    d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # (F, N*Ho*Wo), columns in im2col's order
    dw = (cols @ d2.T).T.reshape(w.shape)
    db = d2.sum(axis=1)
    dx = col2im(w.reshape(F, -1).T @ d2, x.shape, KH, KW, stride, pad)
    return dx, dw, db


def conv_param_grads(dout, cache):
    """(dw, db) of conv_forward_fast only, for a first layer whose input needs no gradient (as in PyTorch).

    Not graded; the benchmarks use it. dout (N, F, Ho, Wo); cache from conv_forward_fast.
    """
    w, cols = cache[1], cache[5]
    d2 = dout.transpose(1, 0, 2, 3).reshape(w.shape[0], -1)
    return (cols @ d2.T).T.reshape(w.shape), d2.sum(axis=1)


def pool_windows(x, size, stride):
    """For each offset (p, q) inside a window of a pool over x (N, C, H, W): (p, q, index of cell (p, q) of every
    window), the index an (N, C, Ho, Wo) slice of x."""
    N, C, H, W = x.shape
    if size < 1 or stride < 1 or size > H or size > W:
        raise ValueError(f"pool size {size} / stride {stride} do not fit input {H}x{W}")
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    for p in range(size):
        for q in range(size):
            yield p, q, (slice(None), slice(None), slice(p, p + stride * (Ho - 1) + 1, stride),
                         slice(q, q + stride * (Wo - 1) + 1, stride))


def maxpool_forward(x, size, stride):
    """Max over size x size windows moved by stride. x (N, C, H, W).

    Returns (out (N, C, Ho, Wo), cache = (x, size, stride)), Ho = (H - size) // stride + 1 (same for Wo).
    """
    out = None
    for _, _, idx in pool_windows(x, size, stride):
        out = x[idx].copy() if out is None else np.maximum(out, x[idx], out=out)
    return out, (x, size, stride)


def maxpool_backward(dout, cache):
    """Gradient of maxpool_forward: each window's gradient goes to its first maximum (row-major) only.

    dout (N, C, Ho, Wo); cache = (x, size, stride). Returns dx (N, C, H, W).
    """
    x, size, stride = cache
    out, _ = maxpool_forward(x, size, stride)
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    taken = np.zeros(out.shape, dtype=bool)  # windows whose maximum has been found
    hit = np.empty(out.shape, dtype=bool)
    free = np.empty(out.shape, dtype=bool)
    for _, _, idx in pool_windows(x, size, stride):
        np.equal(x[idx], out, out=hit)
        np.logical_not(taken, out=free)
        hit &= free  # a later tie in a window whose maximum was already found gets nothing
        taken |= hit
        if stride >= size:  # windows do not overlap: each pixel is written once
            np.multiply(dout, hit, out=dx[idx])
        else:
            dx[idx] += dout * hit
    return dx
