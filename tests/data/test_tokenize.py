"""Tokenizers: vocabularies, exact round trips (text and JSON), and PTB's 10k vocabulary."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.data import (
    BPETokenizer,
    CharTokenizer,
    WordTokenizer,
    make_tokenizer,
    read_splits,
    read_text,
    tokenizer_from_dict,
)

SAMPLE = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\tIndented  with   runs of spaces  \n"
    "Unicode: café, naïve, 東京, 🙂.\nTrailing spaces   \n\n\n"
) * 20


def json_round_trip(tok):
    """Through real JSON text, as config.json stores it."""
    d = tok.to_dict()
    back = tokenizer_from_dict(json.loads(json.dumps(d)))
    assert type(back) is type(tok)
    assert back.to_dict() == d
    return back


def test_char_vocab_and_round_trip():
    tok = CharTokenizer.build("hello world\n")
    assert tok.chars == sorted(set("hello world\n")) and tok.vocab_size == 9
    ids = tok.encode("hello\nworld")
    assert ids == [tok.chars.index(c) for c in "hello\nworld"]
    assert tok.decode(ids) == "hello\nworld"
    assert tok.decode(torch.tensor(ids)) == "hello\nworld"
    back = json_round_trip(tok)
    assert back.encode("world hello") == tok.encode("world hello")


def test_char_unknown_characters():
    tok = CharTokenizer.build("abc")
    with pytest.raises(ValueError, match=r"2 unknown: 'x', 'é'; build the tokenizer"):
        tok.encode("abxcé")
    many = "".join(chr(0x41 + i) for i in range(15))
    with pytest.raises(ValueError, match=r"15 unknown: 'A', .*'J' and 5 more"):
        tok.encode(many)
    skip = CharTokenizer.build("abc", unknown="skip")
    assert skip.decode(skip.encode("abxcé")) == "abc"
    assert json_round_trip(skip).unknown == "skip"
    with pytest.raises(ValueError, match=r"token ids in \[0, 3\), got 3"):
        tok.decode([0, 3])


def test_char_tinyshakespeare(real_file):
    real_file("tinyshakespeare/input.txt")
    text = read_text("tinyshakespeare")
    tok = CharTokenizer.build(text)
    assert tok.vocab_size == 65 and tok.chars[:2] == ["\n", " "]
    assert tok.decode(tok.encode(text[:5000])) == text[:5000]


def test_word_vocab_order_eos_and_unk():
    text = "the cat sat\nthe dog\n\nthe cat\n"
    tok = WordTokenizer.build(text)
    assert tok.words == ["<eos>", "<unk>", "the", "cat", "dog", "sat"]
    ids = tok.encode("the bird sat\nthe cat")
    assert ids == [2, 1, 5, 0, 2, 3, 0]  # every line ends in <eos>, last one too
    assert tok.decode(ids) == "the <unk> sat\nthe cat\n"
    assert tok.encode("a\n\nb\n") == [1, 0, 0, 1, 0]  # empty line -> lone <eos>
    assert tok.decode([2, 3]) == "the cat"
    back = json_round_trip(tok)
    assert back.encode(text) == tok.encode(text)


def test_word_options():
    text = "a a a b b c\nA B\n"
    assert WordTokenizer.build(text, min_freq=2).words == ["<eos>", "<unk>", "a", "b"]
    assert WordTokenizer.build(text, max_size=3).words == ["<eos>", "<unk>", "a"]
    lower = WordTokenizer.build(text, lower=True)
    assert lower.words == ["<eos>", "<unk>", "a", "b", "c"]
    assert lower.encode("A C") == [2, 4, 0]
    assert json_round_trip(lower).lower is True
    with pytest.raises(ValueError, match=r"min_freq >= 1"):
        WordTokenizer.build(text, min_freq=0)


def test_word_ptb_has_exactly_10k(real_file):
    for split in ("train", "valid", "test"):
        real_file(f"ptb/ptb.{split}.txt")
    splits = read_splits("ptb")
    tok = WordTokenizer.build(splits["train"])
    assert tok.vocab_size == 10_000
    expected = {"train": (929_589, 45_020), "valid": (73_760, 3_485), "test": (82_430, 4_794)}
    for split, text in splits.items():
        ids = tok.encode(text)
        n_unk = sum(1 for i in ids if i == tok.unk_id)
        # the only <unk>s are the files' own literal ones: no extra unknown words
        assert (len(ids), n_unk) == expected[split], split
        assert n_unk == text.split().count("<unk>")
    assert tok.decode(tok.encode(splits["valid"])) == "\n".join(
        " ".join(line.split()) for line in splits["valid"].split("\n")
    )


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer.build(SAMPLE, vocab_size=300)


@pytest.mark.parametrize(
    "text",
    [
        SAMPLE,
        "two  spaces, three   spaces\n\n\nand newlines\n",
        "  leading and trailing  ",
        "\ttabs\tand\r\nwindows newlines",
        "unseen: ümlaut, ß, 中文, 🙂🙃, ẞ",
        "",
    ],
)
def test_bpe_round_trip_is_exact(bpe, text):
    assert bpe.decode(bpe.encode(text)) == text


def test_bpe_pieces_read_as_text_and_split_characters_as_bytes(bpe):
    from tokenizers import pre_tokenizers

    from rnnkit.data.tokenize import _byte_level_bytes

    alphabet = _byte_level_bytes()  # our copy of the byte-level mapping is tokenizers' own
    assert sorted(alphabet) == sorted(pre_tokenizers.ByteLevel.alphabet())
    assert sorted(alphabet.values()) == list(range(256))
    for i in bpe.encode("a  b"):
        assert bpe.piece(i) == bpe.decode([i])  # whole characters: the same text
    ids = bpe.encode("\u00e9")  # é, never in SAMPLE: two byte tokens
    assert [bpe.piece(i) for i in ids] == ["<0xC3>", "<0xA9>"]
    assert "".join(bpe.piece(i) for i in bpe.encode("\u4e2d")) == "<0xE4><0xB8><0xAD>"


def test_bpe_token_bytes_decoded_incrementally_are_decode(bpe):
    import codecs
    import random

    text = "unseen: \u00fcmlaut, \u00df, \u4e2d\u6587, \U0001f642 " + SAMPLE[:40]
    ids = bpe.encode(text)
    assert b"".join(bpe.token_bytes(i) for i in ids) == text.encode("utf-8")
    rng = random.Random(0)
    for _ in range(50):  # any ids, lone and broken bytes included: U+FFFD where decode has it
        ids = [rng.randrange(bpe.vocab_size) for _ in range(rng.randrange(1, 30))]
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces = [decoder.decode(bpe.token_bytes(i)) for i in ids]
        assert "".join(pieces) + decoder.decode(b"", final=True) == bpe.decode(ids), ids
    with pytest.raises(ValueError, match=r"token ids in \[0, "):
        bpe.token_bytes(bpe.vocab_size)


def test_bpe_vocab_and_json(bpe):
    assert bpe.vocab_size == 300
    assert len(bpe.encode(SAMPLE)) < 0.7 * len(SAMPLE.encode())  # merges were learned
    back = json_round_trip(bpe)
    assert back.encode(SAMPLE) == bpe.encode(SAMPLE)
    with pytest.raises(ValueError, match=r"vocab_size >= 256"):
        BPETokenizer.build(SAMPLE, vocab_size=100)
    with pytest.raises(ValueError, match=r"serialized `tokenizers` tokenizer"):
        tokenizer_from_dict({"type": "bpe", "tokenizer": "{not json"})
    with pytest.raises(ValueError, match=r"token ids in \[0, "):
        bpe.decode([bpe.vocab_size])


def test_make_tokenizer_and_dict_errors():
    assert isinstance(make_tokenizer("char", "ab"), CharTokenizer)
    assert make_tokenizer("word", "a b\n", lower=True).lower
    assert make_tokenizer("bpe", SAMPLE, vocab_size=260).vocab_size <= 260
    with pytest.raises(ValueError, match=r"level one of char, word, bpe, got 'byte'"):
        make_tokenizer("byte", "ab")
    with pytest.raises(ValueError, match=r"unknown \['vocab_size'\]"):
        make_tokenizer("char", "ab", vocab_size=10)
    with pytest.raises(ValueError, match=r"type one of .*got 'sentencepiece'"):
        tokenizer_from_dict({"type": "sentencepiece"})
    with pytest.raises(ValueError, match=r"unknown \['extra'\]"):
        tokenizer_from_dict({"type": "char", "chars": ["a"], "unknown": "error", "extra": 1})
    with pytest.raises(ValueError, match=r"start with '<eos>', '<unk>'"):
        tokenizer_from_dict({"type": "word", "words": ["a"], "lower": False})
