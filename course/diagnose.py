"""Plain-language diagnoses of a training run, computed from its recorded history.

Pure functions, no drawing: :class:`course.monitor.TrainingMonitor` shows their messages, and the tests feed them
synthetic histories. Two inputs, both in the monitor's formats:

- ``metrics``: ``{name: [(step, value), ...]}`` (e.g. ``loss``, ``val_loss``, ``accuracy``), as in
  ``TrainingMonitor.history``;
- ``stats``: ``{kind: {layer: [(step, value), ...]}}`` as in ``TrainingMonitor.stats`` (kinds: see
  :class:`course.monitor_stats.StatsSampler`).

:func:`diagnose` runs every rule and returns the :class:`Diagnosis` list (empty for healthy training);
:class:`DiagnosisLog` keeps every finding of a run with the step it was first seen, also after it went away.

The healthy update/weight ratio: "somewhere around 1e-3" per update (A. Karpathy, CS231n notes, "Neural Networks
Part 3", section "Ratio of weights:updates"); we call 1e-4 .. 1e-2 healthy (:data:`HEALTHY_RATIO`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

HEALTHY_RATIO = (1e-4, 1e-2)
HEALTHY_TEXT = "healthy is around 1e-3 per update, roughly 1e-4..1e-2 (CS231n)"
STEP_CAUSES = ("the update has the wrong sign (adding the gradient instead of subtracting it) or the step is too "
               "large: lower the learning rate, and scale the inputs (mean 0, std 1)")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Diagnosis:
    """One finding: ``code`` (stable id for tests), ``severity`` ("error", "warning" or "info"), ``message`` for
    people, ``step`` where it was seen, ``subject`` (the layer or metric it is about). In a :class:`DiagnosisLog`,
    ``step`` is the first step it held, ``last_step`` the last one and ``active`` whether it still holds."""

    code: str
    severity: str
    message: str
    step: int | None = None
    subject: str = ""
    last_step: int | None = None
    active: bool = True


def train_loss_name(metrics: dict) -> str | None:
    """The training-loss curve: ``loss``, ``train_loss`` or ``cost`` if present, else the first name containing
    "loss" or "cost" that is not a validation/test curve."""
    for name in ("loss", "train_loss", "cost"):
        if name in metrics:
            return name
    for name in metrics:
        low = name.lower()
        if ("loss" in low or "cost" in low) and not low.startswith(("val", "test")):
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


def _recent(points, n):
    return _values(points[-n:]) if len(points) >= n else None


def check_not_finite(metrics: dict) -> list[Diagnosis]:
    """Any metric that became nan or inf (the first step where it happened)."""
    out = []
    for name, points in metrics.items():
        for step, value in points:
            if not math.isfinite(float(value)):
                out.append(Diagnosis("not_finite", "error",
                                     f"{name} became {value} at step {step}: {STEP_CAUSES}. Also look for log(0) or "
                                     "division by zero.", int(step), name))
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
                      f"The training {name} has been rising for the last {3 * b} points "
                      f"({found[0]:.3g} → {found[1]:.3g}): {STEP_CAUSES}.", int(metrics[name][-1][0]), name)]


def check_loss_flat(metrics: dict, min_points: int = 30, min_steps: int = 300, drop: float = 0.1) -> list[Diagnosis]:
    """The training loss fell by less than ``drop`` (relative) from the first to the last tenth of at least
    ``min_points`` points spanning ``min_steps`` steps: training is stuck (not diverging, just not learning)."""
    name = train_loss_name(metrics)
    points = metrics.get(name, []) if name else []
    if len(points) < min_points or points[-1][0] - points[0][0] < min_steps:
        return []
    vals = _values(points)
    n = max(3, len(vals) // 10)
    first, last = sum(vals[:n]) / n, sum(vals[-n:]) / n
    if not (math.isfinite(first) and math.isfinite(last)) or first <= 0 or last > first * 1.1:
        return []  # diverging runs are loss_rising's job
    if last >= first * (1 - drop):
        return [Diagnosis("loss_flat", "warning",
                          f"The training {name} has barely moved in {points[-1][0] - points[0][0]} steps "
                          f"({first:.3g} → {last:.3g}): the network is not learning. Look at the gradient and "
                          "update/weight panels: vanishing gradients (a too small initialization, saturated units) "
                          "or a far too small learning rate.", int(points[-1][0]), name)]
    return []


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
                      "(stop early, add data or regularization).", int(metrics[vname][-1][0]), vname)]


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
                          f"gradient of {names[-1]}, so it barely learns. A too small initialization (activations "
                          "shrink layer after layer) or saturating sigmoid/tanh units are the usual causes: try "
                          "He/Xavier initialization, ReLU, scaled inputs.", int(layers[names[0]][-1][0]), names[0])]
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
                          f"The network's outputs are exploding (largest |output| = {last:.3g}): {STEP_CAUSES}. "
                          "Too large an initialization (unscaled randn) does it too.", int(points[-1][0]), "outputs")]
    return []


def _largest_ratio(stats: dict) -> tuple[float, int | None]:
    best, at = 0.0, None
    for points in stats.get("update_ratio", {}).values():
        for step, v in points:
            if math.isfinite(v) and v > best:
                best, at = v, step
    return best, at


def check_outputs_dead(stats: dict, limit: float = 0.9, samples: int = 2) -> list[Diagnosis]:
    """A ReLU output layer with more than ``limit`` of its units zero for every example (``dead_frac["outputs"]``)."""
    points = stats.get("dead_frac", {}).get("outputs", [])
    vals = _recent(points, samples)
    if vals is None or min(vals) < limit:
        return []
    big, at = _largest_ratio(stats)
    cause = (f" The largest update changed a weight by {big:.2g} of its size (step {at}): a step far too large "
             "pushed every output unit below zero." if big > HEALTHY_RATIO[1] else
             " A too large step or a bad initialization/bias pushed them below zero.")
    return [Diagnosis("outputs_dead", "error",
                      f"The output ReLU is dead: {vals[-1]:.0%} of the output units are 0 for every example, so no "
                      "gradient flows back and the weights stop changing (that is not a too small learning rate)."
                      + cause + " Do not put a ReLU on the output of a regression net; lower the learning rate and "
                      "scale inputs and initialization.", int(points[-1][0]), "outputs")]


def check_weights_not_changing(stats: dict, tiny: float = 1e-7, samples: int = 3) -> list[Diagnosis]:
    """Every weight's update/weight ratio below ``tiny`` for the last ``samples`` samples, and never large before
    (weights frozen after huge steps are dead units, see :func:`check_outputs_dead`)."""
    layers = stats.get("update_ratio", {})
    recent = {name: _recent(points, samples) for name, points in layers.items()}
    if not recent or any(v is None for v in recent.values()):
        return []
    if all(max(v) < tiny for v in recent.values()) and _largest_ratio(stats)[0] <= HEALTHY_RATIO[1]:
        step = max(points[-1][0] for points in layers.values())
        return [Diagnosis("weights_not_changing", "error",
                          f"The weights are not changing (update/weight ratio below {tiny:g}; {HEALTHY_TEXT}): the "
                          "learning rate is zero or far too small, the update is computed but never assigned back "
                          "to the parameters, or the gradients are zero.", int(step), "weights")]
    return []


def check_weights_frozen_after_huge_step(stats: dict, tiny: float = 1e-7, huge: float = 1.0,
                                        samples: int = 3) -> list[Diagnosis]:
    """Weights that changed by more than ``huge`` times their size in one update and have not changed since (for
    the last ``samples`` samples): the huge step killed the ReLU units they feed or come from, which pass back no
    gradient. Not a learning rate that is too small."""
    frozen, worst = [], (0.0, None)
    for name, points in stats.get("update_ratio", {}).items():
        vals = _recent(points, samples)
        if vals is None or max(vals) >= tiny:
            continue
        big = max(((v, s) for s, v in points[:-samples] if math.isfinite(v)), default=(0.0, None))
        if big[0] > huge:
            frozen.append(name)
            worst = max(worst, big, key=lambda t: t[0])
    if not frozen:
        return []
    names = ", ".join(frozen)
    return [Diagnosis("weights_frozen_after_huge_step", "error",
                      f"{names} stopped changing after an update {worst[0]:.2g} times their size (step {worst[1]}): a "
                      "step far too large pushed the ReLU units below zero, dead units pass back no gradient, so "
                      f"these weights freeze. The cause is the huge step (not a small learning rate): {STEP_CAUSES}.",
                      int(stats["update_ratio"][frozen[0]][-1][0]), names)]


def check_update_ratio_high(stats: dict, high: float = 0.1, samples: int = 3) -> list[Diagnosis]:
    """Some weight changes by more than ``high`` of its size per update, for the last ``samples`` samples."""
    out = []
    for name, points in stats.get("update_ratio", {}).items():
        vals = _recent(points, samples)
        if vals is not None and min(vals) > high:
            out.append(Diagnosis("update_ratio_high", "warning",
                                 f"{name} changes by {vals[-1]:.1e} of its size per update ({HEALTHY_TEXT}): "
                                 "the learning rate is probably too high.", int(points[-1][0]), name))
    return out


def check_dead_relus(stats: dict, limit: float = 0.5, samples: int = 3) -> list[Diagnosis]:
    """More than ``limit`` of a hidden layer's ReLU units are zero for the whole batch, for the last ``samples``
    samples (the output layer is :func:`check_outputs_dead`'s)."""
    out = []
    for name, points in stats.get("dead_frac", {}).items():
        vals = _recent(points, samples)
        if name != "outputs" and vals is not None and min(vals) > limit:
            out.append(Diagnosis("dead_relus", "warning",
                                 f"{vals[-1]:.0%} of the ReLU units in {name} are dead (zero for every example): "
                                 "a too high learning rate or a bad initialization/bias pushed them negative.",
                                 int(points[-1][0]), name))
    return out


def check_zero_gradient_entries(stats: dict, frac: float = 0.02, samples: int = 3) -> list[Diagnosis]:
    """A weight part of whose entries get exactly zero gradient at every recent sample while the weight as a whole
    moves: those entries keep their initial values (inputs that are always 0, e.g. black border pixels)."""
    out = []
    ratios = stats.get("update_ratio", {})
    for name, points in stats.get("zero_grad_frac", {}).items():
        vals = _recent(points, samples)
        moving = _recent(ratios.get(name, []), 1)
        if vals is None or min(vals) < frac or max(vals) >= 0.999 or not moving or moving[0] <= 0:
            continue
        out.append(Diagnosis("zero_gradient_entries", "info",
                             f"{min(vals):.0%} of {name}'s entries get exactly zero gradient: the inputs they "
                             "multiply are 0 in every example of the batch (e.g. border pixels that are black in "
                             "every image) or the units they feed are dead. Those entries keep their initial values; "
                             f"the rest of {name} is learning (update/weight ratio {moving[0]:.1e}). Look at the "
                             "whole weight matrix, not a corner of it.", int(points[-1][0]), name))
    return out


def diagnose(metrics: dict, stats: dict | None = None) -> list[Diagnosis]:
    """Run every rule; errors first, then warnings, then information. An empty list means nothing suspicious."""
    stats = stats or {}
    found = (check_not_finite(metrics) + check_loss_rising(metrics) + check_outputs_exploding(stats)
             + check_outputs_dead(stats) + check_weights_frozen_after_huge_step(stats)
             + check_weights_not_changing(stats) + check_first_layer_vanishing(stats)
             + check_loss_flat(metrics) + check_update_ratio_high(stats) + check_dead_relus(stats)
             + check_overfitting(metrics) + check_zero_gradient_entries(stats))
    return sorted(found, key=lambda d: SEVERITY_ORDER.get(d.severity, 3))


class DiagnosisLog:
    """Every finding of a run, each with the step it was first seen; findings that no longer hold stay in the
    log (``active=False``, ``last_step`` = the last step they held)."""

    def __init__(self):
        self._entries: dict[tuple[str, str], Diagnosis] = {}

    def record(self, found: list[Diagnosis], step: int | None) -> None:
        """Merge the findings of one evaluation at ``step``: new ones are added, current ones updated (latest
        message), those missing from ``found`` marked inactive."""
        now = {(d.code, d.subject): d for d in found}
        for key, old in list(self._entries.items()):
            if key not in now and old.active:
                self._entries[key] = dataclasses.replace(old, active=False)
        for key, d in now.items():
            seen = d.step if d.step is not None else step
            old = self._entries.get(key)
            first = old.step if old is not None else seen
            self._entries[key] = dataclasses.replace(d, step=first, last_step=seen, active=True)

    @property
    def entries(self) -> list[Diagnosis]:
        """All findings: active ones first, then by severity and first step."""
        return sorted(self._entries.values(),
                      key=lambda d: (not d.active, SEVERITY_ORDER.get(d.severity, 3), d.step or 0))

    def codes(self) -> list[str]:
        return [d.code for d in self.entries]
