"""The live monitor's data flow (only new points and histogram counts reach the browser), readable panels (ticks
without SI letters, legends and notes beside the data, a final status that agrees with the log) and the kernel
kept shown busy. The browser side is checked in tests/test_browser.py and tests/test_browser_monitors.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course.kernel_status import BusyKeeper
from course.monitor import TrainingMonitor
from course.monitor_live import BINS, LivePlots, histogram_counts
from course.monitor_plot import CurvesFigure, log_tick_label, tick_label

NUMBER = re.compile(r"^-?\d+(\.\d+)?(e-?\d+)?$")  # "0.25", "2559", "2.5e-3", "1e6": no SI letter, no "+"


class Recorder(LivePlots):
    """LivePlots whose messages are kept instead of sent (no frontend here)."""

    def send(self, content, buffers=None):
        self.sent = getattr(self, "sent", []) + [content]


def _ready(plots):
    plots._on_message(plots, {"t": "ready"}, [])


def test_nothing_is_sent_before_the_page_is_ready_then_everything_once():
    history, stats = {"loss": [(s, 1.0 / (s + 1)) for s in range(50)]}, {}
    plots = Recorder(history, stats)
    assert not plots.push() and not getattr(plots, "sent", [])
    _ready(plots)
    assert plots.push()
    (msg,) = plots.sent
    assert msg["reset"] and msg["panels"]["main"]["loss"][0] == list(range(50))


def test_each_push_sends_only_the_new_points():
    history, stats = {"loss": []}, {"grad_rms": {"W1": []}}
    plots = Recorder(history, stats)
    _ready(plots)
    sizes = {}
    for step in range(5000):
        history["loss"].append((step, 1.0 / (step + 1)))
        stats["grad_rms"]["W1"].append((step, 0.1))
        if step in (9, 4999):
            plots.push()
            sizes[step] = len(json.dumps(plots.sent[-1]))
        elif step in (8, 4998):
            plots.push()
    last = plots.sent[-1]
    assert last["panels"] == {"main": {"loss": [[4999], [1.0 / 5000]]}, "grad_rms": {"W1": [[4999], [0.1]]}}
    assert not last["reset"]
    assert sizes[4999] < sizes[9] + 20, sizes  # one new point costs the same after 10 or 5000 points
    assert not plots.push(), "nothing new: nothing sent"


def test_a_reloaded_page_gets_everything_again():
    history = {"loss": [(0, 1.0), (1, 0.5)]}
    plots = Recorder(history, {})
    _ready(plots)
    plots.push()
    history["loss"].append((2, 0.25))
    _ready(plots)  # a second page (or a reload) asks again
    plots.push()
    assert plots.sent[-1]["reset"] and plots.sent[-1]["panels"]["main"]["loss"][0] == [0, 1, 2]


def test_non_finite_values_travel_as_gaps():
    plots = Recorder({"loss": [(0, 1.0), (1, float("nan")), (2, float("inf"))]}, {})
    _ready(plots)
    plots.push()
    assert plots.sent[-1]["panels"]["main"]["loss"][1] == [1.0, None, None]
    json.dumps(plots.sent[-1], allow_nan=False)  # valid JSON for the browser


def test_histograms_travel_as_counts_whatever_the_layer_size():
    rng = np.random.default_rng(0)
    small = {"W1": rng.standard_normal((4, 8)), "W2": rng.standard_normal((8, 2))}
    big = {"W1": rng.standard_normal((3000, 500)), "W2": rng.standard_normal((500, 10))}
    sizes = []
    for params in (small, big):
        hist = histogram_counts(params, {"W2": params["W2"], "W1": params["W1"]})
        assert list(hist["gradients"]) == ["W1", "W2"], "gradients in the params' order, under their weights"
        assert all(len(h["counts"]) == BINS for layers in hist.values() for h in layers.values())
        sizes.append(len(json.dumps(hist)))
    assert sizes[1] < 2 * sizes[0] + 400, sizes


def test_unchanged_histograms_are_not_sent_again():
    params = {"W1": np.ones((3, 3))}
    plots = Recorder({"loss": [(0, 1.0)]}, {})
    _ready(plots)
    plots.set_histograms(params, None)
    plots.push()
    assert "hist" in plots.sent[-1]
    plots.set_histograms(params, None)
    assert not plots.push()


def test_live_monitor_sends_kilobytes_not_images():
    mon = TrainingMonitor("t", mode="live", every_seconds=0.0, stats_every_seconds=0)
    mon._redraw()  # the first redraw displays the widget
    plots = mon._view.plots
    plots.send = lambda content, buffers=None: None
    _ready(plots)
    rng = np.random.default_rng(0)
    P = {"W1": rng.standard_normal((784, 128)), "W2": rng.standard_normal((128, 10))}
    for step in range(200):
        mon.update(step, params=P, grads=P, loss=1.0 / (step + 1))
        if step % 20 == 0:
            mon._redraw()  # what the time schedule does every every_seconds
    mon.close()
    assert plots.messages >= 10
    assert plots.bytes_sent / plots.messages < 4000, plots.bytes_sent / plots.messages  # a PNG was 40-90 kB


@pytest.mark.parametrize("step", [1e-9, 2.5e-6, 1e-3, 0.02, 0.25, 1, 2.5, 50, 1000, 2e5, 5e7])
def test_tick_labels_are_plain_or_scientific_numbers(step):
    for k in range(-4, 5):
        label = tick_label(k * step, step)
        assert NUMBER.match(label), (k * step, step, label)
    labels = [tick_label(k * step, step) for k in range(-4, 5)]
    assert len(set(labels)) == len(labels), f"ticks {step} apart read the same: {labels}"


def test_log_tick_labels_are_plain_or_scientific_numbers():
    for v in (1e-9, 3e-5, 1e-3, 0.02, 1, 2554, 1e4, 1e5, 3e8):
        assert NUMBER.match(log_tick_label(v)), (v, log_tick_label(v))


def _figure_texts(fig):
    fig.canvas.draw()
    return [t.get_text() for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
            for t in axis.get_ticklabels(which="both") if t.get_text()]


def test_static_figures_have_no_si_letters_and_sensible_one_point_ticks():
    fig = CurvesFigure("t", "step", False, 0.6)
    fig.render({"loss": [(0, 2559.3)]}, {})  # the first draw, one point
    labels = _figure_texts(fig.fig)
    assert labels and all(NUMBER.match(t.replace("\u2212", "-")) for t in labels), labels
    assert len(set(labels)) == len(labels), labels
    mon = TrainingMonitor("t", mode="static", stats_every_seconds=0)
    rng = np.random.default_rng(0)
    P = {"W1": rng.standard_normal((4, 8)) * 0.8, "W2": rng.standard_normal((8, 2)) * 5e-8}
    for step in range(40):
        mon.update(step * 100, params=P, grads=P, loss=2559 + rng.standard_normal(), outputs=rng.random((4, 2)))
    mon.render_png()
    mon.render_histograms_png()
    for f in (mon._curves.fig, mon._hists.fig):
        labels = _figure_texts(f)
        assert labels and all(NUMBER.match(t.replace("\u2212", "-")) for t in labels), labels


def test_legends_and_notes_sit_beside_the_data():
    mon = TrainingMonitor("t", metrics=["loss", "val_loss"], mode="static", stats_every_seconds=0)
    W = np.ones((3, 3))
    for i in range(60):
        W = W * (1e3 if i == 1 else 1.0)  # a huge step, then frozen: an off-scale ratio and zero ratios
        mon.update(i, params={"W": W}, grads={"W": W}, loss=1.0 / (i + 1), val_loss=1.1 / (i + 1))
    mon.render_png()
    fig = mon._curves.fig
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer)), ax.get_title()
        assert not ax.texts, f"text drawn on the data of {ax.get_title()}"
    notes = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert any("off scale" in t for t in notes) and any("ratio 0" in t for t in notes), notes


def test_final_status_agrees_with_the_log():
    clean = TrainingMonitor("t", mode="live", every_seconds=0.0)
    for step in range(5):
        clean.update(step, loss=1.0 / (step + 1))
    clean._redraw()  # a redraw during the run
    assert "so far" in clean._view.diag.value
    clean.close()
    assert "Finished" in clean._view.diag.value and "so far" not in clean._view.diag.value
    assert "finished" in clean._view.status.value
    frozen = TrainingMonitor("t", mode="live", every_seconds=0.0, stats_every_seconds=0)
    W = np.ones((3, 3))
    for step in range(10):
        frozen.update(step, params={"W": W}, grads={"W": W}, loss=1.0)
    frozen.close()
    assert frozen.diagnoses, "this run has findings"
    text = frozen._view.diag.value
    assert "Finished" in text and "no problems" not in text and "so far" not in text
    stopped = TrainingMonitor("t", mode="live")
    stopped.update(0, loss=1.0)
    stopped.stop()
    stopped.close()
    assert "Stopped by you at step 0" in stopped._view.diag.value and "Finished" not in stopped._view.diag.value


class FakeKernel:
    def __init__(self):
        self.parents = {"shell": {"header": {"msg_id": "cell", "msg_type": "execute_request"}}, "control": {}}
        self.published = []

    def get_parent(self, channel):
        return self.parents[channel]

    def _publish_status(self, status, channel, parent=None):
        self.published.append((status, (parent or self.get_parent(channel)).get("header", {}).get("msg_id")))


class FakeShell:
    def __init__(self):
        from IPython.core.events import EventManager, available_events

        self.events = EventManager(self, available_events)


def test_busy_keeper_follows_a_foreign_idle_with_busy_until_the_cell_ends():
    kernel, shell = FakeKernel(), FakeShell()
    keeper = BusyKeeper(shell, kernel)
    sub = {"header": {"msg_id": "subshell", "msg_type": "create_subshell_request"}}
    kernel._publish_status("busy", "control", sub)
    kernel._publish_status("idle", "control", sub)
    assert kernel.published == [("busy", "subshell"), ("idle", "subshell"), ("busy", "cell")]
    shell.events.trigger("post_run_cell", None)  # the cell ends: its own idle goes out alone
    kernel._publish_status("idle", "shell")
    kernel._publish_status("idle", "control", sub)
    assert kernel.published[3:] == [("idle", "cell"), ("idle", "subshell")]
    assert keeper.reasserted == 1 and "_publish_status" not in vars(kernel)


def test_busy_keeper_is_not_installed_outside_a_kernel():
    assert BusyKeeper.install() is None


def test_browser_tick_labels_have_no_si_letters():
    """The same rules in the browser's drawing code (run with node where it is installed)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    from course.monitor_live_js import ESM

    numbers = ESM.split("// ---- numbers")[1].split("// ---- scales")[0]
    script = numbers.split("\n", 1)[1] + """
const out = [];
for (const [lo, hi] of [[-0.012, 0.011], [2558.5, 2561.5], [-0.8, 0.15], [-5e-8, 5e-8], [0, 3e6], [0, 1344],
                        [0.62, 0.66], [-1.2e-4, 3e-4], [-0.004, 0.004]]) {
  const t = linearTicks(lo, hi, 3, false);
  out.push(t.ticks.map(v => fmtTick(v, t.step)));
}
for (let k = -6; k <= 6; k++) out.push([logLabel(k)]);
console.log(JSON.stringify(out));
"""
    result = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for labels in json.loads(result.stdout):
        assert labels and all(NUMBER.match(t) for t in labels), labels
        assert len(set(labels)) == len(labels), labels


