"""The checker's verdict on a feedback page, set apart from anything the student's code printed.

A student's output can print any text ("graded by the course's checker: passed", "Score: 5 / 5") and, through
sanitised HTML outputs, any harmless element and class. So the verdict of each test cell is not an output: the
trusted side stores it in the autograded notebook's cell metadata (:func:`autograder.grading.feedback.annotate`;
no sandbox sees that file), and :func:`with_verdicts` draws it into the page's *input* panel of the test cell,
right under nbgrader's heading (above the code, outside the output area), as an element whose class carries a
secret made for this page: only that element gets the verdict's frame and colours (the page's style names the
secret; printed text is escaped and cannot name it).
"""

from __future__ import annotations

import html
import re
import secrets
from pathlib import Path

from course.i18n import N_, gettext_in

META_KEY = "course_verdict"
VERDICT_PREFIX = N_("graded by the course's checker: ")
STYLE = ("<style>.cv-{nonce} {{display: block; margin: 0.4em 0; padding: 0.5em 0.8em; border: 3px double; "
         "font-weight: bold; white-space: pre-wrap; overflow-wrap: anywhere;}} .cv-{nonce}.ok {{border-color: "
         "#2e7d32; background: #e8f5e9;}} .cv-{nonce}.no {{border-color: #c62828; background: #ffebee;}}</style>")


def verdicts_of(notebook: Path) -> dict[str, dict]:
    """{grade_id: {"ok", "text"}} stored by annotate in the autograded notebook ({} when none)."""
    import nbformat

    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except Exception:
        return {}
    out = {}
    for cell in nb.cells:
        v = cell.get("metadata", {}).get(META_KEY)
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if isinstance(v, dict) and isinstance(gid, str):
            out[gid] = {"ok": bool(v.get("ok")), "text": str(v.get("text", "")), "lang": str(v.get("lang", "en"))}
    return out


def with_verdicts(page: str, verdicts: dict[str, dict], nonce: str | None = None) -> str:
    """``page`` with each test cell's verdict under its nbgrader heading (idempotent per cell), its prefix in the
    verdict's ``lang`` (English when absent)."""
    if not verdicts:
        return page
    nonce = nonce or secrets.token_hex(8)
    for gid, v in verdicts.items():
        anchor = re.compile(rf'<a name="{re.escape(html.escape(gid))}"></a>\s*<div class="panel-heading">.*?</div>',
                            re.S)
        box = (f'<div class="cv-{nonce} {"ok" if v["ok"] else "no"}" role="status">'
               f"{html.escape(gettext_in(v.get('lang', 'en'), VERDICT_PREFIX) + v['text'], quote=False)}</div>")
        page, count = anchor.subn(lambda m, box=box: m.group(0) + box, page, count=1)
        if not count:  # no nbgrader heading (another template): at the top of the body
            page = page.replace("<body>", "<body>" + box, 1)
    style = STYLE.format(nonce=nonce)
    i = page.find("</head>")
    return page[:i] + style + page[i:] if i >= 0 else style + page
