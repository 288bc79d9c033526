"""``course-grade --scheduler``: real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (random free
ports), started and stopped here (issue 29).

Isolation of the workers: each runs in its own working folder with its own HOME and TMPDIR and, where
``unshare --mount`` works (root or user namespaces), in a mount namespace of its own in which pytest's temporary
root, that holds every instructor course of these tests, is an empty tmpfs: the worker cannot see the course
folder at all (checked). The workers share only the installed course code with the client, as a cluster does.

A class graded on Dask ends exactly as the same class graded locally (CSV, gradebook rows, feedback pages and
autograded notebooks); a worker killed with SIGKILL mid-run costs nothing (its student is graded once, by another
worker); an unreachable scheduler writes nothing; a worker with other course code is refused by name; Ctrl-C
keeps the previous CSV and the workers kill their sandboxes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.grading import gradebook_rows
from autograder.grading.processes import kill_tree, process_tree
from autograder.paths import ROOT
from autograder.trusted.isolation import bwrap_path
from tests.conftest import isolated_env
from tests.test_grading import CHAPTER, CORPUS, MANIFEST, read_csv, submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not bwrap_path(), reason="bubblewrap is not installed (.ci/system-deps)")]

ARGS = ["--timeout", "10", "--mem-mb", "2048", "--cpu-s", "120", "--workers", "2"]
CLASS = ["correct", "wrong_predict", "skeleton", "infinite_loop", "bad_json", "nbformat3"]
DASK = Path(sys.executable).parent / "dask"  # the dask command of this environment


def can_hide_folders() -> bool:
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                          capture_output=True).returncode == 0


class Cluster:
    """A scheduler and workers, each a process (tree) of its own session, stopped by :meth:`stop`."""

    def __init__(self, hide: Path):
        self.hide, self.root = hide, Path(tempfile.mkdtemp(prefix="dask-cluster-"))
        self.procs: dict[str, subprocess.Popen] = {}
        self.isolation = "mount namespace" if can_hide_folders() else "separate folders only"
        info = self.root / "scheduler.json"
        self.start("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(info)], self.root, self._env(self.root))
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]

    def _env(self, folder: Path, **extra) -> dict:
        env = isolated_env(folder, DASK_DISTRIBUTED__WORKER__DAEMON="False", **extra)
        (folder / "tmp").mkdir(exist_ok=True)
        env.update(TMPDIR=str(folder / "tmp"), HOME=str(folder / ".env" / "home"))
        return env

    def start(self, name: str, cmd: list[str], cwd: Path, env: dict):
        log = open(self.root / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def add_worker(self, name: str, pythonpath: Path = ROOT):
        folder = self.root / name
        folder.mkdir()
        cmd = [str(DASK), "worker", self.address, "--name", name, "--nthreads", "1", "--host", "127.0.0.1",
               "--no-dashboard", "--local-directory", str(folder / "dask"), "--death-timeout", "60"]
        if self.isolation == "mount namespace":  # pytest's temporary root (every instructor course) is empty here
            cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   'mount -t tmpfs tmpfs "$0" && exec "$@"', str(self.hide), *cmd]
        self.start(name, cmd, folder, self._env(folder, PYTHONPATH=str(pythonpath)))

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=30)

    def wait_workers(self, names: set[str], seconds: float = 120):
        with self.client() as c:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                seen = {w["name"] for w in c.scheduler_info(n_workers=-1)["workers"].values()}
                if seen == names:
                    return
                time.sleep(0.3)
        raise AssertionError(f"workers {names} did not join (seen {seen}); logs in {self.root}")

    def kill(self, name: str):
        kill_tree(self.procs[name].pid)
        self.procs.pop(name).wait(10)

    def stop(self):
        for name in list(self.procs)[::-1]:
            self.kill(name)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.getbasetemp())
    try:
        c.add_worker("worker-a")
        c.add_worker("worker-b")
        c.wait_workers({"worker-a", "worker-b"})
        yield c
    finally:
        c.stop()


def make_course(path: Path, cases: dict[str, str]) -> Path:
    """A course folder holding the chapter's source and ``{student: corpus case}`` submitted."""
    path.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", path)
    shutil.copytree(ROOT / "source" / CHAPTER, path / "source" / CHAPTER)
    for student, case in cases.items():
        submit(path, student, CORPUS / CHAPTER / case / f"{CHAPTER}.ipynb")
    return path


