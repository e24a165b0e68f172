"""``rnnkit translate`` end to end, in subprocesses, as a user runs it: train from two
line-aligned files, predict sentences and a file, evaluate, and one-line errors."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RNNKIT = Path(sys.executable).with_name("rnnkit")
TINY = ["--vocab-size", "400", "--embedding-size", "32", "--encoder-size", "32",
        "--decoder-size", "64", "--batch-size", "16", "--no-progress"]  # fmt: skip
PAIRS = [
    ("ein hund läuft .", "a dog runs ."),
    ("eine katze schläft .", "a cat sleeps ."),
    ("ein mann liest .", "a man reads ."),
    ("eine frau singt .", "a woman sings ."),
    ("zwei hunde laufen .", "two dogs run ."),
    ("ein kind spielt .", "a child plays ."),
]


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(RNNKIT), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("parallel")
    pairs = PAIRS * 20
    (d / "train.de").write_text("\n".join(s for s, _ in pairs) + "\n", encoding="utf-8")
    with gzip.open(d / "train.en.gz", "wt", encoding="utf-8") as f:  # .gz read directly
        f.write("\n".join(t for _, t in pairs) + "\n")
    (d / "valid.de").write_text("\n".join(s for s, _ in PAIRS) + "\n", encoding="utf-8")
    (d / "valid.en").write_text("\n".join(t for _, t in PAIRS) + "\n", encoding="utf-8")
    (d / "short.en").write_text("\n".join(t for _, t in PAIRS[:-1]) + "\n", encoding="utf-8")
    (d / "pairs.tsv").write_text("\n".join(f"{t}\t{s}\tCC-BY" for s, t in pairs) + "\n",
                                 encoding="utf-8")  # fmt: skip
    return d


@pytest.fixture(scope="module")
def model(files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model")
    r = run("translate", "train", "--src", str(files / "train.de"), "--tgt",
            str(files / "train.en.gz"), "--valid-src", str(files / "valid.de"), "--valid-tgt",
            str(files / "valid.en"), "--out", str(out), "--max-steps", "200", "--lr", "1e-2",
            "--dropout", "0", *TINY)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "model written to" in r.stdout
    return out


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """The command line in this process (``rnnkit.cli.main``): no second interpreter start."""
    from rnnkit.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_train_predict_eval(model, files, tmp_path, capsys):
    assert {"config.json", "model.safetensors", "metrics.json"} <= {p.name for p in model.iterdir()}
    code, out, err = cli(capsys, "translate", "predict", str(model), "ein hund läuft .",
                         "eine katze schläft .", "--beam", "3", "--attention-plot",
                         str(tmp_path / "a.png"))  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == ["a dog runs .", "a cat sleeps ."]
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    code, out, err = cli(capsys, "translate", "predict", str(model), "--file",
                         str(files / "valid.de"), "--output", str(tmp_path / "out.en"),
                         "--beam", "1")  # fmt: skip
    assert code == 0, err
    assert len((tmp_path / "out.en").read_text(encoding="utf-8").splitlines()) == len(PAIRS)
    code, out, err = cli(capsys, "translate", "eval", str(model), "--src",
                         str(files / "valid.de"), "--tgt", str(files / "valid.en"),
                         "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(out)
    assert m["bleu"] > 50 and m["bleu_signature"].startswith("nrefs:1|case:mixed")
    assert m["perplexity"] < 5 and m["chrf"] > 50


def test_errors_are_one_line(files, tmp_path, capsys):
    code, _, err = cli(capsys, "translate", "train", "--src", str(files / "train.de"), "--tgt",
                       str(files / "short.en"), "--out", str(tmp_path / "m"),
                       "--max-steps", "1")  # fmt: skip
    assert code == 2
    assert err.startswith("rnnkit: error: misaligned") and len(err.splitlines()) == 1
    empty = files / "empty.de"
    empty.write_text("", encoding="utf-8")
    code, _, err = cli(capsys, "translate", "train", "--src", str(empty), "--tgt",
                       str(empty), "--out", str(tmp_path / "m"), "--max-steps", "1")  # fmt: skip
    assert code == 2 and "empty" in err and len(err.splitlines()) == 1
    code, _, err = cli(capsys, "translate", "train", str(files / "pairs.tsv"), "--src-col", "3",
                       "--out", str(tmp_path / "m"), "--max-steps", "1")  # fmt: skip
    assert code == 2 and "line 1 has 3" in err
    code, _, err = cli(capsys, "translate", "train", "multi30k", "--out", str(tmp_path / "m"))
    assert code == 2 and "--src-lang" in err


def test_diagnose_a_translator(model, files, tmp_path, diagnose):
    data = diagnose(model, files / "pairs.tsv", tmp_path / "r", "-o", "src_col=1", "-o",
                    "tgt_col=0", "--batch-size", "3", "--seq-len", "12")  # fmt: skip
    names = [layer["name"] for layer in data["flow"]["layers"]]
    assert names and all(n.startswith("encoder") for n in names), names
    assert data["flow"]["T"] <= 12
