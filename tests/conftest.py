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


def offline_download_env(tmp_path: Path, monkeypatch, local_var: str) -> list[str]:
    """For the real loaders: no fixtures and no local copy (``local_var``), a fresh cache in tmp_path, and only
    file:// URLs may be opened. Returns the list of URLs opened, filled as the loaders run."""
    import urllib.request

    from course.data import _fetch

    for var in ("COURSE_DATA_FIXTURES", local_var):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    opened = []

    def guarded(request, timeout=None):
        url = request.full_url
        assert url.startswith("file://"), f"test tried to open a network URL: {url}"
        opened.append(url)
        return urllib.request.urlopen(request, timeout=timeout)

    monkeypatch.setattr(_fetch, "urlopen", guarded)
    return opened
