"""Chapter 5's answers with the right values in the wrong dtype: buffers made without ``dtype=`` (float64 for
float32 inputs) and one that always computes in float32. Caught by dtype_cases.check_float32 and by the visible
tests' float32 case (float32 in, float32 out) or, for the downcast, by the float64 cases."""

import numpy as np

from autograder.chapters.ch05_cnn_cifar import reference as ref


def _pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def fwd_float64_buffer(x, w, b, stride, pad):
    """out = np.zeros((N, F, Ho, Wo)) without dtype: right values, float64 for float32 inputs."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho, Wo = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    xp = _pad(x, pad)
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", xp[:, :, i * stride:i * stride + KH,
                                                            j * stride:j * stride + KW], w) + b
    return out, (x, w, b, stride, pad)


def bwd_float64_buffers(dout, cache):
    """dx_pad and dw as np.zeros(shape) without dtype: right values, float64 for float32 inputs."""
    x, w, b, stride, pad = cache
    KH, KW = w.shape[2:]
    Ho, Wo = dout.shape[2:]
    xp = _pad(x, pad)
    dxp, dw = np.zeros(xp.shape), np.zeros(w.shape)
    for i in range(Ho):
        for j in range(Wo):
            rows, cols = slice(i * stride, i * stride + KH), slice(j * stride, j * stride + KW)
            dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
            dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], xp[:, :, rows, cols])
    H, W = x.shape[2:]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))


def pool_float64_out(x, size, stride):
    """out = np.full(shape, -np.inf) without dtype: right values, float64 for float32 inputs."""
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.full((N, C, Ho, Wo), -np.inf)
    for p in range(size):
        for q in range(size):
            np.maximum(out, x[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride], out=out)
    return out, (x, size, stride)


def pool_bwd_float64_dx(dout, cache):
    """dx = np.zeros(x.shape) without dtype: right values, float64 for float32 inputs."""
    return ref.maxpool_backward(dout, cache).astype(np.float64)


def im2col_float64_cols(x, kh, kw, stride, pad):
    """cols = np.empty(shape) without dtype: right values, float64 for float32 inputs."""
    return ref.im2col(x, kh, kw, stride, pad).astype(np.float64)


def im2col_always_float32(x, kh, kw, stride, pad):
    """cols = np.empty(shape, dtype=np.float32) whatever x's dtype: float64 inputs lose their precision."""
    return ref.im2col(x, kh, kw, stride, pad).astype(np.float32)


def col2im_float64_image(cols, x_shape, kh, kw, stride, pad):
    """x_pad = np.zeros(shape) without dtype: right values, float64 for float32 columns."""
    return ref.col2im(np.asarray(cols, dtype=np.float64), x_shape, kh, kw, stride, pad)


def fast_float64_bias(x, w, b, stride, pad):
    """The bias added as a float64 column (b.reshape(F, 1).astype(float)): the output becomes float64."""
    out, cache = ref.conv_forward_fast(x, w, b, stride, pad)
    return out + np.zeros(1), cache


def fast_bwd_float64_grads(dout, cache):
    """dx, dw and db cast to float (np.array(..., dtype=float)): right values, float64 for float32 inputs."""
    return tuple(np.array(g, dtype=float) for g in ref.conv_backward_fast(dout, cache))
