r"""The network and the text pipeline behind :class:`rnnkit.TextClassifier`.

Network (``x = (ids (B, T), lengths (B,))`` -> ``logits (B, C)``):

.. math::
    e_t &= E[w_t] \quad \text{(whole words dropped from } E \text{ with embedding\_dropout)} \\
    h_{1..T} &= \text{BiRNN}(e_{1..T}) \quad \text{(only the first } n \text{ steps: lengths)} \\
    s &= \text{pool}(h_{1..n}), \qquad \text{logits} = W\,\text{dropout}(s) + b

Pools over the valid steps only: ``last`` (the forward direction's state at step ``n``
and the backward direction's at step 1, i.e. each direction's final state), ``mean``,
``max``, ``attention`` (additive self-attention, Yang et al. 2016 without the context
hierarchy): :math:`a_t = \mathrm{softmax}_t(v^\top \tanh(W_a h_t + b_a))`, :math:`s = \sum_t
a_t h_t`, and ``concat`` (ULMFiT's concat pooling, Howard & Ruder 2018 s3.3: ``last``,
``max`` and ``mean`` side by side, three times as wide). Pads are never run through the
cell (the layers' ``lengths``) and never pooled.
Embedding dropout as in AWD-LSTM (Merity et al. 2017), after Gal & Ghahramani (2016) s4.2.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import make_tokenizer, tokenizer_from_dict
from ..nn import GRU, LSTM, RNN

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
POOLINGS = ("last", "mean", "max", "attention", "concat")
LEVELS = ("word", "bpe")
# Words (with an apostrophe clitic kept whole: "n't", "don't") or single punctuation marks.
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


@dataclass(frozen=True)
class ClassifierConfig:
    vocab_size: int
    num_classes: int
    cell: str = "lstm"
    embedding_size: int = 300
    hidden_size: int = 256
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "max"
    dropout: float = 0.5  # on the pooled vector, before the classifier
    embedding_dropout: float = 0.1  # whole words
    input_dropout: float = 0.0
    between_dropout: float = 0.0  # between stacked layers (the layers' `dropout`)
    recurrent_dropout: float = 0.0
    weight_drop: float = 0.0
    zoneout: float = 0.0
    layer_norm: bool = False
    attention_size: int = 128
    impl: str = "auto"

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.layer_norm and self.cell == "rnn":
            raise ValueError(
                "layer_norm is for cell='lstm' or 'gru' (rnnkit's layer-normalised cells); "
                "the plain RNN has none: drop layer_norm or change cell"
            )
        if self.num_classes < 2:
            raise ValueError(f"expected at least 2 classes in the labels, got {self.num_classes}")
        for name in ("embedding_size", "hidden_size", "num_layers", "attention_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("dropout", "embedding_dropout"):
            p = getattr(self, name)
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ClassifierNet(nn.Module):
    """embedding -> (bi)RNN with lengths -> pooling -> dropout -> linear."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_size)
        nn.init.normal_(self.embedding.weight, std=0.1)
        options: dict[str, Any] = {
            "dropout": c.between_dropout, "input_dropout": c.input_dropout,
            "recurrent_dropout": c.recurrent_dropout, "weight_drop": c.weight_drop,
            "zoneout": c.zoneout, "impl": c.impl, "bidirectional": c.bidirectional,
        }  # fmt: skip
        if c.layer_norm:
            options["layer_norm"] = True
        self.rnn = CELLS[c.cell](c.embedding_size, c.hidden_size, c.num_layers, **options)
        width = c.hidden_size * (2 if c.bidirectional else 1)
        pooled = width * (3 if c.pooling == "concat" else 1)
        if c.pooling == "attention":
            self.attn_proj = nn.Linear(width, c.attention_size)
            self.attn_score = nn.Linear(c.attention_size, 1, bias=False)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(pooled, c.num_classes)

    def embed(self, ids: Tensor) -> Tensor:
        weight = self.embedding.weight
        p = self.config.embedding_dropout
        if self.training and p > 0:
            keep = torch.empty(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
            weight = weight * keep.bernoulli_(1 - p).div_(1 - p)
        return F.embedding(ids, weight)

    def encode(self, emb: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor | None]:
        """``emb (B, T, E)`` -> pooled ``(B, H*dirs)`` (``concat``: ``3*H*dirs``) and attention
        weights ``(B, T)`` or None."""
        out, state = self.rnn(emb, lengths=lengths)  # pads are skipped, outputs there are 0
        mask = valid_mask(lengths, emb.shape[1], emb.device)
        pooling = self.config.pooling
        if pooling == "concat":
            parts = [self._pool(p, out, state, mask, lengths) for p in ("last", "max", "mean")]
            return torch.cat(parts, dim=-1), None
        if pooling != "attention":
            return self._pool(pooling, out, state, mask, lengths), None
        scores = self.attn_score(torch.tanh(self.attn_proj(out))).squeeze(-1)  # (B, T)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        return torch.einsum("bt,bth->bh", weights, out), weights

    def _pool(self, pooling: str, out: Tensor, state: Any, mask: Tensor, lengths: Tensor) -> Tensor:
        """``last``, ``mean`` or ``max`` over the valid steps -> ``(B, H*dirs)``."""
        if pooling == "last":
            h = state[0] if isinstance(state, tuple) else state  # (L*dirs, B, H)
            dirs = 2 if self.config.bidirectional else 1
            return torch.cat(list(h[-dirs:]), dim=-1)  # dirs x (B, H) -> (B, H*dirs)
        if pooling == "mean":
            return out.sum(1) / lengths.to(out)[:, None]
        return out.masked_fill(~mask[..., None], float("-inf")).amax(1)

    def logits(self, emb: Tensor, lengths: Tensor) -> Tensor:
        """Embedded texts ``(B, T, E)`` -> class logits ``(B, C)`` (dropout in training)."""
        pooled, _ = self.encode(emb, lengths)
        return self.head(self.drop(pooled))

    def forward(self, x: tuple[Tensor, Tensor], state: Any = None) -> tuple[Tensor, None]:
        """``x = (ids (B, T), lengths (B,))`` -> ``(logits (B, C), None)`` (no carried state)."""
        ids, lengths = x
        return self.logits(self.embed(ids), lengths), None

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Parameters from the bottom up: embedding, each recurrent layer, then the head
        (attention and classifier): the groups of discriminative learning rates and of
        gradual unfreezing (ULMFiT, Howard & Ruder 2018, s3.2 and s3.3)."""
        groups: list[list[nn.Parameter]] = [[self.embedding.weight]]
        for layer in range(self.config.num_layers):
            suffix = re.compile(rf"_l{layer}(_reverse)?$")
            groups.append([p for n, p in self.rnn.named_parameters() if suffix.search(n)])
        seen = {id(p) for g in groups for p in g}
        groups.append([p for p in self.parameters() if id(p) not in seen])
        return groups


def valid_mask(lengths: Tensor, T: int, device: torch.device) -> Tensor:
    """``(B, T)``: True at each text's real tokens, False at its pads."""
    return torch.arange(T, device=device)[None, :] < lengths.to(device)[:, None]


# ---------------------------------------------------------------------- text -> ids
def normalize(text: str, lower: bool, split_punct: bool) -> list[str]:
    """The words of ``text`` (one line, no ``<eos>``): optionally lower-cased, and with
    punctuation split off as its own tokens (``"great!"`` -> ``great !``)."""
    text = text.lower() if lower else text
    return _TOKEN.findall(text) if split_punct else text.split()


class TextIds:
    """Texts -> token ids, each text ending with an end-of-text token (so an empty text is
    one token, and the backward direction starts from a known token).

    ``word``: rnnkit's :class:`~rnnkit.data.WordTokenizer` on the normalised words of the
    training texts (``<eos>`` is the end token, ``<unk>`` every word outside the vocabulary).
    ``bpe``: byte-level BPE (:class:`~rnnkit.data.BPETokenizer`) on the training texts; its
    end token is one extra id, ``vocab_size - 1``. At most ``max_length`` tokens per text: a
    longer text keeps its first ``max_length - 1`` tokens and the end token.
    """

    def __init__(self, level: str, tokenizer: Any, lower: bool, split_punct: bool,
                 max_length: int) -> None:  # fmt: skip
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        if not isinstance(max_length, int) or max_length < 2:
            raise ValueError(f"max_length must be an integer >= 2, got {max_length!r}")
        self.level, self.tokenizer = level, tokenizer
        self.lower, self.split_punct, self.max_length = lower, split_punct, max_length

    @classmethod
    def build(cls, texts: list[str], level: str = "word", lower: bool = True,
              split_punct: bool = True, max_length: int = 256, min_freq: int = 1,
              max_vocab: int | None = None, bpe_vocab_size: int = 8000) -> TextIds:  # fmt: skip
        self = cls(level, None, lower, split_punct, max_length)
        if level == "word":
            corpus = "\n".join(" ".join(self.words(t)) for t in texts)
            self.tokenizer = make_tokenizer("word", corpus, min_freq=min_freq, max_size=max_vocab)
        else:
            corpus = "\n".join(t.lower() if lower else t for t in texts)
            if not corpus.strip():
                raise ValueError("the training texts are all empty; BPE needs some text")
            self.tokenizer = make_tokenizer("bpe", corpus, vocab_size=bpe_vocab_size)
        return self

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size + (1 if self.level == "bpe" else 0)

    @property
    def end_id(self) -> int:
        return self.tokenizer.eos_id if self.level == "word" else self.tokenizer.vocab_size

    def words(self, text: str) -> list[str]:
        return normalize(text, self.lower, self.split_punct)

    def encode(self, text: str) -> tuple[list[int], bool]:
        """``(ids, truncated)`` of one text."""
        if not isinstance(text, str):
            raise ValueError(f"expected texts as str, got {type(text).__name__}: {text!r}")
        if self.level == "word":
            get = self.tokenizer.stoi.get
            ids = [get(w, self.tokenizer.unk_id) for w in self.words(text)]
        else:
            ids = self.tokenizer.encode(" ".join((text.lower() if self.lower else text).split()))
        truncated = len(ids) > self.max_length - 1
        return [*ids[: self.max_length - 1], self.end_id], truncated

    def tokens(self, text: str) -> list[str]:
        """The token strings of one text as the model sees them (for ``explain``), ending
        in ``<eos>``. A BPE piece is shown as its text, a byte of a character split across
        pieces as ``<0xNN>`` (a character that training never saw is such bytes)."""
        ids, _ = self.encode(text)
        if self.level == "word":
            return [self.tokenizer.words[i] for i in ids]
        return [self.tokenizer.piece(i) for i in ids[:-1]] + ["<eos>"]

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "lower": self.lower, "split_punct": self.split_punct,
                "max_length": self.max_length, "tokenizer": self.tokenizer.to_dict()}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextIds:
        return cls(d["level"], tokenizer_from_dict(d["tokenizer"]), d["lower"], d["split_punct"],
                   d["max_length"])  # fmt: skip


def pad_batch(seqs: list[list[int]], pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """``(ids (B, T), lengths (B,))``, padded with ``pad_id`` (never read: lengths)."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    ids = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return ids, lengths
