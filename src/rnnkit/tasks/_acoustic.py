r"""The acoustic model behind :class:`rnnkit.SpeechRecognizer` (after DeepSpeech 2, Amodei
et al. 2016, sec. 3: convolutions over time, recurrent layers, CTC).

.. code-block:: text

    log-mel (B, T, n_mels)
      -> conv1d(k, stride 1) -> LayerNorm -> GELU          # over time, mel bands as channels
      -> conv1d(k, stride s) -> LayerNorm -> GELU          # T' = ceil(T / s), s <= 2
      -> GRU/LSTM stack (rnnkit.nn; bidirectional offline, unidirectional streaming)
      -> Linear -> log-softmax over blank + characters     (B, T', V)

Time subsampling is at most 2x at a 10 ms hop: the shortest FSDD clips are 0.14 s (14 frames)
and CTC needs a frame per label plus one between repeated labels. ``lengths`` follow the
convolutions (``ceil(length / s)``), and frames past a length are zeroed after every
convolution, so padding never leaks into a shorter utterance of a batch.

Offline models pad the convolutions on both sides (``(k-1)/2``); streaming models pad on the
left only (``k-1``: causal), so output frame ``j`` depends on input frames up to ``j*s``, and
:class:`StreamingFrontEnd` computes exactly the same frames chunk by chunk.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import nn as rnn

CELLS = {"lstm": rnn.LSTM, "gru": rnn.GRU}


@dataclass(frozen=True)
class AcousticConfig:
    n_mels: int
    vocab_size: int  # blank + characters
    conv_channels: int = 128
    conv_kernel: int = 5
    subsample: int = 2
    cell: str = "gru"
    hidden_size: int = 192
    num_layers: int = 2
    bidirectional: bool = True  # False: a streaming model (causal convolutions too)
    dropout: float = 0.1
    impl: str = "auto"

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        if self.subsample not in (1, 2):
            raise ValueError(
                f"subsample must be 1 or 2 (CTC needs frames: FSDD clips are as short as "
                f"14 frames), got {self.subsample}"
            )
        if self.conv_kernel < 1 or self.conv_kernel % 2 == 0:
            raise ValueError(f"conv_kernel must be a positive odd number, got {self.conv_kernel}")
        if self.vocab_size < 2:
            raise ValueError(f"expected blank and at least one character, got {self.vocab_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def causal(self) -> bool:
        return not self.bidirectional

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class AcousticModel(nn.Module):
    def __init__(self, config: AcousticConfig) -> None:
        super().__init__()
        self.config = c = config
        k, C = c.conv_kernel, c.conv_channels
        self.convs = nn.ModuleList(
            [nn.Conv1d(c.n_mels, C, k), nn.Conv1d(C, C, k, stride=c.subsample)]
        )
        self.norms = nn.ModuleList([nn.LayerNorm(C), nn.LayerNorm(C)])
        self.rnn = CELLS[c.cell](C, c.hidden_size, c.num_layers, dropout=c.dropout if
                                 c.num_layers > 1 else 0.0, bidirectional=c.bidirectional,
                                 impl=c.impl)  # fmt: skip
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size * (2 if c.bidirectional else 1), c.vocab_size)

    def out_lengths(self, lengths: Tensor) -> Tensor:
        s = self.config.subsample
        return (lengths + s - 1) // s

    def _conv(self, i: int, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, C, T)`` through conv ``i`` (padded per the config), norm, GELU, masked."""
        conv, k = self.convs[i], self.config.conv_kernel
        pad = (k - 1, 0) if self.config.causal else ((k - 1) // 2, (k - 1) // 2)
        y = conv(F.pad(x, pad))
        if conv.stride[0] > 1:
            lengths = (lengths + conv.stride[0] - 1) // conv.stride[0]
        y = F.gelu(self.norms[i](y.transpose(1, 2))).transpose(1, 2)
        mask = torch.arange(y.shape[2], device=y.device)[None, :] < lengths[:, None]
        return y * mask[:, None, :], lengths

    def front(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``feats (B, T, n_mels)`` -> ``(B, T', C)`` and ``lengths'``."""
        x = feats.transpose(1, 2)
        for i in range(len(self.convs)):
            x, lengths = self._conv(i, x, lengths)
        return x.transpose(1, 2), lengths

    def forward(
        self, x: tuple[Tensor, Tensor], state: Any = None
    ) -> tuple[tuple[Tensor, Tensor], Any]:
        """``(feats (B, T, n_mels), lengths (B,))`` ->
        ``((log_probs (B, T', V), lengths'), state)``."""
        feats, lengths = x
        h, lengths = self.front(feats, lengths)
        out, state = self.rnn(self.drop(h), state, lengths=lengths)
        return (torch.log_softmax(self.head(self.drop(out)), dim=-1), lengths), state


def ctc_loss(out: tuple[Tensor, Tensor], y: Tensor) -> tuple[Tensor, int]:
    """Mean CTC loss per label (``torch.nn.CTCLoss``, blank 0, ``zero_infinity=True``: an
    utterance too short for its labels contributes nothing instead of infinity).

    ``y (B, S)``: label ids padded with -1."""
    log_probs, lengths = out
    target_lengths = (y >= 0).sum(1)
    targets = y.clamp_min(0)
    loss = F.ctc_loss(log_probs.transpose(0, 1).float(), targets, lengths, target_lengths,
                      blank=0, reduction="sum", zero_infinity=True)  # fmt: skip
    n = int(target_lengths.sum())
    return loss / max(n, 1), n


class StreamingFrontEnd:
    """The causal convolutions of a streaming :class:`AcousticModel`, fed chunk by chunk.

    Each convolution keeps the last ``k - 1`` inputs it has seen (zeros at first: the same
    left padding as the offline pass) and the number of inputs so far; output ``j`` of a
    stride-``s`` convolution covers inputs ``[j*s - k + 1, j*s]`` and is computed as soon as
    input ``j*s`` arrives.
    """

    def __init__(self, model: AcousticModel) -> None:
        if not model.config.causal:
            raise ValueError("streaming needs a unidirectional model (streaming=True)")
        self.model = model
        C, k = model.config.conv_channels, model.config.conv_kernel
        ins = [model.config.n_mels, C]
        self.history = [torch.zeros(1, c, k - 1) for c in ins]
        self.seen = [0, 0]

    @torch.no_grad()
    def __call__(self, frames: Tensor) -> Tensor:
        """``frames (n, n_mels)`` normalised features -> new ``(m, C)`` front-end outputs."""
        x = frames.T.unsqueeze(0)  # (1, n_mels, n)
        for i, conv in enumerate(self.model.convs):
            s, n = conv.stride[0], x.shape[2]
            buf = torch.cat([self.history[i], x], dim=2)
            first = -(-self.seen[i] // s) * s - self.seen[i]  # offset of the next output's window
            k = conv.kernel_size[0]
            self.history[i] = buf[:, :, buf.shape[2] - (k - 1) :] if k > 1 else buf[:, :, :0]
            self.seen[i] += n
            if buf.shape[2] - first < k:
                return x.new_zeros(0, self.model.config.conv_channels)
            y = conv(buf[:, :, first:])
            x = F.gelu(self.model.norms[i](y.transpose(1, 2))).transpose(1, 2)
        return x[0].T
