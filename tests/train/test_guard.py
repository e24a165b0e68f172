"""DivergenceGuard's verdicts on sequences of numbers (no training involved)."""

from __future__ import annotations

import math

from rnnkit.train import DivergenceGuard


def test_non_finite_loss_and_gradient_are_flagged():
    g = DivergenceGuard()
    assert g.check_step(2.0, 1.0) is None
    assert "non-finite training loss" in g.check_step(math.nan, 1.0)
    assert "non-finite gradient" in g.check_step(2.0, math.inf)


def test_a_spike_is_flagged_only_after_warmup_and_against_the_recent_level():
    g = DivergenceGuard(spike_factor=3.0, spike_warmup=5)
    assert g.check_step(50.0) is None  # first steps: large losses are normal
    for _ in range(60):  # the recent level settles at 2
        assert g.check_step(2.0) is None
    assert "spike" in g.check_step(9.0)
    assert g.check_step(2.5) is None  # a modest rise is no spike


def test_gradual_climb_of_validation_is_caught_against_the_best_not_the_recent_average():
    g = DivergenceGuard(climb_tolerance=0.1, climb_patience=2)
    # 1.52 -> 3.18 by small steps: each one is close to the last, but far above the best.
    vals = [2.0, 1.7, 1.52, 1.60, 1.75, 1.95]
    verdicts = [g.check_val(v) for v in vals]
    assert verdicts[2] == (None, True)  # new best
    assert verdicts[3][0] is None  # within tolerance of the best
    assert verdicts[4][0] is None  # first validation well above the best
    assert "climbed" in verdicts[5][0]


def test_strikes_run_out():
    g = DivergenceGuard(max_strikes=2)
    assert g.strike() is False
    assert g.strike() is True


def test_state_round_trip():
    g = DivergenceGuard()
    g.check_step(2.0)
    g.check_val(1.5)
    h = DivergenceGuard()
    h.load_state_dict(g.state_dict())
    assert h.state_dict() == g.state_dict()