def test_every_panel_spans_the_same_steps():
    """Statistics sampled only up to step 20 of a 120-step run end mid-panel, below the loss panel's step 120 (the
    Chinese chapter-3 picture read 0..20 next to 0..120): one x range for every panel, static and live."""
    history = {"cost": [(s, 1.0 / (s + 1)) for s in range(0, 121, 10)]}
    stats = {"grad_rms": {"W1": [(0, 1e-3), (10, 1e-3), (20, 1e-3)]}}
    fig = CurvesFigure("t", "iteration", False, 0.6)
    fig.render(history, stats)
    ranges = [ax.get_xlim() for ax in fig.axes]
    assert len(ranges) == 2 and ranges[0] == ranges[1] and ranges[1][1] >= 120, ranges
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    from course.monitor_live_js import ESM

    start = ESM.index("function xRange(")
    script = ESM[start:ESM.index("\n}\n", start) + 3] + """
const panels = [{cost: {x: [0, 10, 120], y: [1, 2, 3]}}, {W1: {x: [0, 10, 20], y: [1, 1, 1]}}];
console.log(JSON.stringify([xRange(panels), xRange([{W1: {x: [5], y: [1]}}])]));
"""
    result = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[0, 120], [4, 6]]


def _budgeted_run(monkeypatch, slow: float):
    """A live monitor on a 784-32-10 net, batch 256, for 300 calls, whatever the clock says: ``slow`` seconds are
    added to every reading of time.monotonic() as seen by the monitor (a loaded machine)."""
    import course.monitor as monitor_module

    clock = {"t": 0.0}

    def fake_monotonic():
        clock["t"] += slow
        return clock["t"]

    monkeypatch.setattr(monitor_module.time, "monotonic", fake_monotonic)
    rng = np.random.default_rng(0)
    p = {"W1": rng.standard_normal((784, 32)) * 0.05, "b1": np.zeros(32), "W2": rng.standard_normal((32, 10)) * 0.2,
         "b2": np.zeros(10)}
    mon = TrainingMonitor("t", mode="live", every_seconds=1e9)
    for step in range(300):
        g = {k: rng.standard_normal(v.shape) * 1e-3 for k, v in p.items()}
        h = np.maximum(rng.standard_normal((256, 32)), 0)
        mon.update(step, loss=2.0 / (1 + step), params=p, grads=g, activations={"h1": h},
                   outputs=rng.standard_normal((256, 10)))
        p = {k: v - 0.1 * g[k] for k, v in p.items()}
    monkeypatch.undo()
    return mon


