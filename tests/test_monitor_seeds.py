"""The monitor's final diagnoses name the real cause of each seed failure of the course (small faithful
reproductions, synthetic data; chapter 6's real clinic is tested in tests/test_ch06.py).

1. The super-resolution MLP 768 -> 4 -> 5 -> 12288 of the chapter 6 report: gradient ascent (sign error), raw
   0..255 inputs, unscaled randn init, lr 0.05, ReLU output: the loss grows every step; a variant of the same
   faults kills the output ReLU at once.
2. The L-layer net [12288, 20, 7, 5, 1] with 0.01-scaled init (chapter 3): the cost barely moves.
3. The MNIST 784-10-10 whose first-layer weights "never change" (chapter 4): they do; border pixels are always
   0, so their weights get no gradient. The monitor must not say the weights are not changing.
4. The CIFAR CNN fed unnormalised 0..255 images one at a time (chapter 5): the loss explodes, the huge step kills
   the ReLUs and training stays at chance; normalised inputs fix it.
"""

from __future__ import annotations

import numpy as np
import pytest

from course.monitor import TrainingMonitor


def monitor(title, metrics):
    """Static mode samples statistics as in JupyterLab (close() is not called: it would display the figure).
    Every call is sampled (``stats_every_seconds=0``), so the result does not depend on the machine's speed;
    test_monitor.py tests the default schedule."""
    return TrainingMonitor(title, metrics=metrics, mode="static", log_scale=True, stats_every_seconds=0)


def codes(mon):
    return [d.code for d in mon.diagnoses]


def active(mon):
    return [d.code for d in mon.active_diagnoses]


def sr_images(rng, m=64):
    """m blocky 64x64x3 photos-like images in 0..1 and their 16x16 downsampled versions."""
    hr = np.kron(rng.random((m, 4, 4, 3)), np.ones((1, 16, 16, 1)))
    hr = np.clip(hr + 0.05 * rng.standard_normal(hr.shape), 0, 1)
    return hr.reshape(m, 16, 4, 16, 4, 3).mean(axis=(2, 4)), hr


def sr_report_trainer(steps, ascent=True, backprop_through_dw=True, grad_scale="m", seed=0):
    """The reported trainer: 768 -> 4 -> 5 -> 12288, ReLU everywhere, raw 0..255 data, randn init, lr 0.05."""
    rng = np.random.default_rng(seed)
    lr_img, hr = sr_images(rng)
    x, y = (lr_img * 255).reshape(len(hr), -1), (hr * 255).reshape(len(hr), -1)
    sizes = [768, 4, 5, 12288]
    W = [rng.standard_normal((a, b)) for a, b in zip(sizes, sizes[1:])]
    b = [np.zeros(s) for s in sizes[1:]]
    mon, losses = monitor("sr report", ["loss"]), []
    with np.errstate(all="ignore"):
        for step in range(steps):
            hs, zs = [x], []
            for layer in range(3):
                zs.append(hs[-1] @ W[layer] + b[layer])
                hs.append(np.maximum(zs[-1], 0))
            out = hs[-1]
            loss = float(np.mean((out - y) ** 2))
            losses.append(loss)
            mon.update(step, loss=loss, outputs=out, params={f"W{i + 1}": W[i] for i in range(3)})
            sign = -1 if ascent else 1
            dz = sign * 2 * (out - y) * (zs[2] > 0) / (len(x) if grad_scale == "m" else out.size)
            for layer in (2, 1, 0):
                dW, db = hs[layer].T @ dz, dz.sum(axis=0)
                if layer > 0:
                    dz = (dz @ (dW.T if backprop_through_dw else W[layer].T)) * (zs[layer - 1] > 0)
                W[layer] -= 0.05 * dW
                b[layer] -= 0.05 * db
            if not np.isfinite(loss):
                break
    return mon, losses


def test_seed1_sign_error_loss_rising_is_named_not_weights_not_changing():
    mon, losses = sr_report_trainer(steps=60)
    assert sum(b > a for a, b in zip(losses[1:], losses[2:])) >= 0.9 * (len(losses) - 2)  # the symptom
    assert losses[-1] > 1e6
    found = codes(mon)
    assert "loss_rising" in active(mon)
    message = next(d.message for d in mon.diagnoses if d.code == "loss_rising")
    assert "wrong sign" in message and "step is too large" in message
    assert "outputs_exploding" in found  # true at step 0 (predictions in the tens of thousands): kept in the log
    first = next(d for d in mon.diagnoses if d.code == "outputs_exploding")
    assert first.step == 0
    assert "weights_frozen_after_huge_step" in found  # the hidden ReLUs died after the first update
    assert "weights_not_changing" not in found


