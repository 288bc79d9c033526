"""Statistics the training monitor samples from params, grads, activations and outputs (no drawing here).

When to sample is a rule on the number of ``update()`` calls, so every panel gets enough points on any run
length: the first :data:`DENSE` calls are all sampled (short runs see every step), after that the stride doubles
each time the call count doubles (:data:`DENSE` / 2 samples per doubling: 10,000 calls give about 430 samples).
No clock is involved: what is sampled, and so what is diagnosed, depends on the call count only (reproducible
runs; the labelled corpus tests/monitor_runs relies on it). Live mode also skips a due sample that its modelled
work budget has no room for (:class:`course.monitor_budget.WorkBudget`). Diagnoses are evaluated on the sparser
call-count schedule ``sample_due(k, EVAL_DENSE)``.
"""

from __future__ import annotations

import math
import time

import numpy as np

DENSE = 100  # every call up to here is sampled
EVAL_DENSE = 4  # diagnoses evaluated at every call up to here, then EVAL_DENSE / 2 times per doubling (live mode
# also within its modelled-work share): the same verdicts on the labelled corpus as with 20, at a fifth of the
# evaluations of a short loop
DEAD_EXAMPLES = 64  # a unit is counted dead when it was 0 for this many sampled examples in a row (not one image)
HIST_SAMPLE = 20_000  # values per histogram (a strided sample of bigger arrays)
SUBSET_ABOVE = 1 << 17  # a weight or gradient with more entries is measured on a fixed strided subset of them ...
SUBSET = 1 << 15  # ... of about this many entries (chapter 6's 3.1M-weight layer: a sample 24 -> ~3 ms)
MAX_LAYERS = 6


def sample_due(k: int, dense: int = DENSE) -> bool:
    """Whether call number ``k`` (0-based) is sampled: every call below ``dense``, then every 2nd, 4th, ... call,
    the stride doubling whenever ``k`` doubles (``dense / 2`` samples per doubling)."""
    if k < dense:
        return True
    stride = 2 ** (int(math.log2(k / dense)) + 1)
    return k % stride == 0


def norm(a) -> float:
    """Euclidean norm of any array (0.0 for an empty one), in float64."""
    a = np.asarray(a)
    return float(np.sqrt(np.vdot(a, a).real)) if a.size else 0.0


