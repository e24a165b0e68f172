"""Labelled texts for classification: read ``(texts, labels)`` from a user's file or folder.

Formats (``fmt="auto"`` picks by what ``source`` is):

- ``csv`` / ``tsv`` (``.csv``, ``.tsv``, ``.tab``): a header row; ``text_col`` and
  ``label_col`` name the columns (defaults ``text`` and ``label``). A TSV has no quoting
  (as GLUE's files): a ``"`` is a character of the text. A missing label (an empty cell,
  or pandas' missing-value words ``NaN``, ``NA``, ``null``, ...) is an error naming the row;
- ``jsonl`` (``.jsonl``, ``.ndjson``): one JSON object per line with those keys;
- ``lines`` (any other file): ``LABEL TEXT`` per line, the label being the first
  whitespace-separated field (a space or a tab): the SST-2 ``stsa.binary.*`` files of
  Kim (2014);
- ``folder``: one sub-folder per class, each holding ``*.txt`` files of one text each
  (the aclImdb layout); the sub-folder's name is the label.

Labels keep their type: integers stay ``int`` (``"1"`` in a ``lines`` file becomes ``1``),
other values are strings; a NaN or infinite label is an error. Bytes that are not valid in
``encoding`` raise ``ValueError`` naming the file, the line and the byte, with the fix
(``--encoding cp1252``: MR ships Windows-1252); a binary file (NUL bytes, or gzip) is an
error too, not texts of control characters. :func:`read_mr` reads the MR polarity data.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from .text import check_not_binary, csv_delimiter

FORMATS = ("auto", "csv", "tsv", "jsonl", "lines", "folder")
_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# What pandas reads as missing by default; with keep_default_na=False they stay strings.
_MISSING = {"", "NaN", "nan", "NAN", "-NaN", "-nan", "NA", "N/A", "n/a", "#N/A", "#NA", "<NA>",
            "NULL", "null", "None", "1.#IND", "1.#QNAN", "-1.#IND", "-1.#QNAN"}  # fmt: skip


def decode_file(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The text of ``path``; undecodable bytes raise ``ValueError`` with file, line and byte.

    A UTF-8 byte-order mark is dropped; ``\\r\\n`` becomes ``\\n``. Lines are split on
    ``"\\n"`` only by the readers here (``str.splitlines`` would also break at U+0085, which
    is what Windows-1252's 0x85 becomes when read as latin-1).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror})") from e
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(
            f"expected a known encoding (e.g. utf-8, cp1252, latin-1), got {encoding!r}"
        ) from None
    if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if data.startswith(b"\x1f\x8b"):
        raise ValueError(f"{path}: a gzip-compressed file, not text; decompress it first")
    check_not_binary(data, encoding, str(path))
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        bad = data[e.start : e.end]
        fix = ("pass the file's encoding, e.g. --encoding cp1252 (encoding='cp1252' in Python)"
               if codec == "utf-8" else "check the file's encoding (--encoding)")  # fmt: skip
        raise ValueError(
            f"{path}, line {line}, column {column}: not valid {encoding} ({e.reason}: "
            f"{bad!r}); {fix}"
        ) from None
    return text.replace("\r\n", "\n")


def as_label(value: Any, where: str) -> Any:
    """A label as plain JSON-able Python: int, str (bool and float are allowed as they are)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy / pandas scalars
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: the label is {value!r}, not a class; every text needs "
                             "a label (drop the rows without one)")  # fmt: skip
        return int(value) if value.is_integer() else value
    raise ValueError(f"{where}: expected a label that is a string or a number, got {value!r}")


def _lines_label(field: str) -> Any:
    try:
        return int(field)
    except ValueError:
        return field


