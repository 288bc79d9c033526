# ---
# jupyter:
#   course:
#     gives_away:
#       02_dense_backprop: given affine layers, numeric_gradient, rel_error
#       03_activations: given relu_forward, relu_backward, He init
#       04_softmax: given softmax_cross_entropy, accuracy
#     time_budget_seconds: 600
#   jupytext:
#     cell_metadata_filter: key,nbgrader,-all
#     notebook_metadata_filter: course,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] key="ch05-intro"
# # Chapter 5: A convolutional network on CIFAR-10, and the network that never converged
#
# A bug report reached the course forum:
#
# > *"My CNN on CIFAR-10 never converges. Conv 16 filters 3x3 (stride 1, no padding) -> ReLU -> max-pool 2x2 ->
# > fully connected 3600 -> 10 -> softmax. I train one image at a time, pixels as they come (0..255), and my
# > convolution is four nested loops. The loss goes to thousands, then sits at 2.30 forever. And one epoch takes
# > about an hour and a half."*
#
# Nothing in that network is exotic; by the end of this chapter the same network trains to over 60% test accuracy
# on the full CIFAR-10 (62.8% when we ran the chapter's last training cell on the course's lossy JPEG copy of all
# 60,000 images: 12 epochs, 9.7 minutes on a busy 2-core machine; 63.0% in 4.8 minutes in a later run on a less
# busy one: benchmarks/RESULTS.md records the runs with the machine's load), or to about 55% on the course's 10,000-image
# offline subset. The training cells print what they measure on the data you have. You will build its layers, then
# reproduce the report and fix it one problem at a time.
#
# **You will write** eight functions, each checked by tests:
#
# 1. `conv_forward_naive`, `conv_backward_naive`: convolution with loops, the obviously-correct version.
# 2. `maxpool_forward`, `maxpool_backward`: max-pooling.
# 3. `im2col`, `col2im`: turn convolution into one matrix product.
# 4. `conv_forward_fast`, `conv_backward_fast`: the vectorised convolution; graded on correctness **and** on being
#    at least 50x faster than the loops.
#
# **Conventions:** images inside layers are `(N, C, H, W)` (batch, channels, height, width). Filters are
# `w` of shape `(F, C, KH, KW)` and biases `b` of shape `(F,)`. Every layer has `*_forward(...) -> (out, cache)` and
# `*_backward(dout, cache) -> gradients`; the backward functions are graded with caches made by the reference forward
# functions, so **store exactly the cache each exercise asks for**. Gradient checks run in float64, training in
# float32.
#
# The helpers from earlier chapters (affine layer, ReLU, softmax cross-entropy, a numerical gradient) are in the
# locked setup cell below, so this chapter stands on its own.

# %% nbgrader={"grade_id": "setup", "schema_version": 3, "solution": false, "grade": false, "locked": true, "task": false}
import time

import matplotlib.pyplot as plt
import numpy as np

from course.data import CIFAR10_CLASSES, load_cifar10
from course.data.cifar import cifar10_source
from course.i18n import gettext
from course.monitor import TrainingMonitor
from course.runtime import quick_mode
from course.testing import assert_close, assert_returns_tuple, assert_shape, passed, run

# %matplotlib inline


def affine_forward(x, W, b):
    """x (N, D) @ W (D, M) + b (M,) -> (out (N, M), cache)."""
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    """dout (N, M) -> (dx (N, D), dW (D, M), db (M,))."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def softmax_cross_entropy(scores, y):
    """Mean cross-entropy of scores (N, K) for labels y (N,) -> (loss, dscores (N, K))."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    N = scores.shape[0]
    loss = -log_p[np.arange(N), y].mean()
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    return loss, dscores / N


def numeric_gradient(f, x, h=1e-6):
    """Central differences of the scalar function f() with respect to the array x (changed in place, restored)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def rel_error(a, b):
    """Relative difference of two arrays: |a - b| / (|a| + |b|) with Euclidean norms."""
    return float(np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b)))


# %% [markdown] key="ch05-conv-naive"
# ## 1. Convolution, the slow and obvious way
#
# A convolutional layer slides each filter over the image. At every position it takes the dot product of the
# filter with the window of the image under it, plus the filter's bias:
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c,p,q} x_\text{pad}[n, c,\; i \cdot s + p,\; j \cdot s + q]\; w[f, c, p, q]$$
#
# - `x_pad` is `x` with `pad` zeros added on **both sides of the height and width axes only** (not the batch or
#   channel axes): `np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))`.
# - `s` is the stride: the window moves `s` pixels at a time.
# - The output size is $H_o = \lfloor (H + 2\,\text{pad} - KH) / s \rfloor + 1$ and the same for $W_o$.
# - Despite its name this is a *cross-correlation*: the kernel is **not** flipped (every deep-learning library does
#   it this way). Flipping it gives the textbook convolution, and wrong answers here.
#
# Write it with loops over `n`, `f`, `i`, `j` and a NumPy sum over the window. Return
# `(out, cache)` with **`cache = (x, w, b, stride, pad)`**.

# %% nbgrader={"grade_id": "conv_forward_naive", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def conv_forward_naive(x, w, b, stride, pad):
    """Convolution (cross-correlation) with loops.

    x: (N, C, H, W); w: (F, C, KH, KW); b: (F,); stride >= 1; pad >= 0 zeros on each side of H and W.
    Returns (out (N, F, Ho, Wo), cache = (x, w, b, stride, pad)).
    dtype: the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho = (H + 2 * pad - KH) // stride + 1
    Wo = (W + 2 * pad - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo), dtype=np.result_type(x, w))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, stride, pad)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_conv_forward_naive", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
# A 3x3 image 0..8 and the kernel [[1, 0], [0, -1]]: every output is x[i, j] - x[i+1, j+1] + 0.5 = -4 + 0.5.
x_tiny = np.arange(9.0).reshape(1, 1, 3, 3)
w_tiny = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
res = run(conv_forward_naive, x_tiny, w_tiny, np.array([0.5]), 1, 0)
assert_returns_tuple(res, 2, "conv_forward_naive", "out, cache")
assert_close(res[0], np.full((1, 1, 2, 2), -3.5), "conv of 0..8 with [[1, 0], [0, -1]] (+4.5 means a flipped kernel)")
assert_returns_tuple(res[1], 5, "the cache", "x, w, b, stride, pad")
# Two images, two channels, two filters, stride 2 and padding 1 (expected values computed once
# from the definition): out[n, f, i, j] = b[f] + sum over c, p, q of x_pad[n, c, 2 i + p, 2 j + q] * w[f, c, p, q].
x_two = np.array([[[[2, 2, 2, 2], [2, 0, -2, 3], [2, -2, -2, 1], [1, -3, 3, 0]],
                   [[-3, -1, 1, -2], [1, 3, 1, -1], [-2, -1, 1, -3], [3, -3, -1, 3]]],
                  [[[0, 1, 0, 3], [0, -3, 2, 1], [-3, -1, 0, -1], [3, 1, -2, -3]],
                   [[0, -2, 3, -2], [1, 0, -2, -1], [0, 2, -2, 0], [1, 2, 0, -3]]]], dtype=float)
w_two = np.array([[[[0, 0, -1], [1, 1, 1], [-1, -2, 1]], [[-2, 0, 1], [2, -1, -1], [0, -1, 2]]],
                  [[[-2, 2, 0], [-2, -1, 0], [2, 2, 2]], [[-1, 2, 0], [1, -1, -1], [2, -2, 0]]]], dtype=float)
res = run(conv_forward_naive, x_two, w_two, np.array([1.0, -2.0]), 2, 1)
assert_returns_tuple(res, 2, "conv_forward_naive", "out, cache")
assert_close(res[0], [[[[10, 10], [-7, -8]], [[2, -2], [-5, -4]]], [[[0, 0], [-4, -3]], [[-8, -3], [7, 6]]]],
             "conv_forward_naive on x (2, 2, 4, 4), w (2, 2, 3, 3), b [1, -2], stride 2, pad 1")
assert_returns_tuple(res[1], 5, "the cache", "x, w, b, stride, pad")
assert_close(res[1][0], x_two, "cache[0] (the input x itself, not the padded one)")
assert_close(res[1][1], w_two, "cache[1] (the filters w)")
assert tuple(res[1][3:5]) == (2, 1), gettext("cache[3:5] should be (stride, pad) = (2, 1), got {got}",
                                              got=tuple(res[1][3:5]))
# Shapes with stride and padding.
rng = np.random.default_rng(0)
out, _ = run(conv_forward_naive, rng.normal(size=(2, 3, 5, 7)), rng.normal(size=(4, 3, 3, 3)), np.zeros(4), 2, 1)
assert_shape(out, (2, 4, 3, 4), "conv_forward_naive on x (2, 3, 5, 7), w (4, 3, 3, 3), stride 2, pad 1")
# float32 in, float32 out: the chapter trains in float32 (np.zeros(shape) alone would be float64).
out32 = np.asarray(run(conv_forward_naive, x_two.astype(np.float32), w_two.astype(np.float32),
                       np.array([1.0, -2.0], np.float32), 2, 1)[0])
assert out32.dtype == np.float32, gettext("{name} on float32 inputs returned dtype {dtype}: keep the inputs' dtype "
                                          "(float32 in, float32 out)", name="conv_forward_naive", dtype=out32.dtype)
