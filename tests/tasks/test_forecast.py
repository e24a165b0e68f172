"""Forecaster: short real runs on ETTh1 slices that beat the last-value baseline, the three
architectures and probabilistic heads, save/load/predict round trip, and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import rnnkit
from rnnkit.data.series import read_table, to_series
from rnnkit.metrics.forecast import forecast_metrics, last_value, mase_scale, seasonal_naive
from rnnkit.tasks._forecast_nets import ForecastConfig, ForecastNet
from rnnkit.tasks.forecast import Forecaster

FAST = {"batch_size": 32, "lr": 3e-3, "warmup_steps": 5, "progress": False, "seed": 0,
        "checkpoint_every": None}  # fmt: skip
L, H = 96, 24


def real(rel: str) -> Path:
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / rel).is_file():
        pytest.skip(f"needs RNNKIT_DATA_DIR with {rel} (CI points it at ../shared/data)")
    return Path(root) / rel


@pytest.fixture(scope="module")
def etth1() -> pd.DataFrame:
    """Four months of ETTh1 (hourly): train on the first 2,400 rows, test on the next 600."""
    return read_table(real("ett/ETTh1.csv")).iloc[:3000].reset_index(drop=True)


@pytest.fixture(scope="module")
def segment_model(etth1, tmp_path_factory):
    out = tmp_path_factory.mktemp("segment")
    fc = Forecaster(lookback=L, horizon=H, hidden_size=64, segment_length=24, dropout=0.1)
    fc.fit(etth1.iloc[:2400], out=out, max_steps=80, val_every=40, **FAST)
    return fc, out


def test_segment_model_beats_last_value_on_etth1(segment_model, etth1):
    fc, _ = segment_model
    m = fc.evaluate(etth1.iloc[2400 - L :])
    history = [h["val_loss"] for h in fc.metrics["history"]]
    assert history[-1] < history[0], history  # the loss falls
    assert m["windows"] == 600 - H + 1  # every window, stride 1
    lv = m["baselines"]["last_value"]
    assert m["mse"] < 0.9 * lv["mse"], (m["mse"], lv["mse"])
    assert m["mae"] < lv["mae"] and m["mase"] < lv["mase"]
    assert set(m) >= {"orig_mae", "orig_rmse", "smape", "mase", "season"} and m["season"] == 24


def test_round_trip_predict_and_load(segment_model, etth1, tmp_path):
    fc, out = segment_model
    assert {"config.json", "model.safetensors", "metrics.json"} <= {p.name for p in out.iterdir()}
    again = rnnkit.load(out)
    assert isinstance(again, Forecaster)
    history = etth1.iloc[:2400]
    a, b = fc.predict(history), again.predict(history)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    expected = pd.date_range(pd.Timestamp(history["date"].iloc[-1]) + pd.Timedelta(hours=1),
                             periods=H, freq="h")  # fmt: skip
    assert (a.index == expected).all()
    # the forecast is the model's output on the last L rows, on the original scale
    s = to_series(history)
    z = (s.values[-L:] - np.asarray(fc.meta["mean"])) / np.asarray(fc.meta["std"])
    with torch.no_grad():
        params = fc.model((torch.tensor(z, dtype=torch.float32)[None], None, None, None))[0]
    direct = params[0, :, :, 0].numpy() * np.asarray(fc.meta["std"]) + np.asarray(fc.meta["mean"])
    np.testing.assert_allclose(a.to_numpy(), direct, rtol=1e-5, atol=1e-5)
    assert again.evaluate(etth1.iloc[2400 - L :], stride=50) == fc.evaluate(
        etth1.iloc[2400 - L :], stride=50
    )


def test_backtest_and_plot(segment_model, etth1, tmp_path):
    fc, _ = segment_model
    data = etth1.iloc[2400 - L :]
    table = fc.backtest(data, start=str(data["date"].iloc[L]), stride=H)
    assert len(table) == (600 - H) // H + 1
    assert table["origin"].iloc[1] - table["origin"].iloc[0] == pd.Timedelta(hours=H)
    assert table.attrs["summary"]["windows"] == len(table)
    assert np.isclose(table["mse"].mean(), table.attrs["summary"]["mse"])
    png = fc.plot(data, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_historical_forecasts_are_what_predict_says_from_each_origin(segment_model, etth1):
    fc, _ = segment_model
    data = etth1.iloc[2400 - L : 2400 + 3 * H]
    table = fc.historical_forecasts(data, stride=H)
    targets = list(fc.meta["targets"])
    assert len(table) == 3 * H and list(table["step"].iloc[:H]) == list(range(1, H + 1))
    origins = table["origin"].unique()
    assert len(origins) == 3 and origins[0] == pd.Timestamp(data["date"].iloc[L])
    for i, origin in enumerate(origins):
        cut = L + i * H
        expect = fc.predict(data.iloc[:cut])  # from the rows before this origin only
        got = table[table["origin"] == origin]
        assert list(got["date"]) == list(expect.index)
        np.testing.assert_allclose(got[targets], expect[targets], rtol=1e-4, atol=1e-5)
        actual = got[[f"{t}_actual" for t in targets]].to_numpy()
        np.testing.assert_array_equal(actual, data[targets].iloc[cut : cut + H].to_numpy())
    with pytest.raises(ValueError, match="no complete forecast window"):
        fc.historical_forecasts(data, start=len(data) - 1)


def test_predict_frame_must_have_the_training_columns(segment_model, etth1):
    fc, _ = segment_model
    with pytest.raises(ValueError, match=r"columns differ from training: missing \['OT'\]"):
        fc.predict(etth1.drop(columns=["OT"]))
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        fc.predict(etth1.assign(extra=1.0))
    with pytest.raises(ValueError, match=r"has 50 rows, shorter than the lookback, 96;"):
        fc.predict(etth1.iloc[:50])
    daily = etth1.iloc[:400].assign(date=pd.date_range("2016-07-01", periods=400, freq="D"))
    with pytest.raises(ValueError, match=r"has a D time step, but the model was trained on h"):
        fc.predict(daily)  # hourly training, daily data: a forecast would be garbage
    minutes = etth1.iloc[:400].assign(date=pd.date_range("2016-07-01", periods=400, freq="60min"))
    assert len(fc.predict(minutes)) == H  # the same step, however it is written


@pytest.mark.parametrize("arch,head,calendar", [("direct", "quantile", True),
                                               ("seq2seq", "gaussian", False)])  # fmt: skip
def test_other_architectures_and_interval_heads(etth1, arch, head, calendar):
    data = etth1[["date", "OT"]]
    fc = Forecaster(lookback=72, horizon=H, architecture=arch, head=head, hidden_size=32,
                    calendar=calendar)  # fmt: skip
    fc.fit(data.iloc[:2400], max_steps=100, val_every=50, **FAST)
    m = fc.evaluate(data.iloc[2400 - 72 :], stride=6)
    assert 0.5 < m["coverage"] <= 1.0  # a 10-90% interval covers a fair share
    assert m["mae"] < m["baselines"]["last_value"]["mae"]
    f = fc.predict(data.iloc[:2400])
    assert list(f.columns) == ["OT", "OT_q0.1", "OT_q0.5", "OT_q0.9"]
    assert (f["OT_q0.1"] <= f["OT_q0.9"]).all()


def test_student_t_head_and_seq2seq_teacher_forcing_shapes():
    for head in ("student_t", "point"):
        cfg = ForecastConfig(lookback=16, horizon=8, n_channels=2, architecture="seq2seq",
                             head=head, hidden_size=8, teacher_forcing=0.5, n_known=2)  # fmt: skip
        net = ForecastNet(cfg).train()
        x = (torch.randn(3, 16, 2), None, torch.randn(3, 24, 2), torch.randn(3, 8, 2))
        out, _ = net(x)
        assert out.shape == (3, 8, 2, cfg.n_params)
        if head == "student_t":
            assert (out[..., 1] > 0).all() and (out[..., 2] > 2).all()


def test_segment_decoder_equals_a_step_by_step_reading():
    """SegRNN's parallel decoding: each horizon segment is one GRU step from the encoder's
    final state; check against running the segments by hand."""
    torch.manual_seed(0)
    cfg = ForecastConfig(lookback=12, horizon=8, n_channels=2, hidden_size=6, segment_length=4,
                         dropout=0.0, norm="none")  # fmt: skip
    net = ForecastNet(cfg).eval()
    x = torch.randn(1, 12, 2)
    out = net((x, None, None, None))[0][..., 0]
    gru = torch.nn.GRU(6, 6, batch_first=True)
    gru.load_state_dict({k: v for k, v in net.encoder.state_dict().items()})
    for c in range(2):
        segs = x[0, :, c].reshape(3, 4)
        _, h = gru(torch.relu(net.embed(segs)).unsqueeze(0))
        for j in range(2):
            q = torch.cat([net.position[j], net.channel[c]]).view(1, 1, 6)
            y, _ = gru(q, h)
            torch.testing.assert_close(out[0, 4 * j : 4 * j + 4, c], net.to_segment(y[0, 0]))


def test_without_channel_embedding_equal_histories_get_equal_forecasts():
    """SegRNN's ``channel_id 0`` (its ETTh2/ETTm2 setting): the decoder's queries are the
    position embedding alone, ``d`` wide, so channels with the same history are forecast
    alike; with the channel embedding they are not."""
    torch.manual_seed(0)
    x = torch.randn(2, 12, 1).expand(2, 12, 3)  # three channels, one history
    outs = {}
    for flag in (True, False):
        cfg = ForecastConfig(lookback=12, horizon=8, n_channels=3, hidden_size=6,
                             segment_length=4, channel_embedding=flag)  # fmt: skip
        net = ForecastNet(cfg).eval()
        assert hasattr(net, "channel") == flag and net.position.shape == (2, 3 if flag else 6)
        outs[flag] = net((x, None, None, None))[0]
    torch.testing.assert_close(outs[False][:, :, 1], outs[False][:, :, 0])
    torch.testing.assert_close(outs[False][:, :, 2], outs[False][:, :, 0])
    assert (outs[True][:, :, 1] - outs[True][:, :, 0]).abs().max() > 1e-3


@pytest.mark.parametrize("arch,head,ci", [("segment", "point", True),
                                         ("direct", "quantile", False),
                                         ("seq2seq", "gaussian", True)])  # fmt: skip
def test_highway_adds_a_linear_map_of_the_last_k_normalized_values(arch, head, ci):
    """LSTNet's highway: the forecast of a network with ``highway=K`` is the same network's
    forecast plus ``W z[-K:] + b`` on each channel's RevIN scale (locations only)."""
    torch.manual_seed(0)
    lb, hz, C, K = 12, 8, 3, 5
    base = dict(lookback=lb, horizon=hz, n_channels=C, architecture=arch, head=head,
                hidden_size=6, segment_length=4, channel_independence=ci)  # fmt: skip
    with_hw = ForecastNet(ForecastConfig(**base, highway=K)).eval()
    without = ForecastNet(ForecastConfig(**base)).eval()
    missing = without.load_state_dict(with_hw.state_dict(), strict=False)
    assert missing.unexpected_keys == ["highway.weight", "highway.bias"]
    x = torch.randn(2, lb, C) * 3 + 1
    with torch.no_grad():
        a, b = with_hw((x, None, None, None))[0], without((x, None, None, None))[0]
        mean = x.mean(1, keepdim=True)
        std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + 1e-5)
        z = (x - mean) / std  # RevIN's affine map starts as the identity
        ar = with_hw.highway(z[:, -K:].transpose(1, 2)).transpose(1, 2) * std  # (2, hz, C)
    n_loc = 1 if head == "gaussian" else a.shape[-1]
    torch.testing.assert_close(a[..., :n_loc], b[..., :n_loc] + ar.unsqueeze(-1))
    torch.testing.assert_close(a[..., n_loc:], b[..., n_loc:])  # spreads are untouched
    for bad in (lb + 1, -1, True):
        with pytest.raises(ValueError, match=r"highway must be an integer in \[0, lookback=12\]"):
            ForecastConfig(**{**base, "highway": bad})