def test_seed1_diverged_numbers_print_readably():
    """The clinic prints a diverging loss as 2.111e+17, not 211074306913651904.00, and a negative zero as 0."""
    from course.clinic import readable

    text = readable([2.11074306913651904e17, -0.0, 0.5, 1234.5678])
    assert text == "[2.111e+17 0 0.5 1235]", text
    _, losses = sr_report_trainer(steps=60)
    assert "e+" in readable(losses[-5:]) and not any(len(word) > 12 for word in readable(losses).split())


def test_seed1_variant_dead_output_relu_is_named():
    mon, losses = sr_report_trainer(steps=20, ascent=False, grad_scale="all")
    assert np.ptp(losses[2:]) < 1e-5 * losses[2]  # the loss froze: (almost) every output is 0
    found = codes(mon)
    assert "outputs_dead" in active(mon), found
    assert "outputs_exploding" in found  # step 0 said so, and it stays in the log with its step
    assert next(d for d in mon.diagnoses if d.code == "outputs_exploding").step == 0
    assert "weights_not_changing" not in found
    dead = next(d for d in mon.diagnoses if d.code == "outputs_dead")
    assert "not a too small learning rate" in dead.message and "too large" in dead.message


def test_seed2_small_init_deep_net_vanishing_gradients_and_flat_cost():
    rng = np.random.default_rng(0)
    m, dims = 100, [12288, 20, 7, 5, 1]
    X = rng.random((m, dims[0]))
    y = (X[:, :50].mean(axis=1) > 0.5).astype(float)
    P = {}
    for i in range(1, 5):
        P[f"W{i}"], P[f"b{i}"] = rng.standard_normal((dims[i - 1], dims[i])) * 0.01, np.zeros(dims[i])
    mon, costs = monitor("[12288, 20, 7, 5, 1], init 0.01", ["cost"]), []
    for it in range(401):
        A, Z = [X], []
        for i in range(1, 5):
            Z.append(A[-1] @ P[f"W{i}"] + P[f"b{i}"])
            A.append(np.maximum(Z[-1], 0) if i < 4 else 1 / (1 + np.exp(-Z[-1])))
        p = A[-1][:, 0]
        cost = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        costs.append(cost)
        dz, G = (p - y)[:, None] / m, {}
        for i in range(4, 0, -1):
            G[f"W{i}"], G[f"b{i}"] = A[i - 1].T @ dz, dz.sum(axis=0)
            if i > 1:
                dz = (dz @ P[f"W{i}"].T) * (Z[i - 2] > 0)
        if it % 10 == 0:
            mon.update(it, cost=cost, params=P, grads=G)
        for k in P:
            P[k] -= 0.0075 * G[k]
    assert costs[0] - costs[-1] < 0.1 * costs[0]  # the symptom: the cost barely moves
    found = active(mon)
    assert "vanishing_gradients" in found and "loss_flat" in found, found
    assert "weights_not_changing" not in codes(mon)


def test_seed3_mnist_border_pixels_get_no_gradient_but_weights_do_change():
    rng = np.random.default_rng(0)
    n = 2000
    X = np.zeros((n, 28, 28))
    X[:, 4:24, 4:24] = rng.random((n, 20, 20)) * (rng.random((n, 20, 20)) < 0.3)  # black border, like MNIST
    y = (X[:, 4:14].sum(axis=(1, 2)) > X[:, 14:24].sum(axis=(1, 2))).astype(int) * 3 + rng.integers(0, 2, n)
    X = X.reshape(n, 784)
    P = {"W1": rng.standard_normal((784, 10)) * 0.01, "b1": np.zeros(10),
         "W2": rng.standard_normal((10, 10)) * 0.01, "b2": np.zeros(10)}
    W1_start = P["W1"].copy()
    mon = monitor("784-10-10", ["loss"])
    step = 0
    for _epoch in range(2):
        for i in range(0, n, 32):
            xb, yb = X[i:i + 32], y[i:i + 32]
            h = 1 / (1 + np.exp(-(xb @ P["W1"] + P["b1"])))
            s = h @ P["W2"] + P["b2"]
            e = np.exp(s - s.max(axis=1, keepdims=True))
            prob = e / e.sum(axis=1, keepdims=True)
            loss = float(-np.log(prob[np.arange(len(yb)), yb]).mean())
            d = prob.copy()
            d[np.arange(len(yb)), yb] -= 1
            d /= len(yb)
            G = {"W2": h.T @ d, "b2": d.sum(axis=0)}
            dh = d @ P["W2"].T * h * (1 - h)
            G["W1"], G["b1"] = xb.T @ dh, dh.sum(axis=0)
            for k in P:
                P[k] -= 0.5 * G[k]
            if step % 20 == 0:
                mon.update(step, loss=loss, params=P, grads=G)
            step += 1
    assert np.array_equal(W1_start[:3, :3], P["W1"][:3, :3])  # the symptom: the corner never changes
    assert not np.array_equal(W1_start, P["W1"])  # ... but W1 does
    found = codes(mon)
    assert "weights_not_changing" not in found
    assert "zero_gradient_entries" in active(mon), found
    d = next(d for d in mon.diagnoses if d.code == "zero_gradient_entries")
    assert d.subject == "W1" and "border pixels" in d.message


