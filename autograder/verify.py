"""The out-of-kernel re-check (layer 2, see :mod:`autograder.judge`): rebuild a submission's functions in a
sandbox process from its solution cells and run every check of every test cell from this trusted process.

    python -m autograder.verify verify SOURCE.ipynb SUBMISSION.ipynb   # JSON verdicts on stdout
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder.judge import _run_check, real_checks
from autograder.protocol import Endpoint, ProtocolError, RemoteDied, RemoteFunction, StudentError

PKG_DIR = Path(__file__).resolve().parent

def plan_from_notebook(source_nb) -> dict:
    """What to run, from the instructor's source notebook: locked setup cells, solution ids, test cells and
    the ``check_x(fn)`` calls in their hidden region."""
    import ast

    plan = {"cells": [], "tests": []}
    for cell in source_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta:
            continue
        gid = meta.get("grade_id")
        if meta.get("solution"):
            plan["cells"].append({"kind": "solution", "id": gid})
        elif meta.get("grade"):
            hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[-1].split("### END HIDDEN TESTS", 1)[0]
            calls = []
            for node in ast.walk(ast.parse(hidden)):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id.startswith("check_") and node.args and isinstance(node.args[0], ast.Name)):
                    calls.append([node.func.id, node.args[0].id])
            plan["tests"].append({"id": gid, "points": float(meta.get("points", 0)), "checks": calls})
        elif meta.get("locked"):
            plan["cells"].append({"kind": "setup", "id": gid, "source": cell.source})
    return plan


def submission_cells(plan: dict, submitted_nb) -> tuple[list[dict], list[str]]:
    """Sources to run in the sandbox: setup cells from the source notebook, solution cells from the student
    (the last cell with each id). Returns (cells, notes)."""
    by_id: dict[str, str] = {}
    for cell in submitted_nb.cells if submitted_nb is not None else []:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.get("cell_type") == "code" and gid:
            by_id[gid] = cell.get("source", "")  # the last copy wins, as in nbgrader's DeduplicateIds
    cells, notes = [], []
    for c in plan["cells"]:
        if c["kind"] == "setup":
            cells.append({"name": f"setup {c['id']}", "source": c["source"]})
        elif c["id"] in by_id:
            cells.append({"name": f"solution {c['id']}", "source": by_id[c["id"]]})
        else:
            notes.append(f"solution cell {c['id']} is missing")
    return cells, notes


def _limits(mem_mb: int | None, cpu_s: int | None):
    def apply():
        import resource

        os.setsid()
        if mem_mb:
            resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
        if cpu_s:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    return apply


def sandbox_env(cwd: Path | None = None) -> dict:
    env = dict(os.environ)
    env.update(COURSE_QUICK="1", NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    root = str(PKG_DIR.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def verify_cells(cells: list[dict], tests: list[dict], cwd: Path, timeout: float = 60.0,
                 mem_mb: int | None = 2048, cpu_s: int | None = None) -> dict:
    """Run the sandbox on ``cells`` and every test cell's checks from this (trusted) process.

    Returns ``{"setup": [cell errors], "tests": {test_id: {"ok", "message", "points"}}}``.
    """
    import tempfile

    checks = real_checks()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(cells, fh)
        cells_file = fh.name
    proc = subprocess.Popen([sys.executable, "-m", "autograder.sandbox", cells_file], cwd=cwd,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=sandbox_env(), preexec_fn=_limits(mem_mb, cpu_s), close_fds=True)
    ep = Endpoint(proc.stdout.fileno(), proc.stdin.fileno(), lambda t: (_ for _ in ()).throw(KeyError(t)),
                  timeout=timeout, peer=proc)
    ep.resolve = lambda t: ep.handles[int(t[2:])] if t.startswith("h:") else (_ for _ in ()).throw(KeyError(t))
    results: dict = {}
    setup_errors: list[str] = []
    try:
        try:
            value, _ = ep.call("setup:errors", (), {})
            setup_errors = [str(e) for e in value] if isinstance(value, list) else []
        except (RemoteDied, ProtocolError, StudentError) as exc:
            setup_errors = [f"running your cells failed: {exc}"]
        for test in tests:
            verdict = {"ok": True, "message": ""}
            for check_name, fn_name in test["checks"]:
                if check_name not in checks:
                    verdict = {"ok": False, "message": f"unknown check {check_name} (instructor error)"}
                    break
                fn = RemoteFunction(ep, f"fn:{fn_name}", fn_name)
                try:
                    ep.call("exists", (fn_name,), {})
                except StudentError as exc:
                    verdict = {"ok": False, "message": str(exc)}
                    break
                except (RemoteDied, ProtocolError) as exc:
                    verdict = {"ok": False, "message": str(exc)}
                    break
                verdict = _run_check(checks[check_name], fn)
                if not verdict["ok"]:
                    break
            results[test["id"]] = {**verdict, "points": test["points"]}
    finally:
        try:
            if proc.poll() is None:
                ep._send({"op": "bye"})
        except Exception:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for f in (proc.stdin, proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        os.unlink(cells_file)
    return {"setup": setup_errors, "tests": results}


def verify_notebook(source_nb_path: Path, submitted_nb_path: Path | None, timeout: float = 60.0,
                    mem_mb: int | None = 2048, cpu_s: int | None = None) -> dict:
    """Layer 2: re-run every check of ``source_nb_path``'s test cells on the solution cells of the submission."""
    import nbformat

    source_nb = nbformat.read(str(source_nb_path), as_version=4)
    plan = plan_from_notebook(source_nb)
    submitted = None
    notes: list[str] = []
    if submitted_nb_path is not None:
        try:
            submitted = nbformat.read(str(submitted_nb_path), as_version=4)
        except Exception as exc:
            notes.append(f"notebook could not be read: {type(exc).__name__}")
    cells, more = submission_cells(plan, submitted)
    notes += more
    cwd = submitted_nb_path.parent if submitted_nb_path is not None else source_nb_path.parent
    out = verify_cells(cells, plan["tests"], cwd, timeout, mem_mb, cpu_s)
    out["notes"] = notes
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description="Re-run a notebook's checks out of the kernel (JSON on stdout).")
    parser.add_argument("cmd", choices=["verify"])
    parser.add_argument("source", type=Path)
    parser.add_argument("submission", type=Path)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--mem-mb", type=int, default=2048)
    parser.add_argument("--cpu-s", type=int, default=None)
    args = parser.parse_args(argv)
    result = verify_notebook(args.source, args.submission, args.timeout, args.mem_mb, args.cpu_s)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
