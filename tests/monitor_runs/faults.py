"""Faulty training runs, one known cause each (the labels are in tests/monitor_runs/__init__.py)."""

from __future__ import annotations

import numpy as np

from course import clinic
from course.data.fixtures import load_fixture

from .common import MLP, Optimizer, cifar, init, mnist, monitor, softmax_ce, sr_pairs, train
from .healthy import _cnn, _mnist_net


def sign_flipped():
    x, y, *_ = mnist()
    return train(monitor("W += lr * grad"), _mnist_net(20), x, y, 200, 64,
                 Optimizer("sgd", -0.1))


def lr_far_too_high():
    x, y, *_ = mnist()
    return train(monitor("lr 20"), _mnist_net(21), x, y, 200, 64, Optimizer("sgd", 20.0))


def lr_far_too_low():
    x, y, *_ = mnist()
    return train(monitor("lr 1e-5"), _mnist_net(22), x, y, 400, 64, Optimizer("sgd", 1e-5))


def one_over_m_forgotten():
    x, y, *_ = mnist()
    return train(monitor("gradients not divided by m"), _mnist_net(23), x, y, 200, 256, Optimizer("sgd", 0.1),
                 grad_hook=lambda g: {k: v * 256 for k, v in g.items()})


def raw_pixels():
    x, y, *_ = mnist(raw=True)
    return train(monitor("raw 0..255 inputs"), _mnist_net(24), x, y, 200, 64, Optimizer("sgd", 0.1))


def unscaled_randn_init():
    x, y, *_ = mnist()
    return train(monitor("randn init"), _mnist_net(25, scheme="randn"), x, y, 200, 64, Optimizer("sgd", 0.01))


def small_init_deep_net():
    x, y, *_ = mnist()
    net = _mnist_net(26, (784, 64, 32, 16, 10), "small")
    return train(monitor("0.01 init, 4 layers"), net, x, y, 400, 128, Optimizer("sgd", 0.05))


def dead_relus_after_huge_step():
    """Batch 1 on raw CIFAR pixels (the seed's setting), an MLP: the first steps kill the ReLUs."""
    x, y = cifar()
    net = MLP(init([3072, 32, 10], np.random.default_rng(27), "he"))
    return train(monitor("batch 1, raw CIFAR pixels"), net, x.reshape(len(x), -1), y, 300, 1, Optimizer("sgd", 0.01))


def relu_on_regression_output():
    x, y = sr_pairs()
    net = MLP(init([192, 64, 768], np.random.default_rng(28), "he"), out="relu")
    return train(monitor("ReLU output"), net, x - 0.5, y - 0.3, 300, 32, Optimizer("momentum", 0.05), loss="mse")


def backprop_through_dw():
    x, y, *_ = mnist()
    net = _mnist_net(29, (784, 64, 32, 10), through_dw=True)
    return train(monitor("error sent back through dW"), net, x, y, 400, 64, Optimizer("sgd", 0.1))


def layer_never_updated():
    x, y, *_ = mnist()
    return train(monitor("W1 left out of the update"), _mnist_net(30), x, y, 300, 64, Optimizer("sgd", 0.1),
                 keys=["b1", "W2", "b2"])


def _swap(a, b):
    def hook(g):
        g = dict(g)
        g[a], g[b] = g[b], g[a]
        return g
    return hook


def swapped_gradients_same_shape():
    rng = np.random.default_rng(31)
    x = rng.standard_normal((256, 16))
    y = np.tanh(x @ rng.standard_normal((16, 16)) / 4)
    net = MLP(init([16, 16, 16, 16], rng, "xavier"), hidden="tanh")
    return train(monitor("dW2 and dW3 swapped"), net, x, y, 400, 256, Optimizer("sgd", 0.2), loss="mse",
                 grad_hook=_swap("W2", "W3"))


def swapped_gradients_other_shape():
    """dW1 and dW2 swapped: the update cannot even be applied; the monitor sees the first call."""
    x, y, *_ = mnist()
    mon = monitor("dW1 and dW2 swapped")
    try:
        train(mon, _mnist_net(32), x, y, 5, 64, Optimizer("sgd", 0.1), grad_hook=_swap("W1", "W2"))
    except ValueError:
        pass  # numpy: operands could not be broadcast together
    return mon


