"""Messages that name the real fault (issue 26 item 5): for the wrong answers a chapter's wrong.py lists in
``MESSAGES = {fn: {wrong_name: (word, ...)}}``, the check's message (in-process and through the judge, as the
kernel, self-check and grade run it) contains every word and none of the ``!word``s (case-insensitive)."""

from __future__ import annotations

import pytest

import autograder.checks as checks
from autograder.chapters import all_chapters, real_checks

REAL_CHECKS = real_checks()
CASES = []
for _chapter in all_chapters():
    _module = _chapter.module("wrong")
    for _fn, _entries in getattr(_module, "MESSAGES", {}).items():
        _by_name = {w.__name__: w for w in _module.WRONG.get(_fn, [])}
        for _name, _words in _entries.items():
            CASES.append((_fn, _name, _by_name.get(_name), tuple(_words)))


def test_messages_name_wrong_answers():
    assert CASES, "no chapter's wrong.py lists MESSAGES"
    for fn, name, impl, words in CASES:
        assert impl is not None, f"MESSAGES names {fn}/{name}, which is not in that chapter's WRONG[{fn!r}]"
        assert words, f"MESSAGES[{fn!r}][{name!r}] lists no words"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn,name,impl,words", CASES, ids=[f"{fn}-{name}" for fn, name, _, _ in CASES])
def test_check_message_names_the_fault(fn, name, impl, words):
    for label, check in (("in-process", REAL_CHECKS[f"check_{fn}"]), ("judge", getattr(checks, f"check_{fn}"))):
        with pytest.raises(AssertionError) as info:
            check(impl)
        text = str(info.value).lower()
        missing = [w for w in words if not w.startswith("!") and w.lower() not in text]
        present = [w[1:] for w in words if w.startswith("!") and w[1:].lower() in text]
        assert not missing and not present, (f"check_{fn}({name}) ({label}) should say {missing} and not say "
                                             f"{present}; it says: {info.value}")


def test_value_messages_print_enough_digits_to_differ():
    import numpy as np

    from course.compare import CheckFailure, expect_close, expect_scalar, pair

    assert pair(0.6802070001, 0.680207) != ("0.680207", "0.680207")
    got, want = pair(0.6802070001, 0.680207)
    assert got != want
    with pytest.raises(CheckFailure) as info:
        expect_close(np.array([0.68020703]), np.array([0.680207]), "out", rtol=1e-9, atol=0)
    text = str(info.value)
    assert "got 0.68020703, expected 0.680207" in text and "relative" in text
    assert info.value.hint == "float32"  # agrees to ~7 digits: the float32 hint
    with pytest.raises(CheckFailure) as info:
        expect_scalar(np.float32(0.1) + 0.0, 0.1, "loss", rtol=1e-12, atol=0)
    assert info.value.hint == "float32" and "0.100000001" in str(info.value)
    with pytest.raises(CheckFailure) as info:
        expect_close(np.ones(3, np.float32), np.ones(3), "out")
    assert "float32" in str(info.value) and info.value.hint == "float32"
    expect_close(np.float32([1 / 3]), np.float32([1 / 3]) + np.float32(3e-8), "float32 contract", rtol=1e-7)
