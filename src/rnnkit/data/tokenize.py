"""Tokenizers for language models: characters, words, and byte-level BPE.

All three answer the same small interface (``encode``, ``decode``, ``vocab_size``,
``to_dict``/``from_dict``, ``build``). ``to_dict`` is plain JSON (no pickle) carrying its own
``"type"``, because it is stored in a model directory's ``config.json`` and read back by
``tokenizer_from_dict``; the round trip is exact.
"""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol

UNK = "<unk>"
EOS = "<eos>"


class Tokenizer(Protocol):
    """What the language-model task needs from a tokenizer."""

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


def _as_ints(ids: Any) -> list[int]:
    """``ids`` as a list of ints (accepts lists, tuples and tensors/arrays)."""
    return ids.tolist() if hasattr(ids, "tolist") else list(ids)


def _check_dict(d: Any, kind: str, keys: set[str]) -> None:
    if not isinstance(d, dict) or d.get("type") != kind:
        got = d.get("type") if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"expected a tokenizer dict with type {kind!r}, got {got!r}")
    extra, missing = set(d) - keys - {"type"}, keys - set(d)
    if extra or missing:
        raise ValueError(
            f"expected {kind} tokenizer keys {sorted(keys)}, got unknown {sorted(extra)} and "
            f"missing {sorted(missing)}"
        )


