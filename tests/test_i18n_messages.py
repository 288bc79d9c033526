"""Every user-facing message of ``course`` (and of the self-check and feedback pages) goes through the catalog
(issue 30): a scan of the code for text that reaches the learner without ``gettext``, the message tables in the
catalog and translated, the language chosen per block, and a verdict that does not depend on the language."""

from __future__ import annotations

import ast
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from autograder.authoring import catalog
from course import i18n

ROOT = Path(__file__).resolve().parent.parent
# the modules whose strings reach learners: all of course (the browser code of the live view is JavaScript: its
# texts come from course.monitor_live.live_labels), and autograder's self-check and feedback pages
SCANNED = sorted(p for p in (ROOT / "course").rglob("*.py") if "__pycache__" not in p.parts
                 and p.name not in ("i18n.py", "monitor_live_js.py"))
SCANNED += [ROOT / "autograder" / "selfcheck.py", ROOT / "autograder" / "grading" / "feedback.py",
            ROOT / "autograder" / "grading" / "verdict_box.py"]
WRAPPERS = {"_", "gettext", "gettext_in", "ngettext", "N_"}
# calls whose (first) argument a learner reads; keyword arguments a learner reads (widgets, plots)
SINK_CALLS = {"fail", "print", "warn", "SystemExit", "CheckFailure", "NotImplementedYet", "set_title", "set_xlabel",
              "set_ylabel", "text"}
SINK_KEYWORDS = {"description", "tooltip", "label"}
WORDS = re.compile(r"[A-Za-z]{2,}[ ,:;]+[A-Za-z]{2,}")  # two words: a sentence, not a name, a key or a format
# text that reaches instructors, not learners: {start of the text: why}
ALLOWED = {"f'[grade] ": "course-grade's progress log for the instructor",
           "raise ValueError(f'no float32 case for ": "a course error (a check asked for a case it lacks), never a "
                                                       "learner's",
           "raise KeyError(f'unknown target ": "the judge's protocol, never a learner's",
           "raise ProtocolError(": "a broken protocol stream (a tampered channel), which a learner's code cannot cause",
           "raise ImportError(f'{name} is not available to answers": "raised into the answer's own code, like Python's "
                                                                      "own errors",
           "f'unknown check ": "an instructor error (a test cell calls a check that does not exist)",
           '"numerical_gradient and relative_error are': "the student-edition builder's reason, for the instructor",
           '"Re-run a notebook\'s checks out of the kernel': "the help of course-grade's internal command"}
# keys of a verdict or result dict whose text a learner reads
MESSAGE_KEYS = {"message", "note"}
# the chapters' checks (their failures and case descriptions, through the instructor-side 'checks' catalog of
# autograder.chapters.messages): every chapter module that builds failures with course.compare
CHECK_MODULES = sorted(p for p in (ROOT / "autograder" / "chapters").rglob("*.py") if "__pycache__" not in p.parts
                       and "course.compare import" in p.read_text(encoding="utf-8"))
# and the trusted side's own messages: the judge's verdicts, the kernel's client of it, the channel's and the
# sandbox's keyed messages (errors.py's table, worded by wording.py), the re-check's verdicts and notes, and the
# feedback run's "not run" text
CHECK_MODULES += [ROOT / "autograder" / "trusted" / f"{m}.py"
                  for m in ("judge", "client", "channel", "errors", "sandbox", "wording", "recheck", "rebuild")]
CHECK_MODULES += [ROOT / "autograder" / "grading" / "preprocessors" / "sandboxed_execute.py",
                  ROOT / "autograder" / "grading" / "page_reasons.py",
                  ROOT / "autograder" / "grading" / "preprocessors" / "cap_output.py"]
# the argument of a comparison helper that describes the case a learner reads (its ``what``), by position
WHAT_ARGS = {"expect_close": 2, "expect_scalar": 2, "expect_shape": 2, "expect_tuple": 2, "as_array": 1,
             "expect_float32": 2}


