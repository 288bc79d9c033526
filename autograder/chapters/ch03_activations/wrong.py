"""Wrong answers for chapter 3 (ReLU, sigmoid, stable BCE, initialisation, the L-layer network)."""

import numpy as np

from autograder.chapters.ch03_activations.reference import init_params, sigmoid
from autograder.chapters.ch03_activations.wrong_dtype import (
    bce_dlogits_float64,
    deep_forward_float64,
    relu_backward_float64,
    relu_forward_float64,
    sigmoid_backward_float64,
    sigmoid_forward_float64,
)


def relu_forward_in_place(x):
    """Zeroes the negative entries of x in place (changes the caller's array and the cache)."""
    x[x < 0] = 0
    return x, x


def relu_forward_abs(x):
    """Uses |x| instead of max(0, x)."""
    return np.abs(x), x


def relu_forward_leaky(x):
    """A leaky ReLU (0.01 x for x < 0), not the ReLU asked for."""
    return np.where(x > 0, x, 0.01 * x), x


def relu_forward_no_cache(x):
    """Forgets the cache (returns None), so relu_backward has nothing to build its mask from."""
    return np.maximum(x, 0), None


def relu_backward_ge(dout, cache):
    """Passes the gradient where x >= 0 (the mask is wrong at x == 0)."""
    return dout * (cache >= 0)


def relu_backward_dout_mask(dout, cache):
    """Masks with dout > 0 instead of x > 0 (the wrong mask)."""
    return dout * (dout > 0)


def relu_backward_mask_only(dout, cache):
    """Returns the mask itself, forgetting to multiply by dout."""
    return (cache > 0).astype(float)


def relu_backward_inverted(dout, cache):
    """Passes the gradient where x < 0 (the inverted mask)."""
    return dout * (cache < 0)


def sigmoid_forward_naive(x):
    """1 / (1 + exp(-x)): exp overflows (with a RuntimeWarning) for x = -1e4."""
    out = 1 / (1 + np.exp(-x))
    return out, out


def sigmoid_forward_exp_ratio(x):
    """exp(x) / (1 + exp(x)): inf / inf = nan for large x."""
    e = np.exp(x)
    out = e / (1 + e)
    return out, out


def sigmoid_forward_clipped(x):
    """Clips x to [-30, 30] first: no overflow, but sigmoid(-40) comes out as sigmoid(-30)."""
    out = 1 / (1 + np.exp(-np.clip(x, -30, 30)))
    return out, out


def sigmoid_forward_clipped_500(x):
    """Clips x to [-500, 500] (a common recipe): no overflow, but sigmoid(-720) comes out as sigmoid(-500)."""
    out = 1 / (1 + np.exp(-np.clip(x, -500, 500)))
    return out, out


def sigmoid_forward_cache_z(x):
    """Caches z (the input) instead of the output s that sigmoid_backward expects."""
    return sigmoid(x), x


def sigmoid_backward_on_z(dout, cache):
    """Treats the cache as z and takes sigmoid(cache) * (1 - sigmoid(cache)): the derivative at the wrong point."""
    s = sigmoid(cache)
    return dout * s * (1 - s)


def sigmoid_backward_no_dout(dout, cache):
    """Returns s (1 - s) without multiplying by dout."""
    return cache * (1 - cache)


def sigmoid_backward_s_only(dout, cache):
    """Uses dout * s, forgetting the (1 - s) factor."""
    return dout * cache


def bce_naive(logits, y):
    """log(sigmoid(z)) via 1 / (1 + exp(-z)): overflow and log(0) for large |z|."""
    p = 1 / (1 + np.exp(-logits))
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(loss), (p - y) / len(y)


def bce_clipped_probs(logits, y):
    """Clips the probabilities to [1e-12, 1 - 1e-12]: finite, but a confident mistake costs 27.6, not 1e4."""
    p = np.clip(sigmoid(logits), 1e-12, 1 - 1e-12)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(loss), (p - y) / len(y)


def bce_softplus_overflow(logits, y):
    """log(1 + exp(z)) - z y: the right formula, computed with exp(z), which overflows for z = 1e4."""
    loss = np.mean(np.log(1 + np.exp(logits)) - logits * y)
    return float(loss), (sigmoid(logits) - y) / len(y)


def bce_sum(logits, y):
    """Missing 1/N: sums the loss and the gradient over the batch."""
    z = logits
    loss = np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return float(loss), sigmoid(z) - y