def test_highway_model_trains_saves_and_loads(etth1, tmp_path):
    data = etth1[["date", "OT"]]
    fc = Forecaster(lookback=72, horizon=H, hidden_size=16, segment_length=24, highway=72)
    fc.fit(data.iloc[:2400], out=tmp_path, max_steps=60, val_every=30, **FAST)
    history = [h["val_loss"] for h in fc.metrics["history"]]
    assert history[-1] < history[0], history
    again = rnnkit.load(tmp_path)
    assert again.model.config.highway == 72 and again.model.highway.weight.shape == (H, 72)
    pd.testing.assert_frame_equal(fc.predict(data.iloc[:2400]), again.predict(data.iloc[:2400]))


def promo_sales(n: int, seed: int = 0) -> pd.DataFrame:
    """Hourly sales that follow a promotion planned in advance (random, so no history
    predicts it)."""
    rng = np.random.default_rng(seed)
    promo = rng.standard_normal(n)
    sales = 3 * promo + 0.1 * rng.standard_normal(n)
    return pd.DataFrame({"date": pd.date_range("2024-01-01", periods=n, freq="h"),
                         "promo": promo, "sales": sales})  # fmt: skip


@pytest.mark.parametrize("architecture", ["direct", "segment"])
def test_future_covariates_are_read_over_the_horizon(architecture):
    """With the promotion as a future covariate the forecast follows it; without it, no
    model can (its values are independent draws)."""
    df = promo_sales(1500)
    mse = {}
    for future in (None, ["promo"]):
        fc = Forecaster(lookback=48, horizon=12, architecture=architecture, hidden_size=32,
                        segment_length=12, dropout=0.0)  # fmt: skip
        fc.fit(df.iloc[:1200], targets=["sales"], future_covariates=future, max_steps=150,
               val_every=50, **{**FAST, "lr": 5e-3})  # fmt: skip
        mse[bool(future)] = fc.evaluate(df.iloc[1200 - 48 :], stride=4)["mse"]
    assert mse[True] < 0.5 * mse[False], mse


