"""The recurrent language model behind :class:`rnnkit.TextGenerator`.

``embedding -> rnnkit RNN/LSTM/GRU stack -> (locked dropout) -> linear to the vocabulary``,
optionally with the output layer tied to the embedding (Press & Wolf 2017; Inan et al.
2017) and embedding dropout that drops whole words (Gal & Ghahramani 2016, section 4.2;
as in AWD-LSTM, Merity et al. 2017).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn import GRU, LSTM, RNN

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


@dataclass(frozen=True)
class LMConfig:
    vocab_size: int
    cell: str = "lstm"
    hidden_size: int = 256
    num_layers: int = 2
    embedding_size: int | None = None  # None: hidden_size
    dropout: float = 0.0  # between layers
    input_dropout: float = 0.0
    recurrent_dropout: float = 0.0
    weight_drop: float = 0.0
    zoneout: float = 0.0
    layer_norm: bool = False
    embedding_dropout: float = 0.0  # whole words (rows of the embedding)
    output_dropout: float = 0.0  # locked: one mask per sequence, before the output layer
    tie_weights: bool = False
    impl: str = "auto"

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        if self.vocab_size < 2:
            raise ValueError(f"expected a vocabulary of at least 2 tokens, got {self.vocab_size}")
        if self.tie_weights and self.embedding_size not in (None, self.hidden_size):
            raise ValueError(
                "tie_weights needs embedding_size == hidden_size, got "
                f"{self.embedding_size} and {self.hidden_size}"
            )
        for name in ("embedding_dropout", "output_dropout"):
            p = getattr(self, name)
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p!r}")

    @property
    def embed_dim(self) -> int:
        return self.embedding_size or self.hidden_size

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class LanguageModel(nn.Module):
    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim)
        options = {
            "dropout": c.dropout, "input_dropout": c.input_dropout,
            "recurrent_dropout": c.recurrent_dropout, "weight_drop": c.weight_drop,
            "zoneout": c.zoneout, "impl": c.impl,
        }  # fmt: skip
        if c.layer_norm:
            options["layer_norm"] = True
        self.rnn = CELLS[c.cell](c.embed_dim, c.hidden_size, c.num_layers, **options)
        self.head = nn.Linear(c.hidden_size, c.vocab_size)
        if c.tie_weights:
            self.head.weight = self.embedding.weight
        nn.init.normal_(self.embedding.weight, std=0.1 if not c.tie_weights else 0.05)

    def _embed(self, x: Tensor) -> Tensor:
        weight = self.embedding.weight
        p = self.config.embedding_dropout
        if self.training and p > 0:
            keep = torch.empty(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
            weight = weight * keep.bernoulli_(1 - p).div_(1 - p)
        return F.embedding(x, weight)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """``x (B, T)`` token ids -> ``(logits (B, T, V), state)``."""
        out, state = self.rnn(self._embed(x), state)
        p = self.config.output_dropout
        if self.training and p > 0:
            mask = out.new_empty(out.shape[0], 1, out.shape[2]).bernoulli_(1 - p).div_(1 - p)
            out = out * mask
        return self.head(out), state

    def step(self, token: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """One token per sequence ``(B,)`` -> ``(logits (B, V), state)`` (streaming)."""
        y, state = self.rnn.step(F.embedding(token, self.embedding.weight), state)
        return self.head(y), state


def lm_loss(logits: Tensor, y: Tensor) -> tuple[Tensor, int]:
    """Mean next-token cross-entropy in nats, and the number of targets (ignore_index=-100)."""
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
    return loss, int((y != -100).sum())
