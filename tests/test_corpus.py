"""The answer corpus against the checks and the visible tests (issue 12: one verdict, no cascades).

For every graded function (discovered from the source notebooks; the corpus is discovered generically):

* its check (``autograder.checks.check_<fn>``, through the judge, and the real check in-process) accepts every
  entry of a chapter's ``correct.py`` and rejects every entry of its ``wrong.py`` (``autograder/chapters/chNN_*/``);
* its VISIBLE test (the test cell minus the hidden region, run after the locked cells that precede it, in a
  namespace holding only the function under test, under its notebook name) passes the reference, the notebook
  solution and every correct entry, and fails every wrong entry, except those a chapter's wrong module lists
  in ``NOT_VISIBLE = {fn: {wrong_function_name: reason}}`` (a listed entry the visible test does catch is a
  stale exception and fails too);
* no cascades: with the reference for every function and one wrong answer for ``f``, the visible test of every
  other function still passes (a visible test never calls another student function).

The share of wrong answers each visible test catches is printed at the end of the run (``tests/conftest.py``,
``pytest_terminal_summary``).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import warnings

import pytest

import autograder.checks as checks
from autograder.chapters import all_chapters, answers, real_checks
from autograder.chapters import get as get_chapter
from autograder.notebook import (
    cell_source,
    defined_functions,
    hidden_source,
    load,
    load_functions,
    nbgrader_meta,
    solution_cells,
    strip_hidden,
    strip_magics,
)
from autograder.paths import source_path
from tests.conftest import CHAPTERS

REAL_CHECKS = real_checks()


class Chapter:
    """A chapter's graded functions, their visible tests, and the locked cells each test runs after."""

    def __init__(self, chapter: str):
        self.name = chapter
        nb = load(source_path(chapter))
        self.functions = [fn for cell in solution_cells(nb) for fn in defined_functions(cell_source(cell))]
        self.visible: dict[str, str] = {}  # fn -> visible source of its test cell
        self.locked_before: dict[str, list[str]] = {}  # fn -> sources of the locked cells above its test cell
        locked: list[str] = []
        for cell in nb["cells"]:
            meta = nbgrader_meta(cell)
            if cell["cell_type"] != "code":
                continue
            source = strip_magics(cell_source(cell))
            if meta.get("grade"):
                hidden = hidden_source(source)
                for fn in self.functions:
                    if f"check_{fn}({fn})" in hidden:
                        self.visible[fn] = strip_hidden(source)
                        self.locked_before[fn] = list(locked)
            elif meta.get("locked") and not meta.get("solution"):
                locked.append(source)
        self._setup: dict[int, dict] = {}

    def namespace(self, fn: str) -> dict:
        """A fresh namespace after the locked cells preceding fn's test cell (setup, given code)."""
        cells = self.locked_before[fn]
        key = len(cells)
        if key not in self._setup:
            os.environ.setdefault("MPLBACKEND", "Agg")
            ns: dict = {"__name__": "__course_notebook__"}
            with contextlib.redirect_stdout(io.StringIO()):
                for k, source in enumerate(cells):
                    exec(compile(source, f"<{self.name} locked cell {k}>", "exec"), ns)
            self._setup[key] = ns
        return dict(self._setup[key])

    def run_visible(self, fn: str, functions: dict) -> BaseException | None:
        """Run fn's visible test with ``functions`` ({notebook name: callable}) defined; the error, or None."""
        ns = self.namespace(fn)
        ns.update(functions)
        code = compile(self.visible[fn], f"<{self.name} visible test of {fn}>", "exec")
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a cell that wants warnings as errors says so itself
                exec(code, ns)
        except Exception as exc:  # any failure of the visible cell counts as "the visible test fails"
            return exc
        return None


@functools.cache
def chapter(name: str) -> Chapter:
    return Chapter(name)


@functools.cache
def reference(name: str) -> dict:
    """{fn: reference implementation} for a chapter (its folder's reference.py)."""
    module = get_chapter(name).module("reference")
    return {fn: getattr(module, fn) for fn in chapter(name).functions}


def _solution(name: str) -> dict:
    return load_functions(source_path(name))


GRADED = [(ch, fn) for ch in CHAPTERS for fn in chapter(ch).functions]
CHAPTER_OF = {fn: ch for ch, fn in GRADED}
_WRONG_MODULES = {c.package: c.module("wrong") for c in all_chapters()}
WRONG = [(fn, w) for per in answers("wrong").values() for fn, ws in per.items() for w in ws]
CORRECT = [(fn, c) for per in answers("correct").values() for fn, cs in per.items() for c in cs]


def _not_visible(fn: str) -> dict[str, str]:
    """{wrong_function_name: reason} its visible test is allowed to miss."""
    out = {}
    for module in _WRONG_MODULES.values():
        out.update(getattr(module, "NOT_VISIBLE", {}).get(fn, {}))
    return out


def _ids(pairs):
    return [f"{fn}-{impl.__name__}" for fn, impl in pairs]