def conv_relu_pool(x, w, b):
    """x (N, 3, 32, 32), w (16, 3, 3, 3) -> pooled (N, 16, 15, 15) and what the backward pass needs."""
    cols = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))  # (N, 3, 30, 30, 3, 3)
    a = np.einsum("ncijkl,fckl->nfij", cols, w) + b[None, :, None, None]
    h = np.maximum(a, 0)
    blocks = h.reshape(len(x), 16, 15, 2, 15, 2)
    p = blocks.max(axis=(3, 5))
    mask = blocks == p[:, :, :, None, :, None]
    return p, (cols, a, mask)


@pytest.mark.parametrize("normalise", [False, True])
def test_seed4_cnn_unnormalised_inputs_one_image_per_step(normalise):
    rng = np.random.default_rng(0)
    n = 200
    X = np.clip(rng.normal(120, 60, (n, 3, 32, 32)), 0, 255)
    y = rng.integers(0, 10, n)
    X[np.arange(n), y % 3] += 40.0 * (y[:, None, None] >= 5)  # a learnable colour cue
    if normalise:
        X = (X - X.mean()) / X.std()
    P = {"w1": rng.normal(0, 0.01, (16, 3, 3, 3)), "b1": np.zeros(16),
         "w2": rng.normal(0, 0.01, (3600, 10)), "b2": np.zeros(10)}
    mon, losses = monitor("seed CNN", ["loss"]), []
    with np.errstate(all="ignore"):
        for step in range(300):
            i = step % n
            xb, yb = X[i:i + 1], y[i:i + 1]
            p, (cols, a, mask) = conv_relu_pool(xb, P["w1"], P["b1"])
            s = p.reshape(1, -1) @ P["w2"] + P["b2"]
            e = np.exp(s - s.max())
            prob = e / e.sum()
            loss = float(-np.log(prob[0, yb[0]]))
            losses.append(loss)
            ds = prob.copy()
            ds[0, yb[0]] -= 1
            G = {"w2": p.reshape(1, -1).T @ ds, "b2": ds.sum(axis=0)}
            dp = (ds @ P["w2"].T).reshape(p.shape)
            da = (mask * dp[:, :, :, None, :, None]).reshape(a.shape) * (a > 0)
            G["w1"], G["b1"] = np.einsum("nfij,ncijkl->fckl", da, cols), da.sum(axis=(0, 2, 3))
            mon.update(step, loss=loss, outputs=s, params=P, grads=G)
            for k in P:
                P[k] -= 0.01 * G[k]
            if not np.isfinite(loss):
                break
    found = codes(mon)
    if normalise:  # the fix: the same net learns, and the monitor has nothing to say about steps or outputs
        assert np.mean(losses[-50:]) < np.mean(losses[:50])
        assert not {"outputs_exploding", "not_finite", "loss_rising"} & set(found), found
    else:  # the symptom: the loss explodes; the monitor says why
        assert max(losses) > 50 and np.mean(losses[-50:]) > 2.2  # a spike, then stuck at chance (ln 10)
        causes = {"outputs_exploding", "not_finite", "weights_frozen_after_huge_step"} & set(found)
        assert causes, found
        assert all("scale the inputs" in d.message for d in mon.diagnoses if d.code in causes)
        assert "weights_not_changing" not in found