def test_predict_with_future_covariates_needs_their_next_values(tmp_path):
    df = promo_sales(600)
    fc = Forecaster(lookback=48, horizon=12, architecture="direct", hidden_size=16)
    fc.fit(df.iloc[:500], targets=["sales"], future_covariates=["promo"], out=tmp_path,
           max_steps=5, **FAST)  # fmt: skip
    history, ahead = df.iloc[:500], df.iloc[500:512]
    p = fc.predict(history, future=ahead)
    assert list(p.columns) == ["sales"] and (p.index == pd.DatetimeIndex(ahead["date"])).all()
    pd.testing.assert_frame_equal(rnnkit.load(tmp_path).predict(history, future=ahead), p)
    pd.testing.assert_frame_equal(fc.predict(history, future=ahead[["promo"]]), p)  # by position
    flipped = fc.predict(history, future=ahead.assign(promo=-ahead["promo"]))
    assert not np.allclose(flipped["sales"], p["sales"])  # the future values are read
    assert fc.evaluate(df.iloc[500 - 48 :])["windows"] == 100 - 12 + 1  # from the data itself
    for future, match in [
        (None, r"reads future covariates \['promo'\] over the horizon: pass their next 12"),
        (ahead.iloc[:5], "the future table has 5 rows; the forecast needs 12"),
        (ahead[["date"]], r"the future table has no column \['promo'\]"),
        (df.iloc[501:513], r"row 0 is for 2024-01-21 21:00:00, but the forecast's step 1 is "
                           r"2024-01-21 20:00:00"),
        (ahead.assign(promo=[np.nan] + [0.0] * 11), "column 'promo' has 1 missing"),
    ]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            fc.predict(history, future=future)
    plain = Forecaster(lookback=48, horizon=12, architecture="direct", hidden_size=16)
    plain.fit(df.iloc[:500], targets=["sales"], max_steps=2, **FAST)
    with pytest.raises(ValueError, match="trained without future covariates"):
        plain.predict(history, future=ahead)
    with pytest.raises(ValueError, match=r"\['sales'\] are both targets and future covariates"):
        Forecaster(lookback=48, horizon=12).fit(
            df, targets=["sales"], future_covariates=["sales"], max_steps=1
        )


