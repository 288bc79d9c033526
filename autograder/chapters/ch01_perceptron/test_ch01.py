"""Chapter 1 checks name the failing property (hint keys for course-selfcheck), through the judge as graded."""

from __future__ import annotations

import pytest

import autograder.checks as checks
from autograder.chapters.ch01_perceptron import wrong as wrong
from course.compare import CheckFailure


@pytest.mark.parametrize("impl,hint,words", [
    (wrong.train_permutation_once, "permutation_per_epoch", "EVERY epoch"),
    (wrong.train_stale_predictions, "stale_prediction", "CURRENT w and b"),
    (wrong.train_global_permutation, "rng_usage", "not from np.random"),
])
def test_train_faults_get_their_own_hint(impl, hint, words):
    with pytest.raises(CheckFailure) as info:
        checks.check_perceptron_train(impl)
    assert info.value.hint == hint and words in str(info.value)


def test_predict_checked_beyond_the_visible_sizes():
    with pytest.raises(CheckFailure, match=r"X \((40|64|257|1000|4096), "):
        checks.check_perceptron_predict(wrong.predict_fixed_buffer)
