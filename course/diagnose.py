"""Plain-language diagnoses of a training run, computed from its recorded history.

Pure functions, no drawing: :class:`course.monitor.TrainingMonitor` shows their messages; the tests feed them
synthetic histories and a labelled corpus of real runs (tests/monitor_runs). Inputs, in the monitor's formats:

- ``metrics``: ``{name: [(step, value), ...]}`` (e.g. ``loss``, ``val_loss``, ``accuracy``), as in
  ``TrainingMonitor.history``;
- ``stats``: ``{kind: {layer: [(step, value), ...]}}`` as in ``TrainingMonitor.stats`` (kinds: see
  :class:`course.monitor_stats.StatsSampler`);
- ``facts``: ``{"params": {name: shape}, "grads": {name: shape}}`` (``StatsSampler.facts``).

:func:`diagnose` runs every rule (:mod:`course.diagnose_loss`, :mod:`course.diagnose_weights`), removes findings
that another one shown at the same time contradicts or explains (:func:`reconcile`) and returns the
:class:`Diagnosis` list (empty for healthy training); :class:`DiagnosisLog` keeps every finding of a run with the
step it was first seen, also after it went away (then shown as no longer holding).

The healthy update/weight ratio: "somewhere around 1e-3" per update (A. Karpathy, CS231n notes, "Neural Networks
Part 3", section "Ratio of weights:updates"); we call 1e-4 .. 1e-2 healthy (:data:`HEALTHY_RATIO`).
"""

from __future__ import annotations

import dataclasses

from course import diagnose_loss as loss_rules
from course import diagnose_weights as weight_rules
from course.diagnose_loss import train_loss_name, val_loss_name
from course.diagnosis import HEALTHY_RATIO, MESSAGES, SEVERITY, SEVERITY_ORDER, Diagnosis

__all__ = ["HEALTHY_RATIO", "MESSAGES", "SEVERITY", "Diagnosis", "DiagnosisLog", "diagnose", "reconcile",
           "train_loss_name", "val_loss_name"]

# a finding about a layer that makes another one about the same layer wrong or redundant
_OVERRIDES = {
    "vanishing_gradients": ("zero_gradient_entries",),
    "weights_frozen_after_huge_step": ("zero_gradients", "layer_not_updated", "vanishing_gradients",
                                       "weights_not_changing", "zero_gradient_entries"),
    "zero_gradients": ("zero_gradient_entries", "vanishing_gradients"),
    "layer_not_updated": ("zero_gradient_entries", "vanishing_gradients"),
    "update_uphill": ("loss_not_following_gradients",),
}


def reconcile(found: list[Diagnosis]) -> list[Diagnosis]:
    """Drop findings that contradict or repeat a stronger one about the same subject (e.g. "the rest of W1 is
    learning" next to "W1 barely learns"), and the "not learning" loss note next to a rising or non-finite loss."""
    drop = set()
    codes = {d.code for d in found}
    for d in found:
        for other in _OVERRIDES.get(d.code, ()):
            for e in found:
                if e.code == other and (e.subject == d.subject or e.subject in d.subject.split(", ")
                                        or d.subject in ("weights", "outputs")):
                    drop.add(id(e))
    if "update_applied_twice" in codes:  # the doubled step explains a loss that does not follow the gradients
        drop |= {id(d) for d in found if d.code == "loss_not_following_gradients"}
    if codes & {"loss_rising", "not_finite"}:
        drop |= {id(d) for d in found if d.code == "loss_flat"}
    return [d for d in found if id(d) not in drop]


def diagnose(metrics: dict, stats: dict | None = None, facts: dict | None = None) -> list[Diagnosis]:
    """Run every rule; errors first, then warnings, then information. An empty list means nothing suspicious."""
    stats = stats or {}
    facts = facts or {}
    found = (loss_rules.check_not_finite(metrics) + loss_rules.check_loss_rising(metrics)
             + (loss_rules.check_loss_not_following_gradients(metrics, stats)
                or loss_rules.check_loss_change_vs_gradients(metrics, stats))
             + weight_rules.check_grad_shapes(facts) + weight_rules.check_update_uphill(stats)
             + weight_rules.check_update_applied_twice(stats) + weight_rules.check_outputs_exploding(stats)
             + weight_rules.check_outputs_dead(stats) + weight_rules.check_relu_output(stats)
             + weight_rules.check_zero_gradients(stats) + weight_rules.check_not_updated(stats, facts)
             + weight_rules.check_weights_not_changing(stats) + weight_rules.check_vanishing(stats)
             + weight_rules.check_init_too_large(stats, facts) + weight_rules.check_update_ratio_high(stats)
             + weight_rules.check_dead_relus(stats) + loss_rules.check_loss_flat(metrics, stats)
             + loss_rules.check_overfitting(metrics) + weight_rules.check_narrow_bottleneck(facts, metrics=metrics)
             + weight_rules.check_zero_gradient_entries(stats))
    return sorted(reconcile(found), key=lambda d: SEVERITY_ORDER.get(d.severity, 3))


class DiagnosisLog:
    """Every finding of a run, each with the step it was first seen; findings that no longer hold stay in the
    log (``active=False``, ``last_step`` = the last step they held)."""

    def __init__(self):
        self._entries: dict[tuple[str, str], Diagnosis] = {}

    def record(self, found: list[Diagnosis], step: int | None) -> None:
        """Merge the findings of one evaluation at ``step``: new ones are added, current ones updated (latest
        message), those missing from ``found`` marked inactive."""
        now = {(d.code, d.subject): d for d in found}
        for key, old in list(self._entries.items()):
            if key not in now and old.active:
                self._entries[key] = dataclasses.replace(old, active=False)
        for key, d in now.items():
            seen = d.step if d.step is not None else step
            old = self._entries.get(key)
            first = old.step if old is not None else seen
            self._entries[key] = dataclasses.replace(d, step=first, last_step=step if step is not None else seen,
                                                     active=True)

    @property
    def entries(self) -> list[Diagnosis]:
        """All findings: active ones first, then by severity and first step."""
        return sorted(self._entries.values(),
                      key=lambda d: (not d.active, SEVERITY_ORDER.get(d.severity, 3), d.step or 0))

    def codes(self) -> list[str]:
        return [d.code for d in self.entries]
