"""Grading one student for ``course-grade`` (see :mod:`autograder.grading.cli` for the whole run).

1. **Check the files**: a notebook that is not valid JSON or not a notebook is not run (zero, listed for
   review, a plain feedback page says why); nbformat 3 is upgraded (original kept under ``grading/originals``).
2. **Forget the previous run** (gradebook rows, autograded and feedback folders).
3. ``nbgrader autograde`` for the feedback page only (a fork of a process that has imported nbgrader,
   :mod:`autograder.grading.nbgrader_fork`): the kernel runs sandboxed (:mod:`autograder.grading.kernel`) with the
   hidden tests
   stripped, and the run stops at the first cell that times out; a kernel that fails to start is a grader fault
   (retried, then "grading error"), never the student's.
4. **The score**: the trusted judge's verdict for every test cell (:func:`autograder.trusted.recheck.check_notebook`,
   the function course-selfcheck runs too), from a separate ``python -I`` process with memory and time limits
   whose stdout only we hold. It is written into the gradebook (so ``nbgrader export`` agrees with the CSV)
   and as a short output into each test cell of the autograded notebook (so feedback shows what scored it).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from autograder.grading import gradebook as gbk
from autograder.grading.feedback import annotate, write_simple_feedback
from autograder.grading.nbgrader_log import ENV_NONCE, grader_fault, new_nonce
from autograder.grading.page_reasons import keyed_reason
from autograder.grading.processes import STOP, run_forked, run_nbgrader
from autograder.grading.review import attempt_reasons
from autograder.grading.student_ids import refused_files
from autograder.grading.submission_language import submitted_language
from autograder.grading.triage import check_notebook_file
from autograder.paths import tool_env
from course.i18n import using

# nbgrader log lines that mean the grader failed (a kernel never started), not the student's code
GRADER_FAULTS = ("Kernel didn't respond", "Kernel died before replying to kernel_info", "ZMQError",
                 "Address already in use", "database is locked", "Failed to start the kernel",
                 "Setup of bubblewrap", "bwrap:")


def judge(course: Path, assignment: str, student: str, nb_name: str, opts, env: dict, budget: float) -> dict:
    """The trusted verdict for one notebook, from ``python -m autograder.trusted.recheck`` as a fork of the grader's
    fork server (:func:`processes.run_forked`; retried once if the judge itself fails). ``{"error": ...}`` when it
    could not run."""
    source = course / "source" / assignment / f"{nb_name}.ipynb"
    submitted = course / "submitted" / student / assignment / f"{nb_name}.ipynb"
    cmd = ["verify", str(source), str(submitted),
           f"--timeout={opts.timeout}", f"--mem-mb={opts.mem_mb or 0}", f"--isolation={opts.isolation}"]
    if opts.cpu_s:
        cmd.append(f"--cpu-s={opts.cpu_s}")
    last = ""
    for _ in range(2):
        code, out = run_forked("autograder.trusted.recheck", cmd, course, env, budget, mem_mb=opts.judge_mem_mb)
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


def result(student, scores, maxes, status, review, notes, t0, isolation="bwrap", page_reasons=()) -> dict:
    total = sum(scores.values())
    max_total = sum(v for cells in maxes.values() for v in cells.values())
    return {"student": student, "scores": scores, "total": total, "max": max_total, "status": status,
            "review": list(dict.fromkeys(review)), "notes": list(dict.fromkeys(notes)),
            "page_reasons": list(page_reasons),  # the plain page's reasons, keyed: autograder.grading.page_reasons
            "seconds": round(time.monotonic() - t0, 1), "isolation": isolation}


def _autograde(course: Path, assignment: str, student: str, opts, env: dict, budget: float) -> tuple[int, str, bool]:
    """nbgrader autograde (for the feedback page); (exit code, log, grader_fault) after retries."""
    args = ["autograde", assignment, f"--student={student}", "--force", f"--Execute.timeout={opts.timeout}",
            f"--CourseDirectory.root={course}", "--log-level=INFO"]
    code, log, fault = 0, "", False
    for attempt in range(3):
        code, log = run_nbgrader(args, course, env, budget, opts.mem_mb, opts.cpu_s)
        fault = code != -9999 and grader_fault(log, env.get(ENV_NONCE, ""), GRADER_FAULTS)  # never student text
        if not fault or STOP.is_set():
            break
        time.sleep(1 + attempt)
    return code, log, fault


def grade_student(course: Path, assignment: str, student: str, opts) -> dict:
    """Grade one student end to end; never raises (errors become a zero with a review reason)."""
    t0 = time.monotonic()
    deadline = t0 + opts.student_timeout
    review: list[str] = []
    page: list = []  # [key, values] of the review reasons a plain feedback page words in the learner's language
    notes: list[str] = []
    maxes = gbk.max_scores(course, assignment)
    scores = {f"{nb}:{cell}": 0.0 for nb, cells in maxes.items() for cell in cells}
    status = "graded"
    env = tool_env()
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
               COURSE_ISOLATION=opts.isolation, **{ENV_NONCE: new_nonce()})
    iso = opts.isolation
    try:
        gbk.forget(course, assignment, student)
        for sub in ("autograded", "feedback"):
            shutil.rmtree(course / sub / student / assignment, ignore_errors=True)
        sub_dir = course / "submitted" / student / assignment
        usable = True
        refused = refused_files(sub_dir, course / "submitted")  # links, FIFOs, devices: never read, never run
        if refused:
            for nb_name in maxes:
                write_simple_feedback(course, assignment, student, nb_name, refused)
            return result(student, scores, maxes, "invalid", review + refused, notes, t0, iso)
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
        # messages of the kernel and the judge in the submission's language (the feedback page's: feedback())
        lang = submitted_language(sub_dir / f"{next(iter(maxes))}.ipynb") if maxes else "en"
        env["COURSE_LANG"] = lang

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
            review.append(keyed_reason(page, "locked_edited", cell=m.group(1)))
        for m in re.finditer(r"Missing grade cell (\S+) encountered", log):
            notes.append(f"test cell {m.group(1)} was deleted (re-added and graded)")
        if "Timeout waiting for execute reply" in log:
            notes.append("a cell of the feedback run timed out: the later cells were not run for the feedback page")
        if code == -9999:
            review.append(keyed_reason(page, "run_timed_out"))
        elif code != 0:
            last = [ln for ln in log.splitlines() if "ERROR" in ln or "Error" in ln][-1:] or ["?"]
            review.append(keyed_reason(page, "autograde_failed", code=code, line=last[0][:200]))
        if "DeadKernelError" in log or "kernel died" in log.lower():
            review.append(keyed_reason(page, "kernel_died"))

        verdicts_all = {}
        for nb_name in maxes:
            verdict = judge(course, assignment, student, nb_name, opts, env, max(deadline - time.monotonic(), 30))
            if "error" in verdict:
                status = "grading error"
                review.append(f"grading error (not the student's fault): the checker could not run: "
                              f"{verdict['error']}")
                return result(student, {k: 0.0 for k in scores}, maxes, status, review, notes, t0, iso, page)
            for cell, v in verdict["tests"].items():
                key = f"{nb_name}:{cell}"
                if key in scores:
                    scores[key] = maxes[nb_name][cell] if v["ok"] else 0.0
            notes += verdict.get("notes_en") or verdict.get("notes", [])  # English for the CSV; pages: the language
            review += attempt_reasons(verdict)  # what the submission tried, recorded by the trusted judge
            verdicts_all[nb_name] = verdict["tests"]
            with using(lang):
                annotate(course / "autograded" / student / assignment / f"{nb_name}.ipynb", verdict["tests"])
        if not gbk.set_scores(course, assignment, student, scores):
            review.append("nbgrader recorded no submission: the CSV has the checker's scores, the gradebook none")
    except Exception as exc:  # the grader itself must survive any submission
        status = "grading error"
        review.append(f"grading error (not the student's fault): {type(exc).__name__}: {exc}")
        scores = {k: 0.0 for k in scores}
    return result(student, scores, maxes, status, review, notes, t0, iso, page)