passed("conv_forward_naive")
### BEGIN HIDDEN TESTS
from autograder.checks import check_conv_forward_naive

check_conv_forward_naive(conv_forward_naive)
### END HIDDEN TESTS

# %% [markdown] key="ch05-conv-backward"
# ## 2. Its backward pass
#
# Every output `out[n, f, i, j]` used one window of `x_pad` and the whole filter `w[f]`. So, going backwards, each
# upstream gradient `g = dout[n, f, i, j]`
#
# - adds `g * w[f]` to that window of `dx_pad`,
# - adds `g * window` to `dw[f]` (summed over **every image of the batch** and every position),
# - adds `g` to `db[f]`.
#
# Use the same window positions as the forward pass (`i * stride`, `j * stride`), and crop the padding off `dx_pad`
# at the end. Return `(dx, dw, db)` with the shapes of `x`, `w` and `b`. The cache is the one from section 1.

# %% nbgrader={"grade_id": "conv_backward_naive", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def conv_backward_naive(dout, cache):
    """Gradients of conv_forward_naive with loops.

    dout: (N, F, Ho, Wo); cache = (x, w, b, stride, pad).
    Returns (dx (N, C, H, W), dw (F, C, KH, KW), db (F,)).
    dtype: the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros(xp.shape, dtype=np.result_type(dout, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dout, x))
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
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_conv_backward_naive", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
# Two images, two channels, three filters, stride 2, pad 1; the cache is what conv_forward_naive returns. The
# expected gradients were computed once from the definition (and checked against central differences).
x_b = np.array([[[[0, 3, -3], [-2, 0, -1], [1, -1, 0]], [[1, 1, 0], [-2, -2, 2], [3, 0, 0]]],
                [[[1, -2, 1], [3, -2, 3], [-2, -3, 1]], [[-2, 0, 0], [3, -1, -1], [3, -1, -1]]]], dtype=float)
w_b = np.array([[[[0, 0], [0, 0]], [[-2, 2], [-1, 0]]], [[[-1, 0], [-1, -2]], [[-2, 1], [2, -2]]],
                [[[-1, -2], [1, 1]], [[0, -2], [2, 1]]]], dtype=float)
dout_b = np.array([[[[0, -1], [0, 2]], [[-1, -2], [1, -2]], [[1, 0], [-2, 1]]],
                   [[[2, -2], [2, 2]], [[-2, 0], [-1, 0]], [[1, 1], [0, 2]]]], dtype=float)
grads_b = run(conv_backward_naive, dout_b, (x_b, w_b, np.zeros(3), 2, 1))
assert_returns_tuple(grads_b, 3, "conv_backward_naive", "dx, dw, db")
dx_b, dw_b, db_b = grads_b
assert_close(dx_b, [[[[3, 2, 4], [4, 1, -2], [-4, 3, 5]], [[3, -3, 4], [5, 0, 0], [-4, -4, 5]]],
                    [[[5, 1, 1], [0, -2, -4], [2, 2, 2]], [[5, 4, 1], [3, -4, 0], [2, 2, 2]]]],
             "dx (stride 2, pad 1: windows at 2 i and 2 j of x_pad, padding cropped off)")
assert_close(dw_b, [[[[-4, 10], [-7, 1]], [[-6, 8], [-3, 0]]], [[[0, -3], [-4, 7]], [[4, -9], [-2, 3]]],
                    [[[-4, 9], [-9, 2]], [[-4, 4], [-2, -9]]]],
             "dw (summed over both images and every position)")
assert_close(db_b, [5, -7, 4], "db (dout summed over images and positions)")
# float32 in, float32 out: the chapter trains in float32 (np.zeros(shape) alone would be float64).
grads32 = run(conv_backward_naive, dout_b.astype(np.float32), (x_b.astype(np.float32), w_b.astype(np.float32),
                                                              np.zeros(3, np.float32), 2, 1))
for name32, g32 in zip(("dx", "dw", "db"), grads32):
    assert np.asarray(g32).dtype == np.float32, gettext(
        "{name} on float32 inputs returned {grad} of dtype {dtype}: keep the inputs' dtype (float32 in, float32 out)",
        name="conv_backward_naive", grad=name32, dtype=np.asarray(g32).dtype)
passed("conv_backward_naive")
### BEGIN HIDDEN TESTS
from autograder.checks import check_conv_backward_naive

check_conv_backward_naive(conv_backward_naive)
### END HIDDEN TESTS

# %% [markdown] key="ch05-maxpool"
# ## 3. Max-pooling
#
# Max-pooling keeps the largest value of each `size x size` window, moving the window by `stride`:
# $H_o = \lfloor (H - \text{size}) / \text{stride} \rfloor + 1$ (no padding; rows or columns left over at the border
# are dropped). Return `(out, cache)` with **`cache = (x, size, stride)`**.
#
# Going backwards, only the element that *was* the maximum influenced the output, so each window's gradient goes
# to that element and nowhere else. Two details matter:
#
# - **Ties.** After a ReLU many windows are all zeros. The gradient of a window goes to its **first** maximum in
#   row-major order (the element `np.argmax` would pick on the flattened window), *only* to that one.
# - **Overlap.** When `stride < size`, windows overlap and one pixel can win several of them: add up its gradients.
#
# A vectorised approach for both functions: loop over the `size * size` offsets `(p, q)` of the window and work on
# the strided view `x[:, :, p::stride, q::stride]` cut to `(Ho, Wo)`.

# %% nbgrader={"grade_id": "maxpool_forward", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def maxpool_forward(x, size, stride):
    """Max over size x size windows moved by stride. x: (N, C, H, W).

    Returns (out (N, C, Ho, Wo), cache = (x, size, stride)) with Ho = (H - size) // stride + 1, same for Wo.
    dtype: out has x's dtype.
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
    for p in range(size):
        for q in range(size):
            np.maximum(out, x[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride], out=out)
    return out, (x, size, stride)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_maxpool_forward", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
x_pool = np.arange(16.0).reshape(1, 1, 4, 4)
res = run(maxpool_forward, x_pool, 2, 2)
assert_returns_tuple(res, 2, "maxpool_forward", "out, cache")
assert_close(res[0], [[[[5.0, 7.0], [13.0, 15.0]]]], "2x2 max-pool of 0..15")
assert_close(run(maxpool_forward, x_pool, 3, 1)[0], [[[[10.0, 11.0], [14.0, 15.0]]]], "3x3 pool, stride 1")
assert_returns_tuple(res[1], 3, "the cache", "x, size, stride")
assert_close(res[1][0], x_pool, "cache[0] (the input x)")
assert tuple(res[1][1:]) == (2, 2), gettext("cache[1:] should be (size, stride) = (2, 2), got {got}",
                                            got=tuple(res[1][1:]))
# Two images with two channels each; the last row and column of a 5x5 image are not pooled (2x2, stride 2).
x_two = np.arange(64.0).reshape(2, 2, 4, 4) % 11
assert_close(run(maxpool_forward, x_two, 2, 2)[0], [[[[5, 7], [9, 10]], [[10, 8], [7, 9]]],
                                                     [[[10, 6], [8, 10]], [[9, 10], [6, 8]]]],
             "2x2 max-pool of two 2-channel images")
assert_shape(run(maxpool_forward, np.zeros((1, 1, 5, 5)), 2, 2)[0], (1, 1, 2, 2),
             "2x2 max-pool (stride 2) of a 5x5 image (no partial windows)")
# float32 in, float32 out: the chapter trains in float32 (np.full(shape, -np.inf) alone would be float64).
out32 = np.asarray(run(maxpool_forward, x_two.astype(np.float32), 2, 2)[0])
assert out32.dtype == np.float32, gettext("{name} on a float32 x returned dtype {dtype}: keep the input's dtype "
                                          "(float32 in, float32 out)", name="maxpool_forward", dtype=out32.dtype)
passed("maxpool_forward")
### BEGIN HIDDEN TESTS
from autograder.checks import check_maxpool_forward

