r"""Divergence guard: catch a run going wrong, roll back, halve the learning rate, go on.

Three symptoms (Pascanu et al. 2013 on exploding gradients; the third from practice):

- a non-finite loss or gradient norm at a training step (acted on at once);
- a loss spike: a training loss far above its recent typical value, on most of the last
  few steps (below);
- a sustained climb of the validation loss well above its *best* value. Comparing with
  the recent average misses a gradual climb (a 2x1536 char-LSTM at lr 1.5e-3 went from
  1.52 to 3.18 validation loss smoothly over 80 s): the reference is the best seen.
  "Well above" is ``climb_tolerance`` of the best *and* at least ``climb_min_delta``: near
  zero a relative margin is noise (late in an FSDD CTC run the validation loss moved
  between 0.02 and 0.05 while the model kept improving, and 10% of the best, or even 50%,
  rolled three of six runs back until they stopped).

Spikes are judged against the noise of the recent losses. The guard keeps exponential
moving averages of the loss and of its squared deviation (decay ``ema_decay`` for the
mean, ``var_decay`` for the spread):

.. math::
    \delta = \ell_t - \mu, \quad \mu \leftarrow \mu + (1-a)\,\delta, \quad
    \sigma^2 \leftarrow b\,(\sigma^2 + (1-b)\,\delta^2)

A step is *high* when, after ``spike_warmup`` steps,

.. math::
    \ell_t > k\,\mu \quad\text{and}\quad \ell_t - \mu > \max(1,\ z\,\sigma)

(``k = spike_factor``, ``z = spike_sigmas``, ``a = ema_decay``, ``b = var_decay``); high
steps leave the averages alone, so an outlier does not raise the bar for the next one. A
rollback needs ``spike_persist`` high steps among the last ``spike_window``: per-batch
losses that are merely noisy (CTC on batches of short and long clips varies 3-5x from batch
to batch) spike alone, a run that blows up stays up. Requiring ``z`` spreads matters as
much: on a quiet loss a 3x jump is news, on a noisy one it is ordinary. On the per-step
losses of 14 healthy FSDD CTC runs (20,483 steps) the earlier one-step rule (``k`` and the
margin of 1 only) fired 47 times, this one never; a 5-10x blow-up of the same losses is
caught on its 2nd to 5th step.

The first two symptoms roll back to the last healthy snapshot, the third to the best one.
Each rollback is a strike; after ``max_strikes`` the run stops with the best model intact.
This module is pure Python (no Lightning): the trainer feeds it numbers and acts on its
verdicts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass
class DivergenceGuard:
    spike_factor: float = 3.0  # loss above this multiple of the recent mean loss ...
    spike_sigmas: float = 6.0  # ... and this many recent standard deviations above it ...
    spike_persist: int = 2  # ... on this many steps ...
    spike_window: int = 3  # ... of the last this many, rolls back
    spike_warmup: int = 20  # steps before spikes are judged
    climb_tolerance: float = 0.1  # validation loss this fraction above its best ...
    climb_patience: int = 2  # ... this many validations in a row ...
    climb_min_delta: float = 0.1  # ... and at least this much above it (in the loss's units)
    max_strikes: int = 4
    ema_decay: float = 0.9  # of the mean loss
    var_decay: float = 0.98  # of the squared deviation (a longer memory: spread is noisier)

    def __post_init__(self) -> None:
        if not 1 <= self.spike_persist <= self.spike_window:
            raise ValueError(
                f"expected 1 <= spike_persist <= spike_window, got {self.spike_persist}, "
                f"{self.spike_window}"
            )
        self.ema: float | None = None
        self.var = 0.0
        self.steps = 0
        self.recent: deque[bool] = deque(maxlen=self.spike_window)
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
        if self.ema is None:
            self.ema = loss
            return None
        high = (
            self.steps > self.spike_warmup
            and loss > self.spike_factor * self.ema
            and loss - self.ema > max(1.0, self.spike_sigmas * math.sqrt(self.var))
        )
        self.recent.append(high)
        if high:
            if sum(self.recent) >= self.spike_persist:
                return (
                    f"loss spike ({loss:.3f} against a recent {self.ema:.3f} "
                    f"± {math.sqrt(self.var):.3f}, {sum(self.recent)} of the last "
                    f"{len(self.recent)} steps)"
                )
            return None
        delta = loss - self.ema
        self.ema += (1 - self.ema_decay) * delta
        self.var = self.var_decay * (self.var + (1 - self.var_decay) * delta * delta)
        return None

    def check_val(self, val_loss: float) -> tuple[str | None, bool]:
        """``(reason to roll back to the best snapshot or None, is_new_best)``."""
        if not math.isfinite(val_loss):
            return f"non-finite validation loss ({val_loss})", False
        if val_loss < self.best_val:
            self.best_val, self.climbing = val_loss, 0
            return None, True
        margin = max(self.best_val * self.climb_tolerance, self.climb_min_delta)
        if val_loss > self.best_val + margin:
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
        self.ema, self.var = None, 0.0
        self.steps = 0
        self.recent.clear()
        return self.strikes >= self.max_strikes

    def state_dict(self) -> dict:
        names = ("ema", "var", "steps", "best_val", "climbing", "strikes")
        return {**{k: getattr(self, k) for k in names}, "recent": list(self.recent)}

    def load_state_dict(self, d: dict) -> None:
        for k, v in d.items():
            if k == "recent":
                self.recent = deque(v, maxlen=self.spike_window)
            else:
                setattr(self, k, v)
