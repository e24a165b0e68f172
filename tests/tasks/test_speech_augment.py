"""Speaker-variety augmentation of SpeechRecognizer: speed perturbation and SpecAugment
strength (issue 8, leave-one-speaker-out)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.data.audio import fsdd_split, fsdd_utterances, read_audio
from rnnkit.data.features import band_statistics, normalize_utterance
from rnnkit.tasks._ctc import error_rates
from rnnkit.tasks.speech import SpeechRecognizer, _training_batches


def test_speed_factor_shortens_and_raises_pitch_alike():
    rec = SpeechRecognizer(sample_rate=8000, speed_perturb=(0.9, 1.0, 1.1))
    t = np.arange(8000) / 8000
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)  # 1 s at 1 kHz
    for factor in (0.9, 1.1):
        fast = rec._speed(tone, factor)
        assert abs(fast.size - 8000 / factor) <= 1
        spectrum = np.abs(np.fft.rfft(fast * np.hanning(fast.size)))
        peak_hz = np.argmax(spectrum) * 8000 / fast.size
        assert abs(peak_hz - 1000 * factor) < 5, (factor, peak_hz)
    assert rec._speed(tone, 1.0) is tone


def test_each_epoch_draws_one_variant_of_every_item():
    y = torch.tensor([1, 2])
    data = [[(torch.zeros(n, 4), y) for n in (10 + i, 20 + i, 30 + i)] for i in range(6)]
    batches = _training_batches(data, batch_size=4, seed=0, augment=False)
    batches.bind(0, 1)
    seen = set()
    for epoch in range(8):
        lengths = [int(n) for (_, lens), _ in batches.make_epoch(epoch, 0, 1) for n in lens]
        assert sorted(n % 10 for n in lengths) == list(range(6))  # each item once
        seen.update(lengths)
    assert seen == {10 * k + i for k in (1, 2, 3) for i in range(6)}  # all variants drawn


def test_bad_augmentation_options_are_clear_errors():
    with pytest.raises(ValueError, match="speed_perturb"):
        SpeechRecognizer(speed_perturb=(0.1, 1.0))
    with pytest.raises(ValueError, match="unknown spec_augment settings"):
        SpeechRecognizer(spec_augment={"freq_wdith": 8})
    with pytest.raises(ValueError, match="spec_augment must be"):
        SpeechRecognizer(spec_augment="strong")


def test_a_run_with_speed_perturbation_trains_and_keeps_its_options(tmp_path):
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "fsdd/recordings/0_george_0.wav").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with fsdd/recordings (CI points it at ../shared/data)")
    train, _ = fsdd_split(fsdd_utterances(), "speaker:george")
    masks = {"freq_width": 10}
    rec = SpeechRecognizer(hidden_size=16, num_layers=1, conv_channels=16,
                           speed_perturb=(0.9, 1.0, 1.1), spec_augment=masks,
                           dynamic_range_db=40)  # fmt: skip
    rec.fit(train[::60], out=tmp_path, max_steps=3, batch_size=8, warmup_steps=1,
            connected=4, progress=False)  # fmt: skip
    assert rec.metrics["train_steps"] == 3 and rec.metrics["guard_rollbacks"] == 0
    again = rnnkit.load(tmp_path)
    assert again.speed_perturb == [0.9, 1.0, 1.1]
    assert again.spec_augment == {"freq_width": 10} and again.dynamic_range_db == 40
    torch.testing.assert_close(again.log_probs(train[:2])[1], rec.log_probs(train[:2])[1])


def test_dynamic_range_floors_quiet_frames_under_the_peak_and_keeps_the_rest():
    from rnnkit.data.features import FeatureConfig, LogMel

    rng = np.random.default_rng(0)
    t = np.arange(4000) / 8000
    speech = 0.5 * np.sin(2 * np.pi * 440 * t)
    quiet = 1e-4 * rng.standard_normal(4000)  # background about 70 dB under the tone
    audio = torch.tensor(np.concatenate([quiet, speech, quiet]), dtype=torch.float32)
    plain = LogMel(FeatureConfig(sample_rate=8000))(audio)
    floored = LogMel(FeatureConfig(sample_rate=8000, dynamic_range_db=40))(audio)
    floor = plain.max() - 40 * np.log(10) / 10
    assert plain.min() < floor - 5  # the background really is far below the floor
    torch.testing.assert_close(floored.min(), floor)
    keep = plain >= floor
    assert keep.float().mean() > 0.02  # the tone's bands while it sounds
    torch.testing.assert_close(floored[keep], plain[keep])
    with pytest.raises(ValueError, match="offline models only"):
        SpeechRecognizer(streaming=True, dynamic_range_db=40)
    with pytest.raises(ValueError, match="dynamic_range_db > 0"):
        SpeechRecognizer(dynamic_range_db=0)


# Validation CTC losses of a real run (FSDD without george, 600 s, seed 0; the engine's
# default 10% climb check rolled it back four times and stopped it at 232 s).
VAL_HISTORY = [2.052, 1.147, 0.719, 0.473, 0.346, 0.307, 0.257, 0.154, 0.212, 0.261, 0.152,
               0.13, 0.101, 0.136, 0.126, 0.115, 0.095, 0.109, 0.124, 0.1, 0.084, 0.08, 0.081,
               0.095, 0.091]  # fmt: skip


def _climb_events(guard, history):
    return sum(guard.check_val(v)[0] is not None for v in history)


def test_the_speech_climb_tolerance_ignores_validation_noise_but_not_a_divergence():
    from rnnkit.tasks.speech import CLIMB_TOLERANCE
    from rnnkit.train import DivergenceGuard

    relative_only = DivergenceGuard(climb_min_delta=0.0)  # the engine's rule before its floor
    assert _climb_events(relative_only, VAL_HISTORY) >= 3
    assert _climb_events(DivergenceGuard(), VAL_HISTORY) == 0  # the floor alone is enough here
    assert _climb_events(DivergenceGuard(climb_tolerance=CLIMB_TOLERANCE), VAL_HISTORY) == 0
    diverging = [*VAL_HISTORY, 0.3, 0.6, 1.2]
    assert _climb_events(DivergenceGuard(climb_tolerance=CLIMB_TOLERANCE), diverging) == 1


def test_cepstral_smoothing_keeps_the_envelope_and_removes_the_harmonics():
    from rnnkit.data.features import FeatureConfig, LogMel

    t = np.arange(8000) / 8000
    f0 = 110.0  # a low voice: harmonics 110 Hz apart, resolved by the low mel bands
    voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 30))
    audio = torch.tensor(voiced / np.abs(voiced).max(), dtype=torch.float32)
    plain = LogMel(FeatureConfig(sample_rate=8000))(audio)
    smooth = LogMel(FeatureConfig(sample_rate=8000, cepstral_smoothing=13))(audio)
    assert smooth.shape == plain.shape
    # a projection onto the first 13 cosines of the mel axis: idempotent, rank 13
    P = LogMel(FeatureConfig(sample_rate=8000, cepstral_smoothing=13)).smoother
    torch.testing.assert_close(P @ P, P, atol=1e-5, rtol=0)
    assert int(torch.linalg.matrix_rank(P)) == 13
    # each frame's mean level stays (the DC cosine is kept); the harmonics' ripple goes
    torch.testing.assert_close(smooth.mean(1), plain.mean(1), atol=1e-4, rtol=0)
    ripple = lambda x: x.diff(n=2, dim=1).abs().mean()  # noqa: E731
    assert ripple(smooth) < 0.5 * ripple(plain)
    # 40 of 40 coefficients is no smoothing at all
    full = LogMel(FeatureConfig(sample_rate=8000, cepstral_smoothing=40))
    assert full.smoother is None
    with pytest.raises(ValueError, match="cepstral_smoothing"):
        SpeechRecognizer(n_mels=24, cepstral_smoothing=30)


def test_a_cepstrally_smoothed_model_saves_and_loads_its_features(tmp_path):
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "fsdd/recordings/0_george_0.wav").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with fsdd/recordings (CI points it at ../shared/data)")
    train, _ = fsdd_split(fsdd_utterances(), "speaker:george")
    rec = SpeechRecognizer(hidden_size=16, num_layers=1, conv_channels=16, cepstral_smoothing=13)
    rec.fit(train[::80], out=tmp_path, max_steps=2, batch_size=8, warmup_steps=1, progress=False)
    again = rnnkit.load(tmp_path)
    assert again.cepstral_smoothing == 13 and again.feature_config.cepstral_smoothing == 13
    torch.testing.assert_close(again.log_probs(train[:2])[0], rec.log_probs(train[:2])[0])


def test_speaker_normalisation_uses_each_speakers_joint_statistics():
    rec = SpeechRecognizer(sample_rate=8000, normalize="speaker")
    g = torch.Generator().manual_seed(0)
    raw = [torch.randn(n, 5, generator=g) * s + m for n, s, m in
           ((30, 2.0, 1.0), (12, 2.0, 1.0), (20, 0.5, -3.0), (25, 1.0, 0.0))]  # fmt: skip
    groups = ["a", "a", "b", ""]
    out = rec._normalize_groups(raw, groups)
    for members in ([0, 1], [2]):  # each speaker's frames together: mean 0, deviation 1
        frames = torch.cat([out[i] for i in members]).double()
        assert frames.mean(0).abs().max() < 1e-5
        assert (frames.std(0, unbiased=False) - 1).abs().max() < 1e-5
    a = torch.cat(raw[:2])
    torch.testing.assert_close(out[1], (raw[1] - a.mean(0)) / a.std(0, unbiased=False))
    assert out[1].mean(0).abs().max() > 0.1  # not the utterance's own statistics
    torch.testing.assert_close(out[3], normalize_utterance(raw[3]))  # no speaker: its own
    plain = SpeechRecognizer(sample_rate=8000)._normalize_groups(raw, groups)
    torch.testing.assert_close(plain[1], normalize_utterance(raw[1]))  # "utterance" ignores them


def test_speaker_normalisation_errors_are_clear():
    with pytest.raises(ValueError, match="streaming model normalises"):
        SpeechRecognizer(streaming=True, normalize="speaker")
    with pytest.raises(ValueError, match="normalize='utterance' or 'speaker'"):
        SpeechRecognizer(normalize="channel")
    rec = SpeechRecognizer(sample_rate=8000, normalize="speaker", hidden_size=8, num_layers=1)
    tone = np.sin(np.arange(4000) / 3.0).astype(np.float32)
    with pytest.raises(
        ValueError, match=r"needs the speaker of every training recording; 1 of 1 have none"
    ):
        rec.fit([(tone, "one"), (tone, "two")], max_steps=1, progress=False)


def test_a_speaker_normalised_run_trains_on_per_speaker_statistics(tmp_path, monkeypatch):
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "fsdd/recordings/0_george_0.wav").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with fsdd/recordings (CI points it at ../shared/data)")
    train, test = fsdd_split(fsdd_utterances(), "speaker:george")
    from rnnkit.tasks import speech

    seen = {}

    original = speech._training_batches

    def spy(data, *args, **kwargs):
        seen["data"] = data
        return original(data, *args, **kwargs)

    monkeypatch.setattr(speech, "_training_batches", spy)
    rec = SpeechRecognizer(hidden_size=16, num_layers=1, conv_channels=16,
                           speed_perturb=(0.9, 1.0), normalize="speaker")  # fmt: skip
    rec.fit(train[::40], val=train[1::200], out=tmp_path, max_steps=2, batch_size=8,
            warmup_steps=1, connected=4, progress=False)  # fmt: skip
    items = train[::40]
    for k in range(2):  # each training speaker at each speed: its frames standardised jointly
        for name in {u.speaker for u in items}:
            frames = torch.cat([v[k][0] for v, u in zip(seen["data"], items) if u.speaker == name])
            assert frames.mean(0).abs().max() < 1e-4 and (frames.std(0) - 1).abs().max() < 1e-2
    # ... and not each recording on its own (whose means would all be 0 too)
    assert max(float(v[0][0].mean(0).abs().max()) for v in seen["data"]) > 0.1
    again = rnnkit.load(tmp_path)
    assert again.normalization == "speaker" and again.feature_config.normalize == "speaker"
    paths = [u.path for u in test[:6]]
    joint = rec.log_probs(paths, speakers=["george"] * 6)
    torch.testing.assert_close(again.log_probs(paths, speakers=["george"] * 6)[2], joint[2])
    with pytest.warns(UserWarning, match="6 of 6 recordings have no speaker"):
        alone = rec.log_probs(paths)  # each recording its own speaker: different features
    assert not torch.allclose(alone[2], joint[2])
    by_hand = band_statistics([rec._logmel(read_audio(p)[0]) for p in paths])
    feats = rec.features(read_audio(paths[2])[0], by_hand)
    (x, lengths), _ = speech._collate([(feats, torch.empty(0, dtype=torch.long))])
    (lp, lens), _ = rec._ready()((x, lengths))
    torch.testing.assert_close(joint[2], lp[0, : int(lens[0])], atol=1e-5, rtol=1e-5)
    hyps = rec.transcribe(paths, speakers=["george"] * 6)
    m = rec.evaluate(test[:6])  # groups the recordings by their own speakers
    assert m["utterances"] == 6 and m["wer"] == error_rates(hyps, [u.text for u in test[:6]])["wer"]
    with pytest.raises(ValueError, match="one speaker per input, got 2 for 6"):
        rec.log_probs(paths, speakers=["a", "b"])
    rec.enroll("g", paths[:3])  # an enrolled voice: its statistics, not the inputs'
    enrolled = band_statistics([rec._logmel(read_audio(p)[0]) for p in paths[:3]])
    lp = rec.log_probs(paths[3:5], speakers=["g", "g"])
    feats = rec.features(read_audio(paths[4])[0], enrolled)
    (x, lengths), _ = speech._collate([(feats, torch.empty(0, dtype=torch.long))])
    (lp_by_hand, lens), _ = rec._ready()((x, lengths))
    torch.testing.assert_close(lp[1], lp_by_hand[0, : int(lens[0])], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(lp[1], rec.log_probs(paths[3:5], speakers=["h", "h"])[1])
    with pytest.raises(ValueError, match="recordings of 'x' to enroll, got none"):
        rec.enroll("x", [])
    with pytest.raises(ValueError, match="expected a speaker name"):
        rec.enroll(3, paths[:1])
    saved = rnnkit.load(rec.save(tmp_path / "enrolled"))  # enrolled voices are saved
    assert set(saved.enrolled) == {"g"}
    torch.testing.assert_close(saved.log_probs(paths[3:5], speakers=["g", "g"])[1], lp[1])
    plain = SpeechRecognizer(hidden_size=16, num_layers=1)
    plain.model, plain.sample_rate = rec.model, rec.sample_rate
    with pytest.raises(ValueError, match="speakers= needs a model trained with"):
        plain.log_probs(paths, speakers=["george"] * 6)
    with pytest.raises(ValueError, match="enroll\\(\\) needs a model trained with"):
        plain.enroll("george", paths)