check_maxpool_forward(maxpool_forward)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "maxpool_backward", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def maxpool_backward(dout, cache):
    """Gradient of maxpool_forward: each window's gradient goes to its first maximum (row-major) only;
    overlapping windows add up.

    dout: (N, C, Ho, Wo); cache = (x, size, stride). Returns dx (N, C, H, W).
    dtype: the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    x, size, stride = cache
    out, _ = maxpool_forward(x, size, stride)
    Ho, Wo = out.shape[2:]
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    remaining = np.array(dout, dtype=dx.dtype)  # the gradient not yet given to a maximum
    for p in range(size):
        for q in range(size):
            view = (slice(None), slice(None), slice(p, p + stride * (Ho - 1) + 1, stride),
                    slice(q, q + stride * (Wo - 1) + 1, stride))
            hit = x[view] == out
            dx[view] += remaining * hit
            remaining = remaining * ~hit  # later ties in the same window get nothing
    return dx
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_maxpool_backward", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
# Ties: the window [[1, 1], [0, 1]] has three maxima; all of the gradient goes to the first.
x_tie = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
assert_close(run(maxpool_backward, np.array([[[[5.0]]]]), (x_tie, 2, 2)), [[[[5.0, 0.0], [0.0, 0.0]]]],
             "maxpool_backward with tied maxima (only the first, in row-major order, gets the gradient)")
# Overlapping 3x3 windows (stride 2) on two 5x5 images of distinct values; the cache is (x, size, stride). A pixel
# that is the maximum of two windows receives the sum of their gradients (the 14 below is 6 + 8).
x_ov = np.array([[[[35, 34, 26, 46, 0], [9, 13, 37, 47, 25], [32, 6, 19, 12, 41], [28, 29, 16, 44, 40],
                   [5, 11, 48, 33, 8]]],
                 [[[31, 43, 18, 22, 45], [27, 15, 39, 21, 17], [1, 24, 14, 49, 23], [36, 7, 3, 20, 10],
                   [42, 2, 30, 38, 4]]]], dtype=float)
dout_ov = np.arange(1.0, 9.0).reshape(2, 1, 2, 2)
assert_close(run(maxpool_backward, dout_ov, (x_ov, 3, 2)),
             [[[[0, 0, 0, 0, 0], [0, 0, 1, 2, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 7, 0, 0]]],
              [[[0, 5, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 14, 0], [0, 0, 0, 0, 0], [7, 0, 0, 0, 0]]]],
             "maxpool_backward (size 3, stride 2: overlapping windows add up)")
# float32 in, float32 out: the chapter trains in float32 (np.zeros(shape) alone would be float64).
dx32 = np.asarray(run(maxpool_backward, dout_ov.astype(np.float32), (x_ov.astype(np.float32), 3, 2)))
assert dx32.dtype == np.float32, gettext("{name} on float32 inputs returned dtype {dtype}: keep the inputs' dtype "
                                         "(float32 in, float32 out)", name="maxpool_backward", dtype=dx32.dtype)
passed("maxpool_backward")
### BEGIN HIDDEN TESTS
from autograder.checks import check_maxpool_backward

check_maxpool_backward(maxpool_backward)
### END HIDDEN TESTS

# %% [markdown] key="ch05-im2col"
# ## 4. im2col: convolution as one matrix product
#
# The loops in section 1 run $N \cdot F \cdot H_o \cdot W_o$ times in Python: about 14,000 iterations for *one*
# CIFAR image and 16 filters. The trick that makes convolution fast is to copy every window of the image into a
# column of a matrix once; then all filters at all positions are **one matrix product**.
#
# `im2col(x, kh, kw, stride, pad)` returns `cols` of shape `(C * kh * kw, N * Ho * Wo)` with exactly this layout:
#
# $$\texttt{cols}[(c \cdot kh + p) \cdot kw + q,\;\; (n \cdot H_o + i) \cdot W_o + j] = x_\text{pad}[n, c,\; i \cdot s + p,\; j \cdot s + q]$$
#
# - **rows** run over `(c, p, q)` in C order (the last index fastest), the same order as `w[f].ravel()`, so
#   `w.reshape(F, -1) @ cols` is the convolution;
# - **columns** run over `(n, i, j)` in C order: column `(n * Ho + i) * Wo + j` is the window of image `n` at output
#   position `(i, j)`.
#
# Don't loop over pixels or images: loop over the `kh * kw` kernel offsets `(p, q)`. For each offset, the pixels
# that it touches in all windows form one strided slice of `x_pad`:
# `x_pad[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride]`, of shape `(N, C, Ho, Wo)`.
# An array `(C, kh, kw, N, Ho, Wo)` filled slice by slice reshapes straight into the layout above.
#
# `col2im(cols, x_shape, kh, kw, stride, pad)` goes the other way for the backward pass: it sends every entry of
# `cols` back to the pixel it was copied from and **adds** it there (a pixel that sits in several windows receives
# the sum), then crops the padding. It returns an array of shape `x_shape`.

# %% nbgrader={"grade_id": "im2col", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def im2col(x, kh, kw, stride, pad):
    """Unfold the kh x kw windows of x (N, C, H, W) into columns.

    Returns cols (C * kh * kw, N * Ho * Wo) with
    cols[(c * kh + p) * kw + q, (n * Ho + i) * Wo + j] = x_pad[n, c, i * stride + p, j * stride + q].
    dtype: cols has x's dtype.
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C, kh, kw, N, Ho, Wo), dtype=x.dtype)
    for p in range(kh):
        for q in range(kw):
            patch = xp[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride]
            cols[:, p, q] = patch.transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, N * Ho * Wo)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_im2col", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
x_ic = np.arange(9.0).reshape(1, 1, 3, 3)  # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
cols_ic = run(im2col, x_ic, 2, 2, 1, 0)
# Column k is the k-th 2x2 window (row-major over positions); row r is kernel offset r = p * 2 + q.
assert_close(cols_ic, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]], "im2col of 0..8 with 2x2 windows")
# Two images with two channels: rows run over (c, p, q), columns over (n, i, j): image 0's windows come first.
x_nc = np.arange(36.0).reshape(2, 2, 3, 3)
assert_close(run(im2col, x_nc, 2, 2, 1, 0),
             [[0, 1, 3, 4, 18, 19, 21, 22], [1, 2, 4, 5, 19, 20, 22, 23], [3, 4, 6, 7, 21, 22, 24, 25],
              [4, 5, 7, 8, 22, 23, 25, 26], [9, 10, 12, 13, 27, 28, 30, 31], [10, 11, 13, 14, 28, 29, 31, 32],
              [12, 13, 15, 16, 30, 31, 33, 34], [13, 14, 16, 17, 31, 32, 34, 35]],
             "im2col of x (2, 2, 3, 3) holding 0..35, 2x2 windows (layout: rows (c, p, q), columns (n, i, j))")
assert_shape(run(im2col, np.zeros((2, 3, 5, 7)), 3, 3, 2, 1), (27, 2 * 3 * 4),
             "im2col, x (2, 3, 5, 7), 3x3 windows, stride 2, pad 1")
# float32 in, float32 out: the chapter trains in float32 (np.empty(shape) alone would be float64).
cols32 = np.asarray(run(im2col, x_nc.astype(np.float32), 2, 2, 1, 0))
assert cols32.dtype == np.float32, gettext("{name} on a float32 x returned dtype {dtype}: keep the input's dtype "
                                           "(float32 in, float32 out)", name="im2col", dtype=cols32.dtype)
cols64 = np.asarray(run(im2col, x_nc, 2, 2, 1, 0))
assert cols64.dtype == np.float64, gettext("{name} on a float64 x returned dtype {dtype}: keep the input's dtype "
                                           "(float64 in, float64 out)", name="im2col", dtype=cols64.dtype)
passed("im2col")
### BEGIN HIDDEN TESTS
from autograder.checks import check_im2col

check_im2col(im2col)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "col2im", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def col2im(cols, x_shape, kh, kw, stride, pad):
    """Fold columns (C * kh * kw, N * Ho * Wo), in im2col's layout, back into an image of shape x_shape
    (N, C, H, W): each entry is added to the pixel it came from (overlaps accumulate), padding cropped.

    dtype: the image has cols' dtype.
    """
    ### BEGIN SOLUTION
    N, C, H, W = x_shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    blocks = cols.reshape(C, kh, kw, N, Ho, Wo)
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            xp[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += \
                blocks[:, p, q].transpose(1, 0, 2, 3)
    return xp[:, :, pad:pad + H, pad:pad + W]
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_col2im", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
# With all-ones columns, col2im counts how many windows cover each pixel.
counts = run(col2im, np.ones((4, 4)), (1, 1, 3, 3), 2, 2, 1, 0)
assert_close(counts, [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]], "col2im of ones (2x2 windows, stride 1): window counts")
counts = run(col2im, np.ones((9, 9)), (1, 1, 5, 5), 3, 3, 2, 1)
assert_close(counts, [[[[1, 2, 1, 2, 1], [2, 4, 2, 4, 2], [1, 2, 1, 2, 1], [2, 4, 2, 4, 2], [1, 2, 1, 2, 1]]]],
             "col2im of ones (3x3 windows, stride 2, pad 1; the padding is cropped off): window counts")
# Two images with two channels, in im2col's layout (rows (c, p, q), columns (n, i, j)): cols holds 0..63.
assert_close(run(col2im, np.arange(64.0).reshape(8, 8), (2, 2, 3, 3), 2, 2, 1, 0),
             [[[[0, 9, 9], [18, 54, 36], [18, 45, 27]], [[32, 73, 41], [82, 182, 100], [50, 109, 59]]],
              [[[4, 17, 13], [26, 70, 44], [22, 53, 31]], [[36, 81, 45], [90, 198, 108], [54, 117, 63]]]],
             "col2im of 0..63 into x_shape (2, 2, 3, 3), 2x2 windows (columns in (n, i, j) order)")
# float32 in, float32 out: the chapter trains in float32 (np.zeros(shape) alone would be float64).
img32 = np.asarray(run(col2im, np.arange(64.0, dtype=np.float32).reshape(8, 8), (2, 2, 3, 3), 2, 2, 1, 0))
assert img32.dtype == np.float32, gettext("col2im of float32 columns returned dtype {dtype}: keep the input's dtype "
                                          "(float32 in, float32 out)", dtype=img32.dtype)
passed("col2im")
### BEGIN HIDDEN TESTS
from autograder.checks import check_col2im

check_col2im(col2im)
### END HIDDEN TESTS

