"""The training monitor's static figures (headless runs, README pictures): the curve panels and the
weight/gradient histograms, as PNG bytes. The live view is drawn by the browser (:mod:`course.monitor_live`).

Matplotlib's Agg backend through ``Figure`` directly (no pyplot state is touched). Ticks are plain numbers or
scientific notation (:func:`tick_label`), legends and notes sit beside the panels.
"""

from __future__ import annotations

import io
import math

import numpy as np

from course.diagnose import HEALTHY_RATIO
from course.i18n import N_, gettext
from course.monitor_stats import MAX_LAYERS, flat_sample, weight_names

MAX_POINTS = 3000  # points per drawn curve
RATIO_TOP = 10.0  # update/weight ratios above this are drawn at the top edge (and said so)
# panel titles: catalog messages, drawn in the learner's language (the monitor picks a CJK font for Chinese)
TITLES = {"accuracy": N_("accuracy"), "grad_rms": N_("gradient RMS per layer"),
          "update_ratio": N_("update / weight per update"), "dead_frac": N_("dead ReLU fraction"),
          "output_absmax": N_("largest |output|")}
ROW_TITLES = {"weights": N_("{name} weights"), "gradients": N_("{name} gradients")}
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


def tick_label(v: float, step: float) -> str:
    """A tick label: a plain number with as many decimals as ``step`` needs, or scientific notation (``2.5e-3``,
    ``1e6``) below 1e-3 or from 1e5 on; never an SI letter (a beginner reads "800m" as metres)."""
    if v == 0:
        return "0"
    step = abs(step) or abs(v)
    e = math.floor(math.log10(step) + 1e-9)
    extra = 1 if abs(step / 10 ** e - 2.5) < 1e-6 else 0
    big = max(abs(v), step)
    if big >= 1e5 or big < 1e-3:
        digits = max(0, min(6, math.floor(math.log10(abs(v)) + 1e-9) - e + extra))
        mant, exp = f"{v:.{digits}e}".split("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{int(exp)}"
    return f"{v:.{max(0, min(8, -e + extra))}f}"


def log_tick_label(v: float) -> str:
    """A log-axis tick label: ``0.01``, ``2554``, or ``1e-4`` / ``2.5e6`` outside 1e-3..1e5 (no SI letters, no
    ``10^x`` typesetting)."""
    if v <= 0 or not math.isfinite(v):
        return ""
    if 1e-3 <= v < 1e5:
        return np.format_float_positional(float(f"{v:.4g}"), trim="-")
    mant, exp = f"{v:.1e}".split("e")
    return f"{mant.rstrip('0').rstrip('.')}e{int(exp)}"


def _log_formatter(minor: bool):
    """:func:`log_tick_label` as a matplotlib formatter; minor ticks are labelled only on an axis spanning less
    than two decades (otherwise the decades are enough)."""
    from matplotlib.ticker import Formatter

    class LogPlainFormatter(Formatter):
        def __call__(self, x, pos=None):
            if minor:
                lo, hi = sorted(self.axis.get_view_interval()) if self.axis is not None else (1.0, 1e9)
                if lo <= 0 or hi / lo > 100:
                    return ""
            return log_tick_label(x)

    return LogPlainFormatter()


def _plain_formatter():
    """A matplotlib formatter using :func:`tick_label` (the step is the spacing of the ticks drawn)."""
    from matplotlib.ticker import Formatter

    class PlainFormatter(Formatter):
        step = 1.0

        def __call__(self, x, pos=None):
            return tick_label(x, self.step)

        def format_ticks(self, values):
            diffs = [abs(b - a) for a, b in zip(values, values[1:]) if b != a]
            self.step = min(diffs) if diffs else (abs(values[0]) if len(values) else 1.0) or 1.0
            return [tick_label(v, self.step) for v in values]

    return PlainFormatter()


class CurvesFigure:
    """The curve panels of one monitor as a static figure: legends and notes beside each panel (never on the
    data), plain-number or scientific ticks. ``notes`` keeps each panel's note text (off-scale points, zero
    ratios) after a render."""

    def __init__(self, title: str, x_label: str, log_scale: bool, smoothing: float):
        self.title, self.x_label, self.log_scale, self.smoothing = title, x_label, log_scale, smoothing
        self.fig, self.axes, self.notes = None, [], {}

    def _style(self, kind, series):
        """Per series: (smoothed?, markers?). Sparse series (per-epoch values) get markers, loss-like ones with at
        least 50 points an EMA (on fewer points it would mostly lag behind)."""
        longest = max(len(p) for p in series.values())
        return {n: (kind == "main" and self.smoothing > 0 and len(p) >= 50,
                    len(p) <= 30 or len(p) < 0.25 * longest) for n, p in series.items()}

    def render(self, history: dict, stats: dict, final: bool = False) -> bytes:
        """PNG of the panels with data (``final`` is accepted for callers that draw more than once)."""
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        panels = curve_panels(history, stats)
        n = max(1, len(panels))
        ncols = min(3, n)
        nrows = math.ceil(n / ncols)
        self.fig = Figure(figsize=(5.0 * ncols, 2.9 * nrows + 0.2), dpi=80, layout="constrained")
        self.axes, self.notes = [], {}
        # one x range for every panel: statistics sampled up to step 20 of a 120-step run end where they end, not
        # at the right edge (where each panel's own range would put them)
        steps = [st for _, series in panels for p in series.values() for st, _ in p]
        x_range = None
        if steps and min(steps) < max(steps):
            pad = 0.03 * (max(steps) - min(steps))
            x_range = (min(steps) - pad, max(steps) + pad)
        for i, (kind, series) in enumerate(panels):
            ax = self.fig.add_subplot(nrows, ncols, i + 1)
            self.axes.append(ax)
            notes = self._draw_panel(kind, series, ax, self._style(kind, series))
            self.notes[kind] = "\n".join(notes)
            if x_range is not None:
                ax.set_xlim(*x_range)
            ax.set_title(self.title if kind == "main" else gettext(TITLES[kind]), fontsize=10)
            ax.set_xlabel(gettext(self.x_label), fontsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
            ax.xaxis.set_major_formatter(_plain_formatter())
            if ax.get_yscale() == "linear":
                ax.yaxis.set_major_locator(MaxNLocator(5, min_n_ticks=2))
                ax.yaxis.set_major_formatter(_plain_formatter())
            else:
                ax.yaxis.set_major_formatter(_log_formatter(minor=False))
                ax.yaxis.set_minor_formatter(_log_formatter(minor=True))
            ax.tick_params(which="both", labelsize=7)
            ax.grid(alpha=0.3)
            handles, labels = ax.get_legend_handles_labels()
            if notes:  # notes go into the legend box beside the panel, in red, never over the data
                from matplotlib.lines import Line2D

                handles += [Line2D([], [], ls="none")] * len(notes)
                labels += notes
            leg = ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                            frameon=False, borderaxespad=0.0, handlelength=1.5)
            for text in leg.get_texts()[len(labels) - len(notes):]:
                text.set_color("#b00020")
        return png(self.fig)

    def _draw_panel(self, kind, series, ax, style) -> list[str]:
        """Draw one panel's curves and scales; returns its notes (what could not be drawn)."""
        import textwrap

        x_label = gettext(self.x_label)
        logwanted = kind in LOG_KINDS or (kind == "main" and self.log_scale)
        if kind == "update_ratio":
            lo, hi = HEALTHY_RATIO
            ax.axhspan(lo, hi, color="tab:green", alpha=0.08)
            ax.axhline(1e-3, color="tab:green", ls="--", lw=1, label=gettext("healthy ~1e-3 (CS231n)"))
        low, notes = math.inf, []
        for name, points in series.items():
            smooth, markers = style[name]
            kw = dict(marker="o", ms=3.5) if markers else {}
            steps, vals = zip(*_thin(points))
            if smooth:
                (raw,) = ax.plot(steps, vals, lw=0.8, alpha=0.3, **kw)
                ax.plot(steps, ema(vals, self.smoothing), lw=1.6, color=raw.get_color(),
                        label=f"{name} (EMA {self.smoothing:g})")
            else:
                ax.plot(steps, vals, lw=1.4, label=name, **kw)
            bad = [(st, v) for st, v in points if not math.isfinite(v)]
            if bad:
                notes.append(gettext("{name} is {value} from {x_label} {step} on (not drawn)", name=name,
                                     value=bad[0][1], x_label=x_label, step=bad[0][0]))
            positive = [v for _, v in points if v > 0 and math.isfinite(v)]
            low = min(low, min(positive, default=math.inf))
            if logwanted and kind != "update_ratio" and any(v <= 0 for _, v in points):
                notes.append(gettext("{name} has values <= 0, not drawn on the log scale", name=name))
        xs = [st for p in series.values() for st, _ in p]
        if min(xs) == max(xs):  # one x value: a range of whole steps around it, not +-0.05
            ax.set_xlim(xs[0] - 1, xs[0] + 1)
        if kind == "dead_frac":
            ax.set_ylim(-0.03, 1.03)
        if logwanted and low < math.inf:
            ax.set_yscale("log")
        else:
            vals = [v for p in series.values() for _, v in p if math.isfinite(v)]
            if vals and min(vals) == max(vals) and kind != "dead_frac":  # one value: a range around it
                pad = abs(vals[0]) * 0.1 or 1.0
                ax.set_ylim(vals[0] - pad, vals[0] + pad)
        if kind == "update_ratio":
            finite = [(v, st, n) for n, p in series.items() for st, v in p if math.isfinite(v)]
            worst = max(finite, default=(0.0, None, ""))
            if worst[0] > RATIO_TOP:
                bottom = min(low / 2, HEALTHY_RATIO[0] / 10) if low < math.inf else 1e-12
                ax.set_ylim(max(bottom, 1e-12), RATIO_TOP)
                notes.append(gettext("off scale: {name} {value:.1e} at {x_label} {step}", name=worst[2],
                                     value=worst[0], x_label=x_label, step=worst[1]))
            zero = [(st, n) for v, st, n in finite if v == 0]
            if zero:
                notes.append(gettext("{name}: ratio 0 at {x_label} {step} (weights frozen), not drawn on the log "
                                     "scale", name=zero[0][1], x_label=x_label, step=zero[0][0]))
        # a CJK character is twice as wide as a Latin one
        return ["\n".join(textwrap.wrap(note, 34 if note.isascii() else 18)) for note in notes]


class HistogramsFigure:
    """Histograms of each layer's weights (top row) and gradients (bottom row)."""

    def __init__(self):
        self._signature = None

    def render(self, params, grads) -> bytes:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

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
                    ax.set_title(gettext(ROW_TITLES[label], name=name), fontsize=8)
                    ax.tick_params(labelsize=7)
                    ax.set_yticks([])
                    ax.xaxis.set_major_locator(MaxNLocator(3, min_n_ticks=2))
                    ax.xaxis.set_major_formatter(_plain_formatter())
                    self.axes[label, name] = ax
            if not rows:
                self.fig.text(0.5, 0.5, gettext("pass params=/grads= to update() to see histograms"), ha="center")
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
