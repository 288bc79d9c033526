"""The live training monitor: loss curves, weight/gradient statistics, diagnoses and a stop button in JupyterLab.

Usage::

    with TrainingMonitor("two-layer net", metrics=["loss", "val_loss"], log_scale=True) as mon:
        for step in range(steps):
            ...
            mon.update(step, params=params, grads=grads, activations={"h1": h1}, outputs=scores,
                       loss=loss, val_loss=val_loss, accuracy=acc)
            if mon.stopped:          # the Stop button was clicked: params keep the values reached so far
                break

Everything but ``step`` is optional. ``params`` / ``grads`` are dicts ``{name: array}`` (histograms, gradient RMS,
update/weight ratios), ``activations`` dicts ``{layer: post-ReLU array (N, ...)}`` (dead-ReLU fraction),
``outputs`` the network's output array (N, ...) (exploding or dead outputs). ``x_label`` says what ``step``
counts ("step", "epoch", "images seen", ...); when it is not the number of parameter updates, pass
``updates=`` (updates so far) so that the update/weight ratio is per update. Metrics given only now and then
(per-epoch accuracy) are drawn with markers; loss curves get an exponential moving average (``smoothing``, 0..1,
TensorBoard's default 0.6) over the raw points. Diagnoses (:mod:`course.diagnose`) appear in the panel and stay
in its log, with their steps, after they stop holding (``diagnoses``; ``active_diagnoses`` are the current ones).

Modes (chosen by :func:`detect_mode`, or forced with ``mode=`` / the ``COURSE_MONITOR`` environment variable):

- ``live``: inside JupyterLab/Notebook (a kernel started by a Jupyter server): an ipywidgets panel whose plots are
  drawn by the browser (:class:`course.monitor_live.LivePlots`, an anywidget): at most every ``every_seconds`` the
  kernel sends only the points added since and the histogram counts, no image. The Stop button works while the
  cell is running (:class:`course.monitor_widget.CommPump`), and the kernel stays shown "Busy"
  (:class:`course.kernel_status.BusyKeeper`).
- ``static``: a kernel with no Jupyter server (``jupyter nbconvert --execute``, nbclient): statistics are sampled
  as in live mode, one final matplotlib figure at the end (:mod:`course.monitor_plot`).
- ``off``: under nbgrader (``NBGRADER_EXECUTION`` is set) or outside IPython: records the metrics only, draws
  nothing and computes no statistics, so grading is never slowed down or blocked by widgets.

Statistics are sampled on a call-count schedule (:mod:`course.monitor_stats`: every call of short runs, thinning
out on long ones), and the diagnoses evaluated on a sparser one. No decision about what to compute uses a clock, so
the same run gives the same samples and findings on any machine: static mode follows the schedules; live mode
also keeps statistics and diagnoses within their shares of ``overhead_budget`` of the loop's *modelled* work
(:class:`course.monitor_budget.WorkBudget`: from the array sizes handed over and the updates between calls).
Only drawing follows the clock, within its share of the elapsed time: the widget is displayed once the loop has run
long enough to pay for it (about 1.5 s at a 5% budget; a shorter loop is drawn once, at close), then redrawn every
``every_seconds``: what a person sees refreshes in real time, and a redraw changes no finding. Both
modes evaluate once more at the end.
"""

from __future__ import annotations

import html
import math
import os
import time

from course.diagnose import Diagnosis, DiagnosisLog, diagnose
from course.fonts import plot_text
from course.i18n import N_, gettext, ngettext
from course.monitor_budget import NS, WorkBudget
from course.monitor_plot import CurvesFigure, HistogramsFigure
from course.monitor_stats import EVAL_DENSE, StatsSampler, sample_due
from course.monitor_widget import LiveView, diagnoses_html

