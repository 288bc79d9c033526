"""Diagnosis rules on the recorded metric curves (training and validation loss), with a noise model.

Each rule takes ``metrics = {name: [(step, value), ...]}`` (and ``stats`` where it needs them) and returns a list
of :class:`course.diagnosis.Diagnosis`. Decisions use block means and medians compared with the point-to-point
noise of the curve (:mod:`course.curve_stats`), never a few raw consecutive points.
"""

from __future__ import annotations

import math

import numpy as np

from course.curve_stats import MAD_TO_SD, block_means, log_or_linear, median, noise_sd, recent, values
from course.diagnosis import HEALTHY_RATIO, finding


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
    """The validation-loss curve (a name with "loss" starting with "val" or "test"), or None."""
    for name in metrics:
        low = name.lower()
        if "loss" in low and low.startswith(("val", "test")):
            return name
    return None


def _finite(points) -> np.ndarray:
    v = values(points)
    return v[np.isfinite(v)]


def check_not_finite(metrics: dict) -> list:
    """Any metric that became nan or inf (the first step where it happened)."""
    out = []
    for name, points in metrics.items():
        for step, value in points:
            if not math.isfinite(value):
                out.append(finding("not_finite", step, name, name=name, value=value, at=step))
                break
    return out


def check_loss_rising(metrics: dict, factor: float = 2.0, sigmas: float = 4.0) -> list:
    """The training loss, averaged over blocks (3..50 points), is ``factor`` times its lowest block mean in each
    of the last two blocks, the rise is more than ``sigmas`` standard errors of a block mean (noise: the MAD of
    the point-to-point differences), and the lowest block is at least two blocks back. Log scale for positive
    losses."""
    name = train_loss_name(metrics)
    if name is None:
        return []
    vals = _finite(metrics[name])
    if vals.size < 9:
        return []
    block = max(3, min(vals.size // 12, 50))
    x, logged = log_or_linear(vals)
    means = block_means(x, block)
    if means.size < 3 or not np.all(np.isfinite(means)):
        return []
    lo_i = int(np.argmin(means))
    low = means[lo_i]
    if logged:
        need = math.log10(factor)
    elif low > 0:
        need = (factor - 1) * low
    else:
        return []
    se = noise_sd(x) / math.sqrt(block)
    rise = means[-1] - low
    if lo_i > means.size - 3 or rise < need or means[-2] - low < need / 2 or rise <= sigmas * math.sqrt(2) * se:
        return []
    to_value = (lambda m: 10.0 ** m) if logged else (lambda m: m)
    low_v, last_v = to_value(low), to_value(means[-1])
    return [finding("loss_rising", metrics[name][-1][0], name, name=name, block=block, low=low_v, last=last_v,
                    factor=last_v / low_v if low_v else math.inf, span=(means.size - lo_i) * block,
                    noise=to_value(se) if not logged else se)]


def _median_recent(stats: dict, kind: str, n: int = 5) -> dict[str, float]:
    out = {}
    for layer, points in stats.get(kind, {}).items():
        v = recent(points, min(n, len(points))) if points else None
        if v is not None and v.size:
            out[layer] = median(v)
    return out


def check_loss_flat(metrics: dict, stats: dict | None = None, min_points: int = 30, min_steps: int = 300,
                    drop: float = 0.1, falling: float = 0.005) -> list:
    """The mean of the last tenth of at least ``min_points`` loss points spanning ``min_steps`` steps is within
    ``drop`` (relative) of the mean of the first tenth, and the loss is not clearly falling faster now (the last
    tenth's mean is not below the tenth before it by more than ``falling`` (relative), 4 standard errors of the
    mini-batch noise and 3 times the mean fall per tenth over the run: a plateau that ends): training is stuck.
    When the statistics show healthy updates and gradients, the message says the weights move and the
    labels/inputs are the suspects."""
    name = train_loss_name(metrics)
    points = metrics.get(name, []) if name else []
    if len(points) < min_points or points[-1][0] - points[0][0] < min_steps:
        return []
    vals = values(points)
    n = max(3, vals.size // 10)
    with np.errstate(all="ignore"):
        first, last = float(vals[:n].mean()), float(vals[-n:].mean())
    if not (math.isfinite(first) and math.isfinite(last)) or first <= 0 or last > first * 1.1:
        return []  # diverging runs are loss_rising's job
    if last < first * (1 - drop):
        return []
    prev = float(np.mean(vals[-2 * n:-n])) if vals.size >= 2 * n else math.nan
    se = noise_sd(vals) / math.sqrt(n)  # standard error of a block mean
    average = (first - last) * n / (vals.size - n)  # the mean fall per block over the whole run
    if prev - last > max(4 * math.sqrt(2) * se, falling * prev, 3 * average):
        return []  # falling clearly now, faster than before (a plateau that ends): not stuck
    steps = points[-1][0] - points[0][0]
    common = dict(name=name, steps=steps, first=first, last=last, change=(last - first) / first)
    ratios = _median_recent(stats or {}, "update_ratio")
    grads = _median_recent(stats or {}, "grad_rms")
    zeros = _median_recent(stats or {}, "zero_grad_frac")
    if ratios and len(grads) >= 1 and all(HEALTHY_RATIO[0] <= r for r in ratios.values()) \
            and min(grads.values()) > 1e-2 * max(grads.values()) and all(z < 0.5 for z in zeros.values()):
        return [finding("loss_flat", points[-1][0], name, "loss_flat_moving", ratio=median(list(ratios.values())),
                        **common)]
    return [finding("loss_flat", points[-1][0], name, n=n, **common)]


def check_overfitting(metrics: dict, rise: float = 0.05, sigmas: float = 3.0, min_after: int = 3) -> list:
    """The validation loss is ``rise`` (relative) and ``sigmas`` noise units above its minimum, which lies at
    least ``min_after`` evaluations back; the points after the minimum rise on average (their last half is above
    their first half); and the training loss at the end is below its value at the validation minimum."""
    tname, vname = train_loss_name(metrics), val_loss_name(metrics)
    if tname is None or vname is None or len(metrics[vname]) < min_after + 2:
        return []
    vpoints = [(s, v) for s, v in metrics[vname] if math.isfinite(v)]
    v = values(vpoints)
    if v.size < min_after + 2:
        return []
    i = int(np.argmin(v))
    after = v[i + 1:]
    if after.size < min_after or v[i] <= 0:
        return []
    noise = noise_sd(v)
    half = after.size // 2
    if v[-1] < v[i] * (1 + rise) or v[-1] - v[i] < sigmas * noise or after[half:].mean() <= after[:half].mean():
        return []
    at = vpoints[i][0]
    train = [(s, x) for s, x in metrics[tname] if math.isfinite(x)]
    before = values([p for p in train if p[0] <= at][-20:])
    end = values(train[-20:])
    if not before.size or not end.size or end.mean() >= before.mean():
        return []
    return [finding("overfitting", vpoints[-1][0], vname, vname=vname, tname=tname, low=float(v[i]), at=at,
                    last=float(v[-1]), rise=float(v[-1] / v[i] - 1), count=int(after.size),
                    noise=noise if math.isfinite(noise) else 0.0)]


def check_loss_not_following_gradients(metrics: dict, stats: dict, window: int = 24) -> list:
    """Over the last ``window`` single updates of plain gradient descent (update along minus the gradient,
    cosine > 0.99) with small steps (update/weight ratio < 1e-2), the gradients predict a fall of the loss
    (sum of <grad, W_new - W_old>) yet the loss rose by more than half that fall, at three quarters of the
    updates or more, and the loss is measured on (nearly) the same data at every step: the robust spread of the
    observed one-update changes is below a quarter of the typical predicted change.

    Mini-batch runs are not decided: the loss of the next step is measured on another batch, whose expected fall
    is only lr * <batch gradient, true gradient>, far less than the prediction lr * |batch gradient|^2 when the
    gradient noise dominates, and the batch-to-batch spread is as large as the predicted change."""
    name = train_loss_name(metrics)
    fo = stats.get("first_order", {})
    pred, frm = fo.get("predicted", []), fo.get("from_step", [])
    if name is None or len(pred) < window:
        return []
    loss = {s: v for s, v in metrics[name]}
    pairs = [(p, loss[t] - loss[int(f)]) for (t, p), (_, f) in zip(pred, frm) if t in loss and int(f) in loss]
    pairs = [(p, o) for p, o in pairs if math.isfinite(p) and math.isfinite(o)][-window:]
    if len(pairs) < window:
        return []
    p, o = np.array(pairs).T
    s_pred, s_obs = float(p.sum()), float(o.sum())
    noise = MAD_TO_SD * float(np.median(np.abs(o - np.median(o))))  # spread of one observed change
    cos = [median(values(pts[-window:])) for pts in stats.get("update_cos", {}).values() if pts]
    ratio = [median(values(pts[-window:])) for pts in stats.get("update_ratio", {}).values() if pts]
    if not cos or not ratio or min(cos) < 0.99 or max(ratio) >= HEALTHY_RATIO[1]:
        return []
    typical = float(np.median(np.abs(p)))
    if s_pred < 0 and s_obs > 0.5 * abs(s_pred) and np.mean(o > 0) >= 0.75 and noise < 0.25 * typical:
        return [finding("loss_not_following_gradients", pred[-1][0], name, count=window, predicted=s_pred,
                        observed=s_obs, noise=noise, ratio=max(ratio))]
    return []


def check_loss_change_vs_gradients(metrics: dict, stats: dict, window: int = 20, smooth: float = 0.2,
                                   mismatch: float = 0.25) -> list:
    """A second-order consistency test of the gradients the updates used, on runs whose loss is measured on the
    same data at every step. Over the last ``window`` single updates, each loss change is compared with
    1/2 <g_t + g_t+1, W_t+1 - W_t> summed over every parameter (``first_order["trapezoid"]``; exact up to third
    order in the step for the true gradients, whatever the optimizer). Fires when the observed changes vary
    smoothly (the spread of their point-to-point differences is below ``smooth`` times the typical predicted
    change: a mini-batch loss, measured on another batch at every step, is far noisier) and at least three
    quarters of them, and their median, differ from the prediction by more than ``mismatch`` of it: the
    gradients are not the gradients of that loss (e.g. two same-shape layers' gradients swapped)."""
    name = train_loss_name(metrics)
    fo = stats.get("first_order", {})
    trap, frm = fo.get("trapezoid", []), dict(fo.get("from_step", []))
    if name is None or len(trap) < window:
        return []
    loss = {s: v for s, v in metrics[name]}
    rows = [(p, loss[t] - loss[int(frm[t])], loss[t]) for t, p in trap
            if t in frm and t in loss and int(frm[t]) in loss]
    rows = [r for r in rows if all(math.isfinite(x) for x in r)][-window:]
    if len(rows) < window:
        return []
    p, o, level = np.array(rows).T
    typical = float(np.median(np.abs(p)))
    if not typical > 1e-5 * float(np.median(np.abs(level))):
        return []  # changes too small to resolve against the rounding of the loss (float32 runs)
    d = np.diff(o)
    noise = MAD_TO_SD * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2)
    if not noise < smooth * typical:
        return []  # the loss is measured on other data at every step (mini-batches): not decided
    with np.errstate(all="ignore"):
        rel = (o - p) / np.abs(p)
    if not (abs(float(np.median(rel))) > mismatch and float(np.mean(np.abs(rel) > mismatch)) >= 0.75):
        return []
    trap_steps = [t for t, _ in trap][-window:]
    return [finding("loss_not_following_gradients", trap_steps[-1], name, "loss_not_matching_gradients",
                    count=window, predicted=float(p.sum()), observed=float(o.sum()), share=float(np.median(rel)),
                    noise=noise)]


def loss_stays_high(metrics: dict, min_points: int = 30, min_steps: int = 200, keep: float = 0.5) -> dict | None:
    """Evidence that the training loss stays high: at least ``min_points`` finite points over ``min_steps`` steps,
    the mean of the last tenth not above the first tenth's (a rising loss is another rule's) but above ``keep``
    times it. Returns ``{"name", "first", "last", "share", "steps"}`` or None."""
    name = train_loss_name(metrics)
    points = [(s, v) for s, v in metrics.get(name, [])] if name else []
    if len(points) < min_points or points[-1][0] - points[0][0] < min_steps:
        return None
    vals = values(points)
    if not np.all(np.isfinite(vals)):
        return None
    n = max(3, vals.size // 10)
    first, last = float(vals[:n].mean()), float(vals[-n:].mean())
    if not first > 0 or last > first or last < keep * first:
        return None
    return {"name": name, "first": first, "last": last, "share": last / first, "steps": points[-1][0] - points[0][0]}
