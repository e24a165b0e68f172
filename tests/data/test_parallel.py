"""Parallel text readers: aligned files (plain, .gz), TSV pairs (plain, .zip), registered
datasets, clear errors for misaligned or empty input, and the split by source sentence."""

from __future__ import annotations

import gzip
import zipfile

import pytest

from rnnkit.data import registry
from rnnkit.data.parallel import (
    multi30k,
    read_pairs,
    read_parallel,
    read_tsv_pairs,
    split_by_source,
)


def test_aligned_files_plain_and_gzip(tmp_path):
    (tmp_path / "a.de").write_text("Ein Hund.\n  Zwei Katzen. \n", encoding="utf-8")
    with gzip.open(tmp_path / "a.en.gz", "wt", encoding="utf-8") as f:
        f.write("A dog.\r\nTwo cats.\r\n")
    assert read_parallel(tmp_path / "a.de", tmp_path / "a.en.gz") == [
        ("Ein Hund.", "A dog."),
        ("Zwei Katzen.", "Two cats."),
    ]


def test_misaligned_and_empty_files_are_errors(tmp_path):
    (tmp_path / "a.de").write_text("eins\nzwei\ndrei\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("one\ntwo\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"misaligned.*3 lines.*2"):
        read_parallel(tmp_path / "a.de", tmp_path / "a.en")
    (tmp_path / "e.de").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        read_parallel(tmp_path / "e.de", tmp_path / "e.de")
    with pytest.raises(FileNotFoundError, match="not found"):
        read_parallel(tmp_path / "missing.de", tmp_path / "a.en")


def test_tsv_columns_extra_columns_and_zip(tmp_path):
    rows = "Go.\tVa !\tCC-BY 2.0\nHi.\tSalut !\tCC-BY 2.0\n\n"
    (tmp_path / "p.tsv").write_text(rows, encoding="utf-8")
    assert read_tsv_pairs(tmp_path / "p.tsv") == [("Go.", "Va !"), ("Hi.", "Salut !")]
    assert read_tsv_pairs(tmp_path / "p.tsv", src_col=1, tgt_col=0)[0] == ("Va !", "Go.")
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as zf:
        zf.writestr("_about.txt", "about")
        zf.writestr("fra.txt", rows)
    assert read_pairs(tmp_path / "p.zip")["all"][1] == ("Hi.", "Salut !")
    with pytest.raises(ValueError, match="line 2 has 1"):
        (tmp_path / "bad.tsv").write_text("a\tb\nno tab here\n", encoding="utf-8")
        read_tsv_pairs(tmp_path / "bad.tsv")
    with pytest.raises(ValueError, match="different column"):
        read_tsv_pairs(tmp_path / "p.tsv", src_col=1, tgt_col=1)


def test_split_by_source_never_shares_a_source():
    pairs = [(f"s{i % 40}", f"t{i}") for i in range(200)]  # each source has 5 translations
    train, val, test = split_by_source(pairs, (0.8, 0.1, 0.1), seed=3)
    assert sorted(train + val + test) == sorted(pairs)
    sources = [{s for s, _ in part} for part in (train, val, test)]
    assert not (sources[0] & sources[1] or sources[0] & sources[2] or sources[1] & sources[2])
    assert 140 <= len(train) <= 170 and val and test
    assert split_by_source(pairs, (0.8, 0.1, 0.1), seed=3)[1] == val  # deterministic
    with pytest.raises(ValueError, match="fractions"):
        split_by_source(pairs, (0.8, 0.1))
    few = [(f"s{i % 3}", f"t{i}") for i in range(90)]  # 90 pairs, but 3 sources for 3 parts
    with pytest.raises(ValueError, match=r"90 pairs with 3 distinct source sentences.*--valid"):
        split_by_source(few, (0.9, 0.05, 0.05))


def test_registered_datasets(real_file):
    real_file("multi30k/train.de.gz")
    assert registry.is_registered("multi30k") and registry.is_registered("tatoeba_fra_eng")
    splits = multi30k("de", "en")
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 29000, "valid": 1014, "test": 1000, "test2017": 1000, "mscoco2017": 461,
    }  # fmt: skip
    assert splits["train"][0][1].startswith("Two young, White males")
    with pytest.raises(ValueError, match="language"):
        multi30k("de", "cs")
    with pytest.raises(ValueError, match="src-lang"):
        read_pairs("multi30k")


def test_tatoeba_split_keeps_repeated_sources_together(real_file):
    real_file("tatoeba_fra_eng/fra-eng.zip")
    pairs = read_pairs("tatoeba_fra_eng")["all"]
    assert len(pairs) == 142787 and pairs[0][0] and pairs[0][1]
    assert len({s for s, _ in pairs}) == 98659
    train, test = split_by_source(pairs, (0.95, 0.05))
    assert not {s for s, _ in train} & {s for s, _ in test}
