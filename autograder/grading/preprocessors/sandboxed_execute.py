"""Autograde: nbgrader's Execute with the kernel in a bubblewrap sandbox (:mod:`autograder.grading.kernel`); the run
stops at the first cell that times out (the later cells say so): that run is for the feedback page only."""

from __future__ import annotations

from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute

from autograder.chapters.messages import N_
from autograder.chapters.messages import gettext as _
from autograder.grading.kernel import SandboxedKernelManager
from autograder.grading.nbgrader_log import ready_line

# in the submission's language (course-grade runs nbgrader with COURSE_LANG set to it)
NOT_RUN = N_("not run: cell {cell} did not finish within {seconds} s, so the rest of the notebook was not run for this "
             "page (each later cell could wait as long). Your score does not depend on it: the course's checker runs "
             "every test on its own.")


def merged_streams(outputs: list) -> list:
    """The outputs with each run of adjacent stream outputs of one name (stdout, stderr) made one: the kernel flushes a
    cell's printing in pieces at times that vary from run to run, and the page should not (nor two runs of a class)."""
    merged: list = []
    pieces: dict[int, list[str]] = {}  # joined once at the end: a flood of small pieces stays linear
    for output in outputs:
        last = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream"
                and last.get("name") == output.get("name")):
            pieces.setdefault(len(merged) - 1, [last.get("text", "")]).append(output.get("text", ""))
        else:
            merged.append(output)
    for i, texts in pieces.items():
        merged[i]["text"] = "".join(texts)
    return merged


class SandboxedExecute(Execute):
    """nbgrader's Execute with the kernel in a bubblewrap sandbox (:mod:`autograder.grading.kernel`), stopping at the
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
            number, seconds = self.course_timed_out
            cell.outputs = [new_output("stream", name="stdout", text=_(NOT_RUN, cell=number, seconds=seconds) + "\n")]
            cell.execution_count = None
            return cell, resources
        self.course_cell = index + 1  # as a reader counts the notebook's cells
        cell, resources = super().preprocess_cell(cell, resources, index)
        cell.outputs = merged_streams(cell.get("outputs", []))
        return cell, resources

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        ready = ready_line()  # the kernel answered: from here on the log may quote student text
        if ready:
            self.log.info("%s", ready)
        return client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # nbclient's sync path calls this name

    async def _async_handle_timeout(self, timeout, cell=None):
        self.course_timed_out = (self.course_cell, timeout)
        return await super()._async_handle_timeout(timeout, cell)
