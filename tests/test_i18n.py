"""The course's messages in two languages (issue 30): the language chosen, the fallbacks, and a catalog check that
fails on a missing, empty or fuzzy entry, on different placeholders and on a stale .mo."""

from __future__ import annotations

import numpy as np
import pytest
from babel.messages.catalog import Catalog

from autograder.authoring import catalog
from course import i18n


@pytest.mark.parametrize("env, expected", [
    ({}, "en"),
    ({"COURSE_LANG": "zh_CN"}, "zh_CN"),
    ({"COURSE_LANG": "zh-CN"}, "zh_CN"),
    ({"COURSE_LANG": "zh"}, "zh_CN"),
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"COURSE_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"COURSE_LANG": "fr_FR"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
])
def test_the_language_comes_from_course_lang_then_the_locale_then_english(env, expected):
    assert i18n.language(env) == expected


def test_a_course_message_is_shown_in_the_learners_language(monkeypatch):
    from course.gradcheck import relative_error

    for var in ("COURSE_LANG", *i18n.LOCALE_VARIABLES):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match=r"^shapes differ: \(2,\) vs \(1,\)$"):
        relative_error(np.zeros(2), np.zeros(1))
    monkeypatch.setenv("COURSE_LANG", "zh_CN")
    with pytest.raises(ValueError, match=r"^形状不同：\(2,\) 与 \(1,\)$"):
        relative_error(np.zeros(2), np.zeros(1))
    monkeypatch.setenv("COURSE_LANG", "xx")
    with pytest.raises(ValueError, match="^shapes differ"):
        relative_error(np.zeros(2), np.zeros(1))


def test_a_translation_with_wrong_placeholders_falls_back_to_english():
    assert i18n.fill("{nom} 不对", "{name} is wrong", {"name": "x"}) == "x is wrong"


def test_the_catalogs_are_complete_and_compiled():
    assert catalog.languages() == ["zh_CN"]
    assert catalog.sources(), "no course module uses the catalog"
    assert catalog.sync(check=True) == []


def fixture_template() -> Catalog:
    t = Catalog()
    t.add("shapes differ: {a} vs {b}")
    t.add("k must be odd, got {k:d}")
    return t


@pytest.mark.parametrize("entries, expected", [
    ({"shapes differ: {a} vs {b}": "形状不同：{a} 与 {b}", "k must be odd, got {k:d}": "k 必须是奇数：{k:d}"}, []),
    ({"shapes differ: {a} vs {b}": "形状不同：{a} 与 {b}"}, ["missing"]),
    ({"shapes differ: {a} vs {b}": "", "k must be odd, got {k:d}": "k 必须是奇数：{k:d}"}, ["empty"]),
    ({"shapes differ: {a} vs {b}": "形状不同：{a}", "k must be odd, got {k:d}": "k 必须是奇数：{k}"},
     ["placeholders", "placeholders"]),
    ({"shapes differ: {a} vs {b}": "形状不同：{a} 与 {b}", "k must be odd, got {k:d}": "k 必须是奇数：{k:d}",
      "gone": "已删除"}, ["obsolete"]),
    # the English changed (a stale translation): the new message is missing, the old entry obsolete
    ({"shapes differ: {a} versus {b}": "形状不同：{a} 与 {b}", "k must be odd, got {k:d}": "k 必须是奇数：{k:d}"},
     ["missing", "obsolete"]),
    ({"shapes differ: {a} vs {b}": "形状不同：{a} 与 {b}", "k must be odd, got {k:d}": "k 必须是奇数：{k}"},
     ["placeholders"]),
])
def test_the_catalog_check_fails_on_what_it_must(entries, expected):
    c = Catalog(locale="zh_CN")
    for msgid, msgstr in entries.items():
        c.add(msgid, msgstr)
    found = catalog.problems(fixture_template(), c, "zh_CN")
    assert len(found) == len(expected) and all(e in f for e, f in zip(expected, found)), found


def test_a_fuzzy_entry_is_not_a_translation():
    c = Catalog(locale="zh_CN")
    c.add("shapes differ: {a} vs {b}", "形状不同：{a} 与 {b}", flags=["fuzzy"])
    c.add("k must be odd, got {k:d}", "k 必须是奇数：{k:d}")
    assert ["fuzzy" in f for f in catalog.problems(fixture_template(), c, "zh_CN")] == [True]


def test_every_wrapped_message_is_extracted(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('from course.i18n import gettext as _\nraise ValueError(_("got {n} items", n=3))\n')
    assert [m.id for m in catalog.extract([module]) if m.id] == ["got {n} items"]
