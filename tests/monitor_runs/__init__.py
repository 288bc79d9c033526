"""A labelled corpus of real training runs for measuring the monitor's diagnoses like a classifier.

Data for verification, not shipped to students. Each :class:`Run` trains a plain NumPy loop of a fraction of a
second to ~2 s (seeded; MNIST/CIFAR/Kodak fixture subsets named by ``COURSE_DATA_FIXTURES`` and synthetic
tasks) feeding a real :class:`course.monitor.TrainingMonitor` in static mode (statistics on the monitor's own
schedule, nothing drawn) and returns it. Labels: ``correct`` = codes that name the run's fault (one is needed);
``ok`` = codes that are true about the run but not its fault (allowed); every other warning/error code (and
every other code on a faulty run) is a false alarm or a wrong cause. ``known_miss`` says why a fault is not
decidable from what the monitor sees (then it is reported, not asserted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import faults, healthy

STEP = {"loss_rising", "not_finite", "outputs_exploding", "huge_step", "update_ratio_high"}
DEAD = {"dead_relus", "zero_gradients", "weights_frozen_after_huge_step", "outputs_dead"}
INFO = {"zero_gradient_entries"}


@dataclass(frozen=True)
class Run:
    name: str
    fn: object
    correct: frozenset = frozenset()
    ok: frozenset = frozenset()
    known_miss: str = ""
    healthy: bool = field(default=False)


def _fault(fn, correct, ok=(), known_miss=""):
    return Run(fn.__name__, fn, frozenset(correct), frozenset(set(ok) | INFO), known_miss)


RUNS = [Run(fn.__name__, fn, ok=frozenset(INFO), healthy=True) for fn in healthy.HEALTHY]
RUNS += [
    _fault(faults.sign_flipped, {"update_uphill"}, STEP | DEAD),
    _fault(faults.lr_far_too_high, STEP, DEAD),
    _fault(faults.lr_far_too_low, {"weights_not_changing"}, {"loss_flat"}),
    _fault(faults.one_over_m_forgotten, STEP, DEAD),
    _fault(faults.raw_pixels, STEP, DEAD),
    _fault(faults.unscaled_randn_init, {"init_too_large"}, STEP | DEAD),
    _fault(faults.small_init_deep_net, {"vanishing_gradients"}, {"loss_flat"}),
    _fault(faults.dead_relus_after_huge_step, STEP | DEAD),
    _fault(faults.relu_on_regression_output, {"relu_output", "outputs_dead"}),
    _fault(faults.backprop_through_dw, {"vanishing_gradients", "loss_not_following_gradients"}, {"loss_flat"}),
    _fault(faults.layer_never_updated, {"layer_not_updated"}),
    _fault(faults.swapped_gradients_same_shape, {"loss_not_following_gradients", "loss_rising", "loss_flat"}),
    _fault(faults.swapped_gradients_other_shape, {"grad_shape_mismatch"}),
    _fault(faults.shuffled_labels, {"loss_flat", "overfitting"}),
    _fault(faults.overfitting_val_rising, {"overfitting"}),
    _fault(faults.softmax_overflow, {"not_finite", "outputs_exploding"}, STEP | DEAD),
    _fault(faults.update_applied_twice, {"update_applied_twice"}),
    _fault(faults.narrow_bottleneck, {"narrow_bottleneck"}, DEAD | {"loss_flat"}),
    _fault(faults.seed1_superres_report, STEP | {"relu_output", "init_too_large", "weights_frozen_after_huge_step"},
           STEP | DEAD | {"relu_output", "init_too_large", "narrow_bottleneck", "loss_not_following_gradients"}),
    _fault(faults.seed2_deep_small_init, {"vanishing_gradients"}, {"loss_flat"}),
    _fault(faults.seed3_mnist_corner_weights, {"zero_gradient_entries"}),
    _fault(faults.seed4_cifar_cnn_raw_batch1, STEP | DEAD),
]


def verdict(run: Run, found: list) -> tuple[str, set, set]:
    """("ok" | "false alarm" | "wrong cause" | "missed" | "known miss", named correct codes, wrong codes) for the
    whole log of a run (findings that were withdrawn count too)."""
    codes = {d.code for d in found}
    serious = {d.code for d in found if d.severity in ("error", "warning")}
    if run.healthy:
        bad = serious - run.ok
        return ("false alarm" if bad else "ok"), set(), bad
    wrong = codes - run.correct - run.ok
    named = codes & run.correct
    if wrong:
        return "wrong cause", named, wrong
    if not named:
        return ("known miss" if run.known_miss else "missed"), named, wrong
    return "ok", named, wrong