def test_metrics_and_baselines_by_hand():
    past = np.arange(10, dtype=float).reshape(1, 10, 1)
    assert last_value(past, 3)[0, :, 0].tolist() == [9, 9, 9]
    assert seasonal_naive(past, 5, 4)[0, :, 0].tolist() == [6, 7, 8, 9, 6]
    assert seasonal_naive(past, 2, 20)[0, :, 0].tolist() == [9, 9]  # season > lookback
    true = np.array([[[1.0], [3.0]]])
    pred = np.array([[[2.0], [1.0]]])
    m = forecast_metrics(pred, true, np.zeros(1), np.array([2.0]), np.array([0.5]))
    assert m["mse"] == pytest.approx((0.25 + 1.0) / 2) and m["mae"] == pytest.approx(0.75)
    assert m["orig_rmse"] == pytest.approx(np.sqrt(2.5)) and m["mase"] == pytest.approx(3.0)
    assert m["smape"] == pytest.approx(100 * (1 / 3 + 2 / 4))
    assert mase_scale(np.array([[0.0], [1.0], [3.0], [2.0]]), 2).tolist() == [2.0]
    assert mase_scale(np.array([[0.0], [1.0], [0.0], [1.0]]), 2).tolist() == [0.0]  # no scale


def test_long_format_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    t = pd.date_range("2021-01-01", periods=300, freq="D")
    rows = [pd.DataFrame({"day": t, "store": s, "sales": 10 + np.sin(np.arange(300) / 3 + k)
                          + 0.1 * rng.normal(size=300)})
            for k, s in enumerate(["a", "b"])]  # fmt: skip
    long = pd.concat(rows, ignore_index=True)
    fc = Forecaster(lookback=28, horizon=7, architecture="direct", hidden_size=16)
    fc.fit(long, id_col="store", max_steps=10, **FAST)
    f = fc.predict(long)
    assert list(f.columns) == ["day", "store", "sales"] and len(f) == 14
    assert f["day"].iloc[0] == t[-1] + pd.Timedelta(days=1)
    past = fc.historical_forecasts(long, start=len(t) - 7)  # the last week, one origin
    assert list(past.columns) == ["origin", "day", "step", "store", "sales", "sales_actual"]
    assert len(past) == 14 and list(past["store"].unique()) == ["a", "b"]
    week = long[long["day"] > t[-8]]
    np.testing.assert_array_equal(past["sales_actual"], week["sales"])
    before = fc.predict(long[long["day"] <= t[-8]])
    np.testing.assert_allclose(past["sales"], before["sales"], rtol=1e-4, atol=1e-5)


