"""The training monitor in a real browser: JupyterLab + Debian's Chromium driven by playwright.

Starts JupyterLab on 127.0.0.1 (random free port, token, isolated config/data/runtime dirs), opens a notebook that
trains a small network with the monitor, runs all cells, and checks that the widget renders, that the loss plot
changes while training runs (the browser draws it from the points the kernel sends), that the histograms are shown,
that JupyterLab shows the kernel "Busy" (status bar and toolbar) while the monitored cell runs, and that the Stop
button ends training early with the parameters kept (and that the next cell still runs). Waits are for events (new
points drawn, the end of training) with deadlines counted in training steps, so a busy machine only makes the test
slower. Screenshots go to test-artifacts/. Every process it started (server, kernel, browser) is ended, even on
failure.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT, isolated_env
from tests.lab_server import CHROMIUM, CHROMIUM_ARGS, lab_server, need_chromium, open_and_run_all, pids_mentioning

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
MAX_STEPS = 500_000  # the notebook's training loop gives up by itself after this many steps (a hang guard)
REDRAW_STEPS = 20_000  # the plot must change before training advances this far (~1 min of training when idle)
STALL_SECONDS = 180  # no training progress at all for this long: the kernel is stuck
STOP_STEPS = 20_000  # the Stop click must end training within this many steps

SETUP = """\
import time
import numpy as np
from course.monitor import TrainingMonitor

rng = np.random.default_rng(0)
X = rng.standard_normal((2000, 40)).astype(np.float32)
y = (X[:, :3].sum(1) > 0).astype(np.int64)
P = {"W1": (rng.standard_normal((40, 128)) * np.sqrt(2 / 40)).astype(np.float32), "b1": np.zeros(128, np.float32),
     "W2": (rng.standard_normal((128, 2)) * np.sqrt(2 / 128)).astype(np.float32), "b2": np.zeros(2, np.float32)}
W1_start = P["W1"].copy()
from pathlib import Path
PROGRESS = Path("progress.txt")
print("SETUP DONE")
"""

TRAIN = f"""\
with TrainingMonitor("browser test MLP", metrics=["loss", "val_loss"], every_seconds=0.3, log_scale=True) as mon:
    step = 0
    while step < {MAX_STEPS}:
        idx = rng.integers(0, 1600, 128)
        xb, yb = X[idx], y[idx]
        h = np.maximum(0, xb @ P["W1"] + P["b1"])
        s = h @ P["W2"] + P["b2"]
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        loss = -np.log(p[np.arange(len(yb)), yb] + 1e-12).mean()
        d = p.copy()
        d[np.arange(len(yb)), yb] -= 1
        d /= len(yb)
        G = {{"W2": h.T @ d, "b2": d.sum(0)}}
        dh = d @ P["W2"].T * (h > 0)
        G["W1"], G["b1"] = xb.T @ dh, dh.sum(0)
        for k in P:
            P[k] -= 0.02 * G[k]
        scalars = {{"loss": loss, "accuracy": (s.argmax(1) == yb).mean()}}
        if step % 20 == 0:
            scalars["val_loss"] = loss * 1.05
        mon.update(step, params=P, grads=G, activations={{"h1": h}}, outputs=s, **scalars)
        if mon.stopped:
            break
        step += 1
        if step % 50 == 0:
            PROGRESS.write_text(str(step))  # read by the test: how far training has come
        time.sleep(0.002)
