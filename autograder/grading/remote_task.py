"""What a Dask worker runs for ``course-grade --scheduler``: one student, graded in a private throw-away course.

A task carries the student's submitted files, the chapter's source notebooks and ``nbgrader_config.py`` (bytes:
workers need no shared filesystem). The worker builds, once per chapter source, a template course (nbgrader's
``generate_assignment`` into a gradebook of its own), copies it into a fresh folder per task, puts the submission
in and runs the very per-student code of a local run (:func:`autograder.grading.student.grade_student`: sandboxes,
judge, limits). It returns the result, the files that run wrote (autograded notebook, feedback page of an
unreadable file, log, kept originals) and the student's gradebook rows (:mod:`autograder.grading.gradebook_rows`),
then deletes the folder. It writes nothing of the instructor's: the client does (:mod:`autograder.grading.dask_client`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

from autograder.grading import gradebook_rows
from autograder.grading.fingerprint import differences, fingerprint, manifest, sha256
from autograder.grading.processes import STOP, kill_all, run_nbgrader
from autograder.paths import tool_env

OUTPUTS = ("autograded", "feedback", "grading")  # what a student's grading writes into the course folder
_TEMPLATES: dict[str, Path] = {}
_TEMPLATE_LOCK = threading.Lock()


class WrongCourseCode(RuntimeError):
    """This worker's course code is not the client's."""


def workdir() -> Path:
    """This worker's own folder for throw-away courses (under its TMPDIR)."""
    path = Path(tempfile.gettempdir()) / f"course-grade-{os.getuid()}-{os.getpid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def describe(client_manifest: dict[str, str]) -> dict:
    """At the start of a run (``client.run``): this worker's host, fingerprint, what differs from the client's
    code, and whether it can sandbox. Clears a previous run's stop."""
    from autograder.trusted.isolation import bwrap_path

    STOP.clear()
    return {"host": socket.gethostname(), "fingerprint": fingerprint(), "bwrap": bool(bwrap_path()),
            "differences": differences(client_manifest, manifest()),
            "daemon": bool(multiprocessing.current_process().daemon)}


def stop() -> int:
    """Ctrl-C on the client (``client.run``): start nothing new, kill every running command and its sandbox."""
    STOP.set()
    kill_all()
    return 0


def _template(assignment: str, source: dict[str, bytes], config: bytes) -> Path:
    """A course folder with the source and a gradebook that knows the assignment (built once per source)."""
    key = sha256(repr((assignment, sorted((k, sha256(v)) for k, v in source.items()), sha256(config))).encode())
    with _TEMPLATE_LOCK:
        if key in _TEMPLATES and (_TEMPLATES[key] / "gradebook.db").exists():
            return _TEMPLATES[key]
        folder = workdir() / f"template-{key[:16]}"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "source" / assignment).mkdir(parents=True)
        (folder / "nbgrader_config.py").write_bytes(config)
        for name, data in source.items():
            (folder / "source" / assignment / name).write_bytes(data)
        code, log = run_nbgrader(["generate_assignment", assignment, "--force", f"--CourseDirectory.root={folder}"],
                                 folder, tool_env(), 600)  # a fork of the fork server the grading uses next
        if code != 0:
            raise RuntimeError(f"nbgrader generate_assignment failed on {socket.gethostname()}: {log[-1500:]}")
        _TEMPLATES[key] = folder
        return folder


def _files(root: Path, tops) -> dict[str, tuple[bytes, int]]:
    """``{path relative to root: (bytes, mode)}`` of every file under ``root/top`` for each of ``tops``."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode & 0o777)
            for top in tops for p in sorted((root / top).rglob("*")) if p.is_file()}


def grade_task(task: dict) -> dict:
    """Grade one student (``task``: assignment, student, files, source, config, opts, fingerprint). Returns
    ``{"result", "files", "gradebook", "root", "worker"}``; raises :class:`WrongCourseCode` on a code mismatch."""
    from autograder.grading.student import grade_student

    host = socket.gethostname()
    mine = fingerprint()
    if mine != task["fingerprint"]:
        raise WrongCourseCode(f"worker {host} runs different course code (fingerprint {mine[:12]}, "
                              f"client {task['fingerprint'][:12]})")
    if STOP.is_set():
        raise RuntimeError("the grading run was stopped (Ctrl-C)")
    assignment, student = task["assignment"], task["student"]
    template = _template(assignment, task["source"], task["config"])
    root = Path(tempfile.mkdtemp(prefix="task-", dir=workdir()))
    try:
        shutil.copy2(template / "nbgrader_config.py", root)
        shutil.copy2(template / "gradebook.db", root)
        shutil.copytree(template / "source", root / "source")
        sub = root / "submitted" / student / assignment
        for rel, data in task["files"].items():
            (sub / rel).parent.mkdir(parents=True, exist_ok=True)
            (sub / rel).write_bytes(data)
        result = grade_student(root, assignment, student, argparse.Namespace(**task["opts"]))
        files = _files(root, OUTPUTS)
        for rel, (data, mode) in _files(root, [f"submitted/{student}/{assignment}"]).items():
            if task["files"].get(rel.split("/", 3)[3]) != data:  # rewritten by grading (nbformat 3 upgraded)
                files[rel] = (data, mode)
        rows = gradebook_rows.dump(root, assignment, student)
        return {"result": result, "files": files, "gradebook": rows, "root": str(root), "worker": host}
    finally:
        shutil.rmtree(root, ignore_errors=True)
