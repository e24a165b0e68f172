"""Reading labelled texts: tables with chosen columns, JSONL, SST-2 lines, class folders,
and clear errors (undecodable bytes name the file and line)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rnnkit.data.labeled import decode_file, read_labeled


def test_csv_and_tsv_with_chosen_columns(tmp_path):
    csv = tmp_path / "reviews.csv"
    csv.write_text('id,review,stars\n1,"Great, fun film",5\n2,dull,1\n3,,3\n', encoding="utf-8")
    texts, labels = read_labeled(csv, text_col="review", label_col="stars")
    assert texts == ["Great, fun film", "dull", ""] and labels == [5, 1, 3]
    assert all(type(v) is int for v in labels)
    tsv = tmp_path / "r.tsv"
    tsv.write_text("text\tlabel\nfine\tpos\nbad\tneg\n", encoding="utf-8")
    assert read_labeled(tsv) == (["fine", "bad"], ["pos", "neg"])
    with pytest.raises(ValueError, match=r"no column 'text'.*\['id', 'review', 'stars'\]"):
        read_labeled(csv)


def test_a_semicolon_separated_csv_is_recognised_from_its_header(tmp_path):
    semi = tmp_path / "export.csv"  # what a spreadsheet in a European locale writes
    semi.write_text("text;label\nGreat, fun film;pos\nslow; dull;neg\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"export\.csv: not a valid CSV file"):
        read_labeled(semi)  # a ';' inside a text needs quotes, as a ',' does in a CSV
    semi.write_text('text;label\nGreat, fun film;pos\n"slow; dull";neg\n', encoding="utf-8")
    assert read_labeled(semi) == (["Great, fun film", "slow; dull"], ["pos", "neg"])
    comma = tmp_path / "comma.csv"  # a ';' inside a comma-separated header is not a delimiter
    comma.write_text("text,label;kind\nfine,pos\n", encoding="utf-8")
    assert read_labeled(comma, label_col="label;kind") == (["fine"], ["pos"])


def test_jsonl_lines_and_class_folders(tmp_path):
    jl = tmp_path / "d.jsonl"
    jl.write_text(json.dumps({"t": "yes", "y": "a"}) + "\n\n" + json.dumps({"t": "no", "y": "b"}))
    assert read_labeled(jl, text_col="t", label_col="y") == (["yes", "no"], ["a", "b"])
    with pytest.raises(ValueError, match=r"d.jsonl, line 1: expected an object with keys"):
        read_labeled(jl)
    lines = tmp_path / "stsa.binary.sample"
    lines.write_text("1 a stirring , funny film\n0 dull\n1\n", encoding="utf-8")
    assert read_labeled(lines) == (["a stirring , funny film", "dull", ""], [1, 0, 1])
    assert read_labeled(lines, labeled=False)[0][1] == "0 dull"
    for cls, items in {"neg": ["awful", "boring"], "pos": ["superb"]}.items():
        (tmp_path / "imdb" / cls).mkdir(parents=True)
        for i, text in enumerate(items):
            (tmp_path / "imdb" / cls / f"{i}.txt").write_text(text + "\n", encoding="utf-8")
    assert read_labeled(tmp_path / "imdb") == (["awful", "boring", "superb"],
                                               ["neg", "neg", "pos"])  # fmt: skip


def test_undecodable_bytes_name_the_file_and_line(tmp_path):
    bad = tmp_path / "mr.txt"
    bad.write_bytes("1 fine\n0 it\x92s a mess \x85 really\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"mr.txt, line 2, column 5: not valid utf-8.*cp1252"):
        read_labeled(bad)
    texts, labels = read_labeled(bad, encoding="cp1252")
    assert texts == ["fine", "it\u2019s a mess \u2026 really"] and labels == [1, 0]
    with pytest.raises(ValueError, match="known encoding"):
        decode_file(bad, "klingon")


def test_the_real_mr_files_are_windows_1252():
    root = os.environ.get("RNNKIT_DATA_DIR")
    pos = Path(root or "") / "mr" / "rt-polarity.pos"
    if not root or not pos.is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with mr/rt-polarity.pos")
    with pytest.raises(ValueError, match=r"rt-polarity.pos, line \d+"):
        read_labeled(pos, labeled=False)
    texts, _ = read_labeled(pos, labeled=False, encoding="cp1252")
    assert len(texts) == 5331  # split on "\n" only: 0x85 is an ellipsis, not a line break


def test_missing_and_empty_inputs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_labeled(tmp_path / "nope.csv")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="holds no texts"):
        read_labeled(tmp_path / "empty.txt")
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "pos").mkdir()
    with pytest.raises(ValueError, match="one sub-folder per class"):
        read_labeled(tmp_path / "one")
    csv = tmp_path / "x.csv"
    csv.write_text("text,label\na,1\nb,\n")
    with pytest.raises(ValueError, match="row 3: empty label"):
        read_labeled(csv)
