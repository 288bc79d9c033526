"""Chapter 5 (CNN on CIFAR-10): what the generic check/corpus tests don't cover.

Gradient checks of every layer of the reference in float64, shapes and dtypes through the seed network, the loss
going down on the offline fixture, and (if torch is installed) agreement with PyTorch. No timing here: speed
figures live in benchmarks/bench_cnn.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.chapters.ch05_cnn_cifar import reference as ref

CONFIGS = [  # x shape, w shape, stride, pad
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0),
    ((2, 2, 8, 7), (3, 2, 3, 2), 2, 1),
    ((1, 3, 5, 9), (2, 3, 2, 4), 3, 2),
    ((3, 1, 6, 6), (2, 1, 1, 1), 1, 0),
]


def numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


def rel(a, b):
    return np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b))


@pytest.mark.parametrize("fast", [False, True], ids=["naive", "fast"])
@pytest.mark.parametrize("xs,ws,stride,pad", CONFIGS)
def test_conv_gradients_float64(fast, xs, ws, stride, pad):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
    fwd, bwd = (ref.conv_forward_fast, ref.conv_backward_fast) if fast else (ref.conv_forward_naive,
                                                                             ref.conv_backward_naive)
    out, cache = fwd(x, w, b, stride, pad)
    dout = rng.normal(size=out.shape)
    grads = bwd(dout, cache)
    for arr, grad in zip((x, w, b), grads):
        num = numeric_grad(lambda: np.sum(fwd(x, w, b, stride, pad)[0] * dout), arr)
        assert grad.shape == arr.shape
        assert rel(grad, num) < 1e-8


def test_conv_param_grads_match_backward():
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(3, 2, 7, 7)), rng.normal(size=(4, 2, 3, 3)), rng.normal(size=4)
    out, cache = ref.conv_forward_fast(x, w, b, 2, 1)
    dout = rng.normal(size=out.shape)
    _, dw, db = ref.conv_backward_fast(dout, cache)
    dw2, db2 = ref.conv_param_grads(dout, cache)
    np.testing.assert_allclose(dw2, dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db2, db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size,stride", [(2, 2), (3, 2), (3, 1), (2, 3)])
def test_maxpool_gradient_float64(size, stride):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 8, 7))  # continuous values: no ties, so the gradient is well defined
    out, cache = ref.maxpool_forward(x, size, stride)
    assert out.shape == (2, 3, (8 - size) // stride + 1, (7 - size) // stride + 1)
    dout = rng.normal(size=out.shape)
    num = numeric_grad(lambda: np.sum(ref.maxpool_forward(x, size, stride)[0] * dout), x)
    assert rel(ref.maxpool_backward(dout, cache), num) < 1e-8


def test_maxpool_ties_go_to_first_max_only():
    x = np.zeros((1, 1, 4, 4))
    out, cache = ref.maxpool_forward(x, 2, 2)
    dx = ref.maxpool_backward(np.ones_like(out), cache)
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)
    # Overlapping windows: a pixel that is the (first) maximum of several windows collects all of them.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1
    out, cache = ref.maxpool_forward(x, 2, 1)
    dx = ref.maxpool_backward(np.full(out.shape, 2.0), cache)
    assert dx[0, 0, 1, 1] == 8 and dx.sum() == 8


@pytest.mark.parametrize("xs,ws,stride,pad", CONFIGS)
def test_im2col_col2im_adjoint_and_layout(xs, ws, stride, pad):
    rng = np.random.default_rng(3)
    x = rng.normal(size=xs)
    _, _, KH, KW = ws
    cols = ref.im2col(x, KH, KW, stride, pad)
    N, C, H, W = xs
    Ho, Wo = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    assert cols.shape == (C * KH * KW, N * Ho * Wo)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for _ in range(20):  # the documented layout, entry by entry
        n, c, p, q, i, j = (int(rng.integers(k)) for k in (N, C, KH, KW, Ho, Wo))
        assert cols[(c * KH + p) * KW + q, (n * Ho + i) * Wo + j] == xp[n, c, i * stride + p, j * stride + q]
    other = rng.normal(size=cols.shape)
    np.testing.assert_allclose(np.sum(cols * other), np.sum(x * ref.col2im(other, xs, KH, KW, stride, pad)),
                               rtol=1e-10)


def test_seed_network_shapes_and_float32():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 3, 32, 32)).astype(np.float32)
    w = rng.normal(size=(16, 3, 3, 3)).astype(np.float32)
    a, cache = ref.conv_forward_fast(x, w, np.zeros(16, np.float32), 1, 0)
    assert a.shape == (5, 16, 30, 30) and a.dtype == np.float32
    p, pcache = ref.maxpool_forward(np.maximum(a, 0), 2, 2)
    assert p.shape == (5, 16, 15, 15) and p.reshape(5, -1).shape[1] == 3600 and p.dtype == np.float32
    dx, dw, db = ref.conv_backward_fast(ref.maxpool_backward(np.ones_like(p), pcache), cache)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, (16,))
    assert dx.dtype == dw.dtype == np.float32


def test_bad_shapes_raise_clear_errors():
    x = np.zeros((1, 3, 5, 5))
    with pytest.raises(ValueError, match="channels"):
        ref.conv_forward_fast(x, np.zeros((2, 4, 3, 3)), np.zeros(2), 1, 0)
    with pytest.raises(ValueError, match="larger than the padded input"):
        ref.im2col(x, 7, 7, 1, 0)
    with pytest.raises(ValueError, match="col2im|cols has shape"):
        ref.col2im(np.zeros((5, 5)), x.shape, 3, 3, 1, 0)


def _seed_step(params, x, y):
    a, c1 = ref.conv_forward_fast(x, params["w1"], params["b1"], 1, 0)
    p, c3 = ref.maxpool_forward(np.maximum(a, 0), 2, 2)
    f = p.reshape(len(x), -1)
    s = f @ params["w2"] + params["b2"]
    z = s - s.max(axis=1, keepdims=True)
    prob = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.log(prob[np.arange(len(x)), y]).mean()
    ds = prob
    ds[np.arange(len(x)), y] -= 1
    ds /= len(x)
    da = ref.maxpool_backward((ds @ params["w2"].T).reshape(p.shape), c3) * (a > 0)
    _, dw1, db1 = ref.conv_backward_fast(da, c1)
    return loss, {"w1": dw1, "b1": db1, "w2": f.T @ ds, "b2": ds.sum(axis=0)}


def test_loss_decreases_on_fixture(fixtures_env):
    from course.data import load_cifar10

    X, y = load_cifar10("train")
    X = X[:1024].transpose(0, 3, 1, 2).astype(np.float32)
    y = y[:1024].astype(np.int64)
    X = (X - X.mean(axis=(0, 2, 3), keepdims=True)) / X.std(axis=(0, 2, 3), keepdims=True)
    rng = np.random.default_rng(5)
    params = {"w1": (rng.normal(size=(16, 3, 3, 3)) * np.sqrt(2 / 27)).astype(np.float32),
              "b1": np.zeros(16, np.float32),
              "w2": (rng.normal(size=(3600, 10)) * np.sqrt(2 / 3600)).astype(np.float32),
              "b2": np.zeros(10, np.float32)}
    losses = []
    for _ in range(3):
        order = rng.permutation(len(X))
        for i in range(0, len(X), 64):
            idx = order[i:i + 64]
            loss, grads = _seed_step(params, X[idx], y[idx])
            for k in params:
                params[k] -= 0.05 * grads[k]
            losses.append(float(loss))
    assert np.all(np.isfinite(losses))
    first, last = np.mean(losses[:8]), np.mean(losses[-8:])
    assert last < first - 0.2, f"loss did not go down: {first:.3f} -> {last:.3f}"


def test_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(6)
    for xs, ws, stride, pad in CONFIGS:
        x, w, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
        out, cache = ref.conv_forward_fast(x, w, b, stride, pad)
        tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
        tout = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
        np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-10)
        dout = rng.normal(size=out.shape)
        tout.backward(torch.tensor(dout))
        for got, want in zip(ref.conv_backward_fast(dout, cache), (tx, tw, tb)):
            np.testing.assert_allclose(got, want.grad.numpy(), rtol=1e-10, atol=1e-10)
    for size, stride in [(2, 2), (3, 1), (3, 2)]:
        x = rng.normal(size=(2, 3, 8, 7))
        out, cache = ref.maxpool_forward(x, size, stride)
        tx = torch.tensor(x, requires_grad=True)
        tout = F.max_pool2d(tx, size, stride)
        np.testing.assert_array_equal(out, tout.detach().numpy())
        dout = rng.normal(size=out.shape)
        tout.backward(torch.tensor(dout))
        np.testing.assert_allclose(ref.maxpool_backward(dout, cache), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
