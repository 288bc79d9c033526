"""The out-of-kernel re-check (layer 2, see :mod:`autograder.trusted.judge`): rebuild a submission's functions in a
sandbox process as its notebook ran them (solution cells and the cells the student added, in notebook order, with
the locked cells from the source: :mod:`autograder.trusted.rebuild`) and run every check of every test cell from
this trusted process.

    python -m autograder.trusted.recheck verify SOURCE.ipynb SUBMISSION.ipynb   # JSON verdicts on stdout
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder.chapters.messages import english_of
from autograder.chapters.messages import gettext as _
from autograder.notebook import BEGIN_HIDDEN, hidden_source, nbgrader_meta, python_code, strip_hidden
from autograder.trusted.channel import Endpoint
from autograder.trusted.errors import ProtocolError, RemoteDied, StudentError
from autograder.trusted.judge import real_checks, run_check
from autograder.trusted.limits import limits
from autograder.trusted.proxies import RemoteFunction
from autograder.trusted.wording import hint_of, render


def plan_from_notebook(source_nb) -> dict:
    """What to run, from the instructor's source notebook: locked setup cells, solution ids, test cells (their
    visible part) and the ``check_x(fn)`` calls in their hidden region, demo cells (by cell id)."""
    import ast

    plan = {"cells": [], "tests": []}
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and not meta.get("grade_id"):
            plan["cells"].append({"kind": "demo", "id": None, "cell_id": cell.get("id"), "source": cell.source})
        if cell.cell_type != "code" or not meta:
            continue
        gid = meta.get("grade_id")
        if meta.get("solution"):
            plan["cells"].append({"kind": "solution", "id": gid})
        elif meta.get("grade"):
            hidden = hidden_source(cell.source) if BEGIN_HIDDEN in cell.source else cell.source
            calls = []
            for node in ast.walk(ast.parse(hidden)):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id.startswith("check_") and node.args and isinstance(node.args[0], ast.Name)):
                    calls.append([node.func.id, node.args[0].id])
            plan["tests"].append({"id": gid, "points": float(meta.get("points", 0)), "checks": calls})
            plan["cells"].append({"kind": "test", "id": gid, "source": strip_hidden(cell.source)})
        elif meta.get("locked"):
            plan["cells"].append({"kind": "setup", "id": gid, "source": cell.source})
    return plan


def submission_cells(plan: dict, submitted_nb) -> tuple[list[dict], list[str]]:
    """Sources to run in the sandbox, in the submission's order (:func:`autograder.trusted.rebuild.notebook_cells`):
    locked cells from the source notebook, solution cells and added cells from the student. (cells, notes)."""
    from autograder.trusted.rebuild import notebook_cells

    cells, notes, _ = notebook_cells(plan, submitted_nb)
    return cells, notes


DEFAULT_TIMEOUT = 60.0  # seconds per check (one check's whole run) and per call into the student's code
DEFAULT_MEM_MB = 3072  # address space of the process that runs the student's cells
SETUP_FACTOR = 6  # a locked setup cell (imports on a busy machine) may take this many timeouts; other cells one each


def default_isolation() -> str:
    """``bwrap`` when bubblewrap is installed, else ``none`` (for course-selfcheck on a learner's machine)."""
    from autograder.trusted.isolation import bwrap_path

    return "bwrap" if bwrap_path() else "none"


class _Sandbox:
    """One sandbox process holding the student's functions (see :mod:`autograder.trusted.isolation`)."""

    def __init__(self, cells_file: Path, box: Path, runtime: Path, timeout: float, mem_mb, cpu_s, isolation: str):
        from autograder.trusted.isolation import isolated_python, sandbox_env, wrap

        scratch = box / "scratch"
        scratch.mkdir(exist_ok=True)
        from autograder.trusted.attempts import AttemptPipe, audit_config, sink_for

        self.attempts = AttemptPipe(sink_for(box))  # what the sandbox tries, reported as it happens (audit hook)
        boot = (f"import sys; sys.path.insert(0, {str(runtime)!r}); from autograder.trusted.sandbox import main; "
                f"main([{str(cells_file)!r}, '{self.attempts.child_fd}', {audit_config(scratch, runtime)!r}])")
        cmd, env = wrap([*isolated_python(), "-c", boot], isolation, [], scratch, sandbox_env(),
                        readonly=[runtime, cells_file], private=[scratch])  # scratch: a size-limited tmpfs
        # close_fds: the sandbox inherits only its two protocol pipes, never our stdout (the verdict channel)
        self.proc = subprocess.Popen(cmd, cwd=scratch, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, preexec_fn=limits(mem_mb, cpu_s, new_session=True),
                                     close_fds=True, pass_fds=(self.attempts.child_fd,))
        self.attempts.started()
        self.ep = Endpoint(self.proc.stdout.fileno(), self.proc.stdin.fileno(),
                           lambda t: (_ for _ in ()).throw(KeyError(t)), timeout=timeout, peer=self.proc,
                           render=render)  # its messages in the learner's language (COURSE_LANG)
        ep = self.ep
        ep.resolve = lambda t: ep.handles[int(t[2:])] if t.startswith("h:") else (_ for _ in ()).throw(KeyError(t))
        self.expired = False

    def kill(self):
        """Kill the sandbox's whole process group (bwrap takes its PID namespace with it)."""
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self):
        try:
            if self.proc.poll() is None:
                self.ep.say_goodbye()
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        self.proc.wait()
        self.attempts.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