def course_grade(course: Path, *args: str, **popen) -> subprocess.Popen | subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder.grading.cli", CHAPTER, "--course-dir", str(course), *ARGS, *args]
    env = isolated_env(course, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="3s")
    if popen:
        return subprocess.Popen(cmd, cwd=course, env=env, text=True, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=900)


def files(course: Path) -> dict[str, bytes]:
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(course.rglob("*"))
            if p.is_file() and ".env" not in p.parts}


def normalised(course: Path, data) -> str:
    return str(data).replace(str(course), "<course>")


def page(path: Path, student: str) -> str:
    """A feedback page or autograded notebook without what differs between any two runs: the cells' execution
    timestamps, the random class name of the page's verdict boxes, and for an nbformat 3 notebook the cell ids its
    upgrade to nbformat 4 draws at random."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        nb = json.loads(text)
        for cell in nb["cells"]:
            cell.get("metadata", {}).pop("execution", None)
        text = json.dumps(nb, sort_keys=True, indent=0)
    if student == "nbformat3":
        text = re.sub(r'cell-id=[0-9a-f-]+|"id": "[0-9a-f-]+"', "<random id>", text)
    return re.sub(r"\bcv-[0-9a-f]{16}\b", "cv-<nonce>", text)  # the verdict boxes' per-page random class


# In this shared checkout other developers edit course/ while the tests run: a sandboxed import of a module edited
# since its .pyc was written is an attempt to write the .pyc (a review reason of issue 27) in whichever run comes
# after the edit. Those reasons (and only those) are left out of the comparison.
STALE_PYC = r"attempt: tried to write \S+/__pycache__/\S+\.pyc\.\d+, outside its scratch folder"


def fresh_bytecode():
    """Byte-compile the course package now: in this shared checkout other developers edit course/ while tests
    run, and a sandboxed import of an edited module is an attempt to write its .pyc (a review reason)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "course")], check=True)


def test_unreachable_scheduler_says_so_and_writes_nothing(tmp_path):
    course = make_course(tmp_path / "course", {"correct": "correct"})
    before = files(course)
    with socket.socket() as s:  # a free port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = course_grade(course, "--scheduler", f"tcp://127.0.0.1:{port}")
    assert proc.returncode != 0
    assert f"Could not reach the Dask scheduler at tcp://127.0.0.1:{port}" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Nothing was graded" in proc.stderr
    assert files(course) == before, "an unreachable scheduler must leave the course folder as it was"


def test_a_class_graded_on_dask_ends_as_a_local_run(cluster, tmp_path):
    cases = {c: c for c in CLASS}
    local = make_course(tmp_path / "local", cases)
    remote = make_course(tmp_path / "remote", cases)
    with cluster.client() as c:  # the workers cannot see the instructor's course folder
        seen = c.run(os.path.exists, str(remote))
    if cluster.isolation == "mount namespace":
        assert set(seen.values()) == {False}, seen
    fresh_bytecode()
    # both at once: the same code for both (in this shared checkout others edit autograder/ while tests run)
    runs = [course_grade(local, popen=True), course_grade(remote, "--scheduler", cluster.address, popen=True)]
    outs = [run.communicate(timeout=900) for run in runs]
    for run, (out, err) in zip(runs, outs):
        assert run.returncode == 0, out[-3000:] + err[-3000:]
    assert "2 workers, 2 threads" in outs[1][0]
    print(f"[dask] worker isolation: {cluster.isolation}")

    csv_local, csv_remote = read_csv(local), read_csv(remote)
    for rows in (csv_local, csv_remote):
        for row in rows.values():
            reasons = [r for r in row["reasons"].split(" | ") if r and not re.fullmatch(STALE_PYC, r)]
            row["reasons"], row["needs_review"] = " | ".join(reasons), "yes" if reasons else "no"
    assert normalised(local, csv_local) == normalised(remote, csv_remote)
    for case in CLASS:  # and they are the corpus' expected grades
        assert float(csv_remote[case]["total"]) == MANIFEST["cases"][case]["total"], csv_remote[case]
    for student in CLASS:
        a = gradebook_rows.dump(local, CHAPTER, student)
        b = gradebook_rows.dump(remote, CHAPTER, student)
        assert a == b, f"{student}: gradebook rows differ:\n{a}\n{b}"
    pages = [(s, f"feedback/{s}/{CHAPTER}/{CHAPTER}.html") for s in CLASS]
    pages += [(s, f"autograded/{s}/{CHAPTER}/{CHAPTER}.ipynb") for s in CLASS if s != "bad_json"]
    for student, rel in pages:
        assert page(local / rel, student) == page(remote / rel, student), rel
    kept = sorted(p for p in files(local) if not p.startswith("grading/logs/") and not p.endswith(".json"))
    assert kept == sorted(p for p in files(remote) if not p.startswith("grading/logs/") and not p.endswith(".json"))
    assert (remote / "grading" / "logs" / CHAPTER / "correct.log").read_text().strip()