def test_bad_options_are_clear():
    with pytest.raises(ValueError, match="architecture must be one of"):
        Forecaster(architecture="transformer")
    with pytest.raises(ValueError, match="head must be one of"):
        Forecaster(head="cauchy")
    with pytest.raises(ValueError, match="quantiles must be increasing"):
        Forecaster(head="quantile", quantiles=(0.9, 0.1))
    with pytest.raises(ValueError, match="not trained yet"):
        Forecaster().predict(pd.DataFrame({"y": [1.0] * 200}))
    with pytest.raises(ValueError, match=r"shorter than lookback \+ horizon"):
        Forecaster(lookback=96, horizon=24).fit(pd.DataFrame({"y": np.arange(100.0)}),
                                                max_steps=1)  # fmt: skip


def test_long_format_plot_and_datetime_index(tmp_path):
    t = pd.date_range("2021-01-01", periods=200, freq="D")
    wide = pd.DataFrame({"a": np.sin(np.arange(200) / 3), "b": np.cos(np.arange(200) / 5)}, index=t)
    fc = Forecaster(lookback=21, horizon=7, architecture="seq2seq", hidden_size=8, head="student_t")
    fc.fit(wide, max_steps=3, **FAST)
    f = fc.predict(wide)
    assert f.index[0] == t[-1] + pd.Timedelta(days=1) and "b_q0.9" in f
    long = wide.stack().rename("v").rename_axis(["day", "id"]).reset_index()
    fc = Forecaster(lookback=21, horizon=7, architecture="direct", hidden_size=8, head="quantile")
    fc.fit(long, id_col="id", max_steps=3, **FAST)
    assert list(fc.predict(long).columns) == ["day", "id", "v", "v_q0.1", "v_q0.5", "v_q0.9"]
    assert fc.plot(long, tmp_path / "long.png").is_file()


