"""Issue 26: one verdict. For every answer of the corpus (each chapter's ``correct.py`` and ``wrong.py``), three
verdicts of the same answer:

* **visible**: the notebook's visible test of that function (tests/test_corpus.py's ``Chapter.run_visible``);
* **self-check**: ``course-selfcheck`` (:func:`autograder.selfcheck.selfcheck`) on a notebook built from the chapter's
  source with the answer put into its solution cell;
* **grade**: that notebook through ``python -I -m autograder.trusted.recheck verify`` as course-grade runs it
  (:func:`autograder.grading.student.judge`'s command, limited to that function's test cell).

The answer's module (and the chapter's reference it may use) goes into the solution cell as plain code, wrapped in
functions so none of their names but the graded one lands in the notebook's namespace: the sandbox refuses to
import ``autograder.chapters``. To keep the sandboxes few, one notebook holds the i-th answer of every function of a
chapter (each answer is self-contained and every test cell checks one function, which calls no other graded
function: the verdict of each test is that answer's). Used by tests/test_verdicts.py and
benchmarks/bench_verdicts.py.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import inspect
import io
import json
import multiprocessing
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from autograder.chapters import all_chapters
from autograder.notebook import defined_functions
from autograder.paths import ROOT, source_path, tool_env
from autograder.trusted.recheck import DEFAULT_MEM_MB, DEFAULT_TIMEOUT, plan_from_notebook

MODULES = "corpus_modules"  # the cell's dict of the chapter modules it inlined


def _chapter_imports(tree) -> list[str]:
    """Chapter modules (``reference``, ``wrong_speed``...) a module imports from its chapter package."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograder.chapters."):
            parts = node.module.split(".")
            out += [a.name for a in node.names] if len(parts) == 3 else [parts[3]]
    return out


def _wrapped(module, name: str) -> str:
    """``module``'s source as ``def name(corpus_modules): <body>; return a namespace of its names``, its imports of
    chapter modules taken from ``corpus_modules``."""
    tree = ast.parse(inspect.getsource(module))
    body = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograder.chapters."):
            parts = node.module.split(".")
            for alias in node.names:
                value = (f"{MODULES}[{alias.name!r}]" if len(parts) == 3
                         else f"{MODULES}[{parts[3]!r}].{alias.name}")
                body.append(ast.parse(f"{alias.asname or alias.name} = {value}").body[0])
            continue
        body.append(node)
    body.append(ast.parse("return __import__('types').SimpleNamespace(**locals())").body[0])
    fn = ast.parse(f"def {name}({MODULES}):\n    pass").body[0]
    fn.body = body
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=[fn], type_ignores=[])))


def answer_code(fn: str, impl) -> str:
    """Code defining ``fn`` as ``impl`` (from a chapter's correct.py or wrong.py) without importing autograder: the
    answer's module and the chapter modules it imports (recursively), each wrapped in a function."""
    module = inspect.getmodule(impl)
    package = module.__name__.rsplit(".", 1)[0]
    order: list[str] = []

    def visit(short: str):
        if short in order:
            return
        for dep in _chapter_imports(ast.parse(inspect.getsource(importlib.import_module(f"{package}.{short}")))):
            visit(dep)
        order.append(short)

    visit(module.__name__.rsplit(".", 1)[1])
    parts = [f"{MODULES} = {{}}"]
    for short in order:
        parts += [_wrapped(importlib.import_module(f"{package}.{short}"), f"corpus_module_{short}"),
                  f"{MODULES}[{short!r}] = corpus_module_{short}({MODULES})"]
    parts.append(f"{fn} = {MODULES}[{order[-1]!r}].{impl.__name__}")
    code = "\n\n".join(parts)
    _assert_defines(code, fn)
    return code


def _assert_defines(code: str, fn: str):
    """The answer code runs here (numpy as np) and defines ``fn`` as a plain function: else the corpus machinery,
    not the answer, is broken, and a notebook built from it would grade the reference instead (its solution cell)."""
    import types

    import numpy as np

    ns = {"np": np, "__name__": "corpus_answer"}
    exec(compile(code, f"<answer {fn}>", "exec"), ns)
    assert isinstance(ns.get(fn), types.FunctionType), f"the answer code for {fn} does not define it as a function"


@functools.cache
def _source(chapter: str):
    return nbformat.read(str(source_path(chapter)), as_version=4)


def test_id(chapter: str, fn: str) -> str:
    """The test cell whose hidden region checks ``fn``."""
    return next(t["id"] for t in plan_from_notebook(_source(chapter))["tests"] if any(f == fn for _, f in t["checks"]))


