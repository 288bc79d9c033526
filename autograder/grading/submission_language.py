"""Feedback in the language of the notebook the student submitted (issue 30).

The build writes ``metadata.course.language`` into a translated release notebook (``release-zh_CN``); a submission
keeps it. :func:`submitted_language` reads it back (English for anything unreadable: the file is the student's);
``course-grade`` then runs the kernel and the judge with ``COURSE_LANG`` set to it (visible-test and checker messages)
and writes the feedback page in it: the course's own text through :mod:`course.i18n`, and the few fixed labels of
nbgrader's feedback template through :func:`localise_page`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from autograder.notebook import notebook_language

ENGLISH = "en"
MAX_BYTES = 64 * 1024 * 1024  # a bigger file is not parsed again here (triage has already judged it)
# nbgrader 0.9.6's feedback template (formgrader/templates/feedback/index.html.j2): its fixed English labels, each
# replaced only in the exact markup the template writes (the student's own outputs and prose are never touched)
TEMPLATE_LABELS = {
    "zh_CN": (
        (r'(<span class="nbgrader-label">)Student\'s answer(</span>)', r"\1学生的答案\2"),
        (r'(<span class="nbgrader-label">)Student\'s task(</span>)', r"\1学生的任务\2"),
        (r'(<span class="nbgrader-label">)Grade cell: (<code>)', r"\1评分单元格：\2"),
        (r'(<span class="nbgrader-label">)Task: (<code>)', r"\1任务：\2"),
        (r'(<a href="#[^"<>]*">)Test cell(</a>) \(Score: ', r"\1测试单元格\2（得分："),
        (r'(<a href="#[^"<>]*">)Coding free-response(</a>) \(Score: ', r"\1编程问答\2（得分："),
        (r'(<a href="#[^"<>]*">)Written response(</a>) \(Score: ', r"\1书面回答\2（得分："),
        (r'(<a href="#[^"<>]*">)Task(</a>) \(Score: ', r"\1任务\2（得分："),
        (r'(<a href="#comment-[^"<>]*">)Comment(</a>)', r"\1评语\2"),
        (r'(<h4>[^<>]*) \(Score: ([0-9.]+ / [0-9.]+)\)(</h4>)', r"\1（得分：\2）\3"),
        (r'(<li class="late-penalty">)Late submission penalty \(Score: ', r"\1迟交扣分（得分："),
        (r'(\n\s*)Score: ([0-9.]+ / [0-9.]+) (<a href="#top">)\(Top\)(</a>)', r"\1得分：\2 \3（回到顶部）\4"),
        (r'(<a href="#top">)\(Top\)(</a>)', r"\1（回到顶部）\2"),
        (r"<b>Comments:</b>", r"<b>评语：</b>"),
    ),
}
# an open bracket of a line that got its Chinese "（得分：" above closes with a full-width bracket too
OPEN_SCORE = re.compile(r"（得分：([^()<>]*?)\)")


def submitted_language(path: Path) -> str:
    """The language of the submitted notebook at ``path`` (English for a link, a non-file, an unreadable or too big
    file, or a notebook without a known language)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            return ENGLISH
        return notebook_language(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):
        return ENGLISH


def localise_page(page: str, lang: str) -> str:
    """nbgrader's feedback ``page`` with its template labels in ``lang`` (unchanged for English) and the page's
    ``lang`` attribute set."""
    labels = TEMPLATE_LABELS.get(lang)
    if not labels:
        return page
    for pattern, replacement in labels:
        page = re.sub(pattern, replacement, page)
    page = OPEN_SCORE.sub(r"（得分：\1）", page)
    return re.sub(r"<html(?![^>]*\blang=)", f'<html lang="{lang.replace("_", "-")}"', page, count=1)
