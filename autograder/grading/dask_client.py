"""``course-grade --scheduler ADDRESS``: the instructor's machine as a Dask client that hands one task per student
to the cluster's workers (:mod:`autograder.grading.remote_task`) and is the only writer of the course folder.

:func:`connect` reaches the scheduler (``local``: a LocalCluster on this machine) before anything is written,
waits for a worker and refuses to grade when a worker runs other course code or cannot sandbox, naming it
(:mod:`autograder.grading.fingerprint`). :class:`DaskPool` stands in for the thread pool of a local run: each
``submit`` sends one student's files and returns a ``concurrent.futures.Future``; one writer thread takes the
results as they arrive, writes the files and the gradebook rows (under the gradebook lock) and only then completes
the future. A task that raised is retried once by Dask (``retries=1``), a task whose worker died is rescheduled by
Dask, a result with status ``grading error`` is graded once more; what still fails is ``grading error``.
"""

from __future__ import annotations

import concurrent.futures
import queue
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

from autograder.grading import gradebook as gbk
from autograder.grading import gradebook_rows, remote_task
from autograder.grading.fingerprint import fingerprint, manifest

CONNECT_FAILED = ("Could not reach the Dask scheduler at {address}: {error}. Nothing was graded and nothing was "
                  "written. Start one with `dask scheduler` and workers with `dask worker {address}`, or use "
                  "--scheduler local.")
NO_WORKER = "No Dask worker joined the scheduler at {address} within {seconds} s. Nothing was graded."
REFUSED = ("Refused Dask worker {name} ({address}, host {host}): {why}. Nothing was graded. Install the same "
           "course code there (or stop that worker) and run again.")
NO_WORKER_LEFT_S = 120  # pending students get "grading error" after this long without any worker
TASK_OPTIONS = ("timeout", "student_timeout", "mem_mb", "judge_mem_mb", "cpu_s", "isolation")


class DaskRun:
    """A connected client (and the LocalCluster it started, if any)."""

    def __init__(self, client, cluster, address: str):
        self.client, self.cluster, self.address = client, cluster, address

    def close(self):
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing after Ctrl-C or a lost scheduler: nothing left to close
                    pass


def connect(opts, wait_s: float = 60) -> DaskRun:
    """Reach ``opts.scheduler``, wait up to ``wait_s`` for a worker, check every worker (same course code,
    bubblewrap unless --isolation none) and set ``opts.workers`` to the cluster's threads. SystemExit if not."""
    from distributed import Client, LocalCluster

    cluster = None
    address = opts.scheduler
    try:
        if address == "local":
            import dask

            dask.config.set({"distributed.worker.daemon": False})  # the workers fork nbgrader (nbgrader_fork)
            cluster = LocalCluster(n_workers=max(1, opts.workers), threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None, memory_limit=0)
            client = Client(cluster)
        else:
            client = Client(address)
    except Exception as exc:  # OSError, TimeoutError, a bad address: the instructor needs the sentence, not a trace
        raise SystemExit(CONNECT_FAILED.format(address=address, error=f"{type(exc).__name__}: {exc}")) from None
    run = DaskRun(client, cluster, address)
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except Exception:
        run.close()
        raise SystemExit(NO_WORKER.format(address=address, seconds=wait_s)) from None
    workers = client.scheduler_info(n_workers=-1)["workers"]
    described = client.run(remote_task.describe, manifest(), on_error="return")
    refused = []
    for addr, info in sorted(workers.items()):
        name, seen = info.get("name", addr), described.get(addr)
        if not isinstance(seen, dict):
            why = f"it could not be asked for its course code ({seen!r:.200})"
        elif seen["fingerprint"] != fingerprint():
            why = "it runs different course code: " + "; ".join(seen["differences"])
        elif seen["daemon"]:
            why = ("its process is daemonic, so it cannot start nbgrader's fork server: start it with "
                   "DASK_DISTRIBUTED__WORKER__DAEMON=False (or dask worker --no-nanny)")
        elif opts.isolation == "bwrap" and not seen["bwrap"]:
            why = "bubblewrap (bwrap) is not installed there"
        else:
            continue
        refused.append(REFUSED.format(name=name, address=addr, host=seen.get("host", "?") if isinstance(seen, dict)
                                      else "?", why=why))
    if refused:
        run.close()
        raise SystemExit("\n".join(refused))
    opts.workers = sum(int(w.get("nthreads", 1)) for w in workers.values())
    print(f"[grade] Dask scheduler {address}: {len(workers)} workers, {opts.workers} threads, course code "
          f"{fingerprint()[:12]} on every worker", flush=True)
    return run


def safe_relpath(rel: str, student: str, assignment: str) -> bool:
    """A file a worker may write into the course folder: this student's outputs, nothing else."""
    parts = Path(rel).parts
    if ".." in parts or Path(rel).is_absolute() or len(parts) < 3:
        return False
    mine = {("autograded", student, assignment), ("feedback", student, assignment),
            ("submitted", student, assignment), ("grading", "originals", student)}
    return parts[:3] in mine or parts[:4] == ("grading", "logs", assignment, f"{student}.log")


