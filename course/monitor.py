"""The live training monitor: a loss curve that updates in JupyterLab while a network trains.

Usage::

    with TrainingMonitor("perceptron", metrics=["mistakes"]) as mon:
        for epoch in range(epochs):
            ...
            mon.update(epoch, mistakes=n_wrong)

Modes (chosen by :func:`detect_mode`, or forced with ``mode=`` / the ``COURSE_MONITOR`` environment variable):

- ``live``: inside JupyterLab/Notebook (a kernel started by a Jupyter server): an ipywidgets panel whose
  plot is redrawn at most every ``every_seconds``.
- ``static``: a kernel with no Jupyter server (``jupyter nbconvert --execute``, nbclient): nothing during
  training, one final figure at the end.
- ``off``: under nbgrader (``NBGRADER_EXECUTION`` is set) or outside IPython: records history only, draws
  nothing, so grading is never slowed down or blocked by widgets.
"""

from __future__ import annotations

import io
import math
import os
import time

MODES = ("live", "static", "off")


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
    """Record metrics per step and plot them: live (throttled), as a final static figure, or not at all.

    ``metrics`` names the curves, e.g. ``["loss", "val_loss"]``; each ``update(step, **values)`` adds points.
    """

    def __init__(self, title="training", metrics=("loss",), every_seconds=0.5, log_scale=False, mode=None):
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.title = title
        self.metrics = list(metrics)
        self.every_seconds = float(every_seconds)
        self.log_scale = log_scale
        self.mode = mode or detect_mode()
        self.history: dict[str, list[tuple[int, float]]] = {m: [] for m in self.metrics}
        self.redraws = 0
        self.stopped = False  # set by the stop button (live mode); training loops check it
        self.params = None
        self.grads = None
        self._last_draw = -math.inf
        self._closed = False
        self._widget = None
        if self.mode == "live":
            self._build_widget()

    # -- recording ------------------------------------------------------------------------------------------
    def update(self, step: int, *, params=None, grads=None, **values: float) -> None:
        """Add one point per metric given (unknown metric names are added as new curves).

        ``params`` / ``grads``: optional dicts ``{name: array}`` of the current weights and gradients, for the
        histogram and diagnosis panels. Training loops should stop when ``monitor.stopped`` becomes True.
        """
        if params is not None:
            self.params = params
        if grads is not None:
            self.grads = grads
        for name, value in values.items():
            self.history.setdefault(name, []).append((int(step), float(value)))
        if self.mode == "live" and time.monotonic() - self._last_draw >= self.every_seconds:
            self._redraw()

    def close(self) -> None:
        """Final draw: the live plot shows every point; static mode displays its one figure now."""
        if self._closed:
            return
        self._closed = True
        if self.mode == "live":
            self._redraw()
        elif self.mode == "static":
            from IPython.display import Image, display

            display(Image(data=self.render_png()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- drawing --------------------------------------------------------------------------------------------
    def render_png(self) -> bytes:
        """The current plot as PNG bytes (matplotlib's Agg backend; no pyplot state is touched)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.2), dpi=80)
        ax = fig.add_subplot(1, 1, 1)
        for name, points in self.history.items():
            if points:
                steps, vals = zip(*points)
                ax.plot(steps, vals, label=name)
        if self.log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(self.title)
        if any(self.history.values()):
            ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    def _build_widget(self) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self._status = widgets.HTML(value=f"<b>{self.title}</b>: waiting for the first step")
        self._image = widgets.Image(format="png", value=self.render_png())
        self._widget = widgets.VBox([self._status, self._image])
        self._widget.add_class("course-training-monitor")
        display(self._widget)

    def _status_text(self) -> str:
        parts = []
        for name, points in self.history.items():
            if points:
                parts.append(f"{name} = {points[-1][1]:.4g}")
        step = max((p[-1][0] for p in self.history.values() if p), default=0)
        return f"<b>{self.title}</b>: step {step}" + ("; " + ", ".join(parts) if parts else "")

    def _redraw(self) -> None:
        self._last_draw = time.monotonic()
        self.redraws += 1
        self._image.value = self.render_png()
        self._status.value = self._status_text()
