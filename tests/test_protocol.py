"""The judge's channel (autograder.trusted.channel, codec, proxies) and the call contract of course.compare:
warnings and floating-point errors travel with the result, subclasses of dict/list/tuple are accepted as their
base types, in-place changes are detected at any depth, and speed is timed inside the student's process."""

from __future__ import annotations

import collections
import json
import textwrap
import warnings

import numpy as np
import pytest

from autograder.trusted.channel import Endpoint
from autograder.trusted.proxies import RemoteFunction
from course.compare import CheckFailure, call, time_calls
from tests.student_process import spawn

STUDENT = textwrap.dedent('''
    import collections
    import numpy as np

    def sigmoid_where(x):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))

    def sigmoid_stable(x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def sigmoid_silenced(x):
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x))

    def user_warning(x):
        import warnings
        warnings.warn("careful")
        return x

    def raises_after_warning(x):
        np.log(np.zeros(1))
        raise ValueError("bad")

    Cache = collections.namedtuple("Cache", "x W b")

    def affine_namedtuple(x, W, b):
        return x @ W + b, Cache(x, W, b)

    def init_ordered(dims):
        out = collections.OrderedDict()
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), 1):
            out[f"W{i}"] = np.ones((a, b))
        return out

    def counts_default(words):
        d = collections.defaultdict(int)
        for w in words:
            d[w] += 1
        return d

    def overwrite_cache(dout, caches):
        caches[1][0][...] = 0.0
        return dout

    def train_step_in_place(params, lr):
        for k in params:
            params[k] -= lr
        return 1.0, params

    def train_step_rebinds(params, lr):
        for k in list(params):
            params[k] = params[k] - lr
        return 1.0, params

    def train_step_new(params, lr):
        return 1.0, {k: v - lr for k, v in params.items()}

    def sgd_in_place(params, grads, lr):
        for k in params:
            params[k] -= lr * grads[k]

    def sgd_touches_grads(params, grads, lr):
        for k in params:
            params[k] -= lr * grads[k]
            grads[k][...] = 0

    def fast(x):
        return x.sum()

    def perturb_and_call(f, x):
        x[0] += 1.0
        seen = f()
        x[0] -= 1.0
        return seen

    def sleeper(x):
        import time
        time.sleep(0.05)  # a run that lasts at least 50 ms whatever the machine's load
        return float(x[0])

    def lying_sleeper(x):
        import time
        time.perf_counter = lambda: 0.0  # the student patches their clock
        time.sleep(0.05)
        return float(x[0])
''')


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """``student(name)``: a RemoteFunction for a function defined in a separate student process."""
    proc = spawn(tmp_path_factory.mktemp("student"), STUDENT)
    ep = Endpoint(proc.stdout.fileno(), proc.stdin.fileno(), None, timeout=60, peer=proc)
    ep.resolve = lambda t: ep.handles[int(t[2:])]
    yield lambda name: RemoteFunction(ep, f"fn:{name}", name)
    ep._send({"op": "bye"})
    proc.wait(timeout=10)


def _local(name):
    ns: dict = {"__name__": "student_local"}
    exec(compile(STUDENT, "<solution>", "exec"), ns)
    return ns[name]


WIDE = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])


@pytest.fixture(params=["remote", "local"])
def fn(request, student):
    return student if request.param == "remote" else _local


# --------------------------------------------------------------------------------------------- warnings (item 2)
def test_overflow_warning_fails_when_forbidden(fn):
    with pytest.raises(CheckFailure) as info:
        call(fn("sigmoid_where"), WIDE, forbid_warnings=True)
    msg = str(info.value)
    assert "sigmoid_where raised RuntimeWarning: overflow encountered in exp" in msg
    assert "values from -1e+03 to 1e+03" in msg and info.value.hint == "fp_overflow"


def test_stable_and_deliberately_silenced_code_passes(fn):
    out = call(fn("sigmoid_stable"), WIDE, forbid_warnings=True)
    assert np.allclose(out, 1 / (1 + np.exp(-np.clip(WIDE, -500, 500))))
    call(fn("sigmoid_silenced"), WIDE, forbid_warnings=True)  # np.errstate inside the answer: not reported


def test_warnings_are_recorded_and_reissued_when_allowed(fn):
    seen: list = []
    with warnings.catch_warnings(record=True) as outer:
        warnings.simplefilter("always")
        call(fn("user_warning"), np.zeros(2), warnings_out=seen, forbid_warnings=True)  # not a RuntimeWarning
    assert seen == [("UserWarning", "careful")]
    assert [str(w.message) for w in outer] == ["careful"]
    with pytest.raises(CheckFailure, match="raised UserWarning: careful"):
        call(fn("user_warning"), np.zeros(2), forbid_warnings=(Warning,))


def test_student_global_seterr_does_not_hide_overflow(student):
    # np.seterr(all="ignore") at the top of a solution cell: the call still runs with warnings on
    with pytest.raises(CheckFailure, match="overflow"):
        call(student("sigmoid_where"), WIDE, forbid_warnings=True)


def test_exception_after_a_warning_is_reported_as_the_exception(fn):
    with pytest.raises(CheckFailure, match="raised ValueError: bad") as info:
        call(fn("raises_after_warning"), np.zeros(1), forbid_warnings=True)
    assert info.value.hint == "raised_ValueError"


