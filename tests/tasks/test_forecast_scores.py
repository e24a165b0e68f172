"""What the forecaster's scores say when a number does not exist or an option cannot apply
(a second audit of the forecast task): MASE of exactly seasonal training data, coverage of
a single quantile level, calendar features without a time axis, evaluate's start."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rnnkit.tasks.forecast import Forecaster

RUN = {"max_steps": 2, "batch_size": 16, "progress": False}


def _hourly(values: dict) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    return pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="h"), **values})


def test_mase_of_exactly_seasonal_training_data_is_nan_with_a_note(capsys):
    """The in-sample seasonal-naive error of an exact sine is rounding error (2e-15): MASE
    divided by it came out near 1e14; an integer profile's exact 0 was replaced by 1."""
    t = np.arange(400)
    exact = 10 + np.sin(2 * np.pi * t / 24)
    noisy = exact + np.random.default_rng(0).normal(0, 0.3, 400)
    fc = Forecaster(lookback=48, horizon=12, hidden_size=8, season=24)
    fc.fit(_hourly({"exact": exact, "noisy": noisy}), **RUN)
    assert fc.meta["mase_scale"][0] == 0 and fc.meta["mase_scale"][1] > 0.3
    m = fc.evaluate(_hourly({"exact": exact, "noisy": noisy}))
    assert np.isfinite(m["mase"]) and m["mase"] < 100  # the noisy series alone
    assert any("no MASE for exact" in n for n in m["notes"])
    assert "no MASE for exact" in capsys.readouterr().err
    alone = Forecaster(lookback=48, horizon=12, hidden_size=8, season=24)
    alone.fit(_hourly({"exact": exact}), **RUN)
    m = alone.evaluate(_hourly({"exact": exact}))
    assert np.isnan(m["mase"]) and np.isnan(m["baselines"]["seasonal_naive"]["mase"])
    assert m["baselines"]["seasonal_naive"]["mse"] < 1e-20  # its forecast is still exact


def test_cli_eval_json_writes_a_missing_mase_as_null(tmp_path, capsys):
    from rnnkit.cli import main

    t = np.arange(300)
    _hourly({"y": 10 + np.sin(2 * np.pi * t / 24)}).to_csv(tmp_path / "s.csv", index=False)
    args = ["forecast", "train", str(tmp_path / "s.csv"), "--time-col", "date", "--target",
            "y", "--lookback", "48", "--horizon", "12", "--hidden-size", "8", "--max-steps",
            "2", "--no-progress", "--out", str(tmp_path / "m")]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    assert main(["forecast", "eval", str(tmp_path / "m"), str(tmp_path / "s.csv"), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)  # strict JSON: no NaN
    assert m["mase"] is None and m["mse"] >= 0


def test_coverage_needs_an_interval_and_names_it(tmp_path, capsys):
    from rnnkit.cli import main

    t = np.arange(300)
    noise = np.random.default_rng(1).normal(0, 1, 300)
    df = _hourly({"y": 10 + np.sin(2 * np.pi * t / 24) + noise})
    one = Forecaster(lookback=24, horizon=6, hidden_size=8, head="gaussian", quantiles=(0.5,))
    assert "coverage" not in one.fit(df, **RUN).evaluate(df)  # was 0.0 over [0.5, 0.5]
    df.to_csv(tmp_path / "s.csv", index=False)
    assert main(["forecast", "train", str(tmp_path / "s.csv"), "--time-col", "date", "--target",
                 "y", "--lookback", "24", "--horizon", "6", "--hidden-size", "8", "--head",
                 "quantile", "--max-steps", "2", "--no-progress", "--out",
                 str(tmp_path / "m")]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["forecast", "eval", str(tmp_path / "m"), str(tmp_path / "s.csv")]) == 0
    assert "(0.1-0.9 interval)" in capsys.readouterr().out


def test_calendar_without_a_time_axis_is_an_error():
    df = pd.DataFrame({"y": np.sin(np.arange(200) / 5.0)})
    with pytest.raises(ValueError, match=r"calendar features need a time axis"):
        Forecaster(lookback=24, horizon=6, hidden_size=8, calendar=True).fit(df, **RUN)


def test_evaluate_reads_start_as_backtest_does(capsys):
    df = _hourly({"y": np.sin(np.arange(300) / 5.0)})
    fc = Forecaster(lookback=24, horizon=6, hidden_size=8).fit(df, **RUN)
    every = fc.evaluate(df)["windows"]
    by_time = fc.evaluate(df, start="2020-01-05 00:00")  # was a TypeError
    assert by_time["windows"] == fc.evaluate(df, start=96)["windows"] == every - (96 - 24)
    assert fc.evaluate(df, start="2020-01-04 23:30")["windows"] == by_time["windows"]
    assert "falls between two rows" in capsys.readouterr().err
    assert fc.evaluate(df, start=5)["windows"] == every
    assert "fewer than lookback=24 rows of input" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"start is a row number from 0"):
        fc.evaluate(df, start=-5)  # was every window, silently
