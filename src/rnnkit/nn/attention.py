"""Attention over a memory of encoder states, with a padding mask.

For a query ``q (B, Q)`` (the decoder state) and a memory ``m (B, S, M)`` (the encoder's
outputs) the weights are a softmax over the real source positions only,

.. math::
    a_{j} = \\frac{\\exp e_j}{\\sum_{k:\\, \\text{mask}_k} \\exp e_k} \\text{ if } \\text{mask}_j
    \\text{ else } 0, \\qquad c = \\sum_j a_j m_j,

with the score ``e_j`` one of (Luong, Pham & Manning 2015, section 3.1; Bahdanau, Cho &
Bengio 2015, appendix A.1.2)

- ``"dot"``: :math:`e_j = q^\\top m_j` (needs ``Q == M``);
- ``"general"``: :math:`e_j = q^\\top W_a m_j`, ``W_a (Q, M)``;
- ``"additive"`` (Bahdanau's "concat"/MLP): :math:`e_j = v^\\top \\tanh(W_q q + W_k m_j)`,
  ``W_q (A, Q)``, ``W_k (A, M)``, ``v (A,)``.

The part of the score that depends on the memory only is computed once per source batch by
:meth:`Attention.keys` (``W_a m`` or ``W_k m``), so each decoder step is one batched
matrix-vector product (or one ``tanh`` and product for the additive score).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

KINDS = ("dot", "general", "additive")


class Attention(nn.Module):
    """Attention with score ``kind`` (see the module docstring).

    Args:
        query_size: ``Q``, the size of the decoder state.
        memory_size: ``M``, the size of each encoder output.
        kind: ``"dot"``, ``"general"`` or ``"additive"``.
        attn_size: ``A``, the hidden size of the additive score (default ``Q``).
    """

    def __init__(
        self, query_size: int, memory_size: int, kind: str = "general", attn_size: int | None = None
    ) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"expected attention kind one of {KINDS}, got {kind!r}")
        if kind == "dot" and query_size != memory_size:
            raise ValueError(
                f"dot attention needs query size == memory size, got {query_size} and "
                f"{memory_size}; use 'general' or 'additive', or match the sizes"
            )
        self.kind, self.query_size, self.memory_size = kind, query_size, memory_size
        if kind == "general":
            self.to_keys = nn.Linear(memory_size, query_size, bias=False)  # W_a^T m
        elif kind == "additive":
            A = attn_size or query_size
            self.to_keys = nn.Linear(memory_size, A, bias=False)  # W_k m
            self.to_query = nn.Linear(query_size, A, bias=True)  # W_q q (+ b)
            self.v = nn.Parameter(torch.empty(A).uniform_(-1 / math.sqrt(A), 1 / math.sqrt(A)))

    def keys(self, memory: Tensor) -> Tensor:
        """The memory's part of the score, computed once: ``(B, S, Q)`` or ``(B, S, A)``."""
        return memory if self.kind == "dot" else self.to_keys(memory)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalised scores ``e (B, S)`` of ``query (B, Q)`` against ``keys``."""
        if self.kind == "additive":
            return torch.tanh(keys + self.to_query(query).unsqueeze(1)) @ self.v
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)

    def forward(
        self, query: Tensor, memory: Tensor, mask: Tensor | None = None, keys: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(context (B, M), weights (B, S))``; ``mask (B, S)`` is True at real positions.

        Weights at masked positions are exactly zero and each row sums to one over the
        unmasked ones (every row needs at least one real position).
        """
        if keys is None:
            keys = self.keys(memory)
        e = self.scores(query, keys)
        if mask is not None:
            e = e.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(e.float(), dim=-1).to(memory.dtype)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights

    def extra_repr(self) -> str:
        return f"{self.query_size}, {self.memory_size}, kind={self.kind!r}"


def length_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """``(B, T)`` bool mask, True at positions ``t < lengths[b]``."""
    T = int(lengths.max()) if max_len is None else max_len
    return torch.arange(T, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


__all__ = ["Attention", "length_mask"]
