"""Shared fixtures: repository paths, chapter list, and an isolated Jupyter environment for subprocesses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.build import chapters, tool_env  # noqa: E402

CHAPTERS = chapters()
SHARED_DATA = ROOT.parent / "shared" / "data"


def isolated_env(tmp: Path, **extra) -> dict:
    """Environment for a Jupyter/nbgrader subprocess that reads and writes nothing outside ``tmp``."""
    env = tool_env()
    for var, sub in [("HOME", "home"), ("JUPYTER_CONFIG_DIR", "jcfg"), ("JUPYTER_DATA_DIR", "jdata"),
                     ("JUPYTER_RUNTIME_DIR", "jrun"), ("IPYTHONDIR", "ipy"), ("MPLCONFIGDIR", "mpl")]:
        path = tmp / ".env" / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env.pop("JPY_SESSION_NAME", None)
    env["MPLBACKEND"] = "Agg"
    if SHARED_DATA.is_dir():
        env.setdefault("COURSE_DATA_FIXTURES", str(SHARED_DATA))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def fixtures_env(monkeypatch):
    """Point the course's data loaders at the offline fixtures in ../shared/data (skip if absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"offline fixtures not found at {SHARED_DATA}")
    monkeypatch.setenv("COURSE_DATA_FIXTURES", str(SHARED_DATA))
    return SHARED_DATA
