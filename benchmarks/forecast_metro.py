"""Known-in-advance covariates on real data: hourly I-94 traffic (UCI Metro Interstate).

The question: does a forecaster that reads holidays (and weather) over its horizon beat one
that sees only the traffic's own history and the calendar? Data: `RNNKIT_DATA_DIR/
metro_traffic`, hourly westbound traffic volume with holiday and weather columns. The file
repeats some hours (one row per weather condition) and misses others (10 months in
2014-15), so this script keeps the first row of each hour, takes the contiguous stretch
from 2016-09-01 to 2018-09-30 (18,240 hours, of which 113 missing ones are interpolated),
and marks every hour of a holiday's date (the file names the holiday at midnight only).
Split 70/10/20 by time; a window's inputs may reach back `lookback` rows into the previous
split; every test window is scored (stride 1).

Variants (`--covariates`): `none` (calendar features only), `holiday` (plus the holiday
flag as a future covariate), `weather` (plus temperature, rain and cloud cover as
future covariates: the observed weather stands in for a weather forecast, so this variant
is optimistic). Reported: test MSE/MAE on the standardized scale, MAE in vehicles per hour,
the same MAE over the forecast hours that fall on a holiday, and the last-value and
seasonal-naive (one day) baselines on the same windows.

    RNNKIT_DATA_DIR=../shared/data python benchmarks/forecast_metro.py --covariates holiday
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import pandas as pd
import torch

from _timing import append_row
from rnnkit.data import dataset_path
from rnnkit.data.series import ratio_borders, to_series
from rnnkit.tasks.forecast import Forecaster

WEATHER = ["temp", "rain_1h", "clouds_all"]  # (no snow is recorded after 2016)
COVARIATES = {"none": [], "holiday": ["holiday"], "weather": ["holiday", *WEATHER]}


def load() -> pd.DataFrame:
    raw = pd.read_csv(dataset_path("metro_traffic"))
    raw["date"] = pd.to_datetime(raw["date_time"])
    raw = raw.drop_duplicates("date", keep="first").set_index("date").sort_index()
    days = raw.index.normalize()
    holidays = set(days[raw["holiday"].notna()])  # pandas reads the file's "None" as missing
    hours = pd.date_range("2016-09-01", "2018-09-30 23:00", freq="h")
    df = raw.reindex(hours)[["traffic_volume", *WEATHER]]
    print(f"{int(df['traffic_volume'].isna().sum())} missing hours of {len(df)} interpolated")
    df["temp"] = df["temp"] - 273.15  # kelvin -> Celsius (0 K rows are errors: interpolated)
    df.loc[df["temp"] < -60, "temp"] = np.nan
    df["holiday"] = np.isin(hours.normalize(), list(holidays)).astype(float)
    df = df.interpolate(limit_direction="both")
    return df.rename_axis("date").reset_index()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--covariates", choices=list(COVARIATES), default="none")
    ap.add_argument("--horizon", type=int, default=24)
    ap.add_argument("--lookback", type=int, default=168)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log", default="benchmarks/out/forecast_metro.jsonl")
    args = ap.parse_args(argv)
    if not os.environ.get("RNNKIT_DATA_DIR"):
        ap.error("set RNNKIT_DATA_DIR (e.g. ../shared/data)")
    torch.set_num_threads(args.threads)
    L, H = args.lookback, args.horizon
    df = load()
    future = COVARIATES[args.covariates]
    s = to_series(df, targets=["traffic_volume"], future_covariates=future or None)
    borders = ratio_borders(len(s), L, (0.7, 0.1, 0.2))
    split = {k: s.slice(*b) for k, b in borders.items()}
    fc = Forecaster(lookback=L, horizon=H, architecture="segment", segment_length=24,
                    hidden_size=args.hidden, dropout=0.1, calendar=True)  # fmt: skip
    t0 = time.perf_counter()
    fc.fit(split["train"], split["val"], max_steps=args.steps, batch_size=args.batch_size,
           lr=args.lr, warmup_steps=20, val_every=100, seed=args.seed, progress=False,
           checkpoint_every=None)  # fmt: skip
    train_s = time.perf_counter() - t0
    m = fc.evaluate(split["test"])
    table = fc.historical_forecasts(split["test"], stride=1)
    on_holiday = np.isin(pd.DatetimeIndex(table["date"]).normalize(),
                         df.loc[df["holiday"] > 0, "date"].dt.normalize().unique())  # fmt: skip
    err = (table["traffic_volume"] - table["traffic_volume_actual"]).abs()
    row = {
        "covariates": args.covariates, "horizon": H, "lookback": L, "steps": args.steps,
        "seed": args.seed, "train_s": round(train_s, 1), "test_windows": m["windows"],
        "mse": round(m["mse"], 4), "mae": round(m["mae"], 4),
        "mae_vehicles": round(float(err.mean()), 1),
        "mae_vehicles_holiday_hours": round(float(err[on_holiday].mean()), 1),
        "holiday_forecast_hours": int(on_holiday.sum()),
        "best_val_loss": round(fc.metrics.get("best_val_loss", float("nan")), 5),
        "last_value_mse": round(m["baselines"]["last_value"]["mse"], 4),
        "seasonal_naive_mse": round(m["baselines"]["seasonal_naive"]["mse"], 4),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
    }  # fmt: skip
    print(json.dumps(row))
    append_row(row, args.log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