# %% [markdown] key="ch05-conv-fast"
# ## 5. The fast convolution
#
# With the columns, the forward pass is `w.reshape(F, -1) @ cols + b[:, None]`, an `(F, N * Ho * Wo)` matrix whose
# columns are in `(n, i, j)` order: reshape it to `(F, N, Ho, Wo)` and move the filter axis behind the batch axis
# (a reshape alone would mix images and filters). Return **`cache = (x, w, b, stride, pad, cols)`**.
#
# Backwards, with `dout` rearranged the same way into `d2` of shape `(F, N * Ho * Wo)`: `db` sums `d2` over its
# columns, `dw = d2 @ cols.T` (a sum over every position of every image, reshaped to `w.shape`), and
# `dx = col2im(w.reshape(F, -1).T @ d2, ...)`.
#
# Besides matching the loops, these two functions are graded on speed: on `x (8, 3, 16, 16)`, `w (8, 3, 3, 3)` they
# must be **at least 50x faster** than the reference loop versions (the test reports the measured ratio).

# %% nbgrader={"grade_id": "conv_forward_fast", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def conv_forward_fast(x, w, b, stride, pad):
    """Convolution as one matrix product on im2col columns. Same arguments and output as conv_forward_naive.

    Returns (out (N, F, Ho, Wo), cache = (x, w, b, stride, pad, cols)) with cols = im2col(x, KH, KW, stride, pad).
    dtype: the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho = (H + 2 * pad - KH) // stride + 1
    Wo = (W + 2 * pad - KW) // stride + 1
    cols = im2col(x, KH, KW, stride, pad)
    out = (w.reshape(F, -1) @ cols + b.reshape(F, 1)).reshape(F, N, Ho, Wo)
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3)), (x, w, b, stride, pad, cols)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_conv_forward_fast", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
# The problem of the conv_forward_naive test: two images, two channels, two filters, stride 2, pad 1.
x_f = np.array([[[[2, 2, 2, 2], [2, 0, -2, 3], [2, -2, -2, 1], [1, -3, 3, 0]],
                 [[-3, -1, 1, -2], [1, 3, 1, -1], [-2, -1, 1, -3], [3, -3, -1, 3]]],
                [[[0, 1, 0, 3], [0, -3, 2, 1], [-3, -1, 0, -1], [3, 1, -2, -3]],
                 [[0, -2, 3, -2], [1, 0, -2, -1], [0, 2, -2, 0], [1, 2, 0, -3]]]], dtype=float)
w_f = np.array([[[[0, 0, -1], [1, 1, 1], [-1, -2, 1]], [[-2, 0, 1], [2, -1, -1], [0, -1, 2]]],
                [[[-2, 2, 0], [-2, -1, 0], [2, 2, 2]], [[-1, 2, 0], [1, -1, -1], [2, -2, 0]]]], dtype=float)
b_f = np.array([1.0, -2.0])
out_f = [[[[10, 10], [-7, -8]], [[2, -2], [-5, -4]]], [[[0, 0], [-4, -3]], [[-8, -3], [7, 6]]]]
res = run(conv_forward_fast, x_f, w_f, b_f, 2, 1)
assert_returns_tuple(res, 2, "conv_forward_fast", "out, cache")
assert_close(res[0], out_f, "conv_forward_fast on x (2, 2, 4, 4), w (2, 2, 3, 3), stride 2, pad 1")
assert_returns_tuple(res[1], 6, "the cache", "x, w, b, stride, pad, cols")
cols_f = assert_shape(res[1][5], (2 * 3 * 3, 2 * 2 * 2), "cache[5], the im2col columns")
# In im2col's layout the filters times the columns are the output, with columns in (n, i, j) order.
assert_close((w_f.reshape(2, -1) @ cols_f).reshape(2, 2, 2, 2).transpose(1, 0, 2, 3) + b_f[None, :, None, None],
             out_f, "w.reshape(F, -1) @ cache[5] (cache[5] must be im2col(x, KH, KW, stride, pad))")
# float32 in, float32 out: the chapter trains in float32 (a float64 buffer or constant would make it float64).
out32 = np.asarray(run(conv_forward_fast, x_f.astype(np.float32), w_f.astype(np.float32), b_f.astype(np.float32),
                       2, 1)[0])
assert out32.dtype == np.float32, gettext("{name} on float32 inputs returned dtype {dtype}: keep the inputs' dtype "
                                          "(float32 in, float32 out)", name="conv_forward_fast", dtype=out32.dtype)
passed("conv_forward_fast")
### BEGIN HIDDEN TESTS
from autograder.checks import check_conv_forward_fast

check_conv_forward_fast(conv_forward_fast)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "conv_backward_fast", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def conv_backward_fast(dout, cache):
    """Gradients of conv_forward_fast. dout: (N, F, Ho, Wo); cache = (x, w, b, stride, pad, cols).

    Returns (dx (N, C, H, W), dw (F, C, KH, KW), db (F,)).
    dtype: the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    x, w, b, stride, pad, cols = cache
    F, C, KH, KW = w.shape
    d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    db = d2.sum(axis=1)
    dw = (d2 @ cols.T).reshape(w.shape)
    dx = col2im(w.reshape(F, -1).T @ d2, x.shape, KH, KW, stride, pad)
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_conv_backward_fast", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
# Two images, two channels, three filters, 2x2 windows, stride 1 (windows overlap), no padding. The cache is what
# conv_forward_fast returns; cols is im2col(x, 2, 2, 1, 0).
x_g = np.array([[[[0, 3, -3], [-2, 0, -1], [1, -1, 0]], [[1, 1, 0], [-2, -2, 2], [3, 0, 0]]],
                [[[1, -2, 1], [3, -2, 3], [-2, -3, 1]], [[-2, 0, 0], [3, -1, -1], [3, -1, -1]]]], dtype=float)
w_g = np.array([[[[0, 0], [0, 0]], [[-2, 2], [-1, 0]]], [[[-1, 0], [-1, -2]], [[-2, 1], [2, -2]]],
                [[[-1, -2], [1, 1]], [[0, -2], [2, 1]]]], dtype=float)
cols_g = np.array([[0, 3, -2, 0, 1, -2, 3, -2], [3, -3, 0, -1, -2, 1, -2, 3], [-2, 0, 1, -1, 3, -2, -2, -3],
                   [0, -1, -1, 0, -2, 3, -3, 1], [1, 1, -2, -2, -2, 0, 3, -1], [1, 0, -2, 2, 0, 0, -1, -1],
                   [-2, -2, 3, 0, 3, -1, 3, -1], [-2, 2, 0, 0, -1, -1, -1, -1]], dtype=float)
dout_g = np.array([[[[2, -1], [2, -2]], [[-2, -1], [0, -2]], [[-2, -1], [-1, 0]]],
                   [[[1, -2], [0, 2]], [[1, 2], [-2, -1]], [[1, 2], [-2, -2]]]], dtype=float)
grads_g = run(conv_backward_fast, dout_g, (x_g, w_g, np.zeros(3), 1, 0, cols_g))
assert_returns_tuple(grads_g, 3, "conv_backward_fast", "dx, dw, db")
dx_g, dw_g, db_g = grads_g
assert_close(dx_g, [[[[4, 6, 2], [1, 6, 1], [-1, 1, 4]], [[0, 10, -1], [-14, 13, -5], [-4, -3, 4]]],
                    [[[-2, -6, -4], [4, 6, 2], [0, 1, 0]], [[-4, 1, -6], [7, 9, 5], [-8, -6, 0]]]],
             "dx (col2im of w.reshape(F, -1).T @ d2: overlapping windows add up)")
assert_close(dw_g, [[[[-6, 13], [1, -7]], [[-3, -8], [7, -7]]], [[[-10, 0], [12, 10]], [[-6, -3], [2, 2]]],
                    [[[-6, -5], [12, 10]], [[-7, 4], [0, 3]]]],
             "dw (d2 @ cols.T: summed over both images and every position)")
assert_close(db_g, [2, -5, -5], "db")
# float32 in, float32 out: the chapter trains in float32 (a float64 buffer or constant would make it float64).
grads32 = run(conv_backward_fast, dout_g.astype(np.float32), (x_g.astype(np.float32), w_g.astype(np.float32),
                                                             np.zeros(3, np.float32), 1, 0, cols_g.astype(np.float32)))
for name32, g32 in zip(("dx", "dw", "db"), grads32):
    assert np.asarray(g32).dtype == np.float32, gettext(
        "{name} on float32 inputs returned {grad} of dtype {dtype}: keep the inputs' dtype (float32 in, float32 out)",
        name="conv_backward_fast", grad=name32, dtype=np.asarray(g32).dtype)
passed("conv_backward_fast")
### BEGIN HIDDEN TESTS
from autograder.checks import check_conv_backward_fast

check_conv_backward_fast(conv_backward_fast)
### END HIDDEN TESTS

# %% [markdown] key="ch05-gradchecks"
# ## 6. Gradient checks of every layer, in float64
#
# Before training anything, every layer's backward pass is compared with central differences on small float64
# inputs. Relative errors around `1e-8` or below mean the gradient is right; float32 would drown them in rounding
# noise, which is why checks run in float64 and training in float32.
#
# One place needs a looser bound: the **whole network**. Central differences move a weight by `h` in both
# directions; if some pre-activation of the ReLU (or a near-tie in a pooling window) sits within that distance of
# its kink, the two sides see different slopes and the numerical gradient is off, although the analytic one is
# right. This hits the **first convolution's weights and biases** (every one of them feeds thousands of
# pre-activations through the ReLU); the layers after the ReLU are smooth and check as tightly as ever. So we
# accept `1e-5` for the conv parameters in the network check and keep `1e-7` everywhere else.

