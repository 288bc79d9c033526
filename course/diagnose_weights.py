"""Diagnosis rules on the sampled statistics of weights, gradients, activations and outputs.

Each rule takes ``stats = {kind: {layer: [(step, value), ...]}}`` (kinds: :class:`course.monitor_stats.StatsSampler`)
and, where it needs shapes, ``facts = {"params": {name: shape}, "grads": {name: shape}}``, and returns a list of
:class:`course.diagnosis.Diagnosis`. Rules decide on medians of several samples, never on one point (except
exact facts: a shape, a non-finite value, an update larger than the weight itself).

The initialization is inferred from the first sample of ``weight_scale`` (RMS times sqrt(fan-in)): about 1.41 for
He, 1 for Xavier/LeCun, 0.1 or less for "times 0.01" in a wide layer, sqrt(fan-in) for unscaled randn. A layer
that starts near 0 (scale < :data:`SMALL_SCALE`, e.g. a zero-initialised output layer) is never judged relative to
its start: its update/weight ratio is large while it grows, and that is healthy.
"""

from __future__ import annotations

import dataclasses
import math

from course.curve_stats import median, recent, values
from course.diagnosis import HEALTHY_RATIO, MESSAGES, finding
from course.i18n import gettext, join
from course.monitor_stats import fan_in

SMALL_SCALE = 0.3  # weight_scale below this: not (yet) at the size of a scaled initialization
HUGE_WEIGHT = 30.0  # weight_scale this many times its first value: the weights blew up
EXPLODING_OUTPUT = 1e4


def _recent_median(points, n: int):
    v = recent(points, n)
    return None if v is None else median(v)


def _before(points, step):
    """The value of the last point at or before ``step`` (None if none)."""
    out = None
    for s, v in points:
        if s > step:
            break
        out = v
    return out


def check_grad_shapes(facts: dict) -> list:
    """A gradient whose shape differs from its parameter's (swapped or transposed gradients)."""
    out = []
    params, grads = facts.get("params", {}), facts.get("grads", {})
    for name, gshape in grads.items():
        pshape = params.get(name)
        if pshape is not None and tuple(pshape) != tuple(gshape):
            out.append(finding("grad_shape_mismatch", None, name, layer=name, gshape=tuple(gshape),
                               pshape=tuple(pshape)))
    return out


def check_update_uphill(stats: dict, n: int = 5) -> list:
    """Every layer's update points along +gradient (median cosine with minus the gradient below -0.9)."""
    cos = {k: _recent_median(p, n) for k, p in stats.get("update_cos", {}).items()}
    cos = {k: c for k, c in cos.items() if c is not None}
    if cos and all(c < -0.9 for c in cos.values()):
        layer = max(cos, key=cos.get)
        return [finding("update_uphill", stats["update_cos"][layer][-1][0], "weights", cos=cos[layer], layer=layer)]
    return []


def check_update_applied_twice(stats: dict, n: int = 5) -> list:
    """Plain SGD (every update along minus the gradient: median cosine > 0.999), and one layer's step size
    (``||update|| / ||gradient||``, the learning rate) is 2 or 3 times the smallest layer's, within 3%. An update
    applied twice to every layer looks like a doubled learning rate: not decidable without the learning rate."""
    cos = {k: _recent_median(p, n) for k, p in stats.get("update_cos", {}).items()}
    size = {k: _recent_median(p, n) for k, p in stats.get("step_size", {}).items()}
    if len(size) < 2 or any(v is None for v in size.values()) or any(c is None or c < 0.999 for c in cos.values()):
        return []
    lr = min(size.values())
    if not lr > 0:
        return []
    out = []
    for layer, s in size.items():
        times = round(s / lr)
        if times in (2, 3) and abs(s / lr - times) < 0.03 * times:
            out.append(finding("update_applied_twice", stats["step_size"][layer][-1][0], layer, layer=layer,
                               factor=s / lr, lr=lr, cos=cos[layer], times=times))
    return out


