# ---
# jupyter:
#   course:
#     time_budget_seconds: 60
#   jupytext:
#     cell_metadata_filter: key,nbgrader,-all
#     notebook_metadata_filter: course,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] key="ch02-intro"
# # Chapter 2: Dense layers and back-propagation
#
# Chapter 1 ended with XOR: one neuron draws one line, and no line separates XOR. The fix, known since the
# 1960s, is to stack neurons into layers. What was missing until Rumelhart, Hinton and Williams (1986) made it
# popular was a cheap way to train the hidden layers: **back-propagation**, the chain rule applied layer by
# layer, from the loss back to every weight.
#
# This chapter builds back-propagation for the *dense* (fully connected, or *affine*) layer and then asks the
# question every network builder has to answer: **how do I know my gradients are right?** The answer is the
# gradient check: compare your gradients with finite differences.
#
# **You will write** five functions, each checked by tests:
#
# 1. `affine_forward(x, W, b)` and `affine_backward(dout, cache)`: a dense layer, forward and backward.
# 2. `mse_loss(pred, target)`: the mean squared error and its gradient.
# 3. `numerical_gradient(f, x, h)`: central finite differences.
# 4. `relative_error(a, b)`: how far apart two gradients are.
#
# Then you will gradient-check a two-layer network to a relative error below 1e-7, see how much less a
# float32 gradient check can tell, overfit a tiny batch, and train the network on XOR.
#
# **Layer convention used for the rest of the course:** `*_forward(...)` returns `(out, cache)`, where the cache
# holds what the backward pass needs; `*_backward(dout, cache)` takes the gradient of the loss with respect to
# `out` and returns the gradients with respect to the inputs and parameters.

# %% nbgrader={"grade_id": "setup", "schema_version": 3, "solution": false, "grade": false, "locked": true, "task": false}
import numpy as np
import matplotlib.pyplot as plt

from course.monitor import TrainingMonitor
from course.runtime import quick_mode
from course.i18n import gettext
from course.testing import assert_close, assert_returns_tuple, assert_shape, passed, run

# %matplotlib inline

# %% [markdown] key="ch02-affine-forward"
# ## 1. The affine layer, forward
#
# A dense layer with `D` inputs and `M` outputs multiplies by a weight matrix and adds a bias:
#
# $$\text{out} = x W + b, \qquad x: (N, D),\; W: (D, M),\; b: (M,),\; \text{out}: (N, M)$$
#
# Broadcasting adds `b` to every row. Return `(out, cache)` with `cache = (x, W, b)`: the backward pass needs
# `x` and `W`.

