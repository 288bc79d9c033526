"""Inside the sandbox: report what student code tries to reach, as it happens, on a pipe only the judge reads.

:func:`install` (called by :mod:`autograder.trusted.sandbox` before any cell runs) adds a :func:`sys.addaudithook`
hook. Audit hooks cannot be removed from Python code; this one writes one line per suspicious event straight to
the attempt pipe (an inherited descriptor whose other end only the trusted judge holds,
:class:`autograder.trusted.attempts.AttemptPipe`), before the action is allowed or refused. Student code may write
to that pipe too, but it can only add to its own record: the judge validates every line
(:func:`autograder.trusted.attempts.parse_line`) and anything that is not a line this module writes is itself
recorded as a forged report. Nothing here decides a grade.

Line format (ASCII, tab-separated): ``KIND<TAB>DETAIL<NEWLINE>``, KIND one of :data:`KINDS`, DETAIL printable
ASCII, at most :data:`MAX_DETAIL` characters.
"""

from __future__ import annotations

import os
import sys

KINDS = ("import", "read", "write", "proc", "list", "exec", "net", "gc", "ctypes")
MAX_DETAIL = 160
MAX_LINES = 200  # after that the hook stays silent (a flood only fills the student's own record)
_SAFE_WRITE = ("/tmp/", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/tty")
_INSTRUCTOR_ONLY = ("autograder.chapters", "autograder.checks", "nbgrader")


def clean(text) -> str:
    """``text`` as printable ASCII on one line, at most :data:`MAX_DETAIL` characters."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    out = "".join(c if " " <= c <= "~" else "?" for c in str(text).replace("\t", " "))
    return out[:MAX_DETAIL]


def _flags_write(mode, flags) -> bool:
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def classify(event: str, args: tuple, scratch: str, hidden: tuple[str, ...], pid: int,
             allowed: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(kind, detail) when ``event`` is an attempt to reach what the sandbox hides, else None; ``allowed``: folders
    bound read-only on purpose (Python, the course package, data), read freely. Pure: tested alone."""
    if event == "import":
        name = args[0] if args and isinstance(args[0], str) else ""
        if name.startswith(_INSTRUCTOR_ONLY):
            return "import", name
        return None
    if event in ("open", "os.listdir", "os.scandir"):
        path = args[0] if args else None
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if not isinstance(path, str) or not path:
            return None
        full = os.path.normpath(os.path.join(scratch, path))
        parts = full.split("/")
        if len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit() and int(parts[2]) != pid:
            return "proc", full
        if event != "open" and full == "/proc":
            return "list", full
        writes = event == "open" and _flags_write(args[1] if len(args) > 1 else None,
                                                  args[2] if len(args) > 2 else None)
        if writes and "/__pycache__/" in full and ".pyc" in full and _under(full, allowed):
            return None  # Python caching bytecode of a bound package (python -I ignores PYTHONDONTWRITEBYTECODE)
        if _under(full, hidden) and (writes or not _under(full, allowed)):
            return ("write" if writes else "read" if event == "open" else "list"), full
        if writes and not (_under(full, (scratch,)) or full.startswith(_SAFE_WRITE)):
            return "write", full
        return None
    if event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "pty.spawn"):
        what = args[1] if event == "subprocess.Popen" and len(args) > 1 else (args[0] if args else "")
        return "exec", " ".join(map(str, what)) if isinstance(what, (list, tuple)) else str(what)
    # no network events: the course's own data loader may try a download (the sandbox has no network anyway); a
    # student's socket code is seen in the text (autograder.trusted.attempts)
    if event in ("gc.get_referrers", "gc.get_referents", "gc.get_objects"):
        return "gc", event
    if event in ("ctypes.addressof", "ctypes.string_at", "ctypes.memmove", "ctypes.cdata"):  # not dlopen: numpy uses it
        return "ctypes", event
    return None


def install(fd: int, scratch: str, hidden: list[str], allowed: list[str] = ()) -> None:
    """Report attempts on ``fd`` (the attempt pipe) from now on; ``scratch``: the working folder; ``hidden``:
    folders the sandbox hides (the instructor-only parts of the package, the course and repository folders);
    ``allowed``: folders inside those that are bound in on purpose (the course package, the venv)."""
    write, pid, count = os.write, os.getpid(), [0]
    hidden_t = tuple(os.path.normpath(h) for h in hidden if h)
    allowed_t = tuple(os.path.normpath(a) for a in allowed if a)
    busy = [False]

    def hook(event, args):
        if busy[0] or count[0] >= MAX_LINES:
            return
        busy[0] = True
        try:
            found = classify(event, args, scratch, hidden_t, pid, allowed_t)
            if found is not None:
                count[0] += 1
                write(fd, f"{found[0]}\t{clean(found[1])}\n".encode("ascii"))
        except Exception:  # the hook must never break the student's code
            pass
        finally:
            busy[0] = False

    sys.addaudithook(hook)
