"""Every source notebook (with solutions) executes top to bottom without errors, on the offline fixtures, in
QUICK mode (the demos' step counts that nbgrader runs; course/runtime.py). Full mode, with its printed ``RESULT``
figures checked against benchmarks/results.json, is the benchmark ``python benchmarks/bench_notebooks.py``
(chapters 5 and 6 train for minutes there: too long for every test run).

No wall-clock assertion: how long a chapter takes is a benchmark (``python benchmarks/bench_notebooks.py``,
recorded in benchmarks/RESULTS.md with the load average). The test only guards against a hang: the kernel gets
4x the chapter's stated budget (``course: time_budget_seconds`` in its chapter text's header) plus two minutes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from autograder.build import chapters, source_path
from autograder.notebook_tools import load
from tests.conftest import SHARED_DATA, isolated_env

pytestmark = pytest.mark.slow

HANG_FACTOR = 4  # a run this many times over its budget is a hang, not a busy machine

EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name="python3", allow_errors=True).execute()
nbformat.write(nb, sys.argv[2])
"""


def budget_of(chapter: str) -> int:
    """The chapter's stated time budget in seconds (its chapter text's ``course.time_budget_seconds``)."""
    budget = load(source_path(chapter)).get("metadata", {}).get("course", {}).get("time_budget_seconds")
    assert isinstance(budget, int) and budget > 0, (
        f"autograder/notebooks/{chapter}.py needs 'course: time_budget_seconds: N' in its header")
    return budget


@pytest.mark.parametrize("chapter", chapters())
def test_source_notebook_runs_clean(chapter, tmp_path):
    guard = HANG_FACTOR * budget_of(chapter) + 120
    if not SHARED_DATA.is_dir():
        pytest.skip("offline fixtures (../shared/data) not found")
    env = isolated_env(tmp_path, COURSE_DATA_FIXTURES=str(SHARED_DATA))
    env["COURSE_QUICK"] = "1"
    env.pop("NBGRADER_EXECUTION", None)
    out = tmp_path / "executed.ipynb"
    try:
        subprocess.run([sys.executable, "-c", EXECUTE, str(source_path(chapter)), str(out), str(guard)], env=env,
                       cwd=source_path(chapter).parent, check=True, timeout=guard + 60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"source/{chapter} still ran after {guard} s ({HANG_FACTOR}x its budget + 120 s): a hang")
    errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i, c in enumerate(json.loads(out.read_text())["cells"])
              for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"source/{chapter} raised: {errors}"
