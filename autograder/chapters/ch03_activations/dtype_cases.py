"""Chapter 3's dtype contract, checked: float32 in, float32 out (the docstrings say so; the chapter trains in
float32). ``check_float32(name, fn)`` runs after a function's float64 cases."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch03_activations import reference as ref
from autograder.chapters.float32_contract import expect_float32
from autograder.chapters.messages import gettext as _
from course.compare import call, expect_tuple


def check_float32(name: str, fn) -> None:
    """``fn`` (the graded function ``name``) on float32 inputs: float32 outputs with the reference's values."""
    rng = np.random.default_rng(3900)
    x = (rng.normal(size=(6, 5)) * 3).astype(np.float32)
    x[0, :3] = [0.0, -60.0, 60.0]  # the ReLU's kink, and a sigmoid far out on both sides (exp(60) is inf in float32)
    dout = rng.normal(size=x.shape).astype(np.float32)
    what = _("{name} on float32 inputs (x {shape})", name=name, shape=x.shape)
    if name == "relu_forward":
        expect_float32(expect_tuple(call(fn, x), 2, what, "out, cache")[0], ref.relu_forward(x)[0],
                       _("{what}: {name}", what=what, name="out"))
    elif name == "relu_backward":
        expect_float32(call(fn, dout, x), ref.relu_backward(dout, x), _("{what}: {name}", what=what, name="dx"))
    elif name == "sigmoid_forward":
        expect_float32(expect_tuple(call(fn, x), 2, what, "out, cache")[0], ref.sigmoid_forward(x)[0],
                       _("{what}: {name}", what=what, name="out"))
    elif name == "sigmoid_backward":
        s = ref.sigmoid_forward(x)[0]
        expect_float32(call(fn, dout, s), ref.sigmoid_backward(dout, s), _("{what}: {name}", what=what, name="dx"))
    elif name == "bce_with_logits":
        z, y = x[:, 0].copy(), (rng.random(x.shape[0]) < 0.5).astype(np.float32)
        what = _("bce_with_logits on float32 logits ({n},) and labels", n=z.size)
        dz = expect_tuple(call(fn, z, y), 2, what, "loss, dlogits")[1]
        expect_float32(dz, ref.bce_with_logits(z, y)[1], _("{what}: {name}", what=what, name="dlogits"))
    elif name == "deep_forward":
        params = {k: v.astype(np.float32) for k, v in ref.init_params([5, 4, 3, 1], "he", rng).items()}
        what = _("deep_forward on a float32 X (6, 5) and float32 params (layer_dims [5, 4, 3, 1])")
        probs = expect_tuple(call(fn, x, params), 2, what, "probs, caches")[0]
        expect_float32(probs, ref.deep_forward(x, params)[0], _("{what}: {name}", what=what, name="probs"))
    else:
        raise ValueError(f"no float32 case for {name}")
