# ---
# jupyter:
#   course:
#     gives_away:
#       02_dense_backprop: the given mlp_backward (affine layers)
#       03_activations: the given MLP's ReLU, sigmoid, He and Xavier init
#     time_budget_seconds: 180
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

# %% [markdown] key="ch04-intro"
# # Chapter 4: Softmax, cross-entropy and mini-batch training on MNIST
#
# A learner trained a small network on MNIST, the 70,000 handwritten digits: 784 inputs (28 x 28 pixels), a hidden
# layer of 10 sigmoid units and a softmax over the 10 digits. Training went fine, but when they printed the corner of
# the first weight matrix before and after training, `W1[:3, :3]`, the numbers were *exactly* the same. Their
# conclusion: "the first layer never learns".
#
# By the end of this chapter you will know why they saw that, show that the first layer does learn, train that
# network properly, and then a deeper one that gets more than 97% of the test digits right (on the full data set).
#
# **You will write** six functions, each checked by tests:
#
# 1. `softmax(z)`: probabilities from scores, without overflowing.
# 2. `softmax_cross_entropy(logits, y)`: the loss for classification and its gradient.
# 3. `one_hot(y, num_classes)`: labels as rows of 0s with a single 1.
# 4. `iterate_minibatches(X, y, batch_size, rng)`: one shuffled pass over the training set, in small batches.
# 5. `sgd_step(params, grads, lr)`: one step of gradient descent, in place.
# 6. `accuracy(logits, y)`: the fraction of examples classified correctly.
#
# The dense layers, sigmoid and ReLU you wrote in chapters 2 and 3 are given here in a locked cell, so this chapter
# stands on its own.

# %% nbgrader={"grade_id": "setup", "schema_version": 3, "solution": false, "grade": false, "locked": true, "task": false}
import time

import numpy as np
import matplotlib.pyplot as plt

from course.data import load_mnist
from course.monitor import TrainingMonitor
from course.runtime import quick_mode
from course.i18n import gettext
from course.testing import assert_close, assert_returns_tuple, assert_shape, passed, run

# %matplotlib inline

QUICK = quick_mode()  # True under the grader and in the tests: the demos then train for a few seconds only


# %% [markdown] key="ch04-softmax"
# ## 1. Softmax
#
# A classifier's last layer gives one score (a *logit*) per class. Softmax turns the scores of each example into
# probabilities that are positive and sum to 1:
#
# $$p_{ik} = \frac{e^{z_{ik}}}{\sum_j e^{z_{ij}}}$$
#
# `z` has shape `(N, K)`: one row per example, one column per class, so the sum runs along **axis 1**.
#
# **Overflow.** `np.exp(1000.0)` is `inf`, and `inf / inf` is `nan`. Softmax does not change when you add the same
# number to every score of a row, so subtract each row's maximum first: the largest exponent is then
# $e^0 = 1$ and nothing overflows. Your function must work for logits as large as $\pm 10^4$.

