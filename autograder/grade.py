"""``course-grade``: grade one assignment for every student, in parallel, with nbgrader doing the grading.

A thin layer over nbgrader (run from the course directory, next to ``nbgrader_config.py``)::

    course-grade 01_perceptron --workers 2 --timeout 30 --mem-mb 2048 --csv grades.csv

For each student (N at a time), in its own subprocesses:

1. **Check the files**: a notebook that is not valid JSON or not a readable notebook is not run; the student
   gets zero and is listed for review (with a feedback page that says why). An nbformat 3 notebook is upgraded
   (the original is kept under ``grading/originals/``).
2. **Forget the previous run**: the student's submission is removed from the gradebook and their autograded and
   feedback folders are deleted, so a re-run never keeps grades from an earlier run with other options.
3. ``nbgrader autograde ASSIGNMENT --student=ID --force`` with a per-cell timeout and memory/CPU rlimits that
   the kernel inherits; a wall-clock limit for the whole student kills the process group.
4. **Never pass a dead kernel**: a test cell that the kernel never executed (it died or the run stopped) gets
   zero, as does every cell when nbgrader failed.
5. **Out-of-kernel re-check** (``autograder.verify``): every check runs again on the submission's solution
   cells in a sandbox, judged by a process that never runs student code. A test cell nbgrader scored but the
   re-check fails gets zero (the kernel was tampered with, or the answer depends on code outside the solution
   cells); the reverse is kept at zero and flagged.
6. ``nbgrader generate_feedback``, once for all students at the end (hidden tests are removed from feedback by
   the course config); a plain page for anyone it could not produce one for.

Grades go to the gradebook and to a CSV written atomically (temp file + ``os.replace``). The run ends with a
summary of who needs manual review and why. Exit code 0 when every student was graded (even with zero).
"""

from __future__ import annotations

import argparse
import csv
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
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder.build import tool_env

_DB_LOCK = threading.Lock()


def limits(mem_mb: int | None, cpu_s: int | None):
    """preexec_fn: new session (so the whole tree can be killed) and rlimits inherited by the kernel."""

    def apply():
        import resource

        if mem_mb:
            resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
        if cpu_s:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 10))

    return apply


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float, mem_mb=None, cpu_s=None) -> tuple[int, str]:
    """Run ``cmd`` in its own session with limits; kill the whole group on timeout. (returncode, output)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=limits(mem_mb, cpu_s))
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            code = -9999
        finally:
            try:  # leftover kernels of this student
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        log.seek(0)
        return code, log.read()


def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def _with_db(fn, tries: int = 20):
    """Run a gradebook operation under the process lock, retrying while another nbgrader holds sqlite."""
    for i in range(tries):
        try:
            with _DB_LOCK:
                return fn()
        except Exception as exc:
            if "locked" not in str(exc) or i == tries - 1:
                raise
            time.sleep(0.5)


def source_notebooks(course: Path, assignment: str) -> list[Path]:
    return sorted((course / "source" / assignment).glob("*.ipynb"))


def _check_notebook(path: Path, backup_dir: Path) -> tuple[bool, list[str]]:
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


def _forget(course: Path, assignment: str, student: str):
    """Remove every trace of a previous grading run for this student (gradebook rows, outputs)."""
    from nbgrader.api import MissingEntry

    def remove():
        with _gradebook(course) as gb:
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass
    _with_db(remove)
    for sub in ("autograded", "feedback"):
        shutil.rmtree(course / sub / student / assignment, ignore_errors=True)


def _scores(course: Path, assignment: str, student: str) -> dict:
    """{cell_id: (score, max_score)} from the gradebook, or {} if the submission is not there."""
    from nbgrader.api import MissingEntry

    def read():
        with _gradebook(course) as gb:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                return {}
            return {g.name: (float(g.score), float(g.max_score)) for nb in sub.notebooks for g in nb.grades
                    if g.cell_type == "code" and g.max_score}
    return _with_db(read)


def _set_zero(course: Path, assignment: str, student: str, notebook: str, cell: str):
    def write():
        with _gradebook(course) as gb:
            grade = gb.find_grade(cell, notebook, assignment, student)
            grade.auto_score = 0.0
            grade.manual_score = None
            gb.db.commit()
    _with_db(write)


def _max_scores(course: Path, assignment: str) -> dict:
    """{notebook: {cell_id: max_score}} of the assignment's graded code cells, from the source notebooks."""
    import nbformat

    out = {}
    for path in source_notebooks(course, assignment):
        nb = nbformat.read(str(path), as_version=4)
        out[path.stem] = {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"].get("points", 0))
                          for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}
    return out


