"""Wall time of every source notebook (with solutions, full mode, offline fixtures) against its stated budget.

The budgets (``course: time_budget_seconds`` in each chapter text's header) are checked here, not in the tests
(a busy CI machine must not fail a submission on timing; the tests only guard against hangs: tests/test_autograde.py
runs every source notebook in QUICK mode under nbgrader).
Prints one row per chapter with the load average before and after, and the kernel's CPU time (user+sys of the process
tree, which load does not inflate the way it inflates wall time).

    COURSE_DATA_FIXTURES=../shared/data python benchmarks/bench_notebooks.py [01_perceptron ...]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.chapters import chapter_names as chapters  # noqa: E402
from autograder.notebook import load  # noqa: E402
from autograder.paths import source_path  # noqa: E402
from tests.results_lines import check_notebook_results  # noqa: E402

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
    if not isinstance(budget, int) or budget <= 0:
        raise SystemExit(f"autograder/chapters/ch{chapter}/chapter.py needs 'course: time_budget_seconds: N' in its "
                         "header")
    return budget


def run(chapter: str) -> tuple[float, float, list[str]]:
    """(wall seconds, CPU seconds of the executing process and its kernel, problems of its RESULT lines against
    benchmarks/results.json) for one source notebook in full mode."""
    env = dict(os.environ)
    env.pop("COURSE_QUICK", None)
    env.pop("NBGRADER_EXECUTION", None)
    env.setdefault("COURSE_DATA_FIXTURES", str(ROOT.parent / "shared" / "data"))
    guard = HANG_FACTOR * budget_of(chapter) + 120
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", EXECUTE, str(source_path(chapter)), str(Path(tmp) / "out.ipynb"),
                        str(guard)], env=env, cwd=source_path(chapter).parent, check=True, timeout=guard + 60)
        wall = time.monotonic() - t0
        problems = check_notebook_results(chapter, Path(tmp) / "out.ipynb")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, problems


def main(names):
    print(f"{'chapter':22s} {'budget s':>8s} {'wall s':>7s} {'CPU s':>7s} {'load before/after':>18s}  verdict")
    for chapter in names or chapters():
        load0 = os.getloadavg()[0]
        wall, cpu, problems = run(chapter)
        budget = budget_of(chapter)
        verdict = "within budget" if wall <= budget else "OVER BUDGET"
        print(f"{chapter:22s} {budget:8d} {wall:7.1f} {cpu:7.1f} {load0:8.2f} / {os.getloadavg()[0]:5.2f}  {verdict}",
              flush=True)
        for problem in problems:
            print(f"    RESULT mismatch: {problem}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
