"""The live training monitor: loss curves, weight/gradient histograms, diagnoses and a stop button in JupyterLab.

Usage::

    with TrainingMonitor("two-layer net", metrics=["loss", "val_loss"], log_scale=True) as mon:
        for step in range(steps):
            ...
            mon.update(step, params=params, grads=grads, activations={"h1": h1}, outputs=scores,
                       loss=loss, val_loss=val_loss, accuracy=acc)
            if mon.stopped:          # the Stop button was clicked: params keep the values reached so far
                break

Everything but ``step`` is optional. ``params`` / ``grads`` are dicts ``{name: array}`` (the histograms, gradient
norms and update/weight ratios use them), ``activations`` dicts ``{layer: post-ReLU array (N, ...)}`` (dead-ReLU
fraction), ``outputs`` the network's output array (exploding outputs). Plain-language diagnoses
(:mod:`course.diagnose`) appear in the panel when something looks wrong.

Modes (chosen by :func:`detect_mode`, or forced with ``mode=`` / the ``COURSE_MONITOR`` environment variable):

- ``live``: inside JupyterLab/Notebook (a kernel started by a Jupyter server): an ipywidgets panel whose plots are
  redrawn at most every ``every_seconds``, and less often when drawing would cost more than ``overhead_budget`` of
  the training time. The Stop button works while the cell is running: :meth:`TrainingMonitor.update` handles the
  widget messages that wait in the kernel's queue (and leaves every other request, e.g. the next cells of "Run
  all", queued in order).
- ``static``: a kernel with no Jupyter server (``jupyter nbconvert --execute``, nbclient): nothing during
  training, one final figure at the end.
- ``off``: under nbgrader (``NBGRADER_EXECUTION`` is set) or outside IPython: records the metrics only, draws
  nothing and computes no statistics, so grading is never slowed down or blocked by widgets.
"""

from __future__ import annotations

import html
import io
import math
import os
import time

import numpy as np

from course.diagnose import Diagnosis, diagnose

MODES = ("live", "static", "off")
HEALTHY_UPDATE_RATIO = 1e-3
_HIST_SAMPLE = 20_000  # values per histogram (a strided sample of bigger arrays)
_MAX_LAYERS = 6
_MAX_POINTS = 3000  # points per drawn curve


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


class _CommPump:
    """Handle widget (comm) messages that wait in the kernel's queue while a cell is running.

    ipykernel >= 7 receives shell messages in its shell-channel thread and passes them to the main thread through an
    inproc socket, which the main thread reads only between cells. :meth:`pump` reads that socket without blocking:
    ``comm_msg`` messages (a button click) are handled at once; every other message (execute requests of the next
    cells, ...) is handed, in arrival order, to the kernel's own handler, which runs it after the current cell.
    """

    def __init__(self, kernel):
        import zmq

        self._zmq = zmq
        self.kernel = kernel
        pair = kernel.shell_channel_thread.manager.get_shell_channel_to_subshell_pair(None)
        self.socket = pair.to_socket
        self._deferred = getattr(pair.to_stream, "_recv_callback", None)
        if self._deferred is None:
            from functools import partial

            from ipykernel.utils import _async_in_context

            self._deferred = _async_in_context(partial(kernel.shell_main, None))

    @classmethod
    def create(cls):
        """A pump for the running kernel, or None where this is not possible (no kernel, older ipykernel)."""
        try:
            from IPython import get_ipython

            kernel = get_ipython().kernel
            if not getattr(kernel, "shell_channel_thread", None):
                return None
            return cls(kernel)
        except Exception:
            return None

    def pump(self) -> int:
        """Process the waiting comm messages now; returns how many messages were taken from the queue."""
        n = 0
        session = self.kernel.session
        while True:
            try:
                frames = self.socket.recv_multipart(self._zmq.NOBLOCK, copy=False)
            except self._zmq.Again:
                return n
            n += 1
            try:
                idents, body = session.feed_identities(frames, copy=False)
                header = session.deserialize(body, content=False, copy=False)["header"]
                if header.get("msg_type") == "comm_msg":
                    msg = session.deserialize(body, content=True, copy=False)
                    self.kernel.shell_handlers["comm_msg"](self.kernel.shell_stream, idents, msg)
                    continue
            except Exception:  # an unreadable message: let the kernel deal with it as it normally would
                pass
            self.kernel.io_loop.add_callback(self._deferred, frames)