def check_not_updated(stats: dict, facts: dict, n: int = 3) -> list:
    """Weights exactly unchanged for the last ``n`` measured updates while their gradient is not zero: one layer
    (``layer_not_updated``; only when the other layers' step size would change it by more than 1e-5 of its size
    per update, so a vanishing gradient in float32 does not count) or all (``weights_not_updated``)."""
    ratios, grads = stats.get("update_ratio", {}), stats.get("grad_rms", {})
    zeros, scale = stats.get("zero_grad_frac", {}), stats.get("weight_scale", {})
    frozen = {}
    for layer, points in ratios.items():
        r, g, z = recent(points, n), recent(grads.get(layer, []), n), recent(zeros.get(layer, []), n)
        if r is not None and g is not None and max(r) == 0 and min(g) > 0 and (z is None or max(z) < 0.999):
            frozen[layer] = median(g)
    if not frozen:
        return []
    step = max(p[-1][0] for p in ratios.values() if p)
    if len(frozen) == len(ratios):
        return [finding("weights_not_updated", step, "weights", count=n)]
    sizes = [_recent_median(p, n) for k, p in stats.get("step_size", {}).items() if k not in frozen]
    sizes = [s for s in sizes if s is not None and s > 0]
    if not sizes:
        return []
    lr = median(sizes)
    out = []
    for layer, grad in frozen.items():
        shape = facts.get("params", {}).get(layer)
        sc = _recent_median(scale.get(layer, []), 1)
        if shape is None or not sc:
            continue
        rms = sc / math.sqrt(fan_in(shape))
        expected = lr * grad / rms
        if expected > 1e-5:
            out.append(finding("layer_not_updated", step, layer, layer=layer, count=n, grad=grad, lr=lr,
                               expected=expected))
    return out


def _grad_ratio(stats: dict, n: int):
    """(first layer, last layer, median ratio of their gradient RMS, samples) or None."""
    layers = stats.get("grad_rms", {})
    names = list(layers)
    if len(names) < 2:
        return None
    first, last = recent(layers[names[0]], n), recent(layers[names[-1]], n)
    if first is None or last is None or not median(last) > 0:
        return None
    return names[0], names[-1], median(first) / median(last), n


def check_vanishing(stats: dict, ratio: float = 1e-2, n: int = 5) -> list:
    """The first layer's gradient RMS below ``ratio`` times the last layer's (medians of ``n`` samples), and its
    gradient not mostly exact zeros (that is dead units: :func:`check_zero_gradients`). The advice depends on
    the inferred initialization: too small, or already scaled (then the backward pass is suspect). Not while a
    later layer that started at 0 is still small (a zero-initialised output layer passes back little at first)."""
    found = _grad_ratio(stats, n)
    if found is None or not found[2] < ratio:
        return []
    first, last, r, count = found
    z = recent(stats.get("zero_grad_frac", {}).get(first, []), n)
    if z is not None and median(z) >= 0.5:
        return []
    moving = recent(stats.get("update_ratio", {}).get(first, []), n)
    if moving is not None and median(moving) >= HEALTHY_RATIO[0]:
        return []  # the first layer learns at a healthy rate: its gradient is small, not vanishing
    scales = stats.get("weight_scale", {})
    if any(p and p[0][1] < 1e-3 and p[-1][1] < SMALL_SCALE for k, p in scales.items() if k != first):
        return []  # a layer that started at 0 (zero-initialised) is still growing: it passes back little
    start = stats.get("weight_scale", {}).get(first, [])
    sc = start[0][1] if start else math.nan
    template = "vanishing_gradients_init" if sc < 0.5 else "vanishing_gradients_backward"
    return [finding("vanishing_gradients", stats["grad_rms"][first][-1][0], first, template, first=first, last=last,
                    ratio=r, count=count, scale=sc)]


def _huge_step_evidence(stats: dict) -> str | None:
    """Why we know a huge step happened: an update larger than a scaled weight, or weights that blew up, or
    exploding outputs."""
    scales = stats.get("weight_scale", {})
    for layer, points in stats.get("update_ratio", {}).items():
        for step, r in points:
            if not (math.isfinite(r) and r > 1):  # the scan below only for the rare huge ratios
                continue
            sc = _before(scales.get(layer, []), step - 1) or _before(scales.get(layer, []), step)
            if sc is not None and sc >= SMALL_SCALE:
                return gettext("{layer} changed by {ratio:.3g} times its size in one update at step {step}",
                               layer=layer, ratio=r, step=step)
    for layer, points in scales.items():
        if len(points) >= 2 and points[0][1] > 0 and points[-1][1] > HUGE_WEIGHT * points[0][1]:
            return gettext("{layer} grew from {first:.3g} to {last:.3g} times 1/sqrt(fan-in) by step {step}",
                           layer=layer, first=points[0][1], last=points[-1][1], step=points[-1][0])
    out = stats.get("output_absmax", {}).get("outputs", [])
    big = next(((s, v) for s, v in out if not v <= EXPLODING_OUTPUT), None)
    if big is not None:
        return gettext("largest |output| {value:.3g} at step {step}", value=big[1], step=big[0])
    return None


