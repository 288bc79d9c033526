"""Issue 26 item 1: the re-check (course-grade and course-selfcheck) judges the code as the notebook ran it: solution
cells and the cells the student added, in notebook order, locked cells from the source (autograder/trusted/
rebuild.py, recheck.py, sandbox.py). Each rule is checked on chapter 1's release notebook with one edit."""

from __future__ import annotations

import copy
import functools

import nbformat
import pytest

from autograder.paths import ROOT
from autograder.trusted.isolation import bwrap_path
from autograder.trusted.rebuild import names, notebook_cells
from autograder.trusted.recheck import check_notebook, plan_from_notebook

CHAPTER = "01_perceptron"
PREDICT = "def perceptron_predict(X, w, b):\n    return (X @ w + b > 0).astype(np.int64)"
needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")


@functools.cache
def _source():
    return nbformat.read(str(ROOT / "source" / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4)


def _submission(predict: str = PREDICT) -> nbformat.NotebookNode:
    """The release notebook with both exercises solved (train from the source)."""
    nb = copy.deepcopy(nbformat.read(str(ROOT / "release" / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4))
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source for c in _source().cells
              if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "perceptron_predict":
            cell.source = predict
        elif gid == "perceptron_train":
            cell.source = solved[gid]
    return nb


def _at(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _insert(nb, index: int, source: str):
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def _kinds(nb) -> list[tuple[str, str]]:
    cells, _, _ = notebook_cells(plan_from_notebook(_source()), nb)
    return [(c["kind"], c["name"]) for c in cells]


def _check(nb, timeout: float = 10.0) -> dict:
    return check_notebook(_source(), nb, timeout=timeout, mem_mb=2048)


# --- which cells run, in what order (no sandbox) ----------------------------------------------------------------

def test_plain_notebook_runs_locked_and_solution_cells_only():
    assert _kinds(_submission()) == [("setup", "setup setup"), ("solution", "solution perceptron_predict"),
                                     ("solution", "solution perceptron_train")]


def test_added_cells_run_in_notebook_order_and_chapter_cells_only_when_used():
    nb = _submission()
    _insert(nb, _at(nb, "perceptron_predict"), "def helper(x):\n    return x")
    nb.cells.append(nbformat.v4.new_code_cell("print(X_blobs.shape, X_small.shape)"))
    kinds = _kinds(nb)
    assert kinds[1][0] == "added" and kinds[2] == ("solution", "solution perceptron_predict")
    # the last cell reads X_blobs (a demo cell) and X_small (the visible test of predict): those two run before it,
    # not the other test cell nor the demo cells that train and plot
    assert ("test", "test test_perceptron_predict") in kinds and ("test", "test test_perceptron_train") not in kinds
    demo = [int(name.split()[-1]) for kind, name in kinds if kind == "demo"]  # positions in the submission
    assert len(demo) == 1 and "X_blobs, y_blobs = make_blobs" in nb.cells[demo[0] - 1].source
    assert kinds[-1][0] == "added"


def test_edited_locked_cell_runs_the_source_text_and_a_deleted_one_still_runs():
    nb = _submission()
    nb.cells[_at(nb, "setup")].source = "np = None"
    cells, _, _ = notebook_cells(plan_from_notebook(_source()), nb)
    assert cells[0]["kind"] == "setup" and "import numpy as np" in cells[0]["source"]
    del nb.cells[_at(nb, "setup")]
    cells, _, _ = notebook_cells(plan_from_notebook(_source()), nb)
    assert cells[0]["kind"] == "setup" and "import numpy as np" in cells[0]["source"]


def test_names_read_and_bound():
    reads, binds = names("import os\nx = y + 1\ndef f(a):\n    return a + z\n%matplotlib inline")
    assert reads == {"y", "z"} and {"os", "x", "f"} <= binds


# --- verdicts (sandbox and judge) --------------------------------------------------------------------------------

@needs_bwrap
def test_helper_in_added_cell_counts_and_imported_function_does_not():
    nb = _submission("def perceptron_predict(X, w, b):\n    return (scores_of(X, w, b) > 0).astype(np.int64)")
    _insert(nb, _at(nb, "perceptron_predict"), "def scores_of(X, w, b):\n    return X @ w + b")
    out = _check(nb)
    assert out["tests"]["test_perceptron_predict"]["ok"], out["tests"]
    nb = _submission("pass")
    _insert(nb, _at(nb, "perceptron_predict") + 1, "from numpy import sign as perceptron_predict")
    message = _check(nb)["tests"]["test_perceptron_predict"]["message"]
    assert "must be a function written in your notebook" in message


@needs_bwrap
def test_later_redefinition_wins_with_a_note_and_an_earlier_one_loses():
    nb = _submission()
    _insert(nb, _at(nb, "test_perceptron_train") + 1, PREDICT.replace("> 0", ">= 0"))
    out = _check(nb)
    verdict = out["tests"]["test_perceptron_predict"]
    assert not verdict["ok"] and "redefines perceptron_predict in cell" in verdict["note"]
    assert any("redefines perceptron_predict" in n for n in out["notes"])
    nb = _submission()
    _insert(nb, _at(nb, "perceptron_predict"), PREDICT.replace("> 0", ">= 0"))  # above: the solution wins
    out = _check(nb)
    assert out["tests"]["test_perceptron_predict"]["ok"] and not out["notes"], out


@needs_bwrap
def test_wrong_redefinition_after_the_visible_test_fails_the_recheck_and_says_why(tmp_path):
    """Run from the top (nbgrader), the visible test checks the solution and passes, then a later cell redefines the
    function wrongly: the re-check (grade and self-check) fails it and tells the student the visible test saw the
    earlier definition."""
    nb = _submission()
    _insert(nb, _at(nb, "test_perceptron_predict") + 1, PREDICT.replace("> 0", ">= 0"))
    verdict = _check(nb)["tests"]["test_perceptron_predict"]
    assert not verdict["ok"], verdict
    assert "after its visible test test_perceptron_predict" in verdict["note"], verdict["note"]
    assert "checked the earlier definition" in verdict["note"]
    # the same verdict and note from course-selfcheck, the student's own check
    import io

    from autograder.selfcheck import report

    path = tmp_path / f"{CHAPTER}.ipynb"
    nbformat.write(nb, str(path))
    out = io.StringIO()
    assert report(path, CHAPTER, 10.0, 2048, out, None) == 1
    text = out.getvalue()
    assert "[FAIL] perceptron_predict" in text and "after its visible test test_perceptron_predict" in text, text
    # between the solution and its test the visible test sees the redefinition itself: the plain note
    nb = _submission()
    _insert(nb, _at(nb, "perceptron_predict") + 1, PREDICT.replace("> 0", ">= 0"))
    verdict = _check(nb)["tests"]["test_perceptron_predict"]
    assert not verdict["ok"] and "after its solution cell" in verdict["note"], verdict


@needs_bwrap
def test_added_cell_importing_the_reference_is_refused():
    nb = _submission("pass")
    _insert(nb, _at(nb, "perceptron_predict") + 1,
            "from autograder.chapters.ch01_perceptron.reference import perceptron_predict")
    out = _check(nb)
    assert not out["tests"]["test_perceptron_predict"]["ok"]
    assert any("a cell you added, raised" in n and "not available to answers" in n for n in out["notes"]), out


@needs_bwrap
def test_added_cell_that_never_ends_costs_its_own_time_and_is_reported():
    nb = _submission()
    _insert(nb, _at(nb, "perceptron_predict"), "while True:\n    pass")
    _insert(nb, _at(nb, "test_perceptron_train") + 1, "import os\nos._exit(3)")
    out = _check(nb, timeout=3)
    assert all(v["ok"] for v in out["tests"].values()), out["tests"]  # later cells still ran
    assert any("did not finish within 3 s" in n for n in out["notes"]), out["notes"]
    assert any("a cell you added, raised" in n and "os._exit" in n for n in out["notes"]), out["notes"]


@needs_bwrap
def test_added_cell_patching_numpy_and_the_helpers_changes_nothing_the_judge_sees():
    nb = _submission(PREDICT.replace("> 0", ">= 0"))
    _insert(nb, _at(nb, "test_perceptron_predict") + 1,
            "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
            "import course.compare as c\nc.expect_close = lambda a, *x, **k: a\nc.fail = lambda m: None\n"
            "def check_perceptron_predict(fn):\n    return None")
    assert not _check(nb)["tests"]["test_perceptron_predict"]["ok"]


# --- the rebuild's start: matplotlib deferred, magics made plain Python on the trusted side (issue 29) ------------

@needs_bwrap
def test_setup_imports_no_matplotlib_until_a_graded_function_uses_it():
    wrong_if_loaded = ("import sys\n" + PREDICT.replace("return", "if 'matplotlib.figure' in sys.modules:\n"
                                                        "        return None\n    return"))
    out = _check(_submission(wrong_if_loaded))
    assert out["tests"]["test_perceptron_predict"]["ok"], out["tests"]  # setup's pyplot import loaded nothing
    plotting = PREDICT.replace("return", "fig = plt.figure()\n    plt.plot([0, 1])\n    plt.close(fig)\n    return")
    out = _check(_submission(plotting))
    assert out["tests"]["test_perceptron_predict"]["ok"], out["tests"]  # the real pyplot, loaded at first use
    assert not out["attempts"], out["attempts"]  # loading it late is not an attempt


@needs_bwrap
def test_magics_in_added_cells_are_no_ops_and_the_rest_of_the_cell_runs():
    nb = _submission()
    _insert(nb, _at(nb, "perceptron_predict") + 1,
            "OFFSET = 0\n%time 1 + 1\n!echo hi\nfiles = !ls\nif True:\n    %matplotlib inline\n"
            "def perceptron_predict(X, w, b):\n    return (X @ w + b + OFFSET > 0).astype(np.int64)")
    out = _check(nb)
    assert out["tests"]["test_perceptron_predict"]["ok"], out
    assert not any("raised" in n for n in out["notes"]), out["notes"]
    nb = _submission()
    _insert(nb, _at(nb, "perceptron_predict") + 1, "%%capture\nperceptron_predict = None")  # a cell magic's body
    assert _check(nb)["tests"]["test_perceptron_predict"]["ok"]  # is the magic's (a no-op here), as before
