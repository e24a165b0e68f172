r"""Log-mel filterbank features, their normalisation, and SpecAugment.

The mel scale is Slaney's (Auditory Toolbox; librosa's default, ``htk=False``): linear below
1 kHz, logarithmic above,

.. math::
    m(f) = \begin{cases} 3f/200 & f < 1000 \\
           15 + 27 \ln(f/1000) / \ln 6.4 & f \ge 1000 \end{cases}

and each triangular filter is scaled to unit area (Slaney normalisation: weight
``2 / (f_{i+2} - f_i)``), so a filter's response does not grow with its width. The power
spectrum is ``|STFT|^2`` from :func:`torch.stft` with a periodic Hann window of
``win_length`` samples centred in ``n_fft``; the features are ``log(mel + 1e-6)``, and with
``dynamic_range_db = D`` no lower than the utterance's peak value minus ``D`` dB
(librosa's ``top_db``): recordings whose background noise lies 40 or 70 dB under the
speech then have the same floor.

Framing: ``center=True`` (offline models) pads ``n_fft // 2`` zeros on both sides, so frame
``k`` is centred on sample ``k * hop``; ``center=False`` (streaming models) takes frame ``k``
from samples ``[k * hop, k * hop + n_fft)``, which needs no future audio beyond the frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

_F_SP = 200.0 / 3  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (see the module docstring)."""
    f = np.asarray(f, dtype=np.float64)
    linear = f / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    return np.where(
        m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m
    )


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:  # fmt: skip
    """``(n_mels, n_fft // 2 + 1)`` triangular filters, Slaney scale and area normalisation."""
    fmax = sample_rate / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(
            f"expected 0 <= fmin < fmax <= sample_rate/2 = {sample_rate / 2}, got {fmin}, {fmax}"
        )
    fft_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes features (saved with the model)."""

    sample_rate: int = 16000
    n_mels: int = 40
    win_ms: float = 25.0
    hop_ms: float = 10.0
    fmin: float = 0.0
    fmax: float | None = None
    center: bool = True  # False for streaming models
    normalize: str = "utterance"  # "utterance" or "speaker" (offline), "global" (streaming)
    dynamic_range_db: float | None = None  # floor: the utterance's peak minus this (offline)
    cepstral_smoothing: int | None = None  # keep this many cepstral coefficients (see LogMel)

    def __post_init__(self) -> None:
        if self.sample_rate < 1000:
            raise ValueError(f"expected a sample rate of at least 1000 Hz, got {self.sample_rate}")
        if isinstance(self.n_mels, bool) or not isinstance(self.n_mels, int) or self.n_mels < 1:
            raise ValueError(f"expected n_mels >= 1 mel bands, got {self.n_mels!r}")
        if self.normalize not in ("utterance", "speaker", "global"):
            raise ValueError(
                f"normalize must be 'utterance', 'speaker' or 'global', got {self.normalize!r}"
            )
        if not 0 < self.hop_ms <= self.win_ms:
            raise ValueError(f"expected 0 < hop_ms <= win_ms, got {self.hop_ms}, {self.win_ms}")
        if self.dynamic_range_db is not None:
            if not self.dynamic_range_db > 0:
                raise ValueError(f"expected dynamic_range_db > 0, got {self.dynamic_range_db}")
            if not self.center:
                raise ValueError(
                    "dynamic_range_db needs the whole utterance (its peak): offline models only"
                )
        if self.cepstral_smoothing is not None and not 1 <= self.cepstral_smoothing <= self.n_mels:
            raise ValueError(
                f"expected 1 <= cepstral_smoothing <= n_mels = {self.n_mels}, "
                f"got {self.cepstral_smoothing}"
            )

    @property
    def win_length(self) -> int:
        return round(self.sample_rate * self.win_ms / 1000)

    @property
    def hop_length(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def n_fft(self) -> int:
        return 1 << (self.win_length - 1).bit_length()

    def to_dict(self) -> dict:
        return asdict(self)


class LogMel:
    """``audio (N,)`` or ``(B, N)`` -> log-mel ``(frames, n_mels)`` / ``(B, frames, n_mels)``."""

    def __init__(self, config: FeatureConfig) -> None:
        c = self.config = config
        fb = mel_filterbank(c.sample_rate, c.n_fft, c.n_mels, c.fmin, c.fmax)
        self.filters = torch.tensor(fb, dtype=torch.float32).T.contiguous()  # (F, n_mels)
        self.window = torch.hann_window(c.win_length, periodic=True)
        self.smoother = None
        if c.cepstral_smoothing is not None and c.cepstral_smoothing < c.n_mels:
            m, k = np.arange(c.n_mels), np.arange(c.cepstral_smoothing)
            dct = np.cos(np.pi / c.n_mels * (m[None, :] + 0.5) * k[:, None])  # DCT-II rows
            dct *= np.sqrt(2.0 / c.n_mels)
            dct[0] /= np.sqrt(2.0)  # orthonormal
            self.smoother = torch.tensor(dct.T @ dct, dtype=torch.float32)

    def num_frames(self, num_samples: int) -> int:
        c = self.config
        if c.center:
            return num_samples // c.hop_length + 1
        return max(num_samples - c.n_fft, 0) // c.hop_length + 1

    def __call__(self, audio: Tensor) -> Tensor:
        c = self.config
        audio = torch.as_tensor(audio, dtype=torch.float32)
        if not c.center and audio.shape[-1] < c.n_fft:  # one frame at least
            audio = torch.nn.functional.pad(audio, (0, c.n_fft - audio.shape[-1]))
        spec = torch.stft(audio, c.n_fft, c.hop_length, c.win_length, self.window,
                          center=c.center, pad_mode="constant", return_complex=True)  # fmt: skip
        power = spec.real.square() + spec.imag.square()  # (..., F, frames)
        logmel = torch.log(power.transpose(-1, -2) @ self.filters + 1e-6)
        if c.dynamic_range_db is not None:  # equal silence floors whatever the recording's
            peak = logmel.amax(dim=(-2, -1), keepdim=True)
            logmel = torch.maximum(logmel, peak - c.dynamic_range_db * math.log(10) / 10)
        if self.smoother is not None:  # the spectral envelope: harmonics of the pitch removed
            logmel = logmel @ self.smoother
        return logmel


def normalize_utterance(feats: Tensor) -> Tensor:
    """Per-utterance mean and variance normalisation of each mel band (``(T, n_mels)``)."""
    mean = feats.mean(dim=0, keepdim=True)
    std = feats.std(dim=0, keepdim=True, unbiased=False) if feats.shape[0] > 1 else None
    return (feats - mean) / (std.clamp_min(1e-3) if std is not None else 1.0)


def band_statistics(feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation (floored at 1e-3) of each mel band over every frame of
    ``feats`` (a list of ``(T, n_mels)``): one speaker's or one data set's statistics."""
    frames = torch.cat(list(feats))
    return frames.mean(dim=0), frames.std(dim=0, unbiased=False).clamp_min(1e-3)


