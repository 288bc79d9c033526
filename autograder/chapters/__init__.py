"""The chapter registry: every tool finds chapters here, and nowhere else.

A chapter is one folder ``chNN_<topic>/`` beside this file, holding everything of that chapter::

    chapter.py    the chapter text (jupytext percent format: prose, code, nbgrader cell metadata)
    reference.py  the reference implementation of each graded function (``__all__`` lists them)
    checks.py     ``check_<function>(fn)`` for each graded function (``__all__`` lists them)
    wrong.py      ``WRONG = {function: [wrong_fn, ...]}`` (optionally ``NOT_VISIBLE``): answers the checks reject
    correct.py    ``CORRECT = {function: [correct_fn, ...]}``: other correct answers the checks accept
    test_chNN.py  the chapter's own tests (beyond the generic ones in tests/)

Its nbgrader assignment (and notebook) name is ``NN_<topic>``: the folder name without ``ch``. Adding a chapter
is copying a folder.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PACKAGE = __name__


@dataclass(frozen=True)
class Chapter:
    """One chapter: ``name`` is the assignment/notebook name (``04_softmax``), ``package`` its folder."""

    name: str

    @property
    def package(self) -> str:
        return f"ch{self.name}"

    @property
    def folder(self) -> Path:
        return HERE / self.package

    @property
    def text(self) -> Path:
        """The chapter text (jupytext percent format)."""
        return self.folder / "chapter.py"

    def module(self, part: str) -> ModuleType:
        """``reference``, ``checks``, ``wrong`` or ``correct`` of this chapter, imported."""
        return importlib.import_module(f"{PACKAGE}.{self.package}.{part}")


def all_chapters() -> list[Chapter]:
    """Every chapter, in order (a folder ``chNN_*`` holding a chapter text)."""
    return [Chapter(p.name[2:]) for p in sorted(HERE.glob("ch[0-9][0-9]_*")) if (p / "chapter.py").is_file()]


def chapter_names() -> list[str]:
    """The assignment names (``NN_<topic>``) of every chapter, in order."""
    return [c.name for c in all_chapters()]


def get(name: str) -> Chapter:
    """The chapter called ``NN_<topic>`` (or ``chNN_<topic>``); KeyError names the known ones."""
    for c in all_chapters():
        if name in (c.name, c.package):
            return c
    raise KeyError(f"unknown chapter {name!r}; known: {', '.join(chapter_names())}")


def collect(part: str) -> dict:
    """``{name: object}`` of the names every chapter's ``part`` module lists in ``__all__``. Two chapters
    exporting one name is a bug (ImportError)."""
    out: dict = {}
    where: dict[str, str] = {}
    for c in all_chapters():
        module = c.module(part)
        for name in module.__all__:
            if name in where:
                raise ImportError(f"{name} is defined in both {where[name]} and {c.package}")
            where[name], out[name] = c.package, getattr(module, name)
    return out


def real_checks() -> dict:
    """``{check_name: real check function}`` of every chapter (for the trusted judge and the tests)."""
    return collect("checks")


def references() -> dict:
    """``{function_name: reference implementation}`` of every chapter."""
    return collect("reference")


def answers(part: str) -> dict[str, dict[str, list]]:
    """``{chapter package: {function: [fn, ...]}}``: ``part`` is ``wrong`` (WRONG) or ``correct`` (CORRECT)."""
    return {c.package: getattr(c.module(part), part.upper()) for c in all_chapters()}
