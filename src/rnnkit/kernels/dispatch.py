"""Which backend runs a layer: one readable eligibility predicate per backend.

Backends, fastest first where eligible:

- ``native``: torch's fused RNN ops (``torch._VF.lstm`` and friends), exactly what torch.nn
  calls: cuDNN on GPU; on CPU oneDNN for an unpacked LSTM without projection, ATen's own
  per-step loop otherwise. Handles plain cells, ``dropout``, ``input_dropout`` (the input is
  masked before the op) and ``weight_drop`` (the weights are masked before the op).
- ``loop``: rnnkit's fused time loop (:mod:`rnnkit.kernels.loop`) for what torch cannot
  fuse: layer norm, recurrent dropout, zoneout.
- ``reference``: the readable step-by-step loop of :mod:`rnnkit.functional`; the spec.

``auto`` takes the first eligible backend in the order :func:`preference` gives, set by
measurement (``benchmarks/layers.py``, ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from . import fused as _fused

BACKENDS = ("native", "loop", "reference")

# The order ``auto`` tries backends in, set by measurement (benchmarks/layers.py, group
# "loop"; numbers in benchmarks/RESULTS.md). On CPU, torch's LSTM reaches oneDNN and beats
# our loop, but GRU and RNN run ATen's per-step loop, whose backward our fused loop beats
# (1.0-2.0x fwd+bwd); for forward-only calls the two are within ~10%, so native stays.
NATIVE_FIRST = ("native", "loop", "reference")
LOOP_FIRST = ("loop", "native", "reference")


def preference(layer, x: Tensor) -> tuple[str, ...]:
    """The order ``auto`` tries backends in for this layer and input."""
    if x.device.type == "cpu" and layer.config.mode != "LSTM" and _needs_grad(layer, x):
        return LOOP_FIRST
    return NATIVE_FIRST


def _needs_grad(layer, x: Tensor) -> bool:
    if not torch.is_grad_enabled():
        return False
    return x.requires_grad or any(p.requires_grad for p in layer.parameters())


_NATIVE_DTYPES = {
    "cpu": (torch.float32, torch.float64, torch.bfloat16),
    "cuda": (torch.float16, torch.bfloat16, torch.float32, torch.float64),
}


def _active(layer, name: str) -> bool:
    v = getattr(layer.config, name)
    return any(float(r) > 0 for r in v) if isinstance(v, tuple) else float(v) > 0


def native_ok(layer, x: Tensor, lengths: Tensor | None) -> tuple[bool, str]:
    """torch's fused ops: plain cells only; recurrent dropout only when it is inactive."""
    if layer.config.layer_norm:
        return False, "layer_norm: torch's fused RNN ops have no layer-normalised cell"
    if _active(layer, "zoneout"):
        return False, "zoneout: the fused ops cannot mix the previous state into each step"
    if layer.training and _active(layer, "recurrent_dropout"):
        return False, "recurrent_dropout in training: the fused ops cannot mask the fed-back state"
    dtypes = _NATIVE_DTYPES.get(x.device.type, _NATIVE_DTYPES["cpu"])
    if x.dtype not in dtypes:
        return False, f"dtype {x.dtype} is not supported by torch's fused ops on {x.device.type}"
    if torch.is_autocast_enabled(x.device.type):  # every forward passes here: ask only then
        cast = torch.get_autocast_dtype(x.device.type)
        if cast not in dtypes:  # autocast would cast the inputs to a dtype the op cannot run
            return False, (f"autocast to {cast} is not supported by torch's fused ops on "
                           f"{x.device.type}")  # fmt: skip
    return True, "plain recurrence: torch's fused op (cuDNN on GPU, oneDNN/ATen on CPU)"


def loop_ok(layer, x: Tensor, lengths: Tensor | None) -> tuple[bool, str]:
    """rnnkit's fused time loop: every cell and regularizer except LSTM projections."""
    if layer.config.proj_size:
        return False, "proj_size: the loop backend has no projection (the reference loop does)"
    why = "fused time loop with a hand-written backward"
    if layer.config.mode == "LSTM" and x.device.type == "cpu":
        why += f"; LSTM step on CPU: {_fused.status()}"
    return True, why


def reference_ok(layer, x: Tensor, lengths: Tensor | None) -> tuple[bool, str]:
    return True, "reference step-by-step loop (always correct, slowest)"


PREDICATES = {"native": native_ok, "loop": loop_ok, "reference": reference_ok}


@dataclass(frozen=True)
class Explanation:
    """Result of :func:`explain`: the backend that would run and why, and every candidate."""

    impl: str
    reason: str
    candidates: dict[str, tuple[bool, str]]

    def __str__(self) -> str:
        lines = [f"impl = {self.impl}: {self.reason}"]
        for name, (ok, why) in self.candidates.items():
            lines.append(f"  {name:9s} {'eligible' if ok else 'no'}: {why}")
        return "\n".join(lines)


def choose(layer, x: Tensor, lengths: Tensor | None = None) -> tuple[str, str]:
    """The backend for this call, with the reason. Raises ``ValueError`` when an explicitly
    requested ``impl`` is not eligible."""
    impl = layer.config.impl
    if impl != "auto":
        ok, why = PREDICATES[impl](layer, x, lengths)
        if not ok:
            raise ValueError(f"impl={impl!r} cannot run this layer: {why}. Use impl='auto'.")
        return impl, why
    order = preference(layer, x)
    verdicts = {name: PREDICATES[name](layer, x, lengths) for name in order}
    chosen = next(name for name in order if verdicts[name][0])
    skipped = [f"{n}: {why}" for n, (ok, why) in verdicts.items() if not ok and n != chosen]
    notes = []
    if order == LOOP_FIRST:
        notes.append(
            "loop first: measured faster than torch's GRU/RNN on CPU when gradients are needed"
        )
    if skipped:
        notes.append(f"skipped {'; '.join(skipped)}")
    prefix = f"auto ({'; '.join(notes)}) -> " if notes else "auto -> "
    return chosen, prefix + verdicts[chosen][1]


def explain(layer, x: Tensor, lengths: Tensor | None = None) -> Explanation:
    """Which backend ``layer(x, lengths=lengths)`` would run, and why (nothing is run)."""
    impl, reason = choose(layer, x, lengths)
    candidates = {name: pred(layer, x, lengths) for name, pred in PREDICATES.items()}
    return Explanation(impl, reason, candidates)
