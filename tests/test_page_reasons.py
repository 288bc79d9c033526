"""The reasons a plain feedback page gives for a missing detailed page are in the submission's language (issue 30),
while the review list (the CSV, the instructor) keeps them in English."""

from __future__ import annotations

from autograder.grading.page_reasons import REASONS, keyed_reason, worded
from course.i18n import using


def test_keyed_reasons_are_worded_in_the_language_of_the_page_and_stay_english_for_the_instructor():
    page: list = []
    review = [keyed_reason(page, "kernel_died"), keyed_reason(page, "locked_edited", cell="test_train"),
              "similar to student b (an instructor's reason)"]
    assert review[:2] == ["the kernel died during the notebook run",
                          "locked cell test_train was edited (nbgrader restored it)"]
    with using("zh_CN"):
        shown = worded(review, page)
    assert shown[0] == "运行笔记本时内核崩溃了" and "test_train" in shown[1] and "恢复" in shown[1]
    assert shown[2] == review[2]  # not keyed: as it is
    with using("en"):
        assert worded(review, page) == review
    with using("zh_CN"):
        assert worded(review, []) == review  # a result without keys (an older run) shows its English
    assert set(REASONS) == {"locked_edited", "run_timed_out", "autograde_failed", "kernel_died"}


def test_the_output_cap_notice_is_in_the_language_of_the_run():
    """The grader's notice under a capped output (the feedback page) follows COURSE_LANG; a notice configured with
    the older {what} placeholder still works."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_output

    from autograder.grading.preprocessors.cap_output import CapOutput

    cell = new_code_cell("print(1)")
    cell.outputs = [new_output("stream", name="stdout", text="x\n" * 500)]

    def notice(pre, lang):
        with using(lang):
            out, _ = pre.preprocess_cell(nbformat.from_dict(dict(cell)), {}, 0)
        return out.outputs[-1].text

    assert notice(CapOutput(), "en") == ("... [output truncated by the grader: at most 200 lines / 20000 characters "
                                         "per cell] ...\n")
    assert "评分程序" in notice(CapOutput(), "zh_CN") and "200" in notice(CapOutput(), "zh_CN")
    assert notice(CapOutput(notice="[cut: {what}]"), "en") == "[cut: at most 200 lines / 20000 characters per cell]\n"


def test_a_graded_notebook_without_its_detailed_page_says_the_checker_scored_it(tmp_path):
    from autograder.grading.feedback import write_simple_feedback

    with using("zh_CN"):
        write_simple_feedback(tmp_path, "01_perceptron", "s1", "01_perceptron", ["运行笔记本时内核崩溃了"], "2",
                              graded=True)
        write_simple_feedback(tmp_path, "01_perceptron", "s2", "01_perceptron", ["01_perceptron.ipynb is missing"])
    graded = (tmp_path / "feedback" / "s1" / "01_perceptron" / "01_perceptron.html").read_text(encoding="utf-8")
    refused = (tmp_path / "feedback" / "s2" / "01_perceptron" / "01_perceptron.html").read_text(encoding="utf-8")
    assert "没有详细的反馈页面" in graded and "得分：2，由课程的检查程序给出" in graded and "未能自动评分" not in graded
    assert "未能自动评分" in refused and "得分：0" in refused
