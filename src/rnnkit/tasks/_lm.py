"""The recurrent language model behind :class:`rnnkit.TextGenerator`.

``embedding -> rnnkit RNN/LSTM/GRU stack -> (locked dropout) -> linear to the vocabulary``,
or, with ``residual=True``, a pre-norm residual stack: each layer adds
``rnn(LayerNorm(x))`` to its input ``x`` and a final LayerNorm precedes the output layer (the
block layout of recent recurrent language models, e.g. Griffin, De et al. 2024, and xLSTM,
Beck et al. 2024, without their other parts: here the plain rnnkit cell is the block);
optionally with the output layer tied to the embedding (Press & Wolf 2017; Inan et al.
2017) and embedding dropout that drops whole words (Gal & Ghahramani 2016, section 4.2;
as in AWD-LSTM, Merity et al. 2017).

With ``adaptive_cutoffs`` the output layer is an adaptive softmax (Grave et al. 2017):
the frequent words and one entry per rare-word cluster share one softmax, and a word in a
cluster costs that cluster's softmax only when it is the target. Training then skips most
of the vocabulary-sized matrix product that dominates a word model's step; the model is
still a normalized distribution over the whole vocabulary, so its perplexity is exact.
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
import types
import typing
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
    embedding_init_std: float | None = None  # None: 0.05 tied, 0.1 untied
    dropout: float = 0.0  # between layers
    input_dropout: float = 0.0
    recurrent_dropout: float = 0.0
    weight_drop: float = 0.0
    zoneout: float = 0.0
    layer_norm: bool = False
    embedding_dropout: float = 0.0  # whole words (rows of the embedding)
    output_dropout: float = 0.0  # locked: one mask per sequence, before the output layer
    tie_weights: bool = False
    adaptive_cutoffs: tuple[int, ...] | None = None  # ids must be frequency-ordered
    impl: str = "auto"
    residual: bool = False  # pre-norm residual layers (ResidualStack) instead of a stack

    def __post_init__(self) -> None:
        if self.adaptive_cutoffs is not None:
            cuts = tuple(int(c) for c in self.adaptive_cutoffs)
            if not cuts or cuts[0] < 1 or any(b <= a for a, b in itertools.pairwise(cuts)):
                raise ValueError(
                    "adaptive_cutoffs must be increasing positive token counts, e.g. "
                    f"(2000, 6000), got {self.adaptive_cutoffs!r}"
                )
            object.__setattr__(self, "adaptive_cutoffs", cuts)
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        for name in ("hidden_size", "num_layers", "embedding_size"):
            v = getattr(self, name)  # checked here: the layers would name them input_size
            if (v is not None or name != "embedding_size") and not _positive_int(v):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.vocab_size < 2:
            raise ValueError(f"expected a vocabulary of at least 2 tokens, got {self.vocab_size}")
        if self.tie_weights and self.embedding_size not in (None, self.hidden_size):
            raise ValueError(
                "tie_weights needs embedding_size == hidden_size, got "
                f"{self.embedding_size} and {self.hidden_size}"
            )
        if self.residual and self.embedding_size not in (None, self.hidden_size):
            raise ValueError(
                "residual=True adds each layer's output to its input, so it needs "
                f"embedding_size == hidden_size, got {self.embedding_size} and {self.hidden_size}"
            )
        if self.embedding_init_std is not None and not self.embedding_init_std > 0:
            raise ValueError(
                f"embedding_init_std must be positive, got {self.embedding_init_std!r}"
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

    @classmethod
    def from_dict(cls, d: Any) -> LMConfig:
        """Inverse of :meth:`to_dict` as read back from JSON, checked: an unknown or missing
        key, or a value of the wrong type, is a ``ValueError`` naming it."""
        if not isinstance(d, dict):
            raise ValueError(f"expected the model options as an object, got {type(d).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(fields))
        missing = sorted(n for n, f in fields.items()
                         if n not in d and f.default is dataclasses.MISSING)  # fmt: skip
        if unknown or missing:
            what = f"unknown options {unknown}" if unknown else f"no {missing[0]!r}"
            raise ValueError(f"{what}; expected the fields of LMConfig")
        hints = typing.get_type_hints(cls)
        for name, value in d.items():
            if not _fits(value, hints[name]):
                raise ValueError(f"{name!r} must be {_type_name(hints[name])}, got {value!r}")
        return cls(**d)


def _positive_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON ``value`` is of the type ``hint`` (a tuple may be a JSON list)."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType):
        return any(_fits(value, a) for a in args)
    if typing.get_origin(hint) is tuple:
        return isinstance(value, (list, tuple)) and all(_fits(v, args[0]) for v in value)
    if hint in (int, float):  # an int is a float too; a bool is neither
        return isinstance(value, (int, hint)) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    if isinstance(hint, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        return f"a list of {_type_name(typing.get_args(hint)[0])}"
    return "null" if hint is type(None) else getattr(hint, "__name__", str(hint))


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
        if c.residual:
            self.rnn: nn.Module = ResidualStack(c, options)
        else:
            self.rnn = CELLS[c.cell](c.embed_dim, c.hidden_size, c.num_layers, **options)
        if c.adaptive_cutoffs is None:
            self.head: nn.Module = nn.Linear(c.hidden_size, c.vocab_size)
        else:
            self.head = AdaptiveSoftmax(c.hidden_size, c.vocab_size, c.adaptive_cutoffs)
        if c.tie_weights:
            self.head.weight = self.embedding.weight
        std = c.embedding_init_std
        if std is None:
            std = 0.05 if c.tie_weights else 0.1
        nn.init.normal_(self.embedding.weight, std=std)

    def _embed(self, x: Tensor) -> Tensor:
        weight = self.embedding.weight
        p = self.config.embedding_dropout
        if self.training and p > 0:
            keep = torch.empty(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
            weight = weight * keep.bernoulli_(1 - p).div_(1 - p)
        return F.embedding(x, weight)

    @property
    def adaptive(self) -> bool:
        return isinstance(self.head, AdaptiveSoftmax)

    def features(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """``x (B, T)`` token ids -> the last layer's output ``(B, T, H)`` (with output
        dropout in training mode) and the state: what the head reads."""
        out, state = self.rnn(self._embed(x), state)
        p = self.config.output_dropout
        if self.training and p > 0:
            mask = out.new_empty(out.shape[0], 1, out.shape[2]).bernoulli_(1 - p).div_(1 - p)
            out = out * mask
        return out, state

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """``x (B, T)`` token ids -> ``(logits (B, T, V), state)``; with an adaptive softmax
        the "logits" are log-probabilities (a softmax leaves them unchanged)."""
        out, state = self.features(x, state)
        return self.head(out), state

    def training_loss(self, x: Tensor, y: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """The mean loss on targets ``y`` and the state, as training computes it: an adaptive
        softmax scores each target in its own cluster only, never the full vocabulary."""
        if not self.adaptive:
            out, state = self(x, state)
            return lm_loss(out, y)[0], state
        out, state = self.features(x, state)
        return self.head.loss(out, y)[0], state

    def step(self, token: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """One token per sequence ``(B,)`` -> ``(logits (B, V), state)`` (streaming)."""
        y, state = self.rnn.step(F.embedding(token, self.embedding.weight), state)
        return self.head(y), state


class ResidualStack(nn.Module):
    """``num_layers`` one-layer rnnkit RNNs, each ``x + dropout(rnn(LayerNorm(x)))``, then a
    LayerNorm: the residual path carries the input to every layer unchanged, and each layer
    reads a normalised copy. ``dropout`` (between layers in a plain stack) drops each
    layer's contribution; the cell's own regularisers apply inside it.

    The state is a tuple with one entry per layer, each that layer's own state."""

    def __init__(self, config: LMConfig, options: dict[str, Any]) -> None:
        super().__init__()
        H = config.hidden_size
        inner = {**options, "dropout": 0.0}  # one layer each: nothing in between
        self.layers = nn.ModuleList(CELLS[config.cell](H, H, 1, **inner)
                                    for _ in range(config.num_layers))  # fmt: skip
        self.norms = nn.ModuleList(nn.LayerNorm(H) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(H)
        self.dropout = config.dropout

    def _states(self, state: Any) -> tuple:
        if state is None:
            return (None,) * len(self.layers)
        if not isinstance(state, (tuple, list)) or len(state) != len(self.layers):
            raise ValueError(
                f"expected a residual stack's state: a tuple of {len(self.layers)} layer states"
            )
        return tuple(state)

    def _run(self, x: Tensor, state: Any, one_step: bool) -> tuple[Tensor, tuple]:
        new = []
        for layer, norm, s in zip(self.layers, self.norms, self._states(state)):
            y, s = (layer.step if one_step else layer)(norm(x), s)
            x = x + (y if one_step else F.dropout(y, self.dropout, self.training))
            new.append(s)
        return self.final_norm(x), tuple(new)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, tuple]:
        return self._run(x, state, one_step=False)

    def step(self, x_t: Tensor, state: Any = None) -> tuple[Tensor, tuple]:
        """One time step ``(B, H)``, evaluation semantics (as the layers' own ``step``)."""
        return self._run(x_t, state, one_step=True)


