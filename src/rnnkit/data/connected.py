"""Connected speech from isolated words: join recordings of one speaker with random pauses,
over background noise at a chosen signal-to-noise ratio, and say what was said.

Isolated-word corpora (FSDD) give CTC one label sequence per clip; strings of several words
with pauses between them teach it alignments, blank stretches and word boundaries, and test
whether a recogniser trained on them copes with continuous input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .audio import Utterance, read_audio


@dataclass(frozen=True)
class ConnectedSpeech:
    """Draw multi-word utterances from ``items`` (isolated labelled recordings).

    Args:
        items: the recordings; each string uses one speaker's (``Utterance.speaker``; an empty
            speaker counts as one speaker).
        sample_rate: the rate of the result (recordings are resampled to it).
        min_words, max_words: words per string, drawn uniformly.
        pause: ``(shortest, longest)`` silence between words (and at both ends), seconds.
        snr_db: speech-to-noise power ratio of the added white background noise, in dB
            (``None``: no noise). Speech power is measured over the recordings' samples only.
    """

    items: Sequence[Utterance]
    sample_rate: int
    min_words: int = 3
    max_words: int = 7
    pause: tuple[float, float] = (0.05, 0.35)
    snr_db: float | None = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError(
                f"expected 1 <= min_words <= max_words, got {self.min_words}, {self.max_words}"
            )
        if not 0 <= self.pause[0] <= self.pause[1]:
            raise ValueError(f"expected pause (shortest, longest) >= 0, got {self.pause}")
        if not self.items:
            raise ValueError("expected some recordings to join, got none")

    def generate(
        self, count: int, seed: int = 0, cache: dict[str, np.ndarray] | None = None
    ) -> Iterator[tuple[np.ndarray, str]]:
        """``count`` pairs ``(audio float32 at sample_rate, transcript)``, reproducible by seed.

        ``cache`` (path -> waveform at ``sample_rate``) spares re-reading recordings.
        """
        for audio, text, _ in self.generate_with_speakers(count, seed, cache):
            yield audio, text

    def generate_with_speakers(
        self, count: int, seed: int = 0, cache: dict[str, np.ndarray] | None = None
    ) -> Iterator[tuple[np.ndarray, str, str]]:
        """As :meth:`generate`, with each string's speaker: ``(audio, transcript, speaker)``
        (the same strings for the same seed)."""
        rng = np.random.default_rng(seed)
        cache = {} if cache is None else cache
        by_speaker: dict[str, list[Utterance]] = {}
        for u in self.items:
            by_speaker.setdefault(u.speaker, []).append(u)
        speakers = sorted(by_speaker)
        for _ in range(count):
            pool = by_speaker[speakers[rng.integers(len(speakers))]]
            n = int(rng.integers(self.min_words, self.max_words + 1))
            picks = [pool[i] for i in rng.integers(len(pool), size=n)]
            yield *self.join(picks, rng, cache), picks[0].speaker

    def join(self, picks: Sequence[Utterance], rng: np.random.Generator,
             cache: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:  # fmt: skip
        """One string: the recordings of ``picks`` in order, pauses between, noise over all."""
        sr = self.sample_rate
        pieces: list[np.ndarray] = []
        speech_power, speech_samples = 0.0, 0
        for u in picks:
            pieces.append(np.zeros(self._pause(rng), dtype=np.float32))
            audio = cache.get(u.path)
            if audio is None:
                audio = cache[u.path] = read_audio(u.path, sr)[0]
            pieces.append(audio)
            speech_power += float(np.square(audio, dtype=np.float64).sum())
            speech_samples += audio.size
        pieces.append(np.zeros(self._pause(rng), dtype=np.float32))
        out = np.concatenate(pieces)
        if self.snr_db is not None:
            power = speech_power / max(speech_samples, 1)
            noise_power = power / 10 ** (self.snr_db / 10)
            out = out + rng.normal(0.0, np.sqrt(noise_power), out.size).astype(np.float32)
        return out.astype(np.float32, copy=False), " ".join(u.text for u in picks)

    def _pause(self, rng: np.random.Generator) -> int:
        lo, hi = self.pause
        return round(float(rng.uniform(lo, hi)) * self.sample_rate)


__all__ = ["ConnectedSpeech"]
