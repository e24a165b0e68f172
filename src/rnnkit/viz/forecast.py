"""Forecast plot: the recent history, the forecast, and its prediction interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MAX_PANELS = 6


def plot_forecast(series: Any, forecast: pd.DataFrame, path: Path, history: int,
                  quantiles: tuple[float, ...] = ()) -> Path:  # fmt: skip
    """One panel per target (the first ``MAX_PANELS``): the last ``history`` observations,
    the point forecast, and the band between the lowest and highest quantile columns
    (``<target>_q<level>``) when the forecast has them. Writes ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"expected a .png path for the plot, got {str(path)!r}")
    targets = list(series.targets)[:MAX_PANELS]
    n = len(series)
    x_hist = series.time[-history:] if series.time is not None else np.arange(
        series.start_index + max(0, n - history), series.start_index + n)  # fmt: skip
    fig, axes = plt.subplots(len(targets), 1, figsize=(10, 2.6 * len(targets)), squeeze=False)
    for ax, (k, t) in zip(axes[:, 0], enumerate(targets), strict=True):
        ax.plot(x_hist, series.values[-history:, k], color="black", lw=1, label="history")
        ax.plot(forecast.index, forecast[t].to_numpy(), color="tab:blue", lw=1.5,
                label="forecast")  # fmt: skip
        if quantiles and f"{t}_q{quantiles[0]:g}" in forecast:
            lo, hi = forecast[f"{t}_q{quantiles[0]:g}"], forecast[f"{t}_q{quantiles[-1]:g}"]
            ax.fill_between(
                forecast.index,
                lo.to_numpy(),
                hi.to_numpy(),
                color="tab:blue",
                alpha=0.25,
                label=f"{quantiles[0]:g}-{quantiles[-1]:g} interval",
            )
        ax.set_title(t, fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
