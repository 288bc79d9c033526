"""The real nbgrader pipeline: the source notebook earns full marks and runs top to bottom without an error, the
release skeleton earns zero on every graded cell without crashing the run, and feedback is generated.

This is the test that every source notebook (solutions in) executes headless in QUICK mode (the demos' step counts
nbgrader runs; course/runtime.py) on the offline fixtures, in the grading sandbox; tests/test_browser_monitors.py
runs each one again live in JupyterLab. Full mode, with its printed ``RESULT`` figures and the chapters' time
budgets, is the benchmark ``python benchmarks/bench_notebooks.py``. No wall-clock assertion: nbgrader's per-cell
timeout (nbgrader_config.py) and the subprocess timeout only guard against a hang."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import ROOT, release_path, source_path
from tests.conftest import CHAPTERS, SHARED_DATA, isolated_env

pytestmark = pytest.mark.slow


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    proc = subprocess.run(cmd, cwd=course, env=isolated_env(course), capture_output=True, text=True,
                          timeout=3600)  # a hang guard: twelve notebooks on a busy machine take a while
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def graded_all(tmp_path_factory):
    """A course directory holding every chapter, where 'solution' submitted the source notebooks and 'skeleton'
    the release ones; each nbgrader step runs once for all chapters (an assignment glob): its start-up is a large
    part of the cost."""
    course = tmp_path_factory.mktemp("course-all")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for chapter in CHAPTERS:
        shutil.copytree(ROOT / "source" / chapter, course / "source" / chapter)
    nbgrader(course, "generate_assignment", "*", "--force")
    for chapter in CHAPTERS:
        for student, nb in [("solution", source_path(chapter)), ("skeleton", release_path(chapter))]:
            dest = course / "submitted" / student / chapter
            dest.mkdir(parents=True)
            shutil.copy(nb, dest / nb.name)
    nbgrader(course, "autograde", "*", "--force")
    nbgrader(course, "generate_feedback", "*", "--force")
    return course


@pytest.fixture(params=CHAPTERS)
def graded_course(request, graded_all):
    return request.param, graded_all


def _grades(course: Path, chapter: str, student: str):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(chapter, student)
        grades = [(g.name, g.score, g.max_score) for nb in sub.notebooks for g in nb.grades]
        return sub.score, sub.max_score, grades


def test_solution_earns_full_marks(graded_course):
    chapter, course = graded_course
    score, max_score, grades = _grades(course, chapter, "solution")
    assert max_score > 0 and grades
    assert score == max_score, f"solution lost points: {grades}"


def test_solution_runs_clean_under_the_grader(graded_course):
    chapter, course = graded_course
    if not SHARED_DATA.is_dir():
        pytest.skip("offline fixtures (../shared/data) not found")
    nb = json.loads((course / "autograded" / "solution" / chapter / f"{chapter}.ipynb").read_text())
    errors = [f"cell {i}: {o['ename']}: {o['evalue'][:200]}" for i, c in enumerate(nb["cells"])
              for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"source/{chapter} raised under the grader: {errors}"


def test_skeleton_earns_zero_on_every_graded_cell(graded_course):
    chapter, course = graded_course
    score, max_score, grades = _grades(course, chapter, "skeleton")
    assert max_score > 0
    assert all(s == 0 for _, s, _ in grades), f"skeleton got points: {grades}"
    assert score == 0


def test_feedback_generated(graded_course):
    chapter, course = graded_course
    for student in ("solution", "skeleton"):
        html = course / "feedback" / student / chapter / f"{chapter}.html"
        assert html.exists(), f"no feedback for {student}"
        assert "NotImplementedError" in html.read_text() if student == "skeleton" else True