# -------------------------------------------------------------------------------------- subclasses (item 3)
def test_subclasses_travel_as_their_base_types(student):
    x, W, b = np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)
    out, cache = call(student("affine_namedtuple"), x, W, b)
    assert type(cache) is tuple and len(cache) == 3 and np.array_equal(cache[1], W)
    params = call(student("init_ordered"), [3, 4, 2])
    assert type(params) is dict and list(params) == ["W1", "W2"] and params["W2"].shape == (4, 2)
    counts = call(student("counts_default"), ["a", "b", "a"])
    assert counts == {"a": 2, "b": 1}


def test_in_place_changes_on_subclasses_are_mirrored(student):
    params = collections.OrderedDict(W=np.ones(3), b=np.zeros(2))
    call(student("sgd_in_place"), params, {"W": np.ones(3), "b": np.ones(2)}, 0.5, may_modify=(0,))
    assert np.allclose(params["W"], 0.5) and np.allclose(params["b"], -0.5)


# -------------------------------------------------------------------------------------- in place (item 4)
def test_overwritten_cache_inside_a_tuple_is_detected(fn):
    caches = [(np.ones(2), np.ones(2)), (np.arange(4.0).reshape(2, 2), np.ones(2))]
    with pytest.raises(CheckFailure, match=r"argument #2 in place \(at #2\[1\]\[0\]\)") as info:
        call(fn("overwrite_cache"), np.ones(1), caches)
    assert info.value.hint == "inplace"
    assert np.array_equal(caches[1][0], np.arange(4.0).reshape(2, 2))  # the check's own data is intact


@pytest.mark.parametrize("name", ["train_step_in_place", "train_step_rebinds"])
def test_train_step_that_changes_params_fails(fn, name):
    params = {"W": np.ones(3), "b": np.zeros(2)}
    with pytest.raises(CheckFailure, match="modified its input argument #1 in place"):
        call(fn(name), params, 0.1)
    assert np.array_equal(params["W"], np.ones(3))


def test_train_step_returning_new_params_passes(fn):
    params = {"W": np.ones(3), "b": np.zeros(2)}
    loss, new = call(fn("train_step_new"), params, 0.1)
    assert np.allclose(new["W"], 0.9) and np.array_equal(params["W"], np.ones(3))


def test_may_modify_passes_the_object_itself_and_still_guards_the_others(fn):
    params, grads = {"W": np.ones(3)}, {"W": np.ones(3)}
    W = params["W"]
    call(fn("sgd_in_place"), params, grads, 0.5, may_modify=(0,))
    assert params["W"] is W and np.allclose(W, 0.5)
    with pytest.raises(CheckFailure, match=r"argument #2 in place \(at #2\['W'\]\)"):
        call(fn("sgd_touches_grads"), {"W": np.ones(3)}, grads, 0.5, may_modify=(0,))


# -------------------------------------------------------------------------------------------- timing (item 5)
def test_timing_runs_in_the_student_process(student):
    # Bounds that hold at any load: a sleep lasts at least its length, and a per-run figure of x.sum() is far
    # below it unless the figure were not per run (the judge's bound is half the channel's noise over 5 runs).
    x = np.random.default_rng(0).normal(size=20000)
    slept = min(time_calls(student("sleeper"), x, repeats=3))
    fast = min(time_calls(student("fast"), x, repeats=5))
    assert len(time_calls(student("fast"), x, repeats=4)) == 4
    assert slept >= 0.05 and fast < slept / 2


def test_a_patched_student_clock_is_bounded_by_the_judges(student):
    # The faked clock reports 0 s per run; the judge's own clock bounds each run below by half of its >= 50 ms.
    x = np.random.default_rng(0).normal(size=20000)
    faked = min(time_calls(student("lying_sleeper"), x, repeats=3))
    assert faked > 0.2 * 0.05


def test_a_nested_call_sees_the_in_place_changes_made_so_far(student):
    x = np.zeros(3)
    seen = student("perturb_and_call")(lambda: float(x[0]), x)  # the callback reads the judge's own x
    assert seen == 1.0 and x[0] == 0.0


def test_kernel_client_gets_the_hint_key():
    import autograder.checks as checks

    def perceptron_predict(X, w, b):
        raise NotImplementedError()

    with pytest.raises(CheckFailure) as info:
        checks.check_perceptron_predict(perceptron_predict)
    assert info.value.hint == "not_implemented"

    def wrong_shape(X, w, b):
        return (X @ w + b > 0).astype(int)[:, None]

    with pytest.raises(CheckFailure) as info:
        checks.check_perceptron_predict(wrong_shape)
    assert info.value.hint == "shape"


def test_codec_json_round_trip_of_nested_subclasses():
    from autograder.trusted.codec import decode, encode

    P = collections.namedtuple("P", "a b")
    value = collections.OrderedDict(k=[P(np.arange(3), 2.5), (1, "s")], d=collections.defaultdict(list))
    back = decode(json.loads(json.dumps(encode(value, None))), None)
    assert type(back) is dict and type(back["k"][0]) is tuple and np.array_equal(back["k"][0][0], np.arange(3))
    assert back["k"][1] == (1, "s") and back["d"] == {}
