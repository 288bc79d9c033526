"""Healthy training runs: the monitor must stay silent at warning and error level on every one of them."""

from __future__ import annotations

import numpy as np

from .common import MLP, Optimizer, cifar, init, mnist, monitor, mse, softmax_ce, sr_pairs, train


def _mnist_net(seed, sizes=(784, 64, 10), scheme="he", **kw):
    return MLP(init(list(sizes), np.random.default_rng(seed), scheme), **kw)


def batch256_sgd():
    x, y, xv, yv = mnist()
    return train(monitor("batch 256 SGD"), _mnist_net(0), x, y, 150, 256, Optimizer("sgd", 0.2), val=(xv, yv))


def batch1_sgd():
    x, y, *_ = mnist()
    return train(monitor("batch 1 SGD"), _mnist_net(1), x, y, 1500, 1, Optimizer("sgd", 0.01))


def batch32_noisy_sgd():
    x, y, xv, yv = mnist()
    return train(monitor("batch 32 SGD"), _mnist_net(2), x, y, 600, 32, Optimizer("sgd", 0.1), val=(xv, yv))


def momentum():
    x, y, *_ = mnist()
    return train(monitor("momentum"), _mnist_net(3), x, y, 400, 64, Optimizer("momentum", 0.02))


def adam():
    x, y, *_ = mnist()
    return train(monitor("adam"), _mnist_net(4, (784, 64, 32, 10)), x, y, 400, 64, Optimizer("adam", 1e-3))


def lr_decay_with_bumps():
    x, y, *_ = mnist()
    lr = lambda t: (0.1 if t < 150 else 0.03 if t < 300 else 0.01) * (3 if t % 100 < 5 else 1)  # noqa: E731
    return train(monitor("lr decay with bumps"), _mnist_net(5), x, y, 450, 64, Optimizer("sgd", lr))


def warm_restart():
    x, y, *_ = mnist()
    lr = lambda t: 0.001 + 0.1 * (1 + np.cos(np.pi * (t % 250) / 250)) / 2  # noqa: E731
    return train(monitor("cosine with a warm restart"), _mnist_net(6), x, y, 500, 64,
                 Optimizer("momentum", lambda t: lr(t) / 5))


