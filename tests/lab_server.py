"""JupyterLab and Debian's Chromium for the browser tests: start both isolated, end every process they started.

``with lab_server(tmp_path, root_dir) as (base, token, env):`` runs JupyterLab on 127.0.0.1 (free port, token,
JUPYTER_*_DIR/IPYTHONDIR/HOME under ``tmp_path``, ``--allow-root``); on exit the server, its kernels and any
browser helper whose command line names ``tmp_path`` are ended.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import isolated_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def need_chromium():
    """playwright's ``sync_playwright`` (skip outside CI when Chromium or playwright is missing)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/browser-deps should have installed it")
        pytest.skip(f"{CHROMIUM} not installed (run .ci/browser-deps as root to install Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("the playwright package is not installed (pip install -e .[test])")
    return sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pids_mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (a unique temp path): a server, its kernels, a browser."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def end_processes(server: subprocess.Popen, marker: str) -> None:
    """SIGTERM the server, then TERM/KILL anything still naming ``marker`` (kernels, browser helpers)."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    deadline = time.monotonic() + 10
    while (pids := pids_mentioning(marker)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM if time.monotonic() < deadline - 5 else signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)


def wait_until_serving(url: str, proc: subprocess.Popen, timeout: float, log_path: Path, name: str) -> None:
    """Return once ``url`` answers 200; fail with the end of ``log_path`` if ``proc`` exits or ``timeout`` s pass (a
    hang guard, not a speed requirement)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        assert proc.poll() is None, f"{name} exited:\n" + log_path.read_text()[-4000:]
        assert time.monotonic() < deadline, f"no answer from {name} in {timeout:g} s:\n" + log_path.read_text()[-4000:]
        time.sleep(0.5)


@contextlib.contextmanager
def lab_server(tmp_path: Path, root_dir: Path, env: dict | None = None, start_timeout: float = 120):
    """Yield ``(base_url, token, env)`` of a JupyterLab serving ``root_dir``; end it and its children after."""
    port, token = free_port(), secrets.token_hex(16)
    env = env or isolated_env(tmp_path)
    news = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')  # no news toast
    log_path = tmp_path / "jupyter.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root_dir}", "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(f"{base}/api/status?token={token}", server, start_timeout, log_path, "JupyterLab")
            yield base, token, env
        finally:
            end_processes(server, str(tmp_path))


KERNEL_IDLE = "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => e.innerText.endsWith('| Idle'))"


def open_and_run_all(page, url: str, kernel_timeout_s: float = 300) -> None:
    """Open the notebook at ``url`` in JupyterLab and click Run > Run All Cells once its kernel is connected and
    idle (the status bar says "| Idle"): cells run before that were seen to be dropped, the kernel staying idle.
    ``kernel_timeout_s`` is a hang guard for the kernel's start."""
    page.goto(url, timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=kernel_timeout_s * 1000, polling=250)
    page.wait_for_timeout(500)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
