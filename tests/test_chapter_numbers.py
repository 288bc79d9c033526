"""The numbers chapter texts quote from a run ("when we ran it") are the ones benchmarks/results.json holds, and
every one of those is printed by the chapter (a RESULT line compared by benchmarks/bench_notebooks.py, within its
tolerance) or shown in benchmarks/RESULTS.md (tests/test_readme_numbers.py). So a figure in the prose cannot drift
from what the code prints without this test failing."""

from __future__ import annotations

import re

import pytest

from autograder.chapters import get as get_chapter
from tests.results_lines import load_results

RESULTS = load_results()["results"]


def _value(key: str) -> float:
    return RESULTS[key]["value"]


def markdown_cell(chapter: str, key: str) -> str:
    """The text of the chapter's markdown cell with this key."""
    text = get_chapter(chapter).text.read_text()
    match = re.search(r'^# %% \[markdown\] key="' + re.escape(key) + r'"\n(.*?)(?=^# %%|\Z)', text, re.M | re.S)
    assert match, f"{chapter} has no markdown cell {key!r}"
    return re.sub(r"\n# ?", " ", match.group(1)).replace("\n", " ")


# (chapter, markdown cell key, the phrase as a format string over results.json keys)
QUOTES = [
    ("03_activations", "ch03-he-init", "from {ch03.he_cost_first:.3f} to {ch03.he_cost_last:.3f} in 1000 iterations"),
    ("03_activations", "ch03-he-init", "with {ch03.he_train_accuracy:.1f}% training accuracy"),
    ("03_activations", "ch03-he-init", "test accuracy ({ch03.he_test_accuracy:.1f}% when we ran it)"),
    ("05_cnn_cifar", "ch05-intro", "({ch05.test_accuracy:.1f}% when we ran the chapter's last training cell"),
    ("05_cnn_cifar", "ch05-intro", "{ch05.accuracy_minutes:.1f} minutes on a busy 2-core machine"),
    ("05_cnn_cifar", "ch05-intro",
     "{ch05.test_accuracy_second:.1f}% in {ch05.accuracy_minutes_second:.1f} minutes in a later run"),
    ("05_cnn_cifar", "ch05-intro", "about {ch05.notebook_test_accuracy_pct:.0f}% on the course's 10,000-image"),
]


def _fill(template: str) -> str:
    def value(match):
        key, fmt = match.group(1), match.group(2)
        if key.endswith("_pct"):
            return format(100 * _value(key[:-4]), fmt)
        return format(_value(key), fmt)

    return re.sub(r"\{([a-z0-9_.-]+):([^}]+)\}", value, template)


@pytest.mark.parametrize("chapter,key,template", QUOTES)
def test_quoted_number_is_the_results_file_figure(chapter, key, template):
    phrase = _fill(template)
    assert phrase in markdown_cell(chapter, key), \
        f"{chapter} cell {key} should say {phrase!r} (benchmarks/results.json)"


def test_ch03_prose_says_where_the_cost_rose():
    """The He run's cost rises once (printed by the cell); the prose must not say it falls steadily."""
    text = markdown_cell("03_activations", "ch03-he-init")
    assert "steadily" not in text and "rising between iterations 300 and 400" in text