class DaskPool:
    """The thread pool's stand-in for a run on Dask (``submit`` and ``shutdown``, as ``cli.grade`` uses them)."""

    def __init__(self, run: DaskRun, course: Path, assignment: str, opts):
        self.run, self.client, self.course, self.assignment = run, run.client, course, assignment
        self.source = {p.name: p.read_bytes() for p in gbk.source_notebooks(course, assignment)}
        self.config = (course / "nbgrader_config.py").read_bytes()
        self.opts = {k: getattr(opts, k) for k in TASK_OPTIONS}
        self.done: queue.Queue = queue.Queue()
        self.pending: dict = {}  # dask future -> (student, concurrent future, attempt)
        self.stopped = threading.Event()
        self.writer = threading.Thread(target=self._write_loop, name="course-grade-writer", daemon=True)
        self.writer.start()

    def submit(self, _fn, course: Path, assignment: str, student: str, _opts) -> concurrent.futures.Future:
        """Send ``student``'s submission to the cluster (``_fn`` is the local grader the thread pool would run)."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._send(student, future, 0)
        return future

    def _send(self, student: str, future, attempt: int):
        folder = self.course / "submitted" / student / self.assignment
        files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        task = {"assignment": self.assignment, "student": student, "files": files, "source": self.source,
                "config": self.config, "opts": self.opts, "fingerprint": fingerprint()}
        key = f"grade-{self.assignment}-{student}-{attempt}-{uuid.uuid4().hex[:8]}"
        fut = self.client.submit(remote_task.grade_task, task, key=key, pure=False, retries=1)
        self.pending[fut] = (student, future, attempt)
        fut.add_done_callback(self.done.put)

    def _write_loop(self):
        """The only writer: each finished task's files and gradebook rows, then its future completes."""
        no_worker_since = None
        while not self.stopped.is_set():
            try:
                fut = self.done.get(timeout=5)
            except queue.Empty:
                no_worker_since = self._watch_workers(no_worker_since)
                continue
            if self.stopped.is_set() or fut not in self.pending:
                continue
            student, future, attempt = self.pending.pop(fut)
            try:
                out = fut.result()
            except Exception as exc:
                if attempt == 0 and not self.stopped.is_set():
                    self._send(student, future, 1)
                else:
                    future.set_result(self._error(student, f"{type(exc).__name__}: {str(exc)[:300]}"))
                continue
            if out["result"]["status"] == "grading error" and attempt == 0:
                self._send(student, future, 1)
                continue
            try:
                future.set_result(self._write(student, out))
            except Exception as exc:  # the grader itself must survive any result
                future.set_result(self._error(student, f"writing the result failed: {type(exc).__name__}: {exc}"))

    def _watch_workers(self, since):
        """After :data:`NO_WORKER_LEFT_S` without any worker, every pending student gets ``grading error``."""
        try:
            alive = bool(self.client.scheduler_info(n_workers=-1)["workers"])
        except Exception:
            alive = False
        if alive or not self.pending:
            return None
        since = since or time.monotonic()
        if time.monotonic() - since > NO_WORKER_LEFT_S:
            for fut, (student, future, _) in list(self.pending.items()):
                self.pending.pop(fut)
                future.set_result(self._error(student, f"no Dask worker left for {NO_WORKER_LEFT_S} s"))
        return since

    def _error(self, student: str, why: str) -> dict:
        from autograder.grading.student import result

        maxes = gbk.max_scores(self.course, self.assignment)
        scores = {f"{nb}:{cell}": 0.0 for nb, cells in maxes.items() for cell in cells}
        return result(student, scores, maxes, "grading error",
                      [f"grading error (not the student's fault): the Dask task failed: {why}; re-run course-grade "
                       "for this student"], [], time.monotonic(), self.opts["isolation"])

    def _write(self, student: str, out: dict) -> dict:
        """Write one student's outputs as a local run would have (the previous run forgotten first)."""
        course, assignment, root = self.course, self.assignment, out["root"]
        gbk.forget(course, assignment, student)
        for sub in ("autograded", "feedback"):
            shutil.rmtree(course / sub / student / assignment, ignore_errors=True)
        for rel, (data, mode) in out["files"].items():
            if not safe_relpath(rel, student, assignment):
                raise ValueError(f"the worker sent a file outside the student's folders: {rel!r}")
            if rel.startswith("grading/logs/"):
                data = data.replace(root.encode(), str(course).encode())
            path = course / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        gradebook_rows.load(course, assignment, student, out["gradebook"])
        r = out["result"]
        r["review"] = [s.replace(root, str(course)) for s in r["review"]]
        r["notes"] = [s.replace(root, str(course)) for s in r["notes"]]
        return r

    def shutdown(self, wait: bool = True, cancel_futures: bool = False):
        """End of the run (close the client), or Ctrl-C (``cancel_futures``): cancel the remote tasks and make
        every worker kill its sandboxes, within seconds."""
        if cancel_futures:
            self.stopped.set()
            stopper = threading.Thread(target=self._stop_remote, daemon=True)
            stopper.start()
            stopper.join(15)
        else:
            self.stopped.set()
            self.writer.join(10)
        self.run.close()

    def _stop_remote(self):
        try:
            self.client.cancel(list(self.pending), force=True)
            self.client.run(remote_task.stop, on_error="ignore")
        except Exception as exc:  # the scheduler may be gone too: say so, Ctrl-C still ends the run
            print(f"[grade] could not tell the workers to stop: {type(exc).__name__}: {exc}", file=sys.stderr)
