"""The live monitor's budget in modelled work, not wall-clock time: reproducible decisions.

A live monitor must slow a watched loop by less than its ``overhead_budget`` (5%). Deciding that with a clock
makes the samples, and so the findings, depend on the machine's load. :class:`WorkBudget` decides on a model
instead: from the array sizes an ``update()`` call hands over and the number of updates since the last call, it
estimates the loop's work (a dense layer's step multiplies ``batch x weights`` three times, a convolution's once per
output position its dense layer shows; elementwise passes over activations and outputs; a fixed cost per NumPy
call) and the work of one statistics sample or one evaluation of the
diagnoses, all in nanoseconds of a typical core (:data:`NS`). Work is spent only while the modelled total stays
within its share of the modelled loop: the same run, on any machine, samples and evaluates at the same calls.

The model is deliberately conservative for the loop (matrix products at about the machine's peak; positions lost
to pooling not counted; a loop that hands over neither outputs nor activations is taken to use batches of
:data:`ASSUMED_BATCH`), so a monitor never takes more than its share; ``benchmarks/bench_monitor.py`` measures the
real cost and prints the modelled loop time beside the real one.
"""

from __future__ import annotations

import numpy as np

from course.monitor_stats import SUBSET, SUBSET_ABOVE

# modelled nanoseconds: one NumPy call's overhead, one flop of a matrix product (BLAS at about the 2 cores' peak,
# 0.015 ns: 784-128-64-10 at batch 64 ran at ~0.02), one element of an elementwise pass; calls in one training
# step, in one sample per parameter / activation (the monitor's calls are Python-heavy: "monitor_call"), one
# evaluation of the diagnoses with its cost per recorded point, and creating and first drawing the live widget.
# Calibrated on dense nets of the chapters' sizes (2 cores, 2026-12-03, after the sampler reused its float64 buffers
# and measured weights above SUBSET_ABOVE entries on a subset): a sample 0.10 / 0.13 / 0.42 / 0.36 / 1.3-2.9 ms warm
# for 2-8-1, 784-10-10, 784-128-64-10, 12288-20-7-5-1 and 768-256-12288 (in a training loop's cold caches up to 2-4x
# that), modelled 0.20 / 0.25 / 0.94 / 1.2 / 1.9 ms; an evaluation 0.5-1.4 ms (modelled 0.55-1.5 ms); the widget
# 10-14 ms in a kernel (modelled 15 ms). The model errs towards a cheaper loop and a dearer monitor; the batch of
# a loop that hands over neither outputs nor activations is unknown (ASSUMED_BATCH).
NS = {"call": 800.0, "matmul": 0.015, "element": 0.25, "step_calls": 30, "sample_element": 3.0, "monitor_call": 3000.0,
      "sample_calls_per_weight": 14, "sample_calls_per_activation": 4, "sample_calls": 12, "evaluate": 500_000.0,
      "evaluate_per_point": 300.0, "view": 15_000_000.0}
ASSUMED_BATCH = 64  # examples per step when the loop hands over no activations or outputs to count them
ALWAYS = 3  # the first samples and evaluations are taken whatever they cost


def _size(a) -> int:
    try:
        return int(np.size(a))
    except Exception:  # noqa: BLE001  (anything a loop hands over: an unknown object counts as one number)
        return 1


def _rows(activations, outputs) -> int:
    """The batch size: the first dimension of the outputs, else of the first activation, else
    :data:`ASSUMED_BATCH` (a loop that hands over only weights and gradients)."""
    for a in [outputs, *(activations or {}).values()]:
        shape = np.shape(a) if a is not None else ()
        if len(shape) >= 2:
            return int(shape[0])
    return ASSUMED_BATCH