# %% nbgrader={"grade_id": "softmax", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def softmax(z):
    """Row-wise softmax.

    z: (N, K) logits. Returns: (N, K) probabilities; every row sums to 1.
    Stable for logits up to 1e4 in magnitude (subtract each row's maximum before np.exp).
    dtype: the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_softmax", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
z_small = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
p_small = run(softmax, z_small)
assert_shape(p_small, (2, 3), "softmax(z_small)")
assert_close(p_small, [[0.09003057, 0.24472847, 0.66524096], [1 / 3, 1 / 3, 1 / 3]], "softmax(z_small)", 1e-6)
assert_close(p_small.sum(axis=1), [1.0, 1.0], "row sums of softmax(z_small)")
p_big = run(softmax, np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
assert np.all(np.isfinite(p_big)), gettext("softmax overflowed for large logits: {p_big}", p_big=p_big)
assert_close(p_big, [[1.0, 0.0], [0.5, 0.5]], "softmax of large logits")
p32 = np.asarray(run(softmax, np.array([[1.0, 2.0, 3.0]], np.float32)))
assert p32.dtype == np.float32, gettext("softmax of float32 logits returned dtype {dtype}: keep the input's dtype "
                                        "(float32 in, float32 out; the chapter trains in float32)", dtype=p32.dtype)
passed("softmax")
### BEGIN HIDDEN TESTS
from autograder.checks import check_softmax

check_softmax(softmax)
### END HIDDEN TESTS

# %% [markdown] key="ch04-cross-entropy"
# ## 2. Cross-entropy loss and its gradient
#
# For an example with label $y_i$ the loss is the negative log-probability of the right class,
# $-\log p_{i, y_i}$, and the loss of a batch is the **mean** over its $N$ examples. Its gradient with respect to
# the logits is remarkably simple:
#
# $$\frac{\partial L}{\partial z_{ik}} = \frac{1}{N}\left(p_{ik} - [k = y_i]\right)$$
#
# the probabilities, minus 1 at the true class, divided by $N$ (because the loss is a mean).
#
# **Stability.** Don't compute `np.log(softmax(z))`: for a logit $10^4$ below the best one, the probability
# underflows to 0 and the log becomes `-inf`. Use the log-sum-exp form instead, with $m_i = \max_k z_{ik}$:
#
# $$\log p_{ik} = (z_{ik} - m_i) - \log \sum_j e^{z_{ij} - m_i}$$
#
# `y` holds integer labels, shape `(N,)` (MNIST's are `uint8`). `log_probs[np.arange(N), y]` picks each row's
# entry at its label.

# %% nbgrader={"grade_id": "softmax_cross_entropy", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy and its gradient.

    logits: (N, K); y: (N,) integer labels in 0..K-1.
    Returns: (loss, dlogits): loss a float, the MEAN over the N examples; dlogits (N, K) = (softmax - one_hot) / N.
    Exact and finite for logits up to 1e4 in magnitude (log-sum-exp, not np.log(softmax(...))).
    dtype: loss a Python float; dlogits the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    N = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(N), y] -= 1
    return float(loss), dlogits / N
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_softmax_cross_entropy", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
logits_small = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
y_small = np.array([0, 2])
result = run(softmax_cross_entropy, logits_small, y_small)
assert_returns_tuple(result, 2, "softmax_cross_entropy(logits_small, y_small)", "loss, dlogits")
loss_small, d_small = result
assert_close(loss_small, 1.4185398, "loss (the mean of -log p of the true classes)", 1e-6)
assert_shape(d_small, (2, 3), "dlogits")
assert_close(d_small, [[-0.17050, 0.12122, 0.04928], [0.05430, 0.40124, -0.45554]], "dlogits", 1e-3, 1e-5)
loss_zero, _ = run(softmax_cross_entropy, np.zeros((5, 10)), np.arange(5))
assert_close(loss_zero, np.log(10), "loss when all 10 classes get the same score (should be ln 10)")
loss_big, d_big = run(softmax_cross_entropy, np.array([[1e4, 0.0, -1e4]]), np.array([2]))
assert_close(loss_big, 2e4, "loss for logits [1e4, 0, -1e4] and label 2 (should be 2e4, not inf)")
d32 = np.asarray(run(softmax_cross_entropy, np.array([[1.0, 2.0, 3.0]], np.float32), np.array([2]))[1])
assert d32.dtype == np.float32, gettext("softmax_cross_entropy on float32 logits returned dlogits of dtype {dtype}: "
                                        "keep the input's dtype (float32 in, float32 out; the loss is a Python float)",
                                        dtype=d32.dtype)
passed("softmax_cross_entropy")
### BEGIN HIDDEN TESTS
from autograder.checks import check_softmax_cross_entropy

check_softmax_cross_entropy(softmax_cross_entropy)
### END HIDDEN TESTS

# %% [markdown] key="ch04-ce-gradcheck"
# ### Is the gradient right? Compare it with finite differences
#
# Chapter 2 showed how to test a gradient: nudge each input a little and watch the loss. Here is that test for your
# cross-entropy, in float64 (float32 is too coarse for finite differences).

# %%
def numerical_grad_logits(logits, y, h=1e-5):
    """Central differences of the mean cross-entropy with respect to every logit."""
    grad = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape):
        old = logits[idx]
        logits[idx] = old + h
        up, _ = softmax_cross_entropy(logits, y)
        logits[idx] = old - h
        down, _ = softmax_cross_entropy(logits, y)
        logits[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad


rng_check = np.random.default_rng(0)
z_check, y_check = rng_check.normal(size=(6, 4)), rng_check.integers(0, 4, size=6)
_, analytic = softmax_cross_entropy(z_check, y_check)
numeric = numerical_grad_logits(z_check.copy(), y_check)
rel = np.abs(analytic - numeric).max() / max(np.abs(analytic).max(), np.abs(numeric).max())
print(f"relative error between your dlogits and finite differences: {rel:.1e} (should be below 1e-7)")


# %% [markdown] key="ch04-one-hot"
# ## 3. One-hot labels
#
# The gradient above is "probabilities minus the label's one-hot row". `one_hot(y, K)` builds those rows: an
# `(N, K)` array of zeros with a 1 in column `y[i]` of row `i`. The width is `num_classes`, even when the batch
# happens not to contain the largest label.

# %% nbgrader={"grade_id": "one_hot", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def one_hot(y, num_classes):
    """One-hot encoding.

    y: (N,) integer labels in 0..num_classes-1. Returns: (N, num_classes) float array, 1.0 at column y[i] of row i.
    dtype: float64.
    """
    ### BEGIN SOLUTION
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_one_hot", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 1}
oh = run(one_hot, np.array([2, 0, 1, 2]), 4)
assert_shape(oh, (4, 4), "one_hot([2, 0, 1, 2], 4)")
assert_close(oh, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], "one_hot([2, 0, 1, 2], 4)")
# The width is num_classes even when the largest labels are missing; MNIST's labels are uint8.
assert_close(run(one_hot, np.array([1, 0], dtype=np.uint8), 5), [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]],
             "one_hot(uint8 labels [1, 0], 5) (5 columns although no label is above 1)")
passed("one_hot")
### BEGIN HIDDEN TESTS
from autograder.checks import check_one_hot

check_one_hot(one_hot)
### END HIDDEN TESTS

# %% [markdown] key="ch04-minibatches"
# ## 4. Mini-batches
#
# Computing the gradient on all 60,000 training images for every step is slow, and one example at a time is noisy
# and wastes the speed of matrix products. The usual compromise: split each *epoch* (one pass over the training
# set) into mini-batches of, say, 64 examples, and take one gradient step per batch.
#
# The order must be shuffled every epoch (the MNIST files are not random, and the same batches every epoch
# make training worse), and every example must be used exactly once per epoch. The contract:
#
# - draw the epoch's visiting order with `rng.permutation(N)` (all the randomness comes from `rng`);
# - yield `(X_batch, y_batch)` for consecutive slices of that order of `batch_size` examples; the last batch is
#   smaller when `batch_size` does not divide `N`;
# - index `X` and `y` with the same indices (they must stay aligned), and don't shuffle `X` or `y` in place.
#
# `X` may have any shape `(N, ...)` (flat vectors or images). Write it as a *generator* (with `yield`), so that
# `for xb, yb in iterate_minibatches(...)` gets one batch at a time.

# %% nbgrader={"grade_id": "iterate_minibatches", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def iterate_minibatches(X, y, batch_size, rng):
    """One epoch of shuffled mini-batches.

    X: (N, ...) inputs; y: (N,) labels; batch_size: examples per batch; rng: np.random.Generator.
    Yields: (X_batch, y_batch) pairs in the order rng.permutation(N); every batch has batch_size examples except
    the last, which is smaller when batch_size does not divide N. Every example appears exactly once.
    dtype: the batches keep X's and y's dtypes (they are rows of X and y).
    """
    ### BEGIN SOLUTION
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        yield X[batch], y[batch]
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_iterate_minibatches", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
X_ids = np.arange(10).reshape(10, 1) * 1.0  # each example's value is its index
y_ids = np.arange(10) + 100


def one_epoch(rng):
    """All batches of one epoch over (X_ids, y_ids) with batch_size 4."""
    return run(lambda: list(iterate_minibatches(X_ids, y_ids, 4, rng)), name="iterate_minibatches")


def epoch_order(rng):
    return [int(v) for xb, _ in one_epoch(rng) for v in xb[:, 0]]


batches = one_epoch(np.random.default_rng(7))
assert_close(X_ids[:, 0], np.arange(10), "X after an epoch (shuffle the indices, not X or y in place)")
assert_close(y_ids, np.arange(10) + 100, "y after an epoch (shuffle the indices, not X or y in place)")
sizes = [len(yb) for _, yb in batches]
assert sizes == [4, 4, 2], gettext("expected batch sizes [4, 4, 2] (the last one smaller), got {sizes}", sizes=sizes)
seen = np.concatenate([xb[:, 0] for xb, _ in batches]).astype(int)
assert sorted(seen) == list(range(10)), gettext("every example must appear exactly once per epoch, saw {seen}",
                                                  seen=sorted(seen))
assert list(seen) != list(range(10)), gettext("the examples came in their original order: shuffle them with rng")
for xb, yb in batches:
    assert_close(yb, xb[:, 0] + 100, "labels of a batch (X and y must stay aligned)")
# All the randomness comes from rng: the same seed gives the same order, another seed another order, and every
# epoch drawn from one generator has a new order.
assert epoch_order(np.random.default_rng(7)) == list(seen), \
    gettext("two generators with the same seed gave different orders: shuffle with rng, not np.random")
assert epoch_order(np.random.default_rng(8)) != list(seen), \
    gettext("generators with different seeds gave the same order: draw the permutation from the rng argument")
shared_rng = np.random.default_rng(9)
assert epoch_order(shared_rng) != epoch_order(shared_rng), \
    gettext("two epochs drawn from the same rng came in the same order: draw a new rng.permutation(N) at every call")
passed("iterate_minibatches")
### BEGIN HIDDEN TESTS
from autograder.checks import check_iterate_minibatches

check_iterate_minibatches(iterate_minibatches)
### END HIDDEN TESTS

# %% [markdown] key="ch04-sgd-step"
# ## 5. One step of gradient descent
#
# The network keeps its parameters in a dict, `params = {"W1": ..., "b1": ..., "W2": ..., ...}`, and
# back-propagation returns a dict of gradients with the same keys. A step of stochastic gradient descent moves every
# parameter a little against its gradient:
#
# $$\theta \leftarrow \theta - \eta\, \frac{\partial L}{\partial \theta}$$
#
# Update the arrays **in place** (`p -= ...`), so that everything that holds them (the training loop, the monitor)
# sees the new values. `params[k] = params[k] - lr * g` is not in place: it puts a new array in the dict. In-place
# updates also keep the parameters' dtype (float32 here) and avoid allocating new arrays at every step.

# %% nbgrader={"grade_id": "sgd_step", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def sgd_step(params, grads, lr):
    """Plain SGD, in place.

    params, grads: dicts name -> array with the same keys and shapes; lr: learning rate.
    For every name: params[name] -= lr * grads[name] (in place). Returns None.
    dtype: every params[name] keeps its dtype (a float32 weight stays float32).
    """
    ### BEGIN SOLUTION
    for name in params:
        params[name] -= lr * grads[name]
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_sgd_step", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
W_demo = np.ones((2, 3), dtype=np.float32)
params_demo = {"W": W_demo, "b": np.zeros(3, dtype=np.float32)}
grads_demo = {"W": np.full((2, 3), 2.0, dtype=np.float32), "b": np.array([1.0, -1.0, 0.0], dtype=np.float32)}
grads_before = {k: g.copy() for k, g in grads_demo.items()}
sgd_step(params_demo, grads_demo, 0.1)
for k in grads_demo:
    assert_close(grads_demo[k], grads_before[k], gettext("grads['{k}'] after the step (only params may change)", k=k),
                 0, 0)
assert params_demo["W"] is W_demo, gettext("params['W'] was replaced by a new array: update it in place (-=)")
assert W_demo.dtype == np.float32, gettext("the update changed W's dtype to {dtype}", dtype=W_demo.dtype)
assert_close(W_demo, np.full((2, 3), 0.8, dtype=np.float32), "W after one step (1 - 0.1 * 2)", 1e-6)
assert_close(params_demo["b"], np.array([-0.1, 0.1, 0.0], dtype=np.float32), "b after one step", 1e-6)
passed("sgd_step")
### BEGIN HIDDEN TESTS
from autograder.checks import check_sgd_step

check_sgd_step(sgd_step)
### END HIDDEN TESTS

# %% [markdown] key="ch04-accuracy"
# ## 6. Accuracy
#
# The loss is what we optimise; accuracy is what we report: the fraction of examples whose highest score is at the
# right class. (Softmax doesn't change which score is highest, so logits work as well as probabilities.) Return a
# Python float between 0 and 1.

# %% nbgrader={"grade_id": "accuracy", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def accuracy(logits, y):
    """Fraction of correct predictions.

    logits: (N, K) scores (or probabilities), any float dtype; y: (N,) integer labels.
    Returns: a Python float in [0, 1] (float(...), not a NumPy float32 or a 0-d array).
    """
    ### BEGIN SOLUTION
    predicted = np.argmax(logits, axis=1)
    return float(np.mean(predicted == y))
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_accuracy", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 1}
acc_demo = run(accuracy, np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]), np.array([1, 0, 0, 0]))
assert_close(acc_demo, 0.75, "accuracy with 3 of 4 right")
assert isinstance(acc_demo, float), gettext("accuracy should return a Python float, got {type}",
                                             type=type(acc_demo).__name__)
labels_big = (np.arange(3000) % 10).astype(np.uint8)  # a large batch with MNIST's uint8 labels, all right
assert_close(run(accuracy, np.eye(10)[labels_big], labels_big), 1.0,
             "accuracy of 3000 correct rows with uint8 labels (count the matches as integers, not in uint8)")
passed("accuracy")
### BEGIN HIDDEN TESTS
from autograder.checks import check_accuracy

check_accuracy(accuracy)
### END HIDDEN TESTS

# %% [markdown] key="ch04-mnist"
# ## 7. MNIST
#
# `load_mnist(split)` returns the images as `uint8` arrays of shape `(N, 28, 28)` with values 0..255, and the labels
# as `(N,)`. (The first call downloads the four official files and checks them; later calls read the cache. In the
# course's tests a 10,000-image subset is used instead.)
#
# We scale the pixels to [0, 1], flatten each image to a vector of 784 numbers, and train in **float32**: half
# the memory of float64 and about twice as fast, and plenty precise for training (not for gradient checks).

# %%
X_train_img, y_train = load_mnist("train")
X_test_img, y_test = load_mnist("test")
print("train:", X_train_img.shape, X_train_img.dtype, " test:", X_test_img.shape)

X_train = X_train_img.reshape(len(X_train_img), -1).astype(np.float32) / 255
X_test = X_test_img.reshape(len(X_test_img), -1).astype(np.float32) / 255
if QUICK:  # a few seconds of training is enough to run the demos under the grader
    X_train, y_train, X_test, y_test = X_train[:2000], y_train[:2000], X_test[:500], y_test[:500]
# Hold out the last tenth of the training images as a validation split: training is watched on it, and the test
# set is used once per network, at the end.
n_val = len(X_train) // 10
X_val, y_val = X_train[-n_val:], y_train[-n_val:]
X_train, y_train = X_train[:-n_val], y_train[:-n_val]
print("training on", X_train.shape, X_train.dtype, " validation:", X_val.shape)

fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for ax, img, label in zip(axes, X_train_img, y_train):
    ax.imshow(img, cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
plt.show()


# %% [markdown] key="ch04-network"
# ## 8. The network
#
# Here are the layers of chapters 2 and 3 (locked), put together as a multi-layer perceptron whose parameters live
# in a dict: `W1, b1, W2, b2, ...`. The hidden layers use `hidden="sigmoid"` or `hidden="relu"`, and the last layer
# gives the logits; your `softmax_cross_entropy` turns them into the loss and its gradient.

# %% nbgrader={"grade_id": "mlp", "schema_version": 3, "solution": false, "grade": false, "locked": true, "task": false}
def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow, via tanh."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def init_mlp(dims, rng, hidden="relu", out_scale=None):
    """Parameters {W1, b1, ...} of an MLP with layer sizes dims, in float32.

    Hidden layers: He init (ReLU) or Xavier init (sigmoid). The last layer uses out_scale if given.
    """
    params = {}
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:]), 1):
        scale = np.sqrt((2.0 if hidden == "relu" else 1.0) / d_in)
        if i == len(dims) - 1 and out_scale is not None:
            scale = out_scale
        params[f"W{i}"] = (rng.standard_normal((d_in, d_out)) * scale).astype(np.float32)
        params[f"b{i}"] = np.zeros(d_out, dtype=np.float32)
    return params


def mlp_forward(params, X, hidden="relu"):
    """Logits (N, K) and the list of layer inputs [X, h1, h2, ...] (kept for the backward pass)."""
    n_layers = len(params) // 2
    acts = [X]
    for i in range(1, n_layers):
        pre = acts[-1] @ params[f"W{i}"] + params[f"b{i}"]
        acts.append(sigmoid(pre) if hidden == "sigmoid" else np.maximum(pre, 0))
    return acts[-1] @ params[f"W{n_layers}"] + params[f"b{n_layers}"], acts


def mlp_backward(params, acts, dlogits, hidden="relu"):
    """Gradients {W1, b1, ...} of the loss, given dlogits (N, K) and the layer inputs from mlp_forward."""
    n_layers = len(params) // 2
    grads = {}
    delta = np.asarray(dlogits, dtype=acts[0].dtype)
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0)
        if i > 1:
            delta = delta @ params[f"W{i}"].T
            a = acts[i - 1]
            delta = delta * (a * (1 - a)) if hidden == "sigmoid" else delta * (a > 0)
    return grads


def evaluate(params, X, y, hidden="relu"):
    """Accuracy of the network on (X, y), computed in chunks."""
    logits = np.concatenate([mlp_forward(params, X[i:i + 5000], hidden)[0] for i in range(0, len(X), 5000)])
    return accuracy(logits, y)


# %% [markdown] key="ch04-initial-loss"
# ### A sanity step before training: the loss at initialisation
#
# Before training anything, predict what the loss should be and check it. If the last layer starts with small
# weights, the logits are all close to 0, softmax gives every digit probability $1/10$, and the cross-entropy is
#
# $$-\log \tfrac{1}{10} = \ln 10 \approx 2.303.$$
#
# A very different initial loss means a bug (labels shifted, a sum instead of a mean, softmax over the wrong axis)
# or an initialisation that makes the network confidently wrong from the start. This check costs one forward pass.

# %%
rng = np.random.default_rng(0)
params = init_mlp([784, 10, 10], rng, hidden="sigmoid", out_scale=0.01)
logits0, _ = mlp_forward(params, X_train, hidden="sigmoid")
loss0, _ = softmax_cross_entropy(logits0, y_train)
print(f"loss at initialisation: {loss0:.4f}   ln(10) = {np.log(10):.4f}")
assert abs(loss0 - np.log(10)) < 0.05, "the initial loss should be close to ln(10): check the loss and the init"

big = init_mlp([784, 10, 10], np.random.default_rng(0), hidden="sigmoid", out_scale=3.0)
loss_big_init, _ = softmax_cross_entropy(mlp_forward(big, X_train, hidden="sigmoid")[0], y_train)
print(f"with a large last layer (std 3) the network starts confidently wrong: loss {loss_big_init:.2f}")


# %% [markdown] key="ch04-first-layer"
# ## 9. "The first layer never learns"
#
# Now the experiment from the report: the 784-10-10 net (784 inputs, 10 sigmoid units, softmax over 10 digits)
# trained with SGD, printing the corner of `W1` before and after. The monitor shows the loss; we also hand it the
# parameters and gradients (`params=`, `grads=`) for its weight panels, and the validation accuracy of each epoch
# (drawn as dots). In JupyterLab the browser draws its plots and the monitor keeps within 5% of these short runs;
# headless, the one final figure costs about as much as a run: the line under each monitor says what it cost.

# %%
def train(params, hidden, epochs, lr, batch_size, rng, title, lr_decay=False):
    """Mini-batch SGD with your functions; returns the per-epoch (train loss, validation accuracy)."""
    history = []
    steps_per_epoch = int(np.ceil(len(X_train) / batch_size))
    with TrainingMonitor(title, metrics=["loss"], log_scale=True) as monitor:
        for epoch in range(epochs):
            # cosine decay: large steps first, small ones at the end
            lr_now = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs)) if lr_decay else lr
            losses = []
            for b, (xb, yb) in enumerate(iterate_minibatches(X_train, y_train, batch_size, rng)):
                logits, acts = mlp_forward(params, xb, hidden)
                loss, dlogits = softmax_cross_entropy(logits, yb)
                grads = mlp_backward(params, acts, dlogits, hidden)
                sgd_step(params, grads, lr_now)
                losses.append(loss)
                if b % 20 == 0:
                    monitor.update(epoch * steps_per_epoch + b, loss=loss, params=params, grads=grads)
                if monitor.stopped:
                    return history
            history.append((float(np.mean(losses)), evaluate(params, X_val, y_val, hidden)))
            monitor.update((epoch + 1) * steps_per_epoch, val_accuracy=history[-1][1])  # per epoch: drawn as dots
            print(f"epoch {epoch + 1}: train loss {history[-1][0]:.4f}, validation accuracy {history[-1][1]:.2%}")
    return history


rng = np.random.default_rng(0)
params = init_mlp([784, 10, 10], rng, hidden="sigmoid", out_scale=0.01)
W1_before = params["W1"].copy()
print("W1[:3, :3] before training:\n", W1_before[:3, :3])
train(params, "sigmoid", epochs=1 if QUICK else 3, lr=0.5, batch_size=32, rng=rng, title="784-10-10, as reported")
print("W1[:3, :3] after training:\n", params["W1"][:3, :3])
print("identical:", np.array_equal(W1_before[:3, :3], params["W1"][:3, :3]))

# %% [markdown] key="ch04-first-layer-histogram"
# The corner really did not move. But is that the whole first layer? Look at *all* the changes `W1_after - W1_before`
# at once, in a histogram.

# %%
change = params["W1"] - W1_before
always_zero = X_train.max(axis=0) == 0  # pixels that are 0 in every training image
print(f"{always_zero.sum()} of 784 pixels ({always_zero.mean():.1%}) are 0 in every training image")
print(f"W1 entries that changed: {np.mean(change != 0):.1%}; largest change {np.abs(change).max():.3g}")
print(f"rows of W1 of always-zero pixels: largest change {np.abs(change[always_zero]).max():.3g}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.3))
bins = np.linspace(-np.abs(change).max(), np.abs(change).max(), 81)
axes[0].hist(change[~always_zero].ravel(), bins=bins, color="tab:blue", label="pixels that are sometimes on")
axes[0].hist(change[always_zero].ravel(), bins=bins, color="tab:red", alpha=0.7, label="always-zero pixels: all 0")
axes[0].set_yscale("log")
axes[0].set_title("W1 after - W1 before")
axes[0].legend(fontsize=8)
axes[1].imshow(always_zero.reshape(28, 28), cmap="Reds")
axes[1].set_title("always-zero pixels (red)")
axes[2].imshow(np.abs(change).max(axis=1).reshape(28, 28), cmap="viridis")
axes[2].set_title("largest |change| of each pixel's weights")
for ax in axes[1:]:
    ax.axis("off")
plt.show()

# %% [markdown] key="ch04-first-layer-why"
# **Why.** The gradient of the first layer is $\partial L / \partial W_1 = X^\top \delta_1$: row $j$ of it is
# $\sum_i x_{ij}\,\delta_{1,i}$, a sum over the batch of pixel $j$'s value times the error signal. A pixel that is 0
# in every image contributes nothing, so its row of `W1` gets an exactly zero gradient and keeps its initial values
# forever. MNIST digits are centred in a 28 x 28 box with an empty border, so `W1[:3, :3]` (the weights of
# pixels 0, 1, 2: the top-left corner) is precisely a block that can never change. The rest of `W1` changes, by
# amounts that look small because $\delta_1$ passes through the last layer's small weights and the sigmoid's slope,
# which is at most 1/4.
#
# The lesson: to see whether a layer learns, look at the distribution of its changes (or of its gradients), not at
# a few hand-picked entries. The live monitor's weight panels exist for this.
#
# ## 10. Training the 784-10-10 net properly
#
# With a larger learning rate, more epochs and a learning rate that decays towards the end, the same small network
# gets about 93% of the test digits right on the full MNIST (see `benchmarks/RESULTS.md`). Its 10 hidden units are a
# bottleneck: the wider and deeper network of the next section, trained the same way, does clearly better.

# %%
epochs_small = 1 if QUICK else 10
rng = np.random.default_rng(1)
params_small = init_mlp([784, 10, 10], rng, hidden="sigmoid", out_scale=0.01)
t0 = time.perf_counter()
hist_small = train(params_small, "sigmoid", epochs=epochs_small, lr=0.5, batch_size=32, rng=rng,
                   title="784-10-10 (sigmoid)", lr_decay=True)
test_small = evaluate(params_small, X_test, y_test, "sigmoid")  # the test set, used once for this network
print(f"784-10-10: test accuracy {test_small:.2%} after {time.perf_counter() - t0:.1f} s")
print(f"RESULT ch04.notebook_small_test_accuracy={test_small:.4f}")
print("parameters stayed float32:", all(p.dtype == np.float32 for p in params_small.values()))

# %% [markdown] key="ch04-deeper"
# ## 11. A deeper network: 784-128-64-10 with ReLU
#
# Two ReLU hidden layers of 128 and 64 units, He initialisation, and the same training loop. On the full MNIST these
# settings reach about 97.7% test accuracy; `benchmarks/bench_mnist.py` trains it with batches of 128 and a learning
# rate of 0.3 for 8 epochs and reaches about 98% in well under a minute of CPU time on two cores (figures in
# `benchmarks/RESULTS.md`). On the course's 10,000-image test subset you will see lower numbers: it is smaller, and its
# 2,000 test images (the first ones of the official test set) are harder than average.

# %%
epochs_deep = 1 if QUICK else 10
rng = np.random.default_rng(2)
params_deep = init_mlp([784, 128, 64, 10], rng, hidden="relu")
t0 = time.perf_counter()
hist_deep = train(params_deep, "relu", epochs=epochs_deep, lr=0.1, batch_size=64, rng=rng,
                  title="784-128-64-10 (ReLU)", lr_decay=True)
test_deep = evaluate(params_deep, X_test, y_test, "relu")  # the test set, used once for this network
print(f"784-128-64-10: test accuracy {test_deep:.2%} after {time.perf_counter() - t0:.1f} s")
print(f"RESULT ch04.notebook_deep_test_accuracy={test_deep:.4f}")

# %%
logits_test, _ = mlp_forward(params_deep, X_test, "relu")
wrong = np.flatnonzero(logits_test.argmax(axis=1) != y_test)[:8]
if len(wrong):
    fig, axes = plt.subplots(1, len(wrong), figsize=(1.1 * len(wrong), 1.5))
    for ax, i in zip(np.atleast_1d(axes), wrong):
        ax.imshow(X_test[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"{y_test[i]} -> {logits_test[i].argmax()}", fontsize=9)
        ax.axis("off")
    plt.suptitle("test digits the network gets wrong (true -> predicted)", fontsize=9)
    plt.show()

# %% [markdown] key="ch04-next"
# ## What's next
#
# Dense layers treat the image as a bag of 784 numbers: move a digit by one pixel and every input changes. Chapter 5
# builds convolutional layers, which look for the same small patterns everywhere in the image, and trains them on
# the colour photos of CIFAR-10.