def shuffled_labels():
    x, y, xv, yv = mnist()
    y = np.random.default_rng(33).permutation(y)
    return train(monitor("shuffled labels"), _mnist_net(33), x, y, 500, 64, Optimizer("sgd", 0.02), val=(xv, yv))


def overfitting_val_rising():
    x, y, xv, yv = mnist()
    return train(monitor("200 images, long training"), _mnist_net(34, (784, 128, 10)), x[:200], y[:200], 1200, 50,
                 Optimizer("sgd", 0.2), val=(xv, yv))


def softmax_overflow():
    x, y, *_ = mnist(raw=True)
    return train(monitor("softmax without the max"), _mnist_net(35), x, y, 100, 64, Optimizer("sgd", 0.01),
                 stable=False)


def update_applied_twice():
    x, y, *_ = mnist()
    return train(monitor("W2 updated twice"), _mnist_net(36), x, y, 300, 64, Optimizer("sgd", 0.05),
                 keys=["W1", "b1", "W2", "W2", "b2"])


def narrow_bottleneck():
    x, y = sr_pairs()
    net = MLP(init([192, 4, 768], np.random.default_rng(37), "he"))
    return train(monitor("192 -> 4 -> 768"), net, x - 0.5, y, 300, 32, Optimizer("momentum", 0.02), loss="mse")


def _kodak_pairs(n=64):
    hr = load_fixture("sr-patches")["hr"][:n].astype(np.float64) / 255.0
    return hr.reshape(n, 16, 4, 16, 4, 3).mean(axis=(2, 4)), hr


def seed1_superres_report():
    lr_imgs, hr = _kodak_pairs()
    mon = monitor("seed 1: the reported SR trainer")
    clinic.train_report(lr_imgs, hr, 40, seed=2, monitor=mon)
    return mon


def seed2_deep_small_init():
    """[3072, 20, 7, 5, 1]-like, 0.01 init, full batch, float32, update() every 10 iterations (chapter 3)."""
    x, y = cifar(400)
    x = (x.reshape(len(x), -1) / 255.0).astype(np.float32)
    net = MLP(init([3072, 20, 7, 5, 2], np.random.default_rng(38), "small", np.float32))
    mon = monitor("seed 2: 0.01 init", metrics=["cost"])
    opt = Optimizer("sgd", 0.0075)
    for it in range(401):
        out, cache = net.forward(x)
        cost, d = softmax_ce(out, (y == 3).astype(int))
        grads = net.backward(cache, d.astype(np.float32))
        if it % 10 == 0:
            mon.update(it, cost=cost, params=net.p, grads=grads)
        opt.step(net.p, grads)
    return mon


def seed3_mnist_corner_weights():
    """784-10-10, sigmoid, 0.01 init: the printed corner of W1 never changes (border pixels are 0)."""
    x, y, *_ = mnist()
    net = MLP(init([784, 10, 10], np.random.default_rng(39), "small"), hidden="sigmoid")
    return train(monitor("seed 3: 784-10-10"), net, x, y, 400, 32, Optimizer("sgd", 0.5), every=20)


def seed4_cifar_cnn_raw_batch1():
    return _cnn(monitor("seed 4: CNN, raw pixels, batch 1"), normalise=False, batch=1, lr=0.01, steps=150, every=1,
                init_std=0.01, momentum=0.0)


FAULTS = [sign_flipped, lr_far_too_high, lr_far_too_low, one_over_m_forgotten, raw_pixels, unscaled_randn_init,
          small_init_deep_net, dead_relus_after_huge_step, relu_on_regression_output, backprop_through_dw,
          layer_never_updated, swapped_gradients_same_shape, swapped_gradients_other_shape, shuffled_labels,
          overfitting_val_rising, softmax_overflow, update_applied_twice, narrow_bottleneck, seed1_superres_report,
          seed2_deep_small_init, seed3_mnist_corner_weights, seed4_cifar_cnn_raw_batch1]
