"""Each diagnosis rule fires on its pattern and stays quiet on healthy training (synthetic histories)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course.diagnose import diagnose, train_loss_name
from course.diagnose_loss import check_loss_rising, check_not_finite, check_overfitting
from course.diagnose_weights import (
    check_dead_relus,
    check_outputs_exploding,
    check_update_ratio_high,
    check_weights_not_changing,
)
from course.diagnose_weights import check_vanishing as check_first_layer_vanishing


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
    found = check_outputs_exploding({"output_absmax": {"outputs": series(10.0 ** np.arange(6))}})
    assert codes(found) == ["outputs_exploding"] and found[0].step == 5  # first sample above 1e4
    assert codes(check_outputs_exploding({"output_absmax": {"outputs": series([1.0, 2.0, math.inf])}})) == [
        "outputs_exploding"]
    # growing from near zero (a zero-initialised output layer) is not exploding: only the size counts
    assert check_outputs_exploding({"output_absmax": {"outputs": series([0.01, 5.0, 60.0, 80.0])}}) == []
    assert check_outputs_exploding({"output_absmax": {"outputs": series([2e4, 10.0, 9.0])}}) == []  # back again
    assert check_outputs_exploding({}) == []


def _slow(ratio=1e-7, grads=(1e-2, 2e-2), scale=1.4, n=5):
    return {"update_ratio": {"W1": series([ratio] * n), "W2": series([ratio] * n)},
            "grad_rms": {"W1": series([grads[0]] * n), "W2": series([grads[1]] * n)},
            "weight_scale": {"W1": series([scale] * n), "W2": series([scale] * n)}}


def test_weights_not_changing():
    found = check_weights_not_changing(_slow())
    assert codes(found) == ["weights_not_changing"] and "learning rate" in found[0].message
    assert "1.00e-07" in found[0].message  # names its evidence
    one_moves = _slow()
    one_moves["update_ratio"]["W2"] = series([1e-3] * 5)
    assert check_weights_not_changing(one_moves) == []
    assert check_weights_not_changing(_slow(n=4)) == []  # too few samples
    assert check_weights_not_changing(_slow(ratio=0.0)) == []  # exactly frozen: the update is not applied
    assert check_weights_not_changing(_slow(grads=(1e-8, 1e-2))) == []  # vanishing gradients: another cause
    assert check_weights_not_changing(_slow(scale=0.01)) == []  # tiny init: tiny gradients, not a tiny lr
    dead = _slow()
    dead["zero_grad_frac"] = {"W1": series([1.0] * 5)}
    assert check_weights_not_changing(dead) == []  # dead units pass back exactly zero


def test_update_ratio_too_high():
    stats = {"update_ratio": {"W1": series([0.5] * 5)}, "weight_scale": {"W1": series([1.4] * 5)}}
    (d,) = check_update_ratio_high(stats)
    assert d.code == "update_ratio_high" and "5.00e-01" in d.message
    assert check_update_ratio_high({"update_ratio": {"W1": series([0.5, 1e-3, 0.5])},
                                    "weight_scale": {"W1": series([1.4] * 3)}}) == []  # too few samples
    # a weight that starts near 0 (zero-initialised output layer) changes fast relative to itself: healthy
    assert check_update_ratio_high({"update_ratio": {"W1": series([0.5] * 5)},
                                    "weight_scale": {"W1": series([0.01] * 5)}}) == []
    # a small weight growing to its size: its size grows by about the update ratio per update
    growing = {"update_ratio": {"W1": series([0.5] * 5)}, "weight_scale": {"W1": series(0.4 * 1.5 ** np.arange(5))}}
    assert check_update_ratio_high(growing) == []
    huge = {"update_ratio": {"W1": series([1e-3, 5.0, 1e-3, 1e-3, 1e-3])}, "weight_scale": {"W1": series([1.4] * 5)}}
    (d,) = check_update_ratio_high(huge)
    assert d.code == "huge_step" and d.step == 1


def test_dead_relus():
    found = check_dead_relus({"dead_frac": {"h1": series([0.1] * 3), "h2": series([0.9] * 3)}})
    assert codes(found) == ["dead_relus"] and "h2" in found[0].message
    assert check_dead_relus({"dead_frac": {"h1": series([0.2, 0.6, 0.3])}}) == []


def test_diagnose_puts_errors_first():
    metrics = {"loss": series([1.0, math.nan])}
    stats = {"dead_frac": {"h1": series([0.9] * 3)}}
    assert codes(diagnose(metrics, stats)) == ["not_finite", "dead_relus"]


def test_loss_flat_fires_on_a_stuck_run_only():
    from course.diagnose_loss import check_loss_flat

    stuck = series(0.678 - 0.033 * np.arange(101) / 100, start=0)
    stuck = [(10 * s, v) for s, v in stuck]  # every 10 iterations, 1000 in all
    assert codes(check_loss_flat({"cost": stuck})) == ["loss_flat"]
    assert check_loss_flat({"cost": [(10 * s, 2 * np.exp(-s / 20)) for s in range(101)]}) == []
    assert check_loss_flat({"cost": stuck[:20]}) == []  # too short to tell


def test_outputs_dead_and_frozen_weights_name_the_huge_step_not_the_learning_rate():
    from course.diagnose_weights import check_outputs_dead, check_zero_gradients

    stats = {"dead_frac": {"outputs": series([0.2, 0.98, 0.98, 0.98])},
             "update_ratio": {"W1": series([4e20, 0, 0, 0]), "W2": series([300.0, 0, 0, 0])},
             "weight_scale": {"W1": series([1.4, 5e20, 5e20, 5e20]), "W2": series([1.4, 400, 400, 400])}}
    (d,) = check_outputs_dead(stats)
    assert d.code == "outputs_dead" and "far too large" in d.message
    (d,) = check_zero_gradients(stats)  # no gradients given: weights exactly frozen after the huge step
    assert d.code == "weights_frozen_after_huge_step" and d.subject == "W1, W2" and "4e+20" in d.message
    found = codes(diagnose({}, stats))
    assert "weights_frozen_after_huge_step" in found and "weights_not_changing" not in found
    assert check_zero_gradients({"update_ratio": {"W1": series([1e-3, 0, 0, 0])}}) == []  # no huge step seen
    # exact-zero gradients without a huge step: dead units, named as such (not vanishing gradients)
    dead = {"zero_grad_frac": {"W1": series([1.0] * 3)}, "grad_rms": {"W1": series([0.0] * 3),
                                                                      "W2": series([1e-2] * 3)}}
    assert codes(check_zero_gradients(dead)) == ["zero_gradients"]
    assert codes(diagnose({}, dead)) == ["zero_gradients"]
    assert check_zero_gradients({"zero_grad_frac": {"W1": series([1.0, 1.0, 0.3])}}) == []


def test_zero_gradient_entries_is_information_when_the_rest_learns():
    from course.diagnose_weights import check_zero_gradient_entries

    stats = {"zero_grad_frac": {"W1": series([0.2] * 3)}, "update_ratio": {"W1": series([1e-3] * 3)}}
    (d,) = check_zero_gradient_entries(stats)
    assert d.severity == "info" and "border pixels" in d.message
    stats["update_ratio"]["W1"] = series([0.0] * 3)
    assert check_zero_gradient_entries(stats) == []


def test_loss_flat_not_on_a_plateau_that_ends():
    from course.diagnose_loss import check_loss_flat

    t = np.arange(400)
    flat = 0.69 - 1e-5 * t
    plateau = flat - 0.02 * np.maximum(t - 350, 0) ** 2 / 50 ** 2  # flat, then falling faster and faster
    assert check_loss_flat({"loss": series(plateau)}) == []
    assert codes(check_loss_flat({"loss": series(flat)})) == ["loss_flat"]  # the plateau itself is flat


def _first_order(observed, predicted=-0.08, window=24):
    """A loss and the statistics of ``window`` sampled single plain-SGD updates (steps 2k -> 2k+1)."""
    loss, pred, frm = [], [], []
    for k, o in enumerate(observed[:window]):
        loss += [(2 * k, 2.0), (2 * k + 1, 2.0 + o)]
        pred.append((2 * k + 1, predicted))
        frm.append((2 * k + 1, 2 * k))
    stats = {"first_order": {"predicted": pred, "from_step": frm}, "update_cos": {"W1": series([1.0] * window)},
             "update_ratio": {"W1": series([1e-3] * window)}}
    return {"loss": loss}, stats


def test_loss_not_following_gradients_only_where_the_loss_noise_is_small():
    from course.diagnose_loss import check_loss_not_following_gradients

    smooth = [0.05] * 24  # the same data every step (full batch): the loss rises where it should fall
    assert codes(check_loss_not_following_gradients(*_first_order(smooth))) == ["loss_not_following_gradients"]
    rng = np.random.default_rng(0)  # mini-batch: 18 of 24 changes up by chance, spread as large as the prediction
    noisy = np.abs(rng.normal(0.05, 0.08, 24)) * np.where(np.arange(24) % 4 == 0, -1, 1)
    assert np.mean(noisy > 0) >= 0.75 and noisy.sum() > 0.5 * 24 * 0.08
    assert check_loss_not_following_gradients(*_first_order(noisy)) == []


def test_trapezoid_prediction_is_the_loss_change_for_true_gradients_only():
    """On a quadratic loss the trapezoid 1/2 <g_t + g_t+1, dW> (weights and biases) equals the loss change
    exactly, whatever the step; with two same-shape weights' gradients swapped it does not."""
    from course.monitor_stats import StatsSampler

    rng = np.random.default_rng(0)
    a = {"W1": 1.0 + rng.random((4, 4)), "W2": 3.0 + rng.random((4, 4)), "b1": 2.0 + rng.random(4)}
    target = {k: rng.standard_normal(v.shape) for k, v in a.items()}

    def loss_grads(p):
        return (sum(0.5 * float(np.sum(a[k] * (p[k] - target[k]) ** 2)) for k in p),
                {k: a[k] * (p[k] - target[k]) for k in p})

    for swap in (False, True):
        p = {k: rng.standard_normal(v.shape) for k, v in a.items()}
        s = StatsSampler()

        def shown(g, swap=swap):  # the gradients the loop hands the monitor (and applies)
            return dict(g, W1=g["W2"], W2=g["W1"]) if swap else g

        l0, g0 = loss_grads(p)
        s.sample(0, 0, p, shown(g0), None, None)
        p = {k: v - 0.1 * shown(g0)[k] - 0.03 * rng.standard_normal(v.shape) for k, v in p.items()}  # any step
        l1, g1 = loss_grads(p)
        s.finish_ratio(1, 1, p, shown(g1))
        (_, trap), = s.stats["first_order"]["trapezoid"]
        assert (abs(trap - (l1 - l0)) < 1e-9 * abs(l1 - l0)) != swap, (trap, l1 - l0)


