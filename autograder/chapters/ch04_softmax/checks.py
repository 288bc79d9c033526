"""Checks for chapter 4 (softmax cross-entropy and mini-batch SGD)."""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch04_softmax import reference as ref
from autograder.chapters.ch04_softmax.dtype_cases import check_float32
from autograder.chapters.messages import gettext as _
from autograder.chapters.messages import join
from course.compare import (
    as_array,
    call,
    expect_close,
    expect_scalar,
    expect_shape,
    expect_tuple,
    fail,
    rngs,
)

__all__ = ["check_softmax", "check_softmax_cross_entropy", "check_one_hot", "check_iterate_minibatches",
           "check_sgd_step", "check_accuracy"]

LABEL_DTYPES = (np.int64, np.uint8, np.int32)  # MNIST labels are uint8


def _logits_cases(seed):
    """(what, logits, labels) cases: random shapes, moderate logits, huge ones (|z| up to 1e4), a batch of 512."""
    cases = []
    for i, rng in enumerate(rngs(seed, 7)):
        N, K = int(rng.integers(2, 30)), int(rng.integers(2, 12))
        if i == 1:
            N = K + 1  # nearly square: wrong-axis mistakes still change the result
        if i == 6:
            N, K = 512, 10  # a realistic MNIST batch
        scale = [1.0, 3.0, 0.1, 10.0, 1e3, 1e4, 3.0][i]
        z = rng.normal(size=(N, K)) * scale
        if i == 5:
            z -= 2e4  # every logit very negative: exp underflows to 0 unless shifted
        y = rng.integers(0, K, size=N).astype(LABEL_DTYPES[i % 3])
        cases.append((_("case {case}: logits {shape}, scale {scale:g}", case=i + 1, shape=z.shape, scale=scale), z, y))
    return cases


def check_softmax(fn):
    """softmax(z) (N, K) -> row-wise probabilities, finite for logits up to 1e4, no overflow warnings."""
    for what, z, _y in _logits_cases(401):
        on = _("softmax on {what}", what=what)
        out = expect_shape(call(fn, z), z.shape, on)
        if not np.all(np.isfinite(out.astype(np.float64))):
            fail(_("softmax on {what} returned nan or inf: subtract each row's maximum before np.exp, so the largest "
                   "exponent is exp(0) = 1", what=what), "nonfinite")
        if not np.allclose(out.sum(axis=1), 1.0, atol=1e-9):
            sums = out.sum(axis=1)
            fail(_("softmax on {what}: each row should sum to 1 (softmax over axis=1), row sums are {sums}...",
                   what=what, sums=sums[:4]))
        expect_close(out, ref.softmax(z), on, 1e-7, 1e-12)
    # A single example (N = 1) and the largest logit taking (almost) all the mass.
    z = np.array([[1e4, 0.0, -1e4]])
    expect_close(call(fn, z), [[1.0, 0.0, 0.0]], "softmax([[1e4, 0, -1e4]])", 0, 1e-12)
    check_float32("softmax", fn)


def _expect_loss(loss, loss_ref, z, what):
    """The loss must equal the reference; the message names the likely property that failed."""
    on = _("loss on {what}", what=what)
    got = float(as_array(loss, on).reshape(-1)[0])
    if abs(got - loss_ref) <= 1e-10 + 1e-7 * abs(loss_ref):
        expect_scalar(loss, loss_ref, on, 1e-7, 1e-10)  # also: a single number
        return
    N = z.shape[0]
    if N > 1 and abs(got - N * loss_ref) <= 1e-7 * abs(N * loss_ref):
        fail(_("loss on {what} is {got!r}, expected {expected!r}: yours is the SUM over the {n} examples; return "
               "the mean", what=what, got=got, expected=loss_ref, n=N))
    if got < loss_ref and (np.abs(z).max() >= 1e3 or loss_ref - got < 1e-3 * max(1.0, loss_ref)):
        fail(_("loss on {what} is {got!r}, expected {expected!r}: it comes out too small, as it does when an eps is "
               "added inside the log (np.log(p + eps)) or probabilities are clipped, which also caps -log p for "
               "logits far apart. Use log-sum-exp: log p = z - max - log(sum(exp(z - max)))", what=what, got=got,
               expected=loss_ref))
    fail(_("loss on {what} is {got!r}, expected {expected!r} (the mean over the examples of -log p[i, y[i]])",
           what=what, got=got, expected=loss_ref))


