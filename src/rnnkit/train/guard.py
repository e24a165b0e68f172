"""Divergence guard: catch a run going wrong, roll back, halve the learning rate, go on.

Three symptoms (Pascanu et al. 2013 on exploding gradients; the third from practice):

- a non-finite loss or gradient norm at a training step;
- a loss spike: a training loss far above its recent typical value;
- a sustained climb of the validation loss well above its *best* value. Comparing with
  the recent average misses a gradual climb (a 2x1536 char-LSTM at lr 1.5e-3 went from
  1.52 to 3.18 validation loss smoothly over 80 s): the reference is the best seen.

The first two roll back to the last healthy snapshot, the third to the best one. Each
rollback is a strike; after ``max_strikes`` the run stops with the best model intact.
This module is pure Python (no Lightning): the trainer feeds it numbers and acts on its
verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class DivergenceGuard:
    spike_factor: float = 3.0  # loss above this multiple of the recent typical loss
    spike_warmup: int = 20  # steps before spikes are judged
    climb_tolerance: float = 0.1  # validation loss this fraction above its best ...
    climb_patience: int = 2  # ... this many validations in a row
    max_strikes: int = 4
    ema_decay: float = 0.9

    def __post_init__(self) -> None:
        self.ema: float | None = None
        self.steps = 0
        self.best_val = math.inf
        self.climbing = 0
        self.strikes = 0

    def check_step(self, loss: float, grad_norm: float | None = None) -> str | None:
        """A reason to roll back after this training step, or None when it looks healthy."""
        if not math.isfinite(loss):
            return f"non-finite training loss ({loss})"
        if grad_norm is not None and not math.isfinite(grad_norm):
            return f"non-finite gradient norm ({grad_norm})"
        self.steps += 1
        if self.ema is not None and self.steps > self.spike_warmup:
            if loss > self.spike_factor * self.ema and loss - self.ema > 1.0:
                return f"loss spike ({loss:.3f} against a recent {self.ema:.3f})"
        self.ema = (
            loss if self.ema is None else self.ema_decay * self.ema + (1 - self.ema_decay) * loss
        )
        return None

    def check_val(self, val_loss: float) -> tuple[str | None, bool]:
        """``(reason to roll back to the best snapshot or None, is_new_best)``."""
        if not math.isfinite(val_loss):
            return f"non-finite validation loss ({val_loss})", False
        if val_loss < self.best_val:
            self.best_val, self.climbing = val_loss, 0
            return None, True
        if val_loss > self.best_val * (1 + self.climb_tolerance):
            self.climbing += 1
            if self.climbing >= self.climb_patience:
                self.climbing = 0
                return (
                    f"validation loss climbed to {val_loss:.3f}, well above its best "
                    f"{self.best_val:.3f}"
                ), False
        else:
            self.climbing = 0
        return None, False

    def strike(self) -> bool:
        """Count a rollback; True when the run has used up its strikes and must stop."""
        self.strikes += 1
        self.ema = None
        self.steps = 0
        return self.strikes >= self.max_strikes

    def state_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("ema", "steps", "best_val", "climbing", "strikes")}

    def load_state_dict(self, d: dict) -> None:
        for k, v in d.items():
            setattr(self, k, v)