MODES = ("live", "static", "off")
HEALTHY_UPDATE_RATIO = 1e-3  # CS231n: "somewhere around 1e-3"; see course.diagnose.HEALTHY_RATIO
# shares of overhead_budget; their sum stays below 1 to leave room for the first samples and evaluation, which are
# taken whatever they cost, and each call's bookkeeping. "draw": creating the live widget with its first draw (on
# the modelled work: a loop too short for it is drawn once, at close), then the redraws (in time: every_seconds)
SHARES = {"stats": 0.4, "diagnose": 0.2, "draw": 0.2}
# the monitor's summaries (catalog messages, shown in the learner's language); the usual x labels are in the catalog
SO_FAR_CLEAN = N_("✔ no problems detected so far")
FINISHED_CLEAN = N_("✔ Finished at {x_label} {step}: no problems detected.")
STOPPED_CLEAN = N_("✔ Stopped by you at {x_label} {step}: no problems detected.")
X_LABELS = (N_("step"), N_("epoch"), N_("iteration"), N_("update"), N_("images seen"))
RUNS: list[dict] = []  # one summary per closed monitor in this process (benchmarks/bench_monitor.py reads it)


def found_summary(stopped: bool, active: int, **values) -> str:
    """The closing summary of a run with findings, in the learner's language (singular or plural)."""
    if stopped:
        return ngettext("Stopped by you at {x_label} {step}: {active} finding at the end, listed below.",
                        "Stopped by you at {x_label} {step}: {active} findings at the end, listed below.", active,
                        active=active, **values)
    return ngettext("Finished at {x_label} {step}: {active} finding at the end, listed below.",
                    "Finished at {x_label} {step}: {active} findings at the end, listed below.", active,
                    active=active, **values)


