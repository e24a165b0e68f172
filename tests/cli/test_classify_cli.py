"""``rnnkit classify train | predict | eval`` end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RNNKIT = Path(sys.executable).with_name("rnnkit")
TINY = ["--embedding-size", "32", "--hidden-size", "32", "--batch-size", "16", "--no-progress"]


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(RNNKIT), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    """A user's spreadsheet: 400 SST-2 sentences with string labels in chosen columns."""
    root = os.environ.get("RNNKIT_DATA_DIR")
    sst = Path(root or "") / "sst2" / "stsa.binary.train"
    if not root or not sst.is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with sst2/ (CI points it at ../shared/data)")
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review", "sentiment"])
        for i, line in enumerate(sst.read_text(encoding="utf-8").split("\n")[:400]):
            label, _, text = line.partition(" ")
            w.writerow([i, text, "positive" if label == "1" else "negative"])
    return path


@pytest.fixture(scope="module")
def model(reviews, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model")
    r = run("classify", "train", str(reviews), "--text-col", "review", "--label-col",
            "sentiment", "--out", str(out), "--max-steps", "30", "--monitor-gradients", "15",
            *TINY)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "model written to" in r.stdout and "best validation accuracy" in r.stdout
    return out


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """The same command in this process (``rnnkit.cli.main``): no start-up cost per call."""
    from rnnkit.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
def test_train_predict_and_eval_end_to_end(model, reviews, tmp_path, capsys):
    assert {"config.json", "model.safetensors", "metrics.json"} <= {p.name for p in model.iterdir()}
    r = run("classify", "predict", str(model), "a gorgeous film", "", "--proba")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip("\n").split("\n")
    assert len(lines) == 2 and all(ln.split("\t")[0] in ("negative", "positive") for ln in lines)
    assert "negative=" in lines[0] and lines[0].endswith("a gorgeous film")

    preds = tmp_path / "preds.csv"
    code, out, err = cli(capsys, "classify", "predict", str(model), "--file", str(reviews),
                         "--text-col", "review", "--output", str(preds))  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(preds.open(encoding="utf-8")))
    assert len(rows) == 400 and set(rows[0]) == {"text", "label", "p_negative", "p_positive"}
    p = float(rows[0]["p_negative"]) + float(rows[0]["p_positive"])
    assert p == pytest.approx(1.0, abs=1e-5)

    code, out, err = cli(capsys, "classify", "eval", str(model), str(reviews), "--text-col",
                         "review", "--label-col", "sentiment", "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(out)
    assert m["n"] == 400 and m["confusion"]["labels"] == ["negative", "positive"]
    assert m["accuracy"] == pytest.approx(
        sum(m["confusion"]["matrix"][i][i] for i in range(2)) / 400
    )
    code, out, _ = cli(capsys, "classify", "eval", str(model), str(reviews), "--text-col",
                       "review", "--label-col", "sentiment")  # fmt: skip
    assert code == 0 and out.startswith("accuracy ") and "confusion (rows: true" in out


def test_resume_continues_the_run(model, reviews, tmp_path, capsys):
    out = tmp_path / "model"
    shutil.copytree(model, out)  # the fixture's run stopped at step 30
    code, stdout, err = cli(capsys, "classify", "train", str(reviews), "--text-col", "review",
                            "--label-col", "sentiment", "--out", str(out), "--max-steps", "45",
                            "--resume", *TINY)  # fmt: skip
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["train_steps"] == 45
    assert "best validation accuracy" in stdout
    assert "--embedding-size, --hidden-size on this command line are not read" in err
    assert len(list((out / "logs").glob("version_*"))) == 2  # one log folder per segment


def test_mistakes_are_one_line_and_exit_2(model, tmp_path, capsys):
    bad = tmp_path / "mr.txt"
    bad.write_bytes(b"1 fine\n0 it\x92s a mess\n")
    code, _, err = cli(capsys, "classify", "eval", str(model), str(bad))
    assert code == 2 and err.count("\n") == 1 and err.startswith("rnnkit: error:")
    assert "mr.txt, line 2" in err and "--encoding cp1252" in err
    code, out, err = cli(capsys, "classify", "eval", str(model), str(bad), "--encoding", "cp1252")
    assert code == 2 and err.count("\n") == 1  # 0 and 1, not negative/positive: no match
    assert "none of the evaluation labels is a class of the model" in err
    code, _, err = cli(capsys, "classify", "predict", str(model), "--file", str(model / "x.csv"))
    assert code == 2 and "not found" in err
    table = tmp_path / "t.csv"
    table.write_text("review\nfine\n")
    code, _, err = cli(capsys, "classify", "predict", str(model), "--file", str(table))
    assert code == 2 and "(choose with --text-col)" in err  # predict has no --label-col
    for option in (["--devices", "0"], ["--accelerator", "tpu"], ["--seed", "-1"]):
        code, _, err = cli(capsys, "classify", "train", str(bad), "--encoding", "cp1252",
                           "--out", str(tmp_path / "m"), *option)  # fmt: skip
        assert code == 2 and err.count("\n") == 1, (option, err)
        assert option[0].lstrip("-") in err, (option, err)
    code, _, err = cli(capsys, "classify", "train", "ptb", "--out", str(tmp_path / "m"))
    assert code == 2 and "not labelled texts; classify reads sst2 or mr" in err
    code, _, err = cli(capsys, "classify", "eval", str(model), "mr")
    assert code == 2 and "mr has no dev or test split" in err
    code, out, err = cli(capsys, "classify", "train", "mr", "--out", str(tmp_path / "mr"),
                         "--max-steps", "2", *TINY)  # fmt: skip
    assert code == 0 and "classes ['neg', 'pos']" in out, err  # read as Windows-1252
    code, _, err = cli(capsys, "classify", "train", str(tmp_path / "nope.csv"), "--out",
                       str(tmp_path / "m"))  # fmt: skip
    assert code == 2 and "not found" in err
    code, _, err = cli(capsys, "classify", "predict", str(model))
    assert code == 2 and "expected texts to classify" in err


def test_diagnose_a_classifier(model, reviews, tmp_path, diagnose):
    data = diagnose(model, reviews, tmp_path / "r", "-o", "text_col=review", "-o",
                    "label_col=sentiment", "--batch-size", "4", "--seq-len", "20")  # fmt: skip
    names = [layer["name"] for layer in data["flow"]["layers"]]
    assert len(names) == 2 and any("reverse" in n for n in names), names  # both directions
    assert 2 <= data["flow"]["T"] <= 20
    # the fixture trained with --monitor-gradients 15: the callback ran on this model too
    png = model / "diagnostics" / "training" / "gradient_history.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main_code(["diagnose", str(model), str(reviews), "-o", "colour=red"]) == 2


def main_code(args: list[str]) -> int:
    from rnnkit.cli import main

    return main(args)


@pytest.mark.slow
def test_adversarial_training_under_two_process_ddp_on_cpu(reviews, tmp_path):
    # The adversarial step takes a gradient with respect to the embeddings inside the
    # training step, before the loss's backward: under DDP the gradient all-reduce must
    # still happen once per step, on every rank, and the run must end in a normal model.
    out = tmp_path / "ddp"
    r = run("classify", "train", str(reviews), "--text-col", "review", "--label-col",
            "sentiment", "--out", str(out), "--max-steps", "8", "--adversarial", "0.02",
            "--devices", "2", "--strategy", "ddp", "--accelerator", "cpu", *TINY,
            timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_steps"] == 8
    p = run("classify", "predict", str(out), "a gripping , funny film")
    assert p.returncode == 0 and p.stdout.split("\t")[0] in ("positive", "negative"), p.stdout


def test_a_forward_and_a_backward_language_model(reviews, tmp_path, capsys):
    import rnnkit

    text = "\n".join(row[1] for row in csv.reader(open(reviews, encoding="utf-8")))
    for name, reverse in (("fwd", False), ("back", True)):
        gen = rnnkit.TextGenerator(level="word", hidden_size=16, embedding_size=8,
                                   num_layers=1, bptt=16, reverse=reverse)  # fmt: skip
        gen.fit(text, out=tmp_path / name, max_steps=2, batch_size=8, progress=False)
    args = ["classify", "train", str(reviews), "--text-col", "review", "--label-col",
            "sentiment", "--max-steps", "3", "--no-progress"]  # fmt: skip
    code, _, err = cli(capsys, *args, "--out", str(tmp_path / "m"), "--pretrained",
                       str(tmp_path / "fwd"), "--pretrained", str(tmp_path / "back"))  # fmt: skip
    assert code == 0, err
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["embedding_size"] == 16 and len(config["pretrained"]) == 2
    code, _, err = cli(capsys, *args, "--out", str(tmp_path / "m2"), "--pretrained",
                       str(tmp_path / "fwd"), "--pretrained", str(tmp_path / "fwd"))  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "one forward and one backward" in err
