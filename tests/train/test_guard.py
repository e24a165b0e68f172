"""DivergenceGuard's verdicts on sequences of numbers (no training involved)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rnnkit.train import DivergenceGuard

CTC_LOSSES = Path(__file__).with_name("ctc_losses_fsdd.json")


def test_non_finite_loss_and_gradient_are_flagged():
    g = DivergenceGuard()
    assert g.check_step(2.0, 1.0) is None
    assert "non-finite training loss" in g.check_step(math.nan, 1.0)
    assert "non-finite gradient" in g.check_step(2.0, math.inf)


def test_a_spike_is_flagged_only_after_warmup_against_the_recent_level_and_if_it_persists():
    g = DivergenceGuard(spike_factor=3.0, spike_warmup=5)
    assert g.check_step(50.0) is None  # first steps: large losses are normal
    for _ in range(300):  # the recent level settles at 2, with no spread left
        assert g.check_step(2.0) is None
    assert g.check_step(9.0) is None  # one high step alone is not enough ...
    assert "spike" in g.check_step(9.0)  # ... two of the last three are
    g.strike()
    for _ in range(300):
        assert g.check_step(2.0) is None
    assert g.check_step(2.5) is None  # a modest rise is no spike
    assert g.check_step(9.0) is None
    assert g.check_step(2.0) is None
    assert g.check_step(2.0) is None
    assert g.check_step(9.0) is None  # the first high step has left the window of three


def _old_rule_events(losses, factor=3.0, warmup=20, decay=0.9):
    """The guard's previous spike test (loss > 3 ema and loss - ema > 1 on one step)."""
    ema, steps, events = None, 0, 0
    for loss in losses:
        steps += 1
        if ema is not None and steps > warmup and loss > factor * ema and loss - ema > 1:
            events, ema, steps = events + 1, None, 0
            continue
        ema = loss if ema is None else decay * ema + (1 - decay) * loss
    return events


def _first_event(guard, losses):
    for i, loss in enumerate(losses):
        if guard.check_step(loss) is not None:
            return i
    return None


def test_noisy_but_healthy_ctc_losses_do_not_trigger():
    # Per-step CTC losses recorded from a real run that went well (FSDD, train on five
    # speakers, george held out, guard off; 1,425 steps, 180 s). Batches of short clips
    # have losses 3-5x the recent mean: the old one-step rule rolled back 6 times.
    losses = json.loads(CTC_LOSSES.read_text())
    assert len(losses) > 1000 and _old_rule_events(losses) >= 3
    g = DivergenceGuard()
    assert _first_event(g, losses) is None
    assert g.steps == len(losses)


@pytest.mark.parametrize("at", [300, 400, 500])
@pytest.mark.parametrize("factor", [5, 10])
def test_a_blow_up_of_the_recorded_run_is_caught_within_a_few_steps(at, factor):
    # The same run, its loss jumping 5-10x at step ``at`` and staying there (noise and all).
    losses = json.loads(CTC_LOSSES.read_text())
    blown = losses[:at] + [x * factor for x in losses[at : at + 50]]
    event = _first_event(DivergenceGuard(), blown)
    assert event is not None and at + 1 <= event <= at + 4


def test_persistence_must_fit_its_window():
    with pytest.raises(ValueError, match="spike_persist"):
        DivergenceGuard(spike_persist=4, spike_window=3)


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
    for loss in (2.0, 1.8, 1.9):
        g.check_step(loss)
    g.check_val(1.5)
    h = DivergenceGuard()
    h.load_state_dict(g.state_dict())
    assert h.state_dict() == g.state_dict()


def test_climbs_near_zero_need_an_absolute_margin():
    # validation CTC losses late in a healthy FSDD run: up to 60% above the best, but tiny
    late = [0.05, 0.031, 0.023, 0.037, 0.035, 0.04, 0.029, 0.037, 0.036]
    g = DivergenceGuard(climb_tolerance=0.1, climb_patience=2)
    assert all(g.check_val(v)[0] is None for v in late)
    g = DivergenceGuard(climb_tolerance=0.1, climb_patience=2, climb_min_delta=0.0)
    assert any(g.check_val(v)[0] is not None for v in late)  # the relative rule alone fires
    g = DivergenceGuard(climb_tolerance=0.1, climb_patience=2)
    verdicts = [g.check_val(v)[0] for v in [*late, 0.3, 0.6]]  # a real divergence
    assert verdicts[-1] is not None and "climbed" in verdicts[-1]
