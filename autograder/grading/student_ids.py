"""Student ids course-grade accepts, and the files of a submission it refuses to touch.

nbgrader takes ``--student=ID`` as a glob (``carol_wron[g]`` matches ``carol_wrong``: another student would be
re-graded), strips trailing whitespace, and writes the id into its gradebook, logs and feedback paths; the CSV and
LMS exports put it in a spreadsheet cell. So an id must be plain (:func:`id_problem`): letters, digits, ``.``,
``_``, ``-``, ``@``, starting with a letter or a digit, at most 64 characters. A submission folder whose name is
not a plain id is not graded and is listed for review (status ``invalid``), its name shown escaped.

A submission may only hold regular files and folders (:func:`refused_files`): a symbolic link (to the source
notebook, to a classmate's submission), a hard link (the same file as one elsewhere on the machine), a FIFO, a
socket or a device is refused before anything reads it (a FIFO would block the grader; a link would grade or leak
a file the student does not own).
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

from autograder.grading.safe_text import visible

MAX_LEN = 64
EXTRA = "._-@"

# user-facing sentences (named placeholders, for translation)
BAD_ID = ("the submission folder's name {name} is not a usable student id ({why}): it was not graded; rename the "
          "folder to the student's id (letters, digits, '.', '_', '-', '@', starting with a letter or digit) and "
          "grade again")
LINK = "{path} is a symbolic link (to {target}): the submission was not graded; ask for the file itself"
HARD = "{path} is a hard link (the same file as {n} paths on this machine): the submission was not graded"
SPECIAL = "{path} is not a regular file ({kind}): the submission was not graded"


def id_problem(student: str) -> str | None:
    """Why ``student`` cannot be used as an nbgrader id, or None when it can."""
    if not student:
        return "empty"
    if len(student) > MAX_LEN:
        return f"longer than {MAX_LEN} characters"
    if not student[0].isalnum():
        return "it does not start with a letter or a digit"
    for ch in student:
        if not (ch.isalnum() or ch in EXTRA) or unicodedata.category(ch).startswith(("C", "Z")):
            return f"it holds the character {ch!r}"
    return None


def shown(student: str) -> str:
    """An id as it may be printed (escaped, quoted when it is not plain)."""
    return student if id_problem(student) is None else repr(visible(student))


def split_ids(students: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """(usable ids, [(refused id, reason)])."""
    ok, refused = [], []
    for s in students:
        why = id_problem(s)
        if why is None:
            ok.append(s)
        else:
            refused.append((s, BAD_ID.format(name=shown(s), why=visible(why))))
    return ok, refused


def refused_result(student: str, reason: str, maxes: dict, isolation: str = "bwrap") -> dict:
    """The result row of a submission whose id was refused (nothing of it ran): zero, ``invalid``, review."""
    scores = {f"{nb}:{cell}": 0.0 for nb, cells in maxes.items() for cell in cells}
    return {"student": shown(student), "scores": scores, "total": 0.0,
            "max": sum(v for cells in maxes.values() for v in cells.values()), "status": "invalid",
            "review": [reason], "notes": [], "seconds": 0.0, "isolation": isolation}


def refused_files(folder: Path, root: Path | None = None) -> list[str]:
    """Reasons to refuse the submission in ``folder``: any link or non-regular file in it (or the folder itself,
    or its parents up to ``root``, being a link). [] when it holds only regular files and folders."""
    out = []
    for p in [folder, *(folder.parents if root is None else [q for q in folder.parents if q.is_relative_to(root)
                                                             and q != root])]:
        if p.is_symlink():
            out.append(LINK.format(path=visible(p.name), target=visible(os.readlink(p))))
    if out or not folder.is_dir():
        return out
    for base, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(base) / name
            rel = visible(path.relative_to(folder))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out.append(LINK.format(path=rel, target=visible(os.readlink(path))))
            elif stat.S_ISDIR(st.st_mode):
                continue
            elif not stat.S_ISREG(st.st_mode):
                kind = ("FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode)
                        else "device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "special file")
                out.append(SPECIAL.format(path=rel, kind=kind))
            elif st.st_nlink > 1:
                out.append(HARD.format(path=rel, n=st.st_nlink))
        dirs[:] = [d for d in dirs if not (Path(base) / d).is_symlink()]
    return out
