"""Parallel text for translation: sentence pairs from line-aligned files, TSV pair files
(the Tatoeba/Anki format), zipped or gzip'd files, and the registered datasets.

Every reader returns a list of ``(source, target)`` string pairs, one per sentence, with the
line's surrounding whitespace stripped (a sentence is a line, not its spacing). Mistakes are
caught early with one clear line: files of different line counts (misaligned), an empty
input, a TSV row without the asked-for column, bytes that are not text.

When no split is given, :func:`split_by_source` splits pairs *by source sentence*: all the
pairs that share a source land in the same split, so the same source sentence is never both
trained on and tested (Tatoeba repeats many English sentences with several translations).
"""

from __future__ import annotations

import gzip
import io
import os
import random
import warnings
import zipfile
from pathlib import Path

from .registry import DataNotFoundError, dataset_path, get_dataset
from .text import decode_bytes

Pair = tuple[str, str]
MULTI30K_LANGS = ("en", "de", "fr")
# Split name -> file stem in multi30k/ (test2016 is the usual test set).
MULTI30K_SPLITS = {
    "train": "train",
    "valid": "val",
    "test": "test_2016_flickr",
    "test2017": "test_2017_flickr",
    "mscoco2017": "test_2017_mscoco",
}
_TEXT_EXT = (".txt", ".tsv", ".tab", ".csv")


def read_lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """The lines of a text file (plain, ``.gz`` or a one-text-file ``.zip``), stripped."""
    text = _read_text(Path(path).expanduser(), encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line
    return [line.strip() for line in lines]


def read_parallel(
    src: str | os.PathLike, tgt: str | os.PathLike, encoding: str = "utf-8"
) -> list[Pair]:
    """Pairs from two line-aligned files: line ``i`` of ``src`` translates to line ``i`` of
    ``tgt``. Different line counts are an error (the files are misaligned)."""
    src_lines, tgt_lines = read_lines(src, encoding), read_lines(tgt, encoding)
    if len(src_lines) != len(tgt_lines):
        raise ValueError(
            f"misaligned parallel files: {src} has {len(src_lines)} lines but {tgt} has "
            f"{len(tgt_lines)}; line i of the source must translate line i of the target"
        )
    return _nonempty(list(zip(src_lines, tgt_lines, strict=True)), f"{src} and {tgt}")


def read_tsv_pairs(
    path: str | os.PathLike, src_col: int = 0, tgt_col: int = 1, encoding: str = "utf-8"
) -> list[Pair]:
    """Pairs from a tab-separated file (plain, ``.gz`` or ``.zip``; extra columns ignored).

    ``src_col`` / ``tgt_col`` are 0-based column numbers (the Anki files are
    ``English<TAB>Other<TAB>attribution``). Blank lines are skipped; a row with too few
    columns is an error naming its line.
    """
    if src_col < 0 or tgt_col < 0 or src_col == tgt_col:
        raise ValueError(
            f"expected two different column numbers >= 0, got --src-col {src_col} and "
            f"--tgt-col {tgt_col}"
        )
    text = _read_text(Path(path).expanduser(), encoding)
    pairs: list[Pair] = []
    need = max(src_col, tgt_col) + 1
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < need:
            raise ValueError(
                f"{path}: line {number} has {len(cols)} tab-separated column(s) but columns "
                f"{src_col} and {tgt_col} are needed ({line[:60]!r}); fix the file or choose "
                f"--src-col / --tgt-col"
            )
        pairs.append((cols[src_col].strip(), cols[tgt_col].strip()))
    return _nonempty(pairs, str(path))


def multi30k(src_lang: str, tgt_lang: str, encoding: str = "utf-8") -> dict[str, list[Pair]]:
    """The official splits of Multi30k task 1 for one language pair, e.g. ``("de", "en")``:
    ``train`` (29,000), ``valid`` (1,014), ``test`` (test2016, 1,000), ``test2017`` and
    ``mscoco2017``."""
    for lang in (src_lang, tgt_lang):
        if lang not in MULTI30K_LANGS:
            raise ValueError(f"expected a Multi30k language in {MULTI30K_LANGS}, got {lang!r}")
    if src_lang == tgt_lang:
        raise ValueError(f"expected two different languages, got {src_lang!r} twice")
    get_dataset("multi30k")
    return {
        split: read_parallel(
            dataset_path("multi30k", f"multi30k/{stem}.{src_lang}.gz"),
            dataset_path("multi30k", f"multi30k/{stem}.{tgt_lang}.gz"),
            encoding,
        )
        for split, stem in MULTI30K_SPLITS.items()
    }


def tatoeba_fra_eng(src_col: int = 0, tgt_col: int = 1) -> list[Pair]:
    """All pairs of the registered Tatoeba English-French file (column 0 English, 1 French);
    there is no official split (see :func:`split_by_source`)."""
    return read_tsv_pairs(dataset_path("tatoeba_fra_eng"), src_col, tgt_col)


def read_pairs(
    source: str | os.PathLike,
    src_col: int = 0,
    tgt_col: int = 1,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    encoding: str = "utf-8",
) -> dict[str, list[Pair]]:
    """Splits of ``source``: a TSV pairs file (-> ``{"all": pairs}``) or a registered dataset
    name (``multi30k`` with ``src_lang``/``tgt_lang``: its official splits;
    ``tatoeba_fra_eng``: ``{"all": pairs}``). An existing path wins over a dataset name."""
    path = Path(source).expanduser()
    if path.is_file():
        return {"all": read_tsv_pairs(path, src_col, tgt_col, encoding)}
    name = os.fspath(source)
    if name == "multi30k":
        if not src_lang or not tgt_lang:
            raise ValueError("multi30k needs a language pair: --src-lang de --tgt-lang en")
        return multi30k(src_lang, tgt_lang, encoding)
    if name == "tatoeba_fra_eng":
        return {"all": tatoeba_fra_eng(src_col, tgt_col)}
    if path.is_dir():
        raise ValueError(f"{path} is a folder; expected a TSV file of sentence pairs")
    raise DataNotFoundError(
        f"{name}: not found; expected a TSV file of sentence pairs, or a registered dataset "
        f"(multi30k, tatoeba_fra_eng)"
    )


def split_by_source(
    pairs: list[Pair], fractions: tuple[float, ...] = (0.9, 0.05, 0.05), seed: int = 0
) -> list[list[Pair]]:
    """Split ``pairs`` into ``len(fractions)`` parts, grouped by source sentence.

    The distinct source sentences are shuffled (with ``seed``) and dealt out by the cumulative
    fractions of *pairs*; every pair of a source goes where its source goes, so no source
    sentence is in two parts. Pairs keep their original order within a part.
    """
    if not pairs:
        raise ValueError("expected some sentence pairs to split, got none")
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"expected non-negative fractions summing to 1, got {fractions}")
    groups: dict[str, list[int]] = {}
    for i, (src, _) in enumerate(pairs):
        groups.setdefault(src, []).append(i)
    sources = list(groups)
    random.Random(seed).shuffle(sources)
    bounds, acc = [], 0.0
    for f in fractions:
        acc += f
        bounds.append(acc * len(pairs))
    part_of = [0] * len(pairs)
    done, part = 0, 0
    for src in sources:
        while part < len(bounds) - 1 and done >= bounds[part]:
            part += 1
        for i in groups[src]:
            part_of[i] = part
        done += len(groups[src])
    parts: list[list[Pair]] = [[] for _ in fractions]
    for i, pair in enumerate(pairs):
        parts[part_of[i]].append(pair)
    for k, (f, p) in enumerate(zip(fractions, parts, strict=True)):
        if f > 0 and not p:
            raise ValueError(
                f"split {k} is empty: {len(pairs)} pairs with {len(sources)} distinct source "
                f"sentences are too few for fractions {fractions} (a source sentence stays in "
                "one split); give more sentences or a validation set (--valid-src/--valid-tgt)"
            )
    return parts


