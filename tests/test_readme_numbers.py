"""Every number README.md's chapter table quotes comes from benchmarks/results.json, and every figure there is
printed by a chapter (RESULT lines, compared in benchmarks/bench_notebooks.py) or shown in benchmarks/RESULTS.md.
Nothing heavy runs here: the notebooks' printed values are compared where they are executed."""

from __future__ import annotations

import re

import pytest

from autograder.chapters import chapter_names as chapters
from autograder.chapters import get as get_chapter
from tests.results_lines import (
    BENCH_RESULTS,
    check_notebook_results,
    load_results,
    parse_result_lines,
    readme_cells,
    render_readme_cells,
    untied_numbers,
)

DATA = load_results()


def test_readme_table_is_rendered_from_the_results_file():
    rendered, readme = render_readme_cells(DATA), readme_cells()
    assert sorted(readme) == sorted(rendered), f"README rows {sorted(readme)}, results.json rows {sorted(rendered)}"
    wrong = {n: (readme[n], rendered[n]) for n in rendered if readme[n] != rendered[n]}
    assert not wrong, ("README.md's measured cells differ from benchmarks/results.json (edit the results file, then "
                       f"`python -m tests.results_lines --write-readme`): {wrong}")


def test_readme_templates_write_no_number_that_is_not_a_result():
    assert untied_numbers(DATA) == [], "a number in a README template is neither a placeholder nor structural"


@pytest.mark.parametrize("key", sorted(k for k, e in DATA["results"].items() if e["source"].startswith("benchmark")))
def test_benchmark_figure_is_shown_in_benchmarks_results_md(key):
    shown = DATA["results"][key]["shown"]
    assert shown in BENCH_RESULTS.read_text(), f"{key}: benchmarks/RESULTS.md does not show {shown!r}"


@pytest.mark.parametrize("key", sorted(k for k, e in DATA["results"].items() if e["source"].startswith("notebook")))
def test_notebook_figure_is_printed_by_its_chapter(key):
    chapter = DATA["results"][key]["source"].split()[1]
    assert chapter in chapters(), f"{key}: no chapter {chapter}"
    text = get_chapter(chapter).text.read_text()
    assert re.search(r'RESULT ' + re.escape(key) + r'=\{', text), f"{chapter} never prints 'RESULT {key}=...'"
    assert "tol" in DATA["results"][key], f"{key}: a notebook figure needs a tolerance"


def test_result_lines_are_parsed_and_compared():
    assert parse_result_lines("x\nRESULT ch01.a=6\nRESULT ch02.b-c=1.3e-02\nnot RESULT z=1\n") == \
        {"ch01.a": 6.0, "ch02.b-c": 0.013}
    nb = {"cells": [{"outputs": [{"output_type": "stream", "text": ["RESULT ch01.blobs_epochs=6\n"]}]}]}
    problems = check_notebook_results("01_perceptron", nb, DATA)
    assert problems == ["01_perceptron printed no 'RESULT ch01.xor_fewest_wrong=...' line"]
    nb["cells"][0]["outputs"][0]["text"] = "RESULT ch01.blobs_epochs=7\nRESULT ch01.xor_fewest_wrong=1\n"
    assert check_notebook_results("01_perceptron", nb, DATA) == [
        "01_perceptron: ch01.blobs_epochs = 7, results.json says 6 (tolerance 0)"]
