"""Which backend runs a layer: one readable eligibility predicate per backend.

Backends, fastest first where eligible:

- ``native``: torch's fused RNN ops (``torch._VF.lstm`` and friends), exactly what torch.nn
  calls: cuDNN on GPU; on CPU oneDNN for an unpacked LSTM without projection, ATen's own
  per-step loop otherwise. Handles plain cells, ``dropout``, ``input_dropout`` (the input is
  masked before the op) and ``weight_drop`` (the weights are masked before the op).
- ``loop``: rnnkit's fused time loop (:mod:`rnnkit.kernels.loop`) for what torch cannot
  fuse: layer norm, recurrent dropout, zoneout.
- ``reference``: the readable step-by-step loop of :mod:`rnnkit.functional`; the spec.

``auto`` takes the first eligible backend in :data:`PREFERENCE`, an order set by
measurement (``benchmarks/layers.py``, ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

BACKENDS = ("native", "loop", "reference")

# Measured on CPU (benchmarks/RESULTS.md): torch's fused op is at least as fast as our loop
# for plain LSTM (oneDNN), GRU and RNN (ATen's loop precomputes the input projection too),
# so native comes first everywhere it applies.
PREFERENCE = {"cpu": ("native", "loop", "reference"), "cuda": ("native", "loop", "reference")}


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
    if x.dtype not in _NATIVE_DTYPES.get(x.device.type, _NATIVE_DTYPES["cpu"]):
        return False, f"dtype {x.dtype} is not supported by torch's fused ops on {x.device.type}"
    return True, "plain recurrence: torch's fused op (cuDNN on GPU, oneDNN/ATen on CPU)"


def loop_ok(layer, x: Tensor, lengths: Tensor | None) -> tuple[bool, str]:
    """rnnkit's fused time loop: every cell and regularizer except LSTM projections."""
    if layer.config.proj_size:
        return False, "proj_size: the loop backend has no projection (the reference loop does)"
    return True, "fused time loop with a hand-written backward"


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
    order = PREFERENCE.get(x.device.type, PREFERENCE["cpu"])
    reasons = []
    for name in order:
        ok, why = PREDICATES[name](layer, x, lengths)
        if ok:
            prefix = f"auto (skipped {'; '.join(reasons)}) -> " if reasons else "auto -> "
            return name, prefix + why
        reasons.append(f"{name}: {why}")
    raise AssertionError("the reference backend is always eligible")


def explain(layer, x: Tensor, lengths: Tensor | None = None) -> Explanation:
    """Which backend ``layer(x, lengths=lengths)`` would run, and why (nothing is run)."""
    impl, reason = choose(layer, x, lengths)
    candidates = {name: pred(layer, x, lengths) for name, pred in PREDICATES.items()}
    return Explanation(impl, reason, candidates)
