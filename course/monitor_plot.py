"""Drawing for the training monitor: the curve panels and the weight/gradient histograms, as PNG bytes.

Matplotlib's Agg backend through ``Figure`` directly (no pyplot state is touched). Figures are kept between
redraws and only their data change while the set of curves stays the same, which is much cheaper.
"""

from __future__ import annotations

import io
import math

import numpy as np

from course.diagnose import HEALTHY_RATIO
from course.monitor_stats import MAX_LAYERS, flat_sample, weight_names

MAX_POINTS = 3000  # points per drawn curve
RATIO_TOP = 10.0  # update/weight ratios above this are drawn at the top edge (and said so)
TITLES = {"accuracy": "accuracy", "grad_rms": "gradient RMS per layer", "update_ratio": "update / weight per update",
          "dead_frac": "dead ReLU fraction", "output_absmax": "largest |output|"}
LOG_KINDS = ("grad_rms", "update_ratio", "output_absmax")


def png(fig) -> bytes:
    """Draw ``fig`` once with Agg and encode it as PNG (``savefig`` would draw it twice)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def ema(values, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing): ``weight`` 0 is the raw curve, 0.99 very
    smooth. Non-finite values are skipped (the average carries over them)."""
    out = np.empty(len(values))
    last, norm = 0.0, 0.0
    for i, v in enumerate(values):
        if math.isfinite(v):
            last = last * weight + (1 - weight) * v
            norm = norm * weight + (1 - weight)
        out[i] = last / norm if norm else math.nan
    return out


