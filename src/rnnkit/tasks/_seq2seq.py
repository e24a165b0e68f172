"""The encoder-decoder network behind :class:`rnnkit.Translator`.

Encoder: source embeddings -> a bidirectional rnnkit ``GRU``/``LSTM`` stack run with
``lengths`` (padding never enters the states), giving the memory ``m (B, S, 2 He)``.

Decoder (Luong, Pham & Manning 2015, sections 3 and 3.3, "input feeding"), one step:

.. math::
    h_t &= \\mathrm{RNN}([E y_{t-1};\\ \\tilde h_{t-1}],\\ h_{t-1}) \\\\
    c_t, a_t &= \\mathrm{Attention}(h_t, m, \\text{mask}) \\\\
    \\tilde h_t &= \\tanh(W_c [c_t; h_t]) \\\\
    p(y_t \\mid y_{<t}, x) &= \\mathrm{softmax}(W_o\\, \\mathrm{dropout}(\\tilde h_t) + b_o)

The attention score is dot, general (Luong) or additive (Bahdanau et al. 2015), see
:mod:`rnnkit.nn.attention`. The decoder's initial state is a ``tanh`` bridge of the
encoder's last-layer final states (forward and backward concatenated). With
``tie_embeddings`` the output matrix is the target embedding (Press & Wolf 2017; Inan et
al. 2017): ``W_o = E P`` with a projection ``P (E, H)`` when the sizes differ. Decoder
cells are rnnkit cells stepped in a Python loop (the attention of step ``t`` feeds step
``t+1``, so the decoder cannot run as one fused sequence); the vocabulary projection runs
once over all steps.

Decoder state for search is a tuple of batch-first tensors (``(B, L, H)`` hidden [, cell],
``(B, H)`` the fed attentional vector), so a beam reorders it with ``index_select(0, ...)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.subword import BOS_ID, EOS_ID, PAD_ID
from ..functional.cells import _gru_combine
from ..nn import GRU, LSTM, GRUCell, LSTMCell
from ..nn.attention import KINDS, Attention, length_mask

ENCODERS = {"gru": GRU, "lstm": LSTM}
CELLS = {"gru": GRUCell, "lstm": LSTMCell}


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Architecture of the translator's network (vocabulary sizes come from the data)."""

    src_vocab_size: int
    tgt_vocab_size: int
    cell: str = "gru"
    embedding_size: int = 256
    encoder_size: int = 256  # per direction
    encoder_layers: int = 1
    decoder_size: int = 512
    decoder_layers: int = 1
    attention: str = "general"
    dropout: float = 0.3  # embeddings, between layers, attentional output
    recurrent_dropout: float = 0.0  # encoder: variational dropout on h
    weight_drop: float = 0.0  # encoder: DropConnect on W_hh
    zoneout: float = 0.0  # encoder
    tie_embeddings: bool = True  # target embedding = output matrix
    share_embeddings: bool = False  # one embedding for source and target (joint vocab)
    impl: str = "auto"

    def __post_init__(self) -> None:
        if self.cell not in ENCODERS:
            raise ValueError(f"cell must be 'gru' or 'lstm', got {self.cell!r}")
        if self.attention not in KINDS:
            raise ValueError(f"attention must be one of {KINDS}, got {self.attention!r}")
        for name in ("src_vocab_size", "tgt_vocab_size"):
            if getattr(self, name) < 5:
                raise ValueError(f"{name} must be at least 5 (4 specials + 1), got "
                                 f"{getattr(self, name)}")  # fmt: skip
        for name in ("embedding_size", "encoder_size", "encoder_layers", "decoder_size",
                     "decoder_layers"):  # fmt: skip
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("dropout", "recurrent_dropout", "weight_drop", "zoneout"):
            p = getattr(self, name)
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p!r}")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError("share_embeddings needs one vocabulary (joint_vocab=True)")
        if self.attention == "dot" and 2 * self.encoder_size != self.decoder_size:
            raise ValueError(
                f"dot attention needs decoder_size == 2 * encoder_size (bidirectional), got "
                f"{self.decoder_size} and {self.encoder_size}; use attention='general'"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Memory(NamedTuple):
    """The encoded source: ``memory (B, S, M)``, its attention ``keys``, ``mask (B, S)``."""

    memory: Tensor
    keys: Tensor
    mask: Tensor

    def select(self, index: Tensor) -> Memory:
        return Memory(*(t.index_select(0, index) for t in self))


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = c = config
        E, He, H, L = c.embedding_size, c.encoder_size, c.decoder_size, c.decoder_layers
        self.src_embedding = nn.Embedding(c.src_vocab_size, E, padding_idx=PAD_ID)
        self.tgt_embedding = self.src_embedding
        if not c.share_embeddings:
            self.tgt_embedding = nn.Embedding(c.tgt_vocab_size, E, padding_idx=PAD_ID)
        self.encoder = ENCODERS[c.cell](
            E, He, c.encoder_layers, dropout=c.dropout if c.encoder_layers > 1 else 0.0,
            bidirectional=True, recurrent_dropout=c.recurrent_dropout,
            weight_drop=c.weight_drop, zoneout=c.zoneout, impl=c.impl,
        )  # fmt: skip
        n_state = 2 if c.cell == "lstm" else 1
        self.bridge = nn.Linear(2 * He, n_state * L * H)
        cell = CELLS[c.cell]
        self.cells = nn.ModuleList(cell(E + H if i == 0 else H, H) for i in range(L))
        self.attention = Attention(H, 2 * He, c.attention)
        self.to_attentional = nn.Linear(2 * He + H, H, bias=False)  # W_c
        self.drop = nn.Dropout(c.dropout)
        if c.tie_embeddings:
            self.to_embedding = nn.Linear(H, E, bias=False) if H != E else nn.Identity()
            self.out_bias = nn.Parameter(torch.zeros(c.tgt_vocab_size))
        else:
            self.head = nn.Linear(H, c.tgt_vocab_size)
        nn.init.normal_(self.src_embedding.weight, std=E**-0.5)
        if not c.share_embeddings:
            nn.init.normal_(self.tgt_embedding.weight, std=E**-0.5)
        with torch.no_grad():
            self.src_embedding.weight[PAD_ID].zero_()
            self.tgt_embedding.weight[PAD_ID].zero_()

    # ------------------------------------------------------------------ pieces
    def logits(self, attentional: Tensor) -> Tensor:
        """``(..., H)`` attentional vectors -> ``(..., V)`` target logits."""
        x = self.drop(attentional)
        if self.config.tie_embeddings:
            return F.linear(self.to_embedding(x), self.tgt_embedding.weight, self.out_bias)
        return self.head(x)

    def encode(self, src: Tensor, lengths: Tensor) -> tuple[Memory, tuple[Tensor, ...]]:
        """``src (B, S)`` ids with ``lengths (B,)`` -> the memory and the decoder's first state."""
        c = self.config
        B = src.shape[0]
        memory, state = self.encoder(self.drop(self.src_embedding(src)), lengths=lengths)
        h_n = state.h if c.cell == "lstm" else state  # (layers*2, B, He)
        last = torch.cat([h_n[-2], h_n[-1]], dim=-1)  # forward and backward of the top layer
        init = torch.tanh(self.bridge(last)).view(B, -1, c.decoder_layers, c.decoder_size)
        feed = memory.new_zeros(B, c.decoder_size)
        mask = length_mask(lengths.to(src.device), src.shape[1])
        mem = Memory(memory, self.attention.keys(memory), mask)
        return mem, (*init.unbind(1), feed)

    def input_gates(self, y: Tensor) -> Tensor:
        """The target-embedding part of the first decoder cell's input gates, for tokens
        ``y`` of any shape: ``W_ih[:, :E] dropout(E y) + b_ih``. Computed for all steps at
        once in training (one matrix product instead of one per step)."""
        cell, E = self.cells[0], self.config.embedding_size
        emb = self.drop(self.tgt_embedding(y))
        return F.linear(emb, cell.weight_ih[:, :E], cell.bias_ih)

    def step(
        self, gates_in: Tensor, state: tuple[Tensor, ...], mem: Memory,
        w_feed: Tensor | None = None,
    ) -> tuple[Tensor, tuple[Tensor, ...], Tensor]:  # fmt: skip
        """One decoder step from ``gates_in = input_gates(y_prev) (B, G*H)`` ->
        ``(attentional (B, H), state, attention weights (B, S))``."""
        lstm = self.config.cell == "lstm"
        first = self.cells[0]
        if w_feed is None:
            w_feed = first.weight_ih[:, self.config.embedding_size :]
        feed = state[-1]
        gi = gates_in + F.linear(feed, w_feed)  # input feeding: [E y; h~] through W_ih
        h0 = state[0][:, 0]
        gh = F.linear(h0, first.weight_hh, first.bias_hh)
        if lstm:
            x, c = _lstm_combine(gi + gh, state[1][:, 0])
            cs = [c]
        else:
            x, cs = _gru_combine(gi, gh, h0), []
        hs = [x]
        for i, cell in enumerate(self.cells[1:], start=1):
            if lstm:
                x, (h, c) = cell(self.drop(x), (state[0][:, i], state[1][:, i]))
                cs.append(c)
            else:
                x, h = cell(self.drop(x), state[0][:, i])
            hs.append(h)
        context, weights = self.attention(x, mem.memory, mem.mask, mem.keys)
        attentional = torch.tanh(self.to_attentional(torch.cat([context, x], dim=-1)))
        new = (torch.stack(hs, 1), torch.stack(cs, 1), attentional) if lstm else (
            torch.stack(hs, 1), attentional)  # fmt: skip
        return attentional, new, weights

    def log_probs(self, attentional: Tensor) -> Tensor:
        """Next-token log-probabilities for search; ``<pad>`` and ``<s>`` are never produced."""
        logits = self.logits(attentional).float()
        logits[:, PAD_ID] = float("-inf")
        logits[:, BOS_ID] = float("-inf")
        return torch.log_softmax(logits, dim=-1)

    # ------------------------------------------------------------------ teacher forcing
    def forward(self, x: tuple[Tensor, Tensor, Tensor], state: Any = None
                ) -> tuple[Tensor, None]:  # fmt: skip
        """``x = (src (B, S), src_lengths (B,), tgt_in (B, T))`` -> ``(logits (N, V), None)``.

        ``tgt_in`` is ``<s> y_1 ... y_{n}`` padded; the logits predict ``y_1 ... </s>`` at
        the ``N`` real (non-padding) target positions only, in row-major order, the order of
        ``y[y != -100]``: the vocabulary projection, the costliest layer, skips padding.
        """
        out, _ = self.teacher_force(*x)
        return self.logits(out[x[2] != PAD_ID]), None

    def teacher_force(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        """Attentional vectors ``(B, T, H)`` and attention weights ``(B, T, S)`` given the
        reference prefix ``tgt_in``."""
        mem, state = self.encode(src, lengths)
        gates_in = self.input_gates(tgt_in)  # (B, T, G*H)
        w_feed = self.cells[0].weight_ih[:, self.config.embedding_size :]
        outs, attns = [], []
        for gates_t in gates_in.unbind(1):  # one backward op, not a zero-filled slice per step
            out, state, weights = self.step(gates_t, state, mem, w_feed)
            outs.append(out)
            attns.append(weights)
        return torch.stack(outs, 1), torch.stack(attns, 1)


def _lstm_combine(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    i, f, g, o = gates.chunk(4, dim=-1)  # torch.nn's gate order
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def make_loss(model: nn.Module, label_smoothing: float):
    """``loss_fn(logits (N, V), y (B, T)) -> (mean loss, n)``: label-smoothed cross-entropy
    in training, plain negative log-likelihood (perplexity's) in evaluation; ``-100``
    targets are padding (``Seq2Seq.forward`` gives logits for the others only)."""

    def loss_fn(logits: Tensor, y: Tensor) -> tuple[Tensor, int]:
        ls = label_smoothing if model.training else 0.0
        y = y[y != -100]  # the model's logits are those of the real positions only
        loss = F.cross_entropy(logits.float(), y, label_smoothing=ls)
        return loss, int(y.numel())

    return loss_fn


def make_batch(
    src: list[list[int]], tgt: list[list[int]] | None = None
) -> tuple[tuple[Tensor, ...], Tensor | None]:
    """Pad id lists into ``((src, lengths, tgt_in), tgt_out)``; a source gets ``</s>``
    appended (so an empty sentence still has one position), a target ``<s>`` in front for
    the input and ``</s>`` behind for the output (``-100`` padding)."""
    src = [[*s, EOS_ID] for s in src]
    lengths = torch.tensor([len(s) for s in src])
    S = int(lengths.max())
    src_t = torch.full((len(src), S), PAD_ID, dtype=torch.long)
    for i, s in enumerate(src):
        src_t[i, : len(s)] = torch.tensor(s)
    if tgt is None:
        return (src_t, lengths), None
    T = max(len(t) for t in tgt) + 1
    tgt_in = torch.full((len(tgt), T), PAD_ID, dtype=torch.long)
    tgt_out = torch.full((len(tgt), T), -100, dtype=torch.long)
    for i, t in enumerate(tgt):
        tgt_in[i, : len(t) + 1] = torch.tensor([BOS_ID, *t])
        tgt_out[i, : len(t) + 1] = torch.tensor([*t, EOS_ID])
    return (src_t, lengths, tgt_in), tgt_out
