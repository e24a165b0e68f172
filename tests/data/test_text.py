"""Text readers: files, folders, dataset names, and one clear error for each bad input."""

from __future__ import annotations

import codecs

import pytest

from rnnkit.data import DataNotFoundError, read_splits, read_text, split_text


def test_file_folder_and_line_endings(tmp_path):
    f = tmp_path / "one.txt"
    f.write_bytes(b"\xef\xbb\xbfline 1\r\nline 2\rline 3\n")
    assert read_text(f) == "line 1\nline 2\nline 3\n"  # BOM dropped, newlines normalised
    assert read_text(str(f)) == read_text(f)

    folder = tmp_path / "corpus"
    (folder / "b_sub").mkdir(parents=True)
    (folder / "b_sub" / "x.txt").write_text("B-sub")
    (folder / "a.txt").write_text("A\n")
    (folder / "c.txt").write_text("C")
    (folder / "empty.txt").write_text("")
    (folder / "notes.md").write_text("not a .txt")
    assert read_text(folder) == "A\n\nB-sub\nC"


def test_missing_path_names_it_and_the_datasets(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(DataNotFoundError) as info:
        read_text(missing)
    msg = str(info.value)
    assert str(missing) in msg and "ptb" in msg and "tinyshakespeare" in msg and "folder" in msg
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)
    assert "\n" not in msg


def test_folder_without_text(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match=r"no non-empty \*\.txt files"):
        read_text(tmp_path)


def test_empty_and_binary_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.txt: file is empty"):
        read_text(empty)
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"model\.bin: looks binary"):
        read_text(binary)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_text_reads_with_its_encoding_and_is_named_without(tmp_path, encoding):
    # Windows Notepad's "Unicode" is UTF-16 with a byte-order mark: NUL bytes everywhere,
    # which must not read as binary once the encoding is given.
    text = "Wherefore art thou, Roméo?\n" * 50
    f = tmp_path / "notepad.txt"
    bom = {"utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    f.write_bytes(bom + text.encode(encoding))
    name = encoding[:6]  # utf-16 / utf-32
    assert read_text(f, encoding=name) == text
    with pytest.raises(
        ValueError, match=rf"notepad\.txt: looks like {name.upper()} text.*--encoding {name}"
    ):
        read_text(f)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_undecodable_bytes_give_the_true_offset(tmp_path, bom):
    f = tmp_path / "latin.txt"
    head = bom + b"caf\xc3\xa9 " * 1000  # valid UTF-8 (5 bytes each time)
    f.write_bytes(head + b"na\xefve\n")
    offset = len(head) + 2
    with pytest.raises(ValueError) as info:
        read_text(f)
    msg = str(info.value)
    assert msg.startswith(f"{f}: not valid utf-8 at byte offset {offset} (")
    assert msg.endswith("; pass --encoding, e.g. --encoding latin-1")
    assert read_text(f, encoding="latin-1").endswith("na\xefve\n")
    with pytest.raises(ValueError, match=r"known encoding.*'klingon'"):
        read_text(f, encoding="klingon")


def test_dataset_names(real_file):
    real_file("tinyshakespeare/input.txt")
    text = read_text("tinyshakespeare")
    assert len(text) == 1_115_394 and len(set(text)) == 65
    with pytest.raises(ValueError, match=r"read_splits\('ptb'\)"):
        read_text("ptb")
    with pytest.raises(ValueError, match=r"has none"):
        read_splits("tinyshakespeare")


def test_ptb_splits(real_file):
    for split in ("train", "valid", "test"):
        real_file(f"ptb/ptb.{split}.txt")
    splits = read_splits("ptb")
    assert list(splits) == ["train", "valid", "test"]
    assert [s.count("\n") for s in splits.values()] == [42_068, 3_370, 3_761]


def test_split_text_matches_nanogpt(real_file):
    real_file("tinyshakespeare/input.txt")
    text = read_text("tinyshakespeare")
    train, val = split_text(text)
    assert (len(train), len(val)) == (1_003_854, 111_540)
    assert train + val == text


def test_split_text_edges():
    assert split_text("abcdefghij", 0.3) == ("abcdefg", "hij")
    assert split_text("abc", 0.0) == ("abc", "")
    assert split_text("ab", 0.1) == ("a", "b")
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"0 <= val_fraction < 1"):
            split_text("abc", bad)
    with pytest.raises(ValueError, match=r"long enough"):
        split_text("a", 0.1)
