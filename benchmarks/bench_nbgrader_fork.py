"""One student's ``nbgrader autograde`` as a new process against a fork of the preloaded one, side by side.

    python benchmarks/bench_nbgrader_fork.py --rounds 4

Builds a throw-away course holding the corpus' correct chapter-1 submission and runs the same autograde command
(sandboxed kernel, as ``course-grade`` runs it) alternately through ``autograder.grading.processes.run`` (``python -m
nbgrader``, what course-grade did before) and ``run_nbgrader`` (a fork of the process that imported nbgrader;
its first round also starts that process). Prints seconds per run and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHAPTER = "01_perceptron"


def main() -> int:
    from autograder.grading.processes import run, run_nbgrader
    from autograder.paths import tool_env

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fork-") as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "source" / CHAPTER, course / "source" / CHAPTER)
        dest = course / "submitted" / "correct" / CHAPTER
        shutil.copytree(ROOT / "tests" / "submissions" / CHAPTER / "correct", dest)
        env = tool_env()
        for var in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            env[var] = str(course / ".env" / var.lower())
        env.update(OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg", COURSE_ISOLATION="bwrap")
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", CHAPTER, "--force",
                        f"--CourseDirectory.root={course}"], cwd=course, env=env, check=True, capture_output=True)
        args = ["autograde", CHAPTER, "--student=correct", "--force", "--Execute.timeout=60",
                f"--CourseDirectory.root={course}"]
        print(f"load average at the start: {os.getloadavg()[0]:.2f}")
        for i in range(opts.rounds):
            for how in ("new process", "fork"):
                t0 = time.monotonic()
                if how == "fork":
                    code, log = run_nbgrader(args, course, env, 600)
                else:
                    code, log = run([sys.executable, "-m", "nbgrader", *args], course, env, 600)
                assert code == 0, log[-2000:]
                print(f"round {i + 1} {how:12s} {time.monotonic() - t0:6.2f} s", flush=True)
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":  # a guard multiprocessing needs: each fork imports the main module
    sys.exit(main())
