"""The reference time loop: the specification that every backend is tested against.

It is deliberately plain: one Python step per time step through autograd, no fusion, no
preallocation. Every faster path in :mod:`rnnkit.kernels` must give the same outputs,
states and gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

State = tuple[Tensor, ...]
StepFn = Callable[[Tensor, State], State]


def valid_mask(lengths: Tensor, T: int) -> Tensor:
    """``(T, B)`` bool: True where time step ``t`` lies inside sequence ``b``."""
    return torch.arange(T, device=lengths.device)[:, None] < lengths[None, :]


def reference_loop(
    step: StepFn,
    x: Tensor,
    state: State,
    lengths: Tensor | None = None,
    reverse: bool = False,
    keep: Sequence[Tensor | None] | None = None,
) -> tuple[Tensor, State]:
    r"""Run ``step`` over time and return ``(output, final_state)``.

    Args:
        step: ``step(x_t, state) -> new_state``, ``state`` a tuple whose first entry is the
            hidden state ``h`` that is also the output of the step.
        x: ``(T, B, D)``, time-major.
        state: the initial state, a tuple of ``(B, *)`` tensors.
        lengths: ``(B,)`` true lengths (on any device). Steps ``t >= lengths[b]`` leave the
            state untouched and output zeros, so the final state is the state at each
            sequence's last valid step.
        reverse: process ``t = T-1, ..., 0``. With ``lengths`` this runs each sequence
            backwards from its own last valid step, as torch's bidirectional layers do.
        keep: zoneout (Krueger et al. 2016): one ``(T, B, *)`` tensor (or None) per state
            entry with the per-unit probability of keeping the previous value,
            :math:`s_t = k_t \odot s_{t-1} + (1 - k_t) \odot \tilde s_t`.

    Returns:
        ``output (T, B, H)`` with the ``h`` of every step (zero past ``lengths``) and the
        final state tuple.
    """
    T = x.shape[0]
    valid = None
    if lengths is not None:
        valid = valid_mask(lengths.to(x.device), T).unsqueeze(-1)
    outputs: list[Tensor] = [x.new_empty(0)] * T
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        new = step(x[t], state)
        if keep is not None:
            new = tuple(
                n if k is None else k[t] * s + (1 - k[t]) * n
                for n, s, k in zip(new, state, keep, strict=True)
            )
        if valid is not None:
            new = tuple(torch.where(valid[t], n, s) for n, s in zip(new, state, strict=True))
            outputs[t] = torch.where(valid[t], new[0], torch.zeros_like(new[0]))
        else:
            outputs[t] = new[0]
        state = new
    return torch.stack(outputs), state