def test_live_samples_and_evaluations_follow_the_modelled_work_not_the_clock(monkeypatch):
    fast, slow = _budgeted_run(monkeypatch, 1e-6), _budgeted_run(monkeypatch, 0.5)
    assert fast._sampler.samples == slow._sampler.samples and fast._evaluations == slow._evaluations
    assert fast.stats == slow.stats
    assert 3 < fast._sampler.samples < 100  # thinned to the budget: far fewer than the 200 the schedule names


def test_the_live_panel_appears_once_the_loop_has_paid_for_it(monkeypatch):
    """The widget (10-14 ms to create in a kernel) is displayed only when the drawing share of the elapsed loop
    covers it, and counted in the monitor's own time; a shorter loop gets it once, at close."""
    import course.monitor as monitor_module

    clock = {"t": 0.0}
    monkeypatch.setattr(monitor_module.time, "monotonic", lambda: clock["t"])
    mon = TrainingMonitor("t", mode="live", every_seconds=1e9)
    for step, t in enumerate([0.0, 0.5, 1.0, 1.4]):  # 1% of 1.4 s is less than the widget's 15 ms
        clock["t"] = t
        mon.update(step, loss=1.0)
    assert mon._view is None and mon.redraws == 0
    clock["t"] = 2.0
    mon.update(4, loss=1.0)
    assert mon._view is not None and mon.redraws == 1
    short = TrainingMonitor("t", mode="live", every_seconds=1e9)
    short.update(0, loss=1.0)
    assert short._view is None
    short.close()
    assert short._view is not None and short.redraws == 1 and "Finished" in short._view.diag.value


