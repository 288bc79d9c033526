"""Gradient checking: compare the gradients your backward pass computes with central differences.

Use float64 everywhere (float32 rounding swamps the O(h^2) accuracy of the differences; chapter 2 measures it).
A correct backward pass gives relative errors around 1e-9 or smaller; anything above ~1e-6 is a bug.

    from course.gradcheck import check_params

    def loss_fn():                      # reads params itself, so perturbing params[name] in place changes it
        probs, caches = deep_forward(X, params)
        return bce_with_logits(caches[-1][1][:, 0], y)[0]

    errors = check_params(loss_fn, params, grads)   # {"W1": 3e-11, "b1": 5e-11, ...}
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course.i18n import gettext as _

__all__ = ["numerical_gradient", "relative_error", "grad_check", "check_params"]

# Chapter 2 asks students to write numerical_gradient and relative_error: a class's student edition ships this
# module only once chapter 2 is closed (the student-edition builder reads this constant; chapters 3 and 6,
# which import it, are published after that).
GIVES_AWAY = {"02_dense_backprop": "numerical_gradient and relative_error are chapter 2's exercises"}


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for every entry i of x (any shape).

    x is perturbed in place (so f may read the array directly, ignoring its argument) and every entry is
    restored exactly. Returns a float64 array of x's shape.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        if isinstance(x, np.ndarray):
            raise TypeError(_("x must be a floating-point NumPy array (perturbed in place), got an array of dtype "
                              "{dtype}", dtype=x.dtype))
        raise TypeError(_("x must be a floating-point NumPy array (perturbed in place), got {kind}",
                          kind=type(x).__name__))
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + h
            f_plus = float(f(x))
            x[idx] = old - h
            f_minus = float(f(x))
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """||a - b|| / (||a|| + ||b||) over all entries (0.0 when both are zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(_("shapes differ: {a} vs {b}", a=a.shape, b=b.shape))
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def grad_check(f: Callable[[np.ndarray], float], x: np.ndarray, analytic, h: float = 1e-5) -> float:
    """Relative error between ``analytic`` (your gradient of f at x, x's shape) and central differences.

    x must be float64 (a float32 check cannot tell a right gradient from a wrong one); it is restored.
    """
    if x.dtype != np.float64:
        raise TypeError(_("gradient checks need float64 arrays, got {dtype}: use x.astype(np.float64)",
                          dtype=x.dtype))
    analytic = np.asarray(analytic)
    if analytic.shape != x.shape:
        raise ValueError(_("analytic gradient has shape {analytic}, x has {x}", analytic=analytic.shape,
                           x=x.shape))
    return relative_error(analytic, numerical_gradient(f, x, h))


def check_params(loss_fn: Callable[[], float], params: dict, grads: dict, h: float = 1e-5,
                 names=None) -> dict[str, float]:
    """Relative error of ``grads[name]`` for every parameter (or those in ``names``).

    loss_fn(): the scalar loss computed from the current ``params`` (it must read the arrays in ``params``,
    which are perturbed in place and restored). params / grads: dicts {name: float64 array of the same shape}.
    Returns {name: relative error}, in the order of ``params``.
    """
    names = list(params) if names is None else list(names)
    missing = [n for n in names if n not in grads]
    if missing:
        raise KeyError(_("grads has no entry for {names}", names=missing))
    return {n: grad_check(lambda _x: loss_fn(), params[n], grads[n], h) for n in names}
