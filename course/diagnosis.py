"""One diagnosis of a training run (:class:`Diagnosis`) and the message templates of every diagnosis code.

Messages are whole sentences with named ``str.format`` placeholders (:data:`MESSAGES`, catalog messages marked with
``N_``; ``{causes}`` is :data:`STEP_CAUSES`), so that they can be translated as a whole; :func:`finding` fills one
in, in the learner's language. Each template names the evidence the rule used.
"""

from __future__ import annotations

from dataclasses import dataclass

from course.i18n import N_, gettext

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
HEALTHY_RATIO = (1e-4, 1e-2)  # update/weight ratio per update: "somewhere around 1e-3" (CS231n)

STEP_CAUSES = N_("The usual causes: the update has the wrong sign (adding the gradient instead of subtracting it) "
                 "or the step is too large: lower the learning rate, and scale the inputs (mean 0, std 1).")

MESSAGES = {
    "not_finite": N_("{name} became {value} at step {at}. {causes} Also look for log(0), exp() of large "
                     "scores (subtract the row maximum before the softmax) or a division by zero."),
    "loss_rising": N_("The training {name} is rising: averaged over blocks of {block} points it went from its lowest "
                      "{low:.4g} to {last:.4g} ({factor:.2f} times) over the last {span} points, far beyond the "
                      "mini-batch noise ({noise:.2g} per block). {causes}"),
    "loss_flat": N_("The training {name} has barely moved in {steps} steps: the mean of the first {n} points is "
                    "{first:.4g}, of the last {n} points {last:.4g} ({change:+.1%}). The network is not learning."),
    "loss_flat_moving": N_("The training {name} has barely moved in {steps} steps ({first:.4g} → {last:.4g}, "
                           "{change:+.1%}) although the weights move at a healthy rate (median update/weight ratio "
                           "{ratio:.2e}) and the gradients are not small: the labels may not match the inputs "
                           "(shuffled labels?), or the inputs carry no information about them."),
    "overfitting": N_("{vname} is rising while {tname} keeps falling: it was lowest ({low:.4g}) at step {at} and is "
                      "{last:.4g} now ({rise:+.1%}, {count} evaluations later; noise between evaluations about "
                      "{noise:.2g}). The network starts to overfit: stop early, add data or regularization."),
    "loss_not_following_gradients": N_("The loss does not change the way your gradients say it should: over the last "
                                       "{count} single updates they predict a change of {predicted:.3g}, the loss "
                                       "changed by {observed:+.3g} (spread of one change {noise:.2g}), with small "
                                       "steps (update/weight ratio {ratio:.2e}). The gradients do not belong to the "
                                       "weights they update: a sign error inside the backward pass, two layers' "
                                       "gradients swapped, or the error sent back through the wrong matrix. Run a "
                                       "gradient check."),
    "loss_not_matching_gradients": N_("The loss does not change the way your gradients say it should: over the "
                                      "last {count} single updates on the same data, the gradients before and "
                                      "after each update predict a total change of {predicted:.3g} (to second "
                                      "order, whatever the optimizer), but the loss changed by {observed:+.3g} "
                                      "(median difference {share:+.0%} of the prediction; step-to-step noise "
                                      "{noise:.2g}). Some gradients are not the gradients of this loss: two layers' "
                                      "gradients swapped (same shapes), a sign error or a wrong factor in one "
                                      "layer's backward pass, or a term (regularization) in the gradients but not "
                                      "in the loss you pass. Run a gradient check."),
    "update_uphill": N_("The weights move along the gradient, not against it (cosine between the update and minus the "
                        "gradient: {cos:.3f} for {layer}): the update adds the gradient instead of subtracting it."),
    "update_applied_twice": N_("{layer}'s update is {factor:.2f} times learning rate × gradient, the other layers' "
                               "exactly 1 ({lr:.3g} × gradient; plain SGD, cosine {cos:.4f}): the update of {layer} is "
                               "applied {times} times."),
    "grad_shape_mismatch": N_("The gradient given for {layer} has shape {gshape}, but {layer} has shape {pshape}: the "
                              "gradients are swapped between layers or transposed."),
    "layer_not_updated": N_("{layer} has not changed at all in the last {count} updates although its gradient is not "
                            "zero (RMS {grad:.3g}): at the other layers' step size ({lr:.3g} × gradient) it would "
                            "change by {expected:.2e} of its size per update. The update of {layer} is computed but "
                            "never assigned back (or {layer} is missing from the update loop)."),
    "weights_not_updated": N_("No weight has changed at all in the last {count} updates although the gradients are not "
                              "zero: the update is computed but never assigned back to the parameters, or the "
                              "learning rate is 0 (or so small that it does not change float32 weights)."),
    "weights_not_changing": N_("The weights barely change: the median update/weight ratio is {ratio:.2e} per update "
                               "over the last {count} samples (largest layer {top:.2e}; healthy is around 1e-3, "
                               "roughly 1e-4..1e-2, CS231n) while the gradients reach every layer: the learning rate "
                               "is far too small."),
    "vanishing_gradients_init": N_("Gradients vanish before they reach the first layer: {first} gets {ratio:.2e} "
                                   "times the gradient of {last} (median of the last {count} samples), so it barely "
                                   "learns. The initialization is too small ({first} starts at {scale:.3g} / "
                                   "sqrt(fan-in); He is 1.41): activations shrink layer after layer. Use He "
                                   "initialization (Xavier for tanh)."),
    "vanishing_gradients_backward": N_("Gradients vanish before they reach the first layer: {first} gets {ratio:.2e} "
                                       "times the gradient of {last} (median of the last {count} samples), although "
                                       "the initialization is already scaled ({first} starts at {scale:.3g} / "
                                       "sqrt(fan-in); He is 1.41). Saturated sigmoid/tanh units, or a backward pass "
                                       "that shrinks the error (sent back through dW instead of W, a factor too "
                                       "many): run a gradient check."),
    "zero_gradients": N_("{layer} gets exactly zero gradient ({frac:.1%} of its entries are 0 in each of the last "
                         "{count} samples): the units it feeds are dead (a ReLU that is 0 for every example) or its "
                         "inputs are all 0, so nothing reaches it. That is not a vanishing gradient."),
    "weights_frozen_after_huge_step": N_("{layers} stopped changing after a huge step (evidence: {evidence}): a step "
                                         "far too large pushed the ReLU units below zero, dead units pass back no "
                                         "gradient, so these weights freeze. The cause is the huge step, not a small "
                                         "learning rate. {causes}"),
    "outputs_exploding": N_("The network's outputs are exploding: largest |output| = {value:.3g} at step {at} (over "
                            "1e4, or not finite). {causes} Too large an initialization (unscaled randn) "
                            "does it too."),
    "outputs_dead": N_("The output ReLU is dead: {frac:.0%} of the output units are 0 for every example, so no "
                       "gradient flows back and the weights stop changing (that is not a too small learning "
                       "rate).{cause} Do not put a ReLU on the output of a regression net; lower the learning "
                       "rate and scale inputs and initialization."),
    "outputs_dead_huge": N_(" The largest update changed a weight by {ratio:.3g} of its size (step {step}): a step far "
                            "too large pushed every output unit below zero."),
    "outputs_dead_other": N_(" A too large step or a bad initialization/bias pushed them below zero."),
    "relu_output": N_("The outputs are never negative and {frac:.1%} of them are exactly 0 (median of the last {count} "
                      "samples): a ReLU on the output layer. An output stuck at 0 passes back no gradient and cannot "
                      "recover; a regression net needs a linear output layer."),
    "init_too_large": N_("{layer} starts with weights {scale:.3g} times 1/sqrt(fan-in) (RMS {rms:.3g}, fan-in {fan}; "
                         "He is 1.41, Xavier 1): unscaled randn. Layer outputs grow by that factor at every layer; "
                         "scale the initialization (He: randn * sqrt(2 / fan-in))."),
    "update_ratio_high": N_("{layer} changes by {ratio:.2e} of its size per update (median of the last {count} "
                            "samples; healthy is around 1e-3, roughly 1e-4..1e-2, CS231n): the learning rate is too "
                            "high, or the inputs are not scaled."),
    "huge_step": N_("{layer} changed by {ratio:.3g} times its own size in one update (step {at}): a step far too "
                    "large. {causes}"),
    "dead_relus": N_("{frac:.0%} of the ReLU units in {layer} are dead: 0 for every one of at least {examples} "
                     "examples, in each of the last {count} checks. A too high learning rate or a bad "
                     "initialization/bias pushed them negative."),
    "narrow_bottleneck": N_("The hidden layer of {layer} has only {width} units between {fan} inputs and {out} "
                            "outputs: everything the output needs must pass through {width} numbers. That is "
                            "enough only if the data has few degrees of freedom; if the loss stops falling while "
                            "still high, make it wider."),
    "narrow_bottleneck_loss": N_("The training {name} stays high: {last:.4g} at the end, {share:.0%} of its start "
                                 "({first:.4g}) after {steps} steps, and the hidden layer of {layer} has only "
                                 "{width} units between {fan} inputs and {out} outputs: everything the output "
                                 "needs must pass through {width} numbers, which limits how low the loss can go. "
                                 "Make the hidden layer wider (hundreds of units)."),
    "zero_gradient_entries": N_("{frac:.0%} of {layer}'s entries get exactly zero gradient in each recent batch: "
                                "the inputs they multiply are 0 in every example of the batch (e.g. border pixels "
                                "that are black in every image) or the units they feed are dead. {always:.0%} got "
                                "none in any of the {samples} sampled batches: most likely inputs that are 0 in "
                                "every image, whose weights never change. The rest of {layer} is learning "
                                "(update/weight ratio {ratio:.2e}). Look at the whole weight matrix, not a corner "
                                "of it."),
}

