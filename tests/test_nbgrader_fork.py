"""course-grade runs nbgrader as forks of a process that has imported it (grading/nbgrader_fork.py): each fork
must be what the subprocess it replaces was (its own session, the given folder, environment and limits, its
output in the log) and a timeout must kill it. nbgrader runs the course's ``nbgrader_config.py`` when it starts,
so a config file here reports what the command saw."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

from autograder.grading.processes import run_nbgrader
from autograder.paths import tool_env

REPORT = """\
import json, os, resource, time
json.dump({{"cwd": os.getcwd(), "mark": os.environ.get("FORK_TEST_MARK"), "pid": os.getpid(), "ppid": os.getppid(),
           "sid": os.getsid(0), "as": resource.getrlimit(resource.RLIMIT_AS)[0],
           "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0]}}, open("seen.json", "w"))
print("config ran")
time.sleep({sleep})
"""


def _course(tmp_path: Path, sleep: float) -> Path:
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(REPORT.format(sleep=sleep))
    return course


def _env(tmp_path: Path) -> dict:
    env = tool_env()  # the venv's bin first on PATH: nbgrader runs alembic from there
    env.update(FORK_TEST_MARK="from-the-caller", HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "jcfg"),
               JUPYTER_DATA_DIR=str(tmp_path / "jdata"))
    return env


def test_the_fork_gets_the_folder_environment_session_limits_and_log(tmp_path):
    course = _course(tmp_path, 0)
    code, log = run_nbgrader(["db", "student", "list", f"--CourseDirectory.root={course}"], course, _env(tmp_path),
                             timeout=300, mem_mb=3000, cpu_s=200)
    assert code == 0, log
    assert "config ran" in log
    seen = json.loads((course / "seen.json").read_text())
    assert seen["cwd"] == str(course) and seen["mark"] == "from-the-caller"
    assert seen["sid"] == seen["pid"], "the command should lead a session of its own"
    assert seen["as"] == 3000 << 20 and seen["cpu"] == 200
    assert seen["ppid"] != os.getpid(), "nbgrader ran as our child: the fork server was not used"
    assert resource.getrlimit(resource.RLIMIT_AS)[0] != 3000 << 20, "the limits leaked into the caller"


def test_a_failing_command_reports_its_exit_code_and_output(tmp_path):
    course = _course(tmp_path, 0)
    code, log = run_nbgrader(["autograde", "no_such_assignment", f"--CourseDirectory.root={course}"], course,
                             _env(tmp_path), timeout=300)
    assert code != 0 and "config ran" in log


def test_a_timeout_kills_the_command(tmp_path):
    course = _course(tmp_path, 600)
    start = time.monotonic()
    code, _ = run_nbgrader(["db", "student", "list", f"--CourseDirectory.root={course}"], course, _env(tmp_path),
                           timeout=8)
    assert code == -9999
    assert time.monotonic() - start < 300  # a hang guard only: the command itself would sleep 600 s
    pid = json.loads((course / "seen.json").read_text())["pid"]
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists(), "the timed-out command is still running"


def test_ctrl_c_as_a_command_ends_and_its_process_object_is_closed(tmp_path):
    """course-grade's Ctrl-C (kill_all, on the main thread) can come just as a worker's command has ended and its
    Process object been closed: killing must go by pid (found under load: ValueError "process object is closed")."""
    from autograder.grading import nbgrader_fork, processes

    log = tmp_path / "log"
    log.write_text("")
    proc = nbgrader_fork.start(["--version"], tmp_path, tool_env(), log)

    def wait(seconds):
        proc.join(seconds)
        code = proc.exitcode
        proc.close()  # as run_nbgrader does once the command has ended
        processes.kill_all()  # the interrupt at that moment
        return code

    assert processes.supervise(proc, wait, 120) == 0


def test_the_judge_runs_as_a_fork_and_gives_the_verdict_of_its_subprocess(tmp_path, monkeypatch):
    """course-grade's judge (autograder.trusted.recheck) is a fork of the same server (issue 29: no Python start and
    no imports per student): its verdict is the one the ``python -I`` subprocess it replaces gives, on a solved and
    on an unsolved notebook, under the judge's memory limit."""
    import subprocess
    import sys

    from autograder.chapters import chapter_names
    from autograder.grading import nbgrader_fork, processes
    from autograder.paths import release_path, source_path

    started = []
    real_start = nbgrader_fork.start
    monkeypatch.setattr(nbgrader_fork, "start", lambda *a, **k: started.append(a[6:]) or real_start(*a, **k))
    chapter = chapter_names()[0]
    source = source_path(chapter)
    for submission, solved in ((source, True), (release_path(chapter), False)):
        args = ["verify", str(source), str(submission), "--timeout=60", "--isolation=none"]
        code, out = processes.run_forked("autograder.trusted.recheck", args, tmp_path, tool_env(), 300, mem_mb=4096)
        assert code == 0, out
        forked = json.loads(out.strip().splitlines()[-1])["tests"]
        plain = subprocess.run([sys.executable, "-I", "-m", "autograder.trusted.recheck", *args], cwd=tmp_path,
                               env=tool_env(), capture_output=True, text=True, timeout=300)
        assert {t: v["ok"] for t, v in forked.items()} == {t: solved for t in forked} != {}
        assert forked == json.loads(plain.stdout.strip().splitlines()[-1])["tests"]
    assert started == [("autograder.trusted.recheck",)] * 2, "the judge did not run as a fork"


def test_the_fork_server_runs_only_its_commands(tmp_path):
    import pytest

    from autograder.grading import nbgrader_fork

    with pytest.raises(ValueError, match="not a command"):
        nbgrader_fork.start(["-c", "print(1)"], tmp_path, tool_env(), tmp_path / "log", module="runpy")
