"""A class on one machine, following docs/instructor-guide.md and docs/student-guide.md literally: Unix users for an
instructor and three students, nbgrader's exchange in a temporary folder, release -> fetch -> validate -> submit ->
resubmit -> collect --update -> course-grade -> release_feedback -> fetch_feedback.

The commands are the guides' own code blocks (instructor guide: the blocks marked ``<!-- class-run: WHO -->``;
student guide: the terminal block of *Handing in*), with two paths swapped for temporary ones (the exchange and
/etc/jupyter). Students: ``s1`` hands in the solution, ``s2`` the untouched skeleton and then the solution (graded as
the solution only because of ``--update``), ``s3`` one function right. Needs root (skips otherwise).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess

import pytest

from autograder.chapters import chapter_names
from autograder.notebook import grade_id, solution_cells
from autograder.paths import ROOT
from tests.unix_class import UnixClass, need_root_tools

pytestmark = pytest.mark.slow
CHAPTER = chapter_names()[0]  # 01_perceptron: the guides' example chapter
GUIDE_EXCHANGE, GUIDE_COURSE = "/srv/nbgrader/exchange", "~/nn-course"


def guide_blocks() -> list[tuple[str, str]]:
    """[(who, code)] of the instructor guide's ``<!-- class-run: who -->`` blocks, in order."""
    text = (ROOT / "docs" / "instructor-guide.md").read_text()
    blocks = re.findall(r"<!-- class-run: (\w+) -->\n```(?:bash|python)\n(.*?)```", text, re.S)
    assert [w for w, _ in blocks] == ["instructor", "root", "config", "instructor", "instructor"], blocks
    return blocks


def student_commands() -> dict[str, str]:
    """{nbgrader subcommand: command line} of the student guide's terminal block (*Handing in*)."""
    text = (ROOT / "docs" / "student-guide.md").read_text()
    block = re.search(r"## Handing in.*?```bash\n(.*?)```", text, re.S)
    assert block, "the student guide has no terminal block under '## Handing in'"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]
    return {line.split()[1]: line for line in lines}


def with_solutions(notebook: dict, source: dict, keep=lambda gid: True) -> dict:
    """``notebook`` with the source's solution cells (those ``keep`` accepts) put in place of the skeleton's."""
    answers = {grade_id(c): c["source"] for c in solution_cells(source)}
    for cell in notebook["cells"]:
        gid = grade_id(cell)
        if gid in answers and keep(gid):
            cell["source"] = answers[gid]
    return notebook


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    need_root_tools()
    k = UnixClass(3)
    try:
        k.create()
        yield k
    finally:
        k.remove()


def test_class_run_follows_the_guides(klass, tmp_path_factory):
    k, tmp = klass, klass.tmp
    blocks, student = guide_blocks(), student_commands()
    inst, (s1, s2, s3) = k.instructor, k.students
    course = k.home(inst) / "nn-course"
    exchange = tmp / "exchange"

    def swap(code: str) -> str:
        return code.replace(GUIDE_EXCHANGE, str(exchange)).replace(GUIDE_COURSE, str(course))

    # the instructor's clone: the course files grading needs (as a clone would hold them), owned by the instructor
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for folder in ("source", "release"):
        shutil.copytree(ROOT / folder / CHAPTER, course / folder / CHAPTER)
    subprocess.run(["chown", "-R", f"{inst}:{inst}", str(course)], check=True)

    (who, lock), (_, root), (_, config), (_, release), (_, grade) = blocks
    k.run(inst, swap(lock))
    assert not course.stat().st_mode & 0o077, "the guide's chmod should make the course directory private"
    subprocess.run(["bash", "-e", "-c", swap(root)], check=True)
    (k.config_dir / "nbgrader_config.py").write_text(swap(config))
    k.run(inst, swap(lock) + "\n" + swap(release))

    source = json.loads((ROOT / "source" / CHAPTER / f"{CHAPTER}.ipynb").read_text())
    nb_rel = f"{CHAPTER}/{CHAPTER}.ipynb"

    def hand_in(user: str, transform):
        k.run(user, student["fetch_assignment"] if not (k.home(user) / CHAPTER).exists() else "true")
        path = k.home(user) / nb_rel
        nb = transform(json.loads(path.read_text()))
        path.write_text(json.dumps(nb))
        shutil.chown(path, user, user)
        k.run(user, student["validate"], check=False)  # a skeleton fails validation: it is still handed in
        k.run(user, student["submit"])

    assert student["validate"].split()[2] == nb_rel and student["submit"].split()[2] == CHAPTER
    hand_in(s1, lambda nb: with_solutions(nb, source))
    hand_in(s2, lambda nb: nb)  # the skeleton first...
    hand_in(s3, lambda nb: with_solutions(nb, source, keep=lambda gid: "predict" in gid))
    # a student cannot read the instructor's course (solutions, hidden tests) nor another student's hand-in
    peek = k.run(s1, f"cat {course}/source/{nb_rel}", check=False)
    assert peek.returncode != 0 and "Permission denied" in peek.stderr
    k.run(inst, swap(lock) + "\n" + swap(grade).splitlines()[0])  # collect the first round
    hand_in(s2, lambda nb: with_solutions(nb, source))  # ...then the solution, after a first collect

    out = k.run(inst, swap(lock) + "\n" + swap(grade), timeout=900)  # collect --update, course-grade, release_feedback
    assert "WARNING: other users" not in out.stderr, out.stderr[-2000:]
    rows = {r["student"]: r for r in csv.DictReader(open(course / "grading" / f"{CHAPTER}-grades.csv"))}
    assert set(rows) == {s1, s2, s3}, rows
    full = float(rows[s1]["max"])
    assert float(rows[s1]["total"]) == full and rows[s1]["status"] == "graded"
    assert float(rows[s2]["total"]) == full, "the resubmission was not collected (collect --update)"
    assert 0 < float(rows[s3]["total"]) < full, rows[s3]
    assert "need manual review" in out.stdout or "no submission needs manual review" in out.stdout

    for user in (s1, s3):
        k.run(user, student["fetch_feedback"])
        pages = list((k.home(user) / CHAPTER / "feedback").rglob(f"{CHAPTER}.html"))
        assert len(pages) == 1, pages
        page = pages[0].read_text()
        assert "<math" in page and "graded by the course's checker" in page
        assert "BEGIN HIDDEN TESTS" not in page and "check_perceptron" not in page
        assert "Content-Security-Policy" in page
    shutil.copy2(pages[0], tmp_path_factory.getbasetemp() / "class-feedback.html")
