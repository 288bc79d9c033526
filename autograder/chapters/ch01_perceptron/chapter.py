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

# %% [markdown] key="ch01-intro"
# # Chapter 1: The perceptron
#
# In 1958 Frank Rosenblatt built a machine that learned to tell shapes apart by adjusting its weights after
# every mistake. This chapter rebuilds it in a dozen lines of NumPy. It is the simplest neural network there is:
# one neuron, a step function and a learning rule.
#
# **You will write** two functions, each checked by tests:
#
# 1. `perceptron_predict(X, w, b)`: the neuron's output for a batch of inputs.
# 2. `perceptron_train(X, y, lr, epochs, rng)`: Rosenblatt's learning rule.
#
# Then you will watch it learn a separable problem, and fail on XOR, the problem that stalled neural
# network research for a decade.
#
# **Conventions used throughout the course:** arrays are *batch-first*: `X` has shape `(N, D)`, with one
# example per row. Random numbers come from a seeded `np.random.default_rng`, so every run gives the same result.
#
# Each exercise cell has a visible test cell below it. Run it after you write your code: a failure
# says what was expected. Hidden tests check more cases when the notebook is graded.

# %% nbgrader={"grade_id": "setup", "schema_version": 3, "solution": false, "grade": false, "locked": true, "task": false}
import numpy as np
import matplotlib.pyplot as plt

from course.data import make_blobs, make_xor
from course.monitor import TrainingMonitor
from course.i18n import gettext
from course.testing import assert_close, assert_shape, passed, run

# %matplotlib inline

# %% [markdown] key="ch01-predict"
# ## 1. Predicting
#
# A perceptron computes a score for each example, $s = x \cdot w + b$, and outputs **1 if $s > 0$, else 0**.
# A score of exactly zero counts as class 0.
#
# For a whole batch this is one matrix-vector product: `X @ w` has shape `(N,)`. Don't loop over rows.

# %% nbgrader={"grade_id": "perceptron_predict", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def perceptron_predict(X, w, b):
    """Perceptron labels.

    X: (N, D) inputs; w: (D,) weights; b: scalar bias.
    Returns: (N,) integer array of 0/1 labels, 1 where X @ w + b > 0.
    dtype: an integer array, whatever the float dtype of X.
    """
    ### BEGIN SOLUTION
    return (X @ w + b > 0).astype(np.int64)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_perceptron_predict", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
X_small = np.array([[2.0, 1.0], [-1.0, -3.0], [0.5, -0.5]])
w_small = np.array([1.0, 1.0])
pred = run(perceptron_predict, X_small, w_small, 0.0)
assert_shape(pred, (3,), "perceptron_predict(X_small, w_small, 0.0)")
assert_close(pred, [1, 0, 0], "labels for X_small (the last score is exactly 0, so class 0)")
assert np.asarray(pred).dtype.kind in "iu", gettext(
    "perceptron_predict returned labels of dtype {dtype}: return an integer array of 0/1 labels, as the docstring "
    "says (cast the comparison: (X @ w + b > 0).astype(np.int64))", dtype=np.asarray(pred).dtype)
assert_close(run(perceptron_predict, X_small, w_small, 5.0), [1, 1, 1], "labels with bias b = 5")
# A batch of 100 rows: the first feature runs from -2 to 2 (never exactly 0), the second is ignored (w = 0).
X_line = np.stack([np.linspace(-2.0, 2.0, 100), np.ones(100)], axis=1)
assert_close(run(perceptron_predict, X_line, np.array([1.0, 0.0]), 0.0), np.repeat([0, 1], 50),
             "labels for a batch of 100 rows (the first 50 scores are negative, the last 50 positive)")
passed("perceptron_predict")
### BEGIN HIDDEN TESTS
from autograder.checks import check_perceptron_predict

check_perceptron_predict(perceptron_predict)
### END HIDDEN TESTS

# %% [markdown] key="ch01-learn"
# ## 2. Learning
#
# Rosenblatt's rule looks at one example at a time and only changes the weights when the prediction is wrong:
#
# $$w \leftarrow w + \eta\,(y_i - \hat y_i)\,x_i, \qquad b \leftarrow b + \eta\,(y_i - \hat y_i)$$
#
# where $\eta$ is the learning rate `lr`. For a missed 1 the update adds $x_i$ to the weights; for a false
# alarm it subtracts $x_i$.
#
# The contract (the tests replay your run with the same seed, so follow it exactly):
#
# - start from `w = np.zeros(D, dtype=X.dtype)` and `b = 0.0`, and update `w` in place (`w += ...`): `w` keeps
#   X's dtype (float32 in, float32 out, as in every chapter of the course);
# - at the start of every epoch, get the visiting order with `order = rng.permutation(N)` (once per epoch);
# - for each `i` in `order`: predict example `i` with the current weights; if wrong, update `w` and `b`;
# - count the mistakes made during each epoch;
# - return `(w, b, errors)` where `errors` is a list with one mistake count per epoch.

