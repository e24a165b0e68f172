"""Reading labelled texts: tables with chosen columns, JSONL, SST-2 lines, class folders,
and clear errors (undecodable bytes name the file and line)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rnnkit.data.labeled import decode_file, read_labeled, read_mr


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


def test_a_tsv_has_no_quoting_and_a_lines_label_ends_at_a_tab(tmp_path):
    tsv = tmp_path / "glue.tsv"
    rows = ['"unclosed quote starts this one\t1', '"great" , says nobody\t0', "plain\t1"]
    tsv.write_text("text\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    texts, labels = read_labeled(tsv)
    assert texts == ['"unclosed quote starts this one', '"great" , says nobody', "plain"]
    assert labels == [1, 0, 1]
    lines = tmp_path / "tabbed.txt"
    lines.write_text("0\ta dull film\n1  fine\n", encoding="utf-8")
    assert read_labeled(lines) == (["a dull film", "fine"], [0, 1])


@pytest.mark.parametrize("missing", ["NaN", "NA", "null", "None", "  "])
def test_a_missing_label_is_an_error_naming_its_row(tmp_path, missing):
    csv = tmp_path / "x.csv"
    csv.write_text(f"text,label\na,1\nb,0\nc,{missing}\nd,1\n")
    with pytest.raises(ValueError, match=r"x.csv, row 4: (missing|empty) label"):
        read_labeled(csv)
    jl = tmp_path / "x.jsonl"
    jl.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": NaN}\n')
    with pytest.raises(ValueError, match=r"x.jsonl, line 2: the label is nan"):
        read_labeled(jl)


def test_non_string_jsonl_texts_are_errors_not_their_repr(tmp_path):
    jl = tmp_path / "x.jsonl"
    for bad in ("null", '{"a": 1}', "[1, 2]", "true"):
        jl.write_text(f'{{"text": "fine", "label": 1}}\n{{"text": {bad}, "label": 0}}\n')
        with pytest.raises(ValueError, match=r"x.jsonl, line 2: expected a string in 'text'"):
            read_labeled(jl)
    jl.write_text('{"text": 42, "label": 1}\n')
    assert read_labeled(jl) == (["42"], [1])


def test_binary_and_compressed_files_are_errors(tmp_path):
    import gzip

    blob = tmp_path / "data.bin"
    blob.write_bytes(b"1 \x00\x01\x02\x03\n0 \x00\x00\n")
    with pytest.raises(ValueError, match=r"data.bin: looks binary"):
        read_labeled(blob)
    gz = tmp_path / "train.txt.gz"
    gz.write_bytes(gzip.compress(b"1 fine\n0 dull\n"))
    for encoding in ("utf-8", "latin-1"):
        with pytest.raises(ValueError, match="gzip-compressed"):
            read_labeled(gz, encoding=encoding)
    bad = tmp_path / "x.txt"
    bad.write_bytes("1 caf\u00e9\n".encode("utf-16"))  # not cp1252 either: its NULs say so
    with pytest.raises(ValueError, match=r"looks like UTF-16 text.*--encoding utf-16"):
        read_labeled(bad, encoding="cp1252")
    undecodable = tmp_path / "y.txt"
    undecodable.write_bytes(b"1 \x81 fine\n")  # 0x81 is undefined in cp1252
    with pytest.raises(ValueError, match=r"not valid cp1252.*check the file's encoding"):
        read_labeled(undecodable, encoding="cp1252")


def test_read_mr_labels_the_two_files():
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "mr" / "rt-polarity.pos").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with mr/rt-polarity.pos")
    texts, labels = read_mr()
    assert len(texts) == 10662 and labels.count("pos") == labels.count("neg") == 5331
    assert all(t.strip() for t in texts) and texts[0] != texts[5331]