def spec_augment(feats: Tensor, lengths: Tensor, generator: torch.Generator | None = None,
                 freq_masks: int = 2, freq_width: int = 6, time_masks: int = 2,
                 time_width: int = 8, max_time_fraction: float = 0.15) -> Tensor:  # fmt: skip
    """SpecAugment (Park et al. 2019, sec. 2) without time warping: zero ``freq_masks``
    bands of up to ``freq_width`` mel channels and ``time_masks`` spans of up to
    ``min(time_width, max_time_fraction * length)`` frames in each utterance of
    ``feats (B, T, n_mels)``. Zero is the features' mean after normalisation."""
    B, _, M = feats.shape
    out = feats.clone()
    for b in range(B):
        for _ in range(freq_masks):
            w = int(torch.randint(0, freq_width + 1, (1,), generator=generator))
            f0 = int(torch.randint(0, max(M - w, 0) + 1, (1,), generator=generator))
            out[b, :, f0 : f0 + w] = 0
        n = int(lengths[b])
        cap = min(time_width, int(max_time_fraction * n))
        for _ in range(time_masks):
            w = int(torch.randint(0, cap + 1, (1,), generator=generator))
            t0 = int(torch.randint(0, max(n - w, 0) + 1, (1,), generator=generator))
            out[b, t0 : t0 + w] = 0
    return out


__all__ = [
    "FeatureConfig",
    "LogMel",
    "hz_to_mel",
    "mel_filterbank",
    "mel_to_hz",
    "normalize_utterance",
    "spec_augment",
]