def without_empty(pairs: list[Pair], what: str) -> tuple[list[Pair], int]:
    """``pairs`` without those whose source or target is empty (after stripping), and how
    many those were, with a warning: an empty side is a broken line of a corpus, not a
    translation. Raises ``ValueError`` when no pair is left."""
    kept = [p for p in pairs if p[0].strip() and p[1].strip()]
    dropped = len(pairs) - len(kept)
    if dropped:
        first = next(p for p in pairs if not (p[0].strip() and p[1].strip()))
        warnings.warn(f"{dropped} {what} pair(s) with an empty source or target left out, the "
                      f"first {first!r:.80}", stacklevel=2)  # fmt: skip
    if not kept:
        raise ValueError(f"every {what} pair has an empty source or target")
    return kept, dropped


def _nonempty(pairs: list[Pair], where: str) -> list[Pair]:
    if not pairs:
        raise ValueError(f"{where}: no sentence pairs; expected one sentence per line")
    return pairs


def _read_text(path: Path, encoding: str) -> str:
    if not path.is_file():
        if path.exists():
            raise ValueError(f"{path} is not a file; expected a text file of sentences")
        raise DataNotFoundError(f"{path}: not found; expected a text file of sentences")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror}); check its permissions") from e
    where = str(path)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: a broken gzip file ({e}); download it again") from e
    elif data[:4] == b"PK\x03\x04":
        data, member = _zip_member(path, data)
        where = f"{path}:{member}"
    return decode_bytes(data, encoding, where)


def _zip_member(path: Path, data: bytes) -> tuple[bytes, str]:
    """The text file inside a zip: the only one, or the largest ``.txt``/``.tsv`` (Anki zips
    also hold a small ``_about.txt``); macOS ``__MACOSX/`` entries are ignored."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [
                i
                for i in zf.infolist()
                if not i.is_dir()
                and not i.filename.startswith("__MACOSX/")
                and not Path(i.filename).name.startswith("._")
            ]
            texts = [i for i in infos if i.filename.lower().endswith(_TEXT_EXT)] or infos
            if not texts:
                raise ValueError(f"{path}: the zip archive holds no file; expected a text file")
            best = max(texts, key=lambda i: i.file_size)
            return zf.read(best), best.filename
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path}: a broken zip archive ({e}); download it again") from e


__all__ = [
    "MULTI30K_SPLITS",
    "multi30k",
    "read_lines",
    "read_pairs",
    "read_parallel",
    "read_tsv_pairs",
    "split_by_source",
    "tatoeba_fra_eng",
]
