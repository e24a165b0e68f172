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


# ---------------------------------------------------------------------- audit checks
SPLIT = [(f"satz nummer {i}", f"sentence number {i}") for i in range(60)]
WORD = ["--tokenizer", "word", "--embedding-size", "8", "--encoder-size", "8",
        "--decoder-size", "8", "--batch-size", "16", "--no-progress"]  # fmt: skip


@pytest.fixture
def untrained(untrained_translator, tmp_path) -> Path:
    """A model folder with random weights: enough for the checks of predict and eval."""
    return untrained_translator(PAIRS * 3, seed=2).save(tmp_path / "untrained")


@pytest.fixture(scope="module")
def split_run(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    """A pairs file with an empty target and a pair over --max-len, trained for 2 steps on the
    split train makes: (the pairs file, the model folder, the warnings)."""
    import warnings

    from rnnkit.cli import main

    d = tmp_path_factory.mktemp("split")
    rows = [f"{s}\t{t}" for s, t in SPLIT] + ["leer\t ", "a b c d\tx"]
    (d / "pairs.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = d / "model"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["translate", "train", str(d / "pairs.tsv"), "--out", str(out), "--max-len",
                     "3", "--max-steps", "2", *WORD])  # fmt: skip
    assert code == 0
    return d / "pairs.tsv", out, [str(w.message) for w in caught]


def test_train_counts_and_warns_about_the_pairs_it_leaves_out(split_run):
    _, out, warned = split_run
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["dropped_empty_pairs"] == 1  # left out by the command, before the split
    assert any(w.startswith("1 input pair(s) with an empty source") for w in warned), warned
    long = [w for w in warned if "longer than max_len=3 tokens" in w]
    assert long and long[0].startswith("1 training pair(s)") and metrics["dropped_long_pairs"] == 1


def test_resume_keeps_the_split_and_its_test_pairs(split_run, tmp_path, capsys):
    import shutil

    pairs, out, _ = split_run
    run_dir = shutil.copytree(out, tmp_path / "model")
    test = (run_dir / "test.tsv").read_text(encoding="utf-8")
    resume = ["translate", "train", str(pairs), "--out", str(run_dir), "--max-len", "3",
              "--max-steps", "3", "--resume", *WORD]  # fmt: skip
    code, _, err = cli(capsys, *resume, "--seed", "1")
    assert code == 2 and "resume with --seed 0" in err and len(err.splitlines()) == 1
    (run_dir / "config.json").unlink()  # a run killed before it saved its model
    code, _, err = cli(capsys, *resume, "--seed", "1")
    assert code == 2 and "test.tsv" in err and len(err.splitlines()) == 1
    assert (run_dir / "test.tsv").read_text(encoding="utf-8") == test
    code, _, err = cli(capsys, *resume)  # the same seed continues
    assert code == 0, err
    assert (run_dir / "test.tsv").read_text(encoding="utf-8") == test


@pytest.mark.parametrize("option, value",
                         [("--no-repeat-ngram", "-1"), ("--max-len-ratio", "inf"),
                          ("--alpha", "nan")])  # fmt: skip
def test_decoding_options_out_of_range_are_one_line(untrained, capsys, option, value):
    code, _, err = cli(capsys, "translate", "predict", str(untrained), "ein hund läuft .", option,
                       value)  # fmt: skip
    assert code == 2 and err.startswith("rnnkit: error: expected") and option in err
    assert len(err.splitlines()) == 1


def test_predict_translates_blank_lines_to_blank_lines(untrained, tmp_path, capsys):
    file = tmp_path / "in.de"
    file.write_text("ein hund läuft .\n\n   \neine katze schläft .\n", encoding="utf-8")
    code, out, err = cli(capsys, "translate", "predict", str(untrained), "--file", str(file))
    assert code == 0, err
    lines = out.split("\n")
    assert len(lines) == 5 and lines[1:3] == ["", ""] and lines[0] and lines[3]


def test_a_damaged_model_folder_is_one_line(untrained, capsys):
    config = json.loads((untrained / "config.json").read_text(encoding="utf-8"))
    config["model"]["bogus"] = 1
    (untrained / "config.json").write_text(json.dumps(config), encoding="utf-8")
    code, _, err = cli(capsys, "translate", "predict", str(untrained), "ein hund läuft .")
    assert code == 2 and "the model folder is damaged" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("option, value",
                         [("--split", "test2017"), ("--src-lang", "de"),
                          ("--tgt-lang", "en")])  # fmt: skip
def test_eval_of_a_pairs_file_refuses_multi30k_options(untrained, files, capsys, option, value):
    given = [["--src", str(files / "valid.de"), "--tgt", str(files / "valid.en")],
             [str(files / "pairs.tsv")]]  # fmt: skip
    for data in given:
        code, _, err = cli(capsys, "translate", "eval", str(untrained), *data, option, value)
        assert code == 2 and option in err and len(err.splitlines()) == 1


def test_eval_refuses_a_dataset_without_a_test_split(tmp_path, capsys, monkeypatch):
    root = os.environ.get("RNNKIT_DATA_DIR", "")
    if not os.path.isfile(os.path.join(root, "tatoeba_fra_eng", "fra-eng.zip")):
        pytest.skip("needs RNNKIT_DATA_DIR with tatoeba_fra_eng/ (point it at shared/data)")
    from rnnkit.tasks.translate import Translator

    def scored(*args, **kwargs):
        pytest.fail("eval scored every pair of the dataset, trained ones included")

    monkeypatch.setattr(Translator, "load", scored)
    code, _, err = cli(capsys, "translate", "eval", str(tmp_path / "model"), "tatoeba_fra_eng")
    assert code == 2 and str(tmp_path / "model" / "test.tsv") in err
    assert len(err.splitlines()) == 1
