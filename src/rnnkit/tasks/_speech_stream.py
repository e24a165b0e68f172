"""Live transcription with a streaming :class:`rnnkit.SpeechRecognizer`.

Everything that must persist between chunks lives in the :class:`SpeechStream` object (the
model keeps no state, STYLE.md): the samples not yet framed, each causal convolution's last
``k - 1`` inputs, the recurrent state, and the log-probabilities so far.

Latency: a 10 ms feature frame is computed once its whole window (``n_fft`` samples, 32 ms
at 8 kHz) has arrived (``center=False``: no future samples), the causal convolutions look at
no future frames, and the unidirectional recurrent stack steps once per output frame (every
20 ms with ``subsample=2``). So a word's last frames are out at most one window plus one
chunk after they are spoken, plus compute time (``benchmarks/speech_fsdd.py`` measures it).
The final text equals the offline transcription of the same audio by the same model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..data.audio import to_float_audio
from ..data.features import LogMel
from ._acoustic import AcousticModel, StreamingFrontEnd

if TYPE_CHECKING:
    from .speech import SpeechRecognizer


class SpeechStream:
    """``feed(chunk) -> partial text``; ``finish() -> final text`` (see the module docstring)."""

    def __init__(self, recognizer: SpeechRecognizer, model: AcousticModel) -> None:
        self.recognizer, self.model = recognizer, model
        self.features = LogMel(recognizer.feature_config)
        cfg = self.features.config
        self.n_fft, self.hop = cfg.n_fft, cfg.hop_length
        self.front = StreamingFrontEnd(model)
        self.pending = np.zeros(0, dtype=np.float32)
        self.state: Any = None
        self.rows: list[torch.Tensor] = []
        self.samples = self.frames = 0
        self.finished = False
        self._best: list[int] = []
        self._prev = 0

    @property
    def sample_rate(self) -> int:
        return self.features.config.sample_rate

    def feed(self, chunk: Any) -> str:
        """Add ``chunk`` (mono samples at the model's rate: floats in [-1, 1], or integer PCM,
        scaled by its full scale) and return the text so far (greedy over the frames heard;
        :meth:`finish` applies the configured decoder). A chunk with NaN or infinite samples
        is refused and leaves the stream as it was."""
        if self.finished:
            raise ValueError("this stream is finished; start another with recognizer.stream()")
        chunk = to_float_audio(chunk, "the chunk")
        if chunk.ndim != 1:
            raise ValueError(f"expected a 1-D chunk of mono samples, got shape {chunk.shape}")
        self.samples += chunk.size
        self.pending = np.concatenate([self.pending, chunk])
        if self.pending.size >= self.n_fft:
            m = (self.pending.size - self.n_fft) // self.hop + 1
            audio = torch.from_numpy(self.pending[: (m - 1) * self.hop + self.n_fft])
            self._frames(self.features(audio))
            self.pending = self.pending[m * self.hop :]
        return self.partial()

    def finish(self) -> str:
        """End of audio: the final transcript (the recognizer's decoder: greedy or beam);
        ``""`` when no samples were fed."""
        if not self.finished:
            self.finished = True
            if self.frames == 0 and self.samples:  # under one window: padded, as offline
                self._frames(self.features(torch.from_numpy(self.pending)))
        lp = self.log_probs()
        return self.recognizer.decoder().decode(lp.numpy()) if lp.shape[0] else ""

    def log_probs(self) -> torch.Tensor:
        """All per-frame log-probabilities so far, ``(T', V)``."""
        if not self.rows:
            return torch.zeros(0, len(self.recognizer.vocab))
        return torch.stack(self.rows)

    def partial(self) -> str:
        return "".join(self.recognizer.vocab[k] for k in self._best).strip()

    @torch.no_grad()
    def _frames(self, feats: torch.Tensor) -> None:
        self.frames += feats.shape[0]
        h = self.front(self.recognizer.normalize(feats))
        rnn, head = self.model.rnn, self.model.head
        for t in range(h.shape[0]):
            y, self.state = rnn.step(h[t : t + 1], self.state)
            row = torch.log_softmax(head(y)[0], dim=-1)
            self.rows.append(row)
            k = int(row.argmax())
            if k != 0 and k != self._prev:
                self._best.append(k)
            self._prev = k
