"""Fast paths and the dispatcher that chooses among them.

See :mod:`rnnkit.kernels.dispatch` for the backends and their eligibility rules.
"""

from __future__ import annotations

from torch import Tensor

from . import native as _native
from . import stack as _stack
from .dispatch import BACKENDS as BACKENDS
from .dispatch import Explanation as Explanation
from .dispatch import choose as choose
from .dispatch import explain as explain
from .streaming import plain_plan as plain_plan
from .streaming import step as step

__all__ = ["BACKENDS", "Explanation", "choose", "explain", "run", "step"]


def run(
    backend: str, layer, x: Tensor, hx: tuple[Tensor, ...], lengths: Tensor | None, noise
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run ``layer`` with the named backend on validated input; returns ``(output, state)``."""
    if backend == "native":
        return _native.run(layer, x, hx, lengths, noise)
    if backend == "loop":
        return _stack.run_stack(layer, x, hx, lengths, noise, _stack.loop_direction)
    if backend == "reference":
        return _stack.run_stack(layer, x, hx, lengths, noise, _stack.reference_direction)
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
