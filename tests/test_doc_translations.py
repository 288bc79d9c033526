"""The Chinese student guide and README follow the English they translate (issue 30): each translated section
records the English section and its hash (autograder.authoring.doc_translations); a changed English section makes
its translation stale until it is re-translated and stamped, like a chapter's cells."""

from __future__ import annotations

import pytest

from autograder.authoring import doc_translations as docs
from autograder.paths import ROOT

ENGLISH = "# Guide\n\nIntro.\n\n## Working\n\nDo this.\n\n```bash\n# not a heading\n```\n\n### Offline\n\nData.\n"
CHINESE = ("# 指南\n<!-- en: # Guide | source: 000000000000 -->\n\n简介。\n\n## 学习\n<!-- en: ## Working | source: "
           "000000000000 -->\n\n这样做。\n\n### 离线\n<!-- en: ### Offline | source: 000000000000 -->\n\n数据。\n\n"
           "## 只有中文\n<!-- en: none -->\n\n切换语言。\n")


@pytest.mark.parametrize("name", sorted(docs.DOCS))
def test_the_translated_docs_are_current(name):
    english, complete = docs.DOCS[name]
    state = docs.doc_status((ROOT / name).read_text(encoding="utf-8"), (ROOT / english).read_text(encoding="utf-8"),
                            complete)
    assert state.complete, (f"{name}: re-translate these sections from {english}, then "
                            f"`python -m autograder.authoring.doc_translations stamp {name}`: {state}")
    assert len(state.done) >= 7


def test_a_changed_english_section_makes_its_translation_stale_until_stamped():
    assert [h for h, _ in docs.sections(ENGLISH)] == ["# Guide", "## Working", "### Offline"]  # fenced '#' skipped
    assert docs.doc_status(CHINESE, ENGLISH, True).stale == ["# 指南 (# Guide)", "## 学习 (## Working)",
                                                             "### 离线 (### Offline)"]
    stamped = docs.stamp_text(CHINESE, ENGLISH)
    assert docs.doc_status(stamped, ENGLISH, True).complete and "切换语言" in stamped
    changed = ENGLISH.replace("Do this.", "Do that.")
    assert docs.doc_status(stamped, changed, True).stale == ["## 学习 (## Working)"]
    assert docs.doc_status(docs.stamp_text(stamped, changed, ["## Working"]), changed, True).complete
    with pytest.raises(KeyError):
        docs.stamp_text(stamped, changed, ["## Gone"])


def test_a_missing_renamed_or_unmarked_section_is_reported():
    stamped = docs.stamp_text(CHINESE, ENGLISH)
    more = ENGLISH + "\n## Handing in\n\nSubmit.\n"
    assert docs.doc_status(stamped, more, True).missing == ["## Handing in"]
    assert docs.doc_status(stamped, more, False).complete  # the README may leave sections out
    renamed = ENGLISH.replace("## Working", "## Work")
    state = docs.doc_status(stamped, renamed, True)
    assert state.stale == ["## 学习 (## Working)"] and state.missing == ["## Work"]
    unmarked = stamped.replace("<!-- en: none -->\n", "")
    assert docs.doc_status(unmarked, ENGLISH, True).unmarked == ["## 只有中文"]


def test_the_status_command_fails_on_a_stale_doc(tmp_path, monkeypatch, capsys):
    for name, (english, _) in docs.DOCS.items():
        for path in (name, english):
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text((ROOT / path).read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    assert docs.main(["status"]) == 0
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("## Two commands\n", "## Two commands\n\nNew.\n"),
                      encoding="utf-8")
    assert docs.main(["status"]) == 1 and "stale: ## 两条命令 (## Two commands)" in capsys.readouterr().out
    assert docs.main(["stamp", "README.zh-CN.md", "## Two commands"]) == 0 and docs.main(["status"]) == 0