print(("STOPPED" if mon.stopped else "FINISHED") + f" at step {{step}} mode={{mon.mode}} redraws={{mon.redraws}}")
"""

AFTER = """\
print(f"AFTER params kept: finite={bool(np.isfinite(P['W1']).all())} changed={bool((P['W1'] != W1_start).any())}")
"""


LOSS_POINTS = """() => {
  const p = document.querySelector('.course-training-monitor .ctm-panel[data-kind="main"]');
  return p && p.querySelector('canvas') ? parseInt(p.dataset.points || '0', 10) : -1;
}"""
# the kernel state JupyterLab shows: the status bar's "Python 3 (ipykernel) | Busy" and the toolbar's indicator
KERNEL_SHOWN = """() => [
  [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.innerText).find(t => t.includes(' | ')) || '',
  (document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelStatus, .jp-NotebookPanel-toolbar [data-status]')
   || {getAttribute: () => ''}).getAttribute('data-status') || '',
  (document.querySelector('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelStatus') || {title: ''}).title || '']"""


def test_monitor_live_in_jupyterlab(tmp_path):
    sync_playwright = need_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(TRAIN), nbformat.v4.new_code_cell(AFTER)]
    nbformat.write(nb, nbdir / "monitor_test.ipynb")

    env = isolated_env(tmp_path)
    env.pop("COURSE_MONITOR", None)
    env.pop("NBGRADER_EXECUTION", None)
    try:
        with lab_server(tmp_path, nbdir, env, start_timeout=300) as (base, token, env):
            with sync_playwright() as pw:
                # HOME inside tmp_path: chromium's helpers (crashpad handlers detach from it) name their folders
                # after HOME, so the cleanup finds and ends them too.
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             env={**env, "HOME": str(tmp_path / "chromium-home")})
                try:
                    _drive(browser.new_page(viewport={"width": 1400, "height": 1400}), base, token,
                           nbdir / "progress.txt")
                finally:
                    browser.close()
    finally:
        log = tmp_path / "jupyter.log"
        if log.exists():
            (ARTIFACTS / "browser_jupyter.log").write_text(log.read_text(errors="replace"))
    assert not pids_mentioning(str(tmp_path)), "a server, kernel or browser process survived the cleanup"


OUTPUT_HAS = "(t) => [...document.querySelectorAll('.jp-OutputArea-output')].some(e => e.innerText.includes(t))"


def _outputs(page) -> str:
    return "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())


def _progress(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def _wait_while_training(page, progress: Path, done, what: str, max_steps: int):
    """Wait until ``done()`` is true. The deadline scales with how fast training advances: fail when training has
    advanced ``max_steps`` steps without it, or made no progress at all for STALL_SECONDS."""
    start_step, last_step, last_move = _progress(progress), -1, time.monotonic()
    while not done():
        step = _progress(progress)
        if step != last_step:
            last_step, last_move = step, time.monotonic()
        assert step - start_step < max_steps, f"{what} did not happen while training advanced {max_steps} steps"
        assert time.monotonic() - last_move < STALL_SECONDS, f"training made no progress for {STALL_SECONDS} s"
        page.wait_for_timeout(300)


def _drive(page, base, token, progress):
    def shot(name):
        page.screenshot(path=str(ARTIFACTS / f"browser_monitor_{name}.png"), full_page=True)

    try:
        open_and_run_all(page, f"{base}/lab/tree/monitor_test.ipynb?token={token}&reset")

        # a hang guard, not a speed test: the kernel imports numpy, ipywidgets and the course first
        page.wait_for_selector(".course-training-monitor", state="visible", timeout=STALL_SECONDS * 1000)
        seen = {}

        def plot_drawn():  # the browser has drawn the loss panel from the points the kernel sent
            seen["points"] = page.evaluate(LOSS_POINTS)
            return seen["points"] > 0

        _wait_while_training(page, progress, plot_drawn, "the first draw of the loss plot", REDRAW_STEPS)
        first = seen["points"]
        shot("1_training")

        def plot_changed():
            seen["points"] = page.evaluate(LOSS_POINTS)
            return seen["points"] > first

        _wait_while_training(page, progress, plot_changed, "a redraw of the loss plot", REDRAW_STEPS)
        page.wait_for_selector(".course-training-monitor .ctm-hist canvas", state="visible", timeout=10_000)
        assert page.locator(".course-training-monitor .ctm-hist").count() == 4, "W1/W2 weights and gradients"
        assert "no problems detected" in page.inner_text(".course-training-monitor .ctm-diagnoses")
        assert "STOPPED" not in _outputs(page) and "FINISHED" not in _outputs(page), "training ended too early"

        # the kernel is shown busy for the whole run (it read "Idle" once the widget's comm subshell was created)
        shown = []
        for _ in range(8):
            shown.append(page.evaluate(KERNEL_SHOWN))
            page.wait_for_timeout(400)
        print("[browser] kernel shown as", shown[-1])
        assert all(s[0].endswith("| Busy") for s in shown), f"status bar while training: {shown}"
        assert all(s[1] == "busy" for s in shown), f"toolbar kernel indicator while training: {shown}"
        assert "STOPPED" not in _outputs(page) and "FINISHED" not in _outputs(page), "training ended too early"

        page.locator(".course-training-monitor button.ctm-stop").click()
        clicked_step = _progress(progress)
        _wait_while_training(page, progress, lambda: "STOPPED at step" in _outputs(page), "stopping",
                             STOP_STEPS + 1000)
        page.wait_for_function(OUTPUT_HAS, arg="AFTER params kept", timeout=30_000)
        page.wait_for_timeout(500)
        shot("2_stopped")
        page.locator(".course-training-monitor").screenshot(path=str(ARTIFACTS / "browser_monitor_widget.png"))
        text = _outputs(page)
        m = re.search(r"STOPPED at step (\d+) mode=(\w+) redraws=(\d+)", text)
        assert m, text[-2000:]
        assert m.group(2) == "live", f"monitor mode in JupyterLab was {m.group(2)}"
        assert int(m.group(3)) >= 3, "too few redraws during training"
        assert int(m.group(1)) - clicked_step < STOP_STEPS, f"stopped at step {m.group(1)}, clicked at {clicked_step}"
        assert "AFTER params kept: finite=True changed=True" in text
        assert "stopped by you at step" in page.inner_text(".course-training-monitor")
    except BaseException:
        shot("failure")
        raise
