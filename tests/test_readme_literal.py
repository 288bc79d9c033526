"""Follow the README literally on a fresh copy: its course command sets up a new virtual environment and starts
JupyterLab on release/.

Every release notebook is executed headless once, by tests/test_student_edition.py, in a fresh venv of the student
edition (only the `course` package and its dependencies, a subset of this environment), with no errors except the
skeletons' NotImplementedError; running the same notebooks again here would double that cost for no new check."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.chapters import chapter_names as chapters
from autograder.paths import ROOT
from tests.conftest import fresh_install_env

pytestmark = pytest.mark.slow


def readme_commands() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", text, re.S)
    assert block, "README has no '## Two commands' section with a bash block"
    cmds = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(cmds) == 2, f"expected exactly two commands, got {cmds}"
    return {"course": cmds[0], "test": cmds[1]}


def test_readme_has_exactly_two_commands_and_ci_uses_the_test_one():
    cmds = readme_commands()
    assert cmds["test"] == "./run.sh test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "exec " + cmds["test"] in ci


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_checkout(dest: Path) -> None:
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(listing, cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


@pytest.fixture(scope="module")
def fresh_course(tmp_path_factory):
    """A fresh copy of the checkout after running the README's course command until JupyterLab answers."""
    base = tmp_path_factory.mktemp("readme")
    copy = base / "course"
    copy.mkdir()
    _copy_checkout(copy)
    port, token = _free_port(), "readme-test-token"
    env = fresh_install_env(base)
    cmd = readme_commands()["course"] + f" --no-browser --allow-root --ip=127.0.0.1 --port={port}" \
        f" --IdentityProvider.token={token}"
    log = open(base / "course.log", "w")
    proc = subprocess.Popen(cmd, shell=True, cwd=copy, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 900
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the course command exited early ({proc.returncode}):\n"
                            + (base / "course.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as r:
                    listing = json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 15 minutes:\n"
                                + (base / "course.log").read_text()[-3000:])
                time.sleep(2)
        yield copy, listing
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_course_command_serves_the_release_folder(fresh_course):
    copy, listing = fresh_course
    names = {item["name"] for item in listing["content"]}
    assert set(chapters()) <= names, f"JupyterLab root should be release/, got {sorted(names)}"
    assert (copy / ".venv" / "bin" / "python").exists(), "the course command should create .venv"