def _trapezoid_run(observed, predicted):
    loss, trap, frm, level = [], [], [], 1.0
    for k, (o, p) in enumerate(zip(observed, predicted)):
        loss += [(2 * k, level), (2 * k + 1, level + o)]
        level += o
        trap.append((2 * k + 1, p))
        frm.append((2 * k + 1, 2 * k))
    return {"loss": loss}, {"first_order": {"trapezoid": trap, "from_step": frm}}


def test_loss_change_vs_gradients_fires_on_smooth_mismatch_only():
    from course.diagnose_loss import check_loss_change_vs_gradients

    pred = -0.01 * np.exp(-np.arange(30) / 50)  # a full-batch run: smooth predicted changes
    assert check_loss_change_vs_gradients(*_trapezoid_run(pred * 1.001, pred)) == []  # the gradients are right
    found = check_loss_change_vs_gradients(*_trapezoid_run(pred * 0.2, pred))  # falls 5x slower than predicted
    assert codes(found) == ["loss_not_following_gradients"] and "-80%" not in found[0].message
    rng = np.random.default_rng(1)  # mini-batches: each change measured on another batch
    noisy = pred * 0.2 + 0.01 * rng.standard_normal(30)
    assert check_loss_change_vs_gradients(*_trapezoid_run(noisy, pred)) == []


