"""Every graded function: its check passes the reference and the notebook's solution, and rejects the release
skeleton and every wrong answer in the corpus."""

from __future__ import annotations

import pytest

import autograder.checks as checks
from autograder.chapters import answers, references
from autograder.notebook import (
    cell_source,
    graded_functions,
    grading_cells,
    hidden_source,
    load,
    load_functions,
    solution_cells,
)
from autograder.paths import release_path, source_path
from tests.conftest import CHAPTERS

GRADED = [(ch, fn) for ch in CHAPTERS for fn in graded_functions(load(source_path(ch)))]
REFERENCES = references()
WRONG = [(fn, wrong) for per_chapter in answers("wrong").values() for fn, wrongs in per_chapter.items()
         for wrong in wrongs]


def _source_ns(chapter, cache={}):  # noqa: B006 - a deliberate per-session cache
    if ("src", chapter) not in cache:
        cache["src", chapter] = load_functions(source_path(chapter))
    return cache["src", chapter]


def _release_ns(chapter, cache={}):  # noqa: B006
    if ("rel", chapter) not in cache:
        cache["rel", chapter] = load_functions(release_path(chapter))
    return cache["rel", chapter]


def test_every_chapter_has_graded_functions():
    assert CHAPTERS, "no chapters found"
    for chapter in CHAPTERS:
        assert graded_functions(load(source_path(chapter))), f"{chapter} has no graded functions"


@pytest.mark.parametrize("chapter,name", GRADED)
def test_graded_function_has_check_and_reference(chapter, name):
    assert callable(getattr(checks, f"check_{name}", None)), f"autograder.checks has no check_{name}"
    assert callable(REFERENCES.get(name)), f"no chapter's reference.py defines {name}"


@pytest.mark.parametrize("chapter,name", GRADED)
def test_hidden_tests_call_the_check(chapter, name):
    nb = load(source_path(chapter))
    hidden = [hidden_source(cell_source(c)) for c in grading_cells(nb)]
    assert any(f"check_{name}({name})" in h for h in hidden), f"no hidden test calls check_{name}({name})"


@pytest.mark.parametrize("chapter,name", GRADED)
def test_check_passes_reference(chapter, name):
    getattr(checks, f"check_{name}")(REFERENCES[name])


@pytest.mark.parametrize("chapter,name", GRADED)
def test_check_passes_notebook_solution(chapter, name):
    getattr(checks, f"check_{name}")(_source_ns(chapter)[name])


@pytest.mark.parametrize("chapter,name", GRADED)
def test_check_rejects_release_skeleton(chapter, name):
    skeleton = _release_ns(chapter)[name]
    with pytest.raises(AssertionError, match="not implemented"):
        getattr(checks, f"check_{name}")(skeleton)


@pytest.mark.parametrize("name,wrong", WRONG, ids=[f"{n}-{w.__name__}" for n, w in WRONG])
def test_check_rejects_wrong_answer(name, wrong):
    with pytest.raises(AssertionError) as info:
        getattr(checks, f"check_{name}")(wrong)
    assert str(info.value).strip(), "a rejection must say what is wrong"


def test_corpus_covers_every_graded_function_with_a_check():
    covered = {fn for fn, _ in WRONG}
    missing = sorted({name for _, name in GRADED} - covered)
    assert not missing, f"no wrong answers in the chapters' wrong.py for: {missing}"


def test_solution_cells_define_only_graded_functions():
    for chapter in CHAPTERS:
        for cell in solution_cells(load(source_path(chapter))):
            assert "### BEGIN SOLUTION" in cell_source(cell)
