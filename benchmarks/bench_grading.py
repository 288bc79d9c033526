"""Grading throughput: N chapter-1 submissions through ``course-grade``, serial (1 worker) vs parallel.

    python benchmarks/bench_grading.py --n 100 --workers 1 2 --isolation bwrap

Builds a throw-away course directory with N submissions cycled from the corpus cases that finish quickly
(correct, skeleton, wrong answers, patched numpy/checks, stderr, deleted/duplicated cells; no timeouts), runs
the instructor command once per worker count, and prints submissions per minute. Each run starts from an
empty gradebook, so both runs do the same work. ``--isolation`` is passed to course-grade (bwrap, the default,
runs every kernel and re-check in a bubblewrap sandbox). The load average is printed before and after.

    python benchmarks/bench_grading.py --side-by-side 01_perceptron 02_dense_backprop --n 8 --rounds 3

prints, per chapter (the median of ``--rounds`` alternating runs), seconds per submission of stock
``nbgrader autograde`` (serial, nbgrader's default config: no sandbox, no judge; and with stock ``nbgrader
generate_feedback`` after it, the pages course-grade makes too), ``course-grade`` with 1 and 2 workers and
``course-grade --scheduler local`` (a Dask LocalCluster of 2 workers, its start included), with the load average,
as a Markdown table; next to each wall time the CPU seconds of every process the command started (a cpuacct cgroup
per command), which other users' load inflates far less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


STOCK_CONFIG = "c = get_config()\n"  # nbgrader's defaults: no sandbox, no judge, visible and hidden tests decide


# chapter 1 in the side-by-side runs: stock nbgrader autograde stops the whole class (exit 1, "One or more notebooks
# in the assignment use an old version of the nbgrader metadata format") when deleted_test_cell or duplicated_cells
# is in it, so the side-by-side class cycles the six cases before them
SIDE_CASES = FAST_CASES[:6]


def chapter_course(root: Path, chapter: str, n: int, stock: bool) -> Path:
    """A course of ``n`` submissions of ``chapter``: chapter 1 cycles :data:`SIDE_CASES` of the corpus, other
    chapters alternate the source notebook (every solution) and the release notebook (the skeleton)."""
    course = root / ("stock" if stock else "course")
    shutil.rmtree(course, ignore_errors=True)
    course.mkdir(parents=True)
    if stock:
        (course / "nbgrader_config.py").write_text(STOCK_CONFIG)
    else:
        shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / chapter, course / "source" / chapter)
    for i in range(n):
        if chapter == CHAPTER:
            case = SIDE_CASES[i % len(SIDE_CASES)]
            notebook = CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb"
        else:
            case, folder = ("solved", "source") if i % 2 == 0 else ("skeleton", "release")
            notebook = ROOT / folder / chapter / f"{chapter}.ipynb"
        dest = course / "submitted" / f"s{i:03d}-{case}" / chapter
        dest.mkdir(parents=True)
        shutil.copy(notebook, dest / f"{chapter}.ipynb")
    return course


CPUACCT = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1 CPU accounting (the grader's pids cgroups are another tree)


def cpu_seconds_of(run, prefix: str) -> float | None:
    """Calls ``run(preexec_fn)`` with every process it starts in a cpuacct cgroup of its own (forks of the fork
    server, kernels and sandboxes included, even those that outlive their parent) and returns their CPU seconds;
    None when no such cgroup can be made. CPU time is what the load of other users' work inflates least."""
    group = CPUACCT / f"{prefix}-{os.getpid()}-{time.monotonic_ns()}"
    try:
        group.mkdir()
    except OSError:
        group = None

    def join():
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    run(join)
    if group is None:
        return None
    cpu = int((group / "cpuacct.usage").read_text()) / 1e9
    for _ in range(50):  # an orphan may still be ending
        try:
            group.rmdir()
            break
        except OSError:
            time.sleep(0.1)
    return cpu


def timed(cmd: list[str], course: Path, env: dict) -> tuple[float, float | None]:
    """(wall seconds, CPU seconds or None) of ``cmd`` (:func:`cpu_seconds_of`)."""
    wall = []

    def run(join):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=course, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       preexec_fn=join)
        wall.append(time.perf_counter() - t0)

    cpu = cpu_seconds_of(run, "bench-grading")
    return wall[0], cpu


STOCK = "stock nbgrader autograde (serial)"
STOCK_FEEDBACK = "stock autograde + generate_feedback"
NAMES = [STOCK, "course-grade, 1 worker", "course-grade, 2 workers", "course-grade --scheduler local, 2 workers"]


