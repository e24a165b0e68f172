"""The command line end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RNNKIT = Path(sys.executable).with_name("rnnkit")
TINY = ["--hidden-size", "32", "--num-layers", "1", "--batch-size", "8", "--bptt", "16",
        "--no-progress"]  # fmt: skip


def run(*args: str, timeout: float = 240, warn: bool = False) -> subprocess.CompletedProcess:
    """``rnnkit ARGS`` in a subprocess; Python's warnings off unless ``warn`` (as a user has
    them)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    if not warn:
        env["PYTHONWARNINGS"] = "ignore"
    return subprocess.run([str(RNNKIT), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    lines = [f"the {w} sat on the mat and the {w} ran to the door." for w in
             ("cat", "dog", "bird", "fox", "hen", "cow")] * 60  # fmt: skip
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model")
    r = run("textgen", "train", str(corpus), "--out", str(out), "--max-steps", "60",
            "--weight-decay", "0.05", *TINY)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "model written to" in r.stdout
    return out


def test_a_short_run_prints_none_of_lightnings_internal_warnings(corpus, tmp_path):
    # As a user runs it, warnings on (run() turns them off): Lightning's deprecation of its
    # own torch call, its logging-interval advice and its "could not find the monitored key"
    # (with a hint to call self.log) are noise to someone training a model.
    r = run("textgen", "train", str(corpus), "--out", str(tmp_path), "--max-steps", "3",
            "--val-every", "50", *TINY, warn=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    words = ("Warning", "deprecated", "HINT", "logging interval")
    noise = [line for line in r.stderr.splitlines() if any(w in line for w in words)]
    assert not noise, r.stderr
    assert (tmp_path / "checkpoints" / "best.ckpt").is_file()  # validated at the end anyway


def test_a_warning_is_one_line_naming_rnnkit(tmp_path):
    data = tmp_path / "pairs.tsv"
    lines = [f"satz {i}\tsentence {i}" for i in range(60)] + ["leer\t"]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run("translate", "train", str(data), "--out", str(tmp_path / "m"), "--tokenizer",
            "word", "--embedding-size", "8", "--encoder-size", "8", "--decoder-size", "8",
            "--max-steps", "1", "--no-progress", warn=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    warned = [line for line in r.stderr.splitlines() if "empty source or target" in line]
    assert warned == ["rnnkit: warning: 1 input pair(s) with an empty source or target left "
                      "out, the first ('leer', '')"], r.stderr  # fmt: skip
    assert "UserWarning" not in r.stderr and "warnings.warn" not in r.stderr


def test_train_writes_a_model_directory(trained):
    import json

    config = json.loads((trained / "config.json").read_text())
    assert config["train"]["weight_decay"] == 0.05  # the shared option reaches the trainer
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "model.safetensors", "metrics.json", "last.ckpt"} <= names
    assert list((trained / "logs").glob("version_*/metrics.csv"))


def test_predict_is_reproducible_with_a_seed(trained, tmp_path):
    a = run(
        "textgen",
        "predict",
        str(trained),
        "--prompt",
        "the ",
        "--max-new-tokens",
        "40",
        "--seed",
        "1",
    )
    b = run(
        "textgen",
        "predict",
        str(trained),
        "--prompt",
        "the ",
        "--max-new-tokens",
        "40",
        "--seed",
        "1",
    )
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout and a.stdout.startswith("the ")
    out = tmp_path / "gen.txt"
    c = run(
        "textgen",
        "predict",
        str(trained),
        "--prompt",
        "the ",
        "--max-new-tokens",
        "40",
        "--seed",
        "1",
        "--output",
        str(out),
    )
    assert c.returncode == 0 and out.read_text(encoding="utf-8") == a.stdout.rstrip("\n")


def test_eval_prints_the_metrics(trained, corpus):
    r = run("textgen", "eval", str(trained), str(corpus))
    assert r.returncode == 0, r.stderr
    assert "perplexity" in r.stdout and "bits/char" in r.stdout


def test_resume_continues_the_run(trained, corpus):
    r = run(
        "textgen",
        "train",
        str(corpus),
        "--out",
        str(trained),
        "--max-steps",
        "70",
        "--resume",
        *TINY,
    )
    assert r.returncode == 0, r.stderr


def one_line_error(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    "content, needles",
    [
        (b"", ("empty",)),
        (b"\x00\x01\x02binary\x00" * 10, ("binary",)),
        ("caf\u00e9 au lait ".encode("latin-1") * 20, ("byte offset 3", "--encoding")),
    ],
    ids=["empty", "binary", "latin1"],
)
def test_bad_training_files_give_one_clear_line(tmp_path, content, needles):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    one_line_error(run("textgen", "train", str(bad), "--out", str(tmp_path / "m"),
                       "--max-steps", "2", *TINY), *needles)  # fmt: skip


def test_wrong_encoding_can_be_overridden(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes("caf\u00e9 au lait et th\u00e9 noir. ".encode("latin-1") * 200)
    r = run(
        "textgen",
        "train",
        str(f),
        "--out",
        str(tmp_path / "m"),
        "--max-steps",
        "3",
        "--encoding",
        "latin-1",
        *TINY,
    )
    assert r.returncode == 0, r.stderr


def test_missing_inputs_and_unknown_prompt_characters(trained, tmp_path):
    one_line_error(run("textgen", "train", str(tmp_path / "nope.txt"), "--out",
                       str(tmp_path / "m"), "--max-steps", "2"), "nope.txt")  # fmt: skip
    one_line_error(run("textgen", "predict", str(tmp_path), "--prompt", "x"), "config.json")
    one_line_error(run("textgen", "predict", str(trained), "--prompt", "\u2603"), "unknown")
    one_line_error(run("textgen", "train", "x.txt"), "--out")  # a usage error, one line too


def test_bad_adaptive_softmax_cutoffs_give_one_clear_line(tmp_path):
    corpus = tmp_path / "words.txt"
    corpus.write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
    out = str(tmp_path / "m")
    one_line_error(run("textgen", "train", str(corpus), "--out", out, "--level", "word",
                       "--adaptive-softmax", "2000,x"), "numbers joined by commas")  # fmt: skip
    one_line_error(run("textgen", "train", str(corpus), "--out", out, "--level", "word",
                       "--adaptive-softmax", "3,9", "--max-steps", "2"),
                   "vocabulary of more than 9")  # fmt: skip
    one_line_error(run("textgen", "train", str(corpus), "--out", out,
                       "--adaptive-softmax", "3"), "level='word'")  # fmt: skip
    one_line_error(run("textgen", "train", str(corpus), "--out", out, "--residual",
                       "--embedding-size", "8"), "embedding_size == hidden_size")  # fmt: skip


def test_help_is_complete():
    r = run("--help")
    assert r.returncode == 0 and "textgen" in r.stdout and "quickstart" in r.stdout
    r = run("textgen", "train", "--help")
    for option in (
        "--max-time",
        "--max-epochs",
        "--max-steps",
        "--batch-size",
        "--lr",
        "--weight-decay",
        "--adaptive-softmax",
        "--residual",
        "--seed",
        "--devices",
        "--resume",
        "--out",
    ):
        assert option in r.stdout, option


@pytest.mark.slow
def test_two_process_ddp_on_cpu_trains_a_normal_model_directory(corpus, tmp_path):
    out = tmp_path / "ddp"
    r = run(
        "textgen",
        "train",
        str(corpus),
        "--out",
        str(out),
        "--max-steps",
        "8",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--accelerator",
        "cpu",
        *TINY,
        timeout=300,
        warn=True,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "sync_dist" not in r.stderr  # the loss is summed over the ranks already
    assert {"config.json", "model.safetensors", "metrics.json"} <= {p.name for p in out.iterdir()}
    p = run(
        "textgen", "predict", str(out), "--prompt", "the ", "--max-new-tokens", "10", "--seed", "0"
    )
    assert p.returncode == 0, p.stderr


def test_training_without_validation_prints_no_lightning_note(corpus, tmp_path):
    """``--val-fraction 0`` printed Lightning's "you defined a validation_step but have no
    val_dataloader" with its site-packages file path: nothing a user can act on."""
    r = run("textgen", "train", str(corpus), "--out", str(tmp_path / "m"), "--val-fraction",
            "0", "--max-steps", "2", *TINY, warn=True)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert "val_dataloader" not in r.stderr and "site-packages" not in r.stderr, r.stderr


@pytest.mark.slow
def test_ddp_ranks_with_uneven_shards_finish(tmp_path):
    """17 training texts in batches of 8 over two ranks: 9 and 8 texts, 2 and 1 batches.
    Rank 1 ended its epoch and validated while rank 0 took its second step, and both then
    waited for each other until killed. Each rank now takes the fewest batches any has."""
    words = ["good", "fine", "great", "bad", "dull", "awful"]
    lines = [f"{int(i % 6 < 3)} {words[i % 6]} film number {i}" for i in range(21)]
    (tmp_path / "train.txt").write_text("\n".join(lines[:17]) + "\n", encoding="utf-8")
    (tmp_path / "val.txt").write_text("\n".join(lines[17:]) + "\n", encoding="utf-8")
    out = tmp_path / "ddp"
    r = run("classify", "train", str(tmp_path / "train.txt"), "--val", str(tmp_path / "val.txt"),
            "--out", str(out), "--max-epochs", "2", "--batch-size", "8", "--hidden-size", "8",
            "--embedding-size", "8", "--no-progress", "--devices", "2", "--strategy", "ddp",
            "--accelerator", "cpu", timeout=300, warn=True)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["train_steps"] == 2  # 1 batch x 2


def test_monitor_gradients_while_training(corpus, tmp_path, capsys):
    """``--monitor-gradients N`` attaches rnnkit.diagnostics.GradientMonitor: metrics in the
    CSV log, plots in OUT/diagnostics/training."""
    import csv

    from rnnkit.cli import main

    out = tmp_path / "m"
    code = main(["textgen", "train", str(corpus), "--out", str(out), "--max-steps", "12",
                 "--monitor-gradients", "5", *TINY])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    for name in ("gradient_flow.png", "gradient_history.png"):
        assert (out / "diagnostics" / "training" / name).read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader((out / "logs" / "version_0" / "metrics.csv").open()))
    horizons = [r["diag/rnn.l0/horizon"] for r in rows if r.get("diag/rnn.l0/horizon")]
    assert len(horizons) >= 2 and all(0 < float(h) <= 16 for h in horizons)  # steps 1, 5, 10
    assert main(["textgen", "train", str(corpus), "--out", str(tmp_path / "x"),
                 "--monitor-gradients", "-1"]) == 2  # fmt: skip


def test_a_reverse_word_model_writes_the_text_before_the_prompt(corpus, tmp_path):
    r = run("textgen", "train", str(corpus), "--out", str(tmp_path), "--level", "word",
            "--reverse", "--max-steps", "40", *TINY)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run("textgen", "predict", str(tmp_path), "--prompt", "ran to the door .",
            "--max-new-tokens", "8", "--seed", "0")  # fmt: skip
    assert r.returncode == 0, r.stderr
    text = r.stdout.strip()
    assert text.endswith("ran to the door .") and len(text.split()) > 5, text


def test_predict_checks_its_options_before_it_prints_the_prompt(trained, tmp_path, capsys):
    import json
    import shutil

    from rnnkit.cli import main

    for bad in (["--temperature", "-1"], ["--top-p", "1.5"], ["--max-new-tokens", "-1"],
                ["--prompt", "the \u2603"]):  # fmt: skip
        code = main(["textgen", "predict", str(trained), "--prompt", "the ", *bad])
        printed = capsys.readouterr()
        assert (code, printed.out) == (2, ""), (bad, printed)
        assert printed.err.startswith("rnnkit: error: ") and printed.err.count("\n") == 1
    broken = tmp_path / "broken"
    shutil.copytree(trained, broken, ignore=shutil.ignore_patterns("*.ckpt", "logs"))
    config = json.loads((broken / "config.json").read_text())
    config["bptt"] = None
    (broken / "config.json").write_text(json.dumps(config))
    assert main(["textgen", "predict", str(broken), "--prompt", "the "]) == 2
    assert capsys.readouterr() == ("", f"rnnkit: error: {broken / 'config.json'}: its 'bptt' "
                                   "must be int, got null; restore the file or train the model "
                                   "again\n")  # fmt: skip


def test_eval_of_a_one_file_dataset_scores_the_part_train_held_out(untrained, tmp_path, capsys):
    from rnnkit.cli import main
    from rnnkit.data import read_text

    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / "tinyshakespeare" / "input.txt").is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with tinyshakespeare (CI points it at ../shared/data)")
    untrained("char", read_text("tinyshakespeare")).save(tmp_path)
    code = main(["textgen", "eval", str(tmp_path), "tinyshakespeare", "--mode", "windows"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and len(out) == 2, out
    tokens = int(out[0].split("(")[1].split()[0])
    assert 111_000 < tokens < 111_540, out  # the last 10%, in 64-character windows
    assert out[1] == ("scored the last 10% of tinyshakespeare (111540 of 1115394 characters), "
                      "which train holds out for validation")  # fmt: skip


def test_train_sets_the_vocabulary_and_layer_options_of_the_docs(corpus, tmp_path, capsys):
    import json

    from rnnkit.cli import main

    out = tmp_path / "m"
    code = main(["textgen", "train", str(corpus), "--out", str(out), "--level", "word",
                 "--min-freq", "121", "--max-vocab", "20", "--layer-norm", "--input-dropout",
                 "0.1", "--embedding-init-std", "0.2", "--max-steps", "1", *TINY])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    words = config["tokenizer"]["words"]  # "cat" & co. (120 each) fall below --min-freq 121
    assert words == ["<eos>", "<unk>", "the", "and", "door.", "mat", "on", "ran", "sat", "to"]
    assert config["tokenizer_options"] == {"min_freq": 121, "max_size": 20}
    model = config["model"]
    assert (model["layer_norm"], model["input_dropout"], model["embedding_init_std"]) == (
        True, 0.1, 0.2)  # fmt: skip
    code = main(["textgen", "train", str(corpus), "--out", str(out), "--bpe-vocab-size", "300"])
    assert code == 2 and "level='bpe'" in capsys.readouterr().err


def test_python_m_rnnkit_is_the_rnnkit_command():
    r = subprocess.run([sys.executable, "-m", "rnnkit", "--help"], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "textgen" in r.stdout and "rnnkit" in r.stdout