def _as_float(value) -> float:
    """A metric value as a float: numbers, 0-d and 1-element arrays as they are, larger arrays by their mean,
    anything else nan (a monitor never raises on what a training loop hands it)."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        pass
    try:
        import numpy as np

        with np.errstate(all="ignore"):
            return float(np.mean(np.asarray(value, dtype=np.float64)))
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _in_ipython_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def detect_mode() -> str:
    """``live``, ``static`` or ``off`` for the current process (see the module docstring)."""
    forced = os.environ.get("COURSE_MONITOR", "").strip().lower()
    if forced in MODES:
        return forced
    if os.environ.get("NBGRADER_EXECUTION"):
        return "off"
    if not _in_ipython_kernel():
        return "off"
    # jupyter_server gives every kernel it starts the notebook path in JPY_SESSION_NAME; nbclient does not.
    return "live" if os.environ.get("JPY_SESSION_NAME") else "static"


class TrainingMonitor:
    """Record metrics per step and show them: live (throttled), as a final static figure, or not at all.

    ``history`` holds ``{metric: [(step, value), ...]}`` (names containing "acc" go to an accuracy panel),
    ``stats`` ``{kind: {layer: [(step, value), ...]}}`` (see :class:`course.monitor_stats.StatsSampler`),
    ``diagnoses`` the log of :class:`course.diagnose.Diagnosis` findings. ``stats_every_seconds`` replaces the
    call-count schedule by a time one (0: every call, whatever it costs; for tests).
    """

    def __init__(self, title="training", metrics=("loss",), every_seconds=0.5, log_scale=False, mode=None,
                 overhead_budget=0.05, stop_button=True, stats_every_seconds=None, x_label="step", smoothing=0.6):
        if mode is not None and mode not in MODES:
            raise ValueError(gettext("mode must be one of {modes}, got {mode!r}", modes=MODES, mode=mode))
        if not 0 < overhead_budget <= 1:
            raise ValueError(gettext("overhead_budget must be in (0, 1], got {value!r}", value=overhead_budget))
        if not 0 <= smoothing < 1:
            raise ValueError(gettext("smoothing must be in [0, 1), got {value!r}", value=smoothing))
        self.title = title
        self.metrics = list(metrics)
        self.every_seconds = float(every_seconds)
        self.log_scale = log_scale
        self.x_label = x_label
        self.overhead_budget = float(overhead_budget)
        self.stats_every_seconds = stats_every_seconds
        self.mode = mode or detect_mode()
        self.history: dict[str, list[tuple[int, float]]] = {m: [] for m in self.metrics}
        self._sampler = StatsSampler()
        self._budget = WorkBudget({kind: SHARES[kind] * self.overhead_budget for kind in ("stats", "diagnose")})
        self._last_updates = None
        self.stats = self._sampler.stats
        self.log = DiagnosisLog()
        self.redraws = 0
        self.stopped = False  # set by the stop button (live mode) or stop(); training loops check it
        self.stopped_at: int | None = None
        self.step: int | None = None
        self.params = None
        self.grads = None
        self.monitor_seconds = 0.0  # time spent inside update()/drawing, for overhead measurements
        self.close_seconds = 0.0  # time of the final draw in close()
        self.monitor_error: str | None = None  # the last exception the monitor caught in itself (never raised)
        self._started = time.monotonic()
        self._calls = 0
        self._first_call = 0.0
        self._next_stats = -math.inf  # only with stats_every_seconds
        self._diag_cost = 0.0
        self._diag_calls = 0
        self._evaluations = 0
        self._evaluated_at = None  # (calls, samples) of the last evaluation
        self._last_draw = -math.inf
        self._draw_cost = 0.0  # total time of the redraws after the first
        self._next_poll = -math.inf
        self._closed = False
        self._curves = CurvesFigure(title, x_label, log_scale, smoothing)
        self._hists = HistogramsFigure()
        self._live = self.mode == "live"
        self._view_args = dict(stop_button=stop_button, x_label=x_label, log_scale=log_scale, smoothing=smoothing)
        self._view: LiveView | None = None  # live: displayed at the first redraw (see _work), or at close

    # -- recording ------------------------------------------------------------------------------------------
    def update(self, step: int, *, params=None, grads=None, activations=None, outputs=None, updates=None,
               **values: float) -> bool:
        """Add one point per metric given (unknown names become new curves); returns ``stopped``.

        ``params`` / ``grads``: ``{name: array}`` of the current weights and gradients; ``activations``:
        ``{layer: post-ReLU activations (N, ...)}``; ``outputs``: the network's outputs (N, ...); ``updates``: the
        number of parameter updates so far (default ``step``). Statistics are sampled, only in live/static mode.
        """
        t0 = time.monotonic()
        step = int(step)
        self.step = step
        self._calls += 1
        if params is not None:
            self.params = params
        if grads is not None:
            self.grads = grads
        history = self.history
        for name, value in values.items():
            points = history.get(name)
            if points is None:
                points = history[name] = []
            points.append((step, _as_float(value)))
        if self.mode != "off":
            try:  # a fault of the monitor must never stop the training loop
                self._work(step, step if updates is None else int(updates), params, grads, activations, outputs,
                           t0)
            except Exception as exc:  # noqa: BLE001
                self.monitor_error = f"{type(exc).__name__}: {exc}"
        spent = time.monotonic() - t0
        if self._calls == 1:
            self._first_call = spent
        self.monitor_seconds += spent
        return self.stopped

    def _work(self, step, updates, params, grads, activations, outputs, t0) -> None:
        """Everything but the appends: statistics, diagnoses, widget messages, redraws (each on its schedule)."""
        sampler, budget = self._sampler, self._budget
        elapsed = t0 - self._started
        live = self._live
        # the loop's modelled work since the last call (static mode: only for the summary in RUNS)
        since = 1 if self._last_updates is None else updates - self._last_updates
        self._last_updates = updates
        budget.add_loop(since, params, grads, activations, outputs)
        if sampler.pending():
            sampler.finish_ratio(step, updates, params, grads)
        if params is not None or grads is not None or activations is not None or outputs is not None:
            if self.stats_every_seconds is None:
                due = sampler.due()
            else:
                due = t0 >= self._next_stats
                if due:
                    self._next_stats = t0 + self.stats_every_seconds
            if due and live:  # live: within the share of the modelled work (reproducible, not timed)
                work = budget.sample_cost(params, grads, activations, outputs)
                due = budget.allow("stats", work, sampler.samples)
                if due:
                    budget.spend("stats", work)
            if due:
                sampler.sample(step, updates, params, grads, activations, outputs)
        k = self._diag_calls
        self._diag_calls += 1
        if sample_due(k, EVAL_DENSE):  # the call count (live: and the modelled work): same run, same findings
            if not live:
                self._evaluate()
            else:
                work = budget.evaluate_work(sum(map(len, self.history.values()))
                                            + sum(len(p) for kind in self.stats.values() for p in kind.values()))
                if budget.allow("diagnose", work, self._evaluations, always=1):
                    budget.spend("diagnose", work)
                    self._evaluate()
        if not live:
            return
        # drawing changes no finding, so it follows the clock within its share of the elapsed time: the widget
        # (its creation taken as NS["view"]) once the loop has run long enough to pay for it (about 1.5 s; a shorter
        # loop is drawn once, at close), then a redraw (the log as last evaluated) every every_seconds
        share = SHARES["draw"] * self.overhead_budget * elapsed
        view = self._view
        if view is None:
            if NS["view"] * 1e-9 <= share:
                self._redraw()
            return
        if view.pump is not None and t0 >= self._next_poll:  # the Stop button (a few microseconds, 20 times a second)
            self._next_poll = t0 + 0.05
            view.pump.pump()
        if t0 >= self._last_draw + self.every_seconds and self._draw_cost <= share:
            self._redraw()

    def _evaluate(self) -> None:
        """Run the diagnoses on everything recorded so far and merge them into the log."""
        key = (self._calls, self._sampler.samples)
        if key == self._evaluated_at:
            return
        t0 = time.monotonic()
        try:
            self.log.record(diagnose(self.history, self.stats, self._sampler.facts), self.step)
        except Exception as exc:  # noqa: BLE001  (a fault of the diagnoses must not stop training)
            self.monitor_error = f"{type(exc).__name__}: {exc}"
        self._evaluated_at = key
        self._evaluations += 1
        self._diag_cost += time.monotonic() - t0

    def stop(self) -> None:
        """Ask the training loop to stop (what the Stop button does)."""
        if not self.stopped:
            self.stopped = True
            self.stopped_at = self.step
        if self._view is not None:
            self._view.set_stopping(self._closed)
            self._view.status.value = self._status_text()

    @property
    def diagnoses(self) -> list[Diagnosis]:
        """The diagnosis log: every finding of the run (current ones first), each with the step it was first
        seen; earlier findings that no longer hold have ``active=False``."""
        self._evaluate()
        return self.log.entries

    @property
    def active_diagnoses(self) -> list[Diagnosis]:
        """The findings that hold now."""
        return [d for d in self.diagnoses if d.active]

    def close(self) -> None:
        """Final draw: the live plot shows every point; static mode displays its figures now."""
        if self._closed:
            return
        self._closed = True
        t0 = time.monotonic()
        if self.mode != "off":
            self._evaluate()
        if self._live:
            self._redraw()
            self._view.finish(self.stopped)
        elif self.mode == "static":
            from IPython.display import HTML, Image, display

            if any(self.history.values()):
                display(Image(data=self.render_png()))
            if self.params is not None or self.grads is not None:
                display(Image(data=self.render_histograms_png()))
            if self.step is not None:
                display(HTML(self._diagnoses_text()))
        self.close_seconds = time.monotonic() - t0
        if self._view is not None:
            self._view.status.value = self._status_text() + " · " + html.escape(self.cost_text())
        elif self.mode == "static":
            print(self.cost_text())
        ratios = {n: sorted(v for _, v in p)[len(p) // 2] for n, p in self.stats.get("update_ratio", {}).items() if p}
        RUNS.append({"title": self.title, "mode": self.mode, "calls": self._calls, "samples": self._sampler.samples,
                     "redraws": self.redraws, "seconds": t0 - self._started, "monitor_seconds": self.monitor_seconds,
                     "close_seconds": self.close_seconds, "median_update_ratio": ratios,
                     "parts": {"stats": self._sampler.cost, "diagnose": self._diag_cost, "draw": self._draw_cost,
                               "first_call": self._first_call},
                     "modelled_loop_seconds": self._budget.loop * 1e-9,
                     "messages": self._view.plots.messages if self._view else 0,
                     "bytes_sent": self._view.plots.bytes_sent if self._view else 0,
                     "diagnoses": [d.code for d in self.log.entries]})

    def cost_text(self) -> str:
        """What the monitor cost: its time (statistics, diagnoses, drawing, the final figure) next to the time
        from its creation to the end of :meth:`close`."""
        spent = self.monitor_seconds + self.close_seconds
        total = time.monotonic() - self._started
        return gettext("monitor cost {spent:.2f} s of the {total:.2f} s from its start to its final figure "
                       "({share:.0%})", spent=spent, total=total, share=spent / max(total, 1e-9))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- drawing --------------------------------------------------------------------------------------------
    def render_png(self) -> bytes:
        """The curves (metrics, accuracy, gradient RMS, update/weight ratio, dead ReLUs, outputs) as PNG bytes;
        only panels with data are drawn (labels in the learner's language, or English without a CJK font)."""
        with plot_text():
            return self._curves.render(self.history, self.stats, final=self._closed)

    def render_histograms_png(self) -> bytes:
        """Histograms of each layer's weights (top row) and gradients (bottom row) as PNG bytes."""
        with plot_text():
            return self._hists.render(self.params, self.grads)

    def _status_text(self) -> str:
        parts = [f"{html.escape(name)} = {points[-1][1]:.4g}" for name, points in self.history.items() if points]
        step = self.step if self.step is not None else 0
        x_label = html.escape(gettext(self.x_label))
        text = (f"<b>{html.escape(self.title)}</b> · {x_label} {step}"
                + (" · " + ", ".join(parts) if parts else ""))
        if self.stopped:
            stopped = gettext("stopped by you at {x_label} {step}", x_label=x_label, step=self.stopped_at)
            text += f" · <b style='color:#b00'>{stopped}</b>"
        elif self._closed:
            text += " · <b>" + gettext("finished") + "</b>"
        return text

    def _diagnoses_text(self) -> str:
        """The diagnosis area: the log, or that nothing was found (so far, or in the whole run once closed)."""
        found = self.log.entries
        if self._closed:
            active = sum(d.active for d in found)
            values = dict(x_label=html.escape(gettext(self.x_label)), step=self.step if self.step is not None else 0,
                          active=active, earlier=len(found) - active)
            if not found:
                summary = gettext(STOPPED_CLEAN if self.stopped else FINISHED_CLEAN, **values)
            else:
                summary = found_summary(self.stopped, **values)
            if len(found) > active:
                summary += " " + ngettext("{earlier} earlier finding no longer held at the end (greyed below).",
                                          "{earlier} earlier findings no longer held at the end (greyed below).",
                                          len(found) - active, **values)
            return f"<div style='color:{'#2e7d32' if not found else '#333'}'>{summary}</div>" + (
                diagnoses_html(found, self.x_label) if found else "")
        if found:
            return diagnoses_html(found, self.x_label)
        return f"<div style='color:#2e7d32'>{gettext(SO_FAR_CLEAN)}</div>" if self.step is not None else ""

    def _redraw(self) -> None:
        """Live mode: send the new points (and histogram counts) to the browser, update status and diagnoses; the
        first time, display the widget panel."""
        t0 = time.monotonic()
        if self._view is None:
            self._view = LiveView(self.title, self.stop, history=self.history, stats=self.stats, **self._view_args)
        view = self._view
        self.redraws += 1
        if self.params is not None or self.grads is not None:
            view.plots.set_histograms(self.params, self.grads)
        view.plots.push()
        view.status.value = self._status_text()
        view.diag.value = self._diagnoses_text()
        self._last_draw = time.monotonic()
        self._draw_cost += self._last_draw - t0