def plateau_then_drop():
    """Sigmoid net on XOR-like data from a small init: the loss sits near ln 2 for a while, then drops."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (256, 2))
    y = ((x[:, 0] * x[:, 1]) > 0).astype(int)
    net = MLP(init([2, 8, 2], rng, "xavier"), hidden="tanh")
    net.p["W1"] *= 0.1
    return train(monitor("plateau then drop"), net, x, y, 600, 256, Optimizer("sgd", 0.5))


def few_dead_units():
    x, y, *_ = mnist()
    net = _mnist_net(8)
    net.p["b1"][:6] = -50.0  # 6 of 64 units never fire
    return train(monitor("a few dead units"), net, x, y, 300, 64, Optimizer("sgd", 0.1))


def long_full_batch_regression():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((64, 4))
    y = np.sin(x @ rng.standard_normal((4, 2)))
    net = MLP(init([4, 16, 2], rng, "he"), hidden="tanh")
    return train(monitor("long run"), net, x, y, 5000, 64, Optimizer("sgd", 0.05), loss="mse")


def full_batch_adam_after_step():
    """Full batch, Adam, monitor.update() after the update (new weights, the gradients and loss from before)."""
    rng = np.random.default_rng(19)
    x = rng.standard_normal((128, 6))
    y = np.tanh(x @ rng.standard_normal((6, 3)))
    net = MLP(init([6, 24, 24, 3], rng, "xavier"), hidden="tanh")
    return train(monitor("full batch, Adam, update() after the step"), net, x, y, 600, 128, Optimizer("adam", 0.01),
                 loss="mse", after_step=True)


def full_batch_momentum_float32():
    """Full batch of 512 MNIST images, float32, momentum, softmax cross-entropy."""
    x, y, *_ = mnist()
    net = _mnist_net(20, (784, 32, 10))
    net.p = {k: v.astype(np.float32) for k, v in net.p.items()}
    return train(monitor("full batch float32 momentum"), net, x[:512].astype(np.float32), y[:512], 300, 512,
                 Optimizer("momentum", 0.05))


def narrow_but_enough():
    """192 -> 8 -> 768 on data that has 4 degrees of freedom: the narrow layer is all the task needs."""
    rng = np.random.default_rng(21)
    z = rng.standard_normal((512, 4))
    x = np.tanh(z @ rng.standard_normal((4, 192)) / 2)
    y = z @ rng.standard_normal((4, 768)) / 2
    net = MLP(init([192, 8, 768], rng, "xavier"), hidden="tanh")
    return train(monitor("192 -> 8 -> 768, 4-dimensional data"), net, x, y, 400, 32, Optimizer("adam", 0.01),
                 loss="mse")


def large_valued_regression():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((512, 8))
    y = 500 + 300 * np.tanh(x @ rng.standard_normal((8, 1)))
    net = MLP(init([8, 32, 1], rng, "he"))
    net.p["b2"][:] = 500.0  # output bias at the mean of the targets
    return train(monitor("targets around 500"), net, x, y, 600, 32, Optimizer("adam", 0.01), loss="mse")


def per_batch_sr_regression():
    x, y = sr_pairs()
    net = MLP(init([192, 64, 768], np.random.default_rng(11), "he"))
    return train(monitor("per-batch SR regression"), net, x - 0.5, y, 400, 16, Optimizer("momentum", 0.05),
                 loss="mse")


def small_cnn():
    """conv 8x3x3 -> ReLU -> maxpool 2 -> FC 1800->10 on normalised CIFAR, batch 32, momentum (ch. 5 recipe)."""
    return _cnn(monitor("small CNN"), normalise=True, batch=32, lr=0.01, steps=60, every=1)


def _cnn(mon, normalise, batch, lr, steps, every, init_std=None, momentum=0.9, updates_arg=False, seed=12):
    x, y = cifar()
    if normalise:
        x = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / x.std(axis=(0, 2, 3), keepdims=True)
    rng = np.random.default_rng(seed)
    p = {"w1": rng.standard_normal((8, 3, 3, 3)) * (init_std or np.sqrt(2 / 27)), "b1": np.zeros(8),
         "w2": rng.standard_normal((1800, 10)) * (init_std or np.sqrt(2 / 1800)), "b2": np.zeros(10)}
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    losses = []
    with np.errstate(all="ignore"):
        for step in range(steps):
            idx = rng.integers(0, len(x), batch)
            xb, yb = x[idx], y[idx]
            cols = np.lib.stride_tricks.sliding_window_view(xb, (3, 3), axis=(2, 3))
            a = np.einsum("ncijkl,fckl->nfij", cols, p["w1"], optimize=True) + p["b1"][None, :, None, None]
            h = np.maximum(a, 0)
            blocks = h.reshape(batch, 8, 15, 2, 15, 2)
            pooled = blocks.max(axis=(3, 5))
            mask = blocks == pooled[:, :, :, None, :, None]
            s = pooled.reshape(batch, -1) @ p["w2"] + p["b2"]
            loss, ds = softmax_ce(s, yb)
            losses.append(loss)
            g = {"w2": pooled.reshape(batch, -1).T @ ds, "b2": ds.sum(axis=0)}
            dp = (ds @ p["w2"].T).reshape(pooled.shape)
            da = (mask * dp[:, :, :, None, :, None]).reshape(a.shape) * (a > 0)
            g["w1"], g["b1"] = np.einsum("nfij,ncijkl->fckl", da, cols, optimize=True), da.sum(axis=(0, 2, 3))
            if not updates_arg and step % every == 0:
                mon.update(step, loss=loss, params=p, grads=g, outputs=s, activations={"conv": h.reshape(batch, 8, -1)
                                                                                       .max(axis=2)})
            for k in p:
                vel[k] = momentum * vel[k] - lr * g[k]
                p[k] += vel[k]
            if updates_arg and (step + 1) % every == 0:  # chapter 5: after the update, the mean of the last losses
                mon.update((step + 1) * batch, updates=step + 1, loss=float(np.mean(losses[-every:])), params=p,
                           grads=g)
            if not np.isfinite(loss):
                break
    return mon


def zero_init_output_layer():
    x, y, *_ = mnist()
    return train(monitor("zero-initialised output layer"), _mnist_net(13, scheme="zero_last"), x, y, 300, 64,
                 Optimizer("sgd", 0.1))


def ch02_xor_recipe():
    rng = np.random.default_rng(14)
    x = rng.standard_normal((200, 2))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int)
    flip = rng.random(200) < 0.1
    y[flip] = 1 - y[flip]
    net = MLP(init([2, 16, 2], rng, "he"), hidden="tanh")
    return train(monitor("ch2: two-layer net on noisy XOR"), net, x, y, 1000, 200, Optimizer("sgd", 0.5))


def ch03_deep_he_recipe():
    """[3072, 20, 7, 5, 1]-like net, He init, full batch, float32, monitor every 10 iterations (chapter 3)."""
    x, y = cifar(400)
    x = (x.reshape(len(x), -1) / 255.0).astype(np.float32)
    cat = (y == 3).astype(int)
    net = MLP(init([3072, 20, 7, 5, 2], np.random.default_rng(15), "he", np.float32))
    mon = monitor("ch3: deep net, He init", metrics=["cost"])
    opt = Optimizer("sgd", 0.0075)
    for it in range(301):
        out, cache = net.forward(x)
        cost, d = softmax_ce(out, cat)
        grads = net.backward(cache, d.astype(np.float32))
        if it % 10 == 0:
            mon.update(it, cost=cost, params=net.p, grads=grads)
        opt.step(net.p, grads)
    return mon


def ch04_softmax_recipe():
    """Chapter 4: 784-10-10, sigmoid hidden layer, 0.01 init, lr 0.5, batch 32."""
    x, y, *_ = mnist()
    net = MLP(init([784, 10, 10], np.random.default_rng(16), "small"), hidden="sigmoid")
    return train(monitor("ch4: 784-10-10 sigmoid"), net, x, y, 400, 32, Optimizer("sgd", 0.5))


def ch05_cnn_recipe():
    """Chapter 5's final recipe: normalised, He, batch 64, momentum; update() every 20 steps after the update,
    with updates= and the mean of the last 20 losses."""
    return _cnn(monitor("ch5: CNN recipe", x_label="images seen"), normalise=True, batch=64, lr=0.01, steps=120,
                every=20, updates_arg=True)


def ch06_sr_recipe():
    x, y = sr_pairs()
    net = MLP(init([192, 128, 768], np.random.default_rng(17), "he"))
    mon = monitor("ch6: SR MLP fixed")
    opt = Optimizer("adam", 1e-3)
    with np.errstate(all="ignore"):
        for step in range(200):
            out, cache = net.forward(x - 0.5)
            loss, d = mse(out, y)
            grads = net.backward(cache, d)
            mon.update(step, loss=loss, params=net.p, grads=grads, outputs=out)
            opt.step(net.p, grads)
    return mon


def perceptron_recipe():
    """Chapter 1: the perceptron's mistakes per epoch, no statistics."""
    rng = np.random.default_rng(18)
    x = np.vstack([rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))])
    y = np.r_[-np.ones(50), np.ones(50)]
    w, b = np.zeros(2), 0.0
    mon = monitor("ch1: perceptron", metrics=["mistakes"], x_label="epoch")
    for epoch in range(20):
        errs = 0
        for i in rng.permutation(100):
            if y[i] * (x[i] @ w + b) <= 0:
                w, b, errs = w + y[i] * x[i], b + y[i], errs + 1
        mon.update(epoch, mistakes=errs)
    return mon


HEALTHY = [batch256_sgd, batch1_sgd, batch32_noisy_sgd, momentum, adam, lr_decay_with_bumps, warm_restart,
           plateau_then_drop, few_dead_units, long_full_batch_regression, full_batch_adam_after_step,
           full_batch_momentum_float32, narrow_but_enough, large_valued_regression,
           per_batch_sr_regression, small_cnn, zero_init_output_layer, ch02_xor_recipe, ch03_deep_he_recipe,
           ch04_softmax_recipe, ch05_cnn_recipe, ch06_sr_recipe, perceptron_recipe]