# %%
rng = np.random.default_rng(5)
x64 = rng.normal(size=(2, 3, 7, 6))
w64, b64 = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
layer_errors = {}
for name, fwd, bwd in [("conv naive", conv_forward_naive, conv_backward_naive),
                       ("conv fast", conv_forward_fast, conv_backward_fast)]:
    out, cache = fwd(x64, w64, b64, 1, 1)
    dout = rng.normal(size=out.shape)
    dx, dw, db = bwd(dout, cache)
    for pname, arr, grad in [("x", x64, dx), ("w", w64, dw), ("b", b64, db)]:
        num = numeric_gradient(lambda fwd=fwd, dout=dout: np.sum(fwd(x64, w64, b64, 1, 1)[0] * dout), arr)
        layer_errors[f"{name} d{pname}"] = rel_error(grad, num)
out, cache = maxpool_forward(x64, 2, 2)
dout = rng.normal(size=out.shape)
layer_errors["maxpool dx"] = rel_error(maxpool_backward(dout, cache),
                                       numeric_gradient(lambda: np.sum(maxpool_forward(x64, 2, 2)[0] * dout), x64))
xa, Wa, ba = rng.normal(size=(3, 5)), rng.normal(size=(5, 4)), rng.normal(size=4)
dout = rng.normal(size=(3, 4))
for pname, arr, grad in zip(["x", "W", "b"], [xa, Wa, ba], affine_backward(dout, affine_forward(xa, Wa, ba)[1])):
    layer_errors[f"affine d{pname}"] = rel_error(grad, numeric_gradient(
        lambda: np.sum(affine_forward(xa, Wa, ba)[0] * dout), arr))
xs, ya = rng.normal(size=(3, 4)), np.array([0, 3, 1])
layer_errors["softmax-CE dscores"] = rel_error(softmax_cross_entropy(xs, ya)[1],
                                               numeric_gradient(lambda: softmax_cross_entropy(xs, ya)[0], xs))
xr = rng.normal(size=(4, 5))
dout = rng.normal(size=(4, 5))
layer_errors["relu dx"] = rel_error(relu_backward(dout, relu_forward(xr)[1]),
                                    numeric_gradient(lambda: np.sum(relu_forward(xr)[0] * dout), xr))
for name, err in layer_errors.items():
    print(f"{name:20s} relative error {err:.1e}")
assert max(layer_errors.values()) < 1e-7, "a layer's gradient disagrees with the numerical gradient"


# %% [markdown] key="ch05-never-converged"
# ## 7. The network that never converged
#
# Now the network from the report. `seed_network` runs one forward and backward pass and returns the loss, the
# gradients and the scores; `conv` chooses the loop or the fast convolution (they compute the same numbers, which
# the tests above checked).

# %%
def init_params(rng, scheme):
    """The seed network's parameters: conv 16 x 3 x 3 x 3, FC 3600 -> 10.

    scheme "report": N(0, 0.01^2) everywhere, as in the report; "he": N(0, 2 / fan_in) (He et al., 2015).
    """
    shapes = {"w1": (16, 3, 3, 3), "w2": (16 * 15 * 15, 10)}
    fan_in = {"w1": 3 * 3 * 3, "w2": 16 * 15 * 15}
    params = {}
    for name, shape in shapes.items():
        std = 0.01 if scheme == "report" else np.sqrt(2.0 / fan_in[name])
        params[name] = rng.normal(0.0, std, size=shape).astype(np.float32)
    params["b1"] = np.zeros(16, np.float32)
    params["b2"] = np.zeros(10, np.float32)
    return params


def seed_network(params, x, y, conv="fast"):
    """Forward and backward pass. x (N, 3, 32, 32), y (N,) -> (loss, grads dict, scores (N, 10))."""
    fwd, bwd = (conv_forward_fast, conv_backward_fast) if conv == "fast" else (conv_forward_naive, conv_backward_naive)
    a, c1 = fwd(x, params["w1"], params["b1"], 1, 0)            # (N, 16, 30, 30)
    h, c2 = relu_forward(a)
    p, c3 = maxpool_forward(h, 2, 2)                             # (N, 16, 15, 15)
    s, c4 = affine_forward(p.reshape(len(x), -1), params["w2"], params["b2"])  # (N, 10)
    loss, ds = softmax_cross_entropy(s, y)
    dp, dw2, db2 = affine_backward(ds, c4)
    da = relu_backward(maxpool_backward(dp.reshape(p.shape), c3), c2)
    _, dw1, db1 = bwd(da, c1)
    return loss, {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}, s


# The whole network, checked in float64 on a small batch (see section 6 for the looser conv bound).
rng = np.random.default_rng(6)
p64 = {k: v.astype(np.float64) for k, v in init_params(rng, "he").items()}
x_net, y_net = rng.normal(size=(2, 3, 32, 32)), np.array([3, 7])
_, g_net, _ = seed_network(p64, x_net, y_net)
for name in ["b2", "w2", "b1", "w1"]:
    arr = p64[name]
    sub = np.unravel_index(rng.choice(arr.size, size=min(arr.size, 20), replace=False), arr.shape)
    num = np.zeros(arr.shape)
    for idx in zip(*sub):  # 20 entries per parameter are enough and keep this fast
        old = arr[idx]
        arr[idx] = old + 1e-6
        lp = seed_network(p64, x_net, y_net)[0]
        arr[idx] = old - 1e-6
        lm = seed_network(p64, x_net, y_net)[0]
        arr[idx] = old
        num[idx] = (lp - lm) / 2e-6
    err = rel_error(g_net[name][sub], num[sub])
    bound = 1e-5 if name in ("w1", "b1") else 1e-7
    print(f"network d{name}: relative error {err:.1e} (bound {bound:.0e})")
    assert err < bound, f"network gradient d{name} is off"


# %% [markdown] key="ch05-shapes"
# ### Shapes at each layer, and what im2col costs
#
# The cell below sends one mini-batch of 64 images through the network and prints each layer's output shape and
# number of parameters. Almost all of the parameters sit in the fully connected layer (3600 inputs times 10 classes),
# not in the convolution, whose 16 filters of 3 x 3 x 3 weights are shared by every position of every image.
#
# It also shows why `conv_forward_fast` is fast and what it pays for it:
#
# - **Why fast.** The loop version makes $N \cdot F \cdot H_o \cdot W_o$ Python iterations (the cell prints how many
#   for this batch), each a NumPy call on 27 numbers, so the time goes into the interpreter, not into arithmetic.
#   im2col makes `kh * kw` = 9 slice copies, and the convolution becomes **one** matrix product, which BLAS runs in
#   compiled code with the data in cache and vector instructions; the cell prints how many multiply-adds per second
#   it reaches.
# - **What it costs.** Every pixel is copied into each window that contains it: up to `kh * kw` = 9 times for a 3x3
#   kernel at stride 1. Without padding, pixels near the border belong to fewer windows, so the columns here are
#   about 7.9x the input (the cell prints the ratio), and the same again for their gradient in the backward pass. For
#   a small network this is a few megabytes; for 256 channels of 56 x 56 at batch 64 it would be gigabytes, which is
#   why libraries build the columns tile by tile or use other algorithms (implicit GEMM, Winograd, FFT).

