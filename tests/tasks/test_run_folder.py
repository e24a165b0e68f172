"""``fit()`` without ``out=`` keeps the model in memory and leaves nothing on disk: each call
used to leave a ``rnnkit-<task>-*`` folder of checkpoints and logs in the system's temporary
folder (3.3 GB of them after a few days of test runs here)."""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.tasks.classify import TextClassifier
from rnnkit.tasks.forecast import Forecaster
from rnnkit.tasks.speech import SpeechRecognizer
from rnnkit.tasks.textgen import TextGenerator
from rnnkit.tasks.translate import Translator
from rnnkit.train import run_folder

RUN = {"max_steps": 2, "batch_size": 4, "progress": False}


def _textgen(**kw):
    return TextGenerator(level="char", hidden_size=8, num_layers=1).fit(
        "to be or not to be, that is the question. " * 20, **RUN, **kw
    )


def _classify(**kw):
    texts = ["good fun film", "dull and slow", "a great joy", "bad plot"] * 4
    labels = ["pos", "neg", "pos", "neg"] * 4
    return TextClassifier(hidden_size=8, embedding_size=8).fit(texts, labels, **RUN, **kw)


def _forecast(**kw):
    t = np.arange(120)
    frame = pd.DataFrame({"y": np.sin(t / 5.0)})
    return Forecaster(lookback=12, horizon=4, hidden_size=8).fit(frame, targets="y", **RUN, **kw)


def _translate(**kw):
    pairs = [(f"satz {i}", f"sentence {i}") for i in range(16)]
    return Translator(tokenizer="word", min_freq=1, embedding_size=8, encoder_size=8,
                      decoder_size=8).fit(pairs, pairs[:4], **RUN, **kw)  # fmt: skip


def _speech(**kw):
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal(4000).astype(np.float32) * 0.1, w) for w in ["one", "two"] * 4]
    return SpeechRecognizer(hidden_size=8, num_layers=1, conv_channels=8, conv2d_channels=4,
                            sample_rate=8000).fit(data, data[:2], **RUN, **kw)  # fmt: skip


FITS = [_textgen, _classify, _forecast, _translate, _speech]


@pytest.mark.parametrize("train", FITS, ids=lambda f: f.__name__.strip("_"))
def test_fit_without_out_leaves_no_folder_behind(train, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    est = train()
    assert est.metrics["train_steps"] == 2  # it trained, in a folder that is gone
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="resume=True needs out="):
        train(resume=True)


def test_fit_with_out_keeps_its_run(tmp_path):
    _textgen(out=tmp_path / "lm")
    assert (tmp_path / "lm" / "last.ckpt").is_file()  # --resume needs it


def test_run_folder_is_removed_even_when_training_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError), run_folder(None, "textgen") as folder:
        torch.save({}, folder / "last.ckpt")
        raise RuntimeError("a failed run")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("train", FITS, ids=lambda f: f.__name__.strip("_"))
def test_resume_on_a_new_estimator_says_to_load_the_saved_one(train, tmp_path):
    """A new estimator would build its vocabulary (or scaling, labels, sample rate) from the
    data again, for weights trained with the saved one: silently wrong when the data moved."""
    train(out=tmp_path / "run")
    with pytest.raises(ValueError, match=r"load it first: rnnkit\.load\("):
        train(out=tmp_path / "run", resume=True)