# %% nbgrader={"grade_id": "affine_forward", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def affine_forward(x, W, b):
    """Dense layer: out = x @ W + b.

    x: (N, D) inputs; W: (D, M) weights; b: (M,) bias.
    Returns (out (N, M), cache) with cache = (x, W, b).
    dtype: the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    out = x @ W + b
    cache = (x, W, b)
    return out, cache
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_affine_forward", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
x_t = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
W_t = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
b_t = np.array([0.1, 0.2, 0.3])
result = run(affine_forward, x_t, W_t, b_t)
assert_returns_tuple(result, 2, "affine_forward(x_t, W_t, b_t)", "out, cache")
out_t, cache_t = result
assert_shape(out_t, (3, 3), "out for x (3, 2) and W (2, 3)")
assert_close(out_t, [[2.1, 4.2, 1.3], [-0.4, -1.8, -0.7], [3.35, 1.2, -2.2]], "out")
assert len(cache_t) == 3, gettext("the cache should be (x, W, b), got {n} items", n=len(cache_t))
assert_close(cache_t[0], x_t, "cache[0] (the input x, which the backward pass needs for dW)")
assert_close(cache_t[1], W_t, "cache[1] (W)")
assert_close(cache_t[2], b_t, "cache[2] (b)")
out32 = np.asarray(run(affine_forward, x_t.astype(np.float32), W_t.astype(np.float32), b_t.astype(np.float32))[0])
assert out32.dtype == np.float32, gettext(
    "affine_forward on float32 inputs returned dtype {dtype}: keep the inputs' dtype (float32 in, float32 out; "
    "later chapters train in float32)", dtype=out32.dtype)
passed("affine_forward")
### BEGIN HIDDEN TESTS
from autograder.checks import check_affine_forward

check_affine_forward(affine_forward)
### END HIDDEN TESTS

# %% [markdown] key="ch02-affine-backward"
# ## 2. The affine layer, backward
#
# Let $L$ be the loss and `dout` $= \partial L / \partial \text{out}$, shape `(N, M)`. Each output
# $\text{out}_{nm} = \sum_d x_{nd} W_{dm} + b_m$, so the chain rule gives
#
# $$dx = \text{dout}\, W^\top \;(N, D), \qquad dW = x^\top\, \text{dout} \;(D, M), \qquad
# db = \textstyle\sum_n \text{dout}_{n,:} \;(M,)$$
#
# A quick way to get these right is to **match the shapes**: `dW` must have the shape of `W`, and the only
# product of `x` (N, D) and `dout` (N, M) with shape (D, M) is `x.T @ dout`. The bias is added to every row,
# so its gradient sums over the batch (axis 0).
#
# Notice there is no `1/N` here: if the loss is a mean over the batch, the `1/N` is already inside `dout`.

# %% nbgrader={"grade_id": "affine_backward", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def affine_backward(dout, cache):
    """Gradients of the dense layer.

    dout: (N, M) gradient of the loss with respect to out; cache: (x, W, b) from affine_forward.
    Returns (dx (N, D), dW (D, M), db (M,)).
    dtype: the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    x, W, b = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_affine_backward", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
x_t = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
W_t = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
b_t = np.array([0.1, 0.2, 0.3])
dout_t = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0], [1.0, 1.0, 1.0]])
result = run(affine_backward, dout_t, (x_t, W_t, b_t))
assert_returns_tuple(result, 3, "affine_backward(dout_t, cache)", "dx, dW, db")
dx_t, dW_t, db_t = result
assert_shape(dx_t, x_t.shape, "dx (the shape of x)")
assert_shape(dW_t, W_t.shape, "dW (the shape of W)")
assert_shape(db_t, b_t.shape, "db (the shape of b)")
assert_close(db_t, [2.0, 2.0, 2.0], "db (dout summed over the batch)")
assert_close(dW_t, [[4.0, 3.0, 5.0], [2.5, -0.5, 5.5]], "dW")
assert_close(dx_t, [[-1.0, 2.5], [1.0, 1.0], [0.0, 3.5]], "dx")
grads32 = run(affine_backward, dout_t.astype(np.float32), (x_t.astype(np.float32), W_t.astype(np.float32),
                                                         b_t.astype(np.float32)))
for name32, g32 in zip(("dx", "dW", "db"), grads32):
    assert np.asarray(g32).dtype == np.float32, gettext(
        "affine_backward on float32 inputs returned {name} of dtype {dtype}: keep the inputs' dtype (float32 in, "
        "float32 out; np.ones(N) alone is float64)", name=name32, dtype=np.asarray(g32).dtype)
passed("affine_backward")
### BEGIN HIDDEN TESTS
from autograder.checks import check_affine_backward

check_affine_backward(affine_backward)
### END HIDDEN TESTS

# %% [markdown] key="ch02-mse"
# ## 3. The mean squared error
#
# For predictions `pred` and targets `target` of the same shape, the loss is the mean of the squared
# errors **over all elements** (for an `(N, M)` array, divide by `N * M`):
#
# $$L = \frac{1}{P}\sum_i (\text{pred}_i - \text{target}_i)^2, \qquad
# \frac{\partial L}{\partial \text{pred}_i} = \frac{2}{P}(\text{pred}_i - \text{target}_i), \qquad P = \texttt{pred.size}$$
#
# Return `(loss, dpred)` with `loss` a Python float and `dpred` shaped like `pred`.