# %%
def timed(fn):
    """Seconds one call of fn() takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


xs = np.zeros((64, 3, 32, 32), np.float32)
ps = init_params(np.random.default_rng(0), "he")
a_s, cache_s = conv_forward_fast(xs, ps["w1"], ps["b1"], 1, 0)
h_s = relu_forward(a_s)[0]
p_s = maxpool_forward(h_s, 2, 2)[0]
s_s = affine_forward(p_s.reshape(len(xs), -1), ps["w2"], ps["b2"])[0]
rows = [("input", xs.shape, 0), ("conv 16 x 3x3 (w1, b1)", a_s.shape, ps["w1"].size + ps["b1"].size),
        ("ReLU", h_s.shape, 0), ("max-pool 2x2, stride 2", p_s.shape, 0),
        ("flatten", (len(xs), p_s[0].size), 0), ("affine (w2, b2)", s_s.shape, ps["w2"].size + ps["b2"].size)]
print(f"{'layer':24s} {'output shape':20s} {'parameters':>10s}")
for name, shape, n_params in rows:
    print(f"{name:24s} {str(shape):20s} {n_params:10,d}")
print(f"{'total':24s} {'':20s} {sum(r[2] for r in rows):10,d}\n")

cols_s = cache_s[5]
F_s, N_s, (Ho_s, Wo_s) = ps["w1"].shape[0], len(xs), a_s.shape[2:]
mults = ps["w1"][0].size * F_s * N_s * Ho_s * Wo_s
t_cols = min(timed(lambda: im2col(xs, 3, 3, 1, 0)) for _ in range(5))
t_prod = min(timed(lambda: ps["w1"].reshape(F_s, -1) @ cols_s) for _ in range(5))
print(f"loops: {N_s * F_s * Ho_s * Wo_s:,d} Python iterations (N * F * Ho * Wo) for this batch")
print(f"im2col: columns {cols_s.shape} = {cols_s.nbytes / 2**20:.1f} MiB for an input of {xs.nbytes / 2**20:.2f} MiB "
      f"({cols_s.nbytes / xs.nbytes:.1f}x), copied in {t_cols * 1e3:.1f} ms")
print(f"one matrix product: {mults / 1e6:.0f} million multiply-adds in {t_prod * 1e3:.1f} ms "
      f"({mults / t_prod / 1e9:.1f} billion per second)")

# %% [markdown] key="ch05-data"
# ### The data
#
# `load_cifar10(split)` gives `uint8` images `(N, 32, 32, 3)` (height, width, channel); our layers want
# `(N, 3, 32, 32)` floats. In quick mode (under the grader) the demos use small subsets.

# %%
X_train_u8, y_train = load_cifar10("train")
X_test_u8, y_test = load_cifar10("test")
data_source = cifar10_source()
if quick_mode():  # random subsets (the offline test fixture is stored class by class)
    keep_train = np.random.default_rng(0).permutation(len(X_train_u8))[:2000]
    keep_test = np.random.default_rng(1).permutation(len(X_test_u8))[:500]
    X_train_u8, y_train = X_train_u8[keep_train], y_train[keep_train]
    X_test_u8, y_test = X_test_u8[keep_test], y_test[keep_test]
# Hold out a validation split: the recipes and learning rates below are compared on it, and the test set is
# used once, for the final network.
val = np.random.default_rng(2).permutation(len(X_train_u8))[:len(X_train_u8) // 10]
is_val = np.zeros(len(X_train_u8), bool)
is_val[val] = True
X_val_u8, y_val = X_train_u8[is_val], y_train[is_val]
X_train_u8, y_train = X_train_u8[~is_val], y_train[~is_val]
X_train = X_train_u8.transpose(0, 3, 1, 2).astype(np.float32)
X_val = X_val_u8.transpose(0, 3, 1, 2).astype(np.float32)
X_test = X_test_u8.transpose(0, 3, 1, 2).astype(np.float32)
y_train, y_val, y_test = y_train.astype(np.int64), y_val.astype(np.int64), y_test.astype(np.int64)
print(f"train {X_train.shape}, validation {X_val.shape}, test {X_test.shape}; classes: {', '.join(CIFAR10_CLASSES)}")
print(f"data source: {data_source}")

fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
for k, ax in enumerate(axes):
    ax.imshow(X_train_u8[np.flatnonzero(y_train == k)[0]])
    ax.set_title(CIFAR10_CLASSES[k], fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown] key="ch05-reproduce"
# ### Reproducing the report
#
# Raw 0..255 pixels, one image per step, the report's initialisation and learning rate 0.01, loop convolution. A
# few steps are enough to see both problems: the loss, and the clock.

# %%
rng = np.random.default_rng(7)
params = init_params(rng, "report")
steps = 3 if quick_mode() else 10
t0 = time.perf_counter()
for step in range(steps):
    i = rng.integers(len(X_train))
    loss, grads, _ = seed_network(params, X_train[i:i + 1], y_train[i:i + 1], conv="naive")
    for k in params:
        params[k] -= 0.01 * grads[k]
    print(f"step {step}: loss {loss + 0.0:10.4g}   largest |dw1| {np.abs(grads['w1']).max():10.4g}")
per_image = (time.perf_counter() - t0) / steps
print(f"\n{per_image * 1e3:.0f} ms per image with loops -> {per_image * 50000 / 3600:.1f} hours per 50,000-image epoch")

# %% [markdown] key="ch05-first-loss"
# The first loss looks harmless (3.7 when we ran it: with weights of 0.01 even raw pixels give moderate scores), but
# its gradient is multiplied by the raw pixel values, up to 255 (the largest `|dw1|` printed next to it). One step
# with learning rate 0.01 makes the scores huge and the next loss is in the thousands (4850 when we ran it); a few
# such steps throw the filters so far that the ReLUs die (every pre-activation negative): from then on the network
# outputs a constant, the loss sits at $\ln 10 \approx 2.30$ and no gradient reaches the convolution any more
# (`|dw1|` is 0). And each image
# costs tens of milliseconds in Python loops, so an epoch takes hours.
#
# ### What each fix buys
#
# `train` runs the seed network with a given recipe on a fixed number of training images, with the fast
# convolution (same numbers as the loops, checked above: we time the loops separately), and reports the accuracy on
# the **validation** split (10% of the training images, held out). Choosing recipes and learning rates by their test
# accuracy would tune them to the test set, and the test accuracy would no longer be an honest estimate; the test set
# is used once, at the end. Each recipe adds one fix to the previous one:
#
# 1. **the report**: raw pixels, batch 1, N(0, 0.01²) weights, learning rate 0.01;
# 2. **+ input normalisation**: subtract each channel's mean, divide by its standard deviation (from the training set);
# 3. **+ mini-batches** of 64: the gradient is averaged over 64 images: less noise, and one matrix product per step
#    instead of 64;
# 4. **+ He initialisation and a sane learning rate**: weights with variance 2 / fan-in keep the activations' scale
#    through the ReLU; the learning rate is chosen among 0.01, 0.05 and 0.2 by validation accuracy.

# %%
mean = X_train.mean(axis=(0, 2, 3), keepdims=True)
std = X_train.std(axis=(0, 2, 3), keepdims=True)


def scores_of(params, x):
    """The forward pass only: class scores (N, 10) of the batch x (N, 3, 32, 32)."""
    h = relu_forward(conv_forward_fast(x, params["w1"], params["b1"], 1, 0)[0])[0]
    p = maxpool_forward(h, 2, 2)[0]
    return affine_forward(p.reshape(len(p), -1), params["w2"], params["b2"])[0]


def predictions(params, X, normalise=True, batch=500):
    """The predicted class of every image of X, batch by batch."""
    return np.concatenate([scores_of(params, (X[i:i + batch] - mean) / std if normalise else X[i:i + batch])
                           .argmax(axis=1) for i in range(0, len(X), batch)])


def accuracy(params, X, y, normalise):
    return float((predictions(params, X, normalise) == y).mean())


def val_loss(params, normalise, n=500):
    """Mean cross-entropy on the first `n` validation images (forward pass only)."""
    xv = (X_val[:n] - mean) / std if normalise else X_val[:n]
    return float(softmax_cross_entropy(scores_of(params, xv), y_val[:n])[0])


def filter_activity(params, xb):
    """Each conv filter's largest output after the ReLU, per image: (N, 16); a column of zeros is a dead filter."""
    return relu_forward(conv_forward_fast(xb, params["w1"], params["b1"], 1, 0)[0])[0].max(axis=(2, 3))


def train(normalise, batch, init, lr, images, seed=0, monitor=None, momentum=0.0, lr_end=None, flip=False,
          data=None, on_epoch=None):
    """SGD on the seed network for `images` training images; returns (params, losses). With a monitor: the loss
    every 20 updates, the validation loss every 200 (from update 20 on) and the conv filters' activity.

    lr_end: decay the learning rate linearly from lr to lr_end over the run; flip: mirror a random half of each
    batch left-right; data: (X, y) to train on instead of the whole training split; on_epoch(params, losses of the
    epoch) is called after every pass over the data."""
    X_src, y_src = (X_train, y_train) if data is None else data
    rng = np.random.default_rng(seed)
    params = init_params(rng, init)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    losses, seen, step = [], 0, 0
    while seen < images and not (monitor and monitor.stopped):
        order, first = rng.permutation(len(X_src)), len(losses)
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i:i + batch]
            xb = (X_src[idx] - mean) / std if normalise else X_src[idx]
            if flip:  # a mirrored cat is still a cat: new images for free
                mirror = rng.random(len(idx)) < 0.5
                xb[mirror] = xb[mirror, :, :, ::-1]
            loss, grads, _ = seed_network(params, xb, y_src[idx])
            rate = lr if lr_end is None else lr + (lr_end - lr) * seen / images
            for k in params:
                velocity[k] = momentum * velocity[k] - rate * grads[k]
                params[k] += velocity[k]
            losses.append(float(loss))
            if not np.isfinite(loss):  # diverged: the rest of the run would compute nan
                return params, losses
            seen, step = seen + batch, step + 1
            if monitor is not None and step % 20 == 0:
                extra = {"val_loss": val_loss(params, normalise)} if step % 200 == 20 else {}
                monitor.update(seen, updates=step, loss=float(np.mean(losses[-20:])), params=params, grads=grads,
                               activations={"conv1 filters": filter_activity(params, xb)}, **extra)
            if seen >= images or (monitor and monitor.stopped):
                break
        if on_epoch is not None:
            on_epoch(params, losses[first:])
    return params, losses


