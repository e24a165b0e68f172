r"""The acoustic model behind :class:`rnnkit.SpeechRecognizer` (after DeepSpeech 2, Amodei
et al. 2016, sec. 3: convolutions over time, recurrent layers, CTC).

.. code-block:: text

    log-mel (B, T, n_mels)
      -> conv1d(k, stride 1) -> LayerNorm -> GELU          # over time, mel bands as channels
      -> conv1d(k, stride s) -> LayerNorm -> GELU          # T' = ceil(T / s), s <= 2
      -> GRU/LSTM stack (rnnkit.nn; bidirectional offline, unidirectional streaming)
      -> Linear -> log-softmax over blank + characters     (B, T', V)

With ``frontend="conv2d"`` the two convolutions run over time *and* frequency instead
(DeepSpeech 2's 2-D variant, sec. 3.5): ``conv2d_channels`` maps, kernel 5 bands x ``k``
frames, stride 2 in frequency (40 bands -> 20 -> 10) and ``s`` in time, a LayerNorm over
each frame's maps x bands; the recurrent stack reads each frame's maps x bands flattened. A
filter that slides along the mel axis responds to a formant pattern wherever it sits, which
is what a new voice with a longer or shorter vocal tract changes.

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
FRONTENDS = ("conv1d", "conv2d")
FREQ_KERNEL, FREQ_STRIDE = 5, 2  # the 2-D front end's convolutions along the mel axis


def _bands_after(n_mels: int, layers: int) -> int:
    """Mel bands left after ``layers`` 2-D convolutions (padding 2, stride 2: ceil(n / 2))."""
    for _ in range(layers):
        n_mels = (n_mels + 2 * (FREQ_KERNEL // 2) - FREQ_KERNEL) // FREQ_STRIDE + 1
    return n_mels


@dataclass(frozen=True)
class AcousticConfig:
    n_mels: int
    vocab_size: int  # blank + characters
    conv_channels: int = 128
    conv_kernel: int = 5
    # "conv2d": convolutions over time and frequency (SpeechRecognizer's default); the
    # dataclass keeps "conv1d" so that saved configs from before the field load unchanged
    frontend: str = "conv1d"
    conv2d_channels: int = 32
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
        if self.frontend not in FRONTENDS:
            raise ValueError(f"frontend must be one of {FRONTENDS}, got {self.frontend!r}")
        if self.conv_channels < 1 or self.conv2d_channels < 1:
            raise ValueError(
                f"conv_channels and conv2d_channels must be >= 1, got {self.conv_channels} "
                f"and {self.conv2d_channels}"
            )
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

    @property
    def front_size(self) -> int:
        """Features per frame that the front end hands the recurrent stack."""
        if self.frontend == "conv1d":
            return self.conv_channels
        return self.conv2d_channels * _bands_after(self.n_mels, 2)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class AcousticModel(nn.Module):
    def __init__(self, config: AcousticConfig) -> None:
        super().__init__()
        self.config = c = config
        k, C = c.conv_kernel, c.conv_channels
        if c.frontend == "conv1d":
            self.convs = nn.ModuleList(
                [nn.Conv1d(c.n_mels, C, k), nn.Conv1d(C, C, k, stride=c.subsample)]
            )
            self.norms = nn.ModuleList([nn.LayerNorm(C), nn.LayerNorm(C)])
        else:  # time is the last axis; frequency is padded by the convolution itself
            M, fp = c.conv2d_channels, FREQ_KERNEL // 2
            self.convs = nn.ModuleList([
                nn.Conv2d(1, M, (FREQ_KERNEL, k), stride=(FREQ_STRIDE, 1), padding=(fp, 0)),
                nn.Conv2d(M, M, (FREQ_KERNEL, k), stride=(FREQ_STRIDE, c.subsample),
                          padding=(fp, 0)),
            ])  # fmt: skip
            self.norms = nn.ModuleList(
                [nn.LayerNorm([M, _bands_after(c.n_mels, i)]) for i in (1, 2)]
            )
        self.rnn = CELLS[c.cell](c.front_size, c.hidden_size, c.num_layers, dropout=c.dropout
                                 if c.num_layers > 1 else 0.0, bidirectional=c.bidirectional,
                                 impl=c.impl)  # fmt: skip
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size * (2 if c.bidirectional else 1), c.vocab_size)

    def out_lengths(self, lengths: Tensor) -> Tensor:
        s = self.config.subsample
        return (lengths + s - 1) // s

    def _conv(self, i: int, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, C, [F,] T)`` through conv ``i`` (time padded per the config), norm, GELU,
        frames past ``lengths`` zeroed."""
        conv, k = self.convs[i], self.config.conv_kernel
        pad = (k - 1, 0) if self.config.causal else ((k - 1) // 2, (k - 1) // 2)
        y = conv(F.pad(x, pad))  # pads the last (time) axis only
        s = conv.stride[-1]
        if s > 1:
            lengths = (lengths + s - 1) // s
        y = self._post(i, y)
        mask = torch.arange(y.shape[-1], device=y.device)[None, :] < lengths[:, None]
        return y * mask.view(mask.shape[0], *[1] * (y.dim() - 2), -1), lengths

    def _post(self, i: int, y: Tensor) -> Tensor:
        """LayerNorm over each frame's channels (and bands), then GELU."""
        return F.gelu(self.norms[i](y.movedim(-1, 1))).movedim(1, -1)

    def _front_in(self, feats: Tensor) -> Tensor:
        """``(B, T, n_mels)`` -> the first convolution's input, time last:
        ``(B, n_mels, T)``, or ``(B, 1, n_mels, T)`` for the 2-D front end."""
        x = feats.transpose(1, 2)
        return x.unsqueeze(1) if self.config.frontend == "conv2d" else x

    @staticmethod
    def _front_out(x: Tensor) -> Tensor:
        """The last convolution's ``(B, C, [F,] T')`` -> ``(B, T', front_size)``."""
        return x.flatten(1, -2).transpose(1, 2)

    def front(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``feats (B, T, n_mels)`` -> ``(B, T', front_size)`` and ``lengths'``."""
        x = self._front_in(feats)
        for i in range(len(self.convs)):
            x, lengths = self._conv(i, x, lengths)
        return self._front_out(x), lengths

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
        self.history: list[Tensor | None] = [None, None]  # (1, C, [F,] k - 1), made on first use
        self.seen = [0, 0]

    @torch.no_grad()
    def __call__(self, frames: Tensor) -> Tensor:
        """``frames (n, n_mels)`` normalised features -> new ``(m, front_size)`` outputs."""
        x = self.model._front_in(frames[None])
        for i, conv in enumerate(self.model.convs):
            s, k, n = conv.stride[-1], conv.kernel_size[-1], x.shape[-1]
            if self.history[i] is None:
                self.history[i] = x.new_zeros(*x.shape[:-1], k - 1)
            buf = torch.cat([self.history[i], x], dim=-1)
            first = -(-self.seen[i] // s) * s - self.seen[i]  # offset of the next output's window
            self.history[i] = buf[..., buf.shape[-1] - (k - 1) :]
            self.seen[i] += n
            if buf.shape[-1] - first < k:
                return x.new_zeros(0, self.model.config.front_size)
            x = self.model._post(i, conv(buf[..., first:]))
        return self.model._front_out(x)[0]
