"""Independent correct implementations of graded functions, one module per chapter (``chNN_*.py``).

Each module defines ``CORRECT = {function_name: [correct_fn, ...]}``: at least two implementations per graded
function, differing in choices the exercise leaves open (loops vs vectorised, einsum vs matmul, OrderedDict vs
dict, a namedtuple cache, ...); each docstring says what it does differently. Tests assert that
``autograder.checks.check_<function_name>`` and the visible tests accept every one.
"""

from __future__ import annotations

import importlib
import pkgutil


def all_correct() -> dict[str, dict[str, list]]:
    """``{chapter_module: {function_name: [correct_fn, ...]}}`` for every chapter module here."""
    out = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("ch"):
            out[info.name] = importlib.import_module(f"{__name__}.{info.name}").CORRECT
    return out
