"""The hidden-test region in autograde (:class:`StripHiddenTests`: the kernel never runs a hidden test) and in
feedback (:class:`HideHiddenTests`: no hidden-test source, no traceback through check code)."""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.notebook import BEGIN_HIDDEN, hidden_lines, strip_hidden

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: no hidden-test source, and no traceback that quotes hidden tests or check code."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or (BEGIN_HIDDEN not in cell.source and not cell.get("outputs")):
            return cell, resources
        secret = hidden_lines(cell.source)
        if BEGIN_HIDDEN in cell.source:
            cell.source = strip_hidden(cell.source)
        for out in cell.get("outputs", []):
            if out.output_type != "error":
                continue
            tb = ANSI.sub("", "\n".join(out.get("traceback", [])))
            leaks = any(s in tb for s in secret) or "autograder" in tb or BEGIN_HIDDEN in tb
            if leaks:
                out.traceback = [f"\x1b[0;31m{out.ename}\x1b[0m: {out.evalue}"]
        return cell, resources


class StripHiddenTests(NbGraderPreprocessor):
    """Autograde, before execution: remove the hidden-test region from every cell, so the kernel never needs
    (nor sees) ``autograder``; the score of a test cell is the trusted judge's verdict (course-grade writes it)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and BEGIN_HIDDEN in cell.source:
            cell.source = strip_hidden(cell.source)
        return cell, resources