# %% nbgrader={"grade_id": "mse_loss", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def mse_loss(pred, target):
    """Mean squared error, averaged over ALL elements (pred.size of them).

    pred, target: arrays of the same shape, e.g. (N, M).
    Returns (loss float, dpred with pred's shape).
    dtype: loss a Python float; dpred the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    diff = pred - target
    loss = float(np.mean(diff**2))
    dpred = 2.0 * diff / diff.size
    return loss, dpred
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_mse_loss", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
result = run(mse_loss, np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [3.0, 5.0]]))
assert_returns_tuple(result, 2, "mse_loss(pred, target)", "loss, dpred")
loss_t, dpred_t = result
assert_close(loss_t, 1.25, "loss = (0 + 4 + 0 + 1) / 4")
assert_close(dpred_t, [[0.0, 1.0], [0.0, -0.5]], "dpred = 2 (pred - target) / 4")
dpred32 = np.asarray(run(mse_loss, np.array([[1.0, 2.0]], np.float32), np.array([[1.0, 0.0]], np.float32))[1])
assert dpred32.dtype == np.float32, gettext(
    "mse_loss on float32 inputs returned dpred of dtype {dtype}: keep the inputs' dtype (float32 in, float32 out; "
    "the loss is a Python float)", dtype=dpred32.dtype)
passed("mse_loss")
### BEGIN HIDDEN TESTS
from autograder.checks import check_mse_loss

check_mse_loss(mse_loss)
### END HIDDEN TESTS

# %% [markdown] key="ch02-numerical-gradient"
# ## 4. Numerical gradients
#
# How do you test a backward pass? Go back to the definition of a derivative. For a scalar function $f$ and a
# small $h$, the **central difference**
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}$$
#
# is accurate to $O(h^2)$, while the one-sided forward difference $(f(x + h e_i) - f(x)) / h$ is only $O(h)$
# accurate. With $h = 10^{-5}$ that is the difference between an error near $10^{-10}$ and one near $10^{-5}$.
#
# The contract:
#
# - `f` takes the array `x` and returns a number. Loop over **every entry** of `x`, whatever its shape
#   (`np.ndindex(x.shape)` gives every index tuple; `np.nditer` works too).
# - Perturb `x` **in place** (`x[idx] = old + h`), because a network's loss usually reads its weight arrays
#   directly and ignores the argument: `numerical_gradient(lambda _: loss(), params["W1"])`.
# - Put each entry back exactly: save `old = x[idx]` first and finish with `x[idx] = old`. (Undoing with
#   `x[idx] -= h` leaves rounding errors behind in the weights.)
# - Return a gradient with the shape of `x`.

# %% nbgrader={"grade_id": "numerical_gradient", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar function f at x.

    f: function of the array x returning a float; x: float array of any shape, perturbed in place and
    restored exactly; h: step. Returns grad with x's shape, grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h).
    dtype: grad float64 (gradient checks run in float64).
    """
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_numerical_gradient", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
x_num = np.array([[1.0, -2.0], [0.5, 3.0]])
x_before = x_num.copy()
g_num = numerical_gradient(lambda v: float(np.sum(v**2)), x_num)
assert_shape(g_num, (2, 2), "numerical_gradient of sum(x**2) at a (2, 2) x")
assert_close(g_num, 2 * x_before, "the gradient of sum(x**2) is 2x", rtol=1e-8, atol=1e-8)
assert np.array_equal(x_num, x_before), gettext("numerical_gradient must leave x exactly as it found it")
# x**3: forward differences are off by about 3 x h here; central ones by h**2.
g_cubic = numerical_gradient(lambda v: float(np.sum(v**3)), x_num, 1e-3)
assert_close(g_cubic, 3 * x_before**2, "the gradient of sum(x**3) with h=1e-3 (use central differences)",
             rtol=1e-5, atol=1e-5)
# For x**3 the central difference is exactly 3 x**2 + h**2: with h = 0.1 that is 3 x**2 + 0.01.
g_big_h = numerical_gradient(lambda v: float(np.sum(v**3)), x_num, 0.1)
assert_close(g_big_h, 3 * x_before**2 + 0.01, "numerical_gradient(sum(x**3), x, h=0.1) = 3 x**2 + h**2 (use the h "
             "you are given, and central differences)", rtol=1e-8, atol=1e-8)
