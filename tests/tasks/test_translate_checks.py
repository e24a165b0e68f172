"""Translator's checks of what it is given and what it returns: decoding options, empty and
non-string sentences, n-best lists, attention tokens, damaged model folders, max_len, resume
and special-token strings in training text."""

from __future__ import annotations

import json
import math

import pytest

import rnnkit
from rnnkit.tasks.translate import Translator

PAIRS = [(f"satz {i} ist hier", f"sentence {i} is here") for i in range(30)]
TINY = {"tokenizer": "word", "min_freq": 1, "embedding_size": 8, "encoder_size": 8,
        "decoder_size": 8, "dropout": 0.0}  # fmt: skip
FIT = {"max_steps": 1, "batch_size": 8, "progress": False}


@pytest.fixture
def tr(untrained_translator):
    return untrained_translator(PAIRS)


@pytest.mark.parametrize(
    "option, value",
    [("no_repeat_ngram", -1), ("max_len_ratio", math.inf), ("max_len_ratio", math.nan),
     ("alpha", math.nan), ("alpha", math.inf), ("beam_size", 0), ("n_best", 0)],
)  # fmt: skip
def test_decoding_options_out_of_range_are_value_errors(tr, option, value):
    options = {"beam_size": 2, option: value}
    with pytest.raises(ValueError, match=f"expected {option}"):
        tr.translate(["satz 1 ist hier"], **options)
    if option not in ("n_best", "beam_size"):
        with pytest.raises(ValueError, match=f"expected {option}"):
            tr.evaluate(PAIRS[:2], **options)


@pytest.mark.parametrize("beam_size", [1, 3])
def test_empty_sentences_translate_to_empty_strings(tr, beam_size):
    out = tr.translate(["", "satz 1 ist hier", "   "], beam_size=beam_size)
    assert out[0] == "" and out[2] == "" and out[1] != ""
    assert tr.translate(["", "satz 2"], beam_size=3, n_best=2)[0] == ["", ""]


@pytest.mark.parametrize("bad", [None, 3.5, b"satz 1"])
def test_translate_refuses_what_is_not_a_string(tr, bad):
    with pytest.raises(ValueError, match="sentence 1 to be a string"):
        tr.translate(["satz 1", bad])
    with pytest.raises(ValueError, match="to be a string"):
        tr.attention(bad)


def test_n_best_lists_are_always_n_best_long(tr):
    # a length limit of one token: </s> is forced at once, so the search finishes one hypothesis
    with pytest.warns(UserWarning, match=r"2 sentence\(s\) got fewer than n_best=3"):
        out = tr.translate(["satz 1 ist hier", "satz 2"], beam_size=3, n_best=3,
                           max_len_ratio=0.1)  # fmt: skip
    assert [len(hs) for hs in out] == [3, 3] and out[0][1:] == ["", ""]


def test_attention_shows_the_tokens_the_search_chose(untrained_translator):
    tr = untrained_translator(PAIRS * 3, tokenizer="bpe", vocab_size=300, seed=1)
    sentences = [s for s, _ in PAIRS[:8]]
    retokenized = 0
    for s in sentences:
        tokens = tr._search([s], 3, 0.6, 1, 2.0, 0, 1)[0][0].tokens
        a = tr.attention(s, beam_size=3)
        assert a.target_tokens == [tr.tgt_tok.id_to_piece(i) for i in tokens] + ["</s>"]
        assert a.translation == tr.tgt_tok.decode(tokens) and len(a.weights) == len(tokens) + 1
        retokenized += tr.tgt_tok.encode(a.translation) != tokens
    assert retokenized  # the case that matters: decoding and encoding again differ


@pytest.mark.parametrize("damage", ["missing", "unknown model key", "unknown option"])
def test_damaged_config_is_one_value_error(tr, tmp_path, damage):
    tr.save(tmp_path)
    file = tmp_path / "config.json"
    config = json.loads(file.read_text())
    if damage == "missing":
        del config["src_tokenizer"]
    elif damage == "unknown model key":
        config["model"]["bogus"] = 1
    else:
        config["options"]["bogus"] = 1
    file.write_text(json.dumps(config))
    damaged = r"model folder is damaged \(config.json: .*(bogus|src_tokenizer)"
    with pytest.raises(ValueError, match=damaged):
        rnnkit.load(tmp_path)


def test_max_len_keeps_pairs_of_max_len_and_warns_about_longer_ones():
    pairs = [("a b c", "x y z"), ("b c a", "y z x")] * 10
    tr = Translator(max_len=3, **TINY).fit(pairs, pairs[:2], **FIT)  # exactly max_len: kept
    assert tr.metrics["train_pairs"] == 20 and tr.metrics["dropped_long_pairs"] == 0
    with pytest.warns(UserWarning, match=r"3 training pair\(s\) longer than max_len=3 tokens"):
        tr = Translator(max_len=3, **TINY).fit(pairs + [("a b c a", "x")] * 3, pairs[:2], **FIT)
    assert tr.metrics["train_pairs"] == 20 and tr.metrics["dropped_long_pairs"] == 3


def test_resume_on_a_new_translator_is_an_error_that_says_load_it(tmp_path):
    Translator(**TINY).fit(PAIRS, PAIRS[:4], out=tmp_path, **FIT)
    other = [(f"neu {i}", f"new {i}") for i in range(30)]  # other words: another vocabulary
    with pytest.raises(ValueError, match=r"load it first: rnnkit\.load\("):
        Translator(**TINY).fit(other, other[:4], out=tmp_path, resume=True, **FIT)
    resumed = rnnkit.load(tmp_path).fit(PAIRS, PAIRS[:4], out=tmp_path, resume=True,
                                        **{**FIT, "max_steps": 2})  # fmt: skip
    assert resumed.metrics["train_steps"] == 2


@pytest.mark.parametrize("tokenizer", ["word", "bpe"])
def test_special_token_strings_in_training_text_are_text(tokenizer):
    pairs = [(s, t + (" <pad>" if i == 3 else " </s> x")) for i, (s, t) in enumerate(PAIRS)]
    tr = Translator(**{**TINY, "tokenizer": tokenizer, "vocab_size": 300}).fit(pairs, **FIT)
    assert tr.metrics["train_pairs"] == len(pairs) - 1  # - the validation part (5%)
    ids = tr.tgt_tok.encode(pairs[0][1])
    assert min(ids) > 3 and tr.tgt_tok.decode(ids) == pairs[0][1]