def _unexecuted_grade_cells(path: Path) -> list[str]:
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return ["<autograded notebook unreadable>"]
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade") and c.execution_count is None]


def _write_simple_feedback(course: Path, assignment: str, student: str, notebook: str, reasons: list[str]):
    out = course / "feedback" / student / assignment
    out.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
    (out / f"{notebook}.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(assignment)}</title></head><body>"
        f"<h1>{html.escape(assignment)}: not graded automatically</h1><p>Score: 0. Your submission could not be "
        f"run:</p><ul>{items}</ul><p>Your instructor has been told and will look at it.</p></body></html>\n",
        encoding="utf-8")


def grade_student(course: Path, assignment: str, student: str, opts) -> dict:
    """Grade one student end to end; never raises (errors become a zero with a review reason)."""
    t0 = time.monotonic()
    review: list[str] = []
    notes: list[str] = []
    maxes = _max_scores(course, assignment)
    scores = {f"{nb}:{cell}": 0.0 for nb, cells in maxes.items() for cell in cells}
    status = "graded"
    env = tool_env()
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    try:
        _forget(course, assignment, student)
        sub_dir = course / "submitted" / student / assignment
        usable = True
        for nb_name in maxes:
            ok, msgs = _check_notebook(sub_dir / f"{nb_name}.ipynb",
                                       course / "grading" / "originals" / student / assignment)
            notes += [m for m in msgs if ok]
            if not ok:
                usable = False
                review += msgs
        if not usable:
            status = "invalid"
            for nb_name in maxes:
                _write_simple_feedback(course, assignment, student, nb_name, review)
            return _result(student, scores, maxes, status, review, notes, t0)

        n_cells = sum(len(c) for c in maxes.values()) + 20
        cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, f"--student={student}", "--force",
               f"--Execute.timeout={opts.timeout}", f"--CourseDirectory.root={course}", "--log-level=INFO"]
        for attempt in range(3):
            code, log = _run(cmd, course, env, opts.timeout * n_cells + 120, opts.mem_mb, opts.cpu_s)
            if not (code != 0 and "database is locked" in log):
                break
            time.sleep(1 + attempt)
        log_dir = course / "grading" / "logs" / assignment
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{student}.log").write_text(log, encoding="utf-8")
        for m in re.finditer(r"Attribute 'checksum' for cell (\S+) has changed", log):
            review.append(f"locked cell {m.group(1)} was edited (nbgrader restored it)")
        for m in re.finditer(r"Missing grade cell (\S+) encountered", log):
            notes.append(f"test cell {m.group(1)} was deleted (re-added and graded)")
        nb_scores = _scores(course, assignment, student)
        if code != 0 or not nb_scores:
            status = "error"
            last = [ln for ln in log.splitlines() if "ERROR" in ln or "Error" in ln][-1:] or ["no grades recorded"]
            why = "timed out as a whole" if code == -9999 else f"failed (exit {code})"
            review.append(f"nbgrader autograde {why}: {last[0][:200]}")
            nb_scores = {}
        dead = set()
        for nb_name in maxes:
            path = course / "autograded" / student / assignment / f"{nb_name}.ipynb"
            if path.exists():
                dead |= {f"{nb_name}:{c}" for c in _unexecuted_grade_cells(path)}
            if "DeadKernelError" in log or "Kernel died" in log or "kernel died" in log.lower():
                review.append("the kernel died during the run")
        for nb_name, cells in maxes.items():
            for cell in cells:
                key = f"{nb_name}:{cell}"
                score = nb_scores.get(cell, (0.0, 0.0))[0]
                if key in dead or any(d.startswith("<") for d in dead):
                    if score > 0:
                        _set_zero(course, assignment, student, nb_name, cell)
                    review.append(f"{cell}: never executed (the kernel died or the run stopped): zero")
                    score = 0.0
                scores[key] = score

        if opts.verify and status == "graded":
            for nb_name in maxes:
                verify = _verify(course, assignment, student, nb_name, opts, env)
                if "error" in verify:
                    review.append(f"out-of-kernel re-check could not run: {verify['error']}")
                    for cell in maxes[nb_name]:
                        key = f"{nb_name}:{cell}"
                        if scores[key] > 0:
                            _set_zero(course, assignment, student, nb_name, cell)
                            scores[key] = 0.0
                    continue
                for cell, v in verify["tests"].items():
                    key = f"{nb_name}:{cell}"
                    if key not in scores:
                        continue
                    if not v["ok"] and scores[key] > 0:
                        _set_zero(course, assignment, student, nb_name, cell)
                        scores[key] = 0.0
                        review.append(f"{cell}: passed in the kernel but failed the out-of-kernel check "
                                      f"(tampering, or code outside the solution cells): {v['message'][:160]}")
                    elif v["ok"] and scores[key] == 0 and key not in dead:
                        notes.append(f"{cell}: failed in the notebook but the out-of-kernel check passed "
                                      "(an error elsewhere in the notebook?)")
    except Exception as exc:  # the grader itself must survive any submission
        status = "error"
        review.append(f"grading crashed: {type(exc).__name__}: {exc}")
        scores = {k: 0.0 for k in scores}
    return _result(student, scores, maxes, status, review, notes, t0)


