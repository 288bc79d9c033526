"""Plain-language diagnoses of a training run, computed from its recorded history.

Pure functions, no drawing: :class:`course.monitor.TrainingMonitor` shows their messages, and the tests feed them
synthetic histories. Two inputs, both in the monitor's formats:

- ``metrics``: ``{name: [(step, value), ...]}`` (e.g. ``loss``, ``val_loss``, ``accuracy``), as in
  ``TrainingMonitor.history``;
- ``stats``: ``{kind: {layer: [(step, value), ...]}}`` as in ``TrainingMonitor.stats``, with kinds
  ``grad_rms`` (root-mean-square gradient of each weight), ``update_ratio`` (``||W_new - W_old|| / ||W_old||`` per
  step), ``dead_frac`` (fraction of ReLU units that are zero for every example of the batch) and ``output_absmax``
  (largest ``|output|``, layer ``"outputs"``).

:func:`diagnose` runs every rule and returns the :class:`Diagnosis` list (empty for healthy training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LR_CAUSES = ("the learning rate is too high, the update has the wrong sign (adding the gradient instead of "
             "subtracting it), or the inputs are not scaled (standardize X to mean 0, std 1)")


@dataclass(frozen=True)
class Diagnosis:
    """One finding: ``code`` (stable id for tests), ``severity`` ("error" or "warning"), ``message`` for people."""

    code: str
    severity: str
    message: str
    step: int | None = None


def train_loss_name(metrics: dict) -> str | None:
    """The training-loss curve: ``loss`` or ``train_loss`` if present, else the first name containing "loss"
    that is not a validation/test curve."""
    for name in ("loss", "train_loss"):
        if name in metrics:
            return name
    for name in metrics:
        low = name.lower()
        if "loss" in low and not low.startswith(("val", "test")):
            return name
    return None


def val_loss_name(metrics: dict) -> str | None:
    for name in metrics:
        low = name.lower()
        if "loss" in low and low.startswith(("val", "test")):
            return name
    return None


def _values(points) -> list[float]:
    return [float(v) for _, v in points]


def check_not_finite(metrics: dict) -> list[Diagnosis]:
    """Any metric that became nan or inf (the first step where it happened)."""
    out = []
    for name, points in metrics.items():
        for step, value in points:
            if not math.isfinite(float(value)):
                out.append(Diagnosis("not_finite", "error",
                                     f"{name} became {value} at step {step}: {LR_CAUSES}. Also look for log(0) or "
                                     "division by zero.", int(step)))
                break
    return out


def _rising(vals: list[float], block: int, rise: float) -> tuple[float, float] | None:
    """(first, last) block means if the means of the last three blocks increase one after the other, the last is
    ``rise`` times the first, and the rise is larger than three standard errors of the block means (so that
    minibatch noise alone does not count); else None."""
    tail = vals[-3 * block:]
    if len(tail) < 3 * block or not all(math.isfinite(v) for v in tail):
        return None
    blocks = [tail[i * block:(i + 1) * block] for i in range(3)]
    means = [sum(b) / block for b in blocks]
    var = [sum((v - m) ** 2 for v in b) / max(block - 1, 1) for b, m in zip(blocks, means)]
    noise = 3 * math.sqrt((var[0] + var[2]) / block)
    if means[0] < means[1] < means[2] and means[2] > rise * means[0] and means[2] - means[0] > noise:
        return means[0], means[2]
    return None


def _block(n: int, block: int | None) -> int:
    """Block size: 3 points for short histories, longer ones average over more (at most 50)."""
    return block if block is not None else max(3, min(n // 15, 50))


def check_loss_rising(metrics: dict, block: int | None = None, rise: float = 1.1) -> list[Diagnosis]:
    """Training loss rising for several steps (see :func:`_rising`; ``block`` defaults to 3..50 points)."""
    name = train_loss_name(metrics)
    if name is None:
        return []
    vals = _values(metrics[name])
    b = _block(len(vals), block)
    found = _rising(vals, b, rise)
    if found is None:
        return []
    return [Diagnosis("loss_rising", "error",
                      f"The training loss has been rising for the last {3 * b} updates "
                      f"({found[0]:.3g} → {found[1]:.3g}): {LR_CAUSES}.", int(metrics[name][-1][0]))]


def check_overfitting(metrics: dict, block: int | None = None, rise: float = 1.05) -> list[Diagnosis]:
    """Validation loss rising while the training loss does not."""
    tname, vname = train_loss_name(metrics), val_loss_name(metrics)
    if tname is None or vname is None:
        return []
    t, v = _values(metrics[tname]), _values(metrics[vname])
    if _rising(v, _block(len(v), block), rise) is None or _rising(t, _block(len(t), block), 1.0) is not None:
        return []
    return [Diagnosis("overfitting", "warning",
                      f"{vname} is rising while {tname} is not: the network starts to overfit "
                      "(stop early, add data or regularization).", int(metrics[vname][-1][0]))]


def _recent(points, n):
    return _values(points[-n:]) if len(points) >= n else None


def check_first_layer_vanishing(stats: dict, ratio: float = 1e-2, samples: int = 3) -> list[Diagnosis]:
    """First layer's RMS gradient below ``ratio`` times the last layer's, for the last ``samples`` samples."""
    layers = stats.get("grad_rms", {})
    names = list(layers)
    if len(names) < 2:
        return []
    first, last = _recent(layers[names[0]], samples), _recent(layers[names[-1]], samples)
    if first is None or last is None:
        return []
    if all(f < ratio * l or (f == 0 and l == 0) for f, l in zip(first, last)) and max(last) > 0:
        r = first[-1] / last[-1] if last[-1] else 0.0
        return [Diagnosis("vanishing_gradients", "warning",
                          f"Gradients vanish before they reach the first layer: {names[0]} gets {r:.1e} times the "
                          f"gradient of {names[-1]}, so it barely learns. Saturating sigmoid/tanh units or a bad "
                          "initialization are the usual causes: try ReLU, He/Xavier initialization, scaled inputs.",
                          int(layers[names[0]][-1][0]))]
    return []


def check_outputs_exploding(stats: dict, limit: float = 1e4, growth: float = 100.0,
                            samples: int = 3) -> list[Diagnosis]:
    """Network outputs huge (``> limit``), non-finite, or grown ``growth`` times over the recorded samples."""
    points = stats.get("output_absmax", {}).get("outputs", [])
    if not points:
        return []
    vals = _values(points)
    last = vals[-1]
    start = next((v for v in vals if v > 0 and math.isfinite(v)), None)
    grew = (len(vals) >= samples and start is not None and math.isfinite(last) and last > growth * start
            and last > 10.0 and all(a <= b for a, b in zip(vals[-samples:], vals[-samples + 1:])))
    if not math.isfinite(last) or last > limit or grew:
        return [Diagnosis("outputs_exploding", "error",
                          f"The network's outputs are exploding (largest |output| = {last:.3g}): {LR_CAUSES}. "
                          "Too large an initialization does it too.", int(points[-1][0]))]
    return []


def check_weights_not_changing(stats: dict, tiny: float = 1e-7, samples: int = 3) -> list[Diagnosis]:
    """Every weight's update/weight ratio below ``tiny`` for the last ``samples`` samples."""
    layers = stats.get("update_ratio", {})
    recent = {name: _recent(points, samples) for name, points in layers.items()}
    if not recent or any(v is None for v in recent.values()):
        return []
    if all(max(v) < tiny for v in recent.values()):
        step = max(points[-1][0] for points in layers.values())
        return [Diagnosis("weights_not_changing", "error",
                          "The weights are not changing (update/weight ratio below "
                          f"{tiny:g}; healthy is about 1e-3): the learning rate is zero or far too small, the "
                          "update is computed but never assigned back to the parameters, or the gradients are zero.",
                          int(step))]
    return []


