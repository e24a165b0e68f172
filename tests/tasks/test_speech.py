"""SpeechRecognizer: short real runs on FSDD slices, persistence, streaming equals offline,
and clear errors."""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import rnnkit
from rnnkit.data.audio import DIGIT_WORDS, fsdd_split, fsdd_utterances, read_audio
from rnnkit.data.connected import ConnectedSpeech
from rnnkit.tasks.speech import SpeechRecognizer

SPEAKERS = ("jackson", "theo")


@pytest.fixture(scope="module")
def fsdd():
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "fsdd/recordings/0_george_0.wav").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with fsdd/recordings (CI points it at ../shared/data)")
    train, test = fsdd_split(fsdd_utterances(), "official")
    train = [u for u in train if u.speaker in SPEAKERS]
    random.Random(0).shuffle(train)
    return train[:400], [u for u in test if u.speaker in SPEAKERS]


@pytest.fixture(scope="module")
def offline(fsdd, tmp_path_factory):
    train, _ = fsdd
    out = tmp_path_factory.mktemp("speech")
    rec = SpeechRecognizer(hidden_size=64, num_layers=1, conv_channels=48, dropout=0.0)
    rec.fit(train, out=out, max_steps=300, batch_size=16, lr=5e-3, warmup_steps=20,
            val_every=50, progress=False, seed=0)  # fmt: skip
    return rec, out


@pytest.mark.slow
def test_ctc_loss_falls_and_greedy_decoding_beats_chance(offline, fsdd):
    rec, _ = offline
    _, test = fsdd
    history = [h["val_loss"] for h in rec.metrics["history"]]
    assert history[-1] < 0.5 * history[0], history
    greedy = rec.evaluate(test)
    assert greedy["utterances"] == 100
    assert greedy["wer"] < 0.7, greedy  # chance: 0.9 (one digit word of ten)
    lexicon = rec.evaluate(test, beam=4, lexicon=DIGIT_WORDS)
    assert lexicon["wer"] <= greedy["wer"], (lexicon, greedy)


def test_model_directory_round_trip_and_array_input(offline, fsdd):
    rec, out = offline
    _, test = fsdd
    assert {"config.json", "model.safetensors", "metrics.json"} <= {p.name for p in out.iterdir()}
    again = rnnkit.load(out)
    assert isinstance(again, SpeechRecognizer) and again.sample_rate == 8000
    paths = [u.path for u in test[:8]]
    texts = rec.transcribe(paths)
    assert again.transcribe(paths) == texts
    arrays = [read_audio(p)[0] for p in paths]
    assert rec.transcribe(arrays) == texts
    assert rec.predict(paths[0]) == texts[:1]
    torch.testing.assert_close(again.log_probs(paths[:2])[1], rec.log_probs(paths[:2])[1])


def test_other_rates_and_formats_are_resampled(offline, fsdd, tmp_path):
    rec, _ = offline
    _, test = fsdd
    audio, _ = read_audio(test[0].path)
    from rnnkit.data.audio import resample

    path = tmp_path / "up.flac"
    sf.write(path, np.stack([resample(audio, 8000, 22050)] * 2, axis=1), 22050)
    with pytest.warns(UserWarning, match="mixed down"):
        lp_up = rec.log_probs([path])[0]
    assert lp_up.shape == rec.log_probs([test[0].path])[0].shape


def test_bad_inputs_give_clear_errors(offline, tmp_path):
    rec, _ = offline
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all" * 10)
    with pytest.raises(ValueError, match=r"broken\.wav: not a readable audio file"):
        rec.transcribe([bad])
    with pytest.raises(ValueError, match="silent"):
        rec.transcribe(np.zeros(4000, dtype=np.float32))
    with pytest.raises(ValueError, match="streaming model"):
        rec.stream()
    with pytest.raises(ValueError, match="not trained yet"):
        SpeechRecognizer().transcribe(np.ones(100, dtype=np.float32))
    with pytest.raises(ValueError, match="subsample"):
        SpeechRecognizer(subsample=4)


@pytest.fixture(scope="module")
def streaming(fsdd):
    train, _ = fsdd
    rec = SpeechRecognizer(streaming=True, hidden_size=48, num_layers=2, conv_channels=32,
                           dropout=0.0)  # fmt: skip
    rec.fit(train[:200], max_steps=40, batch_size=16, lr=5e-3, warmup_steps=10,
            progress=False, seed=0)  # fmt: skip
    return rec


