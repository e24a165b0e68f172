"""Training options shared by every task: one frozen dataclass, and duration parsing."""

from __future__ import annotations

import dataclasses
import numbers
import re
from dataclasses import dataclass
from typing import Any

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Lightning's names; the weights stay float32 in both (autocast), so a saved model is float32.
# "16-mixed": float16 autocast with the engine's own loss scaling (rnnkit.train.module).
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")


def parse_duration(value: str | float | int | None) -> float | None:
    """``"90s"``, ``"5m"``, ``"1.5h"``, ``"2d"`` or a number of seconds -> seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smhd]?)\s*", str(value))
        if not m:
            raise ValueError(
                f"expected a duration like 90s, 5m, 1h or a number of seconds, got {value!r}"
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


@dataclass(frozen=True)
class TrainConfig:
    """How to train (the same option names in Python and on every ``train`` command).

    Stopping: whichever of ``max_epochs``, ``max_steps`` and ``max_time`` comes first
    (at least one must be set). The learning rate warms up linearly for ``warmup_steps``,
    then follows a cosine down to ``min_lr_ratio * lr`` over the run's progress, measured
    in steps or in elapsed time, whichever is further along, so a time-budgeted run still
    anneals.

    ``ema_decay``: keep an exponential moving average of the weights (Polyak averaging),
    updated after every optimizer step with decay ``min(ema_decay, (1 + n) / (10 + n))``
    after ``n`` updates (so the early average is not dominated by the initial weights; that
    warm-up term governs for the first ``(10 * d - 1) / (1 - d)`` updates: 890 for 0.99,
    8,990 for 0.999, so a shorter run averages over roughly its last ninth either way).
    Validation scores the average, the best checkpoint and the trained model hold it, and
    ``last.ckpt`` keeps the raw weights too, so ``--resume`` continues the same run.

    ``precision``: ``"32-true"``, ``"bf16-mixed"`` (autocast to bfloat16, float32 weights) or
    ``"16-mixed"`` (autocast to float16 with dynamic loss scaling, float32 weights: for GPUs
    with float16 tensor cores but no bfloat16, Volta and Turing, e.g. V100 and T4; the
    gradients are unscaled before clipping and the divergence guard, and a step whose
    gradients overflow float16 is skipped and the scale halved). The default is bf16-mixed
    on a GPU that computes bfloat16 natively (Ampere and later, compute capability 8.0;
    ROCm) and 32-true elsewhere, CPUs and older GPUs included (16-mixed is opt-in: no
    session has measured it on such a GPU).
    bf16-mixed is faster only where the device computes bfloat16 natively (on a CPU:
    AVX512-BF16 or AMX: 1.4x the steps of float32 for a 3x384 character LSTM on an AMD EPYC
    with AVX512-BF16, though no lower loss in 10 minutes) and slower elsewhere (emulated),
    which :func:`rnnkit.train.fit` then says in a warning.
    """

    max_epochs: int | None = None
    max_steps: int | None = None
    max_time: float | None = None  # seconds; parse_duration("5m") for strings
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_steps: int = 50
    schedule: str = "cosine"  # "cosine" | "constant"
    min_lr_ratio: float = 0.1
    clip_grad_norm: float | None = 1.0
    clip_grad_value: float | None = None
    val_every: int | None = None  # steps between validations; None: once per epoch
    val_batches: int | None = None  # limit the batches of each validation
    early_stopping: int | None = None  # patience, in validations without improvement
    guard: bool = True  # divergence guard (rnnkit.train.guard)
    guard_max_strikes: int = 4
    seed: int = 0
    devices: int | str = 1
    accelerator: str = "auto"
    strategy: str = "auto"
    precision: str | None = None  # one of PRECISIONS; None: bf16 on an Ampere+ GPU, else fp32
    progress: bool = True
    log_every: int = 10
    checkpoint_every: int | None = 200  # steps between OUT/last.ckpt saves (crash resume)
    ema_decay: float | None = None  # average the weights (EMA); validation and result use it

    def __post_init__(self) -> None:
        if self.max_epochs is None and self.max_steps is None and self.max_time is None:
            raise ValueError("set at least one of max_epochs, max_steps, max_time")
        for name in (
            "max_epochs",
            "max_steps",
            "val_every",
            "val_batches",
            "early_stopping",
            "checkpoint_every",
        ):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v <= 0):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.max_time is not None and self.max_time <= 0:
            raise ValueError(f"max_time must be positive, got {self.max_time!r}")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        for name in ("clip_grad_norm", "clip_grad_value"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be positive (or None for no clipping), got {v!r}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(
                f"ema_decay must lie strictly between 0 and 1 (e.g. 0.999), got {self.ema_decay!r}"
            )
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be 32-true, bf16-mixed or 16-mixed (or None for the default: "
                f"bf16-mixed on an Ampere or later GPU, else 32-true), got {self.precision!r}"
            )
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or \
                not 0 <= self.seed < 2**32:  # fmt: skip
            raise ValueError(f"seed must be a whole number from 0 to 2**32 - 1, got {self.seed!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.accelerator not in ACCELERATORS:
            raise ValueError(f"accelerator must be one of {', '.join(ACCELERATORS)}, got "
                             f"{self.accelerator!r}")  # fmt: skip
        d = self.devices
        whole = isinstance(d, numbers.Integral) and not isinstance(d, bool)
        ok = (whole and (d >= 1 or d == -1)) or (
            isinstance(d, str) and (d == "auto" or re.fullmatch(r"\d+(,\d+)*,?", d) is not None)
            and d != "0") or (  # a list of device ids, as Lightning takes it
            isinstance(d, (list, tuple)) and len(d) > 0
            and all(isinstance(i, numbers.Integral) and i >= 0 for i in d))  # fmt: skip
        if not ok:
            raise ValueError(f"devices must be a count >= 1, -1 (all), 'auto' or device ids like "
                             f"'0,1', got {d!r}")  # fmt: skip

    @classmethod
    def from_options(cls, **options: Any) -> TrainConfig:
        """Build from keyword options; unknown names are errors (with the known ones)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise ValueError(f"unknown training options {unknown}; known: {sorted(names)}")
        if "max_time" in options:
            options = {**options, "max_time": parse_duration(options["max_time"])}
        return cls(**options)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TrainConfig | None:
        """Inverse of :meth:`to_dict` as read back from JSON (``betas`` a list); ``None`` stays
        ``None`` (a model directory saved without training options). A precision that is not
        accepted (any other Lightning name, which early versions passed through unchecked)
        reads as the default, so that such a model still loads."""
        if not d:
            return None
        if d.get("precision") not in (None, *PRECISIONS):
            d = {**d, "precision": None}
        return cls(**{**d, "betas": tuple(d["betas"])})
