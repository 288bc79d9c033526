"""Student text made safe for where course-grade shows it: the terminal, CSV cells (spreadsheets), one-line reasons.

Student ids, review reasons and notes can carry text a student wrote (a folder name, a cell's first line, an
exception message). In a terminal an escape sequence can erase lines or draw fake ones; in a spreadsheet a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula (OWASP "CSV injection").
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def visible(text) -> str:
    """``text`` with every control character (ANSI escapes, C1 codes, bidirectional overrides, carriage returns)
    shown as ``\\xNN`` instead of acting; newlines become spaces (one line)."""
    text = str(text).replace("\r\n", " ").replace("\n", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                        text)


def csv_cell(text) -> str:
    """A CSV cell: one line, no control character, and prefixed with ``'`` when a spreadsheet would read it as
    a formula (idempotent: an already prefixed cell starts with ``'``)."""
    text = visible(text)
    text = " ".join(text.split()) if text.strip() != text or "  " in text else text
    return "'" + text if text.startswith(FORMULA_START) else text
