"""The monitor's diagnoses measured on the labelled corpus of real training runs (tests/monitor_runs): every
healthy run silent at warning/error level, every fault named by a correct code, no wrong cause; and the monitor
never raises inside update()."""

from __future__ import annotations

import math

import numpy as np
import pytest
from monitor_runs import RUNS, verdict

from course.monitor import TrainingMonitor


@pytest.fixture(autouse=True)
def _fixtures(monkeypatch):
    from conftest import SHARED_DATA

    monkeypatch.setenv("COURSE_DATA_FIXTURES", str(SHARED_DATA))


def test_corpus_is_big_enough():
    assert sum(r.healthy for r in RUNS) >= 15 and sum(not r.healthy for r in RUNS) >= 20


@pytest.mark.parametrize("run", RUNS, ids=[r.name for r in RUNS])
def test_run_is_diagnosed_right(run):
    mon = run.fn()
    assert mon.monitor_error is None
    found = mon.diagnoses
    result, named, wrong = verdict(run, found)
    shown = [(d.code, d.subject, d.step, d.active) for d in found]
    if result == "known miss":
        pytest.xfail(run.known_miss)
    assert result == "ok", (result, wrong, shown)
    for d in found:  # messages name their evidence: at least one number
        assert any(ch.isdigit() for ch in d.message), d.message


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e200, -1e300, 3, np.float32(2.5),
                                   np.array(1.5), np.ones(100_000), np.int64(7), "x", None])
def test_monitor_never_raises_inside_update(value):
    mon = TrainingMonitor("robust", mode="static", stats_every_seconds=0)
    rng = np.random.default_rng(0)
    w = {"W1": rng.standard_normal((50, 20)), "W2": rng.standard_normal((20, 3))}
    for step in range(40):
        big = 1e200 * (step + 1) ** 4 if step > 5 else 1.0
        mon.update(step, loss=value if step % 2 else big, val_loss=big, params=w,
                   grads={"W1": w["W1"] * big, "W2": np.full((3, 20), np.nan)}, outputs=np.full((4, 3), big),
                   activations={"h": np.zeros((2, 20), np.float32)})
        w = {k: v * 1e30 for k, v in w.items()}
    assert mon.monitor_error is None, mon.monitor_error
    assert mon.diagnoses  # inf weights/outputs are found, and nothing raised
