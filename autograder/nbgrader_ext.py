"""nbgrader preprocessors the course's ``nbgrader_config.py`` plugs into autograde and generate_feedback.

* :class:`CourseOverwriteCells` (autograde, sanitising): the stock ``OverwriteCells`` warns "checksum has
  changed" for *every* submission, because the released test cells lack their hidden region while the
  gradebook stores the source cell (with it). Here a locked cell that equals the source cell with its hidden
  region removed is restored silently, so the warning only fires when a student really edited a locked cell.
  Missing test cells are re-added from the gradebook even when their neighbours are gone too (the stock code
  raises KeyError when a deleted test cell follows a deleted solution cell, and when a student duplicated a
  graded cell: ``DeduplicateIds`` empties the copy's metadata and ``add_missing_task_cells`` trips on it).
* :class:`CourseDeduplicateIds` (autograde, sanitising): a duplicated graded cell no longer fails the whole
  notebook; the last copy is graded (the kernel runs all copies, so the last definition is the one in effect).
* :class:`CapOutput` (autograde, after execution): caps every cell's output by bytes and by lines, for all
  output types (the stock ``LimitOutput`` counts lines of stream output only, so one 10 MB line passes), and
  turns stderr text of cells that raised no error into stdout text: nbgrader scores a test cell with any
  stderr output as failed, so a library warning would zero a correct answer.
* :class:`SandboxedExecute` (autograde): nbgrader's Execute with the kernel in a bubblewrap sandbox; the run stops
  at the first cell that times out (the later cells say so): that run is for the feedback page only.
* :class:`HideHiddenTests` (generate_feedback): removes the hidden-test region from cell sources and
  replaces tracebacks that would show hidden-test or check code by ``ename: evalue`` (the check's message).
"""

from __future__ import annotations

import re

from nbgrader import utils
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor, OverwriteCells
from traitlets import Integer, Unicode

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _with_hidden_flag(source: str):
    """Each line of ``source`` except the markers, with True when it lies between BEGIN and END HIDDEN TESTS."""
    hidden = False
    for line in source.split("\n"):
        if BEGIN in line:
            hidden = True
        elif END in line:
            hidden = False
        else:
            yield line, hidden


def strip_hidden(source: str) -> str:
    """``source`` without the lines from BEGIN HIDDEN TESTS to END HIDDEN TESTS (as generate_assignment does)."""
    return "\n".join(line for line, hidden in _with_hidden_flag(source) if not hidden).rstrip()


def hidden_lines(source: str) -> list[str]:
    """The non-blank lines between BEGIN and END HIDDEN TESTS, stripped."""
    return [line.strip() for line, hidden in _with_hidden_flag(source) if hidden and line.strip()]