def _lookup(itos: Sequence[str], ids: Iterable[int]) -> list[str]:
    out = []
    for i in _as_ints(ids):
        if not 0 <= i < len(itos):
            raise ValueError(f"expected token ids in [0, {len(itos)}), got {i}")
        out.append(itos[i])
    return out


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of the training text's
    characters (char-rnn, nanoGPT's shakespeare_char), so ids are stable across runs.

    ``unknown="error"`` (default) makes ``encode`` refuse characters outside the vocabulary,
    listing them; ``"skip"`` drops them (e.g. for sampling prompts typed by a user).
    """

    def __init__(self, chars: Sequence[str], unknown: Literal["error", "skip"] = "error"):
        chars = list(chars)
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("expected a non-empty sequence of single characters")
        if len(set(chars)) != len(chars):
            raise ValueError("expected distinct characters, got duplicates")
        if unknown not in ("error", "skip"):
            raise ValueError(f"expected unknown='error' or 'skip', got {unknown!r}")
        self.chars = chars
        self.unknown = unknown
        self.stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def build(cls, text: str, unknown: Literal["error", "skip"] = "error") -> CharTokenizer:
        if not text:
            raise ValueError("expected a non-empty training text to build a vocabulary from")
        return cls(sorted(set(text)), unknown=unknown)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        stoi = self.stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            pass
        if self.unknown == "skip":
            return [stoi[c] for c in text if c in stoi]
        unknown = self.unknown_chars(text)
        raise ValueError(
            f"expected characters from the tokenizer's vocabulary of {self.vocab_size}, got "
            f"{len(unknown)} unknown: {list_chars(unknown)}; build the tokenizer on text that "
            f"contains them, or pass unknown='skip' to drop them"
        )

    def unknown_chars(self, text: str) -> list[str]:
        """The distinct characters of ``text`` outside the vocabulary, sorted."""
        return sorted(set(text) - self.stoi.keys())

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(_lookup(self.chars, ids))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "char", "chars": list(self.chars), "unknown": self.unknown}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CharTokenizer:
        _check_dict(d, "char", {"chars", "unknown"})
        return cls(d["chars"], unknown=d["unknown"])


def list_chars(chars: Sequence[str], most: int = 10) -> str:
    """``"'a', 'b' and 3 more"``: the first ``most`` of ``chars`` for an error message."""
    more = f" and {len(chars) - most} more" if len(chars) > most else ""
    return ", ".join(repr(c) for c in chars[:most]) + more


class WordTokenizer:
    """Whitespace-separated words, ``<eos>`` after every line, ``<unk>`` for the rest.

    This is the Penn Treebank convention of Mikolov and Zaremba et al.: each line's words then
    ``<eos>``. PTB already spells its rare words as a literal ``<unk>``, which becomes the
    unknown token itself, so PTB's train split gives exactly 10,000 entries. Ids: ``<eos>``
    is 0, ``<unk>`` is 1, then words by descending count (ties alphabetically).

    ``min_freq`` drops rarer words; ``max_size`` caps the whole vocabulary (the two specials
    included); ``lower`` lower-cases text before splitting, in ``build`` and ``encode`` alike.
    ``decode`` joins words with single spaces and turns ``<eos>`` into ``"\\n"``.
    """

    def __init__(self, words: Sequence[str], lower: bool = False):
        words = list(words)
        if words[:2] != [EOS, UNK]:
            raise ValueError(f"expected the vocabulary to start with {EOS!r}, {UNK!r}")
        if len(set(words)) != len(words):
            raise ValueError("expected distinct words, got duplicates")
        if any(not isinstance(w, str) or not w or w.split() != [w] for w in words):
            raise ValueError("expected words without whitespace")
        self.words = words
        self.lower = bool(lower)
        self.stoi = {w: i for i, w in enumerate(words)}

    @classmethod
    def build(
        cls, text: str, min_freq: int = 1, max_size: int | None = None, lower: bool = False
    ) -> WordTokenizer:
        if min_freq < 1:
            raise ValueError(f"expected min_freq >= 1, got {min_freq}")
        if max_size is not None and max_size < 2:
            raise ValueError(f"expected max_size >= 2 (room for {EOS} and {UNK}), got {max_size}")
        counts = Counter(_words(text.lower() if lower else text))
        counts.pop(EOS, None)
        counts.pop(UNK, None)
        ranked = sorted(
            (w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w)
        )
        if max_size is not None:
            ranked = ranked[: max_size - 2]
        return cls([EOS, UNK, *ranked], lower=lower)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def eos_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    def encode(self, text: str) -> list[int]:
        """Ids of each line's words then ``<eos>``; unknown words become ``<unk>``."""
        get = self.stoi.get
        return [get(w, 1) for w in _words(text.lower() if self.lower else text)]

    def decode(self, ids: Iterable[int]) -> str:
        lines, line = [], []
        for w in _lookup(self.words, ids):
            if w == EOS:
                lines.append(" ".join(line) + "\n")
                line = []
            else:
                line.append(w)
        lines.append(" ".join(line))
        return "".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "word", "words": list(self.words), "lower": self.lower}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordTokenizer:
        _check_dict(d, "word", {"words", "lower"})
        return cls(d["words"], lower=d["lower"])


