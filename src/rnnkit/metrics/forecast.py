r"""Forecast metrics over windows, and the two baselines every forecast is reported beside.

Arrays are ``(N, H, C)``: ``N`` windows, ``H`` horizon steps, ``C`` series.

- ``mse``, ``mae``: on the standardized scale (z-score with training statistics), averaged
  over every window, step and series: the long-horizon literature's convention.
- ``orig_mae``, ``orig_rmse``: on the original scale, averaged over everything.
- ``smape`` (percent): :math:`\frac{200}{n}\sum |y-\hat y| / (|y|+|\hat y|)`, terms with
  :math:`|y|+|\hat y| = 0` counted as 0.
- ``mase``: each series' MAE divided by the in-sample MAE of the seasonal-naive forecast on
  the training data, :math:`\frac{1}{T-m}\sum_t |y_t - y_{t-m}|` (Hyndman & Koehler 2006),
  then averaged over series. A series whose training data repeats exactly every season (that
  MAE is 0, or rounding error next to the series' size) has no MASE: it is left out of the
  average, which is NaN when no series has one.
- ``coverage``: the fraction of true values inside ``[lower, upper]``.

Baselines (from the lookback alone, so on exactly the model's windows): ``last_value``
repeats the last observation; ``seasonal_naive`` repeats the last season,
:math:`\hat y_{L+h} = y_{L+h-m\lceil h/m \rceil}` (``m`` > lookback falls back to last value).
"""

from __future__ import annotations

import numpy as np


def forecast_metrics(pred: np.ndarray, true: np.ndarray, mean: np.ndarray, std: np.ndarray,
                     mase_scale: np.ndarray) -> dict[str, float]:  # fmt: skip
    """Point metrics of ``pred`` against ``true`` (both on the original scale)."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    err = pred - true
    err_std = err / std
    denom = np.abs(true) + np.abs(pred)
    ratio = np.divide(np.abs(err), denom, out=np.zeros_like(denom), where=denom > 0)
    per_series_mae = np.abs(err).mean(axis=(0, 1))
    return {
        "mse": float(np.mean(err_std**2)),
        "mae": float(np.mean(np.abs(err_std))),
        "orig_mae": float(np.mean(np.abs(err))),
        "orig_rmse": float(np.sqrt(np.mean(err**2))),
        "smape": float(200.0 * ratio.mean()),
        "mase": _mean_mase(per_series_mae, np.asarray(mase_scale, np.float64)),
    }


def _mean_mase(per_series_mae: np.ndarray, scale: np.ndarray) -> float:
    """The mean MASE over the series that have one (a scale of 0 marks those without)."""
    ok = scale > 0
    return float(np.mean(per_series_mae[ok] / scale[ok])) if ok.any() else float("nan")


def coverage(lower: np.ndarray, upper: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean((true >= lower) & (true <= upper)))


def mase_scale(train: np.ndarray, season: int) -> np.ndarray:
    """In-sample seasonal-naive MAE per series ``(C,)`` (lag 1 when the data is shorter than
    a season). 0 where it is no scale: the training data repeats exactly every season, up to
    rounding error (1e-9 of the series' size), and MASE would divide by that error (1e14
    for an exact sine) or by nothing."""
    train = np.asarray(train, np.float64)
    m = season if train.shape[0] > season else 1
    if train.shape[0] <= m:
        return np.ones(train.shape[1])
    scale = np.abs(train[m:] - train[:-m]).mean(axis=0)
    size = np.abs(train).mean(axis=0) + train.std(axis=0)
    return np.where(scale > 1e-9 * size, scale, 0.0)


def last_value(past: np.ndarray, horizon: int) -> np.ndarray:
    """``past (N, L, C)`` -> ``(N, H, C)``: the last observation repeated."""
    return np.repeat(past[:, -1:], horizon, axis=1)


def seasonal_naive(past: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """``past (N, L, C)`` -> ``(N, H, C)``: the last ``season`` observations repeated."""
    L = past.shape[1]
    if season <= 1 or season > L:
        return last_value(past, horizon)
    h = np.arange(horizon)
    idx = L - season + (h % season)
    return past[:, idx]
