"""Chapter 6's clinic: a faithful reconstruction of the super-resolution trainer from the bug report.

The report's network is 768 -> 4 -> 5 -> 12288 with ReLU on every layer (the output too), written in the
"columns are examples" layout: ``X`` is (768, m), ``Y`` is (12288, m), ``W_l`` is (n_l, n_{l-1}), ``b_l`` is
(n_l, 1). Its faults, each of which can be switched off (``fixed=``) so that the chapter repairs ONE at a time:

- ``"sign"``: the output gradient is written ``dZ3 = -2 * (A3 - Y) * relu'(Z3)`` and then SUBTRACTED
  (``W3 -= alpha * dW3.T``): every step climbs the loss (gradient ascent);
- ``"relu_output"``: ReLU on the output layer of a regression (outputs pushed below 0 die: output 0, gradient 0);
- ``"loss_scale"``: the loss is averaged over all m * 12288 outputs while the gradients are divided by m only,
  so every gradient is 12288 times the gradient of the loss that is printed;
- ``"through_dW"``: the error is sent back through ``dW`` instead of ``W`` (``dA2 = dW3 @ dZ3``);
- ``"raw_inputs"``: inputs and targets are raw 0..255 pixel values;
- ``"randn_init"``: weights drawn from ``randn`` with no scaling (std 1 whatever the fan-in).

(The report's code also calls ``np.int``, removed in NumPy 1.24: the chapter shows the AttributeError; here it is
already replaced by ``int``.) The correct backward pass is what the student writes (``mlp_loss_grads``): fixing
``"through_dW"`` needs it, passed as ``grads_fn``; this module holds no correct backward pass.
"""

from __future__ import annotations

import numpy as np

from course.i18n import gettext


def readable(values) -> str:
    """A 1-D array of losses or outputs as text a person can read when a run diverges: four significant digits
    (``2.111e+17``, not ``211074306913651904.00``), and ``0`` for a negative zero (never ``-0``)."""
    return np.array2string(np.asarray(values, dtype=np.float64),
                           formatter={"float_kind": lambda v: f"{v + 0.0:.4g}"})


FAULTS = ("sign", "relu_output", "loss_scale", "through_dW", "raw_inputs", "randn_init")
SIZES = (768, 4, 5, 12288)
ALPHA = 0.05