def read_labeled(
    source: str | os.PathLike,
    text_col: str | None = None,
    label_col: str | None = None,
    fmt: str = "auto",
    encoding: str = "utf-8",
    labeled: bool = True,
) -> tuple[list[str], list[Any]]:
    """``(texts, labels)`` from ``source`` (see the module docstring for the formats).

    ``labeled=False`` reads texts only (for prediction): ``labels`` is then empty, a
    ``lines`` file is one text per line, and a table needs only ``text_col``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"expected a format among {FORMATS}, got {fmt!r}")
    path = Path(source).expanduser()
    if not path.exists():
        raise ValueError(f"{path}: not found; expected a CSV/TSV/JSONL file, a 'label text' "
                         "lines file, or a folder with one sub-folder per class")  # fmt: skip
    if fmt == "auto":
        fmt = "folder" if path.is_dir() else _BY_SUFFIX.get(path.suffix.lower(), "lines")
    if (fmt == "folder") != path.is_dir():
        kind = "folder" if path.is_dir() else "file"
        raise ValueError(f"{path}: format {fmt!r} does not fit a {kind}")
    if fmt == "folder":
        texts, labels = _read_folder(path, encoding)
    elif fmt in ("csv", "tsv"):
        texts, labels = _read_table(path, fmt, text_col or "text", label_col or "label",
                                    encoding, labeled)  # fmt: skip
    elif fmt == "jsonl":
        texts, labels = _read_jsonl(path, text_col or "text", label_col or "label", encoding,
                                    labeled)  # fmt: skip
    else:
        texts, labels = _read_lines(path, encoding, labeled)
    if not texts:
        raise ValueError(f"{path}: holds no texts")
    return texts, labels


def _read_lines(path: Path, encoding: str, labeled: bool) -> tuple[list[str], list[Any]]:
    lines = decode_file(path, encoding).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not labeled:
        return lines, []
    texts, labels = [], []
    for line in lines:
        if not line.strip():
            continue  # blank lines separate nothing here
        label, *rest = line.split(None, 1)  # a space or a tab after the label
        labels.append(_lines_label(label))
        texts.append(rest[0].strip() if rest else "")  # a label alone: an empty text
    return texts, labels


def _read_table(path: Path, fmt: str, text_col: str, label_col: str, encoding: str,
                labeled: bool) -> tuple[list[str], list[Any]]:  # fmt: skip
    import pandas as pd

    text = decode_file(path, encoding)
    sep = "\t" if fmt == "tsv" else csv_delimiter(text.partition("\n")[0])
    try:
        quoting = csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL
        frame = pd.read_csv(io.StringIO(text), sep=sep, keep_default_na=False, quoting=quoting,
                            dtype={text_col: str})  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"{path}: not a valid {fmt.upper()} file ({e})") from None
    needed = [text_col, label_col] if labeled else [text_col]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: no column {missing[0]!r}; its columns are {list(map(str, frame.columns))} "
            f"(choose with {'--text-col / --label-col' if labeled else '--text-col'})"
        )
    texts = [str(t) for t in frame[text_col].tolist()]
    if not labeled:
        return texts, []
    raw = frame[label_col].tolist()
    empty = next((i for i, v in enumerate(raw) if isinstance(v, str) and v.strip() in _MISSING),
                 None)  # fmt: skip
    if empty is not None:
        what = "empty label" if not raw[empty].strip() else f"missing label ({raw[empty]!r})"
        raise ValueError(f"{path}, row {empty + 2}: {what} in column {label_col!r}; "
                         "every row needs a label (drop the rows without one)")  # fmt: skip
    return texts, [as_label(v, f"{path}, row {i + 2}") for i, v in enumerate(raw)]


def _read_jsonl(path: Path, text_col: str, label_col: str, encoding: str,
                labeled: bool) -> tuple[list[str], list[Any]]:  # fmt: skip
    texts, labels = [], []
    for i, line in enumerate(decode_file(path, encoding).split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {i}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict) or text_col not in row or (labeled and label_col not in row):
            keys = sorted(row) if isinstance(row, dict) else type(row).__name__
            raise ValueError(
                f"{path}, line {i}: expected an object with keys {text_col!r} and "
                f"{label_col!r}, got {keys} (choose with --text-col / --label-col)"
            )
        value = row[text_col]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"{path}, line {i}: expected a string in {text_col!r}, got "
                             f"{value!r}")  # fmt: skip
        texts.append(str(value))
        if labeled:
            labels.append(as_label(row[label_col], f"{path}, line {i}"))
    return texts, labels


def _read_folder(folder: Path, encoding: str) -> tuple[list[str], list[Any]]:
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(f"{folder}: expected one sub-folder per class (at least 2), got "
                         f"{[p.name for p in classes]}")  # fmt: skip
    texts, labels = [], []
    for sub in classes:
        files = sorted(p for p in sub.rglob("*.txt") if p.is_file())
        if not files:
            raise ValueError(f"{sub}: class folder without *.txt files")
        for f in files:
            texts.append(decode_file(f, encoding).strip())
            labels.append(sub.name)
    return texts, labels


def read_mr(encoding: str = "cp1252") -> tuple[list[str], list[str]]:
    """The MR movie-review sentences (Pang & Lee 2005; the registered dataset ``mr``):
    5,331 labelled ``"pos"`` then 5,331 ``"neg"``. They ship in Windows-1252 and without a
    split (the literature cross-validates)."""
    from .registry import dataset_path

    texts, labels = [], []
    for name in ("pos", "neg"):
        lines = decode_file(dataset_path("mr", f"rt-polarity.{name}"), encoding).split("\n")
        for line in lines:
            if line.strip():
                texts.append(line.strip())
                labels.append(name)
    return texts, labels


__all__ = ["FORMATS", "as_label", "decode_file", "read_labeled", "read_mr"]
