"""The monitor's live plots, drawn by the browser: an anywidget that the kernel feeds with new points only.

:class:`LivePlots` holds references to the monitor's ``history`` and ``stats`` (``{name: [(step, value), ...]}``
and ``{kind: {layer: [(step, value), ...]}}``); :meth:`LivePlots.push` sends the points added since the last push
and the latest histogram counts (:func:`histogram_counts`), nothing before the page has said it is ready, and
everything again when a page (re)loads. No image is rasterised in the kernel. The drawing code is
:mod:`course.monitor_live_js`.
"""

from __future__ import annotations

import json
import math
import uuid

import anywidget
import numpy as np
import traitlets

from course.i18n import gettext
from course.monitor_live_js import ESM
from course.monitor_plot import ROW_TITLES, TITLES, curve_panels
from course.monitor_stats import MAX_LAYERS, flat_sample, weight_names

BINS = 40
SEND_WITHOUT_PAGE = False  # benchmarks set it: send as if a page were ready (a kernel without a browser)


def _number(v: float):
    """JSON has no nan/inf: they travel as null (a gap in the curve)."""
    return v if math.isfinite(v) else None


def histogram_counts(params: dict | None, grads: dict | None, bins: int = BINS) -> dict:
    """``{"weights"|"gradients": {layer: {"lo", "hi", "counts"}}}`` of each weight's values (a strided sample of
    at most :data:`course.monitor_stats.HIST_SAMPLE` values; non-finite ones left out), layers in the params'
    order."""
    out = {}
    order = weight_names(params) if params else []
    for label, arrays in (("weights", params), ("gradients", grads)):
        if not arrays:
            continue
        layers = {}
        names = [n for n in order if n in arrays] + [n for n in weight_names(arrays) if n not in order]
        for name in names[:MAX_LAYERS]:
            vals = flat_sample(arrays[name])
            vals = vals[np.isfinite(vals)]
            if vals.size:
                counts, edges = np.histogram(vals, bins=bins)
                layers[name] = {"lo": float(edges[0]), "hi": float(edges[-1]), "counts": counts.tolist()}
        if layers:
            out[label] = layers
    return out


def live_labels() -> dict[str, str]:
    """The live panels' titles, legend and note templates in the learner's language (the static figure's catalog
    messages, :mod:`course.monitor_plot`); the browser fills the ``{name}``-style placeholders."""
    out = {kind: gettext(text) for kind, text in TITLES.items()}
    out.update({row: gettext(text) for row, text in ROW_TITLES.items()})
    out.update(healthy=gettext("healthy ~1e-3 (CS231n)"),
               not_finite=gettext("{name} is {value} from {x_label} {step} on (not drawn)"),
               ratio_zero=gettext("{name}: ratio 0 at {x_label} {step} (weights frozen), not drawn on the log scale"),
               off_scale=gettext("off scale: {name} {value} at {x_label} {step}"),
               not_positive=gettext("{name} has values <= 0, not drawn on the log scale"))
    return out


class LivePlots(anywidget.AnyWidget):
    """Curve panels and histograms drawn on canvases in the browser. ``messages`` / ``bytes_sent`` count what
    :meth:`push` sent (the JSON size of each message's content)."""

    _esm = ESM
    key = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("training").tag(sync=True)
    x_label = traitlets.Unicode("step").tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    smoothing = traitlets.Float(0.6).tag(sync=True)
    labels = traitlets.Dict({}).tag(sync=True)  # the panels' texts in the learner's language (live_labels)

    def __init__(self, history: dict, stats: dict, **kwargs):
        kwargs.setdefault("labels", live_labels())
        super().__init__(key=uuid.uuid4().hex, **kwargs)
        self.history, self.stats = history, stats
        self.hist: dict = {}
        self.ready = SEND_WITHOUT_PAGE  # a page has asked for the data
        self.finished = False  # the monitor has closed: a page that loads now is answered at once
        self.messages = 0
        self.bytes_sent = 0
        self._sent: dict[tuple[str, str], int] = {}
        self._resend = self.ready
        self._hist_sent = True
        self.on_msg(self._on_message)

    def _on_message(self, _widget, content, _buffers) -> None:
        """A page is ready (may run in a comm subshell thread: only flags are set, unless training is over)."""
        if isinstance(content, dict) and content.get("t") == "ready":
            self._resend = True
            self.ready = True
            if self.finished:
                self.push()

    def set_histograms(self, params: dict | None, grads: dict | None) -> None:
        """Compute the histogram counts now; the next :meth:`push` sends them if they changed."""
        hist = histogram_counts(params, grads)
        if hist != self.hist:
            self.hist = hist
            self._hist_sent = False

    def push(self) -> bool:
        """Send the points added since the last push (all of them after a page's ready) and new histogram
        counts; returns whether a message was sent."""
        if not self.ready:
            return False
        reset = self._resend
        if reset:
            self._resend = False
            self._sent = {}
            self._hist_sent = False
        panels: dict = {}
        for kind, series in curve_panels(self.history, self.stats):
            for name, points in series.items():
                start = self._sent.get((kind, name), 0)
                end = len(points)
                if end > start:
                    new = points[start:end]
                    panels.setdefault(kind, {})[name] = [[s for s, _ in new], [_number(v) for _, v in new]]
                    self._sent[kind, name] = end
        msg: dict = {"t": "data", "reset": reset, "panels": panels}
        if not self._hist_sent and self.hist:
            msg["hist"] = self.hist
        self._hist_sent = True
        if not panels and "hist" not in msg and not reset:
            return False
        self.send(msg)
        self.messages += 1
        self.bytes_sent += len(json.dumps(msg))
        return True