class CourseDeduplicateIds(DeduplicateIds):
    """Keep the last copy of a duplicated graded cell; earlier copies become ordinary cells.

    The stock preprocessor leaves the copies with empty ``nbgrader`` metadata, which CheckCellMetadata then
    rejects ("old version of nbgrader metadata"): the whole notebook fails to grade.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)):
            return cell, resources
        grade_id = cell.metadata.nbgrader.get("grade_id")
        if grade_id in self.grade_ids:
            self.log.warning("Cell with id '%s' exists multiple times!", grade_id)
            del cell.metadata["nbgrader"]
        else:
            self.grade_ids.add(grade_id)
        return cell, resources


class CourseOverwriteCells(OverwriteCells):
    """OverwriteCells without the false checksum alarm, and with robust re-adding of missing test cells."""

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell):
            try:
                source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except Exception:
                source_cell = None
            if source_cell is not None and BEGIN in source_cell.source:
                if cell.source.strip() == strip_hidden(source_cell.source).strip():
                    cell.source = source_cell.source  # the released version of this cell: not an edit
        return super().preprocess_cell(cell, resources, cell_index)

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = source_nb.source_cells
        order = [c.name for c in source_cells]
        solution_ids = {c.name for c in source_nb.solution_cells}
        for grade_cell in source_nb.grade_cells:
            present = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
            if grade_cell.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            idx = order.index(grade_cell.name)
            new = self.missing_cell_transform(source_cells[idx], grade_cell.max_score,
                                              is_solution=grade_cell.name in solution_ids)
            # after the nearest earlier source cell still present, else at the top
            pos = 0
            for prev in reversed(order[:idx]):
                if prev in present:
                    pos = present.index(prev) + 1
                    break
            nb.cells.insert(pos, new)
        return nb, resources

    def add_missing_task_cells(self, nb, resources):
        # DeduplicateIds leaves duplicated cells with empty nbgrader metadata: the stock code raises KeyError
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [c.name for c in source_nb.source_cells]
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        for task_cell in source_nb.task_cells:
            if task_cell.name not in present:
                cell = source_nb.source_cells[order.index(task_cell.name)]
                nb.cells.append(self.missing_cell_transform(cell, task_cell.max_score, is_task=True))
        return nb, resources


class CapOutput(NbGraderPreprocessor):
    """Cap each code cell's outputs by bytes and lines; stderr without an error is not a failure."""

    max_bytes = Integer(20000, help="maximum characters of text output kept per cell").tag(config=True)
    max_lines = Integer(200, help="maximum lines of text output kept per cell").tag(config=True)
    max_line_chars = Integer(2000, help="longest kept line of text output").tag(config=True)
    max_rich_bytes = Integer(2_000_000, help="largest kept rich output (image, html) per cell").tag(config=True)
    notice = Unicode("... [output truncated by the grader: {what}] ...").tag(config=True)

    def _cap_text(self, text: str, budget: dict) -> tuple[str, bool]:
        lines, cut = [], False
        for line in text.split("\n"):
            if budget["lines"] <= 0 or budget["bytes"] <= 0:
                cut = True
                break
            if len(line) > self.max_line_chars:
                line, cut = line[: self.max_line_chars] + " ...", True
            if len(line) > budget["bytes"]:
                line, cut = line[: budget["bytes"]], True
            lines.append(line)
            budget["lines"] -= 1
            budget["bytes"] -= len(line) + 1
        return "\n".join(lines), cut

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        failed = any(o.output_type == "error" for o in cell.outputs)
        budget = {"lines": self.max_lines, "bytes": self.max_bytes}
        rich = self.max_rich_bytes
        outputs, cut = [], False
        for out in cell.outputs:
            if out.output_type == "stream":
                if out.name == "stderr" and not failed:
                    out.name = "stdout"  # a warning is not a failed test (nbgrader fails cells with stderr)
                text = out.text if isinstance(out.text, str) else "".join(out.text)
                out.text, c = self._cap_text(text, budget)
                cut |= c
                if out.text or not c:
                    outputs.append(out)
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                for mime in list(data):
                    value = data[mime]
                    text = value if isinstance(value, str) else "".join(value) if isinstance(value, list) else None
                    if text is None:
                        continue
                    if mime == "text/plain":
                        data[mime], c = self._cap_text(text, budget)
                        cut |= c
                    elif len(text) > rich:
                        del data[mime]
                        cut = True
                    else:
                        rich -= len(text)
                if data:
                    outputs.append(out)
            elif out.output_type == "error":
                tb = "\n".join(out.get("traceback", []))
                if len(tb) > self.max_bytes:
                    out.traceback = [tb[: self.max_bytes // 2], "... [traceback truncated] ...",
                                     tb[-self.max_bytes // 4:]]
                out.evalue = str(out.get("evalue", ""))[: self.max_line_chars]
                outputs.append(out)
            else:
                outputs.append(out)
        if cut:
            from nbformat.v4 import new_output

            what = f"at most {self.max_lines} lines / {self.max_bytes} characters per cell"
            outputs.append(new_output("stream", name="stdout", text=self.notice.format(what=what) + "\n"))
        cell.outputs = outputs
        return cell, resources


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: no hidden-test source, and no traceback that quotes hidden tests or check code."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or (BEGIN not in cell.source and not cell.get("outputs")):
            return cell, resources
        secret = hidden_lines(cell.source)
        if BEGIN in cell.source:
            cell.source = strip_hidden(cell.source)
        for out in cell.get("outputs", []):
            if out.output_type != "error":
                continue
            tb = _ANSI.sub("", "\n".join(out.get("traceback", [])))
            leaks = any(s in tb for s in secret) or "autograder" in tb or BEGIN in tb
            if leaks:
                out.traceback = [f"\x1b[0;31m{out.ename}\x1b[0m: {out.evalue}"]
        return cell, resources


class StripHiddenTests(NbGraderPreprocessor):
    """Autograde, before execution: remove the hidden-test region from every cell, so the kernel never needs
    (nor sees) ``autograder``; the score of a test cell is the trusted judge's verdict (course-grade writes it)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = strip_hidden(cell.source)
        return cell, resources


NOT_RUN = ("not run: cell {0} did not finish within {1} s, so the rest of the notebook was not run for this page "
           "(each later cell could wait as long). Your score does not depend on it: the course's checker runs every "
           "test on its own.\n")


def _sandboxed_execute_class():
    from nbgrader.preprocessors import Execute

    from autograder.kernel import SandboxedKernelManager

    class SandboxedExecute(Execute):
        """nbgrader's Execute with the kernel in a bubblewrap sandbox (:mod:`autograder.kernel`), stopping at the
        first cell that times out: the later code cells are not run but get :data:`NOT_RUN` as their output.

        This run only makes the feedback page (the score is the judge's, which runs every test on its own), and a
        hang in a student's function would make every later cell that calls it wait out the timeout too."""

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
            super().__init__(*args, **kwargs)

        def reset_execution_trackers(self):
            super().reset_execution_trackers()
            self.course_cell = self.course_timed_out = None  # (cell number, seconds) of the cell that timed out

        def preprocess_cell(self, cell, resources, index):
            if self.course_timed_out is not None and cell.cell_type == "code":
                from nbformat.v4 import new_output

                cell.outputs = [new_output("stream", name="stdout", text=NOT_RUN.format(*self.course_timed_out))]
                cell.execution_count = None
                return cell, resources
            self.course_cell = index + 1  # as a reader counts the notebook's cells
            return super().preprocess_cell(cell, resources, index)

        async def _async_handle_timeout(self, timeout, cell=None):
            self.course_timed_out = (self.course_cell, timeout)
            return await super()._async_handle_timeout(timeout, cell)

    return SandboxedExecute


SandboxedExecute = _sandboxed_execute_class()

# Feedback pages: no script may run (the page is opened by the student and by the instructor). The HTML of
# outputs is cleaned by nbconvert's SanitizeHTML (bleach) and the page forbids every script by its CSP.
CSP = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
       "style-src 'unsafe-inline'; font-src data:\">")


def add_csp(html_text: str) -> str:
    """``html_text`` with :data:`CSP` as the first element of ``<head>`` (idempotent)."""
    if CSP in html_text:
        return html_text
    i = html_text.find("<head>")
    if i < 0:
        return CSP + html_text
    return html_text[: i + 6] + "\n" + CSP + html_text[i + 6:]
