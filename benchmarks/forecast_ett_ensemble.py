"""ETT: score the average of several saved forecasters' forecasts (an ensemble).

``forecast_ett.py`` saves each run's model under ``--out``; this script loads two or more of
them trained for the same (dataset, horizon), averages their point forecasts window by window,
and scores the average on every validation and test window with the same protocol (standardized
MSE / MAE). Each member's own scores are printed too: they must equal the logged ones, which
checks that the directories hold the runs they are said to hold.

    python benchmarks/forecast_ett_ensemble.py --dataset ETTh1 --horizon 96 \\
        /tmp/ff/s150/ETTh1_96 /tmp/ff/s400/ETTh1_96 [--log ensembles.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

import rnnkit
from _timing import append_row
from forecast_ett import load
from rnnkit.metrics.forecast import forecast_metrics


def window_forecasts(fc, split) -> tuple[np.ndarray, np.ndarray]:
    """Point forecasts and targets ``(N, H, C)`` of every window of ``split`` (stride 1),
    original scale: ``Forecaster.historical_forecasts``, the windows ``evaluate`` scores."""
    table = fc.historical_forecasts(split, stride=1)
    targets = list(fc.meta["targets"])
    shape = (-1, fc.horizon, len(targets))
    pred = table[targets].to_numpy().reshape(shape)
    true = table[[f"{t}_actual" for t in targets]].to_numpy().reshape(shape)
    return pred, true


def scores(fc, pred, true) -> dict:
    mean, std = np.asarray(fc.meta["mean"]), np.asarray(fc.meta["std"])
    m = forecast_metrics(pred, true, mean, std, np.asarray(fc.meta["mase_scale"]))
    return {"mse": round(float(m["mse"]), 4), "mae": round(float(m["mae"]), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", metavar="MODEL_DIR")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log", help="append the result as one JSON line here")
    args = ap.parse_args(argv)
    if not os.environ.get("RNNKIT_DATA_DIR"):
        ap.error("set RNNKIT_DATA_DIR (e.g. ../shared/data)")
    torch.set_num_threads(args.threads)
    fcs = [rnnkit.load(m) for m in args.models]
    L = fcs[0].lookback
    if any(f.lookback != L or f.horizon != args.horizon for f in fcs):
        ap.error("the models differ in lookback or do not have --horizon")
    if any(f.meta["mean"] != fcs[0].meta["mean"] for f in fcs):
        ap.error("the models were trained on different data (their scalers differ)")
    _, split = load(args.dataset, L)
    row = {"dataset": args.dataset, "horizon": args.horizon, "members": args.models}
    for part in ("val", "test"):
        preds = [window_forecasts(f, split[part]) for f in fcs]
        true = preds[0][1]
        row[f"{part}_members"] = [scores(fcs[0], p, true) for p, _ in preds]
        row[part] = scores(fcs[0], np.mean([p for p, _ in preds], axis=0), true)
        row[f"{part}_windows"] = len(true)
    print(json.dumps(row))
    if args.log:
        append_row(row, args.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