def check_softmax_cross_entropy(fn):
    """softmax_cross_entropy(logits, y) -> (mean loss, dlogits = (softmax - one_hot) / N)."""
    for what, z, y in _logits_cases(402):
        out = call(fn, z, y)
        loss, dlogits = expect_tuple(out, 2, _("softmax_cross_entropy on {what}", what=what), "loss, dlogits")
        loss_ref, d_ref = ref.softmax_cross_entropy(z, y)
        got = as_array(loss, _("loss on {what}", what=what))
        if got.size == 1 and not np.isfinite(got.astype(np.float64)).all():
            fail(_("loss on {what} is {got}: subtract each row's maximum and use log-sum-exp (log softmax = z - max - "
                   "log(sum(exp(z - max)))), not np.log(softmax(...))", what=what, got=float(got.reshape(()))))
        _expect_loss(loss, loss_ref, z, what)
        dlogits = expect_shape(dlogits, z.shape, _("dlogits on {what}", what=what))
        if not np.all(np.isfinite(dlogits)):
            fail(_("dlogits on {what} contains nan or inf: compute softmax stably (subtract each row's maximum)",
                   what=what), "nonfinite")
        sums = np.asarray(dlogits, dtype=np.float64).sum()
        if abs(sums) > 1e-8:
            fail(_("dlogits on {what}: every row of softmax - one_hot sums to 0, but yours sum to {sums:.3g}",
                   what=what, sums=float(sums)))
        expect_close(dlogits, d_ref, _("dlogits on {what} (should be (softmax(logits) - one_hot(y)) / N)", what=what),
                     1e-7, 1e-12)
    # Known values: uniform logits give ln(K).
    z, y = np.zeros((4, 10)), np.array([0, 3, 9, 5])
    loss, _dlogits = expect_tuple(call(fn, z, y), 2, "softmax_cross_entropy(zeros((4, 10)), y)", "loss, dlogits")
    expect_scalar(loss, np.log(10), _("loss for all-zero logits over 10 classes (should be ln 10)"), 1e-9)
    check_float32("softmax_cross_entropy", fn)


def check_one_hot(fn):
    """one_hot(y, num_classes) -> (N, K) with a single 1 per row at column y[i]."""
    for i, rng in enumerate(rngs(403, 7)):
        N, K = (int(rng.integers(1, 25)), int(rng.integers(2, 12))) if i < 6 else (512, 10)
        y = rng.integers(0, K, size=N).astype(LABEL_DTYPES[i % 3])
        if i == 0:
            y[0], y[-1] = 0, K - 1  # both ends of the label range
        what = _("one_hot(y of {n} labels in 0..{last}, {k})", n=N, last=K - 1, k=K)
        out = expect_shape(call(fn, y, K), (N, K), what)
        if not (np.issubdtype(out.dtype, np.number) or out.dtype == bool):
            fail(_("{what} should be numeric, got dtype {dtype}", what=what, dtype=out.dtype))
        if not np.array_equal(out.sum(axis=1), np.ones(N)):
            fail(_("{what}: every row should contain exactly one 1, row sums are {sums}", what=what,
                   sums=out.sum(axis=1)[:6]))
        expect_close(out, ref.one_hot(y, K), _("{what} (1 at column y[i] of row i)", what=what), 0, 0)
    # More classes than the labels use: the width comes from num_classes, not from y.max() + 1.
    expect_close(call(fn, np.array([1, 0]), 5), ref.one_hot(np.array([1, 0]), 5), "one_hot([1, 0], 5)", 0, 0)


def _epoch(fn, X, y, batch_size, rng, what):
    """Run one epoch of fn and return the list of (xb, yb); fails on crashes or inputs changed in place."""
    X_in, y_in = X.copy(), y.copy()
    batches = call(lambda: list(fn(X_in, y_in, batch_size, rng)), name="iterate_minibatches")
    if not np.array_equal(X_in, X) or not np.array_equal(y_in, y):
        fail(_("iterate_minibatches ({what}) modified X or y in place; shuffle indices, not the data", what=what),
             "inplace")
    for b, batch in enumerate(batches):
        expect_tuple(batch, 2, _("iterate_minibatches ({what}): batch {b}", what=what, b=b), "X_batch, y_batch")
    return batches