def notebook_with(chapter: str, chosen: dict):
    """The chapter's source notebook with each ``{fn: impl}`` defined at the end of ``fn``'s solution cell."""
    nb = copy.deepcopy(_source(chapter))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            for fn in defined_functions(cell.source):
                if fn in chosen:
                    cell.source = cell.source + "\n\n" + answer_code(fn, chosen[fn])
    return nb


def selfcheck_verdicts(path: Path, chapter: str, tids: set[str]) -> dict[str, bool]:
    """course-selfcheck's verdict on those test cells ({test id: passed}), read from its printed report."""
    from autograder.selfcheck import selfcheck

    out = io.StringIO()
    selfcheck(path, chapter, out=out, only=tids)
    assert "a cell raised an error" not in out.getvalue(), out.getvalue()  # the machinery failed, not the answer
    lines = [ln.strip() for ln in out.getvalue().splitlines() if ln.strip().startswith(("[PASS]", "[FAIL]"))]
    order = [t["id"] for t in plan_from_notebook(_source(chapter))["tests"] if t["id"] in tids]
    assert len(lines) == len(order), out.getvalue()
    return {tid: line.startswith("[PASS]") for tid, line in zip(order, lines)}


def grade_verdicts(path: Path, chapter: str, tids: set[str]) -> dict[str, bool]:
    """course-grade's verdicts on those test cells: the trusted re-check's command line, as grade_student runs it."""
    cmd = [sys.executable, "-I", "-m", "autograder.trusted.recheck", "verify", str(source_path(chapter)), str(path),
           f"--timeout={DEFAULT_TIMEOUT:g}", f"--mem-mb={DEFAULT_MEM_MB}", "--isolation=bwrap",
           *(f"--test={t}" for t in sorted(tids))]
    env = {**tool_env(), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=40 * DEFAULT_TIMEOUT)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["setup"] and not result["notes"], result  # the machinery failed, not the answer
    return {tid: bool(result["tests"][tid]["ok"]) for tid in tids}


def not_visible(chapter_package: str) -> dict:
    """{fn: {answer name: reason}}: wrong answers a visible test cannot see (a chapter's wrong.NOT_VISIBLE)."""
    module = importlib.import_module(f"autograder.chapters.{chapter_package}.wrong")
    return getattr(module, "NOT_VISIBLE", {})


def answers() -> list[dict]:
    """Every corpus answer: ``{chapter, package, fn, answer, kind, impl}``."""
    out = []
    for ch in all_chapters():
        for kind in ("correct", "wrong"):
            for fn, impls in getattr(ch.module(kind), kind.upper()).items():
                out += [{"chapter": ch.name, "package": ch.package, "fn": fn, "answer": impl.__name__, "kind": kind,
                         "impl": impl} for impl in impls]
    return out


def batches(rows: list[dict]) -> list[list[dict]]:
    """Rows grouped so a batch holds at most one answer per function, of one chapter."""
    per: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        per.setdefault((row["chapter"], row["fn"]), []).append(row)
    out: dict[tuple[str, int], list[dict]] = {}
    for (chapter, _), group in per.items():
        for i, row in enumerate(group):
            out.setdefault((chapter, i), []).append(row)
    return list(out.values())


def verdicts(batch: list[dict]) -> list[dict]:
    """Self-check and grade verdicts (True = passes) of each answer of a batch (rows carry ``visible``)."""
    chapter = batch[0]["chapter"]
    tids = {row["fn"]: test_id(chapter, row["fn"]) for row in batch}
    with tempfile.TemporaryDirectory(prefix="verdicts-") as tmp:
        path = Path(tmp) / f"{chapter}.ipynb"
        nbformat.write(notebook_with(chapter, {row["fn"]: row["impl"] for row in batch}), str(path))
        own = selfcheck_verdicts(path, chapter, set(tids.values()))
        grade = grade_verdicts(path, chapter, set(tids.values()))
    out = []
    for row in batch:
        fn, tid = row["fn"], tids[row["fn"]]
        reason = not_visible(row["package"]).get(fn, {}).get(row["answer"])
        out.append({**{k: v for k, v in row.items() if k != "impl"}, "selfcheck": own[tid], "grade": grade[tid],
                    "not_visible": reason})
    return out


def table(rows: list[dict], workers: int = 2) -> list[dict]:
    """The three verdicts of every row: the visible tests here (one thread: they swap stdout and warnings), then
    verdicts(), ``workers`` notebooks at a time (each runs two sandboxes), in forked processes (CPython 3.11's
    parser is not safe across threads: "AST constructor recursion depth mismatch")."""
    from tests.test_corpus import chapter as corpus_chapter

    rows = [{**r, "visible": corpus_chapter(r["chapter"]).run_visible(r["fn"], {r["fn"]: r["impl"]}) is None}
            for r in rows]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return [v for done in pool.map(verdicts, batches(rows)) for v in done]