def feedback(course: Path, assignment: str, students: list[str], results: list[dict], notebooks: list[str],
             everyone: bool):
    """``nbgrader generate_feedback`` (one run for everyone, else per student); a plain page for each of
    ``notebooks`` where it fails."""
    env = tool_env()
    base = [sys.executable, "-m", "nbgrader", "generate_feedback", assignment, "--force",
            f"--CourseDirectory.root={course}"]
    print(f"[grade] feedback for {len(students)} students", flush=True)
    if everyone:
        _run(base, course, env, 60 + 10 * len(students))
    else:
        for student in students:
            _run(base + [f"--student={student}"], course, env, 300)
    for r in results:
        for nb_name in notebooks:
            page = course / "feedback" / r["student"] / assignment / f"{nb_name}.html"
            if not page.exists():
                _write_simple_feedback(course, assignment, r["student"], nb_name,
                                       r["review"] or ["the feedback page could not be generated"])
                if r["status"] == "graded":
                    r["review"].append("nbgrader generate_feedback failed: a plain feedback page was written")


def _verify(course: Path, assignment: str, student: str, nb_name: str, opts, env: dict) -> dict:
    source = course / "source" / assignment / f"{nb_name}.ipynb"
    submitted = course / "submitted" / student / assignment / f"{nb_name}.ipynb"
    n_checks = 10
    cmd = [sys.executable, "-m", "autograder.verify", "verify", str(source), str(submitted),
           f"--timeout={opts.timeout}", f"--mem-mb={opts.mem_mb or 0}"]
    if opts.cpu_s:
        cmd.append(f"--cpu-s={opts.cpu_s}")
    code, out = _run(cmd, course, env, opts.timeout * n_checks + 120)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"exit {code}: {out.strip()[-200:]}"}


def _result(student, scores, maxes, status, review, notes, t0) -> dict:
    total = sum(scores.values())
    max_total = sum(v for cells in maxes.values() for v in cells.values())
    return {"student": student, "scores": scores, "total": total, "max": max_total, "status": status,
            "review": list(dict.fromkeys(review)), "notes": list(dict.fromkeys(notes)),
            "seconds": round(time.monotonic() - t0, 1)}


def csv_rows(results: list[dict], columns: list[str]) -> list[dict]:
    return [{"student": r["student"], "total": f"{r['total']:g}", "max": f"{r['max']:g}", "status": r["status"],
             **{c: f"{r['scores'].get(c, 0):g}" for c in columns}, "needs_review": "yes" if r["review"] else "no",
             "reasons": " | ".join(r["review"]), "notes": " | ".join(r["notes"])} for r in results]