def bce_grad_no_1_over_N(logits, y):
    """Right loss, but dlogits misses the 1/N of the mean."""
    z = logits
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return float(loss), sigmoid(z) - y


def bce_grad_sign(logits, y):
    """dlogits = (y - sigmoid(z)) / N: the wrong sign."""
    z = logits
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return float(loss), (y - sigmoid(z)) / len(y)


def _init(layer_dims, scheme, rng, *, scale=None, transpose=False, bias=False, fan="in"):
    params = {}
    for l in range(1, len(layer_dims)):
        n_in, n_out = layer_dims[l - 1], layer_dims[l]
        fan_n = {"in": n_in, "out": n_out, "avg": (n_in + n_out) / 2}[fan]
        s = scale(scheme, fan_n) if scale else {"he": np.sqrt(2 / fan_n), "xavier": np.sqrt(1 / fan_n),
                                                "small": 0.01}[scheme]
        shape = (n_out, n_in) if transpose else (n_in, n_out)
        params[f"W{l}"] = rng.standard_normal(shape) * s
        params[f"b{l}"] = rng.standard_normal(n_out) * s if bias else np.zeros(n_out)
    return params


def init_he_without_2(layer_dims, scheme, rng):
    """He init with sqrt(1 / n_in) (that is Xavier), and Xavier with sqrt(2 / n_in): the two swapped."""
    return _init(layer_dims, scheme, rng, scale=lambda sch, n: {"he": np.sqrt(1 / n), "xavier": np.sqrt(2 / n),
                                                                    "small": 0.01}[sch])


def init_transposed(layer_dims, scheme, rng):
    """W{l} of shape (n{l}, n{l-1}): the transposed layout."""
    return _init(layer_dims, scheme, rng, transpose=True)


def init_fan_out(layer_dims, scheme, rng):
    """Scales by the fan-out n{l} instead of the fan-in n{l-1}."""
    return _init(layer_dims, scheme, rng, fan="out")


def init_random_bias(layer_dims, scheme, rng):
    """Draws random biases instead of zeros."""
    return _init(layer_dims, scheme, rng, bias=True)


def init_small_without_001(layer_dims, scheme, rng):
    """"small" without the 0.01 factor: plain randn."""
    return _init(layer_dims, scheme, rng, scale=lambda sch, n: {"he": np.sqrt(2 / n), "xavier": np.sqrt(1 / n),
                                                                    "small": 1.0}[sch])


def init_global_random(layer_dims, scheme, rng):
    """Ignores rng and uses the global np.random (not reproducible from the seed)."""
    return _init(layer_dims, scheme, np.random.default_rng(), scale=None)


def init_variance_not_std(layer_dims, scheme, rng):
    """Multiplies by the variance 2 / n_in instead of the standard deviation sqrt(2 / n_in)."""
    return _init(layer_dims, scheme, rng, scale=lambda sch, n: {"he": 2 / n, "xavier": 1 / n,
                                                                    "small": 0.01}[sch])


def init_unknown_scheme_silently(layer_dims, scheme, rng):
    """Falls back to "small" for an unknown scheme instead of raising ValueError."""
    if scheme not in ("he", "xavier", "small"):
        scheme = "small"
    return init_params(layer_dims, scheme, rng)


def _forward(X, params, *, last="sigmoid", hidden="relu", bias=True, squeeze=True):
    L = len(params) // 2
    A, caches = X, []
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ W + (b if bias else 0)
        caches.append(((A, W, b), Z))
        act = hidden if l < L else last
        A = np.maximum(Z, 0) if act == "relu" else sigmoid(Z)
    return (A[:, 0] if squeeze else A), caches


def deep_forward_sigmoid_everywhere(X, params):
    """Sigmoid on the hidden layers too."""
    return _forward(X, params, hidden="sigmoid")


def deep_forward_relu_output(X, params):
    """ReLU on the output layer as well (probs are not in (0, 1))."""
    return _forward(X, params, last="relu")


def deep_forward_no_bias(X, params):
    """Forgets the biases."""
    return _forward(X, params, bias=False)


def deep_forward_column(X, params):
    """Returns probs of shape (N, 1) instead of (N,)."""
    return _forward(X, params, squeeze=False)