n_images = 1000 if quick_mode() else 20000
recipes = [
    ("1. the report", dict(normalise=False, batch=1, init="report", lr=0.01)),
    ("2. + normalised inputs", dict(normalise=True, batch=1, init="report", lr=0.01)),
    ("3. + mini-batches of 64", dict(normalise=True, batch=64, init="report", lr=0.01)),
] + [(f"4. + He init, lr {lr}", dict(normalise=True, batch=64, init="he", lr=lr)) for lr in (0.01, 0.05, 0.2)]
print(f"each recipe sees {n_images} training images\n")
val_acc = {}
for name, recipe in recipes:
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging recipe overflows: its loss shows it
        trained, losses = train(images=n_images, **recipe)
        val_acc[name] = accuracy(trained, X_val, y_val, recipe["normalise"])
    seconds = time.perf_counter() - t0
    tail = np.array(losses[-len(losses) // 10 - 1:])
    end = f"{tail.mean():5.3g}" if np.isfinite(tail).all() else "  nan (diverged)"
    print(f"{name:26s} loss {np.mean(losses[:10]):9.3g} -> {end}   "
          f"validation accuracy {val_acc[name]:5.1%}   {seconds:5.1f} s")
best_lr = max((0.01, 0.05, 0.2), key=lambda lr: val_acc[f"4. + He init, lr {lr}"])
print(f"\nlearning rate chosen on the validation split: {best_lr}")

# %% [markdown] key="ch05-fixes-explained"
# Normalising the inputs alone turns a dead network into one that learns; mini-batches make each image cheaper and
# the loss smoother; He initialisation and a larger learning rate make it learn several times faster per image.
#
# ### Learning rate and batch size go together
#
# Compare recipes 2 and 3 in the table: going from one image to mini-batches of 64 at the same learning rate 0.01
# made each step cheaper but did not make the network better per image seen (compare their validation accuracies).
# That is expected. The loss is the **mean** over the batch, so a batch's gradient has about the size of one image's
# gradient, only less noisy: a step with learning rate $\eta$ moves the weights about as far with a batch of 64 as
# with one image, but it uses up 64 images. For the same images seen, batch 64 takes 64 times fewer steps of the
# same size. Many small steps on single images add up to roughly one step of $64\,\eta$ along the mean gradient,
# which gives the **linear scaling rule** (Goyal et al., 2017, *Accurate, Large Minibatch SGD*): when the batch
# grows $k$ times, multiply the learning rate by $k$. It holds up to a point: a learning rate too large for the
# curvature of the loss makes the first steps diverge (large-batch training starts with a few epochs of
# "warm-up" at a smaller rate). The cell below trains He-initialised networks on the same number of images: batches
# of 4 and of 64 at learning rate 0.01, then batch 64 at 0.04 and at 0.16 (the full linear scaling from batch 4:
# 16 times the batch, 16 times the rate). Read the validation accuracy of each row next to how many updates it
# made. When we ran it, batch 64 at 0.01 fell well behind batch 4, the rate 0.04 caught up with it, and 0.16
# diverged: the rule helps up to a point, and that point depends on the network and its initialisation.

# %%
batch_runs = [(4, 0.01), (64, 0.01), (64, 0.04), (64, 0.16)]
print(f"He init, normalised inputs, plain SGD, {n_images} training images per run\n")
print(f"{'batch':>5} {'learning rate':>13} {'updates':>8} {'last loss':>9} {'validation accuracy':>20} {'seconds':>8}")
for batch, lr in batch_runs:
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        trained, losses = train(normalise=True, batch=batch, init="he", lr=lr, images=n_images)
        acc = accuracy(trained, X_val, y_val, True)
    tail = np.array(losses[-len(losses) // 10 - 1:])
    end = f"{tail.mean():9.3g}" if np.isfinite(tail).all() else "      nan"
    print(f"{batch:5d} {lr:13.2f} {len(losses):8d} {end} {acc:20.1%} {time.perf_counter() - t0:8.1f}")

# %% [markdown] key="ch05-vectorisation"
# ### The last fix: vectorisation
#
# The recipes above already ran on `conv_forward_fast`. Here is what that is worth, per mini-batch of 64 and per
# epoch of 50,000 images:

# %%
xb = ((X_train[:64] - mean) / std).astype(np.float32)
params = init_params(np.random.default_rng(8), "he")
t0 = time.perf_counter()
seed_network(params, xb[:2], y_train[:2], conv="naive")
loop_per_image = (time.perf_counter() - t0) / 2
times = []
for _ in range(3 if quick_mode() else 10):
    t0 = time.perf_counter()
    seed_network(params, xb, y_train[:64])
    times.append(time.perf_counter() - t0)
fast_per_image = min(times) / 64
print(f"loops:      {loop_per_image * 1e3:7.2f} ms per image -> {loop_per_image * 50000 / 60:6.0f} min per epoch")
print(f"vectorised: {fast_per_image * 1e3:7.3f} ms per image -> {fast_per_image * 50000:6.1f} s per epoch "
      f"({loop_per_image / fast_per_image:.0f}x faster)")


# %% [markdown] key="ch05-where-time-goes"
# ### Where the time goes
#
# A training step is nine layer calls. The cell below times each of them with **your** layers on one mini-batch of
# 64 (the fastest of 5 runs each) and prints its share of the step. Every layer should be a few milliseconds at
# most; one that is far above the others (a Python loop over images or windows, `np.add.at`, or a max-pool that
# reduces over a strided window view, which costs 20-100x the two lines of `np.maximum` over the kernel offsets)
# is where your training time goes. The grader times the same step with your layer in place of the reference one
# and asks that it stay within 5x of the reference step, that no layer loops over the images of a batch, that
# `maxpool_forward` stay within 10x of the reference max-pool (a few element-wise maxima: a max over a window view
# is 25-100x), and that `maxpool_backward` stay within 30x of the reference on a few large images (4096 windows per
# channel; a Python loop over the windows is 150-480x there); its messages print the ratios it measured. The table here
# shows the smaller losses those rules let through: a `maxpool_backward` that scatters with `np.add.at` is 4-11x the
# reference and passes, and so does a correct `np.bincount` scatter (benchmarks/bench_step_rule.py).

# %%
def layer_times(params, xb, yb, runs=5):
    """{layer: fastest of `runs` seconds} of one training step of the seed network on the batch xb (N, 3, 32, 32)."""
    a, c1 = conv_forward_fast(xb, params["w1"], params["b1"], 1, 0)
    h, c2 = relu_forward(a)
    p, c3 = maxpool_forward(h, 2, 2)
    s, c4 = affine_forward(p.reshape(len(xb), -1), params["w2"], params["b2"])
    _, ds = softmax_cross_entropy(s, yb)
    dp = affine_backward(ds, c4)[0].reshape(p.shape)
    dh = maxpool_backward(dp, c3)
    da = relu_backward(dh, c2)
    calls = {"conv_forward_fast": lambda: conv_forward_fast(xb, params["w1"], params["b1"], 1, 0),
             "relu_forward": lambda: relu_forward(a),
             "maxpool_forward": lambda: maxpool_forward(h, 2, 2),
             "affine_forward": lambda: affine_forward(p.reshape(len(xb), -1), params["w2"], params["b2"]),
             "softmax_cross_entropy": lambda: softmax_cross_entropy(s, yb),
             "affine_backward": lambda: affine_backward(ds, c4),
             "maxpool_backward": lambda: maxpool_backward(dp, c3),
             "relu_backward": lambda: relu_backward(dh, c2),
             "conv_backward_fast": lambda: conv_backward_fast(da, c1)}
    out = {}
    for name, fn in calls.items():
        runs_s = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            runs_s.append(time.perf_counter() - t0)
        out[name] = min(runs_s)
    return out


step_times = layer_times(params, xb, y_train[:64])
step_total = sum(step_times.values())
for name, seconds in sorted(step_times.items(), key=lambda kv: -kv[1]):
    print(f"{name:>22}: {seconds * 1e3:7.2f} ms  {seconds / step_total:6.1%}")
print(f"{'one step (batch 64)':>22}: {step_total * 1e3:7.2f} ms -> {step_total * len(X_train) / 64:.1f} s per epoch "
      f"of {len(X_train)} images")

# %% [markdown] key="ch05-all-fixes"
# ### All fixes together
#
# Mini-batches of 64, normalised inputs, He initialisation, SGD with momentum 0.9, and two more things that every
# CIFAR recipe uses:
#
# - **a decaying learning rate**: it starts at 0.02 and falls linearly to 0.001 by the last update. Early on, large
#   steps cross the loss landscape quickly; later, the noise of mini-batch gradients keeps a large step bouncing
#   around a minimum, and smaller steps let the weights settle into it.
# - **random horizontal flips** (`flip=True` in `train`): each image of a batch is mirrored left-right with
#   probability 1/2. A mirrored horse is still a horse, so the network sees new images for free and memorises the
#   training set less (the overfitting section below shows what that is worth).
#
# In full mode this trains for 12 epochs. On the full CIFAR-10 this recipe reaches over 60% test accuracy (the cell
# prints the accuracy and how many minutes it trained; `benchmarks/RESULTS.md` records what we measured, with the
# load of the machine); on the 10,000-image offline subset it reaches less (fewer images to learn from). The
# monitor shows the loss, the validation loss (500 validation images every 200 updates), the fraction of dead conv
# filters (a filter whose ReLU output is 0 for every image of the batch) and the weight and gradient histograms
# while it runs, and the stop button ends training early (the line under it says what the monitor cost). Its x axis
# counts images seen (64 per update); its update/weight panel is per update (`updates=step`), so it can be compared
# with the usual rule of thumb: a weight should change by "somewhere around 1e-3" of its size per update
# (Karpathy's CS231n notes; the green band is 1e-4..1e-2). The cell prints the median ratio it measured. With momentum the step actually taken is
# the velocity (about 10x the learning rate times the gradient). A ratio well below the band would mean slow
# learning, one above it a learning rate that is too high; a network can still train well somewhat outside it (the
# band is a rule of thumb, not a law), so read it together with the loss curve.

# %%
epochs = 1 if quick_mode() else 12
images = epochs * (len(X_train) // 64 * 64)  # whole batches of 64: each epoch ends on an update
train_sample = np.random.default_rng(3).permutation(len(X_train))[:len(X_val)]  # as many as the validation split
curves = {"train loss": [], "train accuracy": [], "validation accuracy": []}


def record_epoch(params, epoch_losses):
    """After each epoch: its mean training loss, and the accuracy on training images and on validation images."""
    curves["train loss"].append(float(np.mean(epoch_losses)))
    curves["train accuracy"].append(accuracy(params, X_train[train_sample], y_train[train_sample], True))
    curves["validation accuracy"].append(accuracy(params, X_val, y_val, True))


t0 = time.perf_counter()
with TrainingMonitor("seed network on CIFAR-10", metrics=["loss", "val_loss"], x_label="images seen") as monitor:
    final, losses = train(normalise=True, batch=64, init="he", lr=0.02, lr_end=0.001, flip=True, momentum=0.9,
                          images=images, monitor=monitor, on_epoch=record_epoch)
train_minutes = (time.perf_counter() - t0) / 60
for name, points in monitor.stats.get("update_ratio", {}).items():  # empty under the grader (no statistics)
    print(f"median update/weight ratio of {name}: {np.median([r for _, r in points]):.1e} per update")
print(f"{len(losses)} steps ({epochs} epochs of {len(X_train)} images) in {train_minutes:.1f} min; "
      f"validation accuracy {accuracy(final, X_val, y_val, True):.1%}")
test_acc = accuracy(final, X_test, y_test, True)  # the one use of the test set in this chapter
print(f"test accuracy {test_acc:.1%} on {len(X_test)} test images of {data_source}")
print(f"RESULT ch05.notebook_test_accuracy={test_acc:.3f}")

# %% [markdown] key="ch05-curves"
# ### Training and validation curves: is it overfitting?
#
# A network *overfits* when it keeps getting better on the images it trains on while getting no better, or worse,
# on images it has never seen. The training cell recorded, after every epoch, the mean training loss and the
# accuracy on as many training images as the validation split holds, and on the validation split. The cell below
# plots them and prints the gap between training and validation accuracy after the last epoch.
#
# To see overfitting clearly, the second part trains on a tenth of the training split for many epochs, once
# without and once with random flips, and prints the same two accuracies per epoch. With few images the network
# (36,010 weights in its fully connected layer alone, see the shapes table) soon classifies its training images far
# better than new ones: it has started to memorise them. The usual remedies are more data, augmentation such as
# the flips (compare the two runs' gaps), a penalty on large weights (weight decay), and stopping when the
# validation accuracy stops improving, which is what the validation split is for. The fewer the training images,
# the sooner and wider the gap opens: on the 10,000-image offline subset (9,000 training images) the run above
# already shows it; compare the gap it printed on your data with the small run below.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
epochs_seen = np.arange(1, len(curves["train loss"]) + 1)
axes[0].plot(epochs_seen, curves["train loss"], "o-", label="training loss (mean of the epoch)")
axes[0].set_xlabel("epoch")
axes[0].legend()
for name in ("train accuracy", "validation accuracy"):
    axes[1].plot(epochs_seen, curves[name], "o-", label=name)
axes[1].set_xlabel("epoch")
axes[1].legend()
plt.show()
if curves["train loss"]:  # empty when the training cell above stopped at an exercise not written yet
    gap = curves["train accuracy"][-1] - curves["validation accuracy"][-1]
    print(f"after {len(epochs_seen)} epochs: training accuracy {curves['train accuracy'][-1]:.1%}, validation "
          f"accuracy {curves['validation accuracy'][-1]:.1%} (gap {gap:+.1%})")

few = np.random.default_rng(4).permutation(len(X_train))[:len(X_train) // 10]
few_epochs = 2 if quick_mode() else 15
print(f"\n{len(few)} training images, {few_epochs} epochs, lr 0.01, momentum 0.9")
for flip in (False, True):
    table = []
    train(normalise=True, batch=64, init="he", lr=0.01, momentum=0.9, images=few_epochs * (len(few) // 64 * 64),
          flip=flip, data=(X_train[few], y_train[few]),
          on_epoch=lambda params, epoch_losses, table=table: table.append(
              (accuracy(params, X_train[few], y_train[few], True), accuracy(params, X_val, y_val, True))))
    print(f"{'with' if flip else 'without'} flips: " + ", ".join(
        f"{tr:.0%}/{va:.0%}" for tr, va in table) + " (training/validation accuracy per epoch)")
    print(f"    best validation accuracy {max(va for _, va in table):.1%} after epoch "
          f"{1 + int(np.argmax([va for _, va in table]))}; last epoch: training {table[-1][0]:.1%}, "
          f"validation {table[-1][1]:.1%}")

# %% [markdown] key="ch05-confusion"
# ### Which classes, and which mistakes
#
# One accuracy number hides which classes the network gets right. The **confusion matrix** counts, for every true
# class (row), how many test images were predicted as each class (column): the diagonal holds the correct
# predictions, everything else is a mistake. The cell prints each class's accuracy and the three most frequent
# mistakes. Look at which classes are confused with which: a network that sees only colour and small edges tends to
# mix up classes that look alike at 32 x 32 pixels (animals with animals, vehicles with vehicles) rather than a cat
# with a truck.

# %%
pred = predictions(final, X_test)
confusion = np.zeros((10, 10), int)
np.add.at(confusion, (y_test, pred), 1)
per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
print("test accuracy per class:", ", ".join(f"{CIFAR10_CLASSES[k]} {per_class[k]:.0%}" for k in np.argsort(-per_class)))
mistakes = confusion - np.diag(confusion.diagonal())
for flat in np.argsort(-mistakes, axis=None)[:3]:
    true, guess = np.unravel_index(flat, mistakes.shape)
    print(f"{mistakes[true, guess]:5d} {CIFAR10_CLASSES[true]} images predicted as {CIFAR10_CLASSES[guess]}")
fig, ax = plt.subplots(figsize=(5.5, 5))
ax.imshow(confusion, cmap="Blues")
ax.set_xticks(range(10), CIFAR10_CLASSES, rotation=90)
ax.set_yticks(range(10), CIFAR10_CLASSES)
ax.set_xlabel("predicted class")
ax.set_ylabel("true class")
for (true, guess), count in np.ndenumerate(confusion):
    ax.text(guess, true, count, ha="center", va="center", fontsize=7,
            color="white" if count > confusion.max() / 2 else "black")
plt.show()


# %% [markdown] key="ch05-filters"
# ### The learned filters
#
# The cell below draws the 16 first-layer filters, each scaled to 0..1, enlarged without smoothing. Do not expect
# the neat oriented edges of pictures of AlexNet's first layer: those filters are 11 x 11 pixels and trained for
# days. A 3 x 3 x 3 filter has 27 numbers and sees a 3 x 3 patch, room for little more than a colour and a
# brightness step in one direction, and scaling each filter to 0..1 makes even a small colour difference look like
# a random tile. So the second row splits each filter into its **grey part** (the mean over the three colour
# channels: a pattern of brightness) and the third row its **colour part** (what is left). The cell prints how much
# of each filter's weight is grey, next to the same figure for the random filters it started from: on average a
# random filter has a third of its energy in the grey part; a filter that has learned a brightness edge has more.

# %%
def grey_share(w):
    """Share of each filter's squared weights (F, C, KH, KW) in its mean over channels (a brightness pattern)."""
    grey = np.broadcast_to(w.mean(axis=1, keepdims=True), w.shape)
    return (grey ** 2).sum(axis=(1, 2, 3)) / (w ** 2).sum(axis=(1, 2, 3))


w_learned = final["w1"].astype(np.float64)
w_start = init_params(np.random.default_rng(0), "he")["w1"].astype(np.float64)  # train(seed=0) started here
parts = [w_learned, np.broadcast_to(w_learned.mean(axis=1, keepdims=True), w_learned.shape),
         w_learned - w_learned.mean(axis=1, keepdims=True)]
fig, axes = plt.subplots(3, 16, figsize=(12, 2.6))
for row, (part, label) in enumerate(zip(parts, ["filter", "grey part", "colour part"])):
    img = part.transpose(0, 2, 3, 1)
    img = (img - img.min(axis=(1, 2, 3), keepdims=True)) / np.maximum(np.ptp(img, axis=(1, 2, 3), keepdims=True),
                                                                      1e-12)
    for f, ax in enumerate(axes[row]):
        ax.imshow(img[f], interpolation="nearest")
        ax.axis("off")
    axes[row, 0].set_title(label, fontsize=8, loc="left")
plt.show()
print("grey share of each learned filter:", " ".join(f"{g:.0%}" for g in grey_share(w_learned)))
print(f"mean grey share: learned {grey_share(w_learned).mean():.0%}, at initialisation "
      f"{grey_share(w_start).mean():.0%}")

# %% [markdown] key="ch05-next"
# ## What's next
#
# The convolution you wrote is the same operation as in any deep-learning library. How fast your version is, the
# "Where the time goes" table shows; the course's reference layers take about as long per training step as
# PyTorch's on one CPU thread (`benchmarks/bench_cnn.py --only step`, figures in `benchmarks/RESULTS.md`), and
# layers that pass the checks can be a few times slower than that. Chapter 6 uses these building blocks for
# a different kind of output: instead of a class, a whole image (super-resolution).
