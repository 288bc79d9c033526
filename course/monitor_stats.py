"""Statistics the training monitor samples from params, grads, activations and outputs (no drawing here).

When to sample is a rule on the number of ``update()`` calls, so every panel gets enough points on any run
length: the first :data:`DENSE` calls are all sampled (short runs see every step), after that the stride doubles
each time the call count doubles (:data:`DENSE` / 2 samples per doubling: 10,000 calls give about 430 samples).
A cost guard skips a due sample while statistics have used more than their share of the time since the monitor
started plus :data:`ALLOWANCE` (large networks, where one sample costs milliseconds), except for the first few.
"""

from __future__ import annotations

import math
import time

import numpy as np

DENSE = 100  # every call up to here is sampled
ALWAYS = 3  # the first samples are taken whatever they cost
ALLOWANCE = 0.25  # seconds statistics (and diagnoses) may always use: short runs get every sample
HIST_SAMPLE = 20_000  # values per histogram (a strided sample of bigger arrays)
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


def flat_sample(a) -> np.ndarray:
    """At most HIST_SAMPLE values of ``a`` (a strided sample), float64, for histograms."""
    flat = np.asarray(a).ravel()
    if flat.size > HIST_SAMPLE:
        flat = flat[:: flat.size // HIST_SAMPLE + 1]
    return flat.astype(np.float64, copy=False)


def weight_names(arrays: dict) -> list[str]:
    """Weights (ndim >= 2) in order, or every array if there are none; at most MAX_LAYERS."""
    names = [n for n, a in arrays.items() if np.ndim(a) >= 2] or list(arrays)
    return names[:MAX_LAYERS]


class StatsSampler:
    """Samples ``stats = {kind: {layer: [(step, value), ...]}}`` on the :func:`sample_due` schedule.

    Kinds: ``grad_rms`` (RMS of each weight's gradient), ``zero_grad_frac`` (fraction of a weight's gradient
    entries that are exactly 0), ``update_ratio`` (``||W_new - W_old|| / ||W_old||`` per parameter update,
    measured from a copy taken at a sampled call to the next call and divided by the updates in between),
    ``dead_frac`` (fraction of ReLU units zero for the whole batch; layer ``"outputs"`` when the outputs are
    non-negative with exact zeros, i.e. a ReLU output) and ``output_absmax`` (largest ``|output|``).
    """

    def __init__(self, budget: float):
        self.budget = float(budget)  # share of the elapsed time statistics may use
        self.stats: dict[str, dict[str, list[tuple[int, float]]]] = {}
        self.calls = 0
        self.samples = 0
        self.cost = 0.0
        self._snapshot = None  # (updates, {name: copy of weight})
        self._relu_outputs = False

    def add(self, kind, name, step, value) -> None:
        self.stats.setdefault(kind, {}).setdefault(name, []).append((step, float(value)))

    def pending(self) -> bool:
        """True while a weight copy waits for the next call to measure the update size."""
        return self._snapshot is not None

    def due(self, elapsed: float) -> bool:
        """Whether this call should be sampled (advances the call counter)."""
        k = self.calls
        self.calls += 1
        if not sample_due(k):
            return False
        return self.samples < ALWAYS or self.cost <= self.budget * elapsed + ALLOWANCE

    def finish_ratio(self, step, updates, params) -> None:
        """Measure the update/weight ratio against the copy taken at the last sample."""
        if self._snapshot is None or params is None:
            return
        t0 = time.monotonic()
        then, snap = self._snapshot
        self._snapshot = None
        if updates > then:
            for name, old in snap.items():
                if name in params:
                    denom = norm(old)
                    diff = norm(np.asarray(params[name]) - old)
                    self.add("update_ratio", name, step, diff / denom / (updates - then) if denom else 0.0)
        self.cost += time.monotonic() - t0

    def sample(self, step, updates, params, grads, activations, outputs) -> None:
        """Compute every statistic the arguments allow, and copy the weights for the next update ratio."""
        t0 = time.monotonic()
        self.samples += 1
        if grads is not None:
            order = weight_names(params) if params is not None else []  # layers in the params' order
            for name in [n for n in order if n in grads] + [n for n in weight_names(grads) if n not in order]:
                g = np.asarray(grads[name])
                self.add("grad_rms", name, step, norm(g) / math.sqrt(max(g.size, 1)))
                if g.ndim >= 2 and g.size:
                    self.add("zero_grad_frac", name, step, float(np.count_nonzero(g == 0)) / g.size)
        if activations is not None:
            for name, a in activations.items():
                a = np.asarray(a)
                if a.ndim >= 2 and a.shape[0]:
                    self.add("dead_frac", name, step, 1.0 - float((a > 0).any(axis=0).mean()))
        if outputs is not None:
            o = np.asarray(outputs)
            if o.size:
                lo, hi = float(o.min()), float(o.max())
                self.add("output_absmax", "outputs", step, max(abs(lo), abs(hi)))
                self._relu_outputs = self._relu_outputs or (o.ndim >= 2 and lo == 0.0)  # >= 0 with exact zeros
                if self._relu_outputs and o.ndim >= 2:
                    self.add("dead_frac", "outputs", step, 1.0 - float((o > 0).any(axis=0).mean()))
        if params is not None:
            self._snapshot = (updates, {n: np.array(params[n], copy=True) for n in weight_names(params)})
        self.cost += time.monotonic() - t0
