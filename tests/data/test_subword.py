"""The translation tokenizers read special-token strings in text as text."""

from __future__ import annotations

import pytest

from rnnkit.data.subword import SPECIALS, SubwordTokenizer, WordTokenizer

TAGGED = [
    "This is <s>wrong</s> right.",
    "The tag </s> ends a strikethrough.",
    "a <pad> b",
    "<unk> x",
    "x</s>y<pad>z",
    "the byte token <0x41> is text",
]
N_RESERVED = len(SPECIALS) + 256  # the specials and the byte tokens <0x00> ... <0xFF>


def test_bpe_reads_special_token_strings_as_text():
    # seen 50 times, "</s>" would be learned as a merge: the trainer gives it the id of </s>
    tok = SubwordTokenizer.build(TAGGED * 50, vocab_size=320, min_frequency=1)
    for t in (tok, SubwordTokenizer.from_dict(tok.to_dict())):  # tokenizers saves no flag
        for s in TAGGED:
            ids = t.encode(s)
            assert min(ids) >= N_RESERVED, (s, t.pieces(s))
            assert t.encode_batch([s]) == [ids]
            assert t.decode(ids) == s
        for s in ("Q</s>", "Q<pad>"):  # Q is unseen: no earlier merge keeps "<" from "/s>"
            ids = t.encode(s)
            assert min(ids) >= len(SPECIALS) and t.decode(ids) == s, t.pieces(s)


def test_bpe_character_u2581_reads_as_a_space():
    tok = SubwordTokenizer.build(["a b c"] * 5, vocab_size=270, min_frequency=1)
    assert tok.decode(tok.encode("a\u2581b")) == "a b"  # as the module docstring says


@pytest.mark.parametrize("word", SPECIALS)
def test_word_tokenizer_reads_special_token_strings_as_words(word):
    tok = WordTokenizer.build([f"a {word} b", f"{word} c"], min_freq=1)
    ids = tok.encode(f"a {word}")
    assert ids[1] >= len(SPECIALS) and tok.decode(ids) == f"a {word}"
    unseen = WordTokenizer.build(["a b"], min_freq=1)  # not in the vocabulary: an unknown word
    assert unseen.encode(f"a {word}")[1] == SPECIALS.index("<unk>")