def test_narrow_bottleneck_is_a_warning_only_when_the_loss_stays_high():
    from course.diagnose_weights import check_narrow_bottleneck

    facts = {"params": {"W1": (192, 4), "W2": (4, 768)}}
    t = np.arange(300)
    stuck = {"loss": series(0.14 + 0.04 * np.exp(-t / 50))}  # ends at 77% of its start
    learns = {"loss": series(0.01 + 0.2 * np.exp(-t / 50))}  # ends at 5%
    rising = {"loss": series(0.1 + 1e-3 * t)}
    found = check_narrow_bottleneck(facts, metrics=stuck)
    assert [(d.code, d.severity) for d in found] == [("narrow_bottleneck", "warning")] and "4 units" in found[0].message
    for metrics in (learns, rising, None):
        assert [(d.code, d.severity) for d in check_narrow_bottleneck(facts, metrics=metrics)] == [
            ("narrow_bottleneck", "info")]
    assert check_narrow_bottleneck({"params": {"W1": (192, 64), "W2": (64, 768)}}, metrics=stuck) == []


def test_entries_without_gradient_in_every_sample_are_counted_apart():
    """Seed 3: per batch many of W1's entries get no gradient, but only those whose input is 0 in every image
    keep their initial values; the message says both numbers."""
    from course.diagnose_weights import check_zero_gradient_entries
    from course.monitor_stats import StatsSampler

    rng = np.random.default_rng(0)
    s = StatsSampler()
    w = rng.standard_normal((10, 4))
    for step in range(6):
        g = rng.standard_normal((10, 4))
        g[:2] = 0  # inputs 0 in every image: 8 of 40 entries
        g[2 + step % 4] = 0  # an input 0 in this batch only
        s.finish_ratio(step, step, {"W": w})
        s.sample(step, step, {"W": w}, {"W": g}, None, None)
        w = w - 0.01 * g
    assert s.stats["zero_grad_frac"]["W"][-1][1] == 12 / 40
    assert s.stats["zero_grad_always"]["W"][-1][1] == 8 / 40
    (d,) = check_zero_gradient_entries(s.stats)
    assert "30%" in d.message and "20% got none in any of the 6 sampled batches" in d.message