class AdaptiveSoftmax(nn.Module):
    """Adaptive softmax (Grave et al. 2017) over frequency-ordered ids, tieable.

    Ids below ``cutoffs[0]`` (the frequent words) and one entry per cluster
    ``[cutoffs[k], cutoffs[k+1])`` (the last ends at ``vocab_size``) form the head softmax;
    ``log p(w) = log p_head(cluster of w) + log p_cluster(w)`` for a word in a cluster.
    Unlike :class:`torch.nn.AdaptiveLogSoftmaxWithLoss`, every word keeps a full-width row
    in ``weight`` (``(vocab_size, hidden)``, like a linear layer's), so it can be the
    embedding itself; the saving comes from computing a cluster only for its own targets.
    """

    def __init__(self, hidden_size: int, vocab_size: int, cutoffs: tuple[int, ...]) -> None:
        super().__init__()
        if cutoffs[-1] >= vocab_size:
            raise ValueError(
                f"adaptive_cutoffs {list(cutoffs)} need a vocabulary of more than "
                f"{cutoffs[-1]} tokens, got {vocab_size}; lower the cutoffs or drop them"
            )
        self.bounds = (*cutoffs, vocab_size)
        linear = nn.Linear(hidden_size, vocab_size)  # the usual initialisation
        self.weight, self.bias = linear.weight, linear.bias
        self.cluster = nn.Linear(hidden_size, len(cutoffs))

    def _head(self, h: Tensor) -> Tensor:
        """Log-probabilities of the frequent words then of each cluster, ``(..., c0 + K)``."""
        c0 = self.bounds[0]
        logits = torch.cat([F.linear(h, self.weight[:c0], self.bias[:c0]), self.cluster(h)], -1)
        return _wide(logits).log_softmax(-1)

    def _tail(self, h: Tensor, k: int) -> Tensor:
        lo, hi = self.bounds[k], self.bounds[k + 1]
        return _wide(F.linear(h, self.weight[lo:hi], self.bias[lo:hi]))

    def forward(self, h: Tensor) -> Tensor:
        """Log-probabilities of every token, ``(..., vocab_size)``."""
        head = self._head(h)
        c0 = self.bounds[0]
        parts = [head[..., :c0]]
        for k in range(len(self.bounds) - 1):
            parts.append(head[..., c0 + k, None] + self._tail(h, k).log_softmax(-1))
        return torch.cat(parts, -1)

    def loss(self, h: Tensor, y: Tensor) -> tuple[Tensor, int]:
        """Mean negative log-likelihood of the targets ``y`` (``-100`` ignored) and their
        number; each cluster's softmax runs only on the rows whose target is in it."""
        h, y = h.reshape(-1, h.shape[-1]), y.reshape(-1)
        keep = y != -100
        if not bool(keep.all()):
            h, y = h[keep], y[keep]
        bounds = torch.tensor(self.bounds[:-1], device=y.device)
        which = torch.bucketize(y, bounds, right=True)  # 0: a frequent word, k: cluster k
        c0 = self.bounds[0]
        head_target = torch.where(which == 0, y, c0 + which - 1)
        nll = -self._head(h).gather(1, head_target[:, None]).squeeze(1)
        for k in range(len(self.bounds) - 1):
            rows = (which == k + 1).nonzero().squeeze(1)
            if rows.numel():
                part = F.cross_entropy(self._tail(h[rows], k), y[rows] - self.bounds[k],
                                       reduction="none")  # fmt: skip
                nll = nll.index_add(0, rows, part)
        return nll.mean(), int(y.numel())


def _wide(t: Tensor) -> Tensor:
    """Half-precision scores (autocast) in float32 for the softmax; others as they are."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def lm_loss(logits: Tensor, y: Tensor) -> tuple[Tensor, int]:
    """Mean next-token cross-entropy in nats, and the number of targets (ignore_index=-100)."""
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
    return loss, int((y != -100).sum())
