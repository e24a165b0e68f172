"""Next-token sampling for generation: temperature, top-k and nucleus (top-p) filtering.

One step of autoregressive generation turns the logits of the last position, ``(B, V)``,
into one token id per row. The order is the usual one (as in Holtzman et al. 2020, "The
Curious Case of Neural Text Degeneration", and most generation libraries): divide by the
temperature, keep the ``top_k`` largest logits, then keep the smallest set of the remaining
tokens whose probability reaches ``top_p``, renormalise and draw.

Filtering and the cumulative sums run in float32 at least (float64 where the device has
it), so bfloat16 and float16 logits sample as well as float32 ones. Random draws come from
``generator`` when given; it must live on the same device as the logits (a CPU generator
for CPU logits, ``torch.Generator(device="cuda")`` for CUDA logits).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

# Probability mass within this of top_p counts as reaching it: p = 0.8 over probabilities
# [0.5, 0.3, ...] keeps two tokens even when the softmax rounds their sum to 0.79999995.
TOP_P_TOLERANCE = 1e-6


def sample_next(
    logits: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one token id per row of ``logits (B, V)``; returns ``(B,)`` long.

    ``temperature`` 0 (or below the smallest normal float) is greedy: argmax, which no filter
    changes, as the top token is always kept. ``top_k`` (>= 1; more than V keeps all) and ``top_p``
    (0 < p <= 1) may be combined: top-k first, then top-p on the renormalised rest.
    """
    _check_logits(logits)
    check_options(temperature=temperature, top_k=top_k, top_p=top_p)
    if generator is not None and generator.device.type != logits.device.type:
        raise ValueError(
            f"generator is on {generator.device} but logits are on {logits.device}; "
            f"create it with torch.Generator(device={logits.device.type!r})"
        )
    work = logits if logits.dtype == torch.float64 else logits.float()
    if temperature < torch.finfo(work.dtype).tiny:  # 0, or too small to divide by: greedy
        return logits.argmax(dim=-1)
    # Shift the top logit to 0 first: a tiny temperature then gives -inf, never inf - inf.
    work = (work - work.amax(dim=-1, keepdim=True)) / temperature
    if top_k is not None or top_p is not None:
        work = filter_logits(work, top_k=top_k, top_p=top_p)
    probs = torch.softmax(work, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def check_options(
    *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> None:
    """Raise ``ValueError`` for sampling options :func:`sample_next` would refuse: callers that
    write output as they sample (a prompt, then tokens) check them before writing anything."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise ValueError(f"expected temperature to be a number >= 0, got {temperature!r}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(
            f"expected a finite temperature >= 0 (0 means greedy), got {temperature!r}"
        )
    _check_filters(top_k, top_p)


def filter_logits(logits: Tensor, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """``logits (..., V)`` with every token outside the top-k / top-p set set to ``-inf``.

    ``top_k`` keeps exactly ``min(top_k, V)`` tokens (ties broken by ``torch.topk``).
    ``top_p`` keeps the most probable tokens until their mass reaches ``p`` (within
    ``TOP_P_TOLERANCE``), and always the top one. Returns a new tensor of the same dtype.
    """
    if not torch.is_tensor(logits) or not logits.is_floating_point() or logits.ndim < 1:
        raise ValueError(f"expected floating-point logits (..., V), got {_describe(logits)}")
    _check_filters(top_k, top_p)
    V = logits.shape[-1]
    out = logits
    if top_k is not None and top_k < V:
        top_ids = torch.topk(logits, top_k, dim=-1).indices
        keep = torch.zeros_like(out, dtype=torch.bool).scatter_(-1, top_ids, True)
        out = out.masked_fill(~keep, -math.inf)
    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(out, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits.to(_accumulate_dtype(out)), dim=-1)
        mass_before = torch.cumsum(probs, dim=-1) - probs
        drop_sorted = mass_before >= top_p - TOP_P_TOLERANCE
        drop_sorted[..., 0] = False
        # Sorted positions -> vocabulary ids.
        drop = torch.zeros_like(drop_sorted).scatter_(-1, order, drop_sorted)
        out = out.masked_fill(drop, -math.inf)
    return out.clone() if out is logits else out


def _check_logits(logits: Tensor) -> None:
    if not torch.is_tensor(logits) or logits.ndim != 2 or not logits.is_floating_point():
        raise ValueError(f"expected floating-point logits of shape (B, V), got {_describe(logits)}")
    if logits.shape[-1] == 0:
        raise ValueError("expected logits (B, V) with V >= 1, got an empty vocabulary")


def _check_filters(top_k: int | None, top_p: float | None) -> None:
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1
    ):
        raise ValueError(f"expected top_k to be an integer >= 1 or None, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not 0 < top_p <= 1
    ):
        raise ValueError(f"expected top_p in (0, 1] or None, got {top_p!r}")


def _accumulate_dtype(logits: Tensor) -> torch.dtype:
    # Cumulative sums over a large vocabulary drift in float32; MPS has no float64.
    return torch.float32 if logits.device.type == "mps" else torch.float64


def _describe(x: object) -> str:
    if torch.is_tensor(x):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    return f"a {type(x).__name__}"