def cell_budget(cell: dict, timeout: float) -> float:
    """Seconds one cell may run: a locked setup cell ``SETUP_FACTOR`` timeouts (imports on a busy machine, the
    sandbox's start), any other cell one timeout (what nbgrader gives each cell of the notebook)."""
    setup = cell.get("kind", "setup" if cell["name"].startswith("setup ") else "") == "setup"
    return SETUP_FACTOR * timeout if setup else timeout


def verify_cells(cells: list[dict], tests: list[dict], timeout: float = DEFAULT_TIMEOUT,
                 mem_mb: int | None = DEFAULT_MEM_MB, cpu_s: int | None = None, isolation: str | None = None) -> dict:
    """Run the sandbox on ``cells`` and every test cell's checks from this (trusted) process.

    Each cell runs with its own deadline (:func:`cell_budget`): one that does not finish is stopped (the sandbox
    killed and started afresh) and skipped from then on, so it costs its own time only. Each check has a deadline
    of ``timeout`` seconds (the sandbox is killed when it passes); a sandbox that died or was killed is started
    afresh for the next test cell, so a hang costs that test cell only (the sandbox works in a private empty
    scratch folder). Returns ``{"setup": [errors of the locked and solution cells], "cell_errors": [{"index",
    "name", "error", "seconds" (the deadline a cell missed, else None)}], "tests": {test_id: {"ok", "message",
    "points"}}, "isolation": mode, "timing": {"rebuild": seconds starting sandboxes and running the cells in them,
    "checks": seconds in the checks (the judge's own compute and the calls into the student's functions)}}``.
    """
    import shutil
    import tempfile
    import threading
    import time

    from autograder.trusted.isolation import runtime_dir

    isolation = isolation or default_isolation()
    checks = real_checks()
    box = Path(tempfile.mkdtemp(prefix="course-verify-"))
    cells_file = box / "cells.json"
    cells_file.write_text(json.dumps([{**c, "code": python_code(c["source"])} for c in cells]))
    runtime = runtime_dir(box)
    results: dict = {}
    failures: list[dict] = []
    skipped: set[int] = set()  # cells that missed their deadline or killed their process: never run again
    box_proc: _Sandbox | None = None
    timing = {"rebuild": 0.0, "checks": 0.0}

    def start() -> _Sandbox:
        started = time.monotonic()
        try:
            return rebuild()
        finally:
            timing["rebuild"] += time.monotonic() - started

    def rebuild() -> _Sandbox:
        first = not failures and not skipped
        while True:
            sb = _Sandbox(cells_file, box, runtime, timeout, mem_mb, cpu_s, isolation)
            stopped = None
            for index, cell in enumerate(cells):
                if index in skipped:
                    continue
                sb.ep.timeout = cell_budget(cell, timeout)
                try:
                    value, _ = sb.ep.call("cell", (index,), {})
                    error = str(value).removeprefix(f"{cell['name']}: ") if value else None
                    seconds = None
                except RemoteDied as exc:
                    stopped = index
                    timed_out = sb.ep.dead == "timed out"
                    error, seconds = str(exc), (sb.ep.timeout if timed_out else None)
                except (ProtocolError, StudentError) as exc:
                    error, seconds = f"{type(exc).__name__}: {exc}", None
                if error and first and index not in {f["index"] for f in failures}:
                    failures.append({"index": index, "name": cell["name"], "error": error, "seconds": seconds})
                if stopped is not None:
                    break
            sb.ep.timeout = timeout
            if stopped is None:
                return sb
            skipped.add(stopped)  # start afresh without it: the cells after it still run
            sb.close()

    try:
        for test in tests:
            verdict = {"ok": True, "message": ""}
            for check_name, fn_name in test["checks"]:
                if check_name not in checks:
                    verdict = {"ok": False, "message": f"unknown check {check_name} (instructor error)"}
                    break
                if box_proc is None or box_proc.proc.poll() is not None or box_proc.ep.dead:
                    if box_proc is not None:
                        box_proc.close()
                    box_proc = start()
                sb = box_proc
                fn = RemoteFunction(sb.ep, f"fn:{fn_name}", fn_name)
                try:
                    sb.ep.call("exists", (fn_name,), {})
                except (StudentError, RemoteDied, ProtocolError) as exc:  # not defined, not their own function
                    verdict = {"ok": False, "message": str(exc), "hint": hint_of(exc)}
                    break

                def expire(sb=sb):
                    sb.expired = True
                    sb.kill()
                watchdog = threading.Timer(timeout, expire)
                watchdog.start()
                started = time.monotonic()
                try:
                    verdict = run_check(checks[check_name], fn)
                finally:
                    watchdog.cancel()
                    timing["checks"] += time.monotonic() - started
                if sb.expired:
                    verdict = {"ok": False, "hint": "timeout",
                               "message": _("the check of {name} did not finish within {seconds:g} s (an endless "
                                            "loop or generator? far too slow?)", name=fn_name, seconds=timeout)}
                if not verdict["ok"]:
                    break
            results[test["id"]] = {**verdict, "points": test["points"]}
    finally:
        if box_proc is not None:
            box_proc.close()
        shutil.rmtree(box, ignore_errors=True)
    setup_errors = [f"{f['name']}: {f['error']}" for f in failures
                    if cells[f["index"]].get("kind", "setup") in ("setup", "solution")]
    from autograder.trusted.attempts import pop_sink, protocol_reasons

    return {"setup": setup_errors, "cell_errors": failures, "tests": results, "isolation": isolation,
            "attempts": protocol_reasons(results) + pop_sink(box),
            "timing": {k: round(v, 3) for k, v in timing.items()}}


