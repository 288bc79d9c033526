"""Chapter 5's answers with the right values that are slow in a training step (the batch and step rules of
step_timing): loops over the images of the batch, over windows, and pooling through strided window views.

Those in wrong.WRONG fail the rules by a wide margin (the max-pool forwards through window views and the reshape
trick fail the pool rule: 29-68x the reference layer, limit 10x; the window loop in max-pool backward fails the
window rule: 150-480x on few large images, limit 30x). The np.add.at max-pool backward is measured by
benchmarks/bench_step_rule.py and shown by the chapter's per-layer timing cell, but kept out of the corpus: at batch
64 it is 4.5-11x the reference layer and 2-3.5x the step, the same range as correct scatters (np.bincount up to
10x), so no rule can fail it without failing correct code."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autograder.chapters.ch05_cnn_cifar import reference as ref


def _windows(x, size, stride):
    """(N, C, Ho, Wo, size, size) read-only view of the pooling windows."""
    return sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]


def conv_forward_per_image(x, w, b, stride, pad):
    """The CIFAR report's mistake: right values, one image at a time (a Python loop over the batch)."""
    outs = [ref.conv_forward_fast(x[n:n + 1], w, b, stride, pad)[0] for n in range(x.shape[0])]
    return np.concatenate(outs), (x, w, b, stride, pad, ref.im2col(x, w.shape[2], w.shape[3], stride, pad))


def conv_backward_per_image(dout, cache):
    """Right values, one image at a time (a Python loop over the batch)."""
    x, w, b, stride, pad, _ = cache
    dt = np.result_type(dout, cache[0])
    dxs, dw, db = [], np.zeros(w.shape, dtype=dt), np.zeros(w.shape[0], dtype=dt)
    for n in range(x.shape[0]):
        cols = ref.im2col(x[n:n + 1], w.shape[2], w.shape[3], stride, pad)
        dx1, dw1, db1 = ref.conv_backward_fast(dout[n:n + 1], (x[n:n + 1], w, b, stride, pad, cols))
        dxs.append(dx1)
        dw, db = dw + dw1, db + db1
    return np.concatenate(dxs), dw, db


def pool_bwd_window_loop(dout, cache):
    """Right values, a Python loop over the output positions (i, j): 10-15x the reference at batch 64 (where the
    step rule lets it through), 150-480x on few large images (the window rule)."""
    x, size, stride = cache
    N, C, Ho, Wo = dout.shape
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].reshape(N, C, -1)
            first = win.argmax(axis=2)  # the first maximum in row-major order
            p, q = np.divmod(first, size)
            n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
            np.add.at(dx, (n_idx, c_idx, i * stride + p, j * stride + q), dout[:, :, i, j])
    return dx


def pool_forward_window_view(x, size, stride):
    """Max over the windows of sliding_window_view: right values, but the reduction over two tiny strided
    axes costs ~100x the reference at batch 64 (2.3x the whole training step)."""
    return _windows(x, size, stride).max(axis=(4, 5)), (x, size, stride)


def pool_forward_loops(x, size, stride):
    """Loops over output positions, np.max over each window's two spatial axes: right, far too slow."""
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = np.max(x[:, :, i * stride:i * stride + size, j * stride:j * stride + size], axis=(2, 3))
    return out, (x, size, stride)


def pool_backward_argmax_add_at(dout, cache):
    """argmax of every flattened window, scattered with np.add.at: right, 4.5-11x the reference at batch 64
    (2-3.5x the training step), like a correct np.bincount scatter: not in the corpus."""
    x, size, stride = cache
    win = _windows(x, size, stride)
    N, C, Ho, Wo = win.shape[:4]
    first = win.reshape(N, C, Ho, Wo, size * size).argmax(axis=-1)
    p, q = np.divmod(first, size)
    rows = np.arange(Ho)[None, None, :, None] * stride + p
    cols = np.arange(Wo)[None, None, None, :] * stride + q
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    np.add.at(dx, (np.broadcast_to(n, rows.shape), np.broadcast_to(c, rows.shape), rows, cols), dout)
    return dx


def pool_backward_loops(dout, cache):
    """Loops over images, channels and windows (np.argmax per window): right, far too slow."""
    x, size, stride = cache
    N, C, Ho, Wo = dout.shape
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]
    return dx


def conv_forward_window_loop(x, w, b, stride, pad):
    """Loops over the windows (n, i, j), all filters at once: right, but only 15-25x faster than the naive
    loops, not the 50x the exercise asks for."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho, Wo = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((N, F, Ho, Wo), dtype=np.result_type(x, w))
    w2 = w.reshape(F, -1)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                out[n, :, i, j] = w2 @ xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW].ravel() + b
    return out, (x, w, b, stride, pad, ref.im2col(x, KH, KW, stride, pad))


def conv_backward_window_loop(dout, cache):
    """Loops over the windows (n, i, j), all filters at once: right, but far from 50x faster than the naive
    loops."""
    x, w, b, stride, pad, cols = cache
    F, C, KH, KW = w.shape
    N, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros(xp.shape, dtype=np.result_type(dout, w))
    dw = np.zeros((F, C * KH * KW), dtype=np.result_type(dout, x))
    w2 = w.reshape(F, -1)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                rows, cs = slice(i * stride, i * stride + KH), slice(j * stride, j * stride + KW)
                g = dout[n, :, i, j]
                dxp[n, :, rows, cs] += (g @ w2).reshape(C, KH, KW)
                dw += np.outer(g, xp[n, :, rows, cs])
    H, W = x.shape[2:]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw.reshape(w.shape), dout.sum(axis=(0, 2, 3))


def fast_is_naive(x, w, b, stride, pad):
    """Right answer with the naive loops: not faster, so it fails the speed requirement."""
    out, cache = ref.conv_forward_naive(x, w, b, stride, pad)
    return out, cache + (ref.im2col(x, w.shape[2], w.shape[3], stride, pad),)


def fast_bwd_is_naive(dout, cache):
    """Right answer with the naive loops: not faster, so it fails the speed requirement."""
    return ref.conv_backward_naive(dout, cache[:5])


def pool_forward_reshape_trick(x, size, stride):
    """The reshape trick (reshape to (N, C, Ho, s, Wo, s), max over axes 3 and 5) for non-overlapping windows:
    right, but NumPy reduces over the two tiny strided axes ~50-100x slower than np.maximum over the offsets."""
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    if stride != size:
        return ref.maxpool_forward(x, size, stride)
    return x[:, :, :Ho * size, :Wo * size].reshape(N, C, Ho, size, Wo, size).max(axis=(3, 5)), (x, size, stride)


def pool_forward_pixel_loops(x, size, stride):
    """Loops over images, channels and output positions (a max per window): right, far too slow (seconds per
    training step at batch 64)."""
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size].max()
    return out, (x, size, stride)