SEVERITY = {"not_finite": "error", "loss_rising": "error", "loss_flat": "warning", "overfitting": "warning",
            "loss_not_following_gradients": "error", "update_uphill": "error", "update_applied_twice": "error",
            "grad_shape_mismatch": "error", "layer_not_updated": "error", "weights_not_updated": "error",
            "weights_not_changing": "error", "vanishing_gradients": "warning", "zero_gradients": "error",
            "weights_frozen_after_huge_step": "error", "outputs_exploding": "error", "outputs_dead": "error",
            "relu_output": "warning", "init_too_large": "warning", "update_ratio_high": "warning",
            "huge_step": "error", "dead_relus": "warning", "narrow_bottleneck": "info",
            "zero_gradient_entries": "info"}


@dataclass(frozen=True)
class Diagnosis:
    """One finding: ``code`` (stable id for tests), ``severity`` ("error", "warning" or "info"), ``message`` for
    people, ``step`` where it was seen, ``subject`` (the layer or metric it is about). In a
    :class:`course.diagnose.DiagnosisLog`, ``step`` is the first step it held, ``last_step`` the last one and
    ``active`` whether it still holds."""

    code: str
    severity: str
    message: str
    step: int | None = None
    subject: str = ""
    last_step: int | None = None
    active: bool = True


def finding(code: str, step, subject: str, template: str | None = None, **values) -> Diagnosis:
    """The :class:`Diagnosis` ``code`` with its template (``template`` names another key of MESSAGES) filled."""
    text = gettext(MESSAGES[template or code], **{"causes": gettext(STEP_CAUSES), **values})
    return Diagnosis(code, SEVERITY[code], text, None if step is None else int(step), subject)