def _order(fn, X, y, batch_size, rng, what):
    """Check one epoch's structure; return the order of example ids it visited."""
    N = len(X)
    batches = _epoch(fn, X, y, batch_size, rng, what)
    sizes = [len(as_array(yb, "y_batch")) for _, yb in batches]
    full, rest = divmod(N, batch_size)
    expected_sizes = [batch_size] * full + ([rest] if rest else [])
    if sum(sizes) != N:
        fail(_("iterate_minibatches ({what}) yielded {total} examples in total, expected N = {n} (every example "
               "exactly once per epoch; batch sizes were {sizes}...)", what=what, total=sum(sizes), n=N,
               sizes=sizes[:8]))
    if sizes != expected_sizes:
        fail(_("iterate_minibatches ({what}): batch sizes should be {expected}... (all {batch_size}, the last one "
               "smaller if {batch_size} does not divide {n}), got {sizes}...", what=what, expected=expected_sizes[:6],
               batch_size=batch_size, n=N, sizes=sizes[:6]))
    ids = []
    for b, (xb, yb) in enumerate(batches):
        xb = expect_shape(xb, (len(yb),) + X.shape[1:], _("iterate_minibatches ({what}): X of batch {b}", what=what,
                                                           b=b))
        yb = as_array(yb, _("y of batch {b}", b=b))
        batch_ids = xb.reshape(len(xb), -1)[:, 0].astype(np.int64)
        if not np.array_equal(y[batch_ids], yb):
            fail(_("iterate_minibatches ({what}): in batch {b} the labels do not belong to the images; index X and "
                   "y with the same indices", what=what, b=b))
        ids.append(batch_ids)
    order = np.concatenate(ids)
    counts = np.bincount(order, minlength=N)
    if np.any(counts != 1):
        fail(_("iterate_minibatches ({what}): {missing} examples never appear and {repeated} appear more than once; "
               "each must appear exactly once per epoch", what=what, missing=int(np.sum(counts == 0)),
               repeated=int(np.sum(counts > 1))))
    return order


def check_iterate_minibatches(fn):
    """iterate_minibatches(X, y, batch_size, rng): one shuffled epoch, every example once, aligned, sizes right."""
    for i, rng in enumerate(rngs(404, 7)):
        N = int(rng.integers(20, 90))
        batch_size = [int(rng.integers(2, 12)), 8, 1, N, N + 7, int(rng.integers(2, N)), 64][i]
        if i == 1:
            N = 64  # batch size divides N: no smaller last batch
        if i == 6:
            N = 1000  # a realistic epoch: 15 batches of 64 and one of 40
        shape = (N, 3) if i % 2 else (N, 2, 2)  # X may be images: batches index the first axis
        X = rng.normal(size=shape)
        X.reshape(N, -1)[:, 0] = np.arange(N)  # the first feature of each example is its id
        y = rng.permutation(N) % 10 + 100 * np.arange(N)  # distinct labels, so misalignment shows
        what = _("case {case}: N={n}, batch_size={batch_size}, X {shape}", case=i + 1, n=N, batch_size=batch_size,
                 shape=shape)
        seed = int(rng.integers(1 << 30))
        order = _order(fn, X, y, batch_size, np.random.default_rng(seed), what)
        if np.array_equal(order, np.arange(N)):
            fail(_("iterate_minibatches ({what}) visits the examples in their original order: shuffle with rng",
                   what=what), "rng_usage")
        again = _order(fn, X, y, batch_size, np.random.default_rng(seed), what)
        if not np.array_equal(order, again):
            fail(_("iterate_minibatches ({what}): two runs with generators seeded alike gave different orders; take "
                   "all randomness from the rng argument", what=what), "rng_usage")
        other = _order(fn, X, y, batch_size, np.random.default_rng(seed + 1), what)
        if np.array_equal(order, other):
            fail(_("iterate_minibatches ({what}): generators with different seeds gave the same order; shuffle with "
                   "the rng argument", what=what), "rng_usage")
        shared = np.random.default_rng(seed)
        first, second = (_order(fn, X, y, batch_size, shared, what) for _epoch in range(2))
        if np.array_equal(first, second):
            fail(_("iterate_minibatches ({what}): two epochs drawn from the same rng had the same order; draw a new "
                   "permutation from rng every epoch", what=what), "permutation_per_epoch")


