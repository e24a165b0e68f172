"""PNG plots of gradient flow (matplotlib, Agg backend: no display needed).

- :func:`plot_flow`: heatmaps, layer x time, of ``log10 ||dL/dh_t||`` and of
  ``log10 ||dh_T/dh_t||`` relative to the last step.
- :func:`plot_lags`: ``||dh_T/dh_{T-k}||`` relative to lag 0 against the lag ``k``, one
  curve per model (RNN vs LSTM vs GRU, at initialisation and after training, ...).
- :func:`plot_history`: gradient horizon and the loss gradient at the first step over
  training (from :attr:`GradientMonitor.history`).
"""

from __future__ import annotations

import math
from pathlib import Path

from .flow import HORIZON_RATIO, GradientFlow


def _subplots(nrows: int, ncols: int, figsize, **kw):
    # A bare Figure renders through Agg and leaves pyplot's global state alone.
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


def _log10(values: list[float]) -> list[float]:
    return [math.log10(v) if v > 0 and math.isfinite(v) else math.nan for v in values]


def plot_flow(flow: GradientFlow, path: str | Path, title: str = "") -> Path:
    """Heatmaps layer x time step of the loss gradient and the Jacobian to the last step."""
    names = [f.name for f in flow.layers]
    panels = []
    if all(f.grad_norm is not None for f in flow.layers):
        panels.append(("log10 ||dL/dh_t||", [_log10(f.grad_norm) for f in flow.layers]))
    by_time = []
    for f in flow.layers:
        r = f.ratio  # by lag; back to time steps (reverse directions end at t = 0)
        by_time.append(_log10(r if f.reverse else r[::-1]))
    panels.append(("log10 ||dh_T/dh_t|| / ||dh_T/dh_T||", by_time))
    height = 1.2 + (0.5 * len(names) + 0.8) * len(panels)
    fig, axes = _subplots(len(panels), 1, figsize=(8, height), squeeze=False)
    for ax, (label, rows) in zip(axes[:, 0], panels):
        rows = [row + [math.nan] * (flow.T - len(row)) for row in rows]  # shorter layers
        im = ax.imshow(rows, aspect="auto", interpolation="nearest", cmap="viridis")
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("time step t")
        ax.set_title(label, fontsize=9)
        fig.colorbar(im, ax=ax)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_lags(curves: dict[str, list[float]], path: str | Path, title: str = "") -> Path:
    """``curves``: label -> ``||dh_T/dh_{T-k}||`` by lag (as :attr:`LayerFlow.jacobian_norm`)."""
    fig, ax = _subplots(1, 1, figsize=(6.4, 3.6))
    lowest, highest = 0.0, 0.0
    for label, values in curves.items():
        j0 = values[0]
        ys = _log10([v / j0 for v in values])
        ax.plot(range(len(values)), ys, label=label, lw=1.5)
        finite = [v for v in ys if math.isfinite(v)]
        lowest, highest = min([lowest, *finite]), max([highest, *finite])
    # Below 1e-12 nothing is learnt any more: keep the threshold region readable.
    ax.set_ylim(max(lowest, -12.0) - 0.5, highest + 0.5)
    ax.axhline(math.log10(HORIZON_RATIO), color="grey", ls="--", lw=0.8)
    ax.text(0, math.log10(HORIZON_RATIO), " horizon threshold 1e-3", va="bottom", fontsize=7,
            color="grey")  # fmt: skip
    ax.set_xlabel("time lag k (steps back from the end)")
    ax.set_ylabel("log10 ||dh_T/dh_{T-k}|| (rel. to k=0)")
    ax.set_title(title or "gradient norm vs time lag", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_history(history: list[dict], path: str | Path) -> Path:
    """Curves over training of every ``diag/<layer>/horizon`` and ``grad_norm_first``."""
    fig, axes = _subplots(1, 2, figsize=(9, 3.2))
    steps = [h["step"] for h in history]
    keys = sorted({k for h in history for k in h if k.startswith("diag/")})
    for ax, suffix, label in ((axes[0], "/horizon", "gradient horizon (steps)"),
                              (axes[1], "/grad_norm_first", "log10 ||dL/dh_0||")):  # fmt: skip
        for key in (k for k in keys if k.endswith(suffix)):
            ys = [h.get(key, math.nan) for h in history]
            ax.plot(steps, ys if suffix == "/horizon" else _log10(ys), marker=".",
                    label=key[5 : -len(suffix)])  # fmt: skip
        ax.set_xlabel("training step")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path
