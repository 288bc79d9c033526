"""Chapter 6's dtype contract, checked: float32 in, float32 out for downsample_box, upsample_nearest, mlp_loss_grads
(the gradients) and mlp_train_step (the new parameters), as their docstrings say; the chapter trains in float32.
``check_float32(name, fn)`` runs after the float64 cases."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch06_superres_mlp import reference as ref
from autograder.chapters.float32_contract import expect_float32
from autograder.chapters.messages import gettext as _
from course.compare import call, expect_tuple, fail


def _problem():
    rng = np.random.default_rng(6900)
    params = {k: v.astype(np.float32) for k, v in ref.init_mlp([12, 8, 16], rng).items()}
    x, y = rng.random((5, 12)).astype(np.float32), rng.random((5, 16)).astype(np.float32)
    return params, x, y


def _expect_dict(value, params, what):
    if not isinstance(value, dict) or set(value) != set(params):
        fail(_("{what} should be a dict with the keys {keys}", what=what, keys=sorted(params)))
    return value


def check_float32(name: str, fn) -> None:
    """``fn`` (the graded function ``name``) on float32 inputs: float32 outputs with the reference's values."""
    img = np.random.default_rng(6901).random((2, 8, 8, 3)).astype(np.float32)
    if name == "downsample_box":
        what = _("downsample_box on a float32 hr (2, 8, 8, 3), factor=2")
        expect_float32(call(fn, img, 2), ref.downsample_box(img, 2), what)
    elif name == "upsample_nearest":
        what = _("upsample_nearest on a float32 lr (2, 8, 8, 3), factor=2")
        expect_float32(call(fn, img, 2), ref.upsample_nearest(img, 2), what)
    elif name == "mlp_loss_grads":
        params, x, y = _problem()
        what = _("mlp_loss_grads on float32 params, x (5, 12) and y (5, 16) (layer sizes [12, 8, 16])")
        grads = _expect_dict(expect_tuple(call(fn, params, x, y), 2, what, "loss, grads")[1], params,
                             _("{what}: {name}", what=what, name="grads"))
        for k, g in ref.mlp_loss_grads(params, x, y)[1].items():
            name = f"grads['{k}']"
            expect_float32(grads[k], g, _("{what}: {name}", what=what, name=name))
    elif name == "mlp_train_step":
        params, x, y = _problem()
        what = _("mlp_train_step on float32 params, x (5, 12) and y (5, 16) (layer sizes [12, 8, 16]), lr=0.1")
        new = _expect_dict(expect_tuple(call(fn, params, x, y, 0.1), 2, what, "loss, new_params")[1], params,
                           _("{what}: the new params", what=what))
        for k, p in ref.mlp_train_step(params, x, y, 0.1)[1].items():
            name = f"new params['{k}']"
            expect_float32(new[k], p, _("{what}: {name}", what=what, name=name))
    else:
        raise ValueError(f"no float32 case for {name}")