def report_layout(lr_imgs, hr_imgs, raw: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(N, 16, 16, 3) / (N, 64, 64, 3) images in 0..1 -> the report's X (768, N), Y (12288, N), float64.

    raw=True scales them to 0..255 as the report did; raw=False keeps 0..1.
    """
    scale = 255.0 if raw else 1.0
    n = int(len(lr_imgs))  # the report: m = np.int(X.shape[1]) (np.int no longer exists)
    x = np.asarray(lr_imgs, dtype=np.float64).reshape(n, -1).T * scale
    y = np.asarray(hr_imgs, dtype=np.float64).reshape(n, -1).T * scale
    return x, y


def init_report(sizes=SIZES, rng=None, scaled: bool = False) -> tuple[list, list]:
    """The report's parameters: W_l = randn(n_l, n_{l-1}) (times sqrt(2 / n_{l-1}) when scaled), b_l = 0 (n_l, 1)."""
    rng = np.random.default_rng(0) if rng is None else rng
    W, b = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((fan_out, fan_in))
        W.append(w * np.sqrt(2.0 / fan_in) if scaled else w)
        b.append(np.zeros((fan_out, 1)))
    return W, b


def forward(W, b, X, relu_output: bool = True):
    """Column-layout forward pass. Returns (A_list [X, A1, ..., AL], Z_list [Z1, ..., ZL]); ReLU on the hidden
    layers, on the output too when relu_output."""
    A, Z = [X], []
    for l in range(len(W)):
        Z.append(W[l] @ A[-1] + b[l])
        last = l == len(W) - 1
        A.append(np.maximum(Z[-1], 0) if (relu_output or not last) else Z[-1])
    return A, Z


def report_loss(A_out, Y) -> float:
    """The report's loss: the mean squared error over all m * 12288 outputs."""
    return float(np.mean((A_out - Y) ** 2))


def report_backward(W, A, Z, Y, fixed=()):
    """The report's backward pass with its faults (those not in ``fixed``; "through_dW" must stay a fault here).

    Returns (dW, db): lists of the report's "gradients" (dW_l of shape W_l.T, as the report stores them, db_l of
    b_l's shape), in the direction the report's update SUBTRACTS.
    """
    fixed = set(fixed)
    m = Y.shape[1]
    L = len(W)
    diff = A[-1] - Y
    dZ = (2 * diff) if "sign" in fixed else (-2 * diff)
    if "relu_output" not in fixed:
        dZ = dZ * (Z[-1] > 0)
    dZ = dZ / (m * Y.shape[0]) if "loss_scale" in fixed else dZ / m
    dW, db = [None] * L, [None] * L
    for l in reversed(range(L)):
        dW[l] = A[l] @ dZ.T  # (n_{l-1}, n_l): W_l's transpose, as in the report
        db[l] = dZ.sum(axis=1, keepdims=True)
        if l > 0:
            dZ = (dW[l] @ dZ) * (Z[l - 1] > 0)  # the report: back through dW, not W
    return dW, db


def _student_grads(grads_fn, W, b, X, Y):
    """The student's batch-first ``mlp_loss_grads`` on the report's column-layout arrays -> (dW^T list, db list)."""
    params = {}
    for l in range(len(W)):
        params[f"W{l + 1}"] = W[l].T
        params[f"b{l + 1}"] = b[l][:, 0]
    _, grads = grads_fn(params, X.T, Y.T)
    return ([np.asarray(grads[f"W{l + 1}"]) for l in range(len(W))],
            [np.asarray(grads[f"b{l + 1}"])[:, None] for l in range(len(W))])


def train_report(lr_imgs, hr_imgs, steps: int, fixed=(), alpha: float = ALPHA, sizes=SIZES, seed: int = 0,
                 grads_fn=None, monitor=None) -> dict:
    """Run the report's trainer for ``steps`` full-batch steps with the faults not listed in ``fixed``.

    lr_imgs (N, 16, 16, 3), hr_imgs (N, 64, 64, 3) in 0..1. Fixing "through_dW" replaces the report's backward
    pass by ``grads_fn`` (your ``mlp_loss_grads``, batch-first); it needs "sign" and "relu_output" fixed first
    (the correct gradient has neither; while "loss_scale" is a fault it is multiplied by 12288).
    ``monitor``: a TrainingMonitor fed every step.
    Returns {"loss": [...], "max_abs_output": [...], "dead_outputs": [fraction of output units at 0], "W", "b"};
    losses are on the data's scale (0..255 while "raw_inputs" is a fault). Stops at a non-finite loss.
    """
    fixed = set(fixed)
    unknown = fixed - set(FAULTS)
    if unknown:
        raise ValueError(gettext("unknown faults {unknown}; choose from {faults}", unknown=sorted(unknown),
                                 faults=FAULTS))
    if "through_dW" in fixed:
        if grads_fn is None:
            raise ValueError(gettext("fixing 'through_dW' needs grads_fn: your mlp_loss_grads"))
        missing = {"sign", "relu_output"} - fixed
        if missing:
            raise ValueError(gettext("the correct gradient (grads_fn) has none of the faults {faults}: fix them first",
                                     faults=sorted(missing)))
    X, Y = report_layout(lr_imgs, hr_imgs, raw="raw_inputs" not in fixed)
    W, b = init_report(sizes, np.random.default_rng(seed), scaled="randn_init" in fixed)
    relu_out = "relu_output" not in fixed
    hist = {"loss": [], "max_abs_output": [], "dead_outputs": []}
    with np.errstate(all="ignore"):
        for step in range(int(steps)):
            A, Z = forward(W, b, X, relu_output=relu_out)
            loss = report_loss(A[-1], Y)
            hist["loss"].append(loss)
            hist["max_abs_output"].append(float(np.abs(A[-1]).max()))
            hist["dead_outputs"].append(float(np.mean(np.all(Z[-1] <= 0, axis=1))))
            if "through_dW" in fixed:
                dW, db = _student_grads(grads_fn, W, b, X, Y)
                if "loss_scale" not in fixed:  # divided by m only: 12288 times the gradient of the printed loss
                    dW, db = [g * Y.shape[0] for g in dW], [g * Y.shape[0] for g in db]
            else:
                dW, db = report_backward(W, A, Z, Y, fixed)
            if monitor is not None:
                acts = {f"A{l}": A[l].T for l in range(1, len(W) + 1)}
                monitor.update(step, loss=loss, outputs=A[-1].T, activations=acts,
                               params={f"W{l + 1}": W[l].T for l in range(len(W))},
                               grads={f"W{l + 1}": dW[l] for l in range(len(W))})
            if not np.isfinite(loss):
                break
            for l in range(len(W)):
                W[l] -= alpha * dW[l].T  # the report's update (a descent step only once "sign" is fixed)
                b[l] -= alpha * db[l]
    hist["W"], hist["b"] = W, b
    return hist