def side_by_side(chapter: str, n: int, timeout: int, tmp: Path, rounds: int = 1) -> dict:
    """Seconds per submission of ``chapter``: stock ``nbgrader autograde`` (serial, one process for the class; then,
    timed apart, stock ``nbgrader generate_feedback``, the pages course-grade also makes), course-grade with 1 and 2
    local workers, course-grade on a local Dask scheduler (LocalCluster) of 2 workers. Each from an empty gradebook
    after ``generate_assignment`` (outside the timing); course-grade's time is the whole command (autograde, judge,
    feedback pages), stock's is autograde only. With ``rounds`` > 1 stock and the two local course-grade runs
    alternate ``rounds`` times (the Dask run once, last) and each figure is the median of its rounds."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")  # hidden tests import autograder
    env.setdefault("MPLBACKEND", "Agg")
    if (ROOT.parent / "shared" / "data").is_dir():  # the data fixtures chapters 3-6 load (as the tests use them)
        env.setdefault("COURSE_DATA_FIXTURES", str(ROOT.parent / "shared" / "data"))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    grade = [sys.executable, "-m", "autograder.grading.cli", chapter, "--timeout", str(timeout)]
    runs = {STOCK: (True, nbgrader + ["autograde", chapter, "--force"]),
            NAMES[1]: (False, grade + ["--workers", "1"]),
            NAMES[2]: (False, grade + ["--workers", "2"]),
            NAMES[3]: (False, grade + ["--workers", "2", "--scheduler", "local"])}
    row = {"chapter": chapter, "n": n, "rounds": rounds, "load_start": round(os.getloadavg()[0], 2)}
    seen: dict[str, list[tuple[float, float | None]]] = {}
    order = [name for _ in range(rounds) for name in NAMES[:3]] + [NAMES[3]]
    for name in order:
        stock, cmd = runs[name]
        course = chapter_course(tmp, chapter, n, stock)
        subprocess.run(nbgrader + ["generate_assignment", chapter, "--force", "--log-level=ERROR"], cwd=course,
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, cpu = timed(cmd, course, env)
        seen.setdefault(name, []).append((wall, cpu))
        print(f"[bench] {chapter}: {name}: {wall / n:.2f} s per submission, CPU "
              f"{None if cpu is None else round(cpu / n, 2)} s (load {os.getloadavg()[0]:.2f})", flush=True)
        if stock:
            pages_wall, pages_cpu = timed(nbgrader + ["generate_feedback", chapter, "--force"], course, env)
            seen.setdefault(STOCK_FEEDBACK, []).append(
                (wall + pages_wall, None if cpu is None or pages_cpu is None else cpu + pages_cpu))
    for name, values in seen.items():
        row[name] = round(statistics.median(w for w, _ in values) / n, 2)
        cpus = [c for _, c in values if c is not None]
        row[f"{name} cpu"] = round(statistics.median(cpus) / n, 2) if len(cpus) == len(values) else None
    row["load_end"] = round(os.getloadavg()[0], 2)
    return row


def table(rows: list[dict]) -> str:
    """The side-by-side rows as a Markdown table: wall seconds per submission (CPU seconds of every process the
    command started, in brackets), ratios against stock autograde (wall, and CPU) and from 1 to 2 workers (wall)."""
    def cell(r, name):
        cpu = r.get(f"{name} cpu")
        return f"{r[name]:.2f} s" + ("" if cpu is None else f" ({cpu:.2f})")

    names = [STOCK, STOCK_FEEDBACK, *NAMES[1:]]
    head = ("| chapter | n x rounds | stock nbgrader autograde (serial) | stock autograde + generate_feedback | "
            "course-grade 1 worker | course-grade 2 workers | course-grade on Dask (local scheduler, 2 workers) | "
            "1 worker / stock autograde, wall (CPU) (target <= 1.0x) | speed-up 1 -> 2 workers (target >= 1.8x) | "
            "load avg start -> end |\n|" + "---|" * 10)
    out = [head]
    for r in rows:
        stock, one, two = (r[k] for k in NAMES[:3])
        cpu_stock, cpu_one = r.get(f"{STOCK} cpu"), r.get(f"{NAMES[1]} cpu")
        cpu_ratio = f" ({cpu_one / cpu_stock:.2f}x)" if cpu_stock and cpu_one else ""
        out.append(f"| {r['chapter']} | {r['n']} x {r.get('rounds', 1)} | " + " | ".join(cell(r, k) for k in names)
                   + f" | {one / stock:.2f}x{cpu_ratio} | {one / two:.2f}x | {r['load_start']} -> {r['load_end']} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side-by-side", nargs="+", metavar="CHAPTER",
                        help="per chapter: stock nbgrader, course-grade 1 and 2 workers, on a local Dask scheduler")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1,
                        help="--side-by-side: alternate stock and course-grade this many times, report medians")
    parser.add_argument("--isolation", choices=["bwrap", "none"], default="bwrap")
    args = parser.parse_args()
    if args.side_by_side:
        with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
            rows = [side_by_side(ch, args.n, args.timeout, Path(tmp), args.rounds) for ch in args.side_by_side]
        print(table(rows))
        print(json.dumps(rows))
        return 0
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