def entries(a) -> tuple[np.ndarray, float]:
    """``a`` itself, or for an array of more than :data:`SUBSET_ABOVE` entries a fixed strided view of about
    :data:`SUBSET` of them (the stride shares no factor with the rows' length, so every column is visited); with
    the factor (entries / entries measured) that scales a sum over the view to the whole array. Norms, ratios
    and zero fractions of the view estimate those of the array; the same entries every time for one shape."""
    a = np.asarray(a)
    if a.size <= SUBSET_ABOVE:
        return a, 1.0
    stride = -(-a.size // SUBSET)
    while math.gcd(stride, a.shape[-1]) != 1:
        stride += 1
    view = a.reshape(-1)[::stride]
    return view, a.size / view.size


def flat_sample(a) -> np.ndarray:
    """At most HIST_SAMPLE values of ``a`` (a strided sample), float64, for histograms."""
    flat = np.asarray(a).ravel()
    if flat.size > HIST_SAMPLE:
        flat = flat[:: flat.size // HIST_SAMPLE + 1]
    return flat.astype(np.float64, copy=False)


def fan_in(shape) -> int:
    """Inputs per output unit of a batch-first weight: ``shape[0]`` of a dense (in, out) matrix, C*kh*kw of a
    (F, C, kh, kw) convolution kernel."""
    return int(shape[0]) if len(shape) == 2 else int(np.prod(shape[1:]))


def weight_names(arrays: dict) -> list[str]:
    """Weights (ndim >= 2) in order, or every array if there are none; at most MAX_LAYERS."""
    names = [n for n, a in arrays.items() if np.ndim(a) >= 2] or list(arrays)
    return names[:MAX_LAYERS]


class StatsSampler:
    """Samples ``stats = {kind: {layer: [(step, value), ...]}}`` on the :func:`sample_due` schedule.

    Kinds: ``grad_rms`` (RMS of each weight's gradient), ``zero_grad_frac`` (fraction of a weight's gradient
    entries that are exactly 0; ``zero_grad_always``: 0 in every sample so far), ``update_ratio``
    (``||W_new - W_old|| / ||W_old||`` per parameter update, measured from a copy taken at a sampled call to the
    next call and divided by the updates in between),
    ``dead_frac`` (fraction of ReLU units zero for every one of the last :data:`DEAD_EXAMPLES` or more sampled
    examples; layer ``"outputs"`` when the outputs are non-negative with exact zeros, i.e. a ReLU output),
    ``output_absmax`` (largest ``|output|``), ``output_min`` and ``output_zero_frac`` (fraction of outputs that
    are exactly 0; not for rows of probabilities), ``weight_scale`` (RMS of a weight times sqrt(fan-in): about
    1.4 for He, 1 for Xavier/LeCun initialization, sqrt(fan-in) for unscaled randn), and per update measured
    over one update only: ``update_cos`` (cosine between the update and minus the gradient given at the sampled
    call: 1 for plain SGD), ``step_size`` (``||W_new - W_old|| / ||grad||``: the learning rate of plain SGD) and
    ``first_order`` (``{"predicted": sum over weights of <grad, W_new - W_old>``, ``"from_step"``: the sampled
    step, ``"trapezoid"``: the same with the mean of the gradients at both ends, over every parameter that has a
    gradient}: the loss change the gradients predict). ``facts`` holds shapes: ``{"params": {name: shape},
    "grads": {name: shape}}``. A weight or gradient of more than :data:`SUBSET_ABOVE` entries is measured on a
    fixed strided subset of them (:func:`entries`; sums such as ``first_order`` scaled up to the whole array).
    """

    def __init__(self):
        self.stats: dict[str, dict[str, list[tuple[int, float]]]] = {}
        self.calls = 0
        self.samples = 0
        self.cost = 0.0
        self._snapshot = None  # (updates, step, {name: copy of weight}, {name: copy of gradient})
        self._relu_outputs = False
        self._always_zero: dict[str, np.ndarray | None] = {}  # weight -> entries with gradient 0 in every sample
        self._alive: dict[str, tuple[np.ndarray, int]] = {}  # layer -> (units seen > 0, examples seen)
        self._buffers: dict[tuple[str, str], np.ndarray] = {}  # float64 copies reused between samples (_buffer)
        self.facts: dict[str, dict[str, tuple]] = {"params": {}, "grads": {}}

    def add(self, kind, name, step, value) -> None:
        self.stats.setdefault(kind, {}).setdefault(name, []).append((step, float(value)))

    def pending(self) -> bool:
        """True while a weight copy waits for the next call to measure the update size."""
        return self._snapshot is not None

    def due(self) -> bool:
        """Whether this call is on the sampling schedule (advances the call counter)."""
        k = self.calls
        self.calls += 1
        return sample_due(k)

    def finish_ratio(self, step, updates, params, grads=None) -> None:
        """Measure the update/weight ratio (and, over one update, the update's direction) against the copy taken
        at the last sample; with this call's ``grads``, the two-ended (trapezoid) prediction of the loss change."""
        if self._snapshot is None or params is None:
            return
        t0 = time.monotonic()
        then, then_step, snap, gsnap, extra, shapes = self._snapshot
        self._snapshot = None
        n = updates - then
        if n > 0:
            predicted, complete, end = 0.0, n == 1, 0.0  # end: <g_t+1, W_t+1 - W_t> (this call's gradients)
            if extra is None or grads is None:
                end = math.nan
            with np.errstate(all="ignore"):
                for name, old in snap.items():
                    if name not in params:
                        end = math.nan
                        continue
                    if np.shape(params[name]) != shapes[name]:
                        end = math.nan
                        continue
                    new, scale = entries(params[name])  # the entries copied at the sample (all but of huge weights)
                    delta = np.subtract(new, old, out=self._buffer(("delta", name), old.shape), dtype=np.float64)
                    denom, diff = norm(old), norm(delta)
                    if denom > 0 and math.isfinite(denom):  # a weight that starts at 0 has no ratio yet
                        self.add("update_ratio", name, step, diff / denom / n)
                    g = gsnap.get(name)
                    if n != 1 or g is None or g.shape != delta.shape:
                        complete = False
                        continue
                    gnorm = norm(g)
                    dot = float(np.vdot(g, delta)) * scale
                    if gnorm > 0 and diff > 0 and math.isfinite(dot):
                        self.add("update_cos", name, step, -dot / (gnorm * diff))
                        self.add("step_size", name, step, diff / gnorm)
                    predicted += dot
                    end += self._end_dot(grads, name, delta, self._buffer(("end", name), delta.shape), shapes[name])
                start = predicted  # <g_t, W_t+1 - W_t> over the weights and (below) every other parameter
                if complete and math.isfinite(end):
                    for name, (old, g) in extra.items():
                        new = params.get(name)
                        if new is None or np.shape(new) != old.shape:
                            end = math.nan
                            break
                        delta = np.asarray(new, dtype=np.float64) - old
                        start += float(np.vdot(g, delta))
                        end += self._end_dot(grads, name, delta)
            if complete and gsnap and math.isfinite(predicted):
                if math.isfinite(start + end):  # every parameter: the trapezoid rule, exact to second order
                    self.add("first_order", "trapezoid", step, 0.5 * (start + end))
                self.add("first_order", "predicted", step, predicted)
                self.add("first_order", "from_step", step, then_step)
        self.cost += time.monotonic() - t0

    @staticmethod
    def _end_dot(grads, name, delta, buffer=None, shape=None) -> float:
        """<this call's gradient of ``name``, delta>, nan when it is missing or of another shape. With ``shape``
        (the weight's), ``delta`` holds the weight's :func:`entries` and ``buffer`` (a float64 array of delta's
        shape) receives the gradient's same entries."""
        g = grads.get(name) if grads is not None else None
        if g is None or np.shape(g) != (delta.shape if shape is None else shape):
            return math.nan
        if shape is None:
            return float(np.vdot(np.asarray(g, dtype=np.float64), delta))
        g, scale = entries(g)
        np.copyto(buffer, g, casting="unsafe")
        return float(np.vdot(buffer, delta)) * scale

    def _buffer(self, key, shape) -> np.ndarray:
        """A float64 array of ``shape`` kept for ``key`` from one sample to the next: large weights are copied and
        compared in the same memory every time, not in fresh allocations (whose page faults cost more than the
        arithmetic: a 3.1M-weight layer's sample 35 -> ~15 ms)."""
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape:
            buf = self._buffers[key] = np.empty(shape, np.float64)
        return buf

    def _copy64(self, key, a) -> np.ndarray:
        """A float64 copy of ``a`` in the buffer kept for ``key``."""
        a = np.asarray(a)
        buf = self._buffer(key, a.shape)
        np.copyto(buf, a, casting="unsafe")
        return buf

    def sample(self, step, updates, params, grads, activations, outputs) -> None:
        """Compute every statistic the arguments allow, and copy the weights for the next update ratio."""
        t0 = time.monotonic()
        self.samples += 1
        with np.errstate(all="ignore"):
            if params is not None:
                for name in weight_names(params):
                    w = np.asarray(params[name])
                    self.facts["params"][name] = tuple(w.shape)
                    if w.ndim >= 2 and w.size:
                        v = entries(w)[0]
                        self.add("weight_scale", name, step, norm(v) / math.sqrt(v.size) * math.sqrt(fan_in(w.shape)))
            if grads is not None:
                order = weight_names(params) if params is not None else []  # layers in the params' order
                for name in [n for n in order if n in grads] + [n for n in weight_names(grads) if n not in order]:
                    g = np.asarray(grads[name])
                    self.facts["grads"][name] = tuple(g.shape)
                    ndim = g.ndim
                    g = entries(g)[0]
                    self.add("grad_rms", name, step, norm(g) / math.sqrt(max(g.size, 1)))
                    if ndim >= 2 and g.size:
                        zero = g == 0
                        count = np.count_nonzero(zero)
                        self.add("zero_grad_frac", name, step, float(count) / g.size)
                        self._never_moved(name, step, zero if count else None)
            if activations is not None:
                for name, a in activations.items():
                    self._dead(name, step, np.asarray(a))
            if outputs is not None:
                self._outputs(step, np.asarray(outputs))
        if params is not None:
            names = weight_names(params)
            gsnap, extra = {}, None
            if grads is not None:
                gsnap = {n: self._copy64(("g", n), entries(grads[n])[0]) for n in names
                         if n in grads and np.shape(grads[n]) == np.shape(params[n])}
                if set(params) <= set(grads):  # every parameter has a gradient: the rest copied for the trapezoid
                    extra = {n: (np.array(params[n], dtype=np.float64, copy=True),
                                 np.array(grads[n], dtype=np.float64, copy=True)) for n in params if n not in names}
            self._snapshot = (updates, step, {n: self._copy64(("w", n), entries(params[n])[0]) for n in names},
                              gsnap, extra, {n: np.shape(params[n]) for n in names})
        self.cost += time.monotonic() - t0

    def _never_moved(self, name, step, zero) -> None:
        """``zero_grad_always``: the fraction of a weight's entries whose gradient was exactly 0 in every sample
        so far (they still have their initial values, as far as the samples show). ``zero`` None: no zero in this
        sample, so none from now on (no more passes over this weight's gradient)."""
        prev = self._always_zero.get(name, True)
        if zero is None or prev is None:
            self._always_zero[name] = None
            self.add("zero_grad_always", name, step, 0.0)
            return
        if prev is not True and prev.shape == zero.shape:
            zero = zero & prev
        self._always_zero[name] = zero
        self.add("zero_grad_always", name, step, float(np.count_nonzero(zero)) / zero.size)

    def _dead(self, name, step, a) -> None:
        """Accumulate which units were ever > 0; record the dead fraction once DEAD_EXAMPLES examples were seen."""
        if a.ndim < 2 or not a.shape[0]:
            return
        alive = (a > 0).any(axis=0)
        seen = a.shape[0]
        prev = self._alive.get(name)
        if prev is not None and prev[0].shape == alive.shape:
            alive, seen = alive | prev[0], seen + prev[1]
        if seen >= DEAD_EXAMPLES:
            self.add("dead_frac", name, step, 1.0 - float(alive.mean()))
            self._alive.pop(name, None)
        else:
            self._alive[name] = (alive, seen)

    def _outputs(self, step, o) -> None:
        if not o.size:
            return
        lo, hi = float(np.min(o)), float(np.max(o))
        self.add("output_absmax", "outputs", step, max(abs(lo), abs(hi)) if math.isfinite(lo + hi) else math.inf)
        self.add("output_min", "outputs", step, lo)
        probabilities = o.ndim == 2 and lo >= 0 and hi <= 1 and bool(np.all(np.abs(o.sum(axis=1) - 1) < 1e-3))
        if not probabilities:
            self.add("output_zero_frac", "outputs", step, float(np.count_nonzero(o == 0)) / o.size)
        self._relu_outputs = self._relu_outputs or (o.ndim >= 2 and lo == 0.0 and not probabilities)
        if self._relu_outputs and o.ndim >= 2:
            self._dead("outputs", step, o)
