"""Grading one student for ``course-grade`` (see :mod:`autograder.grade` for the whole run).

1. **Check the files**: a notebook that is not valid JSON or not a notebook is not run (zero, listed for
   review, a plain feedback page says why); nbformat 3 is upgraded (original kept under ``grading/originals``).
2. **Forget the previous run** (gradebook rows, autograded and feedback folders).
3. ``nbgrader autograde`` for the feedback page only (a fork of a process that has imported nbgrader,
   :mod:`autograder.nbgrader_fork`): the kernel runs sandboxed (:mod:`autograder.kernel`) with the hidden tests
   stripped, and the run stops at the first cell that times out; a kernel that fails to start is a grader fault
   (retried, then "grading error"), never the student's.
4. **The score**: the trusted judge's verdict for every test cell (:func:`autograder.verify.check_notebook`,
   the function course-selfcheck runs too), from a separate ``python -I`` process with memory and time limits
   whose stdout only we hold. It is written into the gradebook (so ``nbgrader export`` agrees with the CSV)
   and as a short output into each test cell of the autograded notebook (so feedback shows what scored it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder import gradebook as gbk

_PROCS: set[int] = set()  # pids of the commands running now (a pid, not its object: that may be closed meanwhile)
_PROCS_LOCK = threading.Lock()
STOP = threading.Event()  # set on Ctrl-C: workers start nothing new
# nbgrader log lines that mean the grader failed (a kernel never started), not the student's code
GRADER_FAULTS = ("Kernel didn't respond", "Kernel died before replying to kernel_info", "ZMQError",
                 "Address already in use", "database is locked", "Failed to start the kernel",
                 "Setup of bubblewrap", "bwrap:")
VERDICT_PREFIX = "graded by the course's checker: "


def limits(mem_mb: int | None, cpu_s: int | None):
    """preexec_fn: rlimits inherited by every child (the kernel, the sandbox, the judge)."""

    def apply():
        import resource

        if mem_mb:
            resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
        if cpu_s:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 10))

    return apply


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live process below it, read from /proc (parents before children)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop(0))
        todo += children.get(out[-1], [])
    return out


def kill_tree(pid: int):
    """SIGKILL ``pid``'s process group and every process below it, stopped first so none forks away meanwhile.

    A kernel that nbgrader starts runs in a session of its own (outside the group), and bubblewrap's
    --die-with-parent does not hold when bwrap runs as root (the parent-death signal is cleared when it changes
    credentials), so killing the group alone can leave a sandbox running."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for p in process_tree(pid):
            try:
                os.kill(p, sig)
            except (ProcessLookupError, PermissionError):
                pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all():
    """Kill every command still running and everything below it (Ctrl-C); bwrap takes its sandbox with it."""
    with _PROCS_LOCK:
        pids = list(_PROCS)
    for pid in pids:
        kill_tree(pid)


def _supervise(proc, wait, timeout: float) -> int:
    """Register a started command (Ctrl-C kills it), wait up to ``timeout`` s (``wait(seconds or None)``: its exit
    code, None while it runs), kill its whole tree on timeout (-9999), and what is left of its session always."""
    pid = proc.pid
    with _PROCS_LOCK:
        _PROCS.add(pid)
    try:
        code = wait(max(timeout, 1))
        if code is None:
            kill_tree(pid)
            wait(None)
            code = -9999
        return code
    finally:
        try:  # leftovers of this command
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        with _PROCS_LOCK:
            _PROCS.discard(pid)


def run(cmd: list[str], cwd: Path, env: dict, timeout: float, mem_mb=None, cpu_s=None) -> tuple[int, str]:
    """Run ``cmd`` in its own session with limits; kill the whole group on timeout. (returncode, output)."""
    if STOP.is_set():
        return -9998, "stopped (Ctrl-C)"

    def wait(seconds):
        try:
            return proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=limits(mem_mb, cpu_s), close_fds=True)
        code = _supervise(proc, wait, timeout)
        log.seek(0)
        return code, log.read()


def run_nbgrader(args: list[str], cwd: Path, env: dict, timeout: float, mem_mb=None, cpu_s=None) -> tuple[int, str]:
    """``run([python, -m, nbgrader, *args], ...)``, started as a fork of a process that has imported nbgrader
    (:mod:`autograder.nbgrader_fork`: ~3 s sooner per command); a plain subprocess if no fork can be had."""
    from autograder import nbgrader_fork

    if STOP.is_set():
        return -9998, "stopped (Ctrl-C)"

    def wait(seconds):
        proc.join(seconds)
        return proc.exitcode

    with tempfile.NamedTemporaryFile("w+", encoding="utf-8", errors="replace", prefix="nbgrader-") as log:
        try:
            proc = nbgrader_fork.start(args, cwd, env, log.name, mem_mb, cpu_s)
        except (OSError, EOFError, RuntimeError):
            return run([sys.executable, "-m", "nbgrader", *args], cwd, env, timeout, mem_mb, cpu_s)
        code = _supervise(proc, wait, timeout)
        proc.close()
        log.seek(0)
        return code, log.read()


