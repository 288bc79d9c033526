"""Plausible wrong implementations of graded functions, one module per chapter (``chNN_*.py``).

Each module defines ``WRONG = {function_name: [wrong_fn, ...]}``; every wrong function's docstring says
which mistake it makes. Tests assert that ``autograder.checks.check_<function_name>`` rejects each one, and
(tests/test_corpus.py) that the function's visible test does too, except the entries a module lists with a
reason in ``NOT_VISIBLE = {function_name: {wrong_fn_name: reason}}``.
"""

from __future__ import annotations

import importlib
import pkgutil


def all_wrong() -> dict[str, dict[str, list]]:
    """``{chapter_module: {function_name: [wrong_fn, ...]}}`` for every chapter module here."""
    out = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("ch"):
            out[info.name] = importlib.import_module(f"{__name__}.{info.name}").WRONG
    return out
