"""Shared pieces of the labelled monitor runs: data subsets, a small batch-first MLP, losses, a training loop.

Every run feeds a real :class:`course.monitor.TrainingMonitor` in ``static`` mode (statistics sampled on the
monitor's own schedule, as in JupyterLab; nothing is drawn because ``close()`` is never called).
"""

from __future__ import annotations

import functools

import numpy as np

from course.data import load_cifar10, load_mnist
from course.data.fixtures import load_fixture
from course.monitor import TrainingMonitor


def monitor(title, metrics=("loss",), **kw) -> TrainingMonitor:
    return TrainingMonitor(title, metrics=list(metrics), mode="static", stop_button=False, **kw)


@functools.lru_cache(maxsize=None)
def mnist(n=2000, raw=False):
    """n MNIST training images (n, 784) float64 in 0..1 (0..255 when raw) and labels (n,), plus 500 validation."""
    x, y = load_mnist("train")
    x = x[: n + 500].reshape(-1, 784).astype(np.float64) / (1.0 if raw else 255.0)
    y = y[: n + 500]
    return x[:n], y[:n].astype(int), x[n:], y[n:].astype(int)


@functools.lru_cache(maxsize=None)
def cifar(n=500):
    """n CIFAR-10 images (n, 3, 32, 32) float64 in 0..255 and labels (n,)."""
    x, y = load_cifar10("train")
    return x[:n].transpose(0, 3, 1, 2).astype(np.float64), y[:n].astype(int)


@functools.lru_cache(maxsize=None)
def sr_pairs(n=256):
    """n Kodak tiles: inputs (n, 192) = 8x8x3 box-downsampled 32x32 crops, targets (n, 768) = 16x16x3, in 0..1."""
    hr = load_fixture("sr-patches")["hr"][:n, 16:48, 16:48].astype(np.float64) / 255.0
    y = hr.reshape(n, 16, 2, 16, 2, 3).mean(axis=(2, 4))
    x = hr.reshape(n, 8, 4, 8, 4, 3).mean(axis=(2, 4))
    return x.reshape(n, -1), y.reshape(n, -1)


def init(sizes, rng, scheme="he", dtype=np.float64):
    """Weights W1.. (in, out) and biases b1.. for the layer sizes; scheme he, xavier, small (0.01), randn, zero_last."""
    params = {}
    for i, (a, b) in enumerate(zip(sizes, sizes[1:]), 1):
        w = rng.standard_normal((a, b))
        scale = {"he": np.sqrt(2 / a), "xavier": np.sqrt(1 / a), "small": 0.01, "randn": 1.0}[
            "he" if scheme == "zero_last" else scheme]
        params[f"W{i}"] = (w * scale).astype(dtype)
        params[f"b{i}"] = np.zeros(b, dtype)
    if scheme == "zero_last":
        params[f"W{len(sizes) - 1}"][:] = 0
    return params


class MLP:
    """Dense net, batch-first. hidden: "relu", "tanh" or "sigmoid"; out: "linear" or "relu";
    through_dw: send the error back through dW instead of W (a fault)."""

    def __init__(self, params, hidden="relu", out="linear", through_dw=False):
        self.p, self.hidden, self.out, self.through_dw = params, hidden, out, through_dw
        self.L = sum(k.startswith("W") for k in params)

    def act(self, z, kind):
        if kind == "relu":
            return np.maximum(z, 0)
        if kind == "tanh":
            return np.tanh(z)
        return 1 / (1 + np.exp(-z))

    def dact(self, z, a, kind):
        if kind == "relu":
            return (z > 0).astype(z.dtype)
        if kind == "tanh":
            return 1 - a * a
        return a * (1 - a)

    def forward(self, x):
        a, cache = x, []
        for i in range(1, self.L + 1):
            z = a @ self.p[f"W{i}"] + self.p[f"b{i}"]
            kind = self.hidden if i < self.L else self.out
            new = z if kind == "linear" else self.act(z, kind)
            cache.append((a, z, new, kind))
            a = new
        return a, cache

    def backward(self, cache, dout):
        grads, d = {}, dout
        for i in range(self.L, 0, -1):
            a_prev, z, a, kind = cache[i - 1]
            if kind != "linear":
                d = d * self.dact(z, a, kind)
            grads[f"W{i}"], grads[f"b{i}"] = a_prev.T @ d, d.sum(axis=0)
            if i > 1:
                d = d @ (grads[f"W{i}"] if self.through_dw else self.p[f"W{i}"]).T
        return grads

    def hidden_acts(self, cache):
        return {f"h{i}": c[2] for i, c in enumerate(cache[:-1], 1) if c[3] == "relu"}