def check_update_ratio_high(stats: dict, high: float = 0.1, samples: int = 3) -> list[Diagnosis]:
    """Some weight changes by more than ``high`` of its size per step, for the last ``samples`` samples."""
    out = []
    for name, points in stats.get("update_ratio", {}).items():
        vals = _recent(points, samples)
        if vals is not None and min(vals) > high:
            out.append(Diagnosis("update_ratio_high", "warning",
                                 f"{name} changes by {vals[-1]:.1e} of its size per step (healthy is about 1e-3): "
                                 "the learning rate is probably too high.", int(points[-1][0])))
    return out


def check_dead_relus(stats: dict, limit: float = 0.5, samples: int = 3) -> list[Diagnosis]:
    """More than ``limit`` of a layer's ReLU units are zero for the whole batch, for the last ``samples`` samples."""
    out = []
    for name, points in stats.get("dead_frac", {}).items():
        vals = _recent(points, samples)
        if vals is not None and min(vals) > limit:
            out.append(Diagnosis("dead_relus", "warning",
                                 f"{vals[-1]:.0%} of the ReLU units in {name} are dead (zero for every example): "
                                 "a too high learning rate or a bad initialization/bias pushed them negative.",
                                 int(points[-1][0])))
    return out


def diagnose(metrics: dict, stats: dict | None = None) -> list[Diagnosis]:
    """Run every rule; errors first. An empty list means nothing suspicious was found."""
    stats = stats or {}
    found = (check_not_finite(metrics) + check_loss_rising(metrics) + check_outputs_exploding(stats)
             + check_weights_not_changing(stats) + check_first_layer_vanishing(stats) + check_update_ratio_high(stats)
             + check_dead_relus(stats) + check_overfitting(metrics))
    return sorted(found, key=lambda d: d.severity != "error")
