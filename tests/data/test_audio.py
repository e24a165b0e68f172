"""Audio reading, resampling, speech data sets, the FSDD registry entry and connected speech."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from rnnkit.data import get_dataset
from rnnkit.data.audio import (
    DIGIT_WORDS,
    check_audio,
    fsdd_split,
    fsdd_utterances,
    read_audio,
    read_folder,
    read_manifest,
    read_speech_data,
    resample,
    to_float_audio,
)
from rnnkit.data.connected import ConnectedSpeech
from rnnkit.data.registry import FSDD_SUMS_SHA256


def tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("orig, target", [(44100, 8000), (8000, 16000), (22050, 16000),
                                          (48000, 44100)])  # fmt: skip
def test_resampling_keeps_duration_and_pitch(orig, target):
    x = tone(orig, 1.25)
    y = resample(x, orig, target)
    assert abs(y.size / target - x.size / orig) <= 1 / target  # duration kept to one sample
    assert peak_hz(y, target) == pytest.approx(440.0, abs=2.0)
    assert y.dtype == np.float32


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_read_audio_mixes_stereo_down_and_resamples(tmp_path, suffix):
    x = tone(22050, 0.5)
    path = tmp_path / f"a{suffix}"
    sf.write(path, np.stack([x, 0.5 * x], axis=1), 22050)
    with pytest.warns(UserWarning, match="2 channels mixed down"):
        audio, rate = read_audio(path, 8000)
    assert rate == 8000
    assert audio.ndim == 1
    assert abs(audio.size - 4000) <= 1
    assert np.abs(audio).max() == pytest.approx(0.375, abs=0.02)  # (x + x/2) / 2, peak 0.5


def test_bad_audio_files_give_clear_errors_naming_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x01junk" + os.urandom(200))
    with pytest.raises(ValueError, match=r"corrupt\.wav: not a readable audio file"):
        read_audio(corrupt)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(ValueError, match=r"empty\.wav: the audio file is empty"):
        read_audio(empty)
    silent = tmp_path / "silent.flac"
    sf.write(silent, np.zeros(800, dtype=np.float32), 8000)
    with pytest.raises(ValueError, match=r"silent\.flac: the audio is silent"):
        read_audio(silent)
    with pytest.raises(ValueError, match=r"missing\.wav: no such audio file"):
        read_audio(tmp_path / "missing.wav")
    whole = tmp_path / "whole.wav"  # 0.5 s of tone; cut after its header and 8 samples
    sf.write(whole, 0.5 * np.sin(np.arange(4000, dtype=np.float32)), 8000, subtype="PCM_16")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(whole.read_bytes()[:60])
    with pytest.raises(ValueError, match=r"truncated\.wav: the WAV file is truncated"):
        read_audio(truncated)
    short = tmp_path / "short.wav"  # whole, but 8 samples: under one analysis window
    sf.write(short, 0.5 * np.sin(np.arange(8, dtype=np.float32)), 8000, subtype="PCM_16")
    with pytest.raises(ValueError, match=r"short\.wav: 8 samples \(1\.0 ms at 8000 Hz\)"):
        read_audio(short)
    assert read_audio(whole)[0].size == 4000


def test_manifest_and_folder_with_transcripts(tmp_path):
    for name in ("a", "b"):
        sf.write(tmp_path / f"{name}.wav", tone(8000, 0.2), 8000)
    (tmp_path / "list.csv").write_text("path,text\na.wav,Hello  World\nb.wav,two\n")
    items = read_manifest(tmp_path / "list.csv")
    assert [u.text for u in items] == ["hello world", "two"]
    assert Path(items[0].path) == tmp_path / "a.wav"
    (tmp_path / "transcripts.tsv").write_text("a\tone two\nb.wav\tthree\n")
    items = read_speech_data(tmp_path)
    got = [(Path(u.path).name, u.text) for u in items]
    assert got == [("a.wav", "one two"), ("b.wav", "three")]
    (tmp_path / "bad.csv").write_text("file,words\na.wav,x\n")
    with pytest.raises(ValueError, match="path,text"):
        read_manifest(tmp_path / "bad.csv")
    (tmp_path / "transcripts.tsv").write_text("c\tfour\n")
    with pytest.raises(ValueError, match="no audio file named 'c'"):
        read_speech_data(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        read_speech_data(tmp_path / "nope")


def test_fsdd_registry_entry_matches_the_published_sums():
    dataset = get_dataset("fsdd")
    assert len(dataset.files) == 3000
    sums = Path(__file__).parents[2] / "src/rnnkit/data/fsdd.sha256"
    assert hashlib.sha256(sums.read_bytes()).hexdigest() == FSDD_SUMS_SHA256
    assert all("26eb9aaf76e81b692f806f9140c2d2777410d7a1" in f.url for f in dataset.files)


@pytest.fixture(scope="module")
def fsdd():
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "fsdd/recordings/0_george_0.wav").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with fsdd/recordings (CI points it at ../shared/data)")
    return fsdd_utterances()


def test_fsdd_splits(fsdd):
    assert len(fsdd) == 3000 and {u.text for u in fsdd} == set(DIGIT_WORDS)
    train, test = fsdd_split(fsdd, "official")
    assert (len(train), len(test)) == (2700, 300)
    assert all(int(Path(u.path).stem.split("_")[2]) < 5 for u in test)
    train, test = fsdd_split(fsdd, "speaker:theo")
    assert (len(train), len(test)) == (2500, 500) and {u.speaker for u in test} == {"theo"}
    with pytest.raises(ValueError, match="speaker:NAME"):
        fsdd_split(fsdd, "speaker:nobody")


def test_connected_speech_joins_one_speakers_words_with_pauses_and_noise(fsdd):
    items = [u for u in fsdd if u.speaker in ("lucas", "george") and u.path.endswith("_0.wav")]
    gen = ConnectedSpeech(items, 8000, min_words=3, max_words=5, pause=(0.1, 0.2), snr_db=20.0)
    cache: dict = {}
    seen: list = []
    original = ConnectedSpeech.join

    def spy(self, picks, rng, cache):
        seen.append({u.speaker for u in picks})
        return original(self, picks, rng, cache)

    ConnectedSpeech.join = spy
    try:
        pairs = list(gen.generate(6, seed=1, cache=cache))
    finally:
        ConnectedSpeech.join = original
    assert len(pairs) == 6 and all(len(s) == 1 for s in seen)  # one speaker per string
    triples = list(gen.generate_with_speakers(6, seed=1, cache=cache))  # same strings + who
    assert [s for _, _, s in triples] == [s.pop() for s in seen]
    for (audio, text), (audio_s, text_s, _) in zip(pairs, triples):
        assert text == text_s and np.array_equal(audio, audio_s)
    for _, text in pairs:
        words = text.split()
        assert 3 <= len(words) <= 5 and set(words) <= set(DIGIT_WORDS)
    # the length is the words plus the pauses; the noise has the asked SNR
    rng = np.random.default_rng(0)
    picks = [items[0], items[1], items[2]]
    quiet = ConnectedSpeech(items, 8000, pause=(0.1, 0.1), snr_db=None)
    audio, text = quiet.join(picks, rng, cache)
    words = sum(cache[u.path].size for u in picks)
    assert audio.size == words + 4 * 800 and text == " ".join(u.text for u in picks)
    noisy = ConnectedSpeech(items, 8000, pause=(0.1, 0.1), snr_db=20.0)
    audio_n, _ = noisy.join(picks, np.random.default_rng(0), cache)
    noise = audio_n - audio
    speech_power = sum(float(np.square(cache[u.path]).sum()) for u in picks) / words
    snr = 10 * np.log10(speech_power / float(np.square(noise).mean()))
    assert snr == pytest.approx(20.0, abs=0.5)
    same = list(ConnectedSpeech(items, 8000).generate(3, seed=5, cache=cache))
    again = list(ConnectedSpeech(items, 8000).generate(3, seed=5, cache=cache))
    assert all(np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(same, again))


def _riff(*chunks: tuple[bytes, bytes]) -> bytes:
    """A RIFF/WAVE file of ``(id, payload)`` chunks, odd payloads padded as the format says."""
    body = b"".join(i + len(p).to_bytes(4, "little") + p + b"\0" * (len(p) & 1) for i, p in chunks)
    return b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WAVE" + body


def test_a_wav_cut_short_is_refused_but_padding_and_trailing_chunks_load(tmp_path):
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    fmt += (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    samples = (128 + 100 * np.sin(np.arange(801) / 3)).astype(np.uint8).tobytes()  # odd: padded
    whole = tmp_path / "whole.wav"  # 8-bit PCM, a pad byte, then a LIST chunk after the data
    whole.write_bytes(
        _riff((b"fmt ", fmt), (b"data", samples), (b"LIST", b"INFOISFT\4\0\0\0ab\0\0"))
    )
    audio, rate = read_audio(whole)
    assert (audio.size, rate) == (801, 8000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: 44 + 500])
    with pytest.raises(
        ValueError, match=r"cut\.wav: the WAV file is truncated: .* 801 bytes .* 500"
    ):
        read_audio(cut)


def test_integer_pcm_is_scaled_to_full_scale():
    x = tone(8000, 0.1)
    pcm = np.round(x * 32767).astype(np.int16)
    np.testing.assert_allclose(check_audio(pcm), x, atol=1e-4)
    np.testing.assert_allclose(check_audio(torch.from_numpy(pcm)), x, atol=1e-4)
    np.testing.assert_allclose(check_audio(pcm.astype(np.int32) << 16), x, atol=1e-4)
    u8 = np.round(128 + x * 127).astype(np.uint8)
    np.testing.assert_allclose(check_audio(u8), x, atol=1e-2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        to_float_audio(np.array([0.1, np.nan], dtype=np.float32))


def test_silence_is_judged_without_the_offset_and_cancelling_channels_are_named(tmp_path):
    with pytest.raises(ValueError, match="silent"):
        check_audio(np.full(800, 0.5, dtype=np.float32))  # a DC offset carries no speech
    x = tone(8000, 0.2)
    assert check_audio(x + 0.5).size == x.size
    opposite = tmp_path / "opposite.wav"
    sf.write(opposite, np.stack([x, -x], axis=1), 8000, subtype="PCM_16")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"channels cancel out"):
        read_audio(opposite)


def test_text_files_with_a_byte_order_mark_or_another_encoding(tmp_path):
    sf.write(tmp_path / "a.wav", tone(8000, 0.2), 8000)
    (tmp_path / "m.csv").write_bytes("\ufeffpath,text\na.wav,one\n".encode())
    assert [u.text for u in read_manifest(tmp_path / "m.csv")] == ["one"]
    (tmp_path / "transcripts.tsv").write_bytes("\ufeffa\ttwo\n".encode())
    assert [u.text for u in read_speech_data(tmp_path)] == ["two"]
    (tmp_path / "latin.csv").write_bytes("path,text\na.wav,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.csv: not UTF-8 text"):
        read_manifest(tmp_path / "latin.csv")


def test_folder_names_may_be_paths_and_an_ambiguous_bare_name_is_an_error(tmp_path):
    for sub, hz in (("ann", 300), ("bob", 600)):
        (tmp_path / sub).mkdir()
        sf.write(tmp_path / sub / "take1.wav", tone(8000, 0.2, hz), 8000)
    sf.write(tmp_path / "take1.wav", tone(8000, 0.2), 8000)
    sf.write(tmp_path / "bob" / "solo.wav", tone(8000, 0.2), 8000)
    (tmp_path / "transcripts.tsv").write_text("ann/take1.wav\tone\nbob/take1\ttwo\nsolo\tsix\n")
    got = [(Path(u.path).relative_to(tmp_path).as_posix(), u.text) for u in read_folder(tmp_path)]
    assert got == [("ann/take1.wav", "one"), ("bob/take1.wav", "two"), ("bob/solo.wav", "six")]
    (tmp_path / "transcripts.tsv").write_text("take1.wav\tthree\n")  # the top folder's own
    assert Path(read_folder(tmp_path)[0].path) == tmp_path / "take1.wav"
    (tmp_path / "take1.wav").unlink()
    (tmp_path / "transcripts.tsv").write_text("take1\tthree\n")
    with pytest.raises(ValueError, match=r"'take1' fits 2 files \(ann/take1.wav, bob/take1.wav\)"):
        read_folder(tmp_path)
    with pytest.raises(ValueError, match="a folder, not an audio file"):
        read_audio(tmp_path / "ann")
