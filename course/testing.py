"""Helpers for the visible tests in the notebooks: each failure says what was expected and what you gave.

They raise AssertionError, so a failing visible test shows a one-line explanation instead of a bare assert.
"""

from course.compare import call, expect_close, expect_shape, expect_tuple
from course.i18n import N_, gettext

RESULT = N_("result")  # the default name of what a visible test looks at, in the learner's language

__all__ = ["assert_close", "assert_shape", "assert_returns_tuple", "passed", "run"]


def assert_shape(value, shape, what=RESULT):
    """Fail with a clear message unless ``value`` is an array of exactly ``shape``."""
    return expect_shape(value, tuple(shape), gettext(what))


def assert_close(actual, expected, what=RESULT, rtol=1e-6, atol=1e-8):
    """Fail unless shapes match and values agree within ``atol + rtol * |expected|``."""
    return expect_close(actual, expected, gettext(what), rtol, atol)


def assert_returns_tuple(value, length, what=RESULT, names=""):
    """Fail unless ``value`` is a tuple of ``length`` items (e.g. ``(out, cache)``)."""
    return expect_tuple(value, length, gettext(what), names)


def run(fn, *args, **kwargs):
    """Call ``fn`` like the graders do (:func:`course.compare.call`): a skeleton, a crash or an input changed in
    place (at any depth) becomes a readable AssertionError.

    Options as in the graders: ``forbid_warnings=True`` fails on a NumPy overflow/invalid/divide warning (e.g.
    ``run(sigmoid_forward, np.array([-1000.0, 1000.0]), forbid_warnings=True)``); ``may_modify=(0,)`` lets
    ``fn`` change argument #1 and passes that very object, so the test can look at it afterwards.
    """
    return call(fn, *args, **kwargs)


def passed(name: str) -> None:
    """Print that the visible tests of ``name`` passed, in the learner's language (the last line of a test cell)."""
    print(gettext("{name}: visible tests passed", name=name))