# %% nbgrader={"grade_id": "perceptron_train", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def perceptron_train(X, y, lr, epochs, rng):
    """Train a perceptron with Rosenblatt's rule.

    X: (N, D) inputs; y: (N,) labels in {0, 1}; lr: learning rate; epochs: passes over the data;
    rng: np.random.Generator giving each epoch's order via rng.permutation(N).
    Returns: (w (D,), b float, errors list of length epochs).
    dtype: w in X's float dtype; b a float; the error counts ints.
    """
    ### BEGIN SOLUTION
    N, D = X.shape
    w = np.zeros(D, dtype=X.dtype)
    b = 0.0
    errors = []
    for _ in range(epochs):
        mistakes = 0
        for i in rng.permutation(N):
            pred = 1 if X[i] @ w + b > 0 else 0
            if pred != y[i]:
                step = lr * (y[i] - pred)
                w += step * X[i]
                b += step
                mistakes += 1
        errors.append(mistakes)
    return w, float(b), errors
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_perceptron_train", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
X_and = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y_and = np.array([0, 0, 0, 1])
result = run(perceptron_train, X_and, y_and, 1.0, 10, np.random.default_rng(0))
assert isinstance(result, (tuple, list)) and len(result) == 3, gettext("perceptron_train should return (w, b, errors)")
w_and, b_and, errors_and = result
assert_shape(w_and, (2,), "w")
assert len(errors_and) == 10, gettext("errors should have one entry per epoch (10), got {n}", n=len(errors_and))
assert errors_and[0] > 0, gettext("the first epoch starts from w = 0, so it must make at least one mistake")
assert errors_and[-1] == 0, gettext("AND is linearly separable: the last epoch should make no mistakes, got {errors}",
                                     errors=errors_and)
assert_close(w_and, [1.0, 1.0], "w learned for AND with default_rng(0)")
assert_close(b_and, -1.0, "b learned for AND with default_rng(0)")
# A fixed run replayed exactly: same seed, same rule, same visiting orders.
X_t = np.array([[2.0, 1.0], [1.0, -1.0], [-1.0, -2.0], [-2.0, 1.0], [0.5, 2.0], [1.5, -2.5], [-0.5, 0.5],
                [-1.5, -0.5]])
y_t = np.array([1, 1, 0, 0, 1, 0, 1, 0])
w_t, b_t, errors_t = run(perceptron_train, X_t, y_t, 1.0, 5, np.random.default_rng(0))
w_again, _, errors_again = run(perceptron_train, X_t, y_t, 1.0, 5, np.random.default_rng(0))
assert list(errors_again) == list(errors_t) and np.array_equal(w_again, w_t), \
    gettext("two runs with the same seed gave different results: take every order from rng.permutation(N), not "
            "np.random")
assert list(errors_t) == [5, 1, 1, 2, 1], gettext(
    "mistakes per epoch with default_rng(0) should be [5, 1, 1, 2, 1], got {errors}: draw a NEW order with "
    "rng.permutation(N) at the start of every epoch, and predict each example with the CURRENT w and b",
    errors=list(errors_t))
assert_close(w_t, [2.5, 5.0], "w after 5 epochs with default_rng(0)")
assert_close(b_t, 0.0, "b after 5 epochs with default_rng(0)")
# float32 in, float32 out: the same run on a float32 X gives a float32 w.
w32 = np.asarray(run(perceptron_train, X_t.astype(np.float32), y_t, 1.0, 5, np.random.default_rng(0))[0])
assert w32.dtype == np.float32, gettext(
    "perceptron_train on a float32 X returned w of dtype {dtype}: keep X's dtype (float32 in, float32 out): start "
    "from w = np.zeros(D, dtype=X.dtype) and update it in place (w += ...)", dtype=w32.dtype)
assert_close(w32, np.array([2.5, 5.0], dtype=np.float32), "w after 5 epochs on the float32 X with default_rng(0)")
passed("perceptron_train")
### BEGIN HIDDEN TESTS
from autograder.checks import check_perceptron_train

check_perceptron_train(perceptron_train)
### END HIDDEN TESTS

# %% [markdown] key="ch01-watch"
# ## 3. Watching it learn
#
# Two clouds of points that a straight line can separate. They sit away from the origin, so the line has to learn
# its offset `b` as well as its direction `w`, and `b` moves by only `lr` per mistake: it takes several epochs. The
# training monitor plots the number of mistakes in each epoch while training runs. (In JupyterLab it updates
# live; when the notebook runs headless it draws one figure at the end; under the grader it draws nothing.) At the
# end the monitor says what it cost ("monitor cost ... s of the ... s"). In JupyterLab the browser draws its plots
# and the monitor keeps within 5% of the loop's time; headless, its one final figure takes longer than this very
# short training itself (benchmarks/RESULTS.md, per chapter).