def write_csv_atomic(path: Path, rows: list[dict], columns: list[str]):
    """Write the grades CSV via a temporary file in the same folder and ``os.replace`` (never half-written).

    Rows of students not in ``rows`` that are already in the file are kept (a run for some students only)."""
    header = ["student", "total", "max", "status", *columns, "needs_review", "reasons", "notes"]
    merged = {}
    if path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames == header:
                merged = {row["student"]: row for row in reader}
    merged.update({row["student"]: row for row in rows})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=header)
            w.writeheader()
            for student in sorted(merged):
                w.writerow(merged[student])
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _ensure_assignment(course: Path, assignment: str, env: dict):
    """The gradebook must know the assignment's cells: run generate_assignment once if it does not."""
    from nbgrader.api import MissingEntry

    def known():
        with _gradebook(course) as gb:
            try:
                return bool(gb.find_assignment(assignment).notebooks)
            except MissingEntry:
                return False
    if (course / "gradebook.db").exists() and _with_db(known):
        return
    code, log = _run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                      f"--CourseDirectory.root={course}"], course, env, 600)
    if code != 0:
        raise SystemExit(f"nbgrader generate_assignment {assignment} failed:\n{log[-2000:]}")


def grade(assignment: str, course: Path, students: list[str] | None, opts) -> list[dict]:
    course = course.resolve()
    if not source_notebooks(course, assignment):
        raise SystemExit(f"no source notebooks in {course / 'source' / assignment}")
    _ensure_assignment(course, assignment, tool_env())
    all_students = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())
    students = students or all_students
    print(f"[grade] {assignment}: {len(students)} students, {opts.workers} workers, cell timeout {opts.timeout}s, "
          f"memory {opts.mem_mb or 'unlimited'} MB", flush=True)
    results = []
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=opts.workers) as pool:
        futures = {pool.submit(grade_student, course, assignment, s, opts): s for s in students}
        for i, fut in enumerate(as_completed(futures), 1):
            r = fut.result()
            results.append(r)
            flag = "  REVIEW" if r["review"] else ""
            print(f"[grade] {i}/{len(students)} {r['student']}: {r['total']:g}/{r['max']:g} {r['status']} "
                  f"({r['seconds']:.1f}s){flag}", flush=True)
    maxes = _max_scores(course, assignment)
    if opts.feedback:
        feedback(course, assignment, students, results, list(maxes), len(students) == len(all_students))
    elapsed = time.monotonic() - t0
    columns = [f"{nb}:{cell}" for nb, cells in maxes.items() for cell in cells]
    csv_path = Path(opts.csv) if opts.csv else course / "grading" / f"{assignment}-grades.csv"
    write_csv_atomic(csv_path, csv_rows(results, columns), columns)
    report = course / "grading" / f"{assignment}-report.json"
    report.write_text(json.dumps(sorted(results, key=lambda r: r["student"]), indent=1), encoding="utf-8")
    flagged = [r for r in sorted(results, key=lambda r: r["student"]) if r["review"]]
    print(f"[grade] done in {elapsed:.1f}s ({len(students) / max(elapsed, 1e-9) * 60:.1f} submissions/min); "
          f"grades: {csv_path}", flush=True)
    if flagged:
        print(f"[grade] {len(flagged)} submission(s) need manual review:")
        for r in flagged:
            print(f"  - {r['student']} ({r['total']:g}/{r['max']:g}, {r['status']}):")
            for reason in r["review"]:
                print(f"      {reason}")
    else:
        print("[grade] no submission needs manual review")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-grade", description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(), help="nbgrader course root (default: .)")
    parser.add_argument("--student", action="append", help="grade only these students (repeatable)")
    parser.add_argument("-j", "--workers", type=int, default=max(1, (os.cpu_count() or 2)))
    parser.add_argument("--timeout", type=int, default=60, help="seconds per cell (and per check)")
    parser.add_argument("--mem-mb", type=int, default=3072, help="address-space limit per process, MB (0: none)")
    parser.add_argument("--cpu-s", type=int, default=900, help="CPU seconds per process (0: none)")
    parser.add_argument("--csv", help="grades CSV (default: grading/ASSIGNMENT-grades.csv)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the out-of-kernel re-check (not recommended)")
    parser.add_argument("--no-feedback", dest="feedback", action="store_false")
    opts = parser.parse_args(argv)
    opts.mem_mb = opts.mem_mb or None
    opts.cpu_s = opts.cpu_s or None
    grade(opts.assignment, opts.course_dir, opts.student, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
