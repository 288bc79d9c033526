"""End to end: the instructor command grades the whole adversarial corpus (tests/submissions) with
2 workers through real nbgrader, isolation on (bubblewrap), and every case ends as its manifest says; nothing
outside the scratch folders changes, no process outlives grading; feedback never shows hidden tests nor runs a
script; course-selfcheck computes the same per-cell scores; re-runs leave no stale grades."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.grading.student_ids import id_problem, shown
from autograder.notebook import BEGIN_HIDDEN as BEGIN
from autograder.notebook import hidden_lines
from autograder.paths import ROOT, source_path
from tests.conftest import isolated_env

pytestmark = pytest.mark.slow

CORPUS = ROOT / "tests" / "submissions"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
CHAPTER = MANIFEST["chapter"]
REFUSED_IDS = {case for case in MANIFEST["cases"] if id_problem(case)}  # ids course-grade refuses (never run)
GRADE_ARGS = ["--workers", "2", "--timeout", "15", "--mem-mb", "2048", "--cpu-s", "120"]


def course_grade(course: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder.grading.cli", CHAPTER, "--course-dir", str(course), *GRADE_ARGS, *args]
    proc = subprocess.run(cmd, cwd=course, env=isolated_env(course), capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"course-grade failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def submit(course: Path, student: str, notebook: Path):
    """Submit ``notebook`` and every other file of its folder (a submission may bring files of its own)."""
    dest = course / "submitted" / student / CHAPTER
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(notebook.parent, dest, symlinks=True)  # a submitted symlink stays one (refused by the grader)
    if not notebook.is_symlink():
        shutil.copy(notebook, dest / f"{CHAPTER}.ipynb")


def tree_hash(*roots: Path, skip: tuple = ()) -> dict:
    """{path: sha256} of every file under ``roots`` (``skip``: path parts to leave out)."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and not any(s in p.parts for s in skip):
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


MARKERS = [Path("/tmp/corpus-escape-marker"), Path("/dev/shm/corpus-escape-marker")]


