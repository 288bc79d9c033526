"""Each diagnosis rule fires on its pattern and stays quiet on healthy training (synthetic histories)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course.diagnose import (
    check_dead_relus,
    check_first_layer_vanishing,
    check_loss_rising,
    check_not_finite,
    check_outputs_exploding,
    check_overfitting,
    check_update_ratio_high,
    check_weights_not_changing,
    diagnose,
    train_loss_name,
)


def healthy(seed: int, steps: int = 3000, every: int = 25):
    """A noisy but healthy run: minibatch loss decaying with 30% noise, val loss every 20 steps, sane stats."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    loss = (0.05 + 2.0 * np.exp(-t / 400)) * np.exp(0.3 * rng.standard_normal(steps))
    metrics = {"loss": [(int(s), float(v)) for s, v in zip(t, loss)],
               "val_loss": [(int(s), float(0.06 + 2.1 * np.exp(-s / 400) * np.exp(0.05 * rng.standard_normal())))
                            for s in t[::20]],
               "accuracy": [(int(s), float(min(1.0, 0.5 + s / steps))) for s in t]}
    st = t[::every]
    noise = lambda: np.exp(0.3 * rng.standard_normal(len(st)))  # noqa: E731
    stats = {"grad_rms": {"W1": list(zip(st, 3e-3 * noise())), "W2": list(zip(st, 1e-2 * noise())),
                          "W3": list(zip(st, 2e-2 * noise()))},
             "update_ratio": {"W1": list(zip(st, 1e-3 * noise())), "W2": list(zip(st, 2e-3 * noise()))},
             "dead_frac": {"h1": list(zip(st, 0.05 * noise())), "h2": list(zip(st, 0.1 * noise()))},
             "output_absmax": {"outputs": list(zip(st, 3 + 2 * st / steps * noise()))}}
    return metrics, stats


def prefix(metrics, stats, step):
    m = {k: [p for p in v if p[0] <= step] for k, v in metrics.items()}
    s = {k: {n: [p for p in v if p[0] <= step] for n, v in d.items()} for k, d in stats.items()}
    return m, s


@pytest.mark.parametrize("seed", range(4))
def test_healthy_training_is_quiet_all_along(seed):
    metrics, stats = healthy(seed)
    for step in range(0, 3000, 50):  # the live monitor diagnoses every prefix of the run
        assert diagnose(*prefix(metrics, stats, step)) == [], f"false alarm at step {step}"


def series(values, start=0):
    return [(start + i, float(v)) for i, v in enumerate(values)]


def codes(found):
    return [d.code for d in found]


def test_nan_or_inf_loss_fires_with_its_step():
    vals = list(np.linspace(2, 1, 50)) + [math.nan]
    found = check_not_finite({"loss": series(vals)})
    assert codes(found) == ["not_finite"] and found[0].step == 50
    assert "learning rate" in found[0].message
    assert codes(check_not_finite({"loss": series([1.0, math.inf])})) == ["not_finite"]
    assert check_not_finite({"loss": series(np.linspace(2, 1, 50))}) == []
    assert codes(diagnose({"loss": series(vals)}))[0] == "not_finite"


def test_loss_rising_fires_after_divergence_and_at_the_start():
    diverging = list(np.linspace(2, 0.5, 300)) + list(0.5 * 1.05 ** np.arange(60))
    found = check_loss_rising({"loss": series(diverging)})
    assert codes(found) == ["loss_rising"]
    assert "step is too large" in found[0].message and "wrong sign" in found[0].message
    assert codes(check_loss_rising({"train_loss": series(1.3 ** np.arange(10))})) == ["loss_rising"]


def test_loss_rising_ignores_flat_noisy_and_slightly_rising_losses():
    rng = np.random.default_rng(0)
    assert check_loss_rising({"loss": series(np.linspace(2, 1, 200))}) == []
    assert check_loss_rising({"loss": series(1 + 0.3 * rng.standard_normal(2000))}) == []
    assert check_loss_rising({"loss": series(np.linspace(1, 1.05, 100))}) == []  # < 10% rise
    assert check_loss_rising({"loss": series([3.0, 2.0, 4.0])}) == []  # too short to tell
    assert check_loss_rising({"val_loss": series(1.3 ** np.arange(10))}) == []  # not the training loss


def test_train_loss_name_prefers_loss_and_skips_validation():
    assert train_loss_name({"val_loss": [], "loss": []}) == "loss"
    assert train_loss_name({"val_loss": [], "ce_loss": []}) == "ce_loss"
    assert train_loss_name({"mistakes": []}) is None


def test_overfitting_fires_when_val_rises_while_train_falls():
    train = series(np.linspace(1, 0.1, 60))
    val = series(list(np.linspace(1, 0.5, 30)) + list(np.linspace(0.5, 0.9, 30)))
    assert codes(check_overfitting({"loss": train, "val_loss": val})) == ["overfitting"]
    assert check_overfitting({"loss": train, "val_loss": series(np.linspace(1, 0.3, 60))}) == []
    assert check_overfitting({"loss": val, "val_loss": val}) == []  # both rising: that is loss_rising's job