def deep_forward_caches_activation(X, params):
    """Caches the activation A = relu(Z) instead of Z."""
    probs, caches = _forward(X, params)
    return probs, [(aff, np.maximum(Z, 0)) for aff, Z in caches]


def deep_forward_flat_caches(X, params):
    """Caches (A_prev, W, b, Z) flat, not the ((A_prev, W, b), Z) layout the contract asks for."""
    probs, caches = _forward(X, params)
    return probs, [(*aff, Z) for aff, Z in caches]


def deep_forward_skips_last_layer(X, params):
    """Loops over range(1, L) (off by one): the output layer's weights are never used."""
    L = len(params) // 2
    A, caches = X, []
    for l in range(1, L):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ W + b
        caches.append(((A, W, b), Z))
        A = np.maximum(Z, 0)
    return sigmoid(A.sum(axis=1)), caches


def _backward(probs, y, caches, *, scale_N=True, db_axis=0, mask="Z", bias=True, sigmoid_again=False):
    N, L = probs.shape[0], len(caches)
    dZ = (probs - y)[:, None] / (N if scale_N else 1)
    if sigmoid_again:
        dZ = dZ * (probs * (1 - probs))[:, None]
    grads = {}
    for l in range(L, 0, -1):
        (A_prev, W, b), Z = caches[l - 1]
        grads[f"W{l}"] = A_prev.T @ dZ
        db = dZ.sum(axis=db_axis)
        if db_axis == 1:
            db = np.resize(db, b.shape)
        grads[f"b{l}"] = db if bias else np.zeros_like(b)
        if l > 1:
            prevZ = caches[l - 2][1]
            dA = dZ @ W.T
            m = {"Z": prevZ > 0, "A": A_prev > 0.5, "dA": dA > 0}[mask]
            dZ = dA * m
    return grads


def deep_backward_no_1_over_N(probs, y, caches):
    """Missing 1/N in the output gradient (the gradient of the summed, not mean, cost)."""
    return _backward(probs, y, caches, scale_N=False)


def deep_backward_db_wrong_axis(probs, y, caches):
    """Sums db over the units (axis=1) instead of the batch."""
    return _backward(probs, y, caches, db_axis=1)


def deep_backward_mask_on_dA(probs, y, caches):
    """ReLU gradient masked with dA > 0 instead of Z > 0 (the wrong mask)."""
    return _backward(probs, y, caches, mask="dA")


def deep_backward_mask_on_activation_threshold(probs, y, caches):
    """ReLU mask taken from the activation with a wrong threshold (A > 0.5)."""
    return _backward(probs, y, caches, mask="A")


def deep_backward_no_bias_grad(probs, y, caches):
    """Forgets the bias gradients (zeros)."""
    return _backward(probs, y, caches, bias=False)


def deep_backward_sigmoid_twice(probs, y, caches):
    """Multiplies (probs - y) by sigmoid' again: sigmoid + cross-entropy already give dZ = probs - y."""
    return _backward(probs, y, caches, sigmoid_again=True)


def deep_backward_missing_bias_keys(probs, y, caches):
    """Returns only the weight gradients (no 'b' keys)."""
    return {k: v for k, v in _backward(probs, y, caches).items() if k.startswith("W")}


def relu_backward_in_place(dout, cache):
    """Zeroes the blocked entries of dout in place and returns it (changes the caller's gradient array)."""
    dout[cache <= 0] = 0
    return dout


def sigmoid_forward_where_both_branches(x):
    """np.where(x >= 0, 1 / (1 + exp(-x)), exp(x) / (1 + exp(x))): right values, but np.where evaluates both
    branches everywhere, so exp overflows with a RuntimeWarning for large |x|."""
    out = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
    return out, out


def bce_where_both_branches(logits, y):
    """Picks the stable form per sign with np.where, whose other branch still computes exp(z) and overflows
    (RuntimeWarning) for z = 1e4, although the values are right."""
    z = logits
    per = np.where(z >= 0, z - z * y + np.log1p(np.exp(-z)), -z * y + np.log1p(np.exp(z)))
    return float(np.mean(per)), (sigmoid(z) - y) / len(y)


