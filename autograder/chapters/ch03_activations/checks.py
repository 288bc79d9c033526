"""Checks for chapter 3 (ReLU, sigmoid, stable BCE, initialisation, the L-layer network)."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch03_activations import reference as ref
from autograder.chapters.ch03_activations.dtype_cases import check_float32
from autograder.chapters.messages import gettext as _
from course.compare import (
    CheckFailure,
    as_array,
    call,
    expect_close,
    expect_scalar,
    expect_shape,
    expect_tuple,
    fail,
    rngs,
)

__all__ = ["check_relu_forward", "check_relu_backward", "check_sigmoid_forward", "check_sigmoid_backward",
           "check_bce_with_logits", "check_init_params", "check_deep_forward", "check_deep_backward"]


def _with_exact_zeros(rng, shape):
    x = rng.normal(size=shape)
    x.flat[rng.choice(x.size, size=max(1, x.size // 5), replace=False)] = 0.0  # ReLU's kink: gradient 0 there
    return x


def _shape(rng, big=False):
    if big:  # a realistic batch of activations
        return (int(rng.integers(256, 600)), int(rng.integers(16, 70)))
    return tuple(int(v) for v in rng.integers(1, 7, size=int(rng.integers(1, 4))))


def _strict(fn, *args, what):
    """Call fn where it runs (the student's process for a remote fn) with floating-point overflow / invalid /
    divide-by-zero and RuntimeWarnings turned into failures. Underflow (exp(-1e4) == 0.0) is harmless."""
    try:
        return call(fn, *args, forbid_warnings=True)
    except CheckFailure as exc:
        key = getattr(exc, "hint", None)
        if key not in ("fp_overflow", "fp_invalid", "fp_divide", "warning"):
            raise
        fail(_("{what} is not numerically stable: {error}. Never take exp of a large positive number, not even in a "
               "branch np.where throws away (it evaluates both): use exp(-|x|) (and log1p) with the symmetry of the "
               "sigmoid", what=what, error=str(exc).splitlines()[0]), key)


def _expect_cache(cache, expected, what, rtol=0.0):
    """The cache must equal ``expected``; any failure (None, wrong shape, wrong values) is a cache fault."""
    try:
        expect_close(cache, expected, what, rtol, 0)
    except CheckFailure as exc:
        fail(str(exc), "cache_contents")


def check_relu_forward(fn):
    """relu_forward(x) -> (max(0, x), cache = x); x of any shape, up to realistic batches."""
    for case, rng in enumerate(rngs(3101, 7)):
        x = _with_exact_zeros(rng, _shape(rng, big=case == 6))
        what = _("relu_forward(x {shape})", shape=x.shape)
        out, cache = expect_tuple(call(fn, x), 2, what, "out, cache")
        expect_close(out, np.maximum(x, 0), _("{what}: {name}", what=what, name="out"), 0, 0)
        _expect_cache(cache, x, _("{what}: the cache (should be the input x itself, negative entries included)",
                                  what=what))
        dout = rng.normal(size=x.shape)
        try:
            dx = ref.relu_backward(dout, np.asarray(cache))
        except Exception as exc:
            fail(_("{what}: the cache should be the input x; using it failed with {error_type}: {error}", what=what,
                   error_type=type(exc).__name__, error=exc))
        expect_close(dx, ref.relu_backward(dout, x), _("{what}: the cache should be the input x; backward from it",
                                                       what=what), 0, 0, hint="cache_contents")
    check_float32("relu_forward", fn)


def check_relu_backward(fn):
    """relu_backward(dout, cache=x) -> dx = dout where x > 0 (0 where x <= 0, including x == 0)."""
    for case, rng in enumerate(rngs(3202, 7)):
        x = _with_exact_zeros(rng, _shape(rng, big=case == 6))
        dout = rng.normal(size=x.shape)
        what = _("relu_backward(dout {shape}, cache=x) with some x exactly 0", shape=x.shape)
        dx = call(fn, dout, x)
        expect_close(dx, ref.relu_backward(dout, x), _("{what}: dx (the mask is x > 0, taken from the input x)",
                                                       what=what), 0, 0)
    check_float32("relu_backward", fn)


def _wide_inputs(rng, shape):
    x = rng.normal(size=shape) * 5
    # -720: exp(720) overflows, so 1 / (1 + exp(-x)) gives 0 there, while sigmoid(-720) = 2e-313 > 0.
    extremes = np.array([1e4, -1e4, -720.0, 800.0, -800.0, 40.0, -40.0, 0.0])
    x.flat[: min(x.size, extremes.size)] = extremes[: min(x.size, extremes.size)]
    return x


def _expect_not_clipped(x, out, ref_out, what):
    """A sigmoid whose input was clipped (or saturated) gives the same value for every x beyond the bound: say so,
    with the error at the input that fails."""
    x, r = x.ravel(), ref_out.ravel()
    got = as_array(out, what).astype(np.float64).ravel() if np.shape(out) == ref_out.shape else None
    if got is None:
        return
    bad = np.abs(got - r) > 1e-10 * np.abs(r)
    for side in (x < 0, x > 0):
        failing = np.flatnonzero(side & bad)
        if failing.size == 0:
            continue
        i = int(failing[np.argmax(np.abs(x[failing]))])
        same = np.flatnonzero(side & (got == got[i]) & (x != x[i]) & (r != r[i]))
        if same.size == 0:
            continue
        j = int(same[np.argmin(np.abs(x[same]))])
        rel = abs(got[i] - r[i]) / r[i] if r[i] else np.inf
        fail(_("{what}: out is {got:.4g} for x = {x:g} and the same {same:.4g} for x = {x_same:g}, but sigmoid({x:g}) "
               "= {expected:.4g} (relative error {relative:.3g} there): the input looks clipped (np.clip) or "
               "saturated at a bound, so every x beyond it gets the bound's value. Do not clip the input: compute "
               "exp(-|x|), which never overflows, and use the sigmoid's symmetry", what=what, got=float(got[i]),
               x=float(x[i]), same=float(got[j]), x_same=float(x[j]), expected=float(r[i]), relative=float(rel)),
             "saturation")


def check_sigmoid_forward(fn):
    """sigmoid_forward(x) -> (sigmoid(x), cache = out); no warning and no nan for |x| up to 1e4."""
    for case, rng in enumerate(rngs(3303, 7)):
        shape = (7 + case,) if case % 2 == 0 else (2, 4 + case)
        if case == 6:  # a realistic batch
            shape = (300, 40)
        x = _wide_inputs(rng, shape)
        what = _("sigmoid_forward(x {shape}) with x from -1e4 to 1e4", shape=x.shape)
        out, cache = expect_tuple(_strict(fn, x, what=what), 2, what, "out, cache")
        ref_out, ref_cache = ref.sigmoid_forward(x)
        _expect_not_clipped(x, out, ref_out, what)
        expect_close(out, ref_out, _("{what}: out (sigmoid(-40) = 4.2e-18 and sigmoid(-720) = 2e-313 must come out "
                                     "right, not as 0)", what=what), 1e-10, 0)
        _expect_cache(cache, out, _("{what}: the cache (should be the output s itself)", what=what), 1e-12)
        dout = rng.normal(size=x.shape)
        expect_close(ref.sigmoid_backward(dout, np.asarray(cache)), ref.sigmoid_backward(dout, ref_cache),
                     _("{what}: the cache should be the output s (sigmoid_backward uses s * (1 - s)); backward from "
                       "your cache", what=what), 1e-8, 1e-12, hint="cache_contents")
    check_float32("sigmoid_forward", fn)


def check_sigmoid_backward(fn):
    """sigmoid_backward(dout, cache=s) -> dout * s * (1 - s), where s = sigmoid(x) is the cache."""
    for case, rng in enumerate(rngs(3404, 7)):
        x = rng.normal(size=_shape(rng, big=case == 6)) * 3
        _out, s = ref.sigmoid_forward(x)
        dout = rng.normal(size=x.shape)
        what = _("sigmoid_backward(dout {shape}, cache=s) where s = sigmoid(x) is the forward output", shape=x.shape)
        dx = _strict(fn, dout, s, what=what)
        expect_close(dx, ref.sigmoid_backward(dout, s), _("{what}: {name}", what=what, name="dx"), 1e-8, 1e-12)
    check_float32("sigmoid_backward", fn)


def check_bce_with_logits(fn):
    """bce_with_logits(logits, y) -> (mean loss, dlogits); stable and exact for logits up to +-1e4."""
    for case, rng in enumerate(rngs(3505, 7)):
        N = int(rng.integers(3, 12)) if case < 6 else 1000  # and a realistic batch
        z = rng.normal(size=N) * 3
        y = rng.integers(0, 2, size=N).astype(np.float64)
        if case >= 3:  # very confident predictions, right and wrong: the loss must stay exact (e.g. 1e4)
            z[:3] = [1e4, -1e4, 700.0]
            y[:3] = [0.0, 0.0, 1.0] if case == 3 else [1.0, 0.0, 0.0]
        what = (_("bce_with_logits(logits ({n},), y ({n},)) with logits up to +-1e4", n=N) if case >= 3
                else _("bce_with_logits(logits ({n},), y ({n},))", n=N))
        loss, dz = expect_tuple(_strict(fn, z, y, what=what), 2, what, "loss, dlogits")
        ref_loss, ref_dz = ref.bce_with_logits(z, y)
        about = (_("{what}: loss (a confident mistake with |z| = 1e4 costs 1e4: compute the loss from the logits, "
                   "never from clipped probabilities)", what=what) if case >= 3
                 else _("{what}: loss (the mean over the {n} examples)", what=what, n=N))
        expect_scalar(loss, ref_loss, about, rtol=1e-8, atol=1e-10)
        expect_close(dz, ref_dz, _("{what}: dlogits ((sigmoid(z) - y) / N)", what=what), 1e-8, 1e-12)
    check_float32("bce_with_logits", fn)


def check_init_params(fn):
    """init_params(layer_dims, scheme, rng): keys W1, b1, ...; W{l} (n{l-1}, n{l}) with the scheme's scale."""
    dims = [400, 100, 30, 1]
    expected_std = {"he": lambda n_in, n_out: np.sqrt(2 / n_in), "xavier": lambda n_in, n_out: np.sqrt(1 / n_in),
                    "small": lambda n_in, n_out: 0.01}
    for scheme, std in expected_std.items():
        what = f"init_params({dims}, {scheme!r}, rng)"  # code: the same in every language
        params = call(fn, list(dims), scheme, np.random.default_rng(7))
        if not isinstance(params, dict):
            fail(_("{what} should return a dict {{'W1': ..., 'b1': ..., ...}}, got {kind}", what=what,
                   kind=type(params).__name__))
        keys = sorted(f"{p}{l}" for l in range(1, len(dims)) for p in "Wb")
        if sorted(params) != keys:
            fail(_("{what} should have exactly the keys {keys}, got {got}", what=what, keys=keys, got=sorted(params)))
        for l in range(1, len(dims)):
            n_in, n_out = dims[l - 1], dims[l]
            W = expect_shape(params[f"W{l}"], (n_in, n_out), f"{what}['W{l}']")
            b = expect_shape(params[f"b{l}"], (n_out,), f"{what}['b{l}']")
            if not np.all(b == 0):
                fail(_("{what}['b{l}'] should be zeros", what=what, l=l))
            if W.size >= 100:  # enough entries to estimate the scale within a few percent
                got, want = float(W.std()), float(std(n_in, n_out))
                tol = 0.05 if W.size >= 2000 else 0.15  # the sample std is within ~1.6% (2000) / 7% (100)
                glorot = float(np.sqrt(2 / (n_in + n_out)))
                if scheme == "xavier" and abs(got / glorot - 1) <= tol < abs(got / want - 1):
                    fail(_("{what}['W{l}'] has std {got:.4g}, PyTorch's xavier_normal_ sqrt(2 / (n_in + n_out)) = "
                           "{glorot:.4g}; this course's \"xavier\" is the fan-in form sqrt(1 / n_in) = {want:.4g} "
                           "(the table above the exercise)", what=what, l=l, got=got, glorot=glorot, want=want),
                         "distribution")
                if abs(got / want - 1) > tol or abs(float(W.mean())) > 4 * want / np.sqrt(W.size):
                    fail(_("{what}['W{l}'] (fan-in {n_in}) should have mean 0 and standard deviation {want:.4g}, "
                           "got mean {mean:.3g}, std {got:.4g}", what=what, l=l, n_in=n_in, want=want,
                           mean=float(W.mean()), got=got), "distribution")
            if W.size >= 10000:  # a Gaussian has kurtosis 3 (standard error ~sqrt(24 / n) < 0.05 here)
                centred = W - W.mean()
                kurtosis = float(np.mean(centred**4) / np.mean(centred**2) ** 2)
                if abs(kurtosis - 3.0) > 0.4:
                    fail(_("{what}['W{l}'] should be Gaussian (rng.standard_normal times the std): its kurtosis is "
                           "{kurtosis:.2f}, a Gaussian's is 3 (a uniform's 1.8)", what=what, l=l, kurtosis=kurtosis),
                         "distribution")
        again = call(fn, list(dims), scheme, np.random.default_rng(7))
        other = call(fn, list(dims), scheme, np.random.default_rng(8))
        if not np.array_equal(np.asarray(again["W1"]), np.asarray(params["W1"])):
            fail(_("{what}: the same seed should give the same weights (draw every number from rng)", what=what),
                 "rng_usage")
        if np.array_equal(np.asarray(other["W1"]), np.asarray(params["W1"])):
            fail(_("{what}: different seeds gave the same weights (draw every number from rng)", what=what),
                 "rng_usage")
    for rng in rngs(3606, 3):
        dims = [int(v) for v in rng.integers(1, 9, size=int(rng.integers(2, 6)))]
        seed = int(rng.integers(1 << 30))
        params = call(fn, list(dims), "he", np.random.default_rng(seed))
        for l in range(1, len(dims)):
            expect_shape(params[f"W{l}"], (dims[l - 1], dims[l]), f"init_params({dims}, 'he', rng)['W{l}']")
            expect_shape(params[f"b{l}"], (dims[l],), f"init_params({dims}, 'he', rng)['b{l}']")
    try:
        fn([4, 3, 1], "lecun", np.random.default_rng(0))
    except Exception as exc:
        if getattr(exc, "remote_died", False):
            raise
        ename = getattr(exc, "ename", None) or type(exc).__name__  # ename: raised in the student's process
        if ename == "NotImplementedError":
            fail(_("init_params is not implemented yet: replace `raise NotImplementedError()` with your code."),
                 "not_implemented")
        if ename != "ValueError":
            fail(_("init_params with an unknown scheme should raise ValueError, raised {error_type}",
                   error_type=ename), "raised_expected_error")
    else:
        fail(_("init_params with an unknown scheme ('lecun') should raise ValueError"), "raised_expected_error")


def _net(rng, big=False):
    """Random small net (non-zero biases, so no pre-activation sits exactly on the ReLU kink) and data."""
    dims = [int(rng.integers(2, 7))] + [int(v) for v in rng.integers(1, 6, size=int(rng.integers(1, 4)))] + [1]
    params = ref.init_params(dims, "he", rng)
    for key in params:
        if key.startswith("b"):
            params[key] = rng.normal(size=params[key].shape) * 0.5
    N = int(rng.integers(256, 600)) if big else int(rng.integers(2, 9))
    X = rng.normal(size=(N, dims[0]))
    y = rng.integers(0, 2, size=N).astype(np.float64)
    return dims, params, X, y


def check_deep_forward(fn):
    """deep_forward(X, params) -> (probs (N,), caches) with caches[l-1] = ((A_prev, W, b), Z)."""
    for case, rng in enumerate(rngs(3707, 7)):
        dims, params, X, y = _net(rng, big=case == 6)
        what = _("deep_forward(X {shape}, params for layer_dims {dims})", shape=X.shape, dims=dims)
        probs, caches = expect_tuple(call(fn, X, params), 2, what, "probs, caches")
        ref_probs, ref_caches = ref.deep_forward(X, params)
        expect_close(probs, ref_probs, _("{what}: probs (ReLU on the hidden layers, sigmoid on the last)", what=what),
                     1e-8, 1e-12)
        L = len(dims) - 1
        if isinstance(caches, (list, tuple)) and len(caches) != L:
            fail(_("{what}: caches should be a list with one entry per layer ({layers}), got {kind} of length "
                   "{length}", what=what, layers=L, kind=type(caches).__name__, length=len(caches)))
        if not isinstance(caches, (list, tuple)):
            fail(_("{what}: caches should be a list with one entry per layer ({layers}), got {kind}", what=what,
                   layers=L, kind=type(caches).__name__))
        for l in range(1, L + 1):
            try:
                (A_prev, W, b), Z = caches[l - 1]
            except (TypeError, ValueError):
                fail(_("{what}: caches[{i}] should be ((A_prev, W, b), Z) for layer {l} (the affine cache and the "
                       "pre-activation Z), got {kind}", what=what, i=l - 1, l=l, kind=type(caches[l - 1]).__name__))
            (rA, rW, rb), rZ = ref_caches[l - 1]
            expect_close(A_prev, rA, _("{what}: caches[{i}][0][0] (the input A_prev of layer {l})", what=what,
                                       i=l - 1, l=l), 1e-8, 1e-12)
            w_name, b_name = f"caches[{l - 1}][0][1] (W{l})", f"caches[{l - 1}][0][2] (b{l})"
            expect_close(W, rW, _("{what}: {name}", what=what, name=w_name), 0, 0)
            expect_close(b, rb, _("{what}: {name}", what=what, name=b_name), 0, 0)
            expect_close(Z, rZ, _("{what}: caches[{i}][1] (Z{l} = A_prev @ W{l} + b{l}, before the activation)",
                                  what=what, i=l - 1, l=l), 1e-8, 1e-12, hint="cache_contents")
    check_float32("deep_forward", fn)


def check_deep_backward(fn):
    """deep_backward(probs, y, caches) -> {"W1": dW1, "b1": db1, ...}: gradients of the mean BCE cost."""
    for case, rng in enumerate(rngs(3808, 7)):
        dims, params, X, y = _net(rng, big=case == 6)
        probs, caches = ref.deep_forward(X, params)
        what = _("deep_backward for layer_dims {dims} and N={n}", dims=dims, n=X.shape[0])
        grads = call(fn, probs, y, caches)
        if not isinstance(grads, dict):
            fail(_("{what} should return a dict {{'W1': dW1, 'b1': db1, ...}}, got {kind}", what=what,
                   kind=type(grads).__name__))
        missing = sorted(set(params) - set(grads))
        if missing:
            fail(_("{what}: no gradient for {missing} (grads has the same keys as params)", what=what,
                   missing=missing))
        extra = sorted(map(str, set(grads) - set(params)))
        if extra:
            fail(_("{what}: grads has keys params does not have: {extra} (exactly the keys of params)", what=what,
                   extra=extra))
        ref_grads = ref.deep_backward(probs, y, caches)
        for key in sorted(params, key=lambda k: (int(k[1:]), k[0])):
            name = f"grads[{key!r}]"
            expect_close(grads[key], ref_grads[key], _("{what}: {name}", what=what, name=name), 1e-7, 1e-10)