@pytest.mark.parametrize("chunk", [800, 333])  # 100 ms, and an odd size
def test_streaming_equals_offline(streaming, fsdd, chunk):
    rec = streaming
    _, test = fsdd
    gen = ConnectedSpeech(test, 8000, min_words=3, max_words=4)
    audio = [read_audio(u.path)[0] for u in test[:4]] + [a for a, _ in gen.generate(1, seed=3)]
    audio.append(audio[0][:150])  # shorter than one analysis window
    offline_lp = rec.log_probs(audio)
    offline_text = rec.transcribe(audio)
    for x, lp, text in zip(audio, offline_lp, offline_text):
        stream = rec.stream()
        partials = [stream.feed(x[i : i + chunk]) for i in range(0, x.size, chunk)]
        final = stream.finish()
        torch.testing.assert_close(stream.log_probs(), lp, atol=1e-4, rtol=1e-4)
        assert final == text
        assert partials[-1] == stream.partial() and stream.partial() == final  # greedy
    with pytest.raises(ValueError, match="finished"):
        stream.feed(audio[0][:100])
    assert rec.stream().finish() == ""  # no audio, no text


@pytest.mark.parametrize("frontend", ["conv1d", "conv2d"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_lengths_flow_through_the_subsampling_and_padding_changes_nothing(bidirectional, frontend):
    from rnnkit.tasks._acoustic import AcousticConfig, AcousticModel

    torch.manual_seed(0)
    model = AcousticModel(AcousticConfig(n_mels=8, vocab_size=5, conv_channels=6, hidden_size=7,
                                         bidirectional=bidirectional, frontend=frontend,
                                         conv2d_channels=3)).eval()  # fmt: skip
    feats = [torch.randn(T, 8) for T in (13, 14, 5)]
    batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
    (lp, lengths), _ = model((batch, torch.tensor([13, 14, 5])))
    assert lengths.tolist() == [7, 7, 3]  # ceil(T / 2)
    for i, f in enumerate(feats):
        (alone, n), _ = model((f[None], torch.tensor([f.shape[0]])))
        torch.testing.assert_close(lp[i, : int(n[0])], alone[0], atol=1e-5, rtol=1e-5)
        assert torch.all(lp[i, int(n[0]) :] == lp[i, int(n[0]) :])  # finite past the end


@pytest.mark.parametrize("n_mels, bands", [(8, 2), (9, 3), (40, 10)])
def test_conv2d_front_end_shapes_and_streaming(n_mels, bands):
    """The 2-D front end: stride 2 twice along the mel axis (ceil(ceil(n / 2) / 2) bands),
    a frame per two in time, and its causal form fed in uneven chunks gives the offline
    frames exactly; the model rebuilds from its saved config."""
    from rnnkit.tasks._acoustic import AcousticConfig, AcousticModel, StreamingFrontEnd

    torch.manual_seed(0)
    config = AcousticConfig(n_mels=n_mels, vocab_size=5, hidden_size=7, bidirectional=False,
                            frontend="conv2d", conv2d_channels=3)  # fmt: skip
    assert config.front_size == 3 * bands
    model = AcousticModel(config).eval()
    feats = torch.randn(1, 37, n_mels)
    offline, lengths = model.front(feats, torch.tensor([37]))
    assert offline.shape == (1, 19, config.front_size) and lengths.tolist() == [19]
    front, cuts = StreamingFrontEnd(model), [0, 1, 4, 11, 12, 30, 37]
    streamed = torch.cat([front(feats[0, a:b]) for a, b in itertools.pairwise(cuts)])
    torch.testing.assert_close(streamed, offline[0], atol=1e-5, rtol=1e-5)
    rebuilt = AcousticModel(AcousticConfig(**config.to_dict()))
    rebuilt.load_state_dict(model.state_dict())
    with pytest.raises(ValueError, match="frontend"):
        AcousticConfig(n_mels=8, vocab_size=5, frontend="conv3d")
    with pytest.raises(ValueError, match="conv2d_channels must be >= 1"):
        AcousticConfig(n_mels=8, vocab_size=5, frontend="conv2d", conv2d_channels=0)
    # a config saved before the field existed is the 1-D front end; new estimators are 2-D
    old = {k: v for k, v in config.to_dict().items() if k not in ("frontend", "conv2d_channels")}
    assert AcousticConfig(**old).frontend == "conv1d"
    assert SpeechRecognizer().model_options["frontend"] == "conv2d"