def check_notebook_file(path: Path, backup_dir: Path) -> tuple[bool, list[str]]:
    """(usable, notes). Upgrades nbformat 3 in place (original kept in backup_dir)."""
    import nbformat

    if not path.exists():
        return False, [f"{path.name} is missing"]
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return False, [f"{path.name} is not valid JSON ({str(exc)[:80]})"]
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        return False, [f"{path.name} is not a Jupyter notebook (no nbformat version)"]
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        return False, [f"{path.name} is not a valid notebook (nbformat {data.get('nbformat')}: "
                       f"{type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''})"]
    if data["nbformat"] != 4:
        backup_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, backup_dir / path.name)
        nbformat.write(nb, str(path))
        return True, [f"{path.name} was nbformat {data['nbformat']}: upgraded to 4 (original in {backup_dir})"]
    return True, []


def write_simple_feedback(course: Path, assignment: str, student: str, notebook: str, reasons: list[str],
                          score: str = "0"):
    out = course / "feedback" / student / assignment
    out.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
    from autograder.nbgrader_ext import add_csp

    (out / f"{notebook}.html").write_text(add_csp(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(assignment)}</title></head><body>"
        f"<h1>{html.escape(assignment)}: not graded automatically</h1><p>Score: {html.escape(score)}. Your "
        f"submission could not be run:</p><ul>{items}</ul><p>Your instructor has been told and will look at it."
        "</p></body></html>\n"), encoding="utf-8")


def annotate(path: Path, verdicts: dict):
    """Append the judge's verdict as a short output to each test cell of the autograded notebook."""
    import nbformat
    from nbformat.v4 import new_output

    if not path.exists():
        return
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or gid not in verdicts:
            continue
        v = verdicts[gid]
        text = "passed" if v["ok"] else f"failed: {v['message']}"
        cell.outputs = [o for o in cell.outputs if VERDICT_PREFIX not in str(o.get("text", ""))]
        cell.outputs.append(new_output("stream", name="stdout", text=f"{VERDICT_PREFIX}{text[:2000]}\n"))
    os.chmod(path, 0o644)
    nbformat.write(nb, str(path))


def judge(course: Path, assignment: str, student: str, nb_name: str, opts, env: dict, budget: float) -> dict:
    """The trusted verdict for one notebook, from ``python -I -m autograder.verify`` (retried once if the judge
    itself fails). ``{"error": ...}`` when it could not run."""
    source = course / "source" / assignment / f"{nb_name}.ipynb"
    submitted = course / "submitted" / student / assignment / f"{nb_name}.ipynb"
    cmd = [sys.executable, "-I", "-m", "autograder.verify", "verify", str(source), str(submitted),
           f"--timeout={opts.timeout}", f"--mem-mb={opts.mem_mb or 0}", f"--isolation={opts.isolation}"]
    if opts.cpu_s:
        cmd.append(f"--cpu-s={opts.cpu_s}")
    last = ""
    for _ in range(2):
        code, out = run(cmd, course, env, budget, mem_mb=opts.judge_mem_mb)
        try:
            result = json.loads(out.strip().splitlines()[-1])
            if isinstance(result, dict) and isinstance(result.get("tests"), dict):
                return result
        except (ValueError, IndexError):
            pass
        last = f"exit {code}: {out.strip()[-200:]}"
        if code == -9999 or STOP.is_set():
            break
    return {"error": last}


def result(student, scores, maxes, status, review, notes, t0, isolation="bwrap") -> dict:
    total = sum(scores.values())
    max_total = sum(v for cells in maxes.values() for v in cells.values())
    return {"student": student, "scores": scores, "total": total, "max": max_total, "status": status,
            "review": list(dict.fromkeys(review)), "notes": list(dict.fromkeys(notes)),
            "seconds": round(time.monotonic() - t0, 1), "isolation": isolation}