def init_he_uniform(layer_dims, scheme, rng):
    """Uniform weights on [-a, a] with a = sqrt(3) std: the right mean and std, but not the Gaussian asked for."""
    params = {}
    for l in range(1, len(layer_dims)):
        n_in, n_out = layer_dims[l - 1], layer_dims[l]
        std = {"he": np.sqrt(2 / n_in), "xavier": np.sqrt(1 / n_in), "small": 0.01}[scheme]
        limit = np.sqrt(3.0) * std
        params[f"W{l}"] = rng.uniform(-limit, limit, size=(n_in, n_out))
        params[f"b{l}"] = np.zeros(n_out)
    return params


def deep_backward_overwrites_cache(probs, y, caches):
    """Right gradients, but builds each ReLU mask by overwriting the cached Z in place (Z[Z > 0] = 1 ...),
    destroying the caller's caches."""
    N, L = probs.shape[0], len(caches)
    dZ = (probs - y)[:, None] / N
    grads = {}
    for l in range(L, 0, -1):
        (A_prev, W, b), _ = caches[l - 1]
        grads[f"W{l}"] = A_prev.T @ dZ
        grads[f"b{l}"] = dZ.sum(axis=0)
        if l > 1:
            mask = caches[l - 2][1]
            mask[mask > 0] = 1.0
            mask[mask <= 0] = 0.0
            dZ = (dZ @ W.T) * mask
    return grads


def init_xavier_glorot_average(layer_dims, scheme, rng):
    """PyTorch's xavier_normal_ meaning of "xavier" (std sqrt(2 / (n_in + n_out))), not the fan-in form stated."""
    params = {}
    for l in range(1, len(layer_dims)):
        n_in, n_out = layer_dims[l - 1], layer_dims[l]
        scale = {"he": np.sqrt(2.0 / n_in), "xavier": np.sqrt(2.0 / (n_in + n_out)), "small": 0.01}[scheme]
        params[f"W{l}"] = rng.standard_normal((n_in, n_out)) * scale
        params[f"b{l}"] = np.zeros(n_out)
    return params


WRONG = {
    "relu_forward": [relu_forward_in_place, relu_forward_abs, relu_forward_leaky, relu_forward_no_cache,
                     relu_forward_float64],
    "relu_backward": [relu_backward_ge, relu_backward_dout_mask, relu_backward_mask_only, relu_backward_inverted,
                      relu_backward_in_place, relu_backward_float64],
    "sigmoid_forward": [sigmoid_forward_naive, sigmoid_forward_exp_ratio, sigmoid_forward_clipped,
                        sigmoid_forward_cache_z, sigmoid_forward_where_both_branches, sigmoid_forward_clipped_500,
                        sigmoid_forward_float64],
    "sigmoid_backward": [sigmoid_backward_on_z, sigmoid_backward_no_dout, sigmoid_backward_s_only,
                         sigmoid_backward_float64],
    "bce_with_logits": [bce_naive, bce_clipped_probs, bce_softplus_overflow, bce_sum, bce_grad_no_1_over_N,
                        bce_grad_sign, bce_where_both_branches, bce_dlogits_float64],
    "init_params": [init_he_without_2, init_transposed, init_fan_out, init_random_bias, init_small_without_001,
                    init_global_random, init_variance_not_std, init_unknown_scheme_silently, init_he_uniform,
                    init_xavier_glorot_average],
    "deep_forward": [deep_forward_sigmoid_everywhere, deep_forward_relu_output, deep_forward_no_bias,
                     deep_forward_column, deep_forward_caches_activation, deep_forward_skips_last_layer,
                     deep_forward_flat_caches, deep_forward_float64],
    "deep_backward": [deep_backward_no_1_over_N, deep_backward_db_wrong_axis, deep_backward_mask_on_dA,
                      deep_backward_mask_on_activation_threshold, deep_backward_no_bias_grad,
                      deep_backward_sigmoid_twice, deep_backward_missing_bias_keys, deep_backward_overwrites_cache],
}

# The words each of these answers' check message must contain ("!word": must not contain), case-insensitive:
# the message names the real fault (tests/test_check_messages.py).
MESSAGES = {
    "sigmoid_forward": {"sigmoid_forward_clipped_500": ("clipped", "x = -10000", "relative error",
                                                        "!must not come out"),
                        "sigmoid_forward_clipped": ("clipped", "!must not come out")},
    "init_params": {"init_xavier_glorot_average": ("fan-in", "xavier_normal_")},
    "relu_forward": {"relu_forward_float64": ("dtype float64", "float32 in, float32 out")},
    "deep_forward": {"deep_forward_float64": ("dtype float64", "float32 in, float32 out")},
}
