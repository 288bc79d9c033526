"""The checks cannot be fooled from the student's process (autograder.trusted.judge), and the nbgrader preprocessors
of the course cap output, hide hidden tests and stop the false checksum alarm (autograder.grading.preprocessors)."""

from __future__ import annotations

import builtins

import nbformat
import numpy as np
import pytest

import autograder.checks as checks
from autograder.chapters import chapter_names as chapters
from autograder.grading.preprocessors.cap_output import CapOutput
from autograder.grading.preprocessors.hidden_tests import HideHiddenTests
from autograder.notebook import BEGIN_HIDDEN as BEGIN
from autograder.notebook import hidden_lines, strip_hidden
from autograder.paths import ROOT, release_path, source_path
from autograder.trusted.recheck import verify_cells


def subtly_wrong_predict(X, w, b):
    """Passes the visible tests (2 features) but uses only the first two features."""
    return (X[:, :2] @ w[:2] + b > 0).astype(np.int64)


def reference_predict(X, w, b):
    return (X @ w + b > 0).astype(np.int64)


def _patch_everything(monkeypatch):
    """What a student can do in the kernel before the hidden tests run."""
    import numpy.testing as npt

    import course.compare as core

    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    monkeypatch.setattr(np, "isin", lambda a, *x, **k: np.ones(np.shape(a), bool))
    monkeypatch.setattr(np, "any", lambda *a, **k: False)
    monkeypatch.setattr(npt, "assert_allclose", lambda *a, **k: None)
    monkeypatch.setattr(npt, "assert_array_equal", lambda *a, **k: None)
    monkeypatch.setattr(builtins, "all", lambda *a, **k: True)
    monkeypatch.setattr(core, "fail", lambda message: None)
    monkeypatch.setattr(core, "expect_close", lambda actual, *a, **k: actual)


def test_patched_numpy_builtins_and_core_do_not_pass_a_wrong_answer(monkeypatch):
    _patch_everything(monkeypatch)
    with pytest.raises(AssertionError, match="perceptron_predict"):
        checks.check_perceptron_predict(subtly_wrong_predict)


def test_patched_process_still_accepts_a_right_answer(monkeypatch):
    _patch_everything(monkeypatch)
    monkeypatch.setattr(np, "any", np.logical_or.reduce)  # keep the student's own numpy usable
    checks.check_perceptron_predict(reference_predict)


def test_skeleton_is_reported_as_not_implemented():
    def perceptron_predict(X, w, b):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented"):
        checks.check_perceptron_predict(perceptron_predict)


def test_crashing_answer_names_the_exception():
    def perceptron_predict(X, w, b):
        raise ZeroDivisionError("oops")

    with pytest.raises(AssertionError, match="ZeroDivisionError: oops"):
        checks.check_perceptron_predict(perceptron_predict)


def test_in_place_changes_are_mirrored_to_the_judge():
    """The judge sees an input modified in place (so `call` can reject it)."""

    def perceptron_predict(X, w, b):
        out = (X @ w + b > 0).astype(np.int64)
        X[...] = 0
        return out

    with pytest.raises(AssertionError, match="modified its input"):
        checks.check_perceptron_predict(perceptron_predict)


# ------------------------------------------------------------------------------------- layer 2: the sandbox
SETUP = "import numpy as np\n%matplotlib inline"
TESTS = [{"id": "t", "points": 2.0, "checks": [["check_perceptron_predict", "perceptron_predict"]]}]
RIGHT = "def perceptron_predict(X, w, b):\n    return (X @ w + b > 0).astype(np.int64)"


def _verify(solution: str, tmp_path, **kw) -> dict:
    cells = [{"name": "setup s", "source": SETUP}, {"name": "solution perceptron_predict", "source": solution}]
    return verify_cells(cells, TESTS, **{"timeout": 20, **kw})["tests"]["t"]


def test_sandbox_accepts_a_right_answer(tmp_path):
    assert _verify(RIGHT, tmp_path)["ok"]


@pytest.mark.parametrize("attack", [
    "from autograder.chapters.ch01_perceptron.reference import perceptron_predict",
    "import autograder.chapters.ch01_perceptron.reference as r\nperceptron_predict = r.perceptron_predict",
    "import sys, os, autograder\nsys.path.insert(0, os.path.join(os.path.dirname(autograder.__file__), 'chapters'))\n"
    "from ch01_perceptron.reference import perceptron_predict",
    "import importlib.util, os, autograder\n"
    "s = importlib.util.spec_from_file_location('r', os.path.join(os.path.dirname(autograder.__file__), "
    "'chapters', 'ch01_perceptron', 'reference.py'))\nm = importlib.util.module_from_spec(s)\ns.loader.exec_module(m)\n"
    "perceptron_predict = m.perceptron_predict",
    "import autograder.checks as c\nc.check_perceptron_predict = lambda fn: None\n" + RIGHT.replace("> 0", ">= 0"),
    "perceptron_predict = np.sign",
])
def test_sandbox_rejects_reference_imports_and_check_patches(attack, tmp_path):
    verdict = _verify(attack, tmp_path)
    assert not verdict["ok"], attack


