"""Chapter 3 beyond the generic check tests: the L-layer gradient check, course.gradcheck, and the stalled
("small" init) vs He trend on the CIFAR fixture."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.chapters.ch03_activations import reference as ch03
from course import gradcheck


def _net(seed, dims=(12, 20, 7, 5, 1), N=10, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = ch03.init_params(list(dims), "he", rng)
    for k in params:
        if k.startswith("b"):  # off the ReLU kinks
            params[k] = rng.normal(scale=0.1, size=params[k].shape)
    params = {k: v.astype(dtype) for k, v in params.items()}
    X = rng.random((N, dims[0])).astype(dtype)
    y = (rng.random(N) < 0.4).astype(dtype)
    return params, X, y


def _cost(params, X, y):
    _, caches = ch03.deep_forward(X, params)
    return ch03.bce_with_logits(caches[-1][1][:, 0], y)[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deep_net_gradient_check_below_1e_7(seed):
    params, X, y = _net(seed)
    probs, caches = ch03.deep_forward(X, params)
    grads = ch03.deep_backward(probs, y, caches)
    before = {k: v.copy() for k, v in params.items()}
    errors = gradcheck.check_params(lambda: _cost(params, X, y), params, grads)
    assert set(errors) == set(params)
    assert max(errors.values()) < 1e-7, errors
    assert all(np.array_equal(before[k], params[k]) for k in params), "check_params must restore params exactly"


def test_gradient_check_catches_a_wrong_gradient():
    params, X, y = _net(3)
    probs, caches = ch03.deep_forward(X, params)
    grads = ch03.deep_backward(probs, y, caches)
    grads["W2"] = grads["W2"] * 1.01  # a 1% error must stand out
    errors = gradcheck.check_params(lambda: _cost(params, X, y), params, grads)
    assert errors["W2"] > 1e-3 and errors["W1"] < 1e-7


def test_grad_check_refuses_float32_and_bad_shapes():
    x32 = np.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match="float64"):
        gradcheck.grad_check(lambda v: float(np.sum(v**2)), x32, 2 * x32)
    with pytest.raises(ValueError, match="shape"):
        gradcheck.grad_check(lambda v: float(np.sum(v**2)), np.ones(3), np.ones(4))
    with pytest.raises(KeyError):
        gradcheck.check_params(lambda: 0.0, {"W": np.ones(2)}, {})


def test_numerical_gradient_restores_x_even_when_f_raises():
    x = np.array([1.0, 2.0])

    def f(v):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        gradcheck.numerical_gradient(f, x)
    assert np.array_equal(x, [1.0, 2.0])


def _cat_subset(n_cat, seed):
    from course.data import load_cifar10

    X, y = load_cifar10("train")
    rng = np.random.default_rng(seed)
    cats, others = np.flatnonzero(y == 3), np.flatnonzero(y != 3)
    idx = np.concatenate([rng.choice(cats, n_cat, replace=False), rng.choice(others, 2 * n_cat, replace=False)])
    return (X[idx].reshape(len(idx), -1) / 255).astype(np.float32), (y[idx] == 3).astype(np.float32)


def _train(X, y, scheme, iterations, lr=0.0075):
    params = {k: v.astype(np.float32)
              for k, v in ch03.init_params([X.shape[1], 20, 7, 5, 1], scheme, np.random.default_rng(3)).items()}
    costs = []
    for _ in range(iterations + 1):
        probs, caches = ch03.deep_forward(X, params)
        costs.append(ch03.bce_with_logits(caches[-1][1][:, 0], y)[0])
        grads = ch03.deep_backward(probs, y, caches)
        for k in params:
            params[k] -= lr * grads[k]
    return params, costs, grads


def test_small_init_stalls_at_the_prior_while_he_trains(fixtures_env):
    X, y = _cat_subset(40, seed=1)  # 120 images, a third cats
    prior = -(np.log(1 / 3) / 3 + np.log(2 / 3) * 2 / 3)  # 0.637: the cost of always predicting 1/3
    _, small, g_small = _train(X, y, "small", 300)
    _, he, g_he = _train(X, y, "he", 300)
    assert abs(small[0] - np.log(2)) < 1e-3, "small init: every prediction starts at 0.5"
    assert small[-1] > prior - 0.01, f"small init should not get below the prior's cost: {small[-1]:.4f}"
    assert small[0] - small[-1] < 0.06
    assert he[-1] < prior - 0.1, f"He init should train well below the prior's cost: {he[0]:.3f} -> {he[-1]:.3f}"
    # why: the first layer's gradient is orders of magnitude smaller with the small init
    assert g_small["W1"].std() < 1e-3 * g_he["W1"].std()


def test_checks_name_the_failing_property():
    """Judge-side checks see what happened in the student's function: warnings, distribution, cache contents."""
    import autograder.checks as checks
    from autograder.chapters.ch03_activations import wrong as w3
    from course.compare import CheckFailure

    cases = [(checks.check_sigmoid_forward, w3.sigmoid_forward_where_both_branches, "fp_overflow", "np.where"),
             (checks.check_bce_with_logits, w3.bce_where_both_branches, "fp_overflow", "not numerically stable"),
             (checks.check_init_params, w3.init_he_uniform, "distribution", "kurtosis"),
             (checks.check_deep_backward, w3.deep_backward_overwrites_cache, "inplace", "in place")]
    for check, impl, hint, words in cases:
        with pytest.raises(CheckFailure) as info:
            check(impl)
        assert info.value.hint == hint and words in str(info.value), (impl.__name__, info.value.hint, info.value)
