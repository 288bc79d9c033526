"""Feedback pages readable without scripts: the chapters' LaTeX rendered as MathML on the server, long output lines
wrapped.

nbgrader's feedback template loads MathJax, but every feedback page forbids scripts (its Content-Security-Policy,
:mod:`autograder.grading.feedback`), so ``$...$`` would stay raw. :func:`render_page` converts the math of every
rendered markdown cell (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``; never inside ``<code>``/``<pre>``) to
MathML with latex2mathml, which browsers draw natively, and adds a style that wraps output lines (the checker's
verdict line is one long line) instead of cutting them at the page width. A formula latex2mathml cannot convert
stays as its LaTeX text.
"""

from __future__ import annotations

import html
import re

MARKER = "<!-- course: math rendered on the server -->"
WRAP_STYLE = ("<style>div.output_area pre, div.output_subarea pre, div.output_text pre "
              "{white-space: pre-wrap; overflow-wrap: anywhere;} math[display=block] {margin: 0.6em 0;}</style>")
MARKDOWN_DIV = re.compile(r'<div class="[^"]*\b(?:text_cell_render|jp-RenderedMarkdown)\b[^"]*"[^>]*>')
DIV_TAG = re.compile(r"<(/?)div\b[^>]*>", re.I)
TAG = re.compile(r"(<[^>]+>)")
ESCAPED = re.compile(r"&(?:lt|gt|amp);")
# display math first, then inline; an inline $ opens before a non-space and closes after one, not before a digit
MATH = re.compile(r"\$\$(?P<d1>.+?)\$\$|\\\[(?P<d2>.+?)\\\]|\\\((?P<i1>.+?)\\\)"
                  r"|(?<![\\$])\$(?P<i2>[^\s$](?:[^$]*?[^\s\\$])?)\$(?!\d)", re.S)


def latex_to_mathml(latex: str, display: bool) -> str | None:
    """MathML for ``latex`` (a display block or inline), None when latex2mathml cannot convert it."""
    from latex2mathml.converter import convert

    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds of errors on LaTeX it does not know
        return None


def render_math_text(text: str) -> str:
    """``text`` (HTML-escaped text between tags) with each formula replaced by MathML."""
    def one(m: re.Match) -> str:
        display = m.group("d1") is not None or m.group("d2") is not None
        latex = html.unescape(next(g for g in (m.group("d1"), m.group("d2"), m.group("i1"), m.group("i2")) if g))
        if ESCAPED.search(latex):  # nbgrader's feedback page escapes a formula's < > & twice ($s &amp;gt; 0$)
            latex = html.unescape(latex)
        return latex_to_mathml(latex, display) or m.group(0)

    return MATH.sub(one, text)


def render_markdown_html(fragment: str) -> str:
    """Math in ``fragment`` (a rendered markdown cell) as MathML; text inside ``<code>``/``<pre>`` untouched."""
    parts = TAG.split(fragment)
    depth = 0  # inside code/pre
    for i, part in enumerate(parts):
        if i % 2:  # a tag
            name = re.match(r"</?\s*(\w+)", part)
            if name and name.group(1).lower() in ("code", "pre"):
                depth += -1 if part.startswith("</") else 1
        elif depth == 0 and ("$" in part or "\\" in part):
            parts[i] = render_math_text(part)
    return "".join(parts)


def markdown_spans(page: str) -> list[tuple[int, int]]:
    """(start, end) of the inside of every rendered markdown cell's div in ``page``."""
    spans = []
    for m in MARKDOWN_DIV.finditer(page):
        depth, pos = 1, m.end()
        for tag in DIV_TAG.finditer(page, m.end()):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                spans.append((m.end(), tag.start()))
                break
            pos = tag.end()
        else:
            spans.append((m.end(), max(pos, m.end())))
    return spans


def render_page(page: str) -> str:
    """The feedback page ``page`` with server-side math and wrapped output lines (idempotent)."""
    if MARKER in page:
        return page
    out, last = [], 0
    for start, end in markdown_spans(page):
        if start < last:
            continue  # nested in a span already done
        out += [page[last:start], render_markdown_html(page[start:end])]
        last = end
    out.append(page[last:])
    page = "".join(out)
    i = page.find("</head>")
    extra = f"{MARKER}\n{WRAP_STYLE}\n"
    return page[:i] + extra + page[i:] if i >= 0 else extra + page
