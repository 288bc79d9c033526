"""Shared fixtures: repository paths, chapter list, and an isolated Jupyter environment for subprocesses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.chapters import chapter_names  # noqa: E402
from autograder.paths import tool_env  # noqa: E402

CHAPTERS = chapter_names()
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


def fresh_install_env(tmp: Path, **extra) -> dict:
    """``isolated_env`` for a README set-up command that installs from scratch: no trace of this checkout (its
    venv off PATH, nothing on PYTHONPATH), pip's cache kept (the install is what is tested, not the downloads), and
    pip's byte-compilation of every installed module off: ``PIP_NO_COMPILE=0`` is pip's inverted spelling of
    ``--no-compile`` (``=1`` compiles). Compiling is a third of a fresh install's CPU (measured: 88 s -> 56 s);
    Python then compiles what is imported, on first import (these venvs are writable, never sandboxed)."""
    env = isolated_env(tmp, **extra)
    env["HOME"] = os.environ.get("HOME", env["HOME"])
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONPATH"] = ""
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT)))
    env["PIP_NO_COMPILE"] = "0"
    return env


def compiled_on_install(venv: Path, package: str) -> bool:
    """Whether pip byte-compiled ``package`` in ``venv`` (call before anything imports it)."""
    return any(venv.glob(f"lib/python*/site-packages/{package}/__pycache__"))


# Scheduling (./run.sh test: pytest-xdist --dist loadfile): the longest files first. Order only; every file still
# runs. Under xdist its default loadscope reorder (files with the most tests first) takes precedence: on 2 idle
# cores that pairing was the faster one (13-14 min against 14.6-15.0 min with this order kept, which ran the corpus
# grading beside the browser tests; benchmarks/RESULTS.md).
LONGEST_FIRST = ["test_grading.py", "test_browser_monitors.py", "test_student_edition.py", "test_autograde.py",
                 "test_readme_literal.py", "test_grade_interrupt.py", "test_browser_chapter.py", "test_browser.py"]


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def visible_catch_summary(pytestconfig) -> dict:
    """``{fn: (chapter, caught, total, exceptions)}``, filled by tests/test_corpus.py, printed after the run."""
    return pytestconfig.__dict__.setdefault("visible_catch_summary", {})


def pytest_sessionfinish(session):
    """Under pytest-xdist, a worker hands its rows of the visible-catch table to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    rows = getattr(session.config, "visible_catch_summary", None)
    if workeroutput is not None and rows:
        workeroutput["visible_catch_summary"] = {fn: list(row) for fn, row in rows.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: collect the rows a worker sent (see pytest_sessionfinish)."""
    rows = getattr(node, "workeroutput", {}).get("visible_catch_summary")
    if rows:
        node.config.__dict__.setdefault("visible_catch_summary", {}).update(
            {fn: (row[0], row[1], row[2], row[3]) for fn, row in rows.items()})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the share of the wrong-answer corpus each visible test catches (shows in plain CI output)."""
    rows = getattr(config, "visible_catch_summary", None)
    if not rows:
        return
    terminalreporter.section("visible tests: share of the chapters' wrong answers (chNN_*/wrong.py) they catch")
    total_caught = total = 0
    for fn, (chapter, caught, count, exceptions) in sorted(rows.items(), key=lambda kv: (kv[1][0], kv[0])):
        share = f"{100 * caught / count:5.1f}%" if count else "  n/a"
        note = f"  (not visible: {', '.join(exceptions)})" if exceptions else ""
        terminalreporter.write_line(f"{chapter:<18} {fn:<28} {caught:>3}/{count:<3} {share}{note}")
        total_caught, total = total_caught + caught, total + count
    terminalreporter.write_line(f"{'all':<18} {'':<28} {total_caught:>3}/{total:<3} "
                                f"{100 * total_caught / max(total, 1):5.1f}%")


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

    from course.data import fetching

    for var in ("COURSE_DATA_FIXTURES", local_var):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    opened = []

    def guarded(request, timeout=None):
        url = request.full_url
        assert url.startswith("file://"), f"test tried to open a network URL: {url}"
        opened.append(url)
        return urllib.request.urlopen(request, timeout=timeout)

    monkeypatch.setattr(fetching, "urlopen", guarded)
    return opened
