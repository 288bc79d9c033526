"""``course-grade``: grade one assignment for every student, in parallel, each in a sandbox, scored by the
trusted judge. Run from the course directory, next to ``nbgrader_config.py``::

    course-grade 01_perceptron --workers 2 --timeout 30 --mem-mb 2048 --csv grades.csv

Per student (N at a time, :mod:`autograder.grading.student`): check the files, forget the previous run,
``nbgrader autograde`` with the kernel in a bubblewrap sandbox (for the feedback page), then the score of every
test cell is the trusted judge's verdict on the solution cells rebuilt in a sandbox (the same function
``course-selfcheck`` runs). Student faults cost points; grader faults (a kernel that does not start, a judge
that fails) are retried, then reported with status ``grading error``.

At the end: ``nbgrader generate_feedback`` (outputs sanitised, scripts forbidden by a Content-Security-Policy),
a similarity report (:mod:`autograder.grading.similarity`, for review, never a penalty), the CSV written atomically
(mode 0644, one line per student) and a summary of who needs manual review. Ctrl-C stops the workers and
kills their sandboxes within seconds; the previous CSV stays as it was. Exit code 0 when every student was
graded (even with zero), 3 when the source changed since the gradebook was made, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder.grading import agreement
from autograder.grading import gradebook as gbk
from autograder.grading.csvfile import csv_rows, write_grades_csv
from autograder.grading.dask_client import DaskPool, connect
from autograder.grading.feedback import feedback
from autograder.grading.preflight import before_grading
from autograder.grading.processes import STOP, kill_all, run
from autograder.grading.review import similarity_reasons
from autograder.grading.safe_text import visible
from autograder.grading.student import grade_student
from autograder.grading.student_ids import id_problem, refused_result, split_ids
from autograder.paths import tool_env

NO_ISOLATION_WARNING = ("WARNING: --isolation none: student code ran UNSANDBOXED, as you, on your files. Grades "
                        "from this run can be forged; use bubblewrap (apt-get install bubblewrap).")


def ensure_assignment(course: Path, assignment: str, env: dict, update: bool):
    """The gradebook must know the assignment's cells, with the source's points: run generate_assignment when
    it does not, and when the source changed since (only with ``update``; else stop with the differences)."""
    changes = gbk.source_changes(course, assignment)
    if changes and not update:
        lines = "\n  ".join(changes[:20])
        print(f"[grade] the source of {assignment} changed since the gradebook was made:\n  {lines}\n"
              "Nothing was graded. Re-run with --update-gradebook to grade everyone against the new source "
              "(every listed student is re-graded), or restore the old source.", file=sys.stderr)
        raise SystemExit(3)
    if gbk.gradebook_maxima(course, assignment) is not None and not changes:
        return
    code, log = run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                     f"--CourseDirectory.root={course}"], course, env, 600)
    if code != 0 or gbk.source_changes(course, assignment):
        raise SystemExit(f"nbgrader generate_assignment {assignment} failed:\n{log[-2000:]}")


def _progress(total: int, assignment: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"grading {assignment}", unit="student", file=sys.stderr,
                disable=None)  # None: a bar on a terminal, nothing when stderr is not one


def grade(assignment: str, course: Path, students: list[str] | None, opts) -> list[dict]:
    from autograder.grading.similarity import similarity_report
    from autograder.trusted.isolation import bwrap_path

    course = course.resolve()
    if not gbk.source_notebooks(course, assignment):
        raise SystemExit(f"no source notebooks in {course / 'source' / assignment}")
    if opts.isolation == "bwrap" and not bwrap_path():
        raise SystemExit("bubblewrap (bwrap) is not installed: apt-get install bubblewrap "
                         "(or --isolation none, NOT safe: student code then runs as you)")
    csv_path = Path(opts.csv) if opts.csv else course / "grading" / f"{assignment}-grades.csv"
    roster = before_grading(course, csv_path, opts)
    ensure_assignment(course, assignment, tool_env(), opts.update_gradebook)
    all_students = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())
    students = students or all_students
    students, refused_ids = split_ids(students)  # ids nbgrader would glob or mangle: not graded, listed for review
    all_students = [s for s in all_students if id_problem(s) is None]
    gradebook_before = agreement.totals(course, assignment)
    print(f"[grade] {assignment}: {len(students)} students, {opts.workers} workers, isolation {opts.isolation}, "
          f"timeout {opts.timeout}s per cell and per check, {opts.student_timeout}s per student, "
          f"memory {opts.mem_mb or 'unlimited'} MB", flush=True)
    if opts.isolation == "none":
        print(f"[grade] {NO_ISOLATION_WARNING}", flush=True)
    results = []
    t0 = time.monotonic()
    bar = _progress(len(students), assignment)
    pool = (DaskPool(opts.dask, course, assignment, opts) if getattr(opts, "dask", None)
            else ThreadPoolExecutor(max_workers=opts.workers))
    try:
        futures = {pool.submit(grade_student, course, assignment, s, opts): s for s in students}
        failures = 0
        for i, fut in enumerate(as_completed(futures), 1):
            r = fut.result()
            results.append(r)
            failures += r["status"] != "graded"
            flag = "  REVIEW" if r["review"] else ""
            bar.write(f"[grade] {i}/{len(students)} {r['student']}: {r['total']:g}/{r['max']:g} {r['status']} "
                      f"({r['seconds']:.1f}s){flag}")
            bar.set_postfix(failures=failures)
            bar.update()
    except KeyboardInterrupt:
        STOP.set()
        kill_all()
        pool.shutdown(wait=False, cancel_futures=True)
        kill_all()
        bar.close()
        print("[grade] stopped (Ctrl-C): sandboxes killed, no grades written (the previous CSV is unchanged); "
              "re-run to grade", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    pool.shutdown()
    bar.close()
    maxes = gbk.max_scores(course, assignment)
    if opts.feedback:
        feedback(course, assignment, students, results, list(maxes), len(students) == len(all_students),
                 min(opts.workers, os.cpu_count() or 1))  # the class's pages split over the workers
    # refused ids: a row each (escaped), never a path (no feedback folder named after them)
    results += [refused_result(s, why, gbk.max_scores(course, assignment), opts.isolation) for s, why in refused_ids]
    similar = similarity_report(course, assignment, all_students)
    for r in results:  # the similarity report's top pairs, and a gradebook that disagrees with the CSV
        r["review"] += similarity_reasons(similar, r["student"])
    others_changed = agreement.check(course, assignment, results, gradebook_before)
    elapsed = time.monotonic() - t0
    columns = [f"{nb}:{cell}" for nb, cells in maxes.items() for cell in cells]
    for r in results:
        if opts.isolation == "none":
            r["review"].append(NO_ISOLATION_WARNING)
    write_grades_csv(csv_path, csv_rows(results, columns), columns)
    report = course / "grading" / f"{assignment}-report.json"
    report.write_text(json.dumps(sorted(results, key=lambda r: r["student"]), indent=1), encoding="utf-8")
    flagged = [r for r in sorted(results, key=lambda r: r["student"]) if r["review"]]
    print(f"[grade] done in {elapsed:.1f}s ({len(students) / max(elapsed, 1e-9) * 60:.1f} submissions/min); "
          f"grades: {csv_path}", flush=True)
    if flagged:
        print(f"[grade] {len(flagged)} submission(s) need manual review:")
        for r in flagged:
            print(f"  - {visible(r['student'])} ({r['total']:g}/{r['max']:g}, {r['status']}):")
            for reason in r["review"]:
                print(f"      {visible(reason)}")
    else:
        print("[grade] no submission needs manual review")
    for sentence in others_changed:
        print(f"[grade] WARNING: {sentence}")
    if similar:
        print(f"[grade] similar solution cells (for review only, no penalty; {course / 'grading'}"
              f"/{assignment}-similarity.csv):")
        for row in similar[:50]:
            print(visible(f"  - {row['a']} ~ {row['b']}: {row['cell']} ({row['similarity']}, score {row['score']})"))
    if opts.isolation == "none":
        print(f"[grade] {NO_ISOLATION_WARNING}")
    if opts.export:
        from autograder.grading.export import export

        missing = export(opts.export[0], Path(opts.export[1]), results, maxes, assignment, roster,
                         getattr(opts, "export_column", None))
        print(f"[grade] {opts.export[0]} grades: {opts.export[1]}")
        if missing:
            print(f"[grade] not in the roster, left out of {opts.export[1]}: {', '.join(missing)}")
    return results


def main(argv: list[str] | None = None) -> int:
    from autograder.trusted.isolation import MODES
    from autograder.trusted.recheck import DEFAULT_MEM_MB, DEFAULT_TIMEOUT

    parser = argparse.ArgumentParser(prog="course-grade", description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(), help="nbgrader course root (default: .)")
    parser.add_argument("--student", action="append", help="grade only these students (repeatable)")
    parser.add_argument("-j", "--workers", type=int, default=max(1, (os.cpu_count() or 2)))
    parser.add_argument("--timeout", type=int, default=int(DEFAULT_TIMEOUT), help="seconds per cell and per check")
    parser.add_argument("--student-timeout", type=int, default=600,
                        help="seconds for one student's whole grading (default 600)")
    parser.add_argument("--mem-mb", type=int, default=DEFAULT_MEM_MB,
                        help="address-space limit of each process running student code, MB (0: none)")
    parser.add_argument("--judge-mem-mb", type=int, default=4096, help="address-space limit of the judge, MB")
    parser.add_argument("--cpu-s", type=int, default=900, help="CPU seconds per process (0: none)")
    parser.add_argument("--isolation", choices=MODES, default="bwrap",
                        help="bwrap (default): every run of student code in a bubblewrap sandbox; none: NOT safe")
    parser.add_argument("--update-gradebook", action="store_true",
                        help="the source changed since the gradebook was made: update it and grade everyone anew")
    parser.add_argument("--csv", help="grades CSV (default: grading/ASSIGNMENT-grades.csv)")
    parser.add_argument("--export", nargs=2, metavar=("canvas|moodle", "FILE"),
                        help="also write the grades in the import format of an LMS gradebook")
    parser.add_argument("--roster", metavar="FILE",
                        help="CSV mapping nbgrader ids to Canvas ID / SIS User ID (e.g. Canvas's gradebook export)")
    parser.add_argument("--export-column", metavar="HEADER",
                        help="the export's grade column, e.g. Canvas's 'Chapter 1 (12345)' (default: ASSIGNMENT)")
    parser.add_argument("--no-feedback", dest="feedback", action="store_false")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="grade on a Dask cluster: the scheduler's address "
                        "(tls://host:8786), or local for a LocalCluster of --workers processes (docs/grading.md)")
    opts = parser.parse_args(argv)
    if opts.export and opts.export[0] not in ("canvas", "moodle"):
        parser.error("--export takes canvas or moodle")
    opts.mem_mb = opts.mem_mb or None
    opts.cpu_s = opts.cpu_s or None
    opts.dask = connect(opts) if opts.scheduler else None  # before anything is written
    grade(opts.assignment, opts.course_dir, opts.student, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
