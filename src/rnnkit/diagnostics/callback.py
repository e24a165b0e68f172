"""A Lightning callback that watches gradient flow while :func:`rnnkit.train.fit` trains.

Every ``every_n_steps`` optimizer steps it runs :func:`rnnkit.diagnostics.gradient_flow` on
a fixed probe batch (the first training batch it sees, unless given one), adds the
spectra of ``weight_hh`` (:func:`weight_health`), writes the numbers to the trainer's
loggers (``diag/<layer>/<name>`` columns in ``logs/version_N/metrics.csv``), and keeps them
in :attr:`GradientMonitor.history`. It warns once per kind, in plain words, when

- gradients **explode**: a change to the hidden state some steps back moves the last state
  more than ``explode_ratio`` (1000) times as much as a change at the last step, or the
  gradients are not finite;
- gradients **vanish**: the gradient horizon is shorter than ``min_horizon`` steps
  (default: a tenth of the sequence, at least 3), so nothing further back can be learnt.

With ``plot_dir`` it saves ``gradient_flow.png`` (the last measurement) and
``gradient_history.png`` (curves over training) when training ends.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import lightning as L

from .flow import GradientFlow, gradient_flow
from .health import weight_health


def _detached(batch):
    if hasattr(batch, "detach"):
        return batch.detach()
    if isinstance(batch, (tuple, list)):
        return type(batch)(_detached(b) for b in batch)
    return batch


class GradientMonitor(L.Callback):
    """Record gradient flow and cell health every ``every_n_steps``; warn once on trouble.

    Args:
        every_n_steps: optimizer steps between measurements (and one at step 0).
        batch: the ``(x, y)`` probe batch; default, the first training batch.
        n_probes: random projections per Jacobian (``None``: exact when ``H <= 64``).
        min_horizon: warn "vanishing" below this gradient horizon (steps).
        explode_ratio: warn "exploding" above this ratio of Jacobian norms.
        plot_dir: save PNG plots here when training ends.
        verbose: print the warnings to stderr (they are kept in :attr:`messages` anyway).
    """

    def __init__(self, every_n_steps: int = 100, batch: Any = None, n_probes: int | None = 8,
                 min_horizon: int | None = None, explode_ratio: float = 1e3,
                 plot_dir: str | Path | None = None, verbose: bool = True) -> None:  # fmt: skip
        if not isinstance(every_n_steps, int) or every_n_steps <= 0:
            raise ValueError(f"every_n_steps must be a positive integer, got {every_n_steps!r}")
        self.every_n_steps, self.batch, self.n_probes = every_n_steps, batch, n_probes
        self.min_horizon, self.explode_ratio = min_horizon, explode_ratio
        self.plot_dir = None if plot_dir is None else Path(plot_dir)
        self.verbose = verbose
        self.history: list[dict[str, Any]] = []
        self.messages: list[str] = []
        self.last: GradientFlow | None = None
        self._warned: set[str] = set()
        self._done_step = -1

    # ------------------------------------------------------------------ Lightning hooks
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.batch is None:
            self.batch = _detached(batch)
        if step == self._done_step or (step % self.every_n_steps and step != 1):
            return
        self._done_step = step
        record = self.measure(pl_module.model, getattr(pl_module, "loss_fn", None), step)
        metrics = {k: v for k, v in record.items() if isinstance(v, (int, float))}
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=step)

    def on_train_end(self, trainer, pl_module) -> None:
        if self.plot_dir is None or not trainer.is_global_zero or self.last is None:
            return
        from . import plots

        self.plot_dir.mkdir(parents=True, exist_ok=True)
        plots.plot_flow(self.last, self.plot_dir / "gradient_flow.png")
        plots.plot_history(self.history, self.plot_dir / "gradient_history.png")

    # ------------------------------------------------------------------ the measurement
    def measure(self, model, loss_fn=None, step: int = 0) -> dict[str, Any]:
        """Measure now on the probe batch, record, and warn if needed; returns the record."""
        if self.batch is None:
            raise ValueError("GradientMonitor has no probe batch: pass batch=(x, y)")
        flow = gradient_flow(model, self.batch, loss_fn, n_probes=self.n_probes)
        self.last = flow
        record: dict[str, Any] = {"step": step}
        for f in flow.layers:
            for key, value in f.summary().items():
                if key == "horizon":
                    value = flow.T if value is None else value  # censored at T
                if isinstance(value, (int, float)) and value is not None:
                    record[f"diag/{f.name}/{key}"] = float(value)
        for name, stats in weight_health(model).items():
            for key in ("sigma_max", "rho_max"):
                if key in stats:
                    record[f"diag/{name}/{key}"] = stats[key]
        self.history.append(record)
        self._check(flow, step)
        return record

    def _check(self, flow: GradientFlow, step: int) -> None:
        min_horizon = self.min_horizon or max(3, flow.T // 10)
        for f in flow.layers:
            ratio = f.ratio
            finite = all(math.isfinite(v) for v in f.jacobian_norm) and (
                f.grad_norm is None or all(math.isfinite(v) for v in f.grad_norm)
            )
            worst = max(range(len(ratio)), key=lambda k: ratio[k] if math.isfinite(ratio[k]) else 0)
            if not finite or ratio[worst] > self.explode_ratio:
                detail = (
                    "non-finite gradients appeared"
                    if not finite
                    else f"a change to the hidden state {worst} steps back moves the last "
                    f"state {ratio[worst]:.3g} times as much as a change at the last step "
                    f"(growth x{f.rate:.3g} per step)"
                )
                self._warn(
                    "explode",
                    f"gradients explode in layer {f.name} at step {step}: {detail}. Training "
                    "will be unstable; keep gradient clipping on (clip_grad_norm=1.0), lower "
                    "the learning rate, or use init='orthogonal' or a gated cell (LSTM/GRU).",
                )
            elif f.horizon is not None and f.horizon < min_horizon:
                self._warn(
                    "vanish",
                    f"gradients vanish in layer {f.name} at step {step}: a change to the hidden "
                    f"state {f.horizon} steps back moves the last state less than 1/1000 as "
                    f"much as a change at the last step (decay x{f.rate:.3g} per step), so the "
                    f"model cannot learn dependencies longer than about {f.horizon} of the "
                    f"{flow.T} steps. Try an LSTM or GRU, init='chrono' (chrono_t_max = the "
                    "lag you need) or forget_bias=1.0, or init='orthogonal'.",
                )

    def _warn(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        self.messages.append(message)
        if self.verbose:
            print(f"rnnkit: warning: {message}", file=sys.stderr, flush=True)