def _stores(n: int = 120, ids=("a", "b", "c")) -> pd.DataFrame:
    t = pd.date_range("2021-01-01", periods=n, freq="D")
    wave = np.sin(np.arange(n) / 3)
    return pd.concat([pd.DataFrame({"day": t, "store": s, "sales": 10 * k + wave})
                      for k, s in enumerate(ids, 1)], ignore_index=True)  # fmt: skip


def test_long_format_reads_new_data_by_id_whatever_the_row_order(tmp_path):
    long = _stores()
    fc = Forecaster(lookback=14, horizon=7, architecture="direct", hidden_size=8)
    fc.fit(long, id_col="store", max_steps=3, **FAST)
    shuffled = long.sample(frac=1.0, random_state=0).sort_values("store", ascending=False)
    assert list(pd.unique(shuffled["store"])) == ["c", "b", "a"]  # ids first seen reversed
    pd.testing.assert_frame_equal(fc.predict(shuffled), fc.predict(long))
    assert fc.evaluate(shuffled)["mse"] == pytest.approx(fc.evaluate(long)["mse"])
    with pytest.raises(ValueError, match=r"ids in 'store' differ from training \(predict"):
        fc.predict(long[long["store"] != "b"])
    renamed = long.replace({"store": {"c": "z"}})
    with pytest.raises(ValueError, match=r"missing \['c'\], new \['z'\]"):
        fc.evaluate(renamed)


def test_a_business_day_model_reads_a_holiday_season_slice():
    t = pd.bdate_range("2017-01-02", "2017-12-29")
    holidays = pd.to_datetime(["2017-11-23", "2017-12-25", "2017-09-04", "2017-07-04"])
    t = t[~t.isin(holidays)]
    df = pd.DataFrame({"date": t, "close": 100 + np.sin(np.arange(len(t)) / 4)})
    fc = Forecaster(lookback=10, horizon=5, architecture="direct", hidden_size=8)
    fc.fit(df, max_steps=2, **FAST)
    assert fc.meta["freq"] == "B"
    recent = df[df["date"] >= "2017-11-20"]  # 2 of its 30 weekdays are holidays: > 5%
    f = fc.predict(recent)
    assert f.index.name == "date" and f.index[0] == pd.Timestamp("2018-01-01")


def test_a_quantile_head_forecasts_its_median():
    with pytest.raises(ValueError, match=r"needs the level 0\.5"):
        Forecaster(head="quantile", quantiles=(0.1, 0.9))
    cfg = ForecastConfig(n_channels=1, lookback=8, horizon=2, architecture="direct",
                         head="quantile", quantiles=(0.1, 0.5, 0.9))  # fmt: skip
    crossed = torch.tensor([[3.0, 1.0, 2.0]])  # unsorted outputs: the median is 2
    from rnnkit.tasks._forecast_nets import point_of

    assert point_of(crossed, cfg).item() == 2.0


def test_a_pandas_series_a_datetime_index_and_the_time_column_interchange():
    t = pd.date_range("2021-01-01", periods=80, freq="h")
    series = pd.Series(np.sin(np.arange(80) / 4), index=t, name="load")
    fc = Forecaster(lookback=12, horizon=4, architecture="direct", hidden_size=8)
    fc.fit(series, max_steps=2, **FAST)
    assert list(fc.predict(series).columns) == ["load"] and fc.predict(series).index.name == "time"
    named = Forecaster(lookback=12, horizon=4, architecture="direct", hidden_size=8)
    named.fit(series.rename_axis("when"), max_steps=1, **FAST)
    assert named.predict(series.rename_axis("when")).index.name == "when"  # the index's name
    with pytest.raises(ValueError, match=r"missing \['<a DatetimeIndex>'\].*set_index"):
        fc.predict(series.rename_axis("date").reset_index())
    fc2 = Forecaster(lookback=12, horizon=4, architecture="direct", hidden_size=8)
    dated = series.rename_axis("date").reset_index()
    fc2.fit(dated, max_steps=2, **FAST)
    pd.testing.assert_frame_equal(fc2.predict(series.to_frame()), fc2.predict(dated))