# --- the corpus is well formed --------------------------------------------------------------------------------

def test_corpus_names_graded_functions():
    graded = {fn for _, fn in GRADED}
    for kind, pairs in (("wrong", WRONG), ("correct", CORRECT)):
        unknown = sorted({fn for fn, _ in pairs} - graded)
        assert not unknown, f"the chapters' {kind}.py have entries for functions no notebook grades: {unknown}"
    for _fn, impl in WRONG + CORRECT:
        assert (impl.__doc__ or "").strip(), f"{impl.__module__}.{impl.__name__} needs a docstring naming what it does"
    for module in _WRONG_MODULES.values():
        for fn, entries in getattr(module, "NOT_VISIBLE", {}).items():
            names = {w.__name__ for w in module.WRONG.get(fn, [])}
            for wrong_name, reason in entries.items():
                assert wrong_name in names, f"{module.__name__}.NOT_VISIBLE names {fn}/{wrong_name}, not in WRONG"
                assert str(reason).strip(), f"{module.__name__}.NOT_VISIBLE[{fn!r}][{wrong_name!r}] needs a reason"


@pytest.mark.parametrize("chapter_name,fn", GRADED)
def test_two_correct_answers_per_function(chapter_name, fn):
    count = sum(1 for name, _ in CORRECT if name == fn)
    assert count >= 2, (f"{get_chapter(chapter_name).folder / 'correct.py'} should hold at least two "
                        f"independent correct implementations of {fn}, has {count}")


# --- the checks: correct accepted, wrong rejected ---------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a wrong answer's overflow, re-issued by call()
@pytest.mark.parametrize("fn,impl", CORRECT, ids=_ids(CORRECT))
def test_check_accepts_correct_answer(fn, impl):
    REAL_CHECKS[f"check_{fn}"](impl)  # in-process
    getattr(checks, f"check_{fn}")(impl)  # through the judge, as the kernel, self-check and grade run it


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a wrong answer's overflow, re-issued by call()
@pytest.mark.parametrize("fn,impl", WRONG, ids=_ids(WRONG))
def test_real_check_rejects_wrong_answer(fn, impl):
    # The judge path is tests/test_checks.py::test_check_rejects_wrong_answer.
    with pytest.raises(AssertionError) as info:
        REAL_CHECKS[f"check_{fn}"](impl)
    assert str(info.value).strip(), "a rejection must say what is wrong"


# --- the visible tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("chapter_name,fn", GRADED)
def test_visible_test_passes_correct_answers(chapter_name, fn):
    ch = chapter(chapter_name)
    assert fn in ch.visible, f"{chapter_name}: no test cell whose hidden part calls check_{fn}({fn})"
    candidates = [("the reference", reference(chapter_name)[fn]),
                  ("the notebook solution", _solution(chapter_name)[fn])]
    candidates += [(f"corpus/correct {impl.__name__}", impl) for name, impl in CORRECT if name == fn]
    for label, impl in candidates:
        error = ch.run_visible(fn, {fn: impl})
        assert error is None, (f"the visible test of {fn}, run with only {fn} defined, fails {label}: "
                               f"{type(error).__name__}: {error}")


@pytest.mark.parametrize("chapter_name,fn", GRADED)
def test_visible_test_catches_wrong_answers(chapter_name, fn, visible_catch_summary):
    ch = chapter(chapter_name)
    wrongs = [w for name, w in WRONG if name == fn]
    allowed = _not_visible(fn)
    missed, stale = [], []
    caught = 0
    for wrong in wrongs:
        error = ch.run_visible(fn, {fn: wrong})
        caught += error is not None
        if error is None and wrong.__name__ not in allowed:
            missed.append(f"{wrong.__name__} ({(wrong.__doc__ or '').strip().splitlines()[0]})")
        if error is not None and wrong.__name__ in allowed:
            stale.append(wrong.__name__)
    visible_catch_summary[fn] = (chapter_name, caught, len(wrongs), sorted(allowed))
    assert not missed, f"the visible test of {fn} passes these wrong answers: " + "; ".join(missed)
    assert not stale, f"NOT_VISIBLE lists {stale} for {fn}, but its visible test catches them: remove the entry"


@pytest.mark.parametrize("chapter_name,fn", GRADED)
def test_wrong_answer_fails_no_other_visible_test(chapter_name, fn):
    ch = chapter(chapter_name)
    refs = reference(chapter_name)
    others = [other for other in ch.functions if other != fn and other in ch.visible]
    broken = [other for other in others if ch.run_visible(other, refs) is not None]
    assert not broken, f"the visible tests of {broken} fail with the references alone (see the test above)"
    cascades = []
    for wrong in [w for name, w in WRONG if name == fn]:
        for other in others:
            error = ch.run_visible(other, {**refs, fn: wrong})
            if error is not None:
                cascades.append(f"{wrong.__name__} fails the visible test of {other} "
                                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})")
    assert not cascades, "blame cascades: " + "; ".join(cascades)
