"""Log-mel features against reference values computed once with librosa 0.11.0 (outside the
project: ``librosa.filters.mel`` and ``librosa.feature.melspectrogram`` with the arguments
below, numbers copied here), normalisation and SpecAugment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data.features import (
    FeatureConfig,
    LogMel,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
    normalize_utterance,
    spec_augment,
)

# librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax): row sums and maxima of every 7th filter,
# and (filter, bin, weight[bin], weight[bin + 1]) at each listed filter's peak bin.
FILTERBANKS = [
    {
        "args": (8000, 256, 40, 0.0, None),
        "rowsum": [0.031722639, 0.031722635, 0.031722635, 0.032157369, 0.03220873, 0.031890661],
        "rowmax": [0.015861319, 0.014022308, 0.013236959, 0.011708938, 0.0084007494, 0.0053601507],
        "entries": [(0, 2, 0.015861319, 0.0063023814), (9, 18, 0.014654505, 0.010765752),
                    (18, 35, 0.015364383, 0.0080667324), (27, 59, 0.0078595448, 0.0077836495),
                    (36, 101, 0.0052662198, 0.0045835259)],
    },
    {
        "args": (16000, 512, 80, 20.0, 7600.0),
        "rowsum": [0.031364076, 0.034125391, 0.032840963, 0.031364076, 0.030261071, 0.033932805,
                   0.031763449, 0.032436542, 0.032146085, 0.031938653, 0.032025348, 0.032004759],
        "rowmax": [0.022863099, 0.026375143, 0.025090715, 0.021578671, 0.016682209, 0.018472809,
                   0.011497523, 0.011172143, 0.0082617225, 0.0059915748, 0.0050015561,
                   0.0037709442],
        "entries": [(0, 2, 0.022863099, 0.0), (9, 12, 0.020852512, 0.010511566),
                    (18, 23, 0.02177386, 0.0), (27, 33, 0.019359605, 0.011511298),
                    (36, 47, 0.014928386, 0.0046883877), (45, 65, 0.010764407, 0.01001043),
                    (54, 92, 0.0084906779, 0.0058375914), (63, 129, 0.0059915748, 0.0046411282),
                    (72, 180, 0.0046311421, 0.0041453247)],
    },
]  # fmt: skip

# log(librosa.feature.melspectrogram(y, sr=8000, n_fft=256, hop_length=80, win_length=200,
# n_mels=40, power=2, window="hann", center=..., pad_mode="constant") + 1e-6)[mel, frame]
# as (frame, mel, value), for the signal made by `signal()` below.
LOGMEL_CENTER = [(0, 3, -1.332472), (0, 6, 1.219511), (0, 11, -3.742974), (0, 17, -7.694659),
                 (0, 24, -2.386943), (0, 33, -6.73986), (4, 6, 2.10341), (4, 24, -6.81602),
                 (9, 6, 2.0269), (9, 11, -1.664981), (9, 24, -6.815848), (15, 6, 2.026807),
                 (15, 17, -2.336743), (15, 24, -6.809348), (21, 6, 2.026823),
                 (21, 24, -3.080575)]  # fmt: skip
LOGMEL_NO_CENTER = [(0, 3, -2.303901), (0, 6, 2.00747), (0, 24, -6.815137), (4, 6, 2.007413),
                    (4, 11, -7.74746), (4, 24, -6.815891), (9, 6, 2.026833), (9, 11, -7.119265),
                    (9, 24, -6.815731), (15, 6, 2.026805), (15, 17, -8.146994),
                    (15, 24, -6.815901)]  # fmt: skip


def signal() -> np.ndarray:
    """0.3 s at 8 kHz: two tones and a chirp."""
    t = np.arange(2400) / 8000
    return (0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1700 * t + 0.5)
            + 0.1 * np.sin(2 * np.pi * (200 * t + 3000 * t * t))).astype(np.float32)  # fmt: skip


@pytest.mark.parametrize("ref", FILTERBANKS, ids=lambda r: f"{r['args'][0]}Hz")
def test_mel_filterbank_matches_librosa(ref):
    fb = mel_filterbank(*ref["args"])
    _, n_fft, n_mels = ref["args"][:3]
    assert fb.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(fb.sum(1)[::7], ref["rowsum"], rtol=1e-6)
    np.testing.assert_allclose(fb.max(1)[::7], ref["rowmax"], rtol=1e-6)
    for i, j, w0, w1 in ref["entries"]:
        assert int(fb[i].argmax()) == j
        np.testing.assert_allclose(fb[i, j : j + 2], [w0, w1], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("center, ref, frames", [(True, LOGMEL_CENTER, 31),
                                                  (False, LOGMEL_NO_CENTER, 27)])  # fmt: skip
def test_log_mel_matches_librosa(center, ref, frames):
    feats = LogMel(FeatureConfig(sample_rate=8000, n_mels=40, center=center))(signal())
    assert feats.shape == (frames, 40)
    got = [float(feats[f, m]) for f, m, _ in ref]
    np.testing.assert_allclose(got, [v for *_, v in ref], atol=2e-4)


def test_mel_scale_is_slaney_and_invertible():
    assert hz_to_mel(1000.0) == pytest.approx(15.0)  # linear part: 3 mel per 200 Hz
    assert hz_to_mel(6400.0) == pytest.approx(15.0 + 27.0)  # log part: 27 mel per factor 6.4
    f = np.array([0.0, 133.3, 999.0, 1000.0, 2500.0, 7999.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f)), f, rtol=1e-12, atol=1e-9)


def test_frame_counts_and_config():
    cfg = FeatureConfig(sample_rate=8000)
    assert (cfg.win_length, cfg.hop_length, cfg.n_fft) == (200, 80, 256)
    for n in (100, 256, 2400, 2401):
        for center in (True, False):
            lm = LogMel(FeatureConfig(sample_rate=8000, center=center))
            assert lm(np.ones(n, np.float32)).shape[0] == lm.num_frames(n)
    with pytest.raises(ValueError, match="normalize"):
        FeatureConfig(normalize="per-speaker")


def test_utterance_normalisation_and_spec_augment():
    feats = torch.randn(2, 50, 40) * 3 + 1
    norm = normalize_utterance(feats[0])
    torch.testing.assert_close(norm.mean(0), torch.zeros(40), atol=1e-5, rtol=0)
    torch.testing.assert_close(norm.std(0, unbiased=False), torch.ones(40), atol=1e-4, rtol=0)
    lengths = torch.tensor([50, 30])
    before = feats.clone()
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a = spec_augment(feats, lengths, g1, time_masks=2, time_width=8)
    b = spec_augment(feats, lengths, g2, time_masks=2, time_width=8)
    torch.testing.assert_close(a, b)  # reproducible
    masked = a == 0
    assert masked.any()
    whole_frames = masked.all(-1)  # time masks zero every band of a frame
    assert whole_frames[:, :30].any() and not whole_frames[1, 30:].any()
    assert torch.equal(feats, before)  # the input is not modified