class WorkBudget:
    """Modelled work of the loop and of each kind of monitor work (``shares``: kind -> share of the loop's work);
    :meth:`allow` says whether one more piece of a kind fits."""

    def __init__(self, shares: dict[str, float]):
        self.shares = dict(shares)
        self.loop = 0.0  # modelled work of the training loop so far
        self.spent = {kind: 0.0 for kind in shares}  # modelled work of the monitor so far, per kind
        self._step = None  # (sizes key, modelled work of one training step)
        self._sample = None  # (sizes key, modelled work of one statistics sample)

    @staticmethod
    def macs_per_example(params) -> int:
        """Multiply-adds per example of a forward pass: each parameter's size, a convolution kernel (F, C, kh, kw)
        times its output positions as far as a dense weight shows them (fan-in F x positions after flattening;
        pooling before it makes this fewer than the convolution computes), else once."""
        shapes = [np.shape(a) for a in (params or {}).values()]
        total = 0
        for shape in shapes:
            n = int(np.prod(shape)) if shape else 1
            if len(shape) == 4 and shape[0]:
                dense = [s[0] for s in shapes if len(s) == 2 and s[0] > shape[0] and s[0] % shape[0] == 0]
                n *= dense[0] // shape[0] if dense else 1
            total += n
        return total

    @staticmethod
    def step_work(params, grads, activations, outputs) -> float:
        """One training step: forward and backward through the weights (3 matrix products of ``batch x``
        :meth:`macs_per_example`), a few elementwise passes over activations, outputs and parameters, and its
        NumPy calls."""
        weights = sum(_size(a) for a in (params or {}).values())
        acts = sum(_size(a) for a in (activations or {}).values()) + (_size(outputs) if outputs is not None else 0)
        return (NS["matmul"] * 6 * _rows(activations, outputs) * WorkBudget.macs_per_example(params)
                + NS["element"] * (6 * acts + 4 * weights) + NS["call"] * NS["step_calls"])

    @staticmethod
    def sample_work(params, grads, activations, outputs) -> float:
        """One statistics sample: norms, zero counts, copies and the next call's update measure of every
        parameter and gradient, the dead-unit and output statistics, and their NumPy calls."""
        arrays = [*(params or {}).values(), *(grads or {}).values()]
        acts = list((activations or {}).values()) + ([outputs] if outputs is not None else [])
        # a huge array is measured on a strided subset: a cache line per entry, about 5 entries' cost each
        measured = (n if n <= SUBSET_ABOVE else 4 * SUBSET for n in map(_size, arrays))
        return (NS["sample_element"] * sum(measured) + 4 * NS["element"] * sum(_size(a) for a in acts)
                + NS["monitor_call"] * (NS["sample_calls"] + NS["sample_calls_per_weight"] * len(params or {})
                                        + NS["sample_calls_per_activation"] * len(acts)))

    @staticmethod
    def evaluate_work(points: int) -> float:
        """One evaluation of the diagnoses over ``points`` recorded statistics and metric points."""
        return NS["evaluate"] + NS["evaluate_per_point"] * points

    @staticmethod
    def _key(params, grads, activations, outputs) -> tuple:
        return len(params or {}), len(grads or {}), len(activations or {}), outputs is not None

    def add_loop(self, updates: int, params, grads, activations, outputs) -> None:
        """Account for the loop's work since the last call: ``updates`` steps (at least 1) of the sizes given."""
        key = self._key(params, grads, activations, outputs)
        if self._step is None or self._step[0] != key:
            self._step = (key, self.step_work(params, grads, activations, outputs))
        self.loop += max(1, updates) * self._step[1]

    def sample_cost(self, params, grads, activations, outputs) -> float:
        """:meth:`sample_work`, computed again only when what the loop hands over changes (not on every call)."""
        key = self._key(params, grads, activations, outputs)
        if self._sample is None or self._sample[0] != key:
            self._sample = (key, self.sample_work(params, grads, activations, outputs))
        return self._sample[1]

    def allow(self, kind: str, work: float, done: int, always: int = ALWAYS) -> bool:
        """Whether ``work`` more of ``kind`` fits within its share of the loop's modelled work (``done``: how
        many of this kind were taken; the first ``always`` always fit)."""
        return done < always or self.spent[kind] + work <= self.shares[kind] * self.loop

    def spend(self, kind: str, work: float) -> None:
        self.spent[kind] += work
