"""Every task trains and predicts under ``precision="bf16-mixed"``, the engine's default on a
GPU with native bfloat16, and under ``"16-mixed"`` (float16 with the engine's loss scaling,
for GPUs without bfloat16), here forced on the CPU (autocast works there too, slowly on CPUs
without native support). No session had a GPU to run these paths on, and a dtype slip there
(a state returned in bfloat16 and fed back beside float32 input, session 14) broke stateful
text generation at its second window: these runs are the cheap guard against the next one.

Each run is a few dozen steps on synthetic data a small model learns at once. It asserts
that the steps all ran with no divergence-guard rollback, that the validation loss fell,
that the weights stayed float32, and that the trained estimator predicts.
"""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.tasks.classify import TextClassifier
from rnnkit.tasks.forecast import Forecaster
from rnnkit.tasks.speech import SpeechRecognizer
from rnnkit.tasks.textgen import TextGenerator
from rnnkit.tasks.translate import Translator

COMMON = {"accelerator": "cpu", "progress": False, "seed": 0, "checkpoint_every": None}


@pytest.fixture(params=["bf16-mixed", "16-mixed"])
def mixed(request) -> dict:
    """The training options of one mixed precision."""
    with warnings.catch_warnings():  # slow on CPUs (bfloat16 without native support; float16)
        warnings.filterwarnings("ignore", message=".*(no native bfloat16|16-mixed on a CPU).*")
        yield {"precision": request.param, **COMMON}


def trained_cleanly(metrics: dict, steps: int) -> None:
    assert metrics["train_steps"] == steps
    assert metrics["guard_rollbacks"] == 0
    losses = [h["val_loss"] for h in metrics["history"]]
    assert len(losses) >= 2 and all(math.isfinite(v) for v in losses), losses
    assert losses[-1] < losses[0], losses


def float32_weights(model: torch.nn.Module) -> None:
    dtypes = {p.dtype for p in model.parameters()}
    assert dtypes == {torch.float32}, dtypes


WORDS = "the a film movie plot actor story scene it was and very quite rather".split()


def sentiment(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        words = rng.choices(WORDS, k=rng.randint(3, 9))
        words.insert(rng.randrange(len(words) + 1), "good" if label == "pos" else "bad")
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def test_text_classifier_under_mixed_precision(mixed):
    texts, labels = sentiment(480, 0)
    val_texts, val_labels = sentiment(120, 1)
    clf = TextClassifier(embedding_size=32, hidden_size=32, dropout=0.0, adversarial=0.02)
    clf.fit(texts, labels, val_texts, val_labels, max_steps=40, val_every=20, batch_size=32,
            lr=1e-2, warmup_steps=5, **mixed)  # fmt: skip
    trained_cleanly(clf.metrics, 40)
    float32_weights(clf.model)
    assert clf.evaluate(val_texts, val_labels)["accuracy"] > 0.9
    proba = clf.predict_proba(["a very good film", "a very bad film"])
    assert proba.dtype != np.float16 and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def two_sines(n: int) -> pd.DataFrame:
    t = np.arange(n, dtype=np.float64)
    rng = np.random.default_rng(0)
    noise = 0.05 * rng.standard_normal((2, n))
    return pd.DataFrame({"date": pd.date_range("2024-01-01", periods=n, freq="h"),
                         "a": np.sin(2 * np.pi * t / 24) + noise[0],
                         "b": np.cos(2 * np.pi * t / 12) + noise[1]})  # fmt: skip


@pytest.mark.parametrize("architecture", ["segment", "direct", "seq2seq"])
def test_forecaster_under_mixed_precision(architecture, mixed):
    data = two_sines(1200)
    fc = Forecaster(lookback=48, horizon=12, architecture=architecture, hidden_size=32,
                    dropout=0.0)  # fmt: skip
    fc.fit(data.iloc[:1000], max_steps=40, val_every=20, batch_size=32, lr=5e-3,
           warmup_steps=5, **mixed)  # fmt: skip
    trained_cleanly(fc.metrics, 40)
    float32_weights(fc.model)
    m = fc.evaluate(data.iloc[1000 - 48 :], stride=4)
    assert m["mae"] < m["baselines"]["last_value"]["mae"]
    forecast = fc.predict(data)
    assert forecast[["a", "b"]].notna().all().all() and len(forecast) == 12


def tone(freq: float, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)).astype(
        np.float32
    )


@pytest.mark.parametrize("streaming", [False, True])
def test_speech_recognizer_under_mixed_precision(streaming, mixed):
    rng = np.random.default_rng(0)
    freqs = {"one": 300.0, "two": 700.0, "six": 1500.0}
    data = [(tone(freqs[w], rng.uniform(0.3, 0.5), 8000, rng), w)
            for w in list(freqs) * 16]  # fmt: skip
    rec = SpeechRecognizer(streaming=streaming, hidden_size=32, num_layers=1, conv_channels=16,
                           conv2d_channels=8, n_mels=20, dropout=0.0, spec_augment=False,
                           sample_rate=8000)  # fmt: skip
    rec.fit(data[:40], data[40:], max_steps=30, val_every=15, batch_size=8, lr=5e-3,
            warmup_steps=5, **mixed)  # fmt: skip
    trained_cleanly(rec.metrics, 30)
    float32_weights(rec.model)
    out = rec.transcribe([w for w, _ in data[:3]])
    assert len(out) == 3 and all(isinstance(s, str) for s in out)


def test_translator_under_mixed_precision(mixed):
    rng = random.Random(0)
    lexicon = dict(zip("ein zwei drei vier fuenf sechs".split(),
                       "one two three four five six".split()))  # fmt: skip

    def pair() -> tuple[str, str]:
        src = rng.choices(list(lexicon), k=rng.randint(2, 5))
        return " ".join(src), " ".join(lexicon[w] for w in src)

    pairs, val = [pair() for _ in range(256)], [pair() for _ in range(32)]
    tr = Translator(tokenizer="word", min_freq=1, embedding_size=32, encoder_size=32,
                    decoder_size=64, dropout=0.0, label_smoothing=0.0)  # fmt: skip
    tr.fit(pairs, val, max_steps=40, val_every=20, batch_size=16, lr=1e-2, warmup_steps=5,
           keep_best=False, **mixed)  # fmt: skip
    trained_cleanly(tr.metrics, 40)
    float32_weights(tr.model)
    out = tr.translate(["ein zwei", "drei"], beam_size=2)
    assert len(out) == 2 and all(isinstance(s, str) for s in out)


GENERATORS = [{"level": "word", "adaptive_softmax": [8]},
              {"level": "char", "cell": "gru", "residual": True}]  # fmt: skip


@pytest.mark.parametrize("options", GENERATORS)
def test_text_generator_under_mixed_precision(options, mixed):
    rng = random.Random(0)
    text = "\n".join(" ".join(rng.choices(WORDS, k=8)) for _ in range(400))
    gen = TextGenerator(hidden_size=32, num_layers=2, bptt=16, stateful=True, **options)
    cut = int(len(text) * 0.9)
    gen.fit(text[:cut], text[cut:], max_steps=40, val_every=20, batch_size=8, lr=1e-2,
            warmup_steps=5, **mixed)  # fmt: skip
    trained_cleanly(gen.metrics, 40)
    float32_weights(gen.model)
    sample = gen.generate("the", max_new_tokens=5, seed=0)
    assert isinstance(sample, str) and sample
