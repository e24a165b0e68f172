"""SpeechRecognizer's checks of what it is given: saved FSDD split, alphabets, sample rates,
word lists, integer audio, damaged model folders, streams, saved language models and
options. Tiny models trained for one step: these test the plumbing, not the accuracy."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import rnnkit
from rnnkit.data.audio import Utterance, fsdd_index, fsdd_utterances, read_audio
from rnnkit.tasks import speech
from rnnkit.tasks._ctc import NGramLM
from rnnkit.tasks.speech import SpeechRecognizer

TINY = {"hidden_size": 8, "num_layers": 1, "conv2d_channels": 2}
STEP = {"max_steps": 1, "progress": False, "warmup_steps": 1}


@pytest.fixture(scope="module")
def fsdd():
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "fsdd/recordings/0_george_0.wav").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with fsdd/recordings (CI points it at ../shared/data)")
    items = fsdd_utterances()
    # 3 speakers x 10 digits x recordings 3-6: both splits have a training and a test part
    keep = ("george", "theo", "jackson")
    return [u for u in items if u.speaker in keep and 3 <= fsdd_index(u) <= 6]


@pytest.fixture(scope="module")
def tiny(fsdd, tmp_path_factory):
    """An offline model fitted on data="fsdd" split speaker:george (the data set is the
    small slice above), saved and loaded back."""
    out = tmp_path_factory.mktemp("tiny")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(speech, "read_speech_data", lambda data: list(fsdd))
        rec = SpeechRecognizer(**TINY).fit("fsdd", split="speaker:george", out=out, **STEP)
    return rec, out


@pytest.fixture(scope="module")
def live(fsdd):
    return SpeechRecognizer(streaming=True, **TINY).fit(fsdd[:20], **STEP)


def test_fsdd_split_is_saved_and_eval_defaults_to_it(tiny, fsdd, monkeypatch):
    rec, out = tiny
    monkeypatch.setattr(speech, "read_speech_data", lambda data: list(fsdd))
    loaded = rnnkit.load(out)
    assert rec.split == loaded.split == "speaker:george"
    assert json.loads((out / "config.json").read_text())["split"] == "speaker:george"
    scored: list = []
    monkeypatch.setattr(loaded, "transcribe", lambda xs, **kw: scored.extend(xs) or [""] * len(xs))
    assert loaded.evaluate("fsdd")["utterances"] == 40  # george's, not the official test part
    assert {Path(u.path).name.split("_")[1] for u in scored} == {"george"}
    with pytest.raises(ValueError, match=r"40 recordings of the test part of 'official' were"):
        loaded.evaluate("fsdd", split="official")  # theo's and jackson's 3-4: trained on
    with pytest.raises(ValueError, match=r"resume with split='speaker:george'"):
        loaded.fit("fsdd", split="official", resume=True, out=out, **STEP)
    # a model saved before the split was recorded loads, and scores on the official split
    config = json.loads((out / "config.json").read_text())
    del config["split"]
    old = out.parent / "old"
    shutil.copytree(out, old)
    (old / "config.json").write_text(json.dumps(config))
    assert rnnkit.load(old).split is None
    assert loaded._test_split(None) == "speaker:george"


def test_characters_outside_the_alphabet_are_errors_or_warnings(tiny, fsdd):
    _, out = tiny
    rec = rnnkit.load(out)  # its alphabet: the digit words' letters, no space
    zero = [u for u in fsdd if u.text == "zero"][:2]
    with pytest.raises(ValueError, match=r"training transcripts use characters .* \('a', 'b'\)"):
        rec.fit([*fsdd[:10], Utterance(zero[0].path, "zebra", "theo")], resume=True, **STEP)
    with pytest.raises(ValueError, match="alphabet has no space"):
        rec.fit(fsdd[:10], resume=True, connected=3, **STEP)
    with pytest.raises(ValueError, match=r"validation transcripts .* \('!', 'a', 'b'\)"):
        SpeechRecognizer(**TINY).fit(fsdd[:10], val=[(zero[0].path, "zebra!")], **STEP)
    with pytest.warns(UserWarning, match=r"references' characters '!', 'a', 'b' are not in"):
        rec.evaluate([(zero[1].path, "zebra!")])


def test_mixed_sample_rates_take_the_highest_whatever_the_order(fsdd, tmp_path):
    audio, _ = read_audio(fsdd[0].path)
    high = tmp_path / "high.wav"
    sf.write(high, speech.resample(audio, 8000, 16000), 16000)
    pairs = [(fsdd[1].path, "one"), (high, "two")]
    for order in (pairs, pairs[::-1]):
        with pytest.warns(UserWarning, match=r"different sample rates \(8000, 16000 Hz\)"):
            assert speech._common_rate(order) == 16000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert speech._common_rate(pairs[:1]) == 8000


def test_word_lists_are_normalised_like_transcripts(tiny):
    rec, _ = tiny
    with pytest.warns(UserWarning, match=r"word list's characters '!', 'a', 'b' are not in"):
        rec.set_decoder(beam=4, lexicon=["THREE", " Two", "ZEBRA!", "three"])
    assert rec.decoding["lexicon"] == ["three", "two", "zebra!"]
    rec.set_decoder()


def test_integer_pcm_and_tensors_are_audio(tiny, live, fsdd):
    rec, _ = tiny
    audio, _ = read_audio(fsdd[0].path)
    pcm = np.round(audio * 32767).astype(np.int16)
    lp = rec.log_probs([audio])[0]
    torch.testing.assert_close(rec.log_probs([pcm])[0], lp, atol=2e-3, rtol=0)
    assert rec.transcribe(torch.from_numpy(audio)) == rec.transcribe(audio)  # one tensor
    floats, ints = live.stream(), live.stream()
    floats.feed(audio)
    ints.feed(pcm)
    floats.finish(), ints.finish()
    torch.testing.assert_close(ints.log_probs(), floats.log_probs(), atol=2e-3, rtol=0)


def test_a_stream_without_audio_says_nothing_and_refuses_nan(live, fsdd):
    assert live.stream().finish() == ""
    s = live.stream()
    s.feed(np.zeros(0, dtype=np.float32))
    assert s.finish() == "" and s.log_probs().shape[0] == 0
    audio, _ = read_audio(fsdd[0].path)
    s = live.stream()
    with pytest.raises(ValueError, match="NaN or infinite"):
        s.feed(np.full(800, np.nan, dtype=np.float32))
    s.feed(audio)
    s.finish()
    clean = live.stream()
    clean.feed(audio)
    clean.finish()
    torch.testing.assert_close(s.log_probs(), clean.log_probs())


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda c: c.pop("vocab"), "no 'vocab' entry"),
        (lambda c: c.pop("model"), "no 'model' entry"),
        (lambda c: c["features"].update(hop=10), r"unknown entries \['hop'\] in 'features'"),
        (lambda c: c.update(extra=1), r"unknown entries \['extra'\]"),
        (lambda c: c["features"].update(n_mels=20), "20 mel bands in 'features' but 40"),
        (lambda c: c.update(vocab=c["vocab"][:3]), "3 labels in 'vocab' but"),
    ],
)
def test_a_damaged_config_is_one_clear_error(tiny, tmp_path, damage, says):
    _, out = tiny
    shutil.copytree(out, tmp_path / "m")
    config = json.loads((out / "config.json").read_text())
    damage(config)
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=rf"the model folder is damaged \(config.json: {says}"):
        SpeechRecognizer.load(tmp_path / "m")


def test_the_language_model_is_saved_or_its_loss_is_warned(tiny, tmp_path):
    _, out = tiny
    text = tmp_path / "lm.txt"
    text.write_text("ONE TWO\nthree\n")
    model = tmp_path / "m"
    shutil.copytree(out, model)
    loaded = rnnkit.load(model)
    loaded.set_decoder(beam=4, lm=text, lm_weight=2.0)
    loaded.save(model)
    text.unlink()  # the model folder keeps its own copy
    again = rnnkit.load(model)
    assert isinstance(again.decoding["lm"], NGramLM) and again.decoding["lm_weight"] == 2.0
    assert again.decoding["lm"].log_prob("two", ("one",)) > again.decoding["lm"].log_prob(
        "one", ("two",)
    )
    again.save(model)  # saving into the folder it came from keeps it too
    assert isinstance(rnnkit.load(model).decoding["lm"], NGramLM)
    again.set_decoder(lm=NGramLM().fit(["one two"]))
    with pytest.warns(UserWarning, match="language model .NGramLM. is not saved"):
        again.save(tmp_path / "other")
    assert rnnkit.load(tmp_path / "other").decoding["lm"] is None


def test_fit_options_that_cannot_work_are_clear_errors(fsdd):
    pairs = [(u.path, u.text) for u in fsdd[:10]]
    with pytest.raises(ValueError, match=r"connected= .* give Utterance\(path, text, speaker\)"):
        SpeechRecognizer(**TINY).fit(pairs, connected=5, **STEP)
    with pytest.raises(ValueError, match=r"at least 2 recordings .* got 1"):
        SpeechRecognizer(**TINY).fit(pairs[:1], **STEP)
    with pytest.raises(ValueError, match="split='speaker:theo' splits the fsdd data set"):
        SpeechRecognizer(**TINY).fit(pairs, split="speaker:theo", **STEP)
    with pytest.raises(ValueError, match="expected connected >= 0"):
        SpeechRecognizer(**TINY).fit(fsdd[:10], connected=-5, **STEP)
    with pytest.raises(ValueError, match="'freq_width' must be a whole number >= 0, got -1"):
        SpeechRecognizer(spec_augment={"freq_width": -1})
    with pytest.raises(ValueError, match="'max_time_fraction' must be a fraction"):
        SpeechRecognizer(spec_augment={"max_time_fraction": 2})
    with pytest.raises(ValueError, match="n_mels >= 1"):
        SpeechRecognizer(n_mels=0)
    with pytest.raises(ValueError, match="sample rate of at least 1000 Hz, got -8000"):
        SpeechRecognizer(sample_rate=-8000)
