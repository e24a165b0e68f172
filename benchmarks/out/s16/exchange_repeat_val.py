"""The repeat (last-value) forecast's MSE on exchange_rate's validation and test windows,
h96, L 96 (rule L's context; the same windows and scale as forecast_ett.py)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/
from forecast_ett import load

_, split = load("exchange_rate", 96)
train = split["train"].values
mean, std = train.mean(0), train.std(0)
for name in ("val", "test"):
    z = (split[name].values - mean) / std
    n = len(z) - 96 - 96 + 1
    idx = np.arange(n)[:, None] + np.arange(96 + 96)
    w = z[idx]
    err = w[:, 96:] - w[:, 95:96]
    print(f"{name}: {n} windows, repeat MSE {np.mean(err**2):.4f}, MAE {np.mean(np.abs(err)):.4f}")
