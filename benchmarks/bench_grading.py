"""Grading throughput: N chapter-1 submissions through ``course-grade``, serial (1 worker) vs parallel.

    python benchmarks/bench_grading.py --n 100 --workers 1 2 --isolation bwrap

Builds a throw-away course directory with N submissions cycled from the corpus cases that finish quickly
(correct, skeleton, wrong answers, patched numpy/checks, stderr, deleted/duplicated cells; no timeouts), runs
the instructor command once per worker count, and prints submissions per minute. Each run starts from an
empty gradebook, so both runs do the same work. ``--isolation`` is passed to course-grade (bwrap, the default,
runs every kernel and re-check in a bubblewrap sandbox). The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "01_perceptron"
CORPUS = ROOT / "tests" / "submissions"
FAST_CASES = ["correct", "skeleton", "wrong_predict", "patch_numpy", "patch_checks_module", "stderr_warning",
              "deleted_test_cell", "duplicated_cells", "hardcode_visible", "import_reference"]


def build_course(root: Path, n: int) -> Path:
    course = root / "course"
    if course.exists():
        shutil.rmtree(course)
    course.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / CHAPTER, course / "source" / CHAPTER)
    for i in range(n):
        case = FAST_CASES[i % len(FAST_CASES)]
        dest = course / "submitted" / f"s{i:03d}-{case}" / CHAPTER
        dest.mkdir(parents=True)
        shutil.copy(CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb", dest / f"{CHAPTER}.ipynb")  # notebook only
    return course


def run(course: Path, workers: int, extra: list[str]) -> float:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    # warm-up outside the timing: the gradebook and assignment record
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", CHAPTER, "--force",
                    f"--CourseDirectory.root={course}", "--log-level=ERROR"], cwd=course, env=env, check=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder.grading.cli", CHAPTER, "--course-dir", str(course),
                    "--workers", str(workers), *extra], cwd=course, env=env, check=True)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=int, default=30)
    parser.add_argument("--isolation", choices=["bwrap", "none"], default="bwrap")
    args = parser.parse_args()
    results = {}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        for workers in args.workers:
            course = build_course(Path(tmp), args.n)
            seconds = run(course, workers, ["--timeout", str(args.timeout), "--isolation", args.isolation])
            results[workers] = seconds
            print(f"[bench] {args.n} submissions, {workers} worker(s): {seconds:.1f} s "
                  f"({args.n / seconds * 60:.1f} submissions/min)", flush=True)
    load = os.getloadavg()[0]
    print(json.dumps({"n": args.n, "isolation": args.isolation, "seconds": results,
                      "load_avg_1min_at_start": round(load_start, 2), "load_avg_1min_at_end": round(load, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