def softmax_ce(scores, y, stable=True):
    """Mean cross-entropy and its gradient wrt the scores (divided by the batch size)."""
    s = scores - scores.max(axis=1, keepdims=True) if stable else scores
    e = np.exp(s)
    p = e / e.sum(axis=1, keepdims=True)
    m = len(y)
    loss = float(-np.log(p[np.arange(m), y]).mean())
    d = p.copy()
    d[np.arange(m), y] -= 1
    return loss, d / m


def mse(out, y):
    """Mean squared error over all entries and its gradient."""
    diff = out - y
    return float(np.mean(diff * diff)), 2 * diff / diff.size


class Optimizer:
    """sgd, momentum (0.9) or adam; ``lr`` a number or a function of the update count."""

    def __init__(self, kind="sgd", lr=0.1):
        self.kind, self.lr, self.t, self.v, self.s = kind, lr, 0, {}, {}

    def rate(self):
        return self.lr(self.t) if callable(self.lr) else self.lr

    def step(self, params, grads, keys=None):
        lr = self.rate()
        self.t += 1
        for k in keys or params:
            g = grads[k]
            if self.kind == "sgd":
                params[k] -= lr * g
            elif self.kind == "momentum":
                self.v[k] = 0.9 * self.v.get(k, 0) - lr * g
                params[k] += self.v[k]
            else:
                self.v[k] = 0.9 * self.v.get(k, 0) + 0.1 * g
                self.s[k] = 0.999 * self.s.get(k, 0) + 0.001 * g * g
                vh, sh = self.v[k] / (1 - 0.9 ** self.t), self.s[k] / (1 - 0.999 ** self.t)
                params[k] -= lr * vh / (np.sqrt(sh) + 1e-8)


def train(mon, net, x, y, steps, batch, opt, loss="ce", val=None, seed=0, grad_hook=None, keys=None,
          stable=True, stop_on_nan=True, every=1, outputs=True, after_step=False):
    """The loop a student writes: forward, loss, backward, monitor.update, update (``after_step``: the update
    first, then monitor.update with the new weights, the old gradients and loss). val = (xv, yv): val_loss
    once per pass over x. grad_hook(grads) -> grads changes what is applied and shown (faults)."""
    rng = np.random.default_rng(seed)
    n, order, pos = len(x), rng.permutation(len(x)), 0
    per_epoch = max(1, n // batch)
    with np.errstate(all="ignore"):
        for step in range(steps):
            if pos + batch > n:
                order, pos = rng.permutation(n), 0
            idx = order[pos:pos + batch]
            pos += batch
            out, cache = net.forward(x[idx])
            if loss == "ce":
                value, dout = softmax_ce(out, y[idx], stable)
            else:
                value, dout = mse(out, y[idx])
            grads = net.backward(cache, dout)
            if grad_hook is not None:
                grads = grad_hook(grads)
            extra = {}
            if val is not None and step % per_epoch == per_epoch - 1:
                vo, _ = net.forward(val[0])
                extra["val_loss"] = softmax_ce(vo, val[1])[0] if loss == "ce" else mse(vo, val[1])[0]
            if after_step:
                opt.step(net.p, grads, keys)
            if step % every == 0:
                mon.update(step, loss=value, params=net.p, grads=grads, activations=net.hidden_acts(cache),
                           outputs=out if outputs else None, **extra)
            if stop_on_nan and not np.isfinite(value):
                break
            if not after_step:
                opt.step(net.p, grads, keys)
    return mon