def test_first_layer_vanishing_gradients():
    vanishing = {"grad_rms": {"W1": series([1e-7] * 5), "W2": series([1e-5] * 5), "W3": series([1e-2] * 5)}}
    found = check_first_layer_vanishing(vanishing)
    assert codes(found) == ["vanishing_gradients"] and "W1" in found[0].message
    fine = {"grad_rms": {"W1": series([1e-3] * 5), "W2": series([1e-2] * 5)}}
    assert check_first_layer_vanishing(fine) == []
    once = {"grad_rms": {"W1": series([1e-3, 1e-3, 1e-7]), "W2": series([1e-2] * 3)}}
    assert check_first_layer_vanishing(once) == []  # one sample is not a pattern
    assert check_first_layer_vanishing({"grad_rms": {"W1": series([0.0] * 5)}}) == []  # one layer: nothing to compare


def test_outputs_exploding():
    assert codes(check_outputs_exploding({"output_absmax": {"outputs": series(10.0 ** np.arange(6))}})) == [
        "outputs_exploding"]
    assert codes(check_outputs_exploding({"output_absmax": {"outputs": series([1.0, 2.0, math.inf])}})) == [
        "outputs_exploding"]
    assert codes(check_outputs_exploding({"output_absmax": {"outputs": series([0.5, 5.0, 60.0, 80.0])}})) == [
        "outputs_exploding"]  # grew more than 100x
    assert check_outputs_exploding({"output_absmax": {"outputs": series([3.0, 5.0, 8.0, 9.0, 7.0])}}) == []
    assert check_outputs_exploding({}) == []


def test_weights_not_changing():
    frozen = {"update_ratio": {"W1": series([0.0] * 4), "W2": series([1e-9] * 4)}}
    found = check_weights_not_changing(frozen)
    assert codes(found) == ["weights_not_changing"] and "learning rate" in found[0].message
    one_moves = {"update_ratio": {"W1": series([0.0] * 4), "W2": series([1e-3] * 4)}}
    assert check_weights_not_changing(one_moves) == []
    assert check_weights_not_changing({"update_ratio": {"W1": series([0.0, 0.0])}}) == []  # too few samples


def test_update_ratio_too_high():
    assert codes(check_update_ratio_high({"update_ratio": {"W1": series([0.5] * 3)}})) == ["update_ratio_high"]
    assert check_update_ratio_high({"update_ratio": {"W1": series([0.5, 1e-3, 0.5])}}) == []


def test_dead_relus():
    found = check_dead_relus({"dead_frac": {"h1": series([0.1] * 3), "h2": series([0.9] * 3)}})
    assert codes(found) == ["dead_relus"] and "h2" in found[0].message
    assert check_dead_relus({"dead_frac": {"h1": series([0.2, 0.6, 0.3])}}) == []


def test_diagnose_puts_errors_first():
    metrics = {"loss": series([1.0, math.nan])}
    stats = {"dead_frac": {"h1": series([0.9] * 3)}}
    assert codes(diagnose(metrics, stats)) == ["not_finite", "dead_relus"]


def test_loss_flat_fires_on_a_stuck_run_only():
    from course.diagnose import check_loss_flat

    stuck = series(0.678 - 0.033 * np.arange(101) / 100, start=0)
    stuck = [(10 * s, v) for s, v in stuck]  # every 10 iterations, 1000 in all
    assert codes(check_loss_flat({"cost": stuck})) == ["loss_flat"]
    assert check_loss_flat({"cost": [(10 * s, 2 * np.exp(-s / 20)) for s in range(101)]}) == []
    assert check_loss_flat({"cost": stuck[:20]}) == []  # too short to tell


def test_outputs_dead_and_frozen_weights_name_the_huge_step_not_the_learning_rate():
    from course.diagnose import check_outputs_dead, check_weights_frozen_after_huge_step

    stats = {"dead_frac": {"outputs": series([0.2, 0.98, 0.98, 0.98])},
             "update_ratio": {"W1": series([4e20, 0, 0, 0]), "W2": series([300.0, 0, 0, 0])}}
    assert codes(check_outputs_dead(stats)) == ["outputs_dead"]
    assert codes(check_weights_frozen_after_huge_step(stats)) == ["weights_frozen_after_huge_step"]
    assert "weights_not_changing" not in codes(diagnose({}, stats))
    assert check_weights_frozen_after_huge_step({"update_ratio": {"W1": series([1e-3, 0, 0, 0])}}) == []


def test_zero_gradient_entries_is_information_when_the_rest_learns():
    from course.diagnose import check_zero_gradient_entries

    stats = {"zero_grad_frac": {"W1": series([0.2] * 3)}, "update_ratio": {"W1": series([1e-3] * 3)}}
    (d,) = check_zero_gradient_entries(stats)
    assert d.severity == "info" and "border pixels" in d.message
    stats["update_ratio"]["W1"] = series([0.0] * 3)
    assert check_zero_gradient_entries(stats) == []