def test_the_monitor_imports_what_numpy_would_import_inside_the_loop():
    """np.median imports numpy.ma on its first call: 10-30 ms inside a short loop's first evaluation."""
    code = "import sys, course.monitor; print('numpy.ma' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "True", out.stderr


def test_huge_weights_are_measured_on_a_subset_that_estimates_the_whole():
    from course.monitor_stats import SUBSET_ABOVE, StatsSampler, entries

    rng = np.random.default_rng(0)
    w = rng.standard_normal((256, 12288)).astype(np.float32)  # chapter 6's 3.1M-weight layer
    view, scale = entries(w)
    assert view.size < SUBSET_ABOVE and abs(view.size * scale - w.size) < 1e-6 * w.size
    stride = view.strides[0] // w.itemsize
    assert len(set((np.arange(view.size) * stride % 12288).tolist())) == 12288  # every column is visited
    g = (rng.standard_normal(w.shape) * (1 + (np.arange(12288) % 7))).astype(np.float32)  # uneven columns
    s = StatsSampler()
    s.sample(0, 0, {"W": w}, {"W": g}, None, None)
    w2 = w - 0.01 * g
    s.finish_ratio(1, 1, {"W": w2}, {"W": g})
    exact_ratio = np.linalg.norm((w2 - w).astype(np.float64)) / np.linalg.norm(w.astype(np.float64))
    exact_dot = float(np.vdot(g.astype(np.float64), (w2 - w).astype(np.float64)))
    assert s.stats["update_ratio"]["W"][0][1] == pytest.approx(exact_ratio, rel=0.03)
    assert s.stats["first_order"]["predicted"][0][1] == pytest.approx(exact_dot, rel=0.03)
    assert s.stats["grad_rms"]["W"][0][1] == pytest.approx(np.sqrt(np.mean(g.astype(np.float64) ** 2)), rel=0.03)


def test_a_convolution_is_modelled_once_per_output_position_its_dense_layer_shows():
    """Chapter 5's conv kernel (16, 3, 3, 3) feeds a dense (3600, 10) weight: 225 positions per filter after
    pooling, so 432 x 225 multiply-adds per example, not 432 (its loop was modelled at 1/130 of its time)."""
    from course.monitor_budget import WorkBudget

    conv = {"w1": np.zeros((16, 3, 3, 3)), "b1": np.zeros(16), "w2": np.zeros((3600, 10)), "b2": np.zeros(10)}
    assert WorkBudget.macs_per_example(conv) == 432 * 225 + 16 + 3600 * 10 + 10
    alone = {"w1": np.zeros((16, 3, 3, 3)), "w2": np.zeros((10, 7))}  # no dense weight shows its positions
    assert WorkBudget.macs_per_example(alone) == 432 + 70
    dense = {"W1": np.zeros((784, 10)), "b1": np.zeros(10)}
    assert WorkBudget.macs_per_example(dense) == 7850