def check_zero_gradients(stats: dict, n: int = 3) -> list:
    """Weights whose gradient is exactly zero (>= 99.9% of entries) in the last ``n`` samples: dead units.
    With evidence of a huge step, one ``weights_frozen_after_huge_step`` for all of them."""
    dead = []
    for layer, points in stats.get("zero_grad_frac", {}).items():
        z = recent(points, n)
        if z is not None and min(z) >= 0.999:
            dead.append((layer, float(min(z)), points[-1][0]))
    grads = stats.get("grad_rms", {})
    frozen = [(layer, p[-1][0]) for layer, p in stats.get("update_ratio", {}).items()
              if layer not in grads and recent(p, n) is not None and max(recent(p, n)) == 0]
    evidence = _huge_step_evidence(stats) if dead or frozen else None
    if frozen and evidence is not None:  # no gradients given: weights exactly frozen after a huge step
        dead += [(layer, 1.0, step) for layer, step in frozen]
    if not dead:
        return []
    if evidence is not None:
        names = ", ".join(d[0] for d in dead)  # the subject: the same in every language
        return [finding("weights_frozen_after_huge_step", dead[0][2], names, layers=join(d[0] for d in dead),
                        evidence=evidence)]
    return [finding("zero_gradients", step, layer, layer=layer, frac=frac, count=n) for layer, frac, step in dead]


def check_weights_not_changing(stats: dict, tiny: float = 1e-5, n: int = 5) -> list:
    """Every layer's median update/weight ratio below ``tiny`` (but not exactly 0) over ``n`` samples, the
    gradients reaching every layer (first/last gradient RMS >= 1e-2, few exact zeros) and no huge step: the
    learning rate is far too small."""
    meds = {k: _recent_median(p, n) for k, p in stats.get("update_ratio", {}).items()}
    if not meds or any(m is None for m in meds.values()) or not all(0 < m < tiny for m in meds.values()):
        return []
    found = _grad_ratio(stats, n)
    if found is not None and found[2] < 1e-2:
        return []
    if any(_recent_median(p, n) is not None and _recent_median(p, n) >= 0.5
           for p in stats.get("zero_grad_frac", {}).values()) or _huge_step_evidence(stats):
        return []
    if any(p and p[0][1] < SMALL_SCALE for p in stats.get("weight_scale", {}).values()):
        return []  # a small initialization: tiny updates come from tiny gradients (vanishing_gradients' case)
    step = max(p[-1][0] for p in stats["update_ratio"].values())
    return [finding("weights_not_changing", step, "weights", ratio=median(list(meds.values())), count=n,
                    top=max(meds.values()))]


def check_outputs_exploding(stats: dict) -> list:
    """The largest |output| is not finite or above 1e4 in the latest sample (step: the first such sample)."""
    points = stats.get("output_absmax", {}).get("outputs", [])
    if not points or points[-1][1] <= EXPLODING_OUTPUT:
        return []
    first = next((s, v) for s, v in points if not v <= EXPLODING_OUTPUT)
    return [finding("outputs_exploding", first[0], "outputs", value=points[-1][1], at=first[0])]


def check_outputs_dead(stats: dict, limit: float = 0.9, n: int = 2) -> list:
    """A ReLU output layer with more than ``limit`` of its units 0 for every example, in the last ``n`` checks."""
    points = stats.get("dead_frac", {}).get("outputs", [])
    v = recent(points, n)
    if v is None or min(v) < limit:
        return []
    big = max(((r, s) for p in stats.get("update_ratio", {}).values() for s, r in p if math.isfinite(r)),
              default=(0.0, None))
    cause = (gettext(MESSAGES["outputs_dead_huge"], ratio=big[0], step=big[1]) if big[0] > HEALTHY_RATIO[1]
             else gettext(MESSAGES["outputs_dead_other"]))
    return [finding("outputs_dead", points[-1][0], "outputs", frac=float(v[-1]), cause=cause)]


def check_relu_output(stats: dict, frac: float = 0.01, n: int = 3) -> list:
    """Outputs never negative in any sample, with exact zeros in at least ``frac`` of them (median of ``n``
    samples): a ReLU on the output layer."""
    mins = values(stats.get("output_min", {}).get("outputs", []))
    zeros = stats.get("output_zero_frac", {}).get("outputs", [])
    z = recent(zeros, n)
    if z is None or not mins.size or mins.min() < 0 or median(z) < frac:
        return []
    return [finding("relu_output", zeros[-1][0], "outputs", frac=median(z), count=n)]


def check_init_too_large(stats: dict, facts: dict, limit: float = 4.0) -> list:
    """A weight with fan-in >= 16 whose first sample has RMS above ``limit`` / sqrt(fan-in) (unscaled randn)."""
    out = []
    for layer, points in stats.get("weight_scale", {}).items():
        shape = facts.get("params", {}).get(layer)
        if not points or shape is None or fan_in(shape) < 16 or not points[0][1] > limit:
            continue
        fan = fan_in(shape)
        out.append(finding("init_too_large", points[0][0], layer, layer=layer, scale=points[0][1],
                           rms=points[0][1] / math.sqrt(fan), fan=fan))
    return out