# A loss that reads the array directly and ignores its argument, like a network's loss reads its weights.
# Section 6 relies on it: perturb x itself, in place, not a copy.
g_closure = numerical_gradient(lambda _: float(np.sum(x_num**2)), x_num)
assert np.allclose(g_closure, 2 * x_before, rtol=1e-8, atol=1e-8), gettext(
    "numerical_gradient(lambda _: loss(), x) is wrong (an f that reads x itself, as the gradient check of "
    "section 6 does): perturb x itself, in place (x[idx] = old + h), not a copy of x")
passed("numerical_gradient")
### BEGIN HIDDEN TESTS
from autograder.checks import check_numerical_gradient

check_numerical_gradient(numerical_gradient)
### END HIDDEN TESTS

# %% [markdown] key="ch02-relative-error"
# ## 5. Relative error
#
# Is a difference of `1e-6` between two gradients small? It depends on how big the gradients are. Use the
# **relative error** over all entries, with Euclidean norms:
#
# $$\text{rel}(a, b) = \frac{\lVert a - b \rVert}{\lVert a \rVert + \lVert b \rVert}$$
#
# It is 0 for equal arrays, 1 when `b = -a`, and independent of the scale. Return a Python float, and `0.0`
# when both arrays are zero (instead of `0 / 0 = nan`).
#
# Rules of thumb in float64 with `h = 1e-5`: below `1e-7` the gradient is right; `1e-7` to `1e-4` needs a look
# (kinks such as ReLU's at 0 can cause it); above that the backward pass has a bug.

