"""Time-series tables: the split arithmetic of the ETT protocol against its row counts,
frequency inference, long format, and a clear error for every kind of bad input."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.series import (
    calendar_features,
    check_length,
    default_season,
    ett_borders,
    ratio_borders,
    read_table,
    to_series,
    window_starts,
)


def real(rel: str) -> Path:
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / rel).is_file():
        pytest.skip(f"needs RNNKIT_DATA_DIR with {rel} (CI points it at ../shared/data)")
    return Path(root) / rel


def frame(n: int = 50, freq: str = "h", cols: int = 2, start: str = "2020-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = {f"y{i}": rng.normal(size=n) for i in range(cols)}
    return pd.DataFrame({"date": pd.date_range(start, periods=n, freq=freq), **data})


# ---------------------------------------------------------------------- ETT protocol
@pytest.mark.parametrize(
    "name,per_day", [("ETTh1", 24), ("ETTh2", 24), ("ETTm1", 96), ("ETTm2", 96)]
)
@pytest.mark.parametrize("L,H", [(96, 96), (336, 192), (720, 336), (512, 720)])
def test_ett_split_arithmetic_matches_the_protocol(name, per_day, L, H):
    scale = per_day // 24
    b = ett_borders(name, L)
    assert b["train"] == (0, 8640 * scale)
    assert b["val"] == (8640 * scale - L, 11520 * scale)  # inputs reach back L rows
    assert b["test"] == (11520 * scale - L, 14400 * scale)
    for split in ("val", "test"):
        lo, hi = b[split]
        starts = window_starts(hi - lo, L, H)
        assert len(starts) == 2880 * scale - H + 1  # none dropped
        assert starts[0] + L == L  # the first target is the split's first row
        assert starts[-1] + L + H == hi - lo  # the last target is its last row
    train = window_starts(8640 * scale, L, H)
    assert len(train) == 8640 * scale - L - H + 1


def test_ett_split_on_the_real_file_row_counts():
    s = to_series(read_table(real("ett/ETTh1.csv")))
    assert len(s) == 17420 and s.freq == "h" and s.values.shape == (17420, 7)
    b = ett_borders("ETTh1", 720)
    test = s.slice(*b["test"])
    assert len(test) == 2880 + 720
    assert test.time[720] == pd.Timestamp("2016-07-01") + pd.Timedelta(hours=11520)


def test_ratio_split_of_exchange_rate():
    s = to_series(read_table(real("exchange_rate/exchange_rate.txt.gz")))
    assert s.values.shape == (7588, 8) and s.time is None
    assert s.targets == [str(i) for i in range(8)]
    assert "row index is the time axis" in s.notes[0]
    b = ratio_borders(len(s), 96)
    assert b["train"] == (0, 5311)
    assert b["test"] == (7588 - 1517 - 96, 7588)
    assert b["val"] == (5311 - 96, 5311 + 760)


def test_window_starts_with_stride_and_first_target():
    assert window_starts(10, 3, 2).tolist() == [0, 1, 2, 3, 4, 5]
    assert window_starts(10, 3, 2, stride=2).tolist() == [0, 2, 4]
    assert window_starts(10, 3, 2, first_target=6).tolist() == [3, 4, 5]
    assert window_starts(4, 3, 2).tolist() == []
    with pytest.raises(ValueError, match="positive stride"):
        window_starts(10, 3, 2, stride=0)


# ---------------------------------------------------------------------- frequencies
@pytest.mark.parametrize("freq,season", [("h", 24), ("15min", 96), ("D", 7), ("MS", 12)])
def test_frequency_inference_and_season(freq, season):
    s = to_series(frame(60, freq))
    assert s.freq is not None and default_season(s.freq) == season
    future = s.future_index(3)
    assert future[0] == s.time[-1] + pd.tseries.frequencies.to_offset(s.freq)


def test_business_days_and_a_holiday_calendar():
    s = to_series(frame(40, "B"))
    assert s.freq == "B" and default_season(s.freq) == 5
    assert s.future_index(1)[0].day_of_week < 5  # skips the weekend
    df = frame(60, "B").drop(index=[17])  # a holiday
    s = to_series(df)
    assert s.freq == "B" and "holidays" in s.notes[0]


def test_real_stock_prices_are_business_days():
    s = to_series(read_table(real("stocks_sp500_5yr/AAPL_data.csv")), targets=["close"])
    assert s.freq == "B" and len(s) == 1259


def test_long_format_pivots_one_column_per_id():
    a, b = frame(30, cols=1), frame(30, cols=1)
    long = pd.concat([a.assign(store="a"), b.assign(store="b")]).rename(columns={"y0": "sales"})
    s = to_series(long, id_col="store")
    assert s.targets == ["a", "b"] and s.values.shape == (30, 2)
    np.testing.assert_allclose(s.values[:, 1], b["y0"].to_numpy())


def test_calendar_features_are_bounded_and_known():
    idx = pd.date_range("2020-01-01", periods=48, freq="h")
    f = calendar_features(idx, "h")
    assert f.shape == (48, 6) and np.abs(f).max() <= 1.0
    np.testing.assert_allclose(f[0, :2], f[24, :2], atol=1e-12)  # hour of day repeats
    assert calendar_features(pd.RangeIndex(5), None).shape == (5, 0)


@pytest.mark.parametrize(("freq", "columns"), [("h", 6), ("D", 4), ("B", 4), ("W-SUN", 2),
                                               ("MS", 2), ("ME", 2), ("QS", 2)])  # fmt: skip
def test_calendar_features_follow_the_step(freq, columns):
    """Weekly, monthly and quarterly data have no day-of-week features: their weekday is a
    constant (weeks) or noise (the weekday of each month's first day). These calendar
    offsets have no fixed length, which was read as 'daily or finer'."""
    idx = pd.date_range("2020-01-06", periods=30, freq=freq)
    assert calendar_features(idx, freq).shape == (30, columns)


# ---------------------------------------------------------------------- bad input
def test_unparseable_timestamps_name_the_row():
    df = frame(10)
    df["date"] = df["date"].astype(str)
    df.loc[4, "date"] = "not a date"
    with pytest.raises(ValueError, match=r"1 unparseable timestamps.*row 4.*'not a date'"):
        to_series(df)


def test_duplicate_timestamps_are_counted():
    df = frame(10)
    df.loc[6, "date"] = df.loc[5, "date"]
    with pytest.raises(ValueError, match=r"1 duplicate timestamps, the first at row 6"):
        to_series(df)


def test_irregular_steps_are_reported_and_fill_fixes_them():
    df = frame(48).drop(index=[10, 11, 30])
    with pytest.raises(ValueError, match=r"irregular.*3 timestamps missing.*h grid.*--fill"):
        to_series(df)
    s = to_series(df, fill="interpolate")
    assert len(s) == 48 and np.isfinite(s.values).all()
    assert "3 missing h steps filled" in " ".join(s.notes)
    np.testing.assert_allclose(
        s.values[10], df.iloc[9, 1:] + (df.iloc[10, 1:] - df.iloc[9, 1:]) / 3
    )


def test_off_grid_timestamps_cannot_be_filled():
    df = frame(30)
    df.loc[5, "date"] = df.loc[5, "date"] + pd.Timedelta(minutes=7)
    with pytest.raises(ValueError, match="off the h grid"):
        to_series(df, fill="ffill")


def test_nan_and_inf_give_count_and_first_position():
    df = frame(20)
    df.loc[7, "y1"] = np.nan
    df.loc[9, "y0"] = np.inf
    with pytest.raises(ValueError, match=r"2 NaN/inf values, the first at row 7 .* 'y1'"):
        to_series(df)
    s = to_series(df, fill="ffill")
    assert s.values[7, 1] == df.loc[6, "y1"] and s.values[9, 0] == df.loc[8, "y0"]
    assert to_series(df, fill="zero").values[9, 0] == 0.0


def test_non_numeric_target_column():
    df = frame(10)
    df["y1"] = df["y1"].astype(str)
    df.loc[3, "y1"] = "n/a"
    with pytest.raises(ValueError, match=r"target column 'y1' is not numeric.*'n/a' at row 3"):
        to_series(df, targets=["y0", "y1"])


def test_missing_columns_and_bad_options():
    with pytest.raises(ValueError, match=r"expected a column 'nope'"):
        to_series(frame(10), targets=["nope"])
    with pytest.raises(ValueError, match=r"expected a time column 'when'"):
        to_series(frame(10), time_col="when")
    with pytest.raises(ValueError, match="fill to be one of"):
        to_series(frame(10), fill="mean")
    with pytest.raises(ValueError, match="no rows"):
        to_series(frame(0))
    with pytest.raises(ValueError, match="both targets and covariates"):
        to_series(frame(10), targets=["y0"], covariates=["y0"])


def test_series_shorter_than_lookback_plus_horizon():
    with pytest.raises(ValueError, match=r"40 rows, shorter than lookback \+ horizon = 32 \+ 16"):
        check_length(40, 32, 16)


def test_missing_file_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read_table(tmp_path / "none.csv")


def test_semicolon_and_tab_files_with_decimal_commas_read_as_numbers(tmp_path):
    df = frame(30)
    rows = [f"{d};{a:.4f};{b:.4f}".replace(".", ",") for d, a, b in df.to_numpy()]
    semi = tmp_path / "semi.csv"  # a European spreadsheet's export: ';' and decimal commas
    semi.write_text("date;y0;y1\n" + "\n".join(rows) + "\n")
    gz = tmp_path / "semi.csv.gz"
    gz.write_bytes(gzip.compress(semi.read_bytes()))
    tab = tmp_path / "tab.csv"
    tab.write_text(df.to_csv(sep="\t", index=False))
    for path in (semi, gz, tab):
        s = to_series(read_table(path))
        assert s.targets == ["y0", "y1"] and s.freq == "h", path
        np.testing.assert_allclose(s.values, df[["y0", "y1"]].to_numpy(), atol=1e-4)
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("\n".join(r.split(";", 1)[1] for r in rows) + "\n")
    table = read_table(headerless)  # numbers with decimal commas: no header row
    assert list(table.columns) == ["0", "1"] and len(table) == 30
    np.testing.assert_allclose(table.to_numpy(), df[["y0", "y1"]].to_numpy(), atol=1e-4)


def test_two_rows_are_regular_and_one_row_is_a_clear_error():
    s = to_series(frame(2))  # pandas cannot infer a frequency from 2 stamps; the step is clear
    assert len(s) == 2 and s.freq == "h"
    with pytest.raises(ValueError, match="at least 2 timestamps"):
        to_series(frame(1))


def test_default_targets_say_which_columns_they_leave_out():
    df = frame(10).assign(city="Oslo")
    s = to_series(df)
    assert s.targets == ["y0", "y1"]
    assert any("left out" in n and "'city'" in n for n in s.notes), s.notes


def test_empty_and_binary_files_are_not_readable_csv(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 8)
    for name in ("empty.csv", "binary.csv"):
        with pytest.raises(ValueError, match="not a readable CSV file"):
            read_table(tmp_path / name)


@pytest.mark.parametrize("freq,season", [("W", 52), ("W-WED", 52), ("QS", 4), ("QE-DEC", 4),
                                         ("ME", 12), ("YS", 1), ("2h", 12)])  # fmt: skip
def test_anchored_frequencies_keep_their_season(freq, season):
    assert default_season(freq) == season


def test_a_column_named_twice_or_in_two_roles_is_a_clear_error():
    df = frame(20)
    with pytest.raises(ValueError, match=r"target column 'y0' is named twice"):
        to_series(df, targets=["y0", "y0"])
    with pytest.raises(ValueError, match=r"covariate column 'y1' is named twice"):
        to_series(df, targets=["y0"], covariates=["y1", "y1"])
    with pytest.raises(ValueError, match=r"'date' is the time column; it cannot also be a target"):
        to_series(df, time_col="date", targets=["date"])
    with pytest.raises(ValueError, match=r"'date' is the time column; it cannot also be a covar"):
        to_series(df, targets=["y0"], covariates=["date"])  # the time column found by name
    with pytest.raises(ValueError, match=r"'date' is the time column; the id column must be"):
        to_series(df, time_col="date", id_col="date")


def test_mixed_utc_offsets_read_as_utc_with_a_note():
    stamps = ["2021-03-28 00:00:00+01:00", "2021-03-28 01:00:00+01:00",
              "2021-03-28 03:00:00+02:00", "2021-03-28 04:00:00+02:00"]  # fmt: skip
    s = to_series(pd.DataFrame({"time": stamps, "y": [1.0, 2.0, 3.0, 4.0]}))
    assert s.freq == "h" and str(s.time[0]) == "2021-03-27 23:00:00"
    assert any("mixes UTC offsets" in n for n in s.notes)
