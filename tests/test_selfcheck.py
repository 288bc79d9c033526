"""``course-selfcheck``: a per-exercise report with hints on the learner's own notebook, offline, without ever
printing check code."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys

import pytest

import autograder.checks as checks
from autograder.build import ROOT, release_path, source_path
from autograder.selfcheck import hint_for, selfcheck
from tests.conftest import isolated_env

CORPUS = ROOT / "autograder" / "corpus" / "submissions" / "01_perceptron"


def _run(path, **kw) -> tuple[int, str]:
    out = io.StringIO()
    code = selfcheck(path, out=out, **kw)
    return code, out.getvalue()


def _assert_no_check_code(text: str):
    for name in ("check_perceptron_predict", "check_perceptron_train"):
        real = checks.REAL_CHECKS[name]
        body = [ln.strip() for ln in inspect.getsource(real).splitlines()[1:] if len(ln.strip()) > 25]
        assert body
        for line in body:
            assert line not in text, f"check code leaked: {line!r}"
    assert "def check_" not in text and "autograder/checks" not in text and "autograder/reference" not in text


def test_solution_passes_everything():
    code, text = _run(source_path("01_perceptron"))
    assert code == 0, text
    assert text.count("[PASS]") == 2 and "Score: 5/5" in text


def test_skeleton_fails_every_exercise_with_a_hint():
    code, text = _run(release_path("01_perceptron"))
    assert code == 1
    assert text.count("[FAIL]") == 2 and "Score: 0/5" in text
    assert "not implemented yet" in text and "hint: Replace `raise NotImplementedError()`" in text
    _assert_no_check_code(text)


def test_subtle_mistake_is_explained_without_revealing_the_check():
    code, text = _run(CORPUS / "wrong_predict" / "01_perceptron.ipynb", chapter="01_perceptron")
    assert code == 1
    assert "[PASS] perceptron_train" in text and "[FAIL] perceptron_predict" in text
    assert "is wrong: at index" in text and "hint: The values differ" in text
    _assert_no_check_code(text)


def test_importing_the_checks_from_an_answer_fails_that_answer():
    code, text = _run(CORPUS / "patch_checks_module" / "01_perceptron.ipynb", chapter="01_perceptron")
    assert code == 1
    assert "[PASS] perceptron_train" in text and "[FAIL] perceptron_predict" in text
    assert "autograder.checks is not available to answers" in text
    _assert_no_check_code(text)


def test_unreadable_notebook_is_reported(tmp_path):
    bad = tmp_path / "01_perceptron.ipynb"
    bad.write_text("{not json")
    code, text = _run(bad)
    assert code == 2 and "cannot be read" in text


def test_hints_cover_common_failures():
    assert "shape" in hint_for("perceptron_predict on X (3, 2) has shape (3, 1), expected (3,)")
    assert "loop" in hint_for("your code did not finish within 60 s (infinite loop? far too slow?)")
    assert "copies" in hint_for("f modified its input argument #1 in place; work on a copy instead.")


@pytest.mark.slow
def test_console_script_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autograder.selfcheck", str(release_path("01_perceptron"))],
                          capture_output=True, text=True, env=isolated_env(tmp_path), timeout=300)
    assert proc.returncode == 1 and "[FAIL] perceptron_predict" in proc.stdout