# %% nbgrader={"grade_id": "relative_error", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||) over all entries, as a float; 0.0 when a and b are both zero.

    a, b: arrays of the same shape.
    dtype: a Python float.
    """
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_relative_error", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
assert_close(run(relative_error, np.array([3.0, 4.0]), np.array([3.0, 4.0])), 0.0, "identical arrays")
assert_close(run(relative_error, np.array([3.0, 4.0]), np.array([-3.0, -4.0])), 1.0, "b = -a")
assert_close(run(relative_error, np.array([3.0, 4.0]), np.array([0.0, 0.0])), 1.0, "b = 0")
assert_close(run(relative_error, np.zeros(3), np.zeros(3)), 0.0, "two zero arrays (not nan)")
assert_close(run(relative_error, np.array([[1e-9]]), np.array([[3e-9]])), 0.5, "tiny values (scale-free)")
passed("relative_error")
### BEGIN HIDDEN TESTS
from autograder.checks import check_relative_error

check_relative_error(relative_error)
### END HIDDEN TESTS

# %% [markdown] key="ch02-two-layer"
# ## 6. A two-layer network, and its gradient check
#
# Now stack the pieces: affine, then a `tanh` nonlinearity (given below; ReLU and sigmoid are chapter 3),
# then affine, then the mean squared error. Without the nonlinearity two affine layers collapse into one and
# could not solve XOR either.
#
# The function below runs the forward pass, then the backward pass in reverse order, each step handing its
# gradient to the step before it. That is all back-propagation is.

# %% nbgrader={"grade_id": "two_layer_net", "schema_version": 3, "solution": false, "grade": false, "locked": true, "task": false}
def tanh_forward(x):
    """tanh elementwise; the cache is the output (tanh' = 1 - tanh^2)."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Gradient through tanh, given the forward output as the cache."""
    return dout * (1 - cache**2)


def init_two_layer(D, H, M, rng, dtype=np.float64):
    """Parameters of x -> affine (D, H) -> tanh -> affine (H, M)."""
    return {"W1": (rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype), "b1": np.zeros(H, dtype),
            "W2": (rng.standard_normal((H, M)) / np.sqrt(H)).astype(dtype), "b2": np.zeros(M, dtype)}


def two_layer_loss(params, X, Y):
    """MSE of the two-layer net on X (N, D) against targets Y (N, M). Returns (loss, grads like params)."""
    hidden, cache1 = affine_forward(X, params["W1"], params["b1"])
    act, cache_t = tanh_forward(hidden)
    pred, cache2 = affine_forward(act, params["W2"], params["b2"])
    loss, dpred = mse_loss(pred, Y)
    dact, dW2, db2 = affine_backward(dpred, cache2)
    dhidden = tanh_backward(dact, cache_t)
    _, dW1, db1 = affine_backward(dhidden, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def gradient_check(params, X, Y, h=1e-5):
    """Relative error between back-propagation and central differences for every parameter array."""
    _, grads = two_layer_loss(params, X, Y)
    return {name: relative_error(grads[name], numerical_gradient(lambda _: two_layer_loss(params, X, Y)[0],
                                                                 params[name], h))
            for name in params}


# %% [markdown] key="ch02-two-layer-check"
# Check it in **float64** on a small random problem. Every parameter array should agree with the finite
# differences to better than `1e-7`. (The biases start at zero; we give them random values first so that the
# check exercises them in a generic state.)

# %%
rng = np.random.default_rng(0)
X_chk = rng.normal(size=(6, 4))
Y_chk = rng.normal(size=(6, 3))
params_chk = init_two_layer(4, 5, 3, rng)
params_chk["b1"] = rng.normal(size=5) * 0.1
params_chk["b2"] = rng.normal(size=3) * 0.1
errors64 = gradient_check(params_chk, X_chk, Y_chk)
for name, err in errors64.items():
    print(f"float64  {name}: relative error {err:.2e}")
assert max(errors64.values()) < 1e-7, "a float64 gradient check of a correct network is below 1e-7"

# %% [markdown] key="ch02-float32"
# ## 7. What a float32 gradient check can and cannot tell
#
# Networks usually *train* in float32: it is half the memory and about twice as fast. So why not check the
# gradients in float32 too? Run the same check with every array in float32:

# %%
params32 = {name: p.astype(np.float32) for name, p in params_chk.items()}
errors32 = gradient_check(params32, X_chk.astype(np.float32), Y_chk.astype(np.float32))
for name, err in errors32.items():
    print(f"float32  {name}: relative error {err:.2e}")

# %% [markdown] key="ch02-float32-disagrees"
# The same, correct, backward pass now disagrees with the finite differences by about 1e-2 at the usual
# `h = 1e-5` (the numbers above), a hundred thousand times the float64 figure, and far above the float64 rule of
# thumb's "above 1e-4 is a bug". The reason is rounding: float32 keeps about 7 significant
# digits ($\epsilon \approx 6 \times 10^{-8}$), so each loss value carries an error of about $\epsilon |L|$.
# Dividing a difference of two such values by $2h = 2 \times 10^{-5}$ magnifies that to roughly
# $\epsilon |L| / h \approx 10^{-2} |L|$. A smaller `h` makes the rounding worse, a larger one makes the $O(h^2)$
# truncation error worse. In float64 ($\epsilon \approx 10^{-16}$) the same trade-off leaves room for errors
# of $10^{-10}$.
#
# The plot sweeps `h` for both precisions. The float64 curve has a wide valley well below `1e-7`; the float32
# curve never gets there: its best `h` is much larger, and its best error stays orders of magnitude above.

# %%
steps = np.logspace(-1, -8, 15)
sweep = {"float64": [max(gradient_check(params_chk, X_chk, Y_chk, h).values()) for h in steps],
         "float32": [max(gradient_check(params32, X_chk.astype(np.float32), Y_chk.astype(np.float32),
                                        h).values()) for h in steps]}
fig, ax = plt.subplots(figsize=(5.5, 3.5))
for label, errs in sweep.items():
    ax.loglog(steps, errs, "o-", label=label)
ax.axhline(1e-7, color="k", ls="--", lw=0.8, label="1e-7")
ax.set_xlabel("finite-difference step h")
ax.set_ylabel("largest relative error")
ax.set_title("gradient check of the same, correct network")
ax.legend()
plt.show()
print("best float32 error:", f"{min(sweep['float32']):.1e}", " best float64 error:", f"{min(sweep['float64']):.1e}")
print(f"RESULT ch02.float64_error={max(errors64.values()):.1e}")
print(f"RESULT ch02.float32_error_h1e-5={max(errors32.values()):.1e}")
print(f"RESULT ch02.float32_best_error={min(sweep['float32']):.1e}")


# %% [markdown] key="ch02-float32-planted-bugs"
# So is float32 useless for checking? Plant bugs and see. Each row is a backward pass with a known fault: the
# classic tanh derivative taken at the wrong point (`1 - tanh(out)**2` with the cached output), a wrong sign in
# `dW2`, and two faults that change the gradient only slightly (every gradient 1% too large, or 0.01% too
# large: the size of a bug that touches only a few entries). The columns are the largest relative error in
# float64 at `h = 1e-5`, in float32 at the same `h`, and in float32 at its best `h` from the sweep.

# %%
def faulty_grads(params, X, Y, fault):
    """two_layer_loss's gradients with one planted fault."""
    hidden, cache1 = affine_forward(X, params["W1"], params["b1"])
    act, cache_t = tanh_forward(hidden)
    pred, cache2 = affine_forward(act, params["W2"], params["b2"])
    _, dpred = mse_loss(pred, Y)
    dact, dW2, db2 = affine_backward(dpred, cache2)
    if fault == "tanh' at the wrong point":
        dhidden = dact * (1 - np.tanh(cache_t) ** 2)
    else:
        dhidden = tanh_backward(dact, cache_t)
    _, dW1, db1 = affine_backward(dhidden, cache1)
    grads = {"W1": dW1, "b1": db1, "W2": -dW2 if fault == "wrong sign of dW2" else dW2, "b2": db2}
    scale = {"gradient 1% too large": 1.01, "gradient 0.01% too large": 1.0001}.get(fault, 1.0)
    return {name: g * scale for name, g in grads.items()}


def worst_error(params, X, Y, grads, h):
    """Largest relative error of grads against central differences of two_layer_loss."""
    return max(relative_error(grads[name], numerical_gradient(lambda _: two_layer_loss(params, X, Y)[0],
                                                              params[name], h)) for name in params)


h32 = steps[int(np.argmin(sweep["float32"]))]
X32, Y32 = X_chk.astype(np.float32), Y_chk.astype(np.float32)
print(f"{'backward pass':28s} {'float64':>9s} {'float32':>9s} {f'float32, h={h32:.0e}':>18s}")
at_best_h = {}
for fault in ["none (correct)", "tanh' at the wrong point", "wrong sign of dW2", "gradient 1% too large",
              "gradient 0.01% too large"]:
    row = [worst_error(params_chk, X_chk, Y_chk, faulty_grads(params_chk, X_chk, Y_chk, fault), 1e-5),
           worst_error(params32, X32, Y32, faulty_grads(params32, X32, Y32, fault), 1e-5),
           worst_error(params32, X32, Y32, faulty_grads(params32, X32, Y32, fault), h32)]
    at_best_h[fault] = row[2]
    print(f"{fault:28s} {row[0]:9.1e} {row[1]:9.1e} {row[2]:18.1e}")
print(f"\nat float32's best h the 0.01% fault's error is "
      f"{at_best_h['gradient 0.01% too large'] / at_best_h['none (correct)']:.1f}x the correct network's")

# %% [markdown] key="ch02-float32-verdict"
# What is true, then: in float32 a gross bug still stands out (errors near 1, against about 1e-2 for the correct
# network), but the float64 thresholds do not apply, the result depends on `h`, and a bug that changes the
# gradient by less than the rounding noise is invisible: at `h = 1e-5` even the 1% fault looks like the correct
# network, and at float32's best `h` the 0.01% fault comes out only about twice as large as it (the cell prints the
# ratio; it depends on the random draws: 1.8 and 2.3 in two of our runs). In float64 every
# one of them is many times
# above `1e-7`.

# %% [markdown] key="ch02-overfit-tiny-batch"
# **Rule:** gradient-check in float64 on a small problem; train in float32 once the check passes.
#
# ## 8. Sanity check: overfit a tiny batch
#
# A gradient check tests the backward pass against the forward pass, but not whether the whole training
# loop works. The second standard test: a network with enough capacity must drive the loss on a handful of
# examples to (almost) zero. If it cannot, something between the loss and the update is broken (a sign,
# a learning rate, an update that is never applied).
#
# The four XOR points are the tiniest batch there is, and the problem chapter 1's perceptron could not solve.

# %%
X_xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=np.float32)
Y_xor = np.array([[0.0], [1.0], [1.0], [0.0]], dtype=np.float32)
params = init_two_layer(2, 8, 1, np.random.default_rng(1), dtype=np.float32)
lr, steps_xor = 0.2, (200 if quick_mode() else 2000)
with TrainingMonitor("overfit the 4 XOR points", metrics=["loss"], log_scale=True) as mon:
    for step in range(steps_xor + 1):
        loss, grads = two_layer_loss(params, X_xor, Y_xor)
        for name in params:
            params[name] -= lr * grads[name]
        if step % 20 == 0:
            mon.update(step, loss=loss, params=params, grads=grads)
        if mon.stopped:
            break
pred_xor = affine_forward(np.tanh(affine_forward(X_xor, params["W1"], params["b1"])[0]),
                          params["W2"], params["b2"])[0]
print(f"loss after {step} steps: {loss:.2e}")
print("predictions:", np.round(pred_xor[:, 0], 3), " targets:", Y_xor[:, 0])

# %% [markdown] key="ch02-noisy-xor"
# ## 9. Training on noisy XOR
#
# A more realistic version: 400 points scattered around the four corners, labelled by XOR. Same network,
# same loop, and the monitor shows the loss while it trains. Then we draw the learned decision regions, which
# no single line could produce. (In JupyterLab the monitor slows even a run this short by less than 5%; headless,
# its final figure takes about as long as the training: the line under each monitor says what it cost.)

# %%
rng = np.random.default_rng(2)
corners = rng.integers(0, 2, size=(400, 2))
X_noisy = (corners + rng.normal(scale=0.18, size=(400, 2))).astype(np.float32)
Y_noisy = (corners[:, :1] ^ corners[:, 1:]).astype(np.float32)
params = init_two_layer(2, 8, 1, np.random.default_rng(3), dtype=np.float32)
steps_noisy = 100 if quick_mode() else 1500
with TrainingMonitor("two-layer net on noisy XOR", metrics=["loss"]) as mon:
    for step in range(steps_noisy + 1):
        loss, grads = two_layer_loss(params, X_noisy, Y_noisy)
        for name in params:
            params[name] -= 0.5 * grads[name]
        if step % 25 == 0:
            mon.update(step, loss=loss, params=params, grads=grads)
        if mon.stopped:
            break


def predict(X):
    hidden = np.tanh(affine_forward(X, params["W1"], params["b1"])[0])
    return affine_forward(hidden, params["W2"], params["b2"])[0][:, 0]


accuracy = ((predict(X_noisy) > 0.5) == (Y_noisy[:, 0] > 0.5)).mean()
print(f"final loss {loss:.4f}, training accuracy {accuracy:.1%}")
grid = np.linspace(-0.6, 1.6, 120, dtype=np.float32)
gx, gy = np.meshgrid(grid, grid)
scores = predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
fig, ax = plt.subplots(figsize=(4, 4))
ax.contourf(gx, gy, scores > 0.5, alpha=0.25, cmap="coolwarm")
ax.scatter(X_noisy[:, 0], X_noisy[:, 1], c=Y_noisy[:, 0], s=8, cmap="coolwarm")
ax.set_title("decision regions of the two-layer net")
plt.show()

# %% [markdown] key="ch02-next"
# ## What's next
#
# `tanh` worked here, but deep networks are built from ReLUs, and classifiers end with a sigmoid and a
# cross-entropy loss. Chapter 3 adds both, and then meets a deep network that refuses to learn: its gradients
# are right (the gradient check says so), yet the cost barely moves. The culprit is the initialisation.
