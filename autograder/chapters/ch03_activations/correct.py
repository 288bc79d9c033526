"""Correct answers for chapter 3 (ReLU, sigmoid, stable BCE, initialisation, the L-layer net), written
independently (each self-contained: no helper from the notebook)."""

from collections import OrderedDict, namedtuple

import numpy as np

Affine = namedtuple("Affine", ["A_prev", "W", "b"])
Layer = namedtuple("Layer", ["affine", "Z"])


def relu_forward_where(x):
    """np.where(x > 0, x, 0.0); the cache is x itself."""
    return np.where(x > 0, x, 0.0), x


def relu_forward_mask_copy(x):
    """x times its boolean mask; the cache is a copy of x."""
    return x * (x > 0), x.copy()


def relu_backward_where(dout, cache):
    """np.where(cache > 0, dout, 0.0)."""
    return np.where(cache > 0, dout, 0.0)


def relu_backward_copy_and_zero(dout, cache):
    """Copies dout and zeroes it where the input was <= 0 (the copy, not the caller's array)."""
    dx = np.array(dout, copy=True)
    dx[cache <= 0] = 0.0
    return dx


def _sigmoid_masks(x):
    x = np.asarray(x)
    x = x.astype(np.result_type(x, 1.0))  # integers become float64; float32 stays float32
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _floats(x):
    """x as a float array: float32 stays float32, anything else becomes float64."""
    x = np.asarray(x)
    return x.astype(np.result_type(x, 1.0))


def sigmoid_forward_masks(x):
    """Boolean masks: each formula only on the entries where its exp cannot overflow."""
    out = _sigmoid_masks(x)
    return out, out


def sigmoid_forward_logaddexp(x):
    """exp(-log(1 + exp(-x))) with np.logaddexp(0, -x), which never overflows."""
    out = np.exp(-np.logaddexp(0.0, -_floats(x)))
    return out, out


def sigmoid_backward_s_minus_s2(dout, cache):
    """dout * (s - s**2)."""
    return dout * (cache - cache * cache)


def sigmoid_backward_multiply(dout, cache):
    """np.multiply(dout, s) * (1 - s)."""
    return np.multiply(dout, cache) * (1.0 - cache)


def bce_logaddexp(logits, y):
    """Per example logaddexp(0, z) - z y; the gradient from a masked stable sigmoid."""
    z = _floats(logits)
    loss = np.mean(np.logaddexp(0.0, z.astype(np.float64)) - z * np.asarray(y, dtype=np.float64))
    return float(loss), ((_sigmoid_masks(z) - y) / z.size).astype(z.dtype)


def bce_softplus_of_minus_z(logits, y):
    """softplus(-z) + (1 - y) z, with softplus(t) = max(t, 0) + log1p(exp(-|t|)); dz = (1 - y) - sigmoid(-z)."""
    z = _floats(logits)
    t = -z.astype(np.float64)
    per_example = np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t))) + (1.0 - y) * z
    N = len(z)
    return float(per_example.sum() / N), (((1.0 - y) - _sigmoid_masks(-z)) / N).astype(z.dtype)


_STD = {"he": lambda n: np.sqrt(2.0 / n), "xavier": lambda n: 1.0 / np.sqrt(n), "small": lambda n: 0.01}


def init_params_ordered(layer_dims, scheme, rng):
    """An OrderedDict; the std looked up in a table of functions of the fan-in."""
    if scheme not in _STD:
        raise ValueError(f"unknown scheme {scheme}")
    params = OrderedDict()
    for l, (n_prev, n) in enumerate(zip(layer_dims[:-1], layer_dims[1:]), start=1):
        params["W" + str(l)] = _STD[scheme](n_prev) * rng.standard_normal(size=(n_prev, n))
        params["b" + str(l)] = np.zeros((n,))
    return params


def init_params_normal(layer_dims, scheme, rng):
    """rng.normal(0, std, size) (the same Gaussian, drawn scaled) into a plain dict, the scheme checked late."""
    params = {}
    for l in range(1, len(layer_dims)):
        fan_in = layer_dims[l - 1]
        try:
            std = {"he": (2.0 / fan_in) ** 0.5, "xavier": (1.0 / fan_in) ** 0.5, "small": 0.01}[scheme]
        except KeyError:
            raise ValueError(f"scheme must be he, xavier or small, not {scheme!r}") from None
        params[f"W{l}"] = rng.normal(0.0, std, size=(fan_in, layer_dims[l]))
        params[f"b{l}"] = np.zeros(layer_dims[l], dtype=np.float64)
    if len(layer_dims) < 2 and scheme not in ("he", "xavier", "small"):
        raise ValueError(f"unknown scheme {scheme!r}")
    return params


def deep_forward_loop(X, params):
    """Plain loop, hidden layers with np.maximum, the output sigmoid with masks; probs by ravel()."""
    L = len(params) // 2
    A = X
    caches = []
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ W + b
        caches.append(((A, W, b), Z))
        A = np.maximum(Z, 0) if l < L else _sigmoid_masks(Z)
    return A.ravel(), caches


def deep_forward_namedtuples(X, params):
    """einsum for the products; each cache entry a namedtuple Layer(Affine(A_prev, W, b), Z)."""
    n_layers = sum(1 for key in params if key.startswith("W"))
    caches = []
    A = X
    for l in range(1, n_layers + 1):
        W = params["W%d" % l]
        b = params["b%d" % l]
        Z = np.einsum("nd,dm->nm", A, W) + b
        caches.append(Layer(Affine(A, W, b), Z))
        A = np.where(Z > 0, Z, 0.0) if l < n_layers else np.exp(-np.logaddexp(0.0, -Z))
    return A.reshape(-1), caches


def deep_backward_loop(probs, y, caches):
    """Plain loop from the last layer down; the ReLU mask from the cached Z of the layer below."""
    N = len(probs)
    grads = {}
    dZ = (probs - y).reshape(N, 1) / N
    for l in range(len(caches), 0, -1):
        (A_prev, W, _b), _Z = caches[l - 1]
        grads[f"W{l}"] = A_prev.T @ dZ
        grads[f"b{l}"] = dZ.sum(axis=0)
        if l > 1:
            dZ = (dZ @ W.T) * (caches[l - 2][1] > 0)
    return grads


def deep_backward_recursive(probs, y, caches):
    """Recursion over the layers into an OrderedDict (keys W1, b1, ... in order); einsum products."""
    grads = OrderedDict()

    def back(l, dZ):
        (A_prev, W, _b), _ = caches[l - 1]
        if l > 1:
            back(l - 1, np.where(caches[l - 2][1] > 0, np.einsum("nm,dm->nd", dZ, W), 0.0))
        grads[f"W{l}"] = np.einsum("nd,nm->dm", A_prev, dZ)
        grads[f"b{l}"] = np.einsum("nm->m", dZ)

    back(len(caches), ((probs - y) / probs.shape[0])[:, np.newaxis])
    return grads


CORRECT = {
    "relu_forward": [relu_forward_where, relu_forward_mask_copy],
    "relu_backward": [relu_backward_where, relu_backward_copy_and_zero],
    "sigmoid_forward": [sigmoid_forward_masks, sigmoid_forward_logaddexp],
    "sigmoid_backward": [sigmoid_backward_s_minus_s2, sigmoid_backward_multiply],
    "bce_with_logits": [bce_logaddexp, bce_softplus_of_minus_z],
    "init_params": [init_params_ordered, init_params_normal],
    "deep_forward": [deep_forward_loop, deep_forward_namedtuples],
    "deep_backward": [deep_backward_loop, deep_backward_recursive],
}
