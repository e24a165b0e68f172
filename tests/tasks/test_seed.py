"""``seed=`` fixes a training run, initial weights included, whatever the global random
state was before: torch seeds its default generator differently in every process, so a
model built before the engine seeds would start from different weights each time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from rnnkit.tasks.textgen import TextGenerator
from rnnkit.tasks.translate import Translator


def _run(make, fit, noise: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(noise)  # the global random state before the run
    est = make()
    fit(est)
    return {k: v.detach().clone() for k, v in est.model.state_dict().items()}


def _twice(make, fit) -> list[dict[str, torch.Tensor]]:
    """The same run twice, from two different global random states."""
    return [_run(make, fit, noise) for noise in (1, 2)]


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and a
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_textgen_seed_fixes_the_run(tmp_path):
    text = "to be or not to be, that is the question. " * 40

    def make():
        return TextGenerator(level="char", hidden_size=16, num_layers=1)

    def fit(seed):
        return lambda g: g.fit(text, max_steps=2, batch_size=4, seed=seed, progress=False,
                               out=tmp_path / f"lm{seed}")  # fmt: skip

    a, b = _twice(make, fit(3))
    _assert_same(a, b)
    c = _run(make, fit(4), 1)  # and the seed matters: another one starts elsewhere
    assert not torch.equal(a["embedding.weight"], c["embedding.weight"])


def test_translate_seed_fixes_the_run(tmp_path):
    pairs = [(f"satz {i}", f"sentence {i}") for i in range(40)]
    a, b = _twice(lambda: Translator(tokenizer="word", min_freq=1, embedding_size=8,
                                     encoder_size=8, decoder_size=8, dropout=0.0),
                  lambda t: t.fit(pairs, pairs[:4], max_steps=2, batch_size=8, seed=3,
                                  progress=False, out=tmp_path / "tr"))  # fmt: skip
    _assert_same(a, b)


def test_speech_seed_fixes_the_run(tmp_path):
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "fsdd/recordings/0_george_0.wav").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with fsdd/recordings (CI points it at ../shared/data)")
    from rnnkit.data.audio import fsdd_utterances
    from rnnkit.tasks.speech import SpeechRecognizer

    items = fsdd_utterances()[:12]
    a, b = _twice(lambda: SpeechRecognizer(hidden_size=16, num_layers=1, conv_channels=8),
                  lambda r: r.fit(items[:8], items[8:], max_steps=2, batch_size=4, seed=3,
                                  progress=False, out=tmp_path / "sp"))  # fmt: skip
    _assert_same(a, b)
