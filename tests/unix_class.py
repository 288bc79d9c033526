"""Unix users for the class tests (tests/test_class_run.py, tests/test_hub_browser.py): create them, run commands as
them, remove them.

The users must run this checkout's venv. Its interpreter may live under a folder other users cannot enter (pyenv
under /root, mode 700): :func:`namespace_prefix` then runs the command in a private mount namespace where that
folder is replaced by an empty, searchable tmpfs holding only bind mounts of what the users need (the interpreter's
installation, this checkout). Nothing outside the namespace changes.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.paths import ROOT
from tests.conftest import SHARED_DATA

VENV_BIN = Path(sys.executable).parent


def need_root_tools():
    """Skip (with the reason) unless we are root with useradd, runuser and unshare."""
    if os.geteuid() != 0:
        pytest.skip("the class tests create Unix users: they need root (CI runs as root)")
    missing = [t for t in ("useradd", "userdel", "runuser", "unshare") if not shutil.which(t)]
    if missing:
        pytest.skip(f"missing system tools: {', '.join(missing)}")


def _blocked_ancestor(path: Path) -> Path | None:
    """The outermost folder on ``path``'s way that others cannot enter, or None."""
    for parent in reversed(path.resolve().parents):
        if not parent.stat().st_mode & stat.S_IXOTH:
            return parent
    return None


def namespace_prefix(stage: Path) -> list[str]:
    """A command prefix (``unshare ... sh -c SCRIPT sh``) that makes the venv's interpreter and this checkout
    reachable by every user inside a private mount namespace; [] when they already are. ``stage``: an empty folder
    outside the blocked one, for the staging bind mount."""
    needed = [Path(os.path.realpath(sys.executable)).parent.parent, ROOT, VENV_BIN.parent]
    blocked = {}
    for path in needed:
        top = _blocked_ancestor(path)
        if top is not None:
            blocked.setdefault(top, set()).add(path.resolve().relative_to(top).parts[0])
    if not blocked:
        return []
    lines = ["set -e"]
    for i, (top, children) in enumerate(sorted(blocked.items())):
        st = stage / str(i)
        st.mkdir(parents=True, exist_ok=True)
        lines += [f"mount --bind {shlex.quote(str(top))} {shlex.quote(str(st))}",
                  f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(str(top))}"]
        for child in sorted(children):
            src, dst = shlex.quote(str(st / child)), shlex.quote(str(top / child))
            lines += [f"mkdir -p {dst}", f"mount --bind {src} {dst}"]
    lines.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines), "sh"]


def run_locked(argv: list[str], check: bool = True, tries: int = 10, input: str | None = None):
    """useradd/userdel/chpasswd, retried while another test process holds the lock of /etc/passwd or /etc/shadow
    (pytest-xdist runs the class tests side by side; the tools may give up with "cannot lock ...")."""
    for attempt in range(tries):
        proc = subprocess.run(argv, capture_output=True, text=True, input=input)
        if proc.returncode == 0 or "lock" not in proc.stderr.lower() or attempt == tries - 1:
            break
        time.sleep(1 + attempt)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


class UnixClass:
    """Users ``instructor`` and ``students`` (random suffix), removed by :meth:`remove`."""

    def __init__(self, n_students: int):
        tag = secrets.token_hex(2)
        self.tmp = tmp = Path(tempfile.mkdtemp(prefix="nn-class-"))  # pytest's tmp folders are root's only (700)
        self.instructor = f"nn{tag}inst"
        self.students = [f"nn{tag}s{i}" for i in range(1, n_students + 1)]
        self.created: list[str] = []
        self.prefix = namespace_prefix(tmp / "stage")
        self.config_dir = tmp / "etc-jupyter"  # stands for /etc/jupyter
        self.config_dir.mkdir(mode=0o755)
        os.chmod(tmp, 0o755)

    def create(self):
        for user in [self.instructor, *self.students]:
            run_locked(["useradd", "-m", "-s", "/bin/bash", user])
            self.created.append(user)
        probe = self.run(self.students[0], "python -c 'import nbgrader, course'", check=False)
        if probe.returncode != 0:
            pytest.skip(f"the venv is not usable by another user here: {probe.stderr[-500:]}")

    def remove(self):
        for user in self.created:
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
            run_locked(["userdel", "-r", "-f", user], check=False)
        self.created = []
        shutil.rmtree(self.tmp, ignore_errors=True)

    def home(self, user: str) -> Path:
        return Path(os.path.expanduser(f"~{user}"))

    def env(self) -> dict:
        env = {"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
               "JUPYTER_CONFIG_PATH": str(self.config_dir), "PYTHONDONTWRITEBYTECODE": "1"}
        if SHARED_DATA.is_dir():
            env["COURSE_DATA_FIXTURES"] = str(SHARED_DATA)
        return env

    def command(self, user: str, script: str, cwd: Path | None = None) -> list[str]:
        """argv running bash ``script`` (``-e``) as ``user`` in ``cwd`` (default: their home)."""
        cwd = cwd or self.home(user)
        body = f"cd {shlex.quote(str(cwd))}\n{script}"
        return [*self.prefix, shutil.which("runuser"), "-u", user, "--", "bash", "-e", "-c", body]

    def run(self, user: str, script: str, cwd: Path | None = None, timeout: float = 600,
            check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.command(user, script, cwd), env=self.env(), capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            pytest.fail(f"as {user}: {script}\nexit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc
