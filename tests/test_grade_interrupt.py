"""Ctrl-C during ``course-grade``: the workers stop within seconds, every sandbox is killed, the previous CSV is left
exactly as it was, and a re-run grades everyone cleanly (issue 18, item 7).

The interrupt is delivered the way a terminal delivers it: SIGINT to the foreground process group of the command
(here its own session), while sandboxed kernels are running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.grading.processes import process_tree
from autograder.paths import ROOT
from autograder.trusted.isolation import bwrap_path
from tests.conftest import isolated_env
from tests.test_grading import CHAPTER, CORPUS, GRADE_ARGS, course_grade, read_csv, submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not bwrap_path(), reason="bubblewrap is not installed (.ci/system-deps)")]

# slow enough that grading is still under way when the interrupt comes; the loop never ends on its own
CASES = ["infinite_loop", "correct", "wrong_predict", "skeleton"]
PREVIOUS_CSV = "student,total\nsomeone,5\n"


def _stat(pid: str) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), fields[0], int(fields[19])


def descendants(root: int) -> dict[tuple[int, int], str]:
    """{(pid, start time): command line} of every live process below ``root`` (the tree course-grade kills)."""
    out = {}
    for pid in process_tree(root)[1:]:
        stat = _stat(str(pid))
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if stat and stat[1] != "Z":
            out[(pid, stat[2])] = cmd[:160]
    return out


def alive(procs: dict[tuple[int, int], str]) -> list[str]:
    """Those of ``procs`` still running (same pid and start time, not a zombie)."""
    return [f"{pid}: {cmd}" for (pid, start), cmd in procs.items()
            if (stat := _stat(str(pid))) and stat[2] == start and stat[1] != "Z"]


def wait_for(predicate, seconds: float, step: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def test_ctrl_c_stops_within_seconds_kills_sandboxes_keeps_previous_csv_and_rerun_is_clean(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
    subprocess.run(["cp", "-r", str(ROOT / "source"), str(course)], check=True)
    for case in CASES:
        submit(course, case, CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb")
    csv_path = course / "grading" / f"{CHAPTER}-grades.csv"
    csv_path.parent.mkdir()
    csv_path.write_text(PREVIOUS_CSV)

    cmd = [sys.executable, "-m", "autograder.grading.cli", CHAPTER, "--course-dir", str(course), *GRADE_ARGS]
    # SIGINT back to its default in the child: a process started with SIGINT ignored (pytest-xdist's workers are)
    # passes that on, and Python then installs no KeyboardInterrupt handler. A terminal's shell does not ignore it.
    proc = subprocess.Popen(cmd, cwd=course, env=isolated_env(course), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen: dict[tuple[int, int], str] = {}

    def sandboxes_running():
        seen.update(descendants(proc.pid))
        return [cmd for key, cmd in seen.items() if "bwrap" in cmd and alive({key: cmd})]

    try:
        assert wait_for(sandboxes_running, 300), "no sandbox started within 300 s"
        time.sleep(1.0)  # let the kernels get into the students' code
        seen.update(descendants(proc.pid))
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        while proc.poll() is None and time.monotonic() - sent < 60:  # 60 s: a hang guard only
            seen.update(descendants(proc.pid))
            time.sleep(0.05)
        stop_seconds = time.monotonic() - sent
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    print(f"[ctrl-c] course-grade exited {stop_seconds:.1f} s after SIGINT, {len(seen)} processes had run below it "
          f"(load {os.getloadavg()[0]:.1f})")
    assert proc.returncode == 130, f"exit code {proc.returncode}\n{out[-2000:]}\n{err[-2000:]}"
    assert "stopped (Ctrl-C)" in err and "Traceback" not in err, err[-3000:]
    left = wait_for(lambda: not alive(seen), 10) or alive(seen)
    assert left is True, f"processes outlived the interrupt: {left}"
    assert csv_path.read_text() == PREVIOUS_CSV, "the previous CSV was changed by an interrupted run"
    assert not list(csv_path.parent.glob(f".{csv_path.name}.*")), "a temporary CSV was left in grading/"

    # the re-run: 'correct' and 'infinite_loop' were being graded when the interrupt came (two workers, students in
    # name order); the endless one is withdrawn first, since its timeouts would only cost a minute
    shutil.rmtree(course / "submitted" / "infinite_loop")
    rerun = course_grade(course)
    rows = read_csv(course)
    assert sorted(rows) == sorted(set(CASES) - {"infinite_loop"}), rerun.stdout[-2000:]
    assert rows["correct"]["total"] == "5" and rows["skeleton"]["total"] == "0"
    assert all(row["status"] == "graded" for row in rows.values()), {c: row["status"] for c, row in rows.items()}