# %%
X_blobs, y_blobs = make_blobs(n_per_class=100, gap=2.5, rng=np.random.default_rng(1))
X_blobs = X_blobs + np.array([3.0, 1.5])  # move both blobs away from the origin
# With the same seed, training for k epochs replays the first k epochs of one run, so we can
# watch the run grow one epoch at a time.
with TrainingMonitor("perceptron on two blobs", metrics=["mistakes"], x_label="epoch") as monitor:
    for epochs in range(1, 16):
        w, b, errs = perceptron_train(X_blobs, y_blobs, 1.0, epochs, np.random.default_rng(2))
        monitor.update(epochs, mistakes=errs[-1])
        if errs[-1] == 0:
            break
print("mistakes per epoch:", errs)
print("training accuracy:", (perceptron_predict(X_blobs, w, b) == y_blobs).mean())
print(f"RESULT ch01.blobs_epochs={len(errs)}")


# %%
def plot_boundary(ax, X, y, w, b, title):
    """Scatter the two classes on ax and draw the line X @ w + b = 0, whatever its orientation."""
    ax.scatter(X[y == 0, 0], X[y == 0, 1], s=12, label="class 0")
    ax.scatter(X[y == 1, 0], X[y == 1, 1], s=12, label="class 1")
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    if abs(w[1]) >= abs(w[0]) and abs(w[1]) > 0:  # closer to horizontal: y as a function of x
        xs = np.array([lo[0], hi[0]])
        ax.plot(xs, -(w[0] * xs + b) / w[1], "k--", label="decision boundary")
    elif abs(w[0]) > 0:  # closer to vertical (w = [-1, 0] is a vertical line): x as a function of y
        ys = np.array([lo[1], hi[1]])
        ax.plot(-(w[1] * ys + b) / w[0], ys, "k--", label="decision boundary")
    else:  # w = 0: no line, every point gets the same label
        ax.text(0.5, 0.5, f"w = 0: every point is class {int(b > 0)}", transform=ax.transAxes, ha="center")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_title(title, fontsize=9)


def boundaries_by_epoch(X, y, epochs, seed, suptitle):
    """One panel per epoch in epochs: the line after that epoch and how many points it gets wrong."""
    fig, axes = plt.subplots(1, len(epochs), figsize=(2.6 * len(epochs), 2.8))
    for ax, k in zip(axes, epochs):
        w_k, b_k, _ = perceptron_train(X, y, 1.0, k, np.random.default_rng(seed))
        wrong = int((perceptron_predict(X, w_k, b_k) != y).sum())
        plot_boundary(ax, X, y, w_k, b_k, f"after epoch {k}: {wrong} of {len(y)} wrong")
    axes[0].legend(loc="best", fontsize=7)
    fig.suptitle(suptitle, fontsize=10)
    plt.tight_layout()
    plt.show()


boundaries_by_epoch(X_blobs, y_blobs, [1, 2, 3, len(errs)], 2, "a separable problem: the line moves until it separates")

# %% [markdown] key="ch01-xor"
# ## 4. Where the perceptron fails: XOR
#
# XOR outputs 1 when exactly one input is 1. No straight line puts (0, 1) and (1, 0) on one side and
# (0, 0) and (1, 1) on the other, so the perceptron can never get all four right, however long it trains.
# Minsky and Papert made this point in 1969, and it took multi-layer networks trained with back-propagation
# (chapter 2) to get past it.

# %%
X_xor, y_xor = make_xor()
w_xor, b_xor, errors_xor = perceptron_train(X_xor, y_xor, 1.0, 100, np.random.default_rng(0))
acc_xor = (perceptron_predict(X_xor, w_xor, b_xor) == y_xor).mean()
print("mistakes in the last 10 epochs:", errors_xor[-10:])
print(f"accuracy on XOR after 100 epochs: {acc_xor:.0%} (never 100%)")
# Replay the run epoch by epoch: which lines (w, b) did it try, and how many points did each get wrong?
lines = {}
for k in range(1, 101):
    w_k, b_k, _ = perceptron_train(X_xor, y_xor, 1.0, k, np.random.default_rng(0))
    lines.setdefault((*w_k, b_k), (k, int((perceptron_predict(X_xor, w_k, b_k) != y_xor).sum())))
fewest_wrong = min(wrong for _, wrong in lines.values())
print(f"{len(lines)} different lines in 100 epochs; fewest points wrong by any of them: {fewest_wrong}")
print(f"RESULT ch01.xor_fewest_wrong={fewest_wrong}")
# Draw the lines that cut through the square (the others put all four points in one class).
cuts = [k for (w0, w1, b0), (k, _) in sorted(lines.items(), key=lambda item: item[1][0])
        if 0 < perceptron_predict(X_xor, np.array([w0, w1]), b0).sum() < 4]
boundaries_by_epoch(X_xor, y_xor, cuts[:6], 0, "XOR: whichever way the line turns, points stay wrong")

# %% [markdown] key="ch01-next"
# ## What's next
#
# One neuron draws one line. Chapter 2 stacks neurons into layers and trains them with back-propagation,
# and shows you how to check that your gradients are right.