def _words(text: str) -> list[str]:
    """Each line's whitespace-separated words followed by ``<eos>``; a final newline ends the
    last line rather than starting an empty one (as ``for line in file`` reads it)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    out: list[str] = []
    for line in lines:
        out.extend(line.split())
        out.append(EOS)
    return out


class BPETokenizer:
    """Byte-level BPE (GPT-2 style) trained with Hugging Face ``tokenizers``.

    Byte-level pre-tokenization without an added prefix space makes ``decode(encode(text))``
    return ``text`` exactly, spaces, tabs and newlines included, and no text is ever unknown
    (all 256 bytes are in the base alphabet). Serialized as ``tokenizers``' own JSON string.
    """

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer

    @classmethod
    def build(cls, text: str, vocab_size: int = 1024, min_frequency: int = 2) -> BPETokenizer:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        alphabet = pre_tokenizers.ByteLevel.alphabet()
        if vocab_size < len(alphabet):
            raise ValueError(
                f"expected vocab_size >= {len(alphabet)} (the byte alphabet), got {vocab_size}"
            )
        if not text:
            raise ValueError("expected a non-empty training text to learn merges from")
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            initial_alphabet=alphabet,
            show_progress=False,
        )
        tok.train_from_iterator([text], trainer=trainer)
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int]) -> str:
        ids = _as_ints(ids)
        if any(not 0 <= i < self.vocab_size for i in ids):
            bad = next(i for i in ids if not 0 <= i < self.vocab_size)
            raise ValueError(f"expected token ids in [0, {self.vocab_size}), got {bad}")
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    def token_bytes(self, i: int) -> bytes:
        """The bytes token ``i`` stands for, which may hold only part of a UTF-8 character:
        ``decode(ids)`` is these bytes of every id joined, decoded with ``errors="replace"``,
        so an incremental UTF-8 decoder fed them token by token gives the same text."""
        token = self.tokenizer.id_to_token(int(i))
        if token is None:
            raise ValueError(f"expected token ids in [0, {self.vocab_size}), got {i}")
        byte_of = _byte_level_bytes()
        if any(c not in byte_of for c in token):
            return token.encode("utf-8")  # not a byte-level piece (a special token)
        return bytes(byte_of[c] for c in token)

    def piece(self, i: int) -> str:
        """Token ``i`` as readable text: its bytes decoded as UTF-8, each byte of a
        character that the token holds only part of written ``<0xNN>`` (decoding the token
        alone would print U+FFFD for it)."""
        token = self.tokenizer.id_to_token(int(i)) or ""
        if not token or any(c not in _byte_level_bytes() for c in token):
            return token  # not a byte-level piece (a special token)
        text = self.token_bytes(i).decode("utf-8", errors="surrogateescape")
        return "".join(f"<0x{ord(c) - 0xDC00:02X}>" if 0xDC80 <= ord(c) <= 0xDCFF else c
                       for c in text)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {"type": "bpe", "tokenizer": self.tokenizer.to_str()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BPETokenizer:
        from tokenizers import Tokenizer

        _check_dict(d, "bpe", {"tokenizer"})
        try:
            return cls(Tokenizer.from_str(d["tokenizer"]))
        except Exception as e:  # the Rust side raises a bare Exception
            raise ValueError(
                f"expected a serialized `tokenizers` tokenizer, got one it cannot read: {e}"
            ) from e


@functools.cache
def _byte_level_bytes() -> dict[str, int]:
    """The byte each character of the byte-level alphabet stands for (GPT-2's mapping, which
    ``tokenizers``' ByteLevel uses): the printable Latin-1 bytes stand for themselves, the
    other 68 bytes, in order, for the code points from 256 up."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [b for b in range(256) if b not in printable]
    return {chr(b): b for b in printable} | {chr(256 + k): b for k, b in enumerate(others)}


_TYPES: dict[str, Any] = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BPETokenizer}


def make_tokenizer(
    level: str, text: str, **opts: Any
) -> CharTokenizer | WordTokenizer | BPETokenizer:
    """Build a ``level`` (``"char"``, ``"word"`` or ``"bpe"``) tokenizer on ``text``;
    ``opts`` go to that class's ``build``."""
    if level not in _TYPES:
        raise ValueError(f"expected level one of {', '.join(_TYPES)}, got {level!r}")
    cls = _TYPES[level]
    allowed = [p for p in inspect.signature(cls.build).parameters if p != "text"]
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise ValueError(
            f"expected {level} tokenizer options from {allowed}, got unknown {unknown}"
        )
    return cls.build(text, **opts)


def tokenizer_from_dict(d: dict[str, Any]) -> CharTokenizer | WordTokenizer | BPETokenizer:
    """Rebuild a tokenizer from ``to_dict()`` output (its ``"type"`` picks the class)."""
    kind = d.get("type") if isinstance(d, dict) else None
    if kind not in _TYPES:
        raise ValueError(f"expected a tokenizer dict with type one of {list(_TYPES)}, got {kind!r}")
    return _TYPES[kind].from_dict(d)
