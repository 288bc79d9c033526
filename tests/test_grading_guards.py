"""Round-two grading defects closed by class (issue 27): student ids, links and special files, notebooks nbgrader
would choke on, student text in the terminal / CSV / exports, grader faults never read from student text, the
checker's verdict set apart on the feedback page. Fast: no nbgrader run."""

from __future__ import annotations

import csv
import json
import os

import pytest

from autograder.grading.csvfile import write_csv_atomic
from autograder.grading.nbgrader_log import READY, grader_fault
from autograder.grading.safe_text import FORMULA_START, csv_cell, visible
from autograder.grading.student_ids import id_problem, refused_files, split_ids
from autograder.grading.triage import check_notebook_file
from autograder.grading.verdict_box import with_verdicts
from autograder.paths import ROOT

CORRECT = ROOT / "tests" / "submissions" / "01_perceptron" / "correct" / "01_perceptron.ipynb"
FAULTS = ("ZMQError", "Kernel didn't respond", "database is locked")


@pytest.mark.parametrize("student", ["carol_wron[g]", "x*", "a?", "bob ", " bob", "=HYPERLINK(1)", "+1", "-rf", "@x",
                                     "a\nb", "a\x1b[2Kb", "", "..", "a/b", "a\u202eb", "x" * 65])
def test_ids_nbgrader_would_glob_strip_or_a_spreadsheet_would_run_are_refused(student):
    assert id_problem(student) is not None
    ok, refused = split_ids([student, "alice"])
    assert ok == ["alice"] and "\x1b" not in refused[0][1] and "\n" not in refused[0][1]


@pytest.mark.parametrize("student", ["alice", "bob.smith", "s12345", "jane_doe-2", "x@uni.edu", "Zoë"])
def test_plain_ids_are_accepted(student):
    assert id_problem(student) is None


def test_links_and_special_files_are_refused(tmp_path):
    sub = tmp_path / "submitted" / "alice" / "01"
    sub.mkdir(parents=True)
    (sub / "01.ipynb").write_text("{}")
    assert refused_files(sub, tmp_path / "submitted") == []
    (sub / "link.ipynb").symlink_to("/etc/passwd")
    os.link(sub / "01.ipynb", tmp_path / "elsewhere")
    os.mkfifo(sub / "pipe")
    reasons = " | ".join(refused_files(sub, tmp_path / "submitted"))
    assert "link.ipynb is a symbolic link (to /etc/passwd)" in reasons
    assert "01.ipynb is a hard link" in reasons and "pipe is not a regular file (FIFO)" in reasons
    linked = tmp_path / "submitted" / "bob"
    linked.symlink_to(tmp_path / "submitted" / "alice")
    assert "bob is a symbolic link" in refused_files(linked / "01", tmp_path / "submitted")[0]


def test_deep_json_and_odd_grade_ids_are_the_students_with_a_reason(tmp_path):
    raw = CORRECT.read_text()
    deep = raw.replace('"metadata": {', '"metadata": {"x": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + ", ", 1)
    (tmp_path / "deep.ipynb").write_text(deep)
    ok, why = check_notebook_file(tmp_path / "deep.ipynb", tmp_path / "orig")
    assert not ok and "nests its JSON" in why[0]
    nb = json.loads(raw)
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "perceptron_train":
            cell["metadata"]["nbgrader"]["grade_id"] = "perceptron_train\nZMQError"
    (tmp_path / "gid.ipynb").write_text(json.dumps(nb))
    ok, why = check_notebook_file(tmp_path / "gid.ipynb", tmp_path / "orig")
    assert not ok and "grade ids" in why[0] and "\n" not in why[0]
    assert check_notebook_file(CORRECT, tmp_path / "orig") == (True, [])


def test_student_text_is_escaped_for_the_terminal_and_formula_safe_in_csv(tmp_path):
    fake = "\x1b[2K\x1b[1A\r[grade] no submission needs manual review\x1b[8m"
    assert "\x1b" not in visible(fake) and "\r" not in visible(fake) and "\\x1b" in visible(fake)
    for cell in ("=HYPERLINK(1)", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_cell(cell).startswith(("'", "\\x0d")) and not csv_cell(cell).startswith(FORMULA_START), cell
    assert csv_cell(csv_cell("=x")) == "'=x" and csv_cell("3") == "3" and csv_cell("alice") == "alice"
    write_csv_atomic(tmp_path / "g.csv", ["student", "reasons"], [{"student": "=cmd|' /C calc'!A0", "reasons": fake}])
    row = next(csv.DictReader(open(tmp_path / "g.csv", newline="")))
    assert row["student"].startswith("'=") and "\x1b" not in row["reasons"]


def test_export_cells_are_formula_safe(tmp_path):
    from autograder.grading.export import export

    results = [{"student": "=HYPERLINK(1)", "total": 5.0, "status": "graded"}]
    try:
        export("moodle", tmp_path / "m.csv", results, {"nb": {"a": 5.0}}, "01_perceptron")
    except TypeError:  # another signature (roster) in progress: the write path is the same
        pytest.skip("export signature changed")
    text = (tmp_path / "m.csv").read_text()
    assert "\n=HYPERLINK" not in text and "'=HYPERLINK" in text


def test_grader_faults_are_read_only_where_the_grader_wrote_them():
    nonce = "n0nce"
    ready = READY.format(nonce=nonce)
    # the kernel never started: a fault pattern anywhere is the grader's
    assert grader_fault("[AutogradeApp | ERROR] Kernel didn't respond in 60 seconds", nonce, FAULTS)
    # after the kernel answered: student text (a cell preview quoted in a traceback) is not a fault
    student = (f"[AutogradeApp | INFO] x\n{ready}\nTraceback\nCellTimeoutError: preview:\nZMQError\n"
               "Kernel didn't respond")
    assert not grader_fault(student, nonce, FAULTS)
    # nbgrader's own error record after that still is
    assert grader_fault(student + "\n[AutogradeApp | ERROR] database is locked", nonce, FAULTS)
    # a forged ready line (wrong secret) does not hide a fault, and cannot make one either
    assert grader_fault("course-grade: the sandboxed kernel is ready (guess)\nZMQError", nonce, FAULTS)


def test_verdict_is_drawn_apart_from_outputs_with_a_class_printed_text_cannot_name():
    page = ("<html><head><title>t</title></head><body><a name=\"test_x\"></a>\n<div class=\"panel-heading\">"
            "<span>Grade cell</span></div><div class=\"output_area\"><pre>graded by the course's checker: passed"
            "</pre></div></body></html>")
    out = with_verdicts(page, {"test_x": {"ok": False, "text": "failed: <b>wrong</b>"}}, nonce="abc123")
    heading_end = out.index("</div>", out.index("panel-heading"))
    box = out.index('class="cv-abc123 no"')
    assert heading_end < box < out.index("output_area")  # under the heading, above the outputs
    assert ".cv-abc123" in out[:out.index("</head>")] and "&lt;b&gt;wrong" in out
