"""Chapter 2 beyond the generic check tests: a float32 gradient check cannot tell right from wrong (the
chapter's claim), and the cache check names the failing property."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.chapters.ch02_dense_backprop import reference as ch02


def _net(seed, dtype):
    """A 12-20-3 network (affine, tanh, affine) with an MSE loss, built from the chapter's own layers."""
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(12, 20)) * 0.4, "b1": rng.normal(size=20) * 0.1,
              "W2": rng.normal(size=(20, 3)) * 0.3, "b2": rng.normal(size=3) * 0.1}
    params = {k: v.astype(dtype) for k, v in params.items()}
    return params, rng.random((10, 12)).astype(dtype), rng.random((10, 3)).astype(dtype)


def _loss_and_grads(params, X, Y):
    z1, c1 = ch02.affine_forward(X, params["W1"], params["b1"])
    h = np.tanh(z1)
    out, c2 = ch02.affine_forward(h, params["W2"], params["b2"])
    loss, dout = ch02.mse_loss(out, Y)
    dh, dW2, db2 = ch02.affine_backward(dout, c2)
    _, dW1, db1 = ch02.affine_backward(dh * (1 - h**2), c1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def test_float32_gradient_check_cannot_tell_right_from_wrong():
    """The chapter 2 claim: the same correct gradient checks at ~1e-10 in float64 but ~1e-3..1e-1 in float32."""

    def worst_error(dtype):
        params, X, Y = _net(4, dtype)
        _, grads = _loss_and_grads(params, X, Y)
        return max(ch02.relative_error(grads[k], ch02.numerical_gradient(
            lambda _: _loss_and_grads(params, X, Y)[0], params[k])) for k in params)

    worst = {"64": worst_error(np.float64), "32": worst_error(np.float32)}
    assert worst["64"] < 1e-7, worst
    assert worst["32"] > 1e-4, worst


def test_cache_check_names_the_failing_property():
    import autograder.checks as checks
    from autograder.chapters.ch02_dense_backprop import wrong as w2
    from course.compare import CheckFailure

    with pytest.raises(CheckFailure) as info:
        checks.check_affine_forward(w2.affine_forward_cache_no_bias)
    assert info.value.hint == "cache_contents" and "cache[2]" in str(info.value), info.value
