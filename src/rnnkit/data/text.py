"""Plain-text corpora for language models: read a file, a folder of ``.txt`` files or a
registered dataset into one string, and split it into train/validation.

Reading fails early with one clear line (what is wrong, how to fix it) instead of a
traceback from deep inside a tokenizer: a missing path, an empty file, a binary file, or
bytes that are not valid in the requested encoding (with the true byte offset in the file).
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

from .registry import DataNotFoundError, dataset_names, dataset_path, get_dataset, is_registered

_SNIFF = 8192  # bytes looked at for NUL when deciding a file is binary


def read_text(source: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The text of ``source``: a file, a folder, or a registered dataset name.

    - a file: its text;
    - a folder: every ``*.txt`` file below it (recursively), sorted by relative path, joined
      with ``"\\n"``; empty files are skipped, and a folder without text is an error;
    - a registered one-file dataset (``"tinyshakespeare"``): its text (see ``registry`` for
      where it is found or downloaded). Datasets with splits are read with ``read_splits``.

    An existing path wins over a dataset name of the same spelling. Line endings are
    normalised to ``"\\n"`` (as Python's text mode does), and a UTF-8 byte-order mark is
    dropped, so the same corpus gives the same characters on every platform.
    """
    path = Path(source).expanduser()
    if path.is_file():
        return _read_file(path, encoding)
    if path.is_dir():
        return _read_folder(path, encoding)
    name = os.fspath(source)
    if is_registered(name):
        dataset = get_dataset(name)
        if len(dataset.files) > 1:
            raise ValueError(
                f"dataset {name!r} has several files ({', '.join(dataset.splits) or 'no splits'})"
                f"; use read_splits({name!r}) or pass one file's path"
            )
        return _read_file(dataset_path(name), encoding)
    raise DataNotFoundError(
        f"{name}: not found; expected an existing file, a folder of .txt files, or a "
        f"registered dataset name ({', '.join(dataset_names())})"
    )


def read_splits(name: str, encoding: str = "utf-8") -> dict[str, str]:
    """The official splits of registered dataset ``name``, e.g. ``{"train": ..., "valid": ...,
    "test": ...}`` for ``"ptb"``."""
    dataset = get_dataset(name)
    if not dataset.splits:
        raise ValueError(
            f"expected a dataset with official splits, got {name!r} which has none; read it "
            f"with read_text({name!r}) and split it with split_text(text, val_fraction)"
        )
    return {split: _read_file(dataset_path(name, split), encoding) for split in dataset.splits}


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """Contiguous ``(train, val)``: the first ``1 - val_fraction`` of the characters and the
    rest, as nanoGPT does (``int(n * 0.9)``). Contiguous rather than shuffled lines, because
    neighbouring lines of a corpus are near-copies of each other: a random split would leak."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"expected 0 <= val_fraction < 1, got {val_fraction}")
    n_train = int(len(text) * (1.0 - val_fraction))
    train, val = text[:n_train], text[n_train:]
    if not train or (val_fraction > 0 and not val):
        raise ValueError(
            f"expected a text long enough for both splits, got {len(text)} characters with "
            f"val_fraction={val_fraction}; use a longer text or another val_fraction"
        )
    return train, val


# UTF-32's little-endian mark begins with UTF-16's: test it first.
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
              (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


def check_not_binary(data: bytes, encoding: str, where: str) -> None:
    """Raise a clear ValueError when ``data`` looks binary (NUL bytes near its start, which
    only UTF-16/32 text has) or is UTF-16/32 text read as another (known) ``encoding``."""
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))  # NULs are their text
    if not wide and b"\0" in data[:_SNIFF]:
        for bom, name in _WIDE_BOMS:  # Windows "Unicode" text: UTF-16 with a byte-order mark
            if data.startswith(bom):
                raise ValueError(
                    f"{where}: looks like {name.upper()} text (it starts with a {name} "
                    f"byte-order mark), not {encoding}; pass --encoding {name}"
                )
        raise ValueError(
            f"{where}: looks binary (NUL bytes in the first {_SNIFF // 1024} KiB); expected a "
            f"text file"
        )


def decode_bytes(data: bytes, encoding: str = "utf-8", where: str = "<bytes>") -> str:
    """Decode ``data`` with the checks of ``read_text``; ``where`` names it in errors."""
    if not data:
        raise ValueError(f"{where}: file is empty; expected some text")
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(
            f"expected a known encoding (e.g. utf-8, latin-1, cp1252), got {encoding!r}"
        ) from None
    check_not_binary(data, encoding, where)
    skip = len(codecs.BOM_UTF8) if codec == "utf-8" and data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[skip:].decode(codec)
    except UnicodeDecodeError as e:
        # The whole buffer is decoded at once, so e.start is an offset into it.
        start = skip + e.start
        bad = data[start : skip + e.end]
        raise ValueError(
            f"{where}: not valid {encoding} at byte offset {start} ({e.reason}: {bad!r}); "
            f"pass --encoding, e.g. --encoding latin-1"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_file(path: Path, encoding: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror}); check its permissions") from e
    return decode_bytes(data, encoding, str(path))


def _read_folder(folder: Path, encoding: str) -> str:
    files = sorted(
        (p for p in folder.rglob("*.txt") if p.is_file()),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    texts = [_read_file(p, encoding) for p in files if p.stat().st_size > 0]
    if not texts:
        raise ValueError(
            f"{folder}: no non-empty *.txt files in this folder or below; expected text files "
            f"ending in .txt (or pass one file's path)"
        )
    return "\n".join(texts)


def csv_delimiter(first_line: str) -> str:
    """The delimiter of a CSV file from its first line: a comma unless the line has
    semicolons, tabs or bars and no comma outside a number (European spreadsheets export
    ``date;load`` headers and ``1,5`` decimal commas)."""
    counts = {d: first_line.count(d) for d in ";\t|"}
    best = max(counts, key=counts.__getitem__)
    if not counts[best]:
        return ","
    if "," in re.sub(r"(?<=\d),(?=\d)", "", first_line):
        return ","  # commas outside numbers: a comma-separated file with ';' in a field
    return best  # no commas, or only decimal ones ("0,5;1,25")
