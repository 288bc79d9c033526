"""``course-selfcheck``: a per-exercise report with hints on the learner's own notebook, offline, without ever
printing check code."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys

import pytest

from autograder.chapters import real_checks
from autograder.paths import ROOT, release_path, source_path
from autograder.selfcheck import selfcheck
from course.hints import hint_for
from tests.conftest import isolated_env

CORPUS = ROOT / "tests" / "submissions" / "01_perceptron"


def _run(path, **kw) -> tuple[int, str]:
    out = io.StringIO()
    code = selfcheck(path, out=out, **kw)
    return code, out.getvalue()


def _assert_no_check_code(text: str):
    for name in ("check_perceptron_predict", "check_perceptron_train"):
        real = real_checks()[name]
        body = [ln.strip() for ln in inspect.getsource(real).splitlines()[1:] if len(ln.strip()) > 25]
        assert body
        for line in body:
            assert line not in text, f"check code leaked: {line!r}"
    assert "def check_" not in text and "autograder/chapters" not in text and "reference.py" not in text


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
    assert "is wrong: at index" in text and "hint: The shape is right but some values differ" in text
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
    assert "new arrays" in hint_for("f modified its input argument #1 in place; work on a copy instead.")


def test_every_hint_key_has_a_specific_hint():
    from course.hints import HINTS

    for key, text in HINTS.items():
        assert text.strip() and "re-read" not in text.lower(), key
    assert "re-read" not in hint_for("something nobody foresaw").lower()


def test_hint_follows_the_failing_property_not_the_wording():
    # a KeyError is about key names, not about random shapes
    text = hint_for("init_mlp raised KeyError: 'W0'\n  (called with: list of length 3)", "raised_KeyError")
    assert "key names" in text and "shapes" not in text
    assert "key names" in hint_for("init_mlp raised KeyError: 'W0'")  # no key: from the message
    # a layout error inside a message that mentions overlapping windows gets the layout hint
    assert "layout" in hint_for("col2im(...) (windows overlap here) is wrong: at index (0, 1)", "layout")
    assert "EVERY epoch" in hint_for("two epochs had the same order", "permutation_per_epoch")
    assert "CURRENT weights" in hint_for("perceptron_train ... is wrong", "stale_prediction")
    assert "both branches" in hint_for("sigmoid raised RuntimeWarning: overflow encountered in exp").lower()


def test_check_hint_keys_reach_the_verdict_and_the_kernel_client():
    from autograder.trusted.judge import run_check
    from course.compare import fail

    def check(fn):
        fail("two epochs drawn from the same rng had the same order", hint="permutation_per_epoch")

    verdict = run_check(check, lambda: None)
    assert verdict == {"ok": False, "message": "two epochs drawn from the same rng had the same order",
                       "not_implemented": False, "hint": "permutation_per_epoch"}


@pytest.mark.slow
def test_console_script_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autograder.selfcheck", str(release_path("01_perceptron"))],
                          capture_output=True, text=True, env=isolated_env(tmp_path), timeout=300)
    assert proc.returncode == 1 and "[FAIL] perceptron_predict" in proc.stdout


def test_every_hint_key_a_check_uses_is_known():
    """Keys attached by checks (fail(msg, KEY), hint=KEY, expect_close(..., KEY)) all have a hint."""
    import ast

    from course.hints import HINTS

    used = set()
    for path in [*sorted((ROOT / "autograder" / "chapters").glob("ch*/checks.py")), ROOT / "course" / "compare.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = {"fail": 1, "expect_close": 5, "expect_scalar": 5}.get(node.func.id)
            args = node.args
            cands = [kw.value for kw in node.keywords if kw.arg == "hint"]
            if position is not None and len(args) > position:
                cands.append(args[position])
            used |= {c.value for c in cands if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert used, "no hint keys found"
    assert used <= set(HINTS), used - set(HINTS)
