"""Checks course-grade makes before it grades anyone: who else can read the course's secrets, and whether the files
it will write (the grades CSV, an LMS export) can be written at all.

On a shared server the course directory holds solutions (``source/``), hidden tests, ``gradebook.db``, every
student's submission and the grades: with the default umask (022) all of it is readable by every user of the
machine. :func:`exposed` lists what other users can read; course-grade prints the warning with the fix.
:func:`check_outputs` tries to create a file next to each output (what the atomic write will do) and stops with a
clear message, before grading, when it cannot.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from autograder.grading.roster import RosterError, read_roster

# What in a course directory must stay the instructor's (relative paths; the course directory itself first).
SECRETS = (".", "gradebook.db", "source", "submitted", "autograded", "feedback", "grading", "nbgrader_config.py")

EXPOSED_WARNING = ("WARNING: other users of this machine can read {what} (mode {mode}), which holds solutions, "
                   "hidden tests, submissions or grades. Lock the course directory with: chmod -R go-rwx {course} "
                   "(and set umask 077 in the shell you work in, so new files stay private).")
OUTPUT_ERROR = ("course-grade cannot write {what} to {path}: {reason}. Nothing was graded; choose a writable "
                "path (for example under the course directory's grading/ folder) and run it again.")


def reachable_by_others(path: Path) -> bool:
    """True when a user who is neither the owner nor in the group can reach ``path`` (every parent folder
    searchable by others)."""
    for parent in path.resolve().parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def readable_by_others(path: Path) -> bool:
    """True when others can read ``path`` (a file: read bit; a folder: list or enter it) and reach it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    bits = stat.S_IROTH | stat.S_IXOTH if path.is_dir() else stat.S_IROTH
    return bool(mode & bits) and reachable_by_others(path)


def exposed(course: Path, extra: list[Path] = ()) -> list[tuple[Path, str]]:
    """[(path, mode)] of the course's secrets (and the ``extra`` output files) that other users can read."""
    course = course.resolve()
    found = []
    for rel in SECRETS:
        path = course / rel
        if path.exists() and readable_by_others(path):
            found.append((path, stat.filemode(path.stat().st_mode)))
    for path in extra:
        path = Path(path).resolve()
        if path.exists() and readable_by_others(path):
            found.append((path, stat.filemode(path.stat().st_mode)))
        elif not path.exists() and path.parent.exists() and readable_by_others(path.parent):
            found.append((path.parent, stat.filemode(path.parent.stat().st_mode)))
    return found


def exposure_warnings(course: Path, extra: list[Path] = ()) -> list[str]:
    """One warning sentence per exposed path (:data:`EXPOSED_WARNING`), [] when the course is private."""
    course = course.resolve()
    return [EXPOSED_WARNING.format(what=path, mode=mode, course=course) for path, mode in exposed(course, extra)]


def output_problem(path: Path) -> str | None:
    """Why ``path`` cannot be written by an atomic write (a temporary file beside it, then a rename), or None."""
    path = Path(path)
    if path.is_dir():
        return "it is a folder"
    parent = path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not parent.exists():
        if existing is None or not os.access(existing, os.W_OK | os.X_OK):
            return f"the folder {parent} does not exist and cannot be created"
        return None  # created by the write
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(tmp)
    if path.exists() and not os.access(path, os.W_OK) and not os.access(parent, os.W_OK):
        return "the file is read-only"
    return None


def check_outputs(outputs: list[tuple[str, Path]]) -> list[str]:
    """Error sentences (:data:`OUTPUT_ERROR`) for each (what, path) that cannot be written; [] when all can."""
    errors = []
    for what, path in outputs:
        reason = output_problem(Path(path))
        if reason:
            errors.append(OUTPUT_ERROR.format(what=what, path=path, reason=reason))
    return errors


def before_grading(course: Path, csv_path: Path, opts) -> dict | None:
    """Before grading: warn when other users can read the course's secrets, stop when an output path cannot be
    written or the roster cannot be read (nothing graded then). Returns the roster (None without --roster)."""
    outputs = [(Path(opts.export[1]) if opts.export else None), csv_path]
    for warning in exposure_warnings(course, [p for p in outputs if p is not None]):
        print(f"[grade] {warning}", file=sys.stderr, flush=True)
    errors = check_outputs([("the grades CSV", csv_path)]
                           + ([(f"the {opts.export[0]} export", Path(opts.export[1]))] if opts.export else []))
    if errors:
        raise SystemExit("[grade] " + "\n[grade] ".join(errors))
    if not getattr(opts, "roster", None):
        return None
    try:
        return read_roster(Path(opts.roster))
    except (OSError, RosterError) as exc:
        raise SystemExit(f"[grade] {exc} Nothing was graded.") from None
