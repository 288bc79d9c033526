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


def test_a_message_left_in_english_is_reported_unless_it_is_pure_code():
    """A case description that is only a call needs no translation; one with prose in it does (issue 30)."""
    template = Catalog()
    for msgid in ("{name}(dout, cache)", "psnr(pred, target {shape}, data_range={data_range})", "{what} is wrong"):
        template.add(msgid)
    c = Catalog(locale="zh_CN")
    for m in template:
        if m.id:
            c.add(m.id, m.id)  # "translated" identically
    found = catalog.problems(template, c, "zh_CN")
    assert len(found) == 2 and all("left in English" in f for f in found), found
    assert not any("dout, cache" in f for f in found)
    assert catalog.is_code("{name}(dout, cache)") and not catalog.is_code("{name}(lr {shape}, factor={f})")


def test_a_fuzzy_entry_is_not_a_translation():
    c = Catalog(locale="zh_CN")
    c.add("shapes differ: {a} vs {b}", "形状不同：{a} 与 {b}", flags=["fuzzy"])
    c.add("k must be odd, got {k:d}", "k 必须是奇数：{k:d}")
    assert ["fuzzy" in f for f in catalog.problems(fixture_template(), c, "zh_CN")] == [True]


def test_every_wrapped_message_is_extracted(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('from course.i18n import gettext as _\nraise ValueError(_("got {n} items", n=3))\n')
    assert [m.id for m in catalog.extract([module]) if m.id] == ["got {n} items"]


def test_the_checks_catalog_is_checked_like_courses(tmp_path, monkeypatch):
    """The chapters' check messages (domain 'checks', instructor-side): extracted from every chapter's checks, kept
    apart from course's catalog, and checked the same way (missing catalog or message, empty, placeholders, stale)."""
    from babel.messages.pofile import write_po

    checks = catalog.sources(domain=catalog.CHECKS)
    assert len([p for p in checks if p.name == "checks.py"]) == 6
    assert not set(checks) & set(catalog.sources()), "a module in both catalogs"
    real = catalog.read("zh_CN", catalog.CHECKS)
    template = catalog.extract(checks, catalog.CHECKS)
    assert len([m for m in template if m.id]) > 150 and catalog.problems(template, real, "zh_CN") == []
    _folder, mark, reader = catalog.DOMAINS[catalog.CHECKS]
    monkeypatch.setitem(catalog.DOMAINS, catalog.CHECKS, (tmp_path, mark, reader))
    assert [p for p in catalog.sync_domain(catalog.CHECKS, check=True) if "missing (run update)" in p]
    po = tmp_path / "zh_CN" / "LC_MESSAGES" / "checks.po"
    po.parent.mkdir(parents=True)

    def found(edit, extra=None):
        """Write a copy of the real catalog changed by ``edit``, compile it, then (after ``extra``) check it."""
        c = Catalog(locale="zh_CN", domain="checks")
        for m in real:
            if m.id:
                c.add(m.id, m.string)
        edit(c)
        with po.open("wb") as f:
            write_po(f, c)
        catalog.sync_domain(catalog.CHECKS, check=False)
        if extra:
            extra(c)
        return catalog.sync_domain(catalog.CHECKS, check=True)

    def add_after_compiling(c):
        c.add("an old message", "旧消息")
        with po.open("wb") as f:
            write_po(f, c)

    first = next(m.id for m in template if m.id and "{what}" in m.id)
    assert found(lambda c: None) == []
    assert [p for p in found(lambda c: c.delete(first)) if p.startswith("checks: zh_CN: missing")]
    assert [p for p in found(lambda c: setattr(c[first], "string", "")) if "empty translation" in p]
    assert [p for p in found(lambda c: setattr(c[first], "string", c[first].string.replace("{what}", "{was}")))
            if "placeholders" in p]
    stale = found(lambda c: None, add_after_compiling)  # the .po changed after it was compiled: the .mo is stale
    assert [p for p in stale if "out of date" in p] and [p for p in stale if "obsolete" in p]
