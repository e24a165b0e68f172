"""Options every ``train`` command shares, with the same names everywhere.

A task's ``train`` command declares only its own options and takes ``run: Run``;
:func:`train_options` appends the shared ones to its signature (typer reads the signature)
and hands them over as one :class:`Run`.
"""

from __future__ import annotations

import functools
import inspect
import os
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
CONTEXT = "typer_context"  # the train command's parameter that receives typer's Context
# A train command's own options that name its data, not its model: a --resume may repeat
# them (it trains on the same data); every other own option builds the model.
DATA_OPTIONS = frozenset({
    "data", "out", "val", "val_fraction", "encoding", "early_stopping", "time_col", "target",
    "id_col", "covariate", "future_covariate", "fill", "text_col", "label_col", "fmt", "src",
    "tgt", "valid_src", "valid_tgt", "src_col", "tgt_col", "src_lang", "tgt_lang", "split",
    "connected",
})  # fmt: skip
RESUME = typer.Option(False, "--resume", help="Continue the run saved in --out/last.ckpt.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show a progress bar.")
VAL_EVERY = typer.Option(None, "--val-every", help="Validate every N steps (default: per epoch).")
CLIP_GRAD_NORM = typer.Option(
    1.0, "--clip-grad-norm", help="Clip the gradient norm to this (0: no norm clipping)."
)
CLIP_GRAD_VALUE = typer.Option(
    None, "--clip-grad-value", help="Clip every gradient entry to [-v, v] (before the norm)."
)
EMA_DECAY = typer.Option(
    None,
    "--ema-decay",
    help="Average the weights (exponential moving average with this decay, e.g. 0.999); "
    "validation and the saved model use the average.",
)
PRECISION = typer.Option(
    None,
    "--precision",
    help="32-true, bf16-mixed or 16-mixed (autocast, float32 weights; 16-mixed scales the "
    "loss: for V100/T4-class GPUs). Default: bf16-mixed on an Ampere or later GPU, else "
    "32-true; bf16-mixed is faster on CPUs with AVX512-BF16 or AMX.",
)
ENCODING = typer.Option("utf-8", "--encoding", help="Text encoding of the input files.")
MONITOR = typer.Option(
    0,
    "--monitor-gradients",
    help="Measure gradient flow through time every N steps (0: off): "
    "plain-words warnings, metrics in the logs, PNGs in OUT/diagnostics/training.",
)


def number_list(
    text: str | None, option: str, cast: Callable[[str], Any], example: str
) -> list | None:
    """``"0.9,1.0,1.1"`` -> ``[0.9, 1.0, 1.1]`` (``cast`` each), ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        numbers = [cast(x) for x in text.split(",") if x.strip()]
    except ValueError:
        numbers = []
    if not numbers:
        raise ValueError(f"expected {option} as numbers joined by commas ({example}), got {text!r}")
    return numbers


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


def _trainer_options(**values: Any) -> dict[str, Any]:
    """The trainer's keyword options from the shared CLI values (None means default)."""
    devices = values.pop("devices", "1")
    if devices is not None:
        values["devices"] = int(devices) if str(devices).isdigit() else devices
    clip_norm = values.pop("clip_grad_norm", None)
    options = {k: v for k, v in values.items() if v is not None}
    if clip_norm is not None:  # 0 turns norm clipping off
        options["clip_grad_norm"] = None if clip_norm == 0 else clip_norm
    return options


@dataclass
class Run:
    """The shared ``train`` options, ready for an estimator's ``fit``."""

    options: dict[str, Any]  # TrainConfig fields: fit(..., **run.options)
    callbacks: list
    resume: bool
    given: frozenset[str] = frozenset()  # the command's own options given on its line

    def continues(self, out: Path) -> bool:
        """``--resume`` with a model directory already at ``out``: load it and continue
        instead of building a new estimator from the command line's options (a note names
        the model options given, which the saved model's own replace)."""
        if not (self.resume and (Path(out) / "config.json").is_file()):
            return False
        ignored = sorted(self.given - DATA_OPTIONS)
        if ignored and self.main:
            names = ", ".join("--" + n.replace("_", "-") for n in ignored)
            typer.echo(f"rnnkit: note: --resume continues the model saved in {out} with the "
                       f"options it was saved with; {names} on this command line are not "
                       "read (train anew to change them)", err=True)  # fmt: skip
        return True

    @property
    def main(self) -> bool:
        """False on the other ranks of a DDP run, which stay quiet."""
        return int(os.environ.get("LOCAL_RANK", "0")) == 0


def train_options(
    *, lr: float = 2e-3, lr_help: str | None = None, batch_size: int = 32,
    batch_help: str | None = None, resume: bool = True, weight_decay: float | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # fmt: skip
    """Decorator for a task's ``train(..., out, run: Run)``: adds the shared options (time and
    step limits, batch size, learning rate, weight decay, seed, devices, clipping, weight
    average, gradient monitor, ...) with this task's defaults (``weight_decay=None``:
    TrainConfig's); ``resume=False`` for a task that cannot continue a run."""
    shared: dict[str, tuple[Any, Any]] = {  # name: (type, typer option)
        "max_time": (str, MAX_TIME),
        "max_epochs": (int, MAX_EPOCHS),
        "max_steps": (int, MAX_STEPS),
        "batch_size": (int, typer.Option(batch_size, "--batch-size",
                                         help=batch_help or BATCH_SIZE.help)),
        "lr": (float, typer.Option(lr, "--lr", help=lr_help or LR.help)),
        "weight_decay": (float, typer.Option(weight_decay, "--weight-decay",
                                             help="AdamW (decoupled) weight decay.")),
        "seed": (int, SEED),
        "devices": (str, DEVICES),
        "strategy": (str, STRATEGY),
        "accelerator": (str, ACCELERATOR),
        "progress": (bool, PROGRESS),
        "val_every": (int, VAL_EVERY),
        "clip_grad_norm": (float, CLIP_GRAD_NORM),
        "clip_grad_value": (float, CLIP_GRAD_VALUE),
        "ema_decay": (float, EMA_DECAY),
        "precision": (str, PRECISION),
        "monitor_gradients": (int, MONITOR),
    }  # fmt: skip
    if resume:
        shared["resume"] = (bool, RESUME)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        hints = typing.get_type_hints(fn)
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(fn).parameters.values() if p.name != "run"]  # fmt: skip
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        added = [inspect.Parameter(n, kind, default=opt, annotation=t)
                 for n, (t, opt) in shared.items()]  # fmt: skip

        @functools.wraps(fn)
        def command(**values: Any) -> Any:
            mine = {n: values.pop(n) for n in shared}
            ctx = values.pop(CONTEXT, None)  # typer passes it: which options the line gave
            given = frozenset(n for n in values if ctx is not None and getattr(
                ctx.get_parameter_source(n), "name", None) == "COMMANDLINE")  # fmt: skip
            run = Run(
                callbacks=callbacks(mine.pop("monitor_gradients"), values["out"]),
                resume=bool(mine.pop("resume", False)),
                options=_trainer_options(**mine),
                given=given,
            )
            return fn(**values, run=run)

        context = inspect.Parameter(CONTEXT, kind, annotation=typer.Context)
        command.__signature__ = inspect.Signature([context, *own, *added])  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in [context, *own, *added]}
        return command

    return decorate