def _thin(points):
    if len(points) > MAX_POINTS:  # drawing 100k points is slow
        points = points[:: len(points) // MAX_POINTS + 1] + points[-1:]
    return points


def curve_panels(history: dict, stats: dict) -> list[tuple[str, dict]]:
    """``[(kind, {name: points})]``: metrics, accuracy, then the statistics; only series and panels with data."""
    acc = {n: p for n, p in history.items() if p and "acc" in n.lower()}
    main = {n: p for n, p in history.items() if p and n not in acc}
    panels = [(kind, series) for kind, series in (("main", main), ("accuracy", acc)) if series]
    for kind in ("grad_rms", "update_ratio", "dead_frac", "output_absmax"):
        series = {n: p for n, p in stats.get(kind, {}).items() if p}
        if series:
            panels.append((kind, series))
    return panels


class CurvesFigure:
    """The curve panels of one monitor (kept between redraws)."""

    def __init__(self, title: str, x_label: str, log_scale: bool, smoothing: float):
        self.title, self.x_label, self.log_scale, self.smoothing = title, x_label, log_scale, smoothing
        self._signature = None

    def _style(self, kind, series):
        """Per series: (smoothed?, markers?). Sparse series (per-epoch values) get markers, loss-like ones with at
        least 50 points an EMA (on fewer points it would mostly lag behind)."""
        longest = max(len(p) for p in series.values())
        return {n: (kind == "main" and self.smoothing > 0 and len(p) >= 50,
                    len(p) <= 30 or len(p) < 0.25 * longest) for n, p in series.items()}

    def render(self, history: dict, stats: dict, final: bool = False) -> bytes:
        """PNG of the panels. The layout (room for tick labels and titles, so nothing is clipped) is recomputed on
        the first render of a figure, every 4th one and the ``final`` one: it costs more than the drawing."""
        panels = curve_panels(history, stats)
        styles = [self._style(kind, series) for kind, series in panels]
        signature = tuple((kind, tuple(st.items())) for (kind, _), st in zip(panels, styles))
        if signature != self._signature:
            self._build(panels, styles)
            self._signature = signature
            self._renders = 0
        for (kind, series), ax, style in zip(panels, self.axes, styles):
            self._update_panel(kind, series, ax, style)
        if self._renders % 4 == 0 or final:
            self.fig.tight_layout(pad=0.6)
        self._renders += 1
        return png(self.fig)

    def _build(self, panels, styles):
        from matplotlib.figure import Figure
        from matplotlib.ticker import EngFormatter, MaxNLocator

        n = max(1, len(panels))
        ncols = min(3, n)
        nrows = math.ceil(n / ncols)
        self.fig = Figure(figsize=(3.9 * ncols + 0.3 if ncols > 1 else 6.4, 2.8 * nrows + 0.2), dpi=80)
        self.axes, self.lines, self.notes = [], {}, {}
        for i, ((kind, _series), style) in enumerate(zip(panels, styles)):
            ax = self.fig.add_subplot(nrows, ncols, i + 1)
            self.axes.append(ax)
            for name, (smooth, markers) in style.items():
                kw = dict(marker="o", ms=3.5) if markers else {}
                if smooth:
                    (raw,) = ax.plot([], [], lw=0.8, alpha=0.3, **kw)
                    (line,) = ax.plot([], [], lw=1.6, color=raw.get_color(),
                                      label=f"{name} (EMA {self.smoothing:g})")
                    self.lines[kind, name] = (raw, line)
                else:
                    (line,) = ax.plot([], [], lw=1.4, label=name, **kw)
                    self.lines[kind, name] = (line, None)
            ax.set_title(self.title if kind == "main" else TITLES[kind], fontsize=10)
            if kind == "update_ratio":
                lo, hi = HEALTHY_RATIO
                ax.axhspan(lo, hi, color="tab:green", alpha=0.08)
                ax.axhline(1e-3, color="tab:green", ls="--", lw=1, label="healthy ~1e-3 (CS231n)")
                self.notes[kind] = ax.text(0.02, 0.03, "", transform=ax.transAxes, va="bottom", fontsize=7,
                                           color="#b00020")
            if kind == "dead_frac":
                ax.set_ylim(-0.03, 1.03)
                ax.set_autoscaley_on(False)
            if kind in LOG_KINDS or (kind == "main" and self.log_scale):
                ax.set_yscale("log")
            else:
                ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.set_xlabel(self.x_label, fontsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
            ax.xaxis.set_major_formatter(EngFormatter(sep=""))
            ax.tick_params(which="both", labelsize=7)
            ax.legend(loc="lower right" if kind == "accuracy" else "upper right", fontsize=7, framealpha=0.6)
            ax.grid(alpha=0.3)

    def _update_panel(self, kind, series, ax, style):
        low = math.inf
        for name, points in series.items():
            raw, smooth = self.lines[kind, name]
            steps, vals = zip(*points)
            if smooth is not None:
                smooth_vals = ema(vals, self.smoothing)
                idx = np.unique(np.linspace(0, len(vals) - 1, min(len(vals), MAX_POINTS)).astype(int))
                raw.set_data(np.asarray(steps)[idx], np.asarray(vals)[idx])
                smooth.set_data(np.asarray(steps)[idx], smooth_vals[idx])
            else:
                steps, vals = zip(*_thin(points))
                raw.set_data(steps, vals)
            positive = [v for v in vals if v > 0 and math.isfinite(v)]
            low = min(low, min(positive, default=math.inf))
        ax.relim()
        ax.set_autoscalex_on(True)  # set_xlim below (a one-point plot) turns it off; the next redraw needs it back
        ax.autoscale_view()
        xs = [st for p in series.values() for st, _ in p]
        if min(xs) == max(xs):  # one x value: a range of whole steps around it, not +-0.05
            ax.set_xlim(xs[0] - 1, xs[0] + 1)
        if kind == "update_ratio":
            finite = [(v, st, n) for n, p in series.items() for st, v in p if math.isfinite(v)]
            worst = max(finite, default=(0.0, None, ""))
            notes = []
            if worst[0] > RATIO_TOP:
                bottom = min(low / 2, HEALTHY_RATIO[0] / 10) if low < math.inf else 1e-12
                ax.set_ylim(max(bottom, 1e-12), RATIO_TOP)
                notes.append(f"off scale: {worst[2]} {worst[0]:.1e} at {self.x_label} {worst[1]}")
            if any(v == 0 for v, _, _ in finite):
                notes.append("ratio 0 (weights frozen) not drawn on the log scale")
            self.notes[kind].set_text("\n".join(notes))
        if ax.get_yscale() == "log" and low == math.inf:
            ax.set_yscale("linear")  # nothing positive to draw on a log axis
        elif ax.get_yscale() == "linear" and (kind in LOG_KINDS or (kind == "main" and self.log_scale)) \
                and low < math.inf:
            ax.set_yscale("log")


class HistogramsFigure:
    """Histograms of each layer's weights (top row) and gradients (bottom row)."""

    def __init__(self):
        self._signature = None

    def render(self, params, grads) -> bytes:
        from matplotlib.figure import Figure
        from matplotlib.ticker import EngFormatter, MaxNLocator

        rows = [(label, arrays) for label, arrays in (("weights", params), ("gradients", grads)) if arrays]
        names = []
        for _, arrays in rows:
            names += [n for n in weight_names(arrays) if n not in names]
        names = names[:MAX_LAYERS]
        signature = (tuple(label for label, _ in rows), tuple(names))
        if signature != self._signature:
            ncols = max(1, len(names))
            self.fig = Figure(figsize=(min(2.8 * ncols + 0.4, 13), 1.9 * max(1, len(rows)) + 0.3), dpi=80)
            self.axes, self.artists = {}, {}
            for r, (label, _) in enumerate(rows):
                for c, name in enumerate(names):
                    ax = self.fig.add_subplot(len(rows), ncols, r * ncols + c + 1)
                    ax.set_title(f"{name} {label}", fontsize=8)
                    ax.tick_params(labelsize=7)
                    ax.set_yticks([])
                    ax.xaxis.set_major_locator(MaxNLocator(3))
                    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
                    self.axes[label, name] = ax
            if not rows:
                self.fig.text(0.5, 0.5, "pass params=/grads= to update() to see histograms", ha="center")
            self._signature = signature
            self._laid_out = False
        for label, arrays in rows:
            color = "tab:blue" if label == "weights" else "tab:orange"
            for name in names:
                ax = self.axes[label, name]
                if (label, name) in self.artists:
                    self.artists.pop((label, name)).remove()
                if name not in arrays:
                    continue
                vals = flat_sample(arrays[name])
                vals = vals[np.isfinite(vals)]
                if vals.size:
                    counts, edges = np.histogram(vals, bins=40)
                    self.artists[label, name] = ax.stairs(counts, edges, fill=True, color=color, alpha=0.85)
                    ax.relim()
                    ax.autoscale_view()
        if not self._laid_out:  # tick labels of histograms keep their size: one layout is enough
            self.fig.tight_layout(pad=0.6)
            self._laid_out = True
        return png(self.fig)