def _sample(a) -> np.ndarray:
    flat = np.asarray(a).ravel()
    if flat.size > _HIST_SAMPLE:
        flat = flat[:: flat.size // _HIST_SAMPLE + 1]
    return flat.astype(np.float64, copy=False)


def _png(fig) -> bytes:
    """Draw ``fig`` once with Agg and encode it as PNG (``savefig`` would draw it twice)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def _norm(a) -> float:
    a = np.asarray(a)
    return float(np.sqrt(np.vdot(a, a).real)) if a.size else 0.0


class TrainingMonitor:
    """Record metrics per step and show them: live (throttled), as a final static figure, or not at all.

    ``metrics`` names the curves, e.g. ``["loss", "val_loss"]``; each ``update(step, **values)`` adds points (names
    containing "acc" go to an accuracy panel). ``history`` holds ``{metric: [(step, value), ...]}``, ``stats`` holds
    ``{kind: {layer: [(step, value), ...]}}`` (kinds ``grad_rms``, ``update_ratio``, ``dead_frac``,
    ``output_absmax``), ``diagnoses`` the current :class:`course.diagnose.Diagnosis` list.

    Statistics are sampled every ``stats_every_seconds`` (default: adaptive, every ``every_seconds / 4`` or less
    often when computing them is expensive); redraws happen every ``every_seconds`` or less often, so that drawing
    takes at most ``overhead_budget`` of the time.
    """

    def __init__(self, title="training", metrics=("loss",), every_seconds=0.5, log_scale=False, mode=None,
                 overhead_budget=0.05, stop_button=True, stats_every_seconds=None):
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not 0 < overhead_budget <= 1:
            raise ValueError(f"overhead_budget must be in (0, 1], got {overhead_budget!r}")
        self.title = title
        self.metrics = list(metrics)
        self.every_seconds = float(every_seconds)
        self.log_scale = log_scale
        self.overhead_budget = float(overhead_budget)
        self.stats_every_seconds = stats_every_seconds  # None: adaptive (see _maybe_stats)
        self.mode = mode or detect_mode()
        self.history: dict[str, list[tuple[int, float]]] = {m: [] for m in self.metrics}
        self.stats: dict[str, dict[str, list[tuple[int, float]]]] = {}
        self.redraws = 0
        self.stopped = False  # set by the stop button (live mode) or stop(); training loops check it
        self.stopped_at: int | None = None
        self.step: int | None = None
        self.params = None
        self.grads = None
        self.monitor_seconds = 0.0  # time spent inside update()/drawing, for overhead measurements
        self._started = time.monotonic()
        self._last_draw = -math.inf
        self._draw_cost = 0.0
        self._next_stats = -math.inf
        self._next_work = -math.inf
        self._stats_cost = 0.0
        self._next_poll = -math.inf
        self._snapshot = None  # (step, {name: copy of weight}) to measure the next update's size
        self._closed = False
        self._widget = None
        self._pump = None
        if self.mode == "live":
            self._build_widget(stop_button)

    # -- recording ------------------------------------------------------------------------------------------
    def update(self, step: int, *, params=None, grads=None, activations=None, outputs=None, **values: float) -> bool:
        """Add one point per metric given (unknown metric names are added as new curves); returns ``stopped``.

        ``params`` / ``grads``: dicts ``{name: array}`` of the current weights and gradients; ``activations``:
        ``{layer: post-ReLU activations}``; ``outputs``: the network's outputs. Statistics of these are sampled
        (not computed every step) and only in live/static mode.
        """
        t0 = time.monotonic()
        step = int(step)
        self.step = step
        if params is not None:
            self.params = params
        if grads is not None:
            self.grads = grads
        history = self.history
        for name, value in values.items():
            points = history.get(name)
            if points is None:
                points = history[name] = []
            points.append((step, float(value)))
        if t0 >= self._next_work or self._snapshot is not None:  # the fast path is just the appends above
            self._work(step, params, grads, activations, outputs, t0)
        self.monitor_seconds += time.monotonic() - t0
        return self.stopped

    def _work(self, step, params, grads, activations, outputs, t0) -> None:
        """The throttled part of update(): statistics, widget messages, redraws."""
        if self.mode == "off":
            self._next_work = math.inf
            return
        if self._snapshot is not None or t0 >= self._next_stats:
            self._maybe_stats(step, params, grads, activations, outputs, t0)
        if self.mode == "live":
            if self._pump is not None and t0 >= self._next_poll:
                self._next_poll = t0 + 0.05
                self._pump.pump()
            if t0 >= self._last_draw + max(self.every_seconds, self._draw_cost / self.overhead_budget):
                self._redraw()
        next_draw = (self._last_draw + max(self.every_seconds, self._draw_cost / self.overhead_budget)
                     if self.mode == "live" else math.inf)
        next_poll = self._next_poll if self._pump is not None else math.inf
        self._next_work = min(self._next_stats, next_poll, next_draw)

    def stop(self) -> None:
        """Ask the training loop to stop (what the Stop button does)."""
        if not self.stopped:
            self.stopped = True
            self.stopped_at = self.step
        if self._widget is not None:
            self._button.disabled = True
            self._button.description = "Stopping…" if not self._closed else "Stopped"
            self._status.value = self._status_text()

    @property
    def diagnoses(self) -> list[Diagnosis]:
        return diagnose(self.history, self.stats)

    def _add_stat(self, kind, name, step, value):
        self.stats.setdefault(kind, {}).setdefault(name, []).append((step, float(value)))

    def _maybe_stats(self, step, params, grads, activations, outputs, now):
        if self._snapshot is not None and params is not None:
            snap_step, snap = self._snapshot
            self._snapshot = None
            steps = max(1, step - snap_step)
            if step > snap_step:
                for name, old in snap.items():
                    if name in params:
                        denom = _norm(old)
                        diff = _norm(np.asarray(params[name]) - old)
                        self._add_stat("update_ratio", name, step, diff / denom / steps if denom else 0.0)
        if now < self._next_stats:
            return
        if params is None and grads is None and activations is None and outputs is None:
            return
        t0 = time.monotonic()
        if grads is not None:
            order = self._weight_names(params) if params is not None else []  # layers in the params' order
            for name in [n for n in order if n in grads] + [n for n in self._weight_names(grads) if n not in order]:
                g = np.asarray(grads[name])
                self._add_stat("grad_rms", name, step, _norm(g) / math.sqrt(max(g.size, 1)))
        if activations is not None:
            for name, a in activations.items():
                a = np.asarray(a)
                if a.ndim >= 2 and a.shape[0]:
                    alive = (a > 0).any(axis=0)
                    self._add_stat("dead_frac", name, step, 1.0 - float(alive.mean()))
        if outputs is not None:
            o = np.asarray(outputs, dtype=np.float64)
            self._add_stat("output_absmax", "outputs", step, float(np.max(np.abs(o))) if o.size else 0.0)
        if params is not None:
            self._snapshot = (step, {name: np.array(params[name], copy=True) for name in self._weight_names(params)})
        self._stats_cost = time.monotonic() - t0
        if self.stats_every_seconds is not None:
            self._next_stats = now + self.stats_every_seconds
        else:
            self._next_stats = now + max(self.every_seconds / 4, self._stats_cost / self.overhead_budget * 2)

    @staticmethod
    def _weight_names(arrays: dict) -> list[str]:
        """Weights (ndim >= 2) in order, or every array if there are none; at most _MAX_LAYERS."""
        names = [n for n, a in arrays.items() if np.ndim(a) >= 2] or list(arrays)
        return names[:_MAX_LAYERS]

    def close(self) -> None:
        """Final draw: the live plot shows every point; static mode displays its figures now."""
        if self._closed:
            return
        self._closed = True
        if self.mode == "live":
            self._redraw()
            self._button.disabled = True
            self._button.description = "Stopped" if self.stopped else "Finished"
        elif self.mode == "static":
            from IPython.display import HTML, Image, display

            display(Image(data=self.render_png()))
            if self.params is not None or self.grads is not None:
                display(Image(data=self.render_histograms_png()))
            found = self.diagnoses
            if found:
                display(HTML(self._diagnoses_html(found)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- drawing --------------------------------------------------------------------------------------------
    def _curve_panels(self) -> list[tuple[str, dict]]:
        acc = {n: p for n, p in self.history.items() if "acc" in n.lower()}
        panels = [("main", {n: p for n, p in self.history.items() if n not in acc})]
        if acc:
            panels.append(("accuracy", acc))
        for kind in ("grad_rms", "update_ratio", "dead_frac"):
            if self.stats.get(kind):
                panels.append((kind, self.stats[kind]))
        return panels

    def render_png(self) -> bytes:
        """The curves (metrics, accuracy, gradient RMS, update/weight ratio, dead ReLUs) as PNG bytes.

        Uses matplotlib's Agg backend through ``Figure`` directly (no pyplot state is touched). The figure is kept
        and only its line data change between calls while the set of curves stays the same, which is much cheaper.
        """
        panels = self._curve_panels()
        signature = tuple((kind, tuple(series)) for kind, series in panels)
        if getattr(self, "_curves", None) is None or self._curves[0] != signature:
            self._curves = (signature, *self._build_curves(panels))
        _, fig, axes, lines = self._curves
        for (kind, series), ax in zip(panels, axes):
            for name, points in series.items():
                if points:
                    if len(points) > _MAX_POINTS:  # thin long curves: drawing 100k points is slow
                        points = points[:: len(points) // _MAX_POINTS + 1] + points[-1:]
                    steps, vals = zip(*points)
                    lines[kind, name].set_data(steps, vals)
            ax.relim()
            ax.autoscale_view()
            want_log = (self.log_scale if kind == "main" else kind in ("grad_rms", "update_ratio"))
            if want_log and ax.get_yscale() != "log" and any(v > 0 for p in series.values() for _, v in p):
                ax.set_yscale("log")
        return _png(fig)

    def _build_curves(self, panels):
        from matplotlib.figure import Figure

        ncols = min(3, len(panels))
        nrows = math.ceil(len(panels) / ncols)
        fig = Figure(figsize=(3.6 * ncols + 0.4 if ncols > 1 else 6, 2.6 * nrows + 0.2), dpi=80)
        titles = {"main": self.title, "accuracy": "accuracy", "grad_rms": "gradient RMS per layer",
                  "update_ratio": "update / weight per step", "dead_frac": "dead ReLU fraction"}
        axes, lines = [], {}
        for i, (kind, series) in enumerate(panels):
            ax = fig.add_subplot(nrows, ncols, i + 1)
            axes.append(ax)
            for name in series:
                (lines[kind, name],) = ax.plot([], [], label=name, lw=1.4)
            ax.set_title(titles[kind], fontsize=10)
            if kind == "update_ratio":
                ax.axhspan(HEALTHY_UPDATE_RATIO / 10, HEALTHY_UPDATE_RATIO * 10, color="tab:green", alpha=0.08)
                ax.axhline(HEALTHY_UPDATE_RATIO, color="tab:green", ls="--", lw=1, label="healthy ≈ 1e-3")
            if kind == "dead_frac":
                ax.set_ylim(-0.03, 1.03)
                ax.set_autoscaley_on(False)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=8)
            if series:
                ax.legend(loc="lower right" if kind == "accuracy" else "upper right", fontsize=7, framealpha=0.6)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig, axes, lines

    def render_histograms_png(self) -> bytes:
        """Histograms of each layer's weights (top row) and gradients (bottom row) as PNG bytes."""
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        rows = [(label, arrays) for label, arrays in (("weights", self.params), ("gradients", self.grads))
                if arrays]
        names = []
        for _, arrays in rows:
            names += [n for n in self._weight_names(arrays) if n not in names]
        names = names[:_MAX_LAYERS]
        signature = (tuple(label for label, _ in rows), tuple(names))
        if getattr(self, "_hists", None) is None or self._hists[0] != signature:
            ncols = max(1, len(names))
            fig = Figure(figsize=(min(2.8 * ncols + 0.4, 12), 1.9 * max(1, len(rows)) + 0.3), dpi=80)
            axes = {}
            for r, (label, _) in enumerate(rows):
                for c, name in enumerate(names):
                    ax = fig.add_subplot(len(rows), ncols, r * ncols + c + 1)
                    ax.set_title(f"{name} {label}", fontsize=8)
                    ax.tick_params(labelsize=7)
                    ax.set_yticks([])
                    ax.xaxis.set_major_locator(MaxNLocator(4))
                    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
                    ax.xaxis.get_offset_text().set_fontsize(7)
                    axes[label, name] = ax
            if not rows:
                fig.text(0.5, 0.5, "pass params=/grads= to update() to see histograms", ha="center")
            self._hists = (signature, fig, axes, {})
        _, fig, axes, artists = self._hists
        for label, arrays in rows:
            color = "tab:blue" if label == "weights" else "tab:orange"
            for name in names:
                ax = axes[label, name]
                if (label, name) in artists:
                    artists.pop((label, name)).remove()
                if name not in arrays:
                    continue
                vals = _sample(arrays[name])
                vals = vals[np.isfinite(vals)]
                if vals.size:
                    counts, edges = np.histogram(vals, bins=40)
                    artists[label, name] = ax.stairs(counts, edges, fill=True, color=color, alpha=0.85)
                    ax.relim()
                    ax.autoscale_view()
        if getattr(self, "_hists_laid_out", None) is not signature:
            fig.tight_layout()
            self._hists_laid_out = signature
        return _png(fig)

    def _build_widget(self, stop_button) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self._pump = _CommPump.create() if stop_button else None
        self._status = widgets.HTML(value=f"<b>{html.escape(self.title)}</b>: waiting for the first step",
                                    layout=widgets.Layout(flex="1 1 auto"))
        self._button = widgets.Button(description="Stop training", icon="stop", button_style="danger",
                                      tooltip="End training after the current step; the parameters keep their "
                                              "values", layout=widgets.Layout(width="150px", flex="0 0 auto"))
        self._button.add_class("ctm-stop")
        self._button.on_click(lambda _b: self.stop())
        if self._pump is None:
            self._button.layout.display = "none"
        self._diag = widgets.HTML(value="")
        self._diag.add_class("ctm-diagnoses")
        self._image = widgets.Image(format="png", value=b"",  # the first update() draws it
                                    layout=widgets.Layout(align_self="flex-start", width="auto"))
        self._image.add_class("ctm-curves")
        self._hist = widgets.Image(format="png", value=b"",
                                   layout=widgets.Layout(display="none", align_self="flex-start", width="auto"))
        self._hist.add_class("ctm-histograms")
        header = widgets.HBox([self._status, self._button], layout=widgets.Layout(align_items="center"))
        self._widget = widgets.VBox([header, self._diag, self._image, self._hist],
                                    layout=widgets.Layout(border="1px solid #ddd", padding="6px", width="fit-content"))
        self._widget.add_class("course-training-monitor")
        display(self._widget)

    def _status_text(self) -> str:
        parts = []
        for name, points in self.history.items():
            if points:
                parts.append(f"{html.escape(name)} = {points[-1][1]:.4g}")
        step = self.step if self.step is not None else 0
        text = f"<b>{html.escape(self.title)}</b> · step {step}" + (" · " + ", ".join(parts) if parts else "")
        if self.stopped:
            text += f" · <b style='color:#b00'>stopped by you at step {self.stopped_at}</b>"
        return text

    @staticmethod
    def _diagnoses_html(found: list[Diagnosis]) -> str:
        items = []
        for d in found:
            color, mark = ("#b00020", "✖") if d.severity == "error" else ("#a05a00", "⚠")
            items.append(f"<div style='color:{color};margin:2px 0'>{mark} {html.escape(d.message)}</div>")
        return "".join(items)

    def _redraw(self) -> None:
        t0 = time.monotonic()
        self.redraws += 1
        self._image.value = self.render_png()
        if self.params is not None or self.grads is not None:
            self._hist.value = self.render_histograms_png()
            self._hist.layout.display = None
        self._status.value = self._status_text()
        found = self.diagnoses
        self._diag.value = (self._diagnoses_html(found) if found else
                            "<div style='color:#2e7d32'>✔ no problems detected so far</div>"
                            if self.step is not None else "")
        self._last_draw = time.monotonic()
        self._draw_cost = self._last_draw - t0
