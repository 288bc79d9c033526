"""Every chapter's training monitor in JupyterLab (Chromium): a screenshot mid-training and one at the end.

One JupyterLab serves a copy of each source notebook (solutions in, QUICK mode, offline fixtures); the test runs
all cells of one chapter at a time and photographs its first monitor while the training cell is still running
(the first plot the widget draws), then every monitor once the notebook has finished. It checks what a student
would see: a loss plot in every monitor (drawn by the browser), a diagnosis line that says the run finished, the
monitor's cost line, and no Python error in the notebook. The screenshots go to test-artifacts/monitors/
(docs/images/ keeps the ones looked at; the README's monitor section links them). Waits are for events, with hang
guards of 4x the chapter's stated time budget.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request

import nbformat
import pytest

from autograder.paths import source_path
from tests.conftest import CHAPTERS, ROOT, SHARED_DATA, isolated_env
from tests.lab_server import CHROMIUM, CHROMIUM_ARGS, lab_server, need_chromium, open_and_run_all, pids_mentioning

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts" / "monitors"
MONITOR = ".course-training-monitor"
# a monitor whose cell is still running ("[*]:" prompt) and whose loss panel the browser has drawn
RUNNING_MONITOR_DRAWN = """() => {
  for (const cell of document.querySelectorAll('.jp-CodeCell')) {
    const prompt = cell.querySelector('.jp-InputPrompt');
    const panel = cell.querySelector('.course-training-monitor .ctm-panel[data-kind="main"]');
    if (prompt && prompt.innerText.includes('*') && panel && parseInt(panel.dataset.points || '0', 10) > 0) {
      return [...document.querySelectorAll('.jp-CodeCell')].indexOf(cell);
    }
  }
  return -1;
}"""
# COURSE_MONITOR_PICTURES=full: the chapters in full mode and a tall page throughout, for the pictures of a
# monitor mid-training in docs/images (quick-mode loops end within a second, before or right after their first
# draw; a tall page while training runs slows the run, so the quick test keeps it for the end pictures)
FULL = os.environ.get("COURSE_MONITOR_PICTURES") == "full"
MID_POINTS = 8  # full mode: the mid-training picture waits (up to 10 s) for this many points on the loss panel
DONE = "notebook-done.txt"  # written by a last cell the test appends: every cell before it has run


def budget(chapter: str) -> float:
    return float(json.loads(source_path(chapter).read_text())["metadata"]["course"]["time_budget_seconds"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    sync_playwright = need_chromium()
    if not SHARED_DATA.is_dir():
        pytest.skip(f"offline fixtures not found at {SHARED_DATA}")
    tmp = tmp_path_factory.mktemp("monitors")
    nbdir = tmp / "notebooks"
    for chapter in CHAPTERS:
        (nbdir / chapter).mkdir(parents=True)
        nb = nbformat.read(source_path(chapter), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(f"open({DONE!r}, 'w').write('done')"))
        nbformat.write(nb, nbdir / chapter / f"{chapter}.ipynb")
    env = isolated_env(tmp, COURSE_DATA_FIXTURES=str(SHARED_DATA), **({} if FULL else {"COURSE_QUICK": "1"}))
    for var in ("COURSE_MONITOR", "NBGRADER_EXECUTION") + (("COURSE_QUICK",) if FULL else ()):
        env.pop(var, None)
    # every cell in the DOM: a windowed notebook leaves off-screen cells out of it, and Run All stopped short there
    tracker = tmp / ".env" / "jcfg" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    with lab_server(tmp, nbdir, env, start_timeout=300) as (base, token, env):
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                         env={**env, "HOME": str(tmp / "chromium-home")})
            try:
                yield browser, base, token, nbdir
            finally:
                browser.close()
    assert not pids_mentioning(str(tmp)), "a server, kernel or browser process survived the cleanup"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_monitor_screenshots_mid_training_and_at_the_end(lab, chapter):
    browser, base, token, nbdir = lab
    done = nbdir / chapter / DONE
    page = browser.new_page(viewport={"width": 1300, "height": 2400 if FULL else 1000})
    guard_ms = 4 * budget(chapter) * 1000 + 120_000  # a hang guard: 4x the budget, plus the kernel's start
    try:
        open_and_run_all(page, f"{base}/lab/tree/{chapter}/{chapter}.ipynb?token={token}&reset")

        start = time.monotonic()
        idle = _Idle(base, token)
        mid = -1
        while mid < 0 and not done.exists():
            mid = page.evaluate(RUNNING_MONITOR_DRAWN)
            assert (time.monotonic() - start) * 1000 < guard_ms, f"{chapter} still running after {guard_ms / 1000} s"
            assert not idle.stalled(), f"{chapter}: the kernel went idle before the last cell: {_errors(page)}"
            page.wait_for_timeout(100)
        if mid >= 0:
            cell = page.locator(".jp-CodeCell").nth(mid)
            panel = cell.locator(f'{MONITOR} .ctm-panel[data-kind="main"]')
            for _ in range(100 if FULL else 0):  # full mode: a few redraws in (the loops run for seconds)
                if int(panel.get_attribute("data-points") or "0") >= MID_POINTS or \
                        "*" not in cell.locator(".jp-InputPrompt").inner_text():
                    break
                page.wait_for_timeout(100)
            cell.locator(MONITOR).scroll_into_view_if_needed()
            cell.locator(MONITOR).screenshot(path=str(ARTIFACTS / f"{chapter}_1_mid.png"))
            running = "*" in cell.locator(".jp-InputPrompt").inner_text()
            print(f"[monitors] {chapter}: mid picture of cell {mid}, {'still running' if running else 'ended'}")
            if FULL:  # the pictures mid-training only: the end pictures come from the QUICK run
                return
        else:  # chapter 1's 6-epoch run can end before the first draw reaches the page: no mid-training picture
            print(f"[monitors] {chapter}: every training cell ended before its first plot showed; no mid screenshot")

        while not done.exists():
            assert (time.monotonic() - start) * 1000 < guard_ms, f"{chapter} still running after {guard_ms / 1000} s"
            assert not idle.stalled(), f"{chapter}: the kernel went idle before the last cell: {_errors(page)}"
            page.wait_for_timeout(500)
        page.wait_for_timeout(1000)  # the final redraw of each monitor
        # tall for the end pictures only, so a whole monitor is in view (rendering a tall page while training runs
        # slowed the run by a quarter)
        page.set_viewport_size({"width": 1300, "height": 2400})
        page.wait_for_timeout(500)
        monitors = page.locator(MONITOR)
        assert monitors.count() >= 1
        for i in range(monitors.count()):
            monitors.nth(i).scroll_into_view_if_needed()
            monitors.nth(i).screenshot(path=str(ARTIFACTS / f"{chapter}_2_end_{i + 1}.png"))
            loss = monitors.nth(i).locator('.ctm-panel[data-kind="main"]')
            assert loss.count() == 1 and int(loss.get_attribute("data-points")) > 0, f"monitor {i + 1}: no loss plot"
            assert loss.locator("canvas").evaluate("c => c.width") > 300, f"monitor {i + 1}: loss plot too small"
            text = monitors.nth(i).inner_text()
            assert "so far" not in text and ("Finished" in text or "stopped by you" in text), \
                f"monitor {i + 1}: the end is not said: {text[:300]}"
            assert monitors.nth(i).locator(".ctm-diagnoses").inner_text().strip(), f"monitor {i + 1}: no diagnosis"
            assert "monitor cost" in monitors.nth(i).inner_text(), f"monitor {i + 1}: does not say what it cost"
        assert not _errors(page), f"{chapter} raised: {_errors(page)}"
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / f"{chapter}_failure.png"), full_page=True)
        raise
    finally:
        page.close()
        _shut_down_kernels(base, token)


def _errors(page) -> list[str]:
    """Error outputs shown in the notebook (first 300 characters each)."""
    texts = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
    return [t[:300] for t in texts if "Traceback" in t or "Error" in t.split("\n")[0]]


class _Idle:
    """Whether every kernel has been idle for STALL_S seconds in a row (Run All stopped short of the last cell)."""

    STALL_S = 20.0

    def __init__(self, base: str, token: str):
        self.url, self.since = f"{base}/api/kernels?token={token}", None

    def stalled(self) -> bool:
        with urllib.request.urlopen(self.url, timeout=10) as r:
            kernels = json.load(r)
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            self.since = self.since or time.monotonic()
            return time.monotonic() - self.since > self.STALL_S
        self.since = None
        return False


def _shut_down_kernels(base: str, token: str):
    """End the chapter's kernel (JupyterLab keeps it after the tab closes)."""
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as r:
        sessions = json.load(r)
    for session in sessions:
        req = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(req, timeout=30).close()
