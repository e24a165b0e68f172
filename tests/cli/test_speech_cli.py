"""``rnnkit speech train | eval | predict | stream`` end to end, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

RNNKIT = Path(sys.executable).with_name("rnnkit")
TINY = ["--hidden-size", "32", "--num-layers", "1", "--conv-channels", "16", "--batch-size", "8",
        "--no-progress"]  # fmt: skip


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([str(RNNKIT), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    root = os.environ.get("RNNKIT_DATA_DIR")
    rec = Path(root or "") / "fsdd/recordings"
    if not root or not rec.is_dir():
        pytest.skip("needs RNNKIT_DATA_DIR with fsdd/recordings (CI points it at ../shared/data)")
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    lines = ["path,text"] + [f"{rec}/{d}_theo_{i}.wav,{words[d]}" for d in range(10)
                             for i in range(5, 9)]  # fmt: skip
    path = tmp_path_factory.mktemp("data") / "train.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(manifest, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model")
    r = run("speech", "train", str(manifest), "--out", str(out), "--max-steps", "15",
            "--streaming", "--cepstral-smoothing", "13", "--frontend", "conv2d",
            "--conv2d-channels", "4", *TINY)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "model written to" in r.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["features"]["cepstral_smoothing"] == 13
    assert config["model"]["frontend"] == "conv2d" and config["model"]["conv2d_channels"] == 4
    return out


@pytest.mark.slow
def test_train_eval_predict_stream(trained, manifest, tmp_path):
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "model.safetensors", "metrics.json"} <= names
    r = run("speech", "eval", str(trained), str(manifest), "--beam", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("WER ") and "(40 utterances)" in r.stdout
    files = [line.split(",")[0] for line in manifest.read_text().splitlines()[1:4]]
    r = run("speech", "predict", str(trained), *files)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3  # one line per file, even when empty
    r = run("speech", "stream", str(trained), files[0], "--chunk-ms", "100")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()  # at least the final line


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"garbage" * 50)
    (tmp_path / "m.csv").write_text("path,text\n" + f"{broken},one\n" * 12)
    r = run("speech", "train", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o"),
            "--max-steps", "1", *TINY)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.startswith("rnnkit: error: ") and "broken.wav" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run("speech", "train", "fsdd", "--split", "speaker:bob", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "speaker:NAME" in r.stderr
    r = run("speech", "train", "fsdd", "--speed-perturb", "0.9;1.1", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "--speed-perturb" in r.stderr
    r = run("speech", "train", "fsdd", "--cepstral-smoothing", "99", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "cepstral_smoothing <= n_mels = 40" in r.stderr
    r = run("speech", "train", "fsdd", "--frontend", "conv3d", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "frontend must be one of" in r.stderr


def test_diagnose_a_speech_model(trained, manifest, tmp_path, diagnose):
    data = diagnose(trained, manifest, tmp_path / "r", "--batch-size", "3")
    assert data["flow"]["T"] >= 10 and data["flow"]["layers"]  # frames after the front end


def test_per_speaker_normalisation_end_to_end(manifest, trained, tmp_path):
    lines = manifest.read_text().splitlines()
    with_speakers = tmp_path / "spk.csv"
    rows = [f"{line},{'theo' if i % 2 else 'other'}" for i, line in enumerate(lines[1:])]
    with_speakers.write_text("path,text,speaker\n" + "\n".join(rows) + "\n")
    out = tmp_path / "m"
    r = run("speech", "train", str(with_speakers), "--out", str(out), "--max-steps", "2",
            "--normalize", "speaker", *TINY)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "config.json").read_text())["features"]["normalize"] == "speaker"
    r = run("speech", "eval", str(out), str(with_speakers))
    assert r.returncode == 0 and "(40 utterances)" in r.stdout, r.stderr
    files = [line.split(",")[0] for line in lines[1:4]]
    r = run("speech", "predict", str(out), *files, "--same-speaker")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3, r.stderr
    r = run("speech", "enroll", str(out), "ann", *files)
    assert r.returncode == 0 and "enrolled 'ann' from 3 recordings" in r.stdout, r.stderr
    assert "ann" in json.loads((out / "config.json").read_text())["enrolled"]
    r = run("speech", "predict", str(out), files[0], "--speaker", "ann")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1, r.stderr
    # a manifest without speakers, a streaming model, an utterance-normalised model: one line
    r = run("speech", "train", str(manifest), "--out", str(tmp_path / "o"), "--max-steps", "1",
            "--normalize", "speaker", *TINY)  # fmt: skip
    assert r.returncode == 2 and "needs the speaker of every training recording" in r.stderr
    r = run("speech", "train", "fsdd", "--streaming", "--normalize", "speaker", "--out",
            str(tmp_path / "o"))  # fmt: skip
    assert r.returncode == 2 and "streaming model normalises" in r.stderr
    r = run("speech", "predict", str(trained), files[0], "--same-speaker")
    assert r.returncode == 2 and "--same-speaker needs a model trained with --normalize" in r.stderr
    r = run("speech", "enroll", str(trained), "ann", files[0])
    assert r.returncode == 2 and "enroll needs a model trained with --normalize speaker" in r.stderr


def test_stream_stamps_end_at_the_end_of_the_file(trained, manifest, monkeypatch, capsys):
    from rnnkit.cli import main
    from rnnkit.tasks._speech_stream import SpeechStream

    calls = iter(range(1000))  # every chunk changes the text, so every chunk is stamped
    monkeypatch.setattr(SpeechStream, "feed", lambda self, chunk: f"text {next(calls)}")
    file = manifest.read_text().splitlines()[1].split(",")[0]
    assert main(["speech", "stream", str(trained), file, "--chunk-ms", "100000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"[{sf.info(file).duration:6.2f}s] text 0"  # not [100.00s]


@pytest.mark.parametrize(
    "option, says",
    [
        (["--connected", "-5"], "expected connected >= 0"),
        (["--speed-perturb", ","], "expected --speed-perturb as numbers"),
        (["--n-mels", "0"], "expected n_mels >= 1"),
        (["--sample-rate", "-8000"], "sample rate of at least 1000 Hz"),
    ],
)
def test_bad_train_options_fail_before_training(manifest, tmp_path, option, says):
    r = run("speech", "train", str(manifest), "--out", str(tmp_path / "o"), "--max-steps", "1",
            *option, *TINY)  # fmt: skip
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_predict_on_a_folder_says_it_is_a_folder(trained, tmp_path):
    r = run("speech", "predict", str(trained), str(tmp_path))
    assert r.returncode == 2 and "a folder, not an audio file" in r.stderr, r.stderr
