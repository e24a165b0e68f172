"""Recurrent state containers, as torch.nn has them."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class LSTMState(NamedTuple):
    """LSTM state ``(h, c)``: ``h (L*dirs, B, proj_size or H)``, ``c (L*dirs, B, H)``.

    A NamedTuple, so ``h, c = state`` and torch's ``(h, c)`` tuples both work.
    """

    h: Tensor
    c: Tensor
