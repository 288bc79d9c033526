"""The live monitor's budget in modelled work, not wall-clock time: reproducible decisions.

A live monitor must slow a watched loop by less than its ``overhead_budget`` (5%). Deciding that with a clock
makes the samples, and so the findings, depend on the machine's load. :class:`WorkBudget` decides on a model
instead: from the array sizes an ``update()`` call hands over and the number of updates since the last call, it
estimates the loop's work (a dense layer's step multiplies ``batch x weights`` three times; elementwise passes over
activations and outputs; a fixed cost per NumPy call) and the work of one statistics sample or one evaluation of the
diagnoses, all in nanoseconds of a typical core (:data:`NS`). Work is spent only while the modelled total stays
within its share of the modelled loop: the same run, on any machine, samples and evaluates at the same calls.

The model is deliberately conservative for the loop (a convolution's step is far more work than ``batch x
weights``), so a monitor never takes more than its share; ``benchmarks/bench_monitor.py`` measures the real cost.
"""

from __future__ import annotations

import numpy as np

# modelled nanoseconds: one NumPy call's overhead, one multiply-add in a matrix product (BLAS), one element of an
# elementwise pass; calls in one training step, in one sample per parameter / activation, and one evaluation of the
# diagnoses with its cost per recorded point. Calibrated on dense nets of the chapters' sizes (2 cores, 2026-12-03):
# the model is within 2x of the measured times, erring towards a cheaper loop and a dearer monitor (an evaluation:
# 40 us + 75 ns per point measured, modelled at twice that).
NS = {"call": 800.0, "matmul": 0.05, "element": 0.5, "step_calls": 30, "sample_element": 6.0, "sample_big": 16.0,
      "sample_calls_per_weight": 14, "sample_calls_per_activation": 4, "sample_calls": 12, "evaluate": 100_000.0,
      "evaluate_per_point": 150.0}
BIG = 256 * 1024
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

    @staticmethod
    def step_work(params, grads, activations, outputs) -> float:
        """One training step: forward and backward through the weights (3 matrix products of ``batch x
        weights``), a few elementwise passes over activations, outputs and parameters, and its NumPy calls."""
        weights = sum(_size(a) for a in (params or {}).values())
        acts = sum(_size(a) for a in (activations or {}).values()) + (_size(outputs) if outputs is not None else 0)
        return (NS["matmul"] * 6 * _rows(activations, outputs) * weights + NS["element"] * (6 * acts + 4 * weights)
                + NS["call"] * NS["step_calls"])

    @staticmethod
    def sample_work(params, grads, activations, outputs) -> float:
        """One statistics sample: norms, zero counts, copies and the next call's update measure of every
        parameter and gradient, the dead-unit and output statistics, and their NumPy calls."""
        arrays = [*(params or {}).values(), *(grads or {}).values()]
        acts = list((activations or {}).values()) + ([outputs] if outputs is not None else [])
        sizes = [_size(a) for a in arrays]  # arrays past BIG elements no longer fit a cache: dearer per element
        return (sum((NS["sample_big"] if n > BIG else NS["sample_element"]) * n for n in sizes)
                + 4 * NS["element"] * sum(_size(a) for a in acts)
                + NS["call"] * (NS["sample_calls"] + NS["sample_calls_per_weight"] * len(params or {})
                                + NS["sample_calls_per_activation"] * len(acts)))

    @staticmethod
    def evaluate_work(points: int) -> float:
        """One evaluation of the diagnoses over ``points`` recorded statistics and metric points."""
        return NS["evaluate"] + NS["evaluate_per_point"] * points

    def add_loop(self, updates: int, params, grads, activations, outputs) -> None:
        """Account for the loop's work since the last call: ``updates`` steps (at least 1) of the sizes given."""
        key = (len(params or {}), len(activations or {}), outputs is not None)
        if self._step is None or self._step[0] != key:
            self._step = (key, self.step_work(params, grads, activations, outputs))
        self.loop += max(1, updates) * self._step[1]

    def allow(self, kind: str, work: float, done: int, always: int = ALWAYS) -> bool:
        """Whether ``work`` more of ``kind`` fits within its share of the loop's modelled work (``done``: how
        many of this kind were taken; the first ``always`` always fit)."""
        return done < always or self.spent[kind] + work <= self.shares[kind] * self.loop

    def spend(self, kind: str, work: float) -> None:
        self.spent[kind] += work