def is_text(node) -> bool:
    """An expression that builds English prose without the catalog (a literal, an f-string, a concatenation)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(WORDS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return bool(WORDS.search("".join(v.value for v in node.values if isinstance(v, ast.Constant))))
    if isinstance(node, ast.BinOp):
        return is_text(node.left) or is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return is_text(node.func.value)
    if isinstance(node, ast.IfExp):
        return is_text(node.body) or is_text(node.orelse)
    return False


def call_name(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def unwrapped(path: Path) -> list[str]:
    """``path:line: text`` of every message in ``path`` that reaches a learner without the catalog: text raised,
    failed, printed, warned or drawn, and a wrapper called with an f-string or a concatenation (not extractable)."""
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        if name in WRAPPERS:
            message = node.args[1:2] if name == "gettext_in" else node.args[:1]
            if message and not isinstance(message[0], (ast.Constant, ast.Name, ast.Subscript, ast.Attribute,
                                                       ast.IfExp)):
                found.append(f"{rel}:{node.lineno}: {name}() of a built string cannot be extracted")
            continue
        exprs = list(node.args[:1]) if name in SINK_CALLS else []
        exprs += list(node.args[WHAT_ARGS[name]:WHAT_ARGS[name] + 1]) if name in WHAT_ARGS else []
        exprs += [k.value for k in node.keywords if k.arg in SINK_KEYWORDS or (k.arg == "what" and name in WHAT_ARGS)]
        if name == "append" and isinstance(node.func.value, ast.Name) and node.func.value.id == "notes":
            exprs += node.args[:1]  # a note for the learner
        found += [f"{rel}:{e.lineno}: {ast.unparse(e)[:80]}" for e in exprs if is_text(e)]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args \
                and is_text(node.exc.args[0]):
            found.append(f"{rel}:{node.lineno}: raise {ast.unparse(node.exc)[:80]}")
        # a verdict's message or note: ``{"message": f"..."}``
        if isinstance(node, ast.Dict):
            found += [f"{rel}:{v.lineno}: {ast.unparse(v)[:80]}" for k, v in zip(node.keys, node.values)
                      if isinstance(k, ast.Constant) and k.value in MESSAGE_KEYS and is_text(v)]
        # a table of messages (``NOTES = {"key": "text ..."}``): each entry marked with N_
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets) \
                and isinstance(node.value, ast.Dict):
            found += [f"{rel}:{v.lineno}: {ast.unparse(v)[:80]}" for v in node.value.values if is_text(v)]
        # a case description built for the messages: ``what = f"..."``
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "what" for t in node.targets) \
                and is_text(node.value):
            found.append(f"{rel}:{node.lineno}: what = {ast.unparse(node.value)[:80]}")
    return sorted({f for f in found if not any(f.split(": ", 1)[1].startswith(a) for a in ALLOWED)})


def test_every_user_facing_message_goes_through_the_catalog():
    assert len(SCANNED) > 25
    found = [f for path in SCANNED for f in unwrapped(path)]
    assert not found, "wrap these in gettext (course.i18n) and translate them:\n" + "\n".join(found)


UNWRAPPED_CASES = [
    ('raise ValueError(f"k must be odd, got {k}")', 1),
    ('raise ValueError("k must be odd, got " + str(k))', 1),
    ('fail("the output is wrong", "values")', 1),
    ('print("Your score: {got}".format(got=1))', 1),
    ('gettext_in(lang, "graded by " + who)', 1),
    ('widgets.Button(description="Stop training")', 1),
    ('raise ValueError(_(f"k must be odd, got {k}"))', 1),
    ('raise ValueError(_("k must be odd, got {k}", k=k))', 0),
    ('fail(gettext("{what} is wrong", what=w), "values")', 0),
    ('raise KeyError(name)', 0),
    ('print(f"  {line}")', 0),
    ('expect_close(g, e, f"{what}: the gradient of W")', 1),
    ('expect_shape(out, shape, what=f"softmax on {what} rows")', 1),
    ('what = f"case {i}: logits {shape}"', 1),
    ('what = _("case {i}: logits {shape}", i=i, shape=shape)', 0),
    ('expect_tuple(out, 2, what, "loss, grads")', 0),
    ('expect_close(g, e, _("{what}: the gradient of W", what=what))', 0),
    ('verdict = {"ok": False, "message": f"the check of {name} did not finish"}', 1),
    ('verdict = {"ok": False, "message": _("the check of {name} did not finish", name=name)}', 0),
    ('notes.append(f"cell {cell} raised an error")', 1),
    ('NOTES = {"missing": "solution cell {grade_id} is missing"}', 1),
    ('NOTES = {"missing": N_("solution cell {grade_id} is missing")}', 0),
]


@pytest.mark.parametrize("code, count", UNWRAPPED_CASES)
def test_the_scan_finds_unwrapped_text(tmp_path, code, count):
    module = tmp_path / "m.py"
    module.write_text(code + "\n")
    assert len(unwrapped(module)) == count, unwrapped(module)


def test_the_scan_fails_when_a_real_message_is_unwrapped(tmp_path):
    """Undo the wrapping of one real message of course/compare.py: the scan names it."""
    src = (ROOT / "course" / "compare.py").read_text(encoding="utf-8")
    wrapped = '_("{what} has shape {shape}, expected {expected}", what=what, shape=arr.shape, expected=tuple(shape))'
    assert wrapped in src
    module = tmp_path / "compare.py"
    module.write_text(src.replace(wrapped, 'f"{what} has shape {arr.shape}, expected {tuple(shape)}"'))
    assert unwrapped(ROOT / "course" / "compare.py") == []
    assert [f for f in unwrapped(module) if "has shape" in f], unwrapped(module)


def test_every_check_message_goes_through_the_checks_catalog():
    """The chapters' checks: failures, case descriptions and what the comparison helpers are told."""
    checks = [p for p in CHECK_MODULES if p.name == "checks.py"]
    assert len(checks) == 6, CHECK_MODULES
    found = [f for path in CHECK_MODULES for f in unwrapped(path)]
    assert not found, "wrap these in autograder.chapters.messages' gettext and translate them:\n" + "\n".join(found)