def check_notebook(source_nb, submitted_nb, timeout: float = DEFAULT_TIMEOUT, mem_mb: int | None = DEFAULT_MEM_MB,
                   cpu_s: int | None = None, isolation: str | None = None, only: set[str] | None = None) -> dict:
    """The one function course-grade and course-selfcheck share: plan from the source notebook, rebuild the
    submission as its notebook ran it in a sandbox, judge every test cell. ``submitted_nb`` may be None
    (unreadable). ``only``: judge these test ids only (the others are left out of the result).

    Returns verify_cells' dict plus ``plan``, ``notes`` (what differs from a plain run of the solution cells:
    redefinitions, cells that raised or timed out) and ``scores`` ({test_id: points earned}); a test whose function
    a later cell redefines carries that note as ``note``."""
    from autograder.trusted.rebuild import cell_notes, notebook_cells

    plan = plan_from_notebook(source_nb)
    if only is not None:
        plan["tests"] = [t for t in plan["tests"] if t["id"] in only]
    cells, notes, about = notebook_cells(plan, submitted_nb)
    out = verify_cells(cells, plan["tests"], timeout, mem_mb, cpu_s, isolation)
    from autograder.trusted.attempts import scan_notebook, summarise

    out["attempts"] = summarise(scan_notebook(source_nb, submitted_nb) + out["attempts"])  # text, then the sandbox's
    notes += cell_notes(cells, out["cell_errors"])
    for test in plan["tests"]:
        said = [n for _, fn in test["checks"] for n in about.get(fn, [])]
        if said:
            out["tests"][test["id"]]["note"] = "; ".join(dict.fromkeys(said))
    out["plan"], out["notes"] = plan, notes
    out["scores"] = {t["id"]: (t["points"] if out["tests"][t["id"]]["ok"] else 0.0) for t in plan["tests"]}
    return out


def verify_notebook(source_nb_path: Path, submitted_nb_path: Path | None, timeout: float = DEFAULT_TIMEOUT,
                    mem_mb: int | None = DEFAULT_MEM_MB, cpu_s: int | None = None, isolation: str | None = None,
                    only: set[str] | None = None) -> dict:
    """Layer 2: re-run every check of ``source_nb_path``'s test cells on the solution cells of the submission."""
    import nbformat

    source_nb = nbformat.read(str(source_nb_path), as_version=4)
    submitted = None
    notes: list[str] = []
    if submitted_nb_path is not None:
        try:
            submitted = nbformat.read(str(submitted_nb_path), as_version=4)
        except Exception as exc:
            notes.append(_("the notebook could not be read: {error_type}", error_type=type(exc).__name__))
    out = check_notebook(source_nb, submitted, timeout, mem_mb, cpu_s, isolation, only)
    out["notes"] = notes + out["notes"]
    del out["plan"]
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI; the JSON verdict is the last line of stdout (a pipe only course-grade holds)."""
    import argparse

    from autograder.trusted.isolation import MODES

    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description="Re-run a notebook's checks out of the kernel (JSON on stdout).")
    parser.add_argument("cmd", choices=["verify"])
    parser.add_argument("source", type=Path)
    parser.add_argument("submission", type=Path)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--mem-mb", type=int, default=DEFAULT_MEM_MB)
    parser.add_argument("--cpu-s", type=int, default=None)
    parser.add_argument("--isolation", choices=MODES, default=None)
    parser.add_argument("--test", action="append", default=None, help="judge only this test id (repeatable)")
    args = parser.parse_args(argv)
    result = verify_notebook(args.source, args.submission, args.timeout, args.mem_mb or None, args.cpu_s,
                             args.isolation, set(args.test) if args.test else None)
    result["notes_en"] = [english_of(n) for n in result["notes"]]  # the CSV's, for the instructor (issue 30)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