def test_a_worker_with_other_course_code_is_refused_by_name(cluster, tmp_path):
    code = cluster.root / "stale-code"
    for package in ("autograder", "course"):
        shutil.copytree(ROOT / package, code / package, ignore=shutil.ignore_patterns("__pycache__"))
    checks = code / "autograder" / "chapters" / f"ch{CHAPTER}" / "checks.py"
    checks.write_text(checks.read_text() + "\n# an older release of the checks\n")
    cluster.add_worker("stale-worker", pythonpath=code)
    try:
        cluster.wait_workers({"worker-a", "worker-b", "stale-worker"})
        course = make_course(tmp_path / "course", {"correct": "correct"})
        proc = course_grade(course, "--scheduler", cluster.address)
        assert proc.returncode != 0, proc.stdout[-2000:]
        assert "Refused Dask worker stale-worker" in proc.stderr, proc.stderr[-2000:]
        assert f"autograder/chapters/ch{CHAPTER}/checks.py differs" in proc.stderr
        assert "worker-a" not in proc.stderr and not (course / "grading" / f"{CHAPTER}-grades.csv").exists()
    finally:
        cluster.kill("stale-worker")
    cluster.wait_workers({"worker-a", "worker-b"})


def sandboxes(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        for p in process_tree(pid)[1:]:
            try:
                if b"bwrap" in Path(f"/proc/{p}/cmdline").read_bytes():
                    out.append(p)
            except OSError:
                pass
    return out


def wait_for(predicate, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    return predicate()


def test_ctrl_c_cancels_remote_work_and_keeps_the_previous_csv(cluster, tmp_path):
    course = make_course(tmp_path / "course", {c: c for c in ["infinite_loop", "correct", "wrong_predict"]})
    csv_path = course / "grading" / f"{CHAPTER}-grades.csv"
    csv_path.parent.mkdir()
    csv_path.write_text("student,total\nsomeone,5\n")
    workers = [cluster.procs[n].pid for n in ("worker-a", "worker-b")]
    proc = course_grade(course, "--scheduler", cluster.address, popen=True)
    try:
        assert wait_for(lambda: sandboxes(workers), 180), "no sandbox started on the workers"
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, f"exit {proc.returncode}\n{out[-2000:]}\n{err[-2000:]}"
    assert "stopped (Ctrl-C)" in err
    assert csv_path.read_text() == "student,total\nsomeone,5\n"
    assert wait_for(lambda: not sandboxes(workers), 20), f"sandboxes outlived Ctrl-C: {sandboxes(workers)}"


def test_a_worker_killed_mid_run_costs_nothing_and_no_student_is_graded_twice(cluster, tmp_path):
    cases = {"s1": "correct", "s2": "wrong_predict", "s3": "skeleton", "s4": "correct", "s5": "wrong_predict"}
    course = make_course(tmp_path / "course", cases)
    cluster.add_worker("victim")
    cluster.wait_workers({"worker-a", "worker-b", "victim"})
    proc = course_grade(course, "--scheduler", cluster.address, popen=True)
    try:
        assert wait_for(lambda: sandboxes([cluster.procs["victim"].pid]), 180), "the victim got no student"
        cluster.kill("victim")  # the machine is gone: the worker and everything it started
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    progress = [line for line in out.splitlines() if line.startswith("[grade] ") and "/5 " in line]
    graded_lines = sorted(line.split()[2].rstrip(":") for line in progress)
    assert graded_lines == sorted(cases), progress
    rows = read_csv(course)
    assert sorted(rows) == sorted(cases)
    report = json.loads((course / "grading" / f"{CHAPTER}-report.json").read_text())
    assert sorted(r["student"] for r in report) == sorted(cases)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = [s.student.id for s in gb.find_assignment(CHAPTER).submissions]
        assert sorted(subs) == sorted(cases)
        for student, case in cases.items():
            assert rows[student]["status"] == "graded", rows[student]
            assert float(rows[student]["total"]) == MANIFEST["cases"][case]["total"]
            assert gb.find_submission(CHAPTER, student).score == float(rows[student]["total"])