def _autograde(course: Path, assignment: str, student: str, opts, env: dict, budget: float) -> tuple[int, str, bool]:
    """nbgrader autograde (for the feedback page); (exit code, log, grader_fault) after retries."""
    args = ["autograde", assignment, f"--student={student}", "--force", f"--Execute.timeout={opts.timeout}",
            f"--CourseDirectory.root={course}", "--log-level=INFO"]
    code, log, fault = 0, "", False
    for attempt in range(3):
        code, log = run_nbgrader(args, course, env, budget, opts.mem_mb, opts.cpu_s)
        fault = code != -9999 and any(p in log for p in GRADER_FAULTS)
        if not fault or STOP.is_set():
            break
        time.sleep(1 + attempt)
    return code, log, fault


def grade_student(course: Path, assignment: str, student: str, opts) -> dict:
    """Grade one student end to end; never raises (errors become a zero with a review reason)."""
    from autograder.build import tool_env

    t0 = time.monotonic()
    deadline = t0 + opts.student_timeout
    review: list[str] = []
    notes: list[str] = []
    maxes = gbk.max_scores(course, assignment)
    scores = {f"{nb}:{cell}": 0.0 for nb, cells in maxes.items() for cell in cells}
    status = "graded"
    env = tool_env()
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
               COURSE_ISOLATION=opts.isolation)
    iso = opts.isolation
    try:
        gbk.forget(course, assignment, student)
        for sub in ("autograded", "feedback"):
            shutil.rmtree(course / sub / student / assignment, ignore_errors=True)
        sub_dir = course / "submitted" / student / assignment
        usable = True
        for nb_name in maxes:
            ok, msgs = check_notebook_file(sub_dir / f"{nb_name}.ipynb",
                                           course / "grading" / "originals" / student / assignment)
            notes += [m for m in msgs if ok]
            if not ok:
                usable = False
                review += msgs
        if not usable:
            for nb_name in maxes:
                write_simple_feedback(course, assignment, student, nb_name, review)
            return result(student, scores, maxes, "invalid", review, notes, t0, iso)

        code, log, fault = _autograde(course, assignment, student, opts, env, 0.6 * (deadline - time.monotonic()))
        log_dir = course / "grading" / "logs" / assignment
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{student}.log").write_text(log, encoding="utf-8")
        if fault:
            status = "grading error"
            review.append("grading error (not the student's fault): the notebook kernel could not be started "
                          "after 3 tries; re-run course-grade for this student")
            return result(student, scores, maxes, status, review, notes, t0, iso)
        for m in re.finditer(r"Attribute 'checksum' for cell (\S+) has changed", log):
            review.append(f"locked cell {m.group(1)} was edited (nbgrader restored it)")
        for m in re.finditer(r"Missing grade cell (\S+) encountered", log):
            notes.append(f"test cell {m.group(1)} was deleted (re-added and graded)")
        if "Timeout waiting for execute reply" in log:
            notes.append("a cell of the feedback run timed out: the later cells were not run for the feedback page")
        if code == -9999:
            review.append("the notebook run for the feedback page timed out as a whole (the score comes from "
                          "the checker)")
        elif code != 0:
            last = [ln for ln in log.splitlines() if "ERROR" in ln or "Error" in ln][-1:] or ["?"]
            review.append(f"nbgrader autograde failed (exit {code}): {last[0][:200]}")
        if "DeadKernelError" in log or "kernel died" in log.lower():
            review.append("the kernel died during the notebook run")

        verdicts_all = {}
        for nb_name in maxes:
            verdict = judge(course, assignment, student, nb_name, opts, env, max(deadline - time.monotonic(), 30))
            if "error" in verdict:
                status = "grading error"
                review.append(f"grading error (not the student's fault): the checker could not run: "
                              f"{verdict['error']}")
                return result(student, {k: 0.0 for k in scores}, maxes, status, review, notes, t0, iso)
            for cell, v in verdict["tests"].items():
                key = f"{nb_name}:{cell}"
                if key in scores:
                    scores[key] = maxes[nb_name][cell] if v["ok"] else 0.0
            notes += verdict.get("notes", [])
            verdicts_all[nb_name] = verdict["tests"]
            annotate(course / "autograded" / student / assignment / f"{nb_name}.ipynb", verdict["tests"])
        if not gbk.set_scores(course, assignment, student, scores):
            review.append("nbgrader recorded no submission: the CSV has the checker's scores, the gradebook none")
    except Exception as exc:  # the grader itself must survive any submission
        status = "grading error"
        review.append(f"grading error (not the student's fault): {type(exc).__name__}: {exc}")
        scores = {k: 0.0 for k in scores}
    return result(student, scores, maxes, status, review, notes, t0, iso)