def check_sgd_step(fn):
    """sgd_step(params, grads, lr) updates every array of params in place: p -= lr * g."""
    for i, rng in enumerate(rngs(405, 6)):
        names = ["W1", "b1", "W2", "b2", "W3"][: int(rng.integers(2, 6))]
        dtype = np.float32 if i % 2 else np.float64
        params = {n: rng.normal(size=(int(rng.integers(1, 6)), int(rng.integers(1, 6))) if n[0] == "W"
                                else int(rng.integers(1, 6))).astype(dtype) for n in names}
        if i == 5:  # the chapter's 784-128-10 network, float32
            names = ["W1", "b1", "W2", "b2"]
            params = {n: rng.normal(size=s).astype(np.float32) for n, s in
                      zip(names, [(784, 128), (128,), (128, 10), (10,)])}
            dtype = np.float32
        grads = {n: rng.normal(size=p.shape).astype(dtype) for n, p in params.items()}
        lr = float(rng.choice([0.01, 0.1, 0.5]))
        what = _("sgd_step (case {case}: params {names}, {dtype}, lr={lr})", case=i + 1, names=join(names),
                 dtype=np.dtype(dtype).name, lr=lr)
        expected = {n: p - dtype(lr) * grads[n] for n, p in params.items()}
        originals = dict(params)  # the same array objects
        before = {n: p.copy() for n, p in params.items()}
        grads_in = {n: g.copy() for n, g in grads.items()}
        call(lambda p=params, g=grads_in, r=lr: fn(p, g, r), name="sgd_step")
        if all(np.array_equal(originals[n], before[n]) for n in names):
            fail(_("{what}: none of the arrays in params changed. sgd_step must update them in place (p -= lr * g); "
                   "returning or assigning new arrays does not update the network's weights", what=what),
                 "inplace_required")
        if set(params) != set(names):
            fail(_("{what}: params should keep its keys {keys}, now has {got}", what=what, keys=names,
                   got=sorted(params)))
        for n in names:
            if not np.array_equal(grads_in[n], grads[n]):
                fail(_("{what}: grads[{key!r}] was modified; only params should change", what=what, key=n), "inplace")
            if params[n] is not originals[n]:
                fail(_("{what}: params[{key!r}] was replaced by a new array; update it in place (params[{key!r}] -= "
                       "...), because other code holds a reference to the original array", what=what, key=n),
                     "inplace_required")
            expect_close(originals[n], expected[n], _("{what}: params[{key!r}] after the step (p - lr * g)",
                                                      what=what, key=n),
                         1e-5 if dtype == np.float32 else 1e-12, 1e-6 if dtype == np.float32 else 1e-14)


def check_accuracy(fn):
    """accuracy(logits, y) -> fraction of rows whose argmax equals the label, a float in [0, 1]."""
    for i, rng in enumerate(rngs(406, 8)):
        N, K = int(rng.integers(3, 40)), int(rng.integers(2, 11))
        if i == 1:
            N = K  # square: argmax over the wrong axis still gives N values
        if i >= 6:
            N, K = [1000, 10000][i - 6], 10  # realistic evaluation sizes (uint8 labels, as MNIST's)
        logits = rng.normal(size=(N, K))
        y = rng.integers(0, K, size=N).astype(LABEL_DTYPES[i % 3] if i < 6 else np.uint8)
        if i in (2, 7):
            y = logits.argmax(axis=1).astype(np.int64 if i == 2 else np.uint8)  # all right
        what = _("accuracy (case {case}: logits {shape})", case=i + 1, shape=logits.shape)
        got = call(fn, logits, y)
        arr = as_array(got, what)
        if arr.size != 1:
            fail(_("{what} should return one number (the fraction correct), got {shape}", what=what, shape=arr.shape))
        want = ref.accuracy(logits, y)
        if not isinstance(got, float) and abs(float(arr.reshape(())) - want) <= 1e-6 * max(want, 1e-3):
            type_name = f"{type(got).__module__}.{type(got).__name__}"
            kind = _("a 0-d array") if isinstance(got, np.ndarray) else _("a {type_name}", type_name=type_name)
            fail(_("{what}: the value is right (to {dtype} precision), but the docstring promises a Python float and "
                   "this is {kind} of dtype {dtype}: return float(np.mean(...)) (a NumPy float32 or a 0-d array "
                   "prints, compares and adds up differently)", what=what, dtype=arr.dtype, kind=kind), "return_type")
        expect_scalar(got, want, _("{what}, the fraction of correct rows in [0, 1]", what=what), 1e-12)
    # Logits vs probabilities do not matter: argmax is the same.
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 5.0, -1.0], [0.0, 0.0, 3.0], [9.0, 0.0, 0.0]])
    expect_scalar(call(fn, logits, np.array([0, 1, 0, 1])), 0.5, _("accuracy on 4 rows with 2 right"), 1e-12)