def survivors() -> list[str]:
    """Processes whose command line carries the corpus' survivor marker."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and b"corpus-survivor" in (d / "cmdline").read_bytes():
                out.append(d.name)
        except OSError:
            pass
    return out


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
    for marker in MARKERS:
        marker.unlink(missing_ok=True)
    # everything student code could damage: the course (but the grader's own outputs) and the packages
    watched = (course / "source", course / "submitted", ROOT / "autograder", ROOT / "course")
    before = tree_hash(*watched, skip=("nbformat3",))  # course-grade upgrades that one itself
    proc = course_grade(course)
    changed = sorted(k for k, v in tree_hash(*watched, skip=("nbformat3",)).items() if before.get(k) != v)
    changed += sorted(set(before) - set(tree_hash(*watched, skip=("nbformat3",))))
    return course, proc.stdout, {"changed": changed, "survivors": survivors(),
                                 "markers": [str(m) for m in MARKERS if m.exists()]}


def test_corpus_is_large_enough_and_generated():
    assert len(MANIFEST["cases"]) >= 40
    for case in MANIFEST["cases"]:
        path = CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb"
        assert path.exists() or path.is_symlink(), case


@pytest.mark.parametrize("case", sorted(MANIFEST["cases"]))
def test_case_ends_as_expected(graded, case):
    course, out, _ = graded
    want = MANIFEST["cases"][case]
    row = read_csv(course)[shown(case)]  # an id nbgrader cannot take is listed escaped (never graded)
    assert row["status"] != "grading error", f"{case}: a student's submission blamed on the grader: {row}"
    assert want.get("reason", "") in row["reasons"], f"{case}: review reasons {row['reasons']!r}"
    got = {cell: float(row[f"{CHAPTER}:{cell}"]) for cell in want["expected"]}
    assert got == {k: float(v) for k, v in want["expected"].items()}, f"{case}: {row}"
    assert float(row["total"]) == want["total"]
    assert (row["needs_review"] == "yes") == want["review"], f"{case}: review reasons: {row['reasons']!r}"


@pytest.mark.parametrize("case", sorted(c for c, want in MANIFEST["cases"].items() if want.get("notes")))
def test_case_notes_say_why(graded, case):
    """Issue 26: a verdict that differs from a plain run of the solution cells is explained (the report's notes)."""
    course, _, _ = graded
    report = json.loads((course / "grading" / f"{CHAPTER}-report.json").read_text())
    notes = " | ".join(next(r["notes"] for r in report if r["student"] == case))
    missing = [want for want in MANIFEST["cases"][case]["notes"] if want not in notes]
    assert not missing, f"{case}: notes {notes!r} lack {missing}"


def test_gradebook_agrees_with_csv(graded):
    from nbgrader.api import Gradebook

    course, _, _ = graded
    rows = read_csv(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, row in rows.items():
            if row["status"] != "graded":
                continue
            assert gb.find_submission(CHAPTER, student).score == pytest.approx(float(row["total"])), student


def test_nothing_outside_the_scratch_folders_changed(graded):
    _, _, seen = graded
    assert seen["changed"] == [], f"student code changed files: {seen['changed'][:10]}"
    assert seen["markers"] == [], f"student code wrote outside its sandbox: {seen['markers']}"


def test_no_process_outlives_grading(graded):
    _, _, seen = graded
    assert seen["survivors"] == []


def test_csv_is_group_readable_one_line_per_student(graded):
    course, _, _ = graded
    path = course / "grading" / f"{CHAPTER}-grades.csv"
    assert path.stat().st_mode & 0o044 == 0o044
    assert len(path.read_text().splitlines()) == len(MANIFEST["cases"]) + 1
    assert {row["isolation"] for row in read_csv(course).values()} == {"bwrap"}


def test_similarity_report_lists_the_identical_pair_without_penalty(graded):
    course, out, _ = graded
    with open(course / "grading" / f"{CHAPTER}-similarity.csv", newline="") as fh:
        pairs = {(r["a"], r["b"], r["similarity"]) for r in csv.DictReader(fh)}
    assert ("identical_a", "identical_b", "identical") in pairs
    assert "identical_a ~ identical_b" in out


def _feedback(course: Path, case: str) -> str:
    return (course / "feedback" / case / CHAPTER / f"{CHAPTER}.html").read_text(errors="replace")


def test_feedback_pages_run_no_script_and_show_no_secret(graded):
    course, _, _ = graded
    for case in set(MANIFEST["cases"]) - REFUSED_IDS:
        assert "Content-Security-Policy" in _feedback(course, case), case
    page = _feedback(course, "html_js")
    # the text may be shown escaped; no element may carry it
    scripts = "".join(re.findall(r"<script[^>]*>[^<]*", page))
    assert "<script>document.title" not in page and "PWNED-BY-CORPUS" not in scripts
    assert not re.search(r"<img[^>]*onerror", page) and not re.search(r"<a[^>]*javascript:", page)
    secrets = _feedback(course, "read_secrets")
    assert "blocked" in secrets and "def check_perceptron" not in secrets and "patch_sys_modules" not in secrets
    assert "network: blocked" in _feedback(course, "network") and "network: OPEN" not in _feedback(course, "network")
    assert "graded by the course's checker: passed" in _feedback(course, "correct").replace("&#39;", "'")
    # printed imitations stay in the output area; the real verdict is the one element with the page's secret class
    page = _feedback(course, "imitate_verdict")
    boxes = re.findall(r'<div class="cv-([0-9a-f]+) (ok|no)" role="status">([^<]*)', page)
    assert [b[1] for b in boxes] == ["no", "ok"] and f".cv-{boxes[0][0]}" in page.split("</head>")[0], boxes


@pytest.mark.parametrize("case", ["infinite_loop", "infinite_generator"])
def test_feedback_run_stops_at_the_first_timeout_and_says_so(graded, case):
    """A hang costs the feedback run one timeout, not one per later cell that calls the hanging function."""
    course, _, _ = graded
    nb = nbformat.read(course / "autograded" / case / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    code = [(i + 1, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    timed_out = [n for n, c in code if any(o.get("ename") == "CellTimeoutError" for o in c.outputs)]
    assert len(timed_out) == 1, f"{case}: cells {timed_out} timed out"
    later = [c for n, c in code if n > timed_out[0]]
    assert later, f"{case}: the hang should be before the end of the notebook"
    for c in later:
        text = "".join(o.get("text", "") for o in c.outputs)
        assert f"not run: cell {timed_out[0]} did not finish" in text and c.execution_count is None, c.source[:80]
    row = json.loads((course / "grading" / f"{CHAPTER}-report.json").read_text())
    notes = next(r["notes"] for r in row if r["student"] == case)
    assert any("later cells were not run" in n for n in notes), notes


def test_data_under_grading_uses_the_local_copy(graded):
    course, _, _ = graded
    if not os.environ.get("COURSE_DATA_FIXTURES") and not isolated_env(course).get("COURSE_DATA_FIXTURES"):
        pytest.skip("no offline data fixtures")
    page = _feedback(course, "data_under_grading")
    assert "MNIST loaded" in page and "DownloadError" not in page


def test_selfcheck_computes_the_same_per_cell_scores_as_grade(graded):
    """Issue 12 item 1: course-selfcheck's function over every corpus notebook == course-grade's CSV."""
    from concurrent.futures import ThreadPoolExecutor

    from autograder.chapters.text import render_source
    from autograder.trusted.recheck import check_notebook

    course, _, _ = graded
    rows = read_csv(course)
    source = nbformat.reads(render_source(CHAPTER), as_version=4)

    def one(case):
        path = CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb"
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:
            return case, None
        return case, check_notebook(source, nb, timeout=5, mem_mb=2048)["scores"]

    with ThreadPoolExecutor(2) as pool:
        for case, scores in pool.map(one, sorted(MANIFEST["cases"])):
            graded_scores = {cell: float(rows[shown(case)][f"{CHAPTER}:{cell}"])
                             for cell in MANIFEST["cases"][case]["expected"]}
            if scores is None or rows[shown(case)]["status"] == "invalid":  # refused or unreadable: grade gives 0
                assert sum(graded_scores.values()) == 0
                continue
            assert {k: float(v) for k, v in scores.items()} == graded_scores, case


def test_summary_lists_who_needs_review(graded):
    course, out, _ = graded
    assert "need manual review" in out
    for case, want in MANIFEST["cases"].items():
        if want["review"]:
            assert f"- {shown(case)} (" in out
    assert "\x1b" not in out and "\r" not in out, "student text reached the terminal unescaped"
    graded = len(MANIFEST["cases"]) - len(REFUSED_IDS)  # a refused id is never graded: no progress line
    assert f"[grade] {graded}/{graded}" in out  # progress lines
    assert not list((course / "grading").glob(".*.csv.*")), "temporary CSV left behind"


def test_no_hidden_test_text_in_any_feedback_file(graded):
    course, _, _ = graded
    src = nbformat.read(str(source_path(CHAPTER)), as_version=4)
    secrets = {line for cell in src.cells for line in hidden_lines(cell.source)}
    assert secrets
    files = list((course / "feedback").rglob("*.html"))
    assert {p.parts[-3] for p in files} == set(MANIFEST["cases"]) - REFUSED_IDS, "every student gets a feedback page"
    for path in files:
        text = path.read_text(errors="replace")
        assert BEGIN not in text and "HIDDEN TESTS" not in text, path
        for secret in secrets:
            assert secret not in text, f"{path} shows hidden test line {secret!r}"
        assert len(text) < 1_000_000, f"{path} is {len(text)} bytes"


def test_deleted_and_duplicated_cells_are_graded_without_checksum_alarm(graded):
    course, _, _ = graded
    logs = course / "grading" / "logs" / CHAPTER
    for case in ("correct", "deleted_test_cell", "duplicated_cells", "stderr_warning"):
        assert "checksum" not in (logs / f"{case}.log").read_text(), case
    assert "Missing grade cell test_perceptron_train" in (logs / "deleted_test_cell.log").read_text()


def test_regrading_leaves_no_stale_grades(graded, tmp_path):
    """Re-grade a cheat, then replace a submission by the skeleton: its old full marks are gone."""
    from nbgrader.api import Gradebook

    course, _, _ = graded
    course_grade(course, "--student", "patch_sys_modules", "--no-feedback")
    submit(course, "correct", CORPUS / CHAPTER / "skeleton" / f"{CHAPTER}.ipynb")
    course_grade(course, "--student", "correct", "--no-feedback")
    rows = read_csv(course)
    assert float(rows["patch_sys_modules"]["total"]) == 0 and float(rows["correct"]["total"]) == 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission(CHAPTER, "patch_sys_modules").score == 0
        assert gb.find_submission(CHAPTER, "correct").score == 0


def test_changed_source_is_detected_never_mixed_maxima(graded):
    """Points changed in source/ after the gradebook was made: course-grade stops with the difference; with
    --update-gradebook it grades against the new points, and nbgrader's gradebook agrees with the CSV."""
    from nbgrader.api import Gradebook

    course, _, _ = graded
    path = course / "source" / CHAPTER / f"{CHAPTER}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_perceptron_train":
            cell.metadata["nbgrader"]["points"] = 5
    nbformat.write(nb, str(path))
    submit(course, "correct", CORPUS / CHAPTER / "correct" / f"{CHAPTER}.ipynb")
    cmd = [sys.executable, "-m", "autograder.grading.cli", CHAPTER, "--course-dir", str(course), *GRADE_ARGS,
           "--student", "correct", "--no-feedback"]
    proc = subprocess.run(cmd, cwd=course, env=isolated_env(course), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 3 and "changed since the gradebook" in proc.stderr, proc.stderr[-2000:]
    course_grade(course, "--student", "correct", "--no-feedback", "--update-gradebook")
    row = read_csv(course)["correct"]
    assert (float(row["total"]), float(row["max"])) == (7, 7)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(CHAPTER, "correct")
        assert (sub.score, sub.max_score) == (7, 7)
