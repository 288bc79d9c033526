"""Where a student's seconds go in ``course-grade`` (issue 29), now and with the previous start-up, side by side.

    python benchmarks/profile_grading.py 01_perceptron --n 4 --rounds 2

Grades the same ``n`` submissions (:func:`bench_grading.chapter_course`) with one worker, alternating two modes
``rounds`` times each, every run in a fresh process (its own fork server) and in a cpuacct cgroup of its own:

* ``now``: the code as it is (judge and ``generate_feedback`` as forks of the fork server, which preloads
  :mod:`autograder.grading.fork_preload`);
* ``before``: the previous start-up, emulated in the same code: the fork server preloads nbgrader only, the judge is
  a ``python -I -m autograder.trusted.recheck`` subprocess, ``generate_feedback`` a ``python -m nbgrader`` one.

Per student: ``nbgrader autograde`` (of which the notebook's cells in the sandboxed kernel, from the autograded
notebook's execution metadata; the rest is the fork, nbgrader's app, the kernel's start in its sandbox, saving), the
judge (of which the rebuild: starting its sandbox and running the cells there, and the checks themselves: the floor),
and per run the feedback pages, the whole command's wall and CPU seconds. The load average is printed with each run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_grading import chapter_course, cpu_seconds_of  # noqa: E402


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def kernel_cells(notebook: Path) -> float:
    """Seconds the kernel spent in the notebook's cells (nbclient's execution metadata)."""
    nb = json.loads(notebook.read_text())
    out = 0.0
    for cell in nb["cells"]:
        ex = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            out += _seconds(ex["shell.execute_reply"]) - _seconds(ex["iopub.execute_input"])
    return out


def child(chapter: str, course: Path, mode: str, out: Path, timeout: int):
    """One graded run in this process (``mode``: now or before); phase times into ``out`` (JSON)."""
    from autograder.grading import cli, feedback, nbgrader_fork, processes, student

    phases: dict[str, list] = {"autograde": [], "judge": [], "rebuild": [], "checks": [], "feedback": []}
    if mode == "before":
        nbgrader_fork.PRELOAD[:] = [m for m in nbgrader_fork.PRELOAD if m != "autograder.grading.fork_preload"]
        student.run_forked = lambda module, args, cwd, env, t, mem_mb=None, cpu_s=None: processes.run(
            [sys.executable, "-I", "-m", module, *args], cwd, env, t, mem_mb, cpu_s)
        feedback.run_nbgrader = lambda args, cwd, env, t, mem_mb=None, cpu_s=None: processes.run(
            [sys.executable, "-m", "nbgrader", *args], cwd, env, t, mem_mb, cpu_s)

    def timed(module, name, key):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            t0 = time.monotonic()
            value = real(*args, **kwargs)
            phases[key].append(time.monotonic() - t0)
            if key == "judge" and isinstance(value, dict) and "timing" in value:
                phases["rebuild"].append(value["timing"]["rebuild"])
                phases["checks"].append(value["timing"]["checks"])
            return value
        setattr(module, name, wrapper)

    timed(student, "run_nbgrader", "autograde")
    timed(student, "judge", "judge")
    timed(cli, "feedback", "feedback")
    t0 = time.monotonic()
    cli.main([chapter, "--course-dir", str(course), "--workers", "1", "--timeout", str(timeout)])
    phases["wall"] = [time.monotonic() - t0]
    phases["cells"] = [kernel_cells(p) for p in sorted((course / "autograded").glob(f"*/{chapter}/*.ipynb"))]
    out.write_text(json.dumps(phases))


def one_run(chapter: str, n: int, mode: str, tmp: Path, timeout: int) -> dict:
    course = chapter_course(tmp, chapter, n, stock=False)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", chapter, "--force", "--log-level=ERROR"],
                   cwd=course, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = tmp / f"phases-{mode}.json"
    load = os.getloadavg()[0]
    cpu = cpu_seconds_of(lambda join: subprocess.run(
        [sys.executable, __file__, chapter, "--child", mode, "--course", str(course), "--out", str(out), "--timeout",
         str(timeout)], cwd=course, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=join), "profile-grading")
    phases = json.loads(out.read_text())
    phases["cpu"] = [cpu] if cpu is not None else []
    phases["load"] = [load, os.getloadavg()[0]]
    return phases


ROWS = [("autograde", "nbgrader autograde, per student (fork, app, kernel start in its sandbox, cells, save)"),
        ("cells", "  of which the notebook's cells in the kernel"),
        ("judge", "the judge, per student (start, reading the notebooks, rebuild, checks)"),
        ("rebuild", "  of which its sandbox's start and the cells run in it"),
        ("checks", "  of which the checks themselves (the floor)"),
        ("feedback", "generate_feedback and the pages, per run")]


def report(chapter: str, n: int, runs: dict[str, list[dict]]) -> str:
    def mean(mode, key):
        values = [v for r in runs[mode] for v in r.get(key, [])]
        return statistics.mean(values) if values else float("nan")

    lines = [f"| {chapter}, {n} students, 1 worker | before (previous start-up) | now |", "|---|---|---|"]
    for key, label in ROWS:
        lines.append(f"| {label} | {mean('before', key):.2f} s | {mean('now', key):.2f} s |")
    for key, label in (("wall", "whole command, per student (wall)"), ("cpu", "whole command, per student (CPU)")):
        lines.append(f"| {label} | {mean('before', key) / n:.2f} s | {mean('now', key) / n:.2f} s |")
    loads = {m: [round(x, 2) for r in runs[m] for x in r["load"]] for m in runs}
    lines.append(f"| load average (1 min) at start/end of each run | {loads['before']} | {loads['now']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter")
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--child", choices=["now", "before"], help=argparse.SUPPRESS)
    parser.add_argument("--course", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.chapter, args.course, args.child, args.out, args.timeout)
        return 0
    runs: dict[str, list[dict]] = {"before": [], "now": []}
    with tempfile.TemporaryDirectory(prefix="profile-grading-") as tmp:
        for _ in range(args.rounds):
            for mode in ("before", "now"):
                runs[mode].append(one_run(args.chapter, args.n, mode, Path(tmp), args.timeout))
                r = runs[mode][-1]
                print(f"[profile] {mode}: {r['wall'][0]:.1f} s wall, {r['cpu'][0] if r['cpu'] else float('nan'):.1f}"
                      f" s CPU, load {r['load']}", flush=True)
    print(report(args.chapter, args.n, runs))
    print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
