"""Every source notebook (with solutions) executes top to bottom without errors within the time it states
(``# %% meta time_budget_seconds=N`` in its .nbpy), in full mode on the offline fixtures."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from autograder.build import chapters, source_path
from autograder.notebook_tools import load
from tests.conftest import SHARED_DATA, isolated_env

pytestmark = pytest.mark.slow

EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True).execute()
nbformat.write(nb, sys.argv[2])
"""


@pytest.mark.parametrize("chapter", chapters())
def test_source_notebook_runs_clean_within_its_budget(chapter, tmp_path):
    budget = load(source_path(chapter)).get("metadata", {}).get("course", {}).get("time_budget_seconds")
    assert isinstance(budget, int) and budget > 0, f"{chapter}.nbpy needs '# %% meta time_budget_seconds=N'"
    if not SHARED_DATA.is_dir():
        pytest.skip("offline fixtures (../shared/data) not found")
    env = isolated_env(tmp_path, COURSE_DATA_FIXTURES=str(SHARED_DATA))
    env.pop("COURSE_QUICK", None)
    env.pop("NBGRADER_EXECUTION", None)
    out = tmp_path / "executed.ipynb"
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", EXECUTE, str(source_path(chapter)), str(out)], env=env,
                   cwd=source_path(chapter).parent, check=True, timeout=budget * 3 + 120)
    elapsed = time.monotonic() - start
    errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i, c in enumerate(json.loads(out.read_text())["cells"])
              for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"source/{chapter} raised: {errors}"
    assert elapsed <= budget, f"source/{chapter} took {elapsed:.0f} s, more than its stated {budget} s"
