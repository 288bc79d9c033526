"""End to end: the instructor command grades the whole adversarial corpus (autograder/corpus/submissions) with
2 workers through real nbgrader, and every case ends as its manifest says; feedback never shows hidden tests;
re-runs leave no stale grades."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.build import ROOT, source_path
from autograder.nbgrader_ext import BEGIN, hidden_lines
from tests.conftest import isolated_env

pytestmark = pytest.mark.slow

CORPUS = ROOT / "autograder" / "corpus" / "submissions"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
CHAPTER = MANIFEST["chapter"]
GRADE_ARGS = ["--workers", "2", "--timeout", "5", "--mem-mb", "2048", "--cpu-s", "120"]


def course_grade(course: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder.grade", CHAPTER, "--course-dir", str(course), *GRADE_ARGS, *args]
    proc = subprocess.run(cmd, cwd=course, env=isolated_env(course), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"course-grade failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def submit(course: Path, student: str, notebook: Path):
    dest = course / "submitted" / student / CHAPTER
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, dest / f"{CHAPTER}.ipynb")


def read_csv(course: Path) -> dict:
    with open(course / "grading" / f"{CHAPTER}-grades.csv", newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("corpus-course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / CHAPTER, course / "source" / CHAPTER)
    for case in MANIFEST["cases"]:
        submit(course, case, CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb")
    proc = course_grade(course)
    return course, proc.stdout


def test_corpus_is_large_enough_and_generated():
    assert len(MANIFEST["cases"]) >= 20
    for case in MANIFEST["cases"]:
        assert (CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb").exists(), case


@pytest.mark.parametrize("case", sorted(MANIFEST["cases"]))
def test_case_ends_as_expected(graded, case):
    course, out = graded
    want = MANIFEST["cases"][case]
    row = read_csv(course)[case]
    got = {cell: float(row[f"{CHAPTER}:{cell}"]) for cell in want["expected"]}
    assert got == {k: float(v) for k, v in want["expected"].items()}, f"{case}: {row}"
    assert float(row["total"]) == want["total"]
    assert (row["needs_review"] == "yes") == want["review"], f"{case}: review reasons: {row['reasons']!r}"


def test_gradebook_agrees_with_csv(graded):
    from nbgrader.api import Gradebook

    course, _ = graded
    rows = read_csv(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, row in rows.items():
            if row["status"] != "graded":
                continue
            assert gb.find_submission(CHAPTER, student).score == pytest.approx(float(row["total"])), student


def test_summary_lists_who_needs_review(graded):
    course, out = graded
    assert "need manual review" in out
    for case, want in MANIFEST["cases"].items():
        if want["review"]:
            assert f"- {case} (" in out
    assert f"[grade] {len(MANIFEST['cases'])}/{len(MANIFEST['cases'])}" in out  # progress lines
    assert not list((course / "grading").glob(".*.csv.*")), "temporary CSV left behind"


def test_no_hidden_test_text_in_any_feedback_file(graded):
    course, _ = graded
    src = nbformat.read(str(source_path(CHAPTER)), as_version=4)
    secrets = {line for cell in src.cells for line in hidden_lines(cell.source)}
    assert secrets
    files = list((course / "feedback").rglob("*.html"))
    assert {p.parts[-3] for p in files} == set(MANIFEST["cases"]), "every student gets a feedback page"
    for path in files:
        text = path.read_text(errors="replace")
        assert BEGIN not in text and "HIDDEN TESTS" not in text, path
        for secret in secrets:
            assert secret not in text, f"{path} shows hidden test line {secret!r}"
        assert len(text) < 1_000_000, f"{path} is {len(text)} bytes"


def test_deleted_and_duplicated_cells_are_graded_without_checksum_alarm(graded):
    course, _ = graded
    logs = course / "grading" / "logs" / CHAPTER
    for case in ("correct", "deleted_test_cell", "duplicated_cells", "stderr_warning"):
        assert "checksum" not in (logs / f"{case}.log").read_text(), case
    assert "Missing grade cell test_perceptron_train" in (logs / "deleted_test_cell.log").read_text()


def test_regrading_leaves_no_stale_grades(graded, tmp_path):
    """Grade a cheat without the re-check (it passes), then with it: the gradebook keeps only the new score;
    then replace a submission by the skeleton: its old full marks are gone."""
    from nbgrader.api import Gradebook

    course, _ = graded
    course_grade(course, "--student", "patch_sys_modules", "--no-verify", "--no-feedback")
    assert float(read_csv(course)["patch_sys_modules"]["total"]) == 5  # the kernel alone is fooled
    course_grade(course, "--student", "patch_sys_modules", "--no-feedback")
    submit(course, "correct", CORPUS / CHAPTER / "skeleton" / f"{CHAPTER}.ipynb")
    course_grade(course, "--student", "correct", "--no-feedback")
    rows = read_csv(course)
    assert float(rows["patch_sys_modules"]["total"]) == 0 and float(rows["correct"]["total"]) == 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission(CHAPTER, "patch_sys_modules").score == 0
        assert gb.find_submission(CHAPTER, "correct").score == 0
