"""The class path's small tools: the permission warning and output checks before grading
(autograder/grading/preflight.py), the Canvas roster (roster.py, export.py), server-side math on feedback pages
(feedback_page.py), and the student edition's hub files."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import types
from pathlib import Path

import pytest

from autograder.authoring import student_edition as se
from autograder.grading import export, preflight
from autograder.grading.feedback_page import render_page
from autograder.grading.roster import RosterError, read_roster


def _course(tmp_path, mode):
    course = tmp_path / "course"
    (course / "source" / "01_x").mkdir(parents=True)
    (course / "gradebook.db").write_text("")
    for p in (tmp_path, course, course / "source", course / "source" / "01_x"):
        p.chmod(mode if p != tmp_path else 0o755)
    (course / "gradebook.db").chmod(0o644 if mode & 0o005 else 0o600)
    return course


@pytest.fixture
def open_tmp():
    """A folder every user can reach (pytest's own tmp folders are root's only, 0700)."""
    path = Path(tempfile.mkdtemp(prefix="nn-preflight-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_a_world_readable_course_is_named_with_the_fix(open_tmp):
    course = _course(open_tmp, 0o755)
    warnings = preflight.exposure_warnings(course)
    assert any(str(course / "gradebook.db") in w and "chmod -R go-rwx" in w for w in warnings), warnings
    assert any(str(course / "source") in w for w in warnings)


def test_a_private_course_gives_no_warning(open_tmp):
    course = _course(open_tmp, 0o700)
    assert preflight.exposure_warnings(course) == []
    os.chmod(course / "source", 0o755)  # one secret opened again, inside a closed folder: still unreachable
    assert preflight.exposure_warnings(course) == []


@pytest.mark.parametrize("bad", ["/proc/grades.csv", "/dev/null/grades.csv"])
def test_an_unwritable_output_stops_before_grading(tmp_path, bad):
    course = _course(tmp_path, 0o700)
    opts = types.SimpleNamespace(export=["canvas", bad], roster=None)
    with pytest.raises(SystemExit) as exc:
        preflight.before_grading(course, course / "grading" / "x.csv", opts)
    assert "cannot write the canvas export to " + bad in str(exc.value) and "Nothing was graded" in str(exc.value)
    assert not (course / "grading").exists(), "the check leaves nothing behind"
    opts.export = ["canvas", str(tmp_path / "new" / "out.csv")]
    assert preflight.before_grading(course, course / "grading" / "x.csv", opts) is None


def _write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


RESULTS = [{"student": "ann", "total": 3.0, "status": "graded"}, {"student": "bob", "total": 1.0, "status": "graded"},
           {"student": "cyd", "total": 0.0, "status": "grading error"}]
MAXES = {"01_x": {"a": 2.0, "b": 2.0}}


def test_a_canvas_gradebook_export_is_a_roster(tmp_path):
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "A (1)"]
    roster = read_roster(_write(tmp_path / "r.csv", header,
                                [["Points Possible", "", "", "", "", "10"], ["Ann A", "101", "S1", "ann", "L1", ""],
                                 ["Cyd C", "103", "S3", "cyd", "L1", ""]]))
    out = tmp_path / "canvas.csv"
    missing = export.export("canvas", out, RESULTS, MAXES, "01_x", roster, "Chapter 1 (555)")
    assert missing == ["bob"]
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 1 (555)"]
    assert rows[0]["Student"] == "Points Possible" and rows[0]["Chapter 1 (555)"] == "4"
    assert rows[1] == {"Student": "Ann A", "ID": "101", "SIS User ID": "S1", "SIS Login ID": "ann", "Section": "L1",
                       "Chapter 1 (555)": "3"}
    assert rows[2]["ID"] == "103" and rows[2]["Chapter 1 (555)"] == "", "a grader fault is never a zero"


def test_a_roster_with_an_nbgrader_id_column_and_bad_rosters(tmp_path):
    roster = read_roster(_write(tmp_path / "r.csv", ["nbgrader_id", "SIS User ID"], [["ann", "S1"]]))
    assert roster["ann"]["SIS User ID"] == "S1"
    with pytest.raises(RosterError, match="neither a column nbgrader_id"):
        read_roster(_write(tmp_path / "a.csv", ["Student", "ID"], [["Ann", "1"]]))
    with pytest.raises(RosterError, match="neither an 'ID' nor a 'SIS User ID'"):
        read_roster(_write(tmp_path / "b.csv", ["nbgrader_id", "Student"], [["ann", "Ann"]]))
    with pytest.raises(RosterError, match="twice"):
        read_roster(_write(tmp_path / "c.csv", ["nbgrader_id", "ID"], [["ann", "1"], ["ann", "2"]]))


def test_feedback_math_is_mathml_and_code_is_left_alone():
    page = ('<html><head></head><body><div class="text_cell_render border-box-sizing rendered_html"><p>score '
            '$s = x \\cdot w + b$, $x&lt;y$ costs $5 and</p><p>$$\\frac{a}{b}$$</p><p><code>$keep$</code></p>'
            '</div><div class="output_area"><pre>$raw$</pre></div></body></html>')
    out = render_page(page)
    assert out.count("<math") == 3 and 'display="block"' in out and "<mo>&#x0003C;</mo>" in out
    assert "costs $5 and" in out and "<code>$keep$</code>" in out and "<pre>$raw$</pre>" in out
    assert "white-space: pre-wrap" in out and render_page(out) == out
    assert "<script" not in out
    # nbgrader's feedback page escapes a formula's ">" twice (chapter 1's "1 if $s > 0$"): still the operator
    twice = render_page('<div class="text_cell_render"><p><strong>1 if $s &amp;gt; 0$, else 0</strong></p></div>')
    assert "<mo>&#x0003E;</mo>" in twice and "<mi>&amp;</mi>" not in twice and "<mi>g</mi>" not in twice


def test_edition_hub_image_has_the_single_user_server_and_locks_instructor_panels():
    files = se.edition_files(chapters=["01"])
    assert "jupyterhub" in {se.requirement_name(d) for d in se.HUB_EXTRAS}
    assert "- jupyterhub" in files["environment.yml"].decode()
    post = files["postBuild"].decode()
    assert "jupyter labextension lock" in post and "jupyter labextension disable" in post
    readme = files["README.md"].decode()
    assert "two ways" not in readme, "the edition lists one way: it must not announce two"
    assert "nbgrader submit" in readme and "Fetch" in readme and "Validate" in readme
