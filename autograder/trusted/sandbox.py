"""The student side of an out-of-kernel check (see :mod:`autograder.trusted.judge` for the design).

``main([CELLS.json])`` answers the trusted side's calls on its stdin/stdout: ``cell`` runs one of the given cells
(the instructor's locked cells, the student's solution cells and the cells they added, in the notebook's order:
see :mod:`autograder.trusted.rebuild`) in one fresh namespace, one call per cell so the trusted side holds each
cell to its own deadline; then the judge calls the graded functions. Nothing here decides a grade: the judge
compares.

It runs inside a bubblewrap sandbox (:mod:`autograder.trusted.isolation`; started by
:mod:`autograder.trusted.recheck` as ``python -I -c ...`` from a private copy of only this module and the channel's
modules: the checks, references and the rest of the course do not exist in there, nor does the grader's ``/proc``).

Before any student code runs:

* stdout/stderr go to /dev/null (the protocol uses private copies of the pipe descriptors);
* every import of a module whose file lies under ``autograder/chapters`` or ``autograder/checks`` (the
  chapters' references, checks and answers) is refused (``course.testing`` needs none of them: its helpers live
  in ``course``),
  whatever name or ``sys.path`` trick is used: an answer that imports the
  reference implementation fails with ImportError instead of passing;
* a graded name must be a plain function defined in one of the student's own cells (a solution cell or a
  code cell they added), never one imported or taken from elsewhere;
* matplotlib is deferred (:data:`DEFERRED`): the setup cell's ``import matplotlib.pyplot as plt`` binds a stand-in
  that imports the real module at its first use.
"""

from __future__ import annotations

import importlib
import importlib.abc
import json
import os
import sys
import types
from pathlib import Path

PKG_DIR = Path(__file__).resolve().parent.parent
INSTRUCTOR_ONLY = ("autograder.chapters", "autograder.checks")  # module names answers may not import
OWN_KINDS = ("solution", "added")  # cells the student wrote: graded functions must be defined in one of them
_FORBIDDEN = [str(PKG_DIR / sub) for sub in ("chapters", "checks")]
# Imported by every chapter's setup cell, called by no graded function: loaded when first used. (matplotlib.pyplot
# was ~0.4 s of CPU per student, half of the rebuild's start; what a cell computes does not change.)
DEFERRED = ("matplotlib", "matplotlib.pyplot")


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuse modules that live in the instructor-only parts of ``autograder``."""

    def find_spec(self, name, path=None, target=None):
        if name.startswith(INSTRUCTOR_ONLY):
            raise ImportError(f"{name} is not available to answers")
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None:
                continue
            origin = str(Path(spec.origin).resolve()) if spec.origin and spec.origin not in ("built-in", "frozen") \
                else ""
            if origin and any(origin.startswith(f) for f in _FORBIDDEN):
                raise ImportError(f"{name} is not available to answers")
            return None  # let the normal machinery load it
        return None


def _install_blocker():
    """Forget instructor-only modules already imported and refuse them from now on."""
    for name in [n for n in sys.modules if n.startswith(INSTRUCTOR_ONLY)]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Blocker())


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module of :data:`DEFERRED` until code reads an attribute it lacks; then the
    real module is imported and that read (and every later one) goes to it."""

    def __getattr__(self, attr):
        for name in DEFERRED:  # the real import must not find the stand-ins
            if isinstance(sys.modules.get(name), _Deferred):
                del sys.modules[name]
        return getattr(importlib.import_module(self.__name__), attr)


def _defer():
    """Put a :class:`_Deferred` stand-in for each module of :data:`DEFERRED` in ``sys.modules`` (a parent's
    stand-in holds its child's, so ``import matplotlib.pyplot as plt`` loads nothing until ``plt`` is used)."""
    stand_ins = {name: _Deferred(name) for name in DEFERRED}
    for name, module in stand_ins.items():
        parent, _, child = name.rpartition(".")
        if parent in stand_ins:
            setattr(stand_ins[parent], child, module)
        sys.modules[name] = module


class _FakeIPython:
    """Enough of ``get_ipython()`` for magics in setup cells (%matplotlib inline) to do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    getoutput = system


def run_cells(cells: list[dict], ns: dict) -> list[str]:
    """Execute each cell's ``code`` (its source as IPython runs it, made on the trusted side:
    :func:`autograder.notebook.python_code`) in ``ns``; errors are recorded (like nbgrader's allow_errors), not
    raised."""
    errors = []
    for cell in cells:
        try:
            code = compile(cell["code"], f"<{cell['name']}>", "exec")
            exec(code, ns)
        except BaseException as exc:  # noqa: B036 - sys.exit in a cell is an error of that cell
            try:
                msg = str(exc)[:300]
            except Exception:
                msg = ""
            errors.append(f"{cell['name']}: {type(exc).__name__}: {msg}")
    return errors


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rfd, wfd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    cells = json.loads(Path(argv[0]).read_text())
    _install_blocker()
    _defer()
    if len(argv) > 2:  # the attempt pipe (autograder.trusted.audit): refused and suspicious actions, as they happen
        from autograder.trusted.audit import install

        install(int(argv[1]), **json.loads(argv[2]))
    from autograder.trusted.channel import Endpoint
    from autograder.trusted.errors import english, tagged

    ns: dict = {"__name__": "__main__", "get_ipython": _FakeIPython}
    errors: list[str] = []
    own_files = {f"<{c['name']}>" for c in cells if c.get("kind") in OWN_KINDS or c["name"].startswith("solution ")}
    ep = None

    def run_cell(index):
        """Run cell ``index``; its error as text, or None."""
        failed = run_cells([cells[int(index)]], ns)
        errors.extend(failed)
        return failed[0] if failed else None

    def exists(name):
        fn = ns.get(name)
        if fn is None:  # sent by key and values: the trusted side words it in the learner's language
            key, names = ("not_defined", {"name": name, "errors": "; ".join(errors)}) if errors \
                else ("not_defined_no_error", {"name": name})
            raise tagged(NameError(english(key, names)), key, names)
        code = getattr(fn, "__code__", None)
        if not isinstance(fn, types.FunctionType) or code is None or code.co_filename not in own_files:
            names = {"name": name, "type_name": type(fn).__name__}
            raise tagged(TypeError(english("not_own_function", names)), "not_own_function", names)
        return True

    def resolve(target: str):
        if target == "cell":
            return run_cell
        if target == "setup:errors":
            return lambda: errors
        if target == "exists":
            return exists
        if target.startswith("fn:"):
            exists(target[3:])
            return ns[target[3:]]
        if target.startswith("h:"):
            return ep.handles[int(target[2:])]
        raise KeyError(target)

    ep = Endpoint(rfd, wfd, resolve)
    ep.serve_forever()
    os._exit(0)  # skip interpreter teardown (student atexit handlers, threads)


if __name__ == "__main__":
    sys.exit(main())