def check_update_ratio_high(stats: dict, high: float = 0.1, n: int = 5) -> list:
    """A weight at the size of a scaled initialization that changes by more than ``high`` of its size per update
    (median of ``n`` samples) while its size does not grow by a fifth of that per update (a small weight growing
    to its size changes fast, healthily); or by more than its own size in one update (``huge_step``)."""
    out = []
    scales = stats.get("weight_scale", {})
    for layer, points in stats.get("update_ratio", {}).items():
        sc = _recent_median(scales.get(layer, []), n)
        m = _recent_median(points, n)
        span = scales.get(layer, [])[-n:]
        growing = False
        if len(span) == n and span[0][1] > 0 and span[-1][0] > span[0][0] and span[-1][1] < 10 and m:
            per_update = (span[-1][1] / span[0][1]) ** (1 / (span[-1][0] - span[0][0])) - 1
            growing = per_update >= 0.2 * m
        if m is not None and m > high and sc is not None and sc >= SMALL_SCALE and not growing:
            out.append(finding("update_ratio_high", points[-1][0], layer, layer=layer, ratio=m, count=n))
            continue
        for step, r in points:
            if not (math.isfinite(r) and r > 1):
                continue
            before = _before(scales.get(layer, []), step - 1) or _before(scales.get(layer, []), step)
            if before is not None and before >= SMALL_SCALE:
                out.append(finding("huge_step", step, layer, layer=layer, ratio=r, at=step))
                break
    return out


def check_dead_relus(stats: dict, limit: float = 0.5, n: int = 2) -> list:
    """More than ``limit`` of a hidden layer's ReLU units 0 for every example of each of the last ``n`` checks
    (each check spans at least :data:`course.monitor_stats.DEAD_EXAMPLES` examples)."""
    from course.monitor_stats import DEAD_EXAMPLES

    out = []
    for layer, points in stats.get("dead_frac", {}).items():
        v = recent(points, n)
        if layer != "outputs" and v is not None and min(v) > limit:
            out.append(finding("dead_relus", points[-1][0], layer, frac=float(v[-1]), layer=layer,
                               examples=DEAD_EXAMPLES, count=n))
    return out


def check_narrow_bottleneck(facts: dict, factor: int = 8, metrics: dict | None = None) -> list:
    """A chain of dense weights (in, out) with a hidden width ``factor`` times smaller than both the input and
    the output size: information; a warning when the training loss also stays high (``metrics``:
    :func:`course.diagnose_loss.loss_stays_high`), the evidence that the bottleneck limits it."""
    shapes = [(k, s) for k, s in facts.get("params", {}).items() if len(s) == 2]
    if len(shapes) < 2 or any(a[1][1] != b[1][0] for a, b in zip(shapes, shapes[1:])):
        return []
    fan, out = shapes[0][1][0], shapes[-1][1][1]
    narrow = [(k, s[1]) for k, s in shapes[:-1] if s[1] * factor <= min(fan, out)]
    if not narrow:
        return []
    layer, width = min(narrow, key=lambda t: t[1])
    from course.diagnose_loss import loss_stays_high

    high = loss_stays_high(metrics or {})
    if high is not None:
        return [dataclasses.replace(finding("narrow_bottleneck", None, layer, "narrow_bottleneck_loss", layer=layer,
                                            width=width, fan=fan, out=out, **high), severity="warning")]
    return [finding("narrow_bottleneck", None, layer, layer=layer, width=width, fan=fan, out=out)]


def check_zero_gradient_entries(stats: dict, frac: float = 0.02, n: int = 3) -> list:
    """Part of a weight's entries (``frac`` .. 99.9%) get exactly zero gradient in each of the last ``n``
    samples while the weight as a whole learns (median update/weight ratio >= 1e-5)."""
    out = []
    for layer, points in stats.get("zero_grad_frac", {}).items():
        z = recent(points, n)
        moving = _recent_median(stats.get("update_ratio", {}).get(layer, []), n)
        if z is None or min(z) < frac or max(z) >= 0.999 or moving is None or moving < 1e-5:
            continue
        always = stats.get("zero_grad_always", {}).get(layer, [])
        out.append(finding("zero_gradient_entries", points[-1][0], layer, frac=float(min(z)), layer=layer,
                           ratio=moving, always=always[-1][1] if always else 0.0, samples=len(always)))
    return out