def test_the_scan_fails_when_a_real_check_message_is_unwrapped(tmp_path):
    """Undo the wrapping of a real failure and a real case description of chapter 1's checks: the scan names both."""
    path = ROOT / "autograder" / "chapters" / "ch01_perceptron" / "checks.py"
    src = path.read_text(encoding="utf-8")
    wrapped = ('_("perceptron_train (case {case}: N={n}, D={d}, lr={lr}, epochs={epochs})", case=case + 1, n=len(X),\n'
               '                 d=D, lr=lr, epochs=epochs)')
    message = '_("{what}: mistakes per epoch", what=what)'
    assert wrapped in src and message in src
    module = tmp_path / "checks.py"
    module.write_text(src.replace(wrapped, 'f"perceptron_train on case {case + 1} with N={len(X)}, D={D}"')
                      .replace(message, 'f"{what}: mistakes per epoch"'))
    assert unwrapped(path) == []
    found = unwrapped(module)
    assert [f for f in found if "what = f'perceptron_train on case" in f], found
    assert [f for f in found if "mistakes per epoch" in f], found


@pytest.mark.parametrize("module, wrapped, unwrapped_text, flagged", [
    ("recheck.py", '_("the check of {name} did not finish within {seconds:g} s (an endless "\n'
                   '                                            "loop or generator? far too slow?)", name=fn_name, '
                   'seconds=timeout)', 'f"the check of {fn_name} did not finish within {timeout:g} s"', "the check of"),
    ("rebuild.py", 'N_("solution cell {grade_id} is missing")', '"solution cell {grade_id} is missing"',
     "solution cell"),
    ("sandbox.py", 'raise tagged(NameError(english(key, names)), key, names)',
     'raise NameError(f"{name} is not defined: did you delete its cell?")', "is not defined"),
])
def test_the_scan_fails_when_a_real_trusted_message_is_unwrapped(tmp_path, module, wrapped, unwrapped_text, flagged):
    """Undo the wording of a real verdict (recheck), note (rebuild) and sandbox message: the scan names it."""
    path = ROOT / "autograder" / "trusted" / module
    src = path.read_text(encoding="utf-8")
    assert wrapped in src and unwrapped(path) == []
    (tmp_path / module).write_text(src.replace(wrapped, unwrapped_text))
    assert [f for f in unwrapped(tmp_path / module) if flagged in f], unwrapped(tmp_path / module)


def table_messages() -> list[str]:
    """The messages kept in tables (marked with N_ and translated where they are shown)."""
    from autograder.grading import verdict_box
    from course import diagnosis, hints, monitor, monitor_plot

    out = list(hints.HINTS.values()) + list(diagnosis.MESSAGES.values()) + [diagnosis.STEP_CAUSES]
    out += [monitor.SO_FAR_CLEAN, monitor.FINISHED_CLEAN, monitor.STOPPED_CLEAN, *monitor.X_LABELS,
            verdict_box.VERDICT_PREFIX]
    return out + list(monitor_plot.TITLES.values()) + list(monitor_plot.ROW_TITLES.values())


def test_every_table_message_is_in_the_catalog_and_translated():
    ids = {m.id for m in catalog.extract(catalog.sources()) if m.id}
    messages = table_messages()
    assert len(messages) > 80
    assert [m for m in messages if m not in ids] == []
    assert [m for m in messages if i18n.gettext_in("zh_CN", m) == m] == []


