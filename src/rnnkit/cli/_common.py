"""Options every ``train`` command shares, with the same names everywhere."""

from __future__ import annotations

from typing import Any

import typer

OUT = typer.Option(..., "--out", help="Model directory to write (created if missing).")
MAX_TIME = typer.Option(None, "--max-time", help="Stop after this long: 90s, 5m, 1h.")
MAX_EPOCHS = typer.Option(None, "--max-epochs", help="Stop after this many epochs.")
MAX_STEPS = typer.Option(None, "--max-steps", help="Stop after this many optimizer steps.")
BATCH_SIZE = typer.Option(32, "--batch-size", help="Sequences per batch (per device).")
LR = typer.Option(2e-3, "--lr", help="Peak learning rate (AdamW, warm-up then cosine).")
SEED = typer.Option(0, "--seed", help="Random seed.")
DEVICES = typer.Option("1", "--devices", help="Devices: a count, or 'auto' (Lightning).")
STRATEGY = typer.Option("auto", "--strategy", help="Lightning strategy, e.g. ddp.")
ACCELERATOR = typer.Option("auto", "--accelerator", help="cpu, gpu or auto.")
RESUME = typer.Option(False, "--resume", help="Continue the run saved in --out/last.ckpt.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show a progress bar.")
VAL_EVERY = typer.Option(None, "--val-every", help="Validate every N steps (default: per epoch).")
CLIP_GRAD_NORM = typer.Option(
    1.0, "--clip-grad-norm", help="Clip the gradient norm to this (0: no norm clipping)."
)
CLIP_GRAD_VALUE = typer.Option(
    None, "--clip-grad-value", help="Clip every gradient entry to [-v, v] (before the norm)."
)
ENCODING = typer.Option("utf-8", "--encoding", help="Text encoding of the input files.")
MONITOR = typer.Option(
    0,
    "--monitor-gradients",
    help="Measure gradient flow through time every N steps (0: off): "
    "plain-words warnings, metrics in the logs, PNGs in OUT/diagnostics/training.",
)


def callbacks(monitor_gradients: int, out: Any) -> list:
    """The Lightning callbacks the shared options ask for (``--monitor-gradients``)."""
    if not monitor_gradients:
        return []
    if monitor_gradients < 0:
        raise ValueError(f"--monitor-gradients must be >= 0 steps, got {monitor_gradients}")
    from pathlib import Path

    from ..diagnostics import GradientMonitor

    plots = Path(out) / "diagnostics" / "training"  # beside rnnkit diagnose's report
    return [GradientMonitor(every_n_steps=monitor_gradients, plot_dir=plots)]


def train_options(**values: Any) -> dict[str, Any]:
    """The trainer's keyword options from the shared CLI values (None means default)."""
    devices = values.pop("devices", "1")
    if devices is not None:
        values["devices"] = int(devices) if str(devices).isdigit() else devices
    clip_norm = values.pop("clip_grad_norm", None)
    options = {k: v for k, v in values.items() if v is not None}
    if clip_norm is not None:  # 0 turns norm clipping off
        options["clip_grad_norm"] = None if clip_norm == 0 else clip_norm
    return options
