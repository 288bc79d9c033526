"""Autograde, after execution: cap every cell's output by bytes and by lines, for all output types (the stock
``LimitOutput`` counts lines of stream output only, so one 10 MB line passes), and turn stderr text of cells that
raised no error into stdout text: nbgrader scores a test cell with any stderr output as failed, so a library
warning would zero a correct answer."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from autograder.chapters.messages import N_
from autograder.chapters.messages import gettext as _


class CapOutput(NbGraderPreprocessor):
    """Cap each code cell's outputs by bytes and lines; stderr without an error is not a failure."""

    max_bytes = Integer(20000, help="maximum characters of text output kept per cell").tag(config=True)
    max_lines = Integer(200, help="maximum lines of text output kept per cell").tag(config=True)
    max_line_chars = Integer(2000, help="longest kept line of text output").tag(config=True)
    max_rich_bytes = Integer(2_000_000, help="largest kept rich output (image, html) per cell").tag(config=True)
    # in the submission's language (course-grade runs nbgrader with COURSE_LANG set to it); {what} (English) for a
    # notice configured before {lines} and {chars}
    notice = Unicode(N_("... [output truncated by the grader: at most {lines} lines / {chars} characters per cell] "
                        "...")).tag(config=True)

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

            limits = f"at most {self.max_lines} lines / {self.max_bytes} characters per cell"  # an older {what}
            notice = _(self.notice, lines=self.max_lines, chars=self.max_bytes, what=limits)
            outputs.append(new_output("stream", name="stdout", text=notice + "\n"))
        cell.outputs = outputs
        return cell, resources