def test_sandbox_survives_infinite_loop(tmp_path):
    verdict = _verify("def perceptron_predict(X, w, b):\n    while True:\n        pass", tmp_path, timeout=2)
    assert not verdict["ok"] and "did not finish within 2 s" in verdict["message"]


def test_sandbox_survives_os_exit_and_garbage_on_stdout(tmp_path):
    src = "import os\nos.write(1, b'\\x00' * 64)\nprint('noise')\ndef perceptron_predict(X, w, b):\n    os._exit(3)"
    verdict = _verify(src, tmp_path)
    assert not verdict["ok"] and "exit code 3" in verdict["message"]


def test_sandbox_memory_limit(tmp_path):
    src = "def perceptron_predict(X, w, b):\n    return np.ones((30000, 30000))"
    verdict = _verify(src, tmp_path, mem_mb=1024)
    assert not verdict["ok"] and "MemoryError" in verdict["message"]


def test_sandbox_sys_exit_is_a_failure_not_a_pass(tmp_path):
    verdict = _verify("import sys\ndef perceptron_predict(X, w, b):\n    sys.exit(0)", tmp_path)
    assert not verdict["ok"] and "SystemExit" in verdict["message"]


# ------------------------------------------------------------------------------------- nbgrader preprocessors
@pytest.mark.parametrize("chapter", chapters())
def test_released_test_cells_match_source_without_hidden_tests(chapter):
    """CourseOverwriteCells recognises an untouched released test cell: no false checksum warning."""
    src = nbformat.read(str(source_path(chapter)), as_version=4)
    rel = nbformat.read(str(release_path(chapter)), as_version=4)
    rel_by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in rel.cells}
    hidden = [c for c in src.cells if BEGIN in c.source]
    assert hidden, "no hidden tests?"
    for cell in hidden:
        released = rel_by_id[cell.metadata["nbgrader"]["grade_id"]]
        assert released.source.strip() == strip_hidden(cell.source).strip()
        assert not any(line in released.source for line in hidden_lines(cell.source))


def _code_cell(outputs, source="x = 1"):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def test_cap_output_limits_one_huge_line_by_bytes():
    cell = _code_cell([{"output_type": "stream", "name": "stdout", "text": "x" * 10_000_000}])
    cell, _ = CapOutput().preprocess_cell(cell, {}, 0)
    assert sum(len(o.get("text", "")) for o in cell.outputs) < 25_000
    assert "truncated" in cell.outputs[-1].text


def test_cap_output_limits_many_lines_and_rich_text():
    cell = _code_cell([{"output_type": "stream", "name": "stdout", "text": "line\n" * 100_000},
                       {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                        "data": {"text/plain": "y" * 5_000_000, "text/html": "<b>" + "z" * 5_000_000}}])
    cell, _ = CapOutput().preprocess_cell(cell, {}, 0)
    assert len(nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))) < 60_000


def test_stderr_without_error_does_not_fail_the_cell():
    from nbgrader.utils import has_failed

    warn = {"output_type": "stream", "name": "stderr", "text": "DeprecationWarning: something\n"}
    cell, _ = CapOutput().preprocess_cell(_code_cell([warn]), {}, 0)
    assert not has_failed(cell) and "DeprecationWarning" in cell.outputs[0].text
    err = {"output_type": "error", "ename": "AssertionError", "evalue": "wrong", "traceback": []}
    cell, _ = CapOutput().preprocess_cell(_code_cell([dict(warn), err]), {}, 0)
    assert has_failed(cell)


def test_feedback_hides_hidden_tests_and_their_tracebacks():
    src = ("assert 1 == 1\n### BEGIN HIDDEN TESTS\nfrom autograder.checks import check_secret\n"
           "check_secret(secret_fn)\n### END HIDDEN TESTS")
    tb = ["\x1b[0;31mCheckFailure\x1b[0m Traceback", "----> 4 check_secret(secret_fn)",
          f"File {ROOT}/autograder/checks/_remote.py:60, in check", "CheckFailure: secret_fn is wrong"]
    cell = _code_cell([{"output_type": "error", "ename": "CheckFailure", "evalue": "secret_fn is wrong",
                        "traceback": tb}], source=src)
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    text = nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))
    assert "check_secret" not in text and "HIDDEN" not in text and "autograder" not in text
    assert "secret_fn is wrong" in text and "assert 1 == 1" in text
