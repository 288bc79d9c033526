"""One gradebook, two languages (issue 30): a class where some students submitted the Chinese release of chapter 1
and some the English one is graded in one ``course-grade`` run. Every Chinese submission scores exactly what its
English twin scores (and what the corpus manifest says: the English-only run of tests/test_grading.py), no
read-only cell is flagged as edited, and each feedback page is in the language of the notebook submitted."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.translations import load_store, translate
from autograder.chapters import get
from autograder.grading.submission_language import submitted_language
from autograder.paths import ROOT
from autograder.trusted.isolation import bwrap_path
from tests.test_grading import CHAPTER, CORPUS, MANIFEST, course_grade, read_csv, submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not bwrap_path(), reason="bubblewrap is not installed (.ci/system-deps)")]
CASES = ("correct", "wrong_predict")  # full marks, and a failed test cell with the checker's message


def chinese(case: str, folder: Path) -> Path:
    """The corpus case's notebook as a student of the Chinese edition submits it: its markdown in Chinese and the
    metadata the build writes into release-zh_CN (code cells untouched). The corpus was made from an earlier
    release, whose prose may have changed since: its markdown cells are first the current release's (by key), as a
    student of the current Chinese release would have them."""
    nb = nbformat.read(str(CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb"), as_version=4)
    release = nbformat.read(str(ROOT / "release" / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4)
    current = {c.metadata["key"]: c for c in release.cells if c.cell_type == "markdown" and "key" in c.metadata}
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("key") in current:
            cell.source, cell.metadata = current[cell.metadata["key"]].source, current[cell.metadata["key"]].metadata
    out = folder / case / f"{CHAPTER}.ipynb"
    out.parent.mkdir(parents=True)
    nbformat.write(translate(nb, load_store(get(CHAPTER), "zh_CN"), "zh_CN"), str(out))
    return out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    course = tmp_path_factory.mktemp("mixed-class")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / CHAPTER, course / "source" / CHAPTER)
    made = tmp_path_factory.mktemp("zh-submissions")
    for case in CASES:
        submit(course, f"en_{case}", CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb")
        submit(course, f"zh_{case}", chinese(case, made))
    proc = course_grade(course)
    return course, read_csv(course), proc.stdout


def page(course: Path, student: str) -> str:
    return (course / "feedback" / student / CHAPTER / f"{CHAPTER}.html").read_text(encoding="utf-8")


def test_the_submissions_are_what_the_class_hands_in(mixed):
    course, _, _ = mixed
    assert {submitted_language(course / "submitted" / f"{lang}_{case}" / CHAPTER / f"{CHAPTER}.ipynb")
            for lang in ("en", "zh") for case in CASES} == {"en", "zh_CN"}
    zh = json.loads((course / "submitted" / "zh_correct" / CHAPTER / f"{CHAPTER}.ipynb").read_text("utf-8"))
    assert "感知机" in "".join("".join(c["source"]) for c in zh["cells"] if c["cell_type"] == "markdown")


def test_same_scores_in_both_languages_as_the_english_only_run(mixed):
    _, rows, _ = mixed
    for case in CASES:
        en, zh = rows[f"en_{case}"], rows[f"zh_{case}"]
        expected = MANIFEST["cases"][case]
        assert float(zh["total"]) == float(en["total"]) == expected["total"], (case, en, zh)
        for cell, points in expected["expected"].items():
            column = next(k for k in en if k.endswith(cell))
            assert float(zh[column]) == float(en[column]) == points, (case, cell, en, zh)


def test_no_translated_cell_is_flagged_as_edited(mixed):
    course, rows, _ = mixed
    for student in rows:
        log = (course / "grading" / "logs" / CHAPTER / f"{student}.log").read_text(encoding="utf-8")
        assert "has changed" not in log, (student, [ln for ln in log.splitlines() if "has changed" in ln])
        assert "was edited" not in rows[student].get("review", ""), rows[student]


def test_feedback_is_in_the_language_submitted(mixed):
    course, _, _ = mixed
    for case in CASES:
        zh, en = page(course, f"zh_{case}"), page(course, f"en_{case}")
        assert '<html lang="zh-CN"' in zh and "学生的答案" in zh and "得分：" in zh and "感知机" in zh
        assert "Student's answer" not in zh and "(Score: " not in zh
        assert "Student's answer" in en and "(Score: " in en and "学生的答案" not in en and "感知机" not in en
        # the checker's verdicts were written in the submission's language (metadata of the autograded notebook)
        graded = json.loads((course / "autograded" / f"zh_{case}" / CHAPTER / f"{CHAPTER}.ipynb").read_text("utf-8"))
        langs = {c["metadata"]["course_verdict"].get("lang") for c in graded["cells"]
                 if "course_verdict" in c["metadata"]}
        assert langs == {"zh_CN"}, langs
    # the failed test's message: the same check, said in Chinese for the Chinese submission
    zh_fail = re.findall(r'role="status">([^<]*)</div>', page(course, "zh_wrong_predict"))
    en_fail = re.findall(r'role="status">([^<]*)</div>', page(course, "en_wrong_predict"))
    assert len(zh_fail) == len(en_fail) == 2 and zh_fail != en_fail


def test_selfcheck_reports_in_the_notebook_language(tmp_path):
    """course-selfcheck on a Chinese notebook reports in Chinese (the notebook says so), the same verdict as on the
    English one; ``--lang`` overrides."""
    import io

    from autograder.selfcheck import selfcheck

    zh = chinese("wrong_predict", tmp_path)
    en = CORPUS / CHAPTER / "wrong_predict" / f"{CHAPTER}.ipynb"
    outs = {}
    for name, path, lang in (("zh", zh, None), ("en", en, None), ("zh-as-en", zh, "en")):
        out = io.StringIO()
        code = selfcheck(path, CHAPTER, out=out, lang=lang)
        outs[name] = (code, out.getvalue())
    assert outs["zh"][0] == outs["en"][0] == outs["zh-as-en"][0] == 1
    assert "得分：3/5" in outs["zh"][1] and "Score: 3/5" not in outs["zh"][1], outs["zh"][1]
    assert "Score: 3/5" in outs["en"][1] and "得分" not in outs["en"][1], outs["en"][1]
    assert "Score: 3/5" in outs["zh-as-en"][1]
