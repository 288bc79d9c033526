"""Chapter 4's dtype contract, checked: float32 in, float32 out for softmax and softmax_cross_entropy's dlogits (the
docstrings say so; the chapter trains in float32). ``check_float32(name, fn)`` runs after the float64 cases."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch04_softmax import reference as ref
from autograder.chapters.float32_contract import expect_float32
from autograder.chapters.messages import gettext as _
from course.compare import call, expect_tuple


def check_float32(name: str, fn) -> None:
    """``fn`` (the graded function ``name``) on float32 logits: float32 outputs with the reference's values."""
    rng = np.random.default_rng(4900)
    z = (rng.normal(size=(6, 10)) * 3).astype(np.float32)
    z[0, :2] = [80.0, -80.0]  # exp(80) overflows float32: only a stable softmax stays finite
    y = rng.integers(0, 10, size=6)
    what = _("{name} on float32 logits (6, 10)", name=name)
    if name == "softmax":
        expect_float32(call(fn, z), ref.softmax(z), what)
    elif name == "softmax_cross_entropy":
        dlogits = expect_tuple(call(fn, z, y), 2, what, "loss, dlogits")[1]
        expect_float32(dlogits, ref.softmax_cross_entropy(z, y)[1], _("{what}: {name}", what=what, name="dlogits"))
    else:
        raise ValueError(f"no float32 case for {name}")