def test_the_live_view_gets_its_texts_in_the_learners_language():
    from course.monitor_live import live_labels

    with i18n.using("zh_CN"):
        zh = live_labels()
    en = live_labels()
    assert en["grad_rms"] == "gradient RMS per layer" and zh["grad_rms"] == "各层梯度的 RMS"
    assert set(zh) == set(en) and all(zh[k] != en[k] for k in en)
    assert catalog.placeholders(zh["off_scale"]) == catalog.placeholders(en["off_scale"])


def test_using_chooses_the_language_of_a_block(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    assert i18n.current() == "en"
    with i18n.using("zh-CN") as lang:
        assert lang == "zh_CN" and i18n.current() == "zh_CN"
        assert i18n.gettext("passed") == "通过"
        with i18n.using("fr"):  # unknown: English
            assert i18n.gettext("passed") == "passed"
        seen = []
        thread = threading.Thread(target=lambda: seen.append(i18n.current()))  # a new thread: the usual choice
        thread.start()
        thread.join()
        assert seen == ["en"]
        with i18n.using(None):  # the usual choice again
            assert i18n.current() == "en"
        assert i18n.current() == "zh_CN"
    assert i18n.current() == "en"
    assert i18n.gettext_in("zh_CN", "hint: {hint}", hint="x") == "提示：x"
    assert i18n.gettext_in("xx", "hint: {hint}", hint="x") == "hint: x"


def test_visible_test_messages_and_hints_in_both_languages():
    from course.compare import CheckFailure, expect_close, expect_shape
    from course.hints import hint_for

    with i18n.using("en"):
        with pytest.raises(CheckFailure) as en:
            expect_shape(np.zeros(2), (3,), "out")
        assert str(en.value) == "out has shape (2,), expected (3,)"
        assert hint_for(str(en.value), en.value.hint).startswith("Check the shape of what you return")
    with i18n.using("zh_CN"):
        with pytest.raises(CheckFailure) as zh:
            expect_shape(np.zeros(2), (3,), "out")
        assert str(zh.value) == "out 的形状是 (2,)，应为 (3,)"
        assert zh.value.hint == en.value.hint == "shape"
        assert hint_for(str(zh.value), zh.value.hint).startswith("请对照 docstring 检查返回值的形状")
        with pytest.raises(CheckFailure) as zh:
            expect_close(np.array([1.0, 2.5]), np.array([1.0, 2.0]), "out")
        assert str(zh.value).startswith("out 不正确：在索引 (1,) 处得到 2.5，应为 2") and zh.value.hint == "values"


def test_chinese_text_has_no_gap_where_a_placeholder_was_chinese_too():
    from course.monitor import FINISHED_CLEAN
    from course.testing import assert_shape

    with i18n.using("zh_CN"):
        with pytest.raises(AssertionError) as info:
            assert_shape(np.zeros(2), (3,))  # the default name, translated
        assert str(info.value) == "结果的形状是 (2,)，应为 (3,)"
        step = i18n.gettext("step")
        assert i18n.gettext(FINISHED_CLEAN, x_label=step, step=5) == "✔ 在步数 5 时结束：没有发现问题。"
        assert i18n.gettext(FINISHED_CLEAN, x_label="batch", step=5) == "✔ 在 batch 5 时结束：没有发现问题。"
    assert i18n.fill("{a} 和 {b}", "{a} and {b}", {"a": "甲", "b": "x"}) == "甲和 x"


def test_a_diagnosis_in_chinese_keeps_its_code_and_severity():
    from course.diagnosis import finding

    values = dict(layer="W1", ratio=3.0, at=7)
    en = finding("huge_step", 7, "W1", **values)
    with i18n.using("zh_CN"):
        zh = finding("huge_step", 7, "W1", **values)
    assert (zh.code, zh.severity, zh.step, zh.subject) == (en.code, en.severity, en.step, en.subject)
    assert en.message.startswith("W1 changed by 3 times its own size in one update (step 7): a step far too large. "
                                 "The usual causes:")
    assert zh.message.startswith("W1 在一次更新中变化了自身大小的 3 倍（第 7 步）：步长太大了。常见原因：")


def wrong_answer_cases():
    from autograder.chapters import all_chapters

    cases = []
    for chapter in all_chapters():
        module = chapter.module("wrong")
        for fn, entries in getattr(module, "MESSAGES", {}).items():
            by_name = {w.__name__: w for w in module.WRONG.get(fn, [])}
            cases += [(fn, name, by_name[name]) for name in entries if name in by_name]
    return cases


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_language_never_changes_a_verdict():
    """The chapters' wrong answers fail the same checks with the same hint key in both languages; the visible-test
    helper's messages differ only in language."""
    from autograder.chapters import real_checks

    checks = real_checks()
    cases = [c for c in wrong_answer_cases() if "speed" not in c[1] and "reshape_trick" not in c[1]]
    assert len(cases) >= 8
    for fn, name, impl in cases:
        outcome = {}
        for lang in ("en", "zh_CN"):
            with i18n.using(lang):
                try:
                    checks[f"check_{fn}"](impl)
                    outcome[lang] = (True, None)
                except AssertionError as exc:
                    outcome[lang] = (False, getattr(exc, "hint", None))
        assert outcome["en"] == outcome["zh_CN"] and outcome["en"][0] is False, (fn, name, outcome)


def test_a_failure_without_a_key_gets_the_same_hint_in_every_language():
    """A failure raised without a hint key gets the key of the pattern found in its English (a catalog message
    remembers its English), so a Chinese failure gets the same hint as the English one, not the generic hint."""
    from course.compare import CheckFailure
    from course.hints import HINTS, hint_for, hint_key

    message = "{what} contains nan or inf (first at index {index}); expected finite values"
    failures = {}
    for lang in ("en", "zh_CN"):
        with i18n.using(lang):
            failures[lang] = CheckFailure(i18n.gettext(message, what="out", index=(1,)))
    assert str(failures["zh_CN"]) != str(failures["en"])
    assert failures["en"].hint == failures["zh_CN"].hint == "nonfinite"
    with i18n.using("zh_CN"):
        assert hint_for(str(failures["zh_CN"]), failures["zh_CN"].hint) == i18n.gettext(HINTS["nonfinite"])
    # the Chinese text alone (its English forgotten) matches no English pattern: the key is what carries the hint
    assert hint_key(str(failures["zh_CN"])) is None and hint_key(str(failures["en"])) == "nonfinite"
    # a check's message (the checks' catalog) built from a described case remembers the English of both
    from autograder.chapters.messages import gettext as checks_gettext

    with i18n.using("zh_CN"):
        what = checks_gettext("relative_error of two zero arrays (should be 0.0, not nan)")
        text = checks_gettext("{what} should return one number (a float), got {shape}", what=what, shape=(2,))
    assert i18n.english_of(text) == ("relative_error of two zero arrays (should be 0.0, not nan) should return one "
                                     "number (a float), got (2,)")
    assert text.startswith("两个全零数组的 relative_error")


def test_lists_in_a_sentence_use_the_languages_separator():
    assert i18n.join(["W1", "b1", "W2"]) in ("W1, b1, W2", "W1、b1、W2")
    with i18n.using("en"):
        assert i18n.join(["W1", "b1", "W2"]) == "W1, b1, W2"
    with i18n.using("zh_CN"):
        assert i18n.join(["W1", "b1", "W2"]) == "W1、b1、W2"


def test_a_count_of_findings_is_singular_or_plural():
    from course.monitor import found_summary

    values = dict(x_label="step", step=5, earlier=0)
    with i18n.using("en"):
        assert found_summary(False, 1, **values) == "Finished at step 5: 1 finding at the end, listed below."
        assert found_summary(True, 3, **values) == "Stopped by you at step 5: 3 findings at the end, listed below."
    with i18n.using("zh_CN"):
        assert found_summary(False, 1, **values) == "在 step 5 时结束：结束时有 1 项发现，列在下面。"
        assert found_summary(False, 3, **values) == "在 step 5 时结束：结束时有 3 项发现，列在下面。"



def test_the_sandbox_side_never_imports_the_checks_catalog():
    """The checks' catalog lives in autograder.chapters, which the sandbox running an answer refuses to import: the
    modules the sandbox loads (transitively) must not import it, or the sandbox dies on start (every check fails)."""
    from autograder.trusted.sandbox import INSTRUCTOR_ONLY

    def imported(module: str) -> set[str]:
        path = ROOT / Path(*module.split(".")).with_suffix(".py")
        out = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                out |= {a.name for a in node.names}
        return {m for m in out if m.startswith(("autograder", "course"))}

    seen, todo = set(), ["autograder.trusted.sandbox"]
    while todo:
        module = todo.pop()
        if module in seen or not (ROOT / Path(*module.split(".")).with_suffix(".py")).is_file():
            continue
        seen.add(module)
        todo += sorted(imported(module))
    assert "autograder.trusted.channel" in seen and "course.compare" in seen
    assert [m for m in seen if m.startswith(INSTRUCTOR_ONLY)] == []
