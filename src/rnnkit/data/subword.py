"""Sentence tokenizers for translation: reversible subword BPE, or whitespace words.

Both reserve the same four special ids, ``<pad>`` 0, ``<unk>`` 1, ``<s>`` 2 (begin) and
``</s>`` 3 (end), and answer ``encode(sentence) -> ids`` (no specials added),
``decode(ids) -> sentence`` (specials dropped), ``pieces(sentence)`` (the token strings, for
attention plots), ``to_dict``/``from_dict`` (plain JSON stored in ``config.json``).

``SubwordTokenizer`` is BPE from Hugging Face ``tokenizers`` with a Metaspace pre-tokenizer
(a space becomes ``▁`` and starts a word, as SentencePiece does) and byte fallback (a
character never seen in training is spelled as its UTF-8 bytes ``<0xNN>``), so nothing is
ever unknown and ``decode(encode(s)) == s`` for any sentence without leading whitespace,
punctuation spacing and repeated spaces included: no detokenizer guesses are needed. The one
exception is the character ``▁`` (U+2581) itself, which stands for a space and decodes as one.
``WordTokenizer`` splits on whitespace and joins with one space (exact up to spacing).

The special ids are never read from text: a sentence that contains ``<s>``, ``</s>``,
``<pad>``, ``<unk>`` (or ``<0x41>``) spells those characters like any others, so a corpus
about HTML or tokenizers cannot end a sentence early or put padding inside a batch.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
_BYTES = tuple(f"<0x{i:02X}>" for i in range(256))
SPACE = "\u2581"


class SubwordTokenizer:
    """Reversible BPE (Metaspace + byte fallback), trained on sentences with ``build``."""

    kind = "bpe"

    def __init__(self, tokenizer: Any) -> None:
        for i, tok in enumerate(SPECIALS):
            if tokenizer.token_to_id(tok) != i:
                raise ValueError(f"expected special token {tok!r} at id {i}; rebuild the tokenizer")
        self.tokenizer = _text_only(tokenizer)

    @classmethod
    def build(
        cls, sentences: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2
    ) -> SubwordTokenizer:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        floor = len(SPECIALS) + len(_BYTES) + 1
        if vocab_size < floor:
            raise ValueError(
                f"expected vocab_size >= {floor} (4 specials + 256 byte tokens + 1), got "
                f"{vocab_size}"
            )
        tok = Tokenizer(models.BPE(unk_token=UNK, byte_fallback=True))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=SPACE, prepend_scheme="always", split=True
        )
        tok.decoder = decoders.Sequence(
            [
                decoders.Replace(SPACE, " "),
                decoders.ByteFallback(),
                decoders.Fuse(),
                decoders.Strip(" ", 1, 0),
            ]
        )
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=[*SPECIALS, *_BYTES],
            show_progress=False,
        )
        sentences = [s for s in sentences if s]
        if not sentences:
            raise ValueError("expected some non-empty sentences to learn BPE merges from")
        tok.train_from_iterator(sentences, trainer=trainer)
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, sentence: str) -> list[int]:
        return self.tokenizer.encode(sentence, add_special_tokens=False).ids

    def encode_batch(self, sentences: list[str]) -> list[list[int]]:
        encs = self.tokenizer.encode_batch(sentences, add_special_tokens=False)
        return [e.ids for e in encs]

    def pieces(self, sentence: str) -> list[str]:
        return self.tokenizer.encode(sentence, add_special_tokens=False).tokens

    def id_to_piece(self, i: int) -> str:
        return self.tokenizer.id_to_token(int(i)) or UNK

    def decode(self, ids: Iterable[int]) -> str:
        ids = [int(i) for i in ids if int(i) >= len(SPECIALS)]  # "<unk>" in text stays
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "bpe", "tokenizer": self.tokenizer.to_str()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SubwordTokenizer:
        from tokenizers import Tokenizer

        try:
            return cls(Tokenizer.from_str(d["tokenizer"]))
        except Exception as e:  # the Rust side raises a bare Exception
            raise ValueError(f"expected a serialized `tokenizers` BPE tokenizer: {e}") from e


def _text_only(tokenizer: Any) -> Any:
    """``tokenizer`` reading special-token strings in text as text: its added tokens (the
    specials and the byte tokens) are not matched in input (``encode_special_tokens``, which
    ``tokenizers`` does not save, so it is set on every load), and BPE merges that would
    spell one of them out of characters are dropped (the trainer gives such a merge the
    special token's id: ``</s>`` in a training text would end sentences)."""
    state = json.loads(tokenizer.to_str())
    added = {t["content"] for t in state.get("added_tokens", [])}
    merges = state["model"].get("merges", [])
    # a merge is ["a", "b"] (tokenizers >= 0.20) or "a b" (older files)
    keep = [m for m in merges if "".join(m if isinstance(m, list) else m.split(" ", 1))
            not in added]  # fmt: skip
    if len(keep) < len(merges):
        from tokenizers import Tokenizer

        state["model"]["merges"] = keep
        tokenizer = Tokenizer.from_str(json.dumps(state))
    tokenizer.encode_special_tokens = True
    return tokenizer


class WordTokenizer:
    """Whitespace-separated words; words seen fewer than ``min_freq`` times are ``<unk>``."""

    kind = "word"

    def __init__(self, words: list[str]) -> None:
        if tuple(words[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"expected the vocabulary to start with {SPECIALS}")
        self.words = list(words)
        # text maps to the ordinary words only: a literal "</s>" is a word, never the end
        n = len(SPECIALS)
        self.stoi = {w: i for i, w in enumerate(self.words[n:], start=n)}

    @classmethod
    def build(
        cls, sentences: Iterable[str], vocab_size: int | None = None, min_freq: int = 1
    ) -> WordTokenizer:
        counts = Counter(w for s in sentences for w in s.split())
        ranked = sorted((w for w, n in counts.items() if n >= min_freq),
                        key=lambda w: (-counts[w], w))  # fmt: skip
        if vocab_size is not None:
            ranked = ranked[: max(0, vocab_size - len(SPECIALS))]
        if not ranked:
            raise ValueError("expected some words to build a vocabulary from, got none")
        return cls([*SPECIALS, *ranked])

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, sentence: str) -> list[int]:
        get = self.stoi.get
        return [get(w, UNK_ID) for w in sentence.split()]

    def encode_batch(self, sentences: list[str]) -> list[list[int]]:
        return [self.encode(s) for s in sentences]

    def pieces(self, sentence: str) -> list[str]:
        return [w if w in self.stoi else UNK for w in sentence.split()]

    def id_to_piece(self, i: int) -> str:
        return self.words[int(i)] if 0 <= int(i) < len(self.words) else UNK

    def decode(self, ids: Iterable[int]) -> str:
        n = len(self.words)
        return " ".join(self.words[i] for i in map(int, ids) if i == UNK_ID or 3 < i < n)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "word", "words": self.words}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordTokenizer:
        return cls(d["words"])


def build_sentence_tokenizer(
    kind: str, sentences: Iterable[str], vocab_size: int, min_freq: int = 2
) -> SubwordTokenizer | WordTokenizer:
    """A ``"bpe"`` or ``"word"`` tokenizer learned from ``sentences``."""
    if kind == "bpe":
        return SubwordTokenizer.build(sentences, vocab_size, min_frequency=min_freq)
    if kind == "word":
        return WordTokenizer.build(sentences, vocab_size, min_freq=min_freq)
    raise ValueError(f"expected tokenizer 'bpe' or 'word', got {kind!r}")


def sentence_tokenizer_from_dict(d: dict[str, Any]) -> SubwordTokenizer | WordTokenizer:
    kind = d.get("type") if isinstance(d, dict) else None
    if kind == "bpe":
        return SubwordTokenizer.from_dict(d)
    if kind == "word":
        return WordTokenizer.from_dict(d)
    raise ValueError(f"expected a tokenizer dict of type 'bpe' or 'word', got {kind!r}")
