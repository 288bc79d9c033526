"""Chapter 2's dtype contract, checked: float32 in, float32 out for the layers and the MSE gradient (the
docstrings say so; later chapters train in float32). ``check_float32(name, fn)`` runs after the float64 cases."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch02_dense_backprop import reference as ref
from autograder.chapters.float32_contract import expect_float32
from autograder.chapters.messages import gettext as _
from course.compare import call, expect_tuple


def check_float32(name: str, fn) -> None:
    """``fn`` (the graded function ``name``) on float32 inputs: float32 outputs with the reference's values."""
    rng = np.random.default_rng(2900)
    x, W, b = (rng.normal(size=s).astype(np.float32) for s in ((5, 4), (4, 3), (3,)))
    dout = rng.normal(size=(5, 3)).astype(np.float32)
    if name == "affine_forward":
        what = _("affine_forward on float32 x (5, 4), W (4, 3), b (3,)")
        expect_float32(expect_tuple(call(fn, x, W, b), 2, what, "out, cache")[0], ref.affine_forward(x, W, b)[0],
                       _("{what}: {name}", what=what, name="out"))
    elif name == "affine_backward":
        what = _("affine_backward on float32 dout (5, 3) and cache (x (5, 4), W (4, 3), b (3,))")
        got = expect_tuple(call(fn, dout, (x, W, b)), 3, what, "dx, dW, db")
        for label, g, e in zip(("dx", "dW", "db"), got, ref.affine_backward(dout, (x, W, b))):
            expect_float32(g, e, _("{what}: {name}", what=what, name=label))
    elif name == "mse_loss":
        what = _("mse_loss on float32 pred (5, 3) and target (5, 3)")
        dpred = expect_tuple(call(fn, dout, np.zeros_like(dout)), 2, what, "loss, dpred")[1]
        expect_float32(dpred, ref.mse_loss(dout, np.zeros_like(dout))[1], _("{what}: {name}", what=what, name="dpred"))
    else:
        raise ValueError(f"no float32 case for {name}")
