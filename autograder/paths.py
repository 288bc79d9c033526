"""Where things are: the repository root, the committed notebooks of a chapter, the tools' environment.

Runtime code (grading, self-check, tests) imports this instead of the authoring build."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def source_path(chapter: str, root: Path = ROOT) -> Path:
    """The nbgrader source notebook (solutions and hidden tests) of ``chapter`` under ``root``."""
    return root / "source" / chapter / f"{chapter}.ipynb"


def release_path(chapter: str, root: Path = ROOT, lang: str | None = None) -> Path:
    """The released student notebook of ``chapter`` under ``root``; with ``lang`` (``zh_CN``) its translation,
    under ``release-<lang>/`` (same assignment and notebook name, same code cells and grade ids)."""
    return root / ("release" if lang is None else f"release-{lang}") / chapter / f"{chapter}.ipynb"


def tool_env(base: dict | None = None) -> dict:
    """Environment for running nbgrader/jupyter subprocesses: this interpreter's bin folder first on PATH
    (nbgrader calls ``alembic`` by name)."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env
