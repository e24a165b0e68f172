"""Plots, the Markdown report, and ``rnnkit diagnose`` on a real model directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.diagnostics import gradient_flow
from rnnkit.diagnostics.plots import plot_flow, plot_lags
from rnnkit.diagnostics.report import Probe, register_probe, write_report
from rnnkit.nn import GRU, LSTM, RNN

ASSET = Path(__file__).parents[1] / "assets" / "textgen_v1"
PNG = b"\x89PNG\r\n\x1a\n"


def test_plots_are_pngs(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(2, 30, 3)
    curves = {}
    for name, layer in (("RNN", RNN(3, 8)), ("LSTM", LSTM(3, 8, num_layers=2)), ("GRU", GRU(3, 8))):
        flow = gradient_flow(layer, x)
        curves[name] = flow.layers[0].jacobian_norm
        plot_flow(flow, tmp_path / f"{name}.png", title=name)
    plot_lags(curves, tmp_path / "lags.png")
    for p in tmp_path.glob("*.png"):
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 2000


def test_write_report(tmp_path):
    torch.manual_seed(0)
    layer = RNN(3, 8)
    with torch.no_grad():
        layer.weight_hh_l0.mul_(0.3)
    report = write_report(Probe(layer, torch.randn(2, 40, 3), None, "a test batch"), tmp_path)
    text = report.read_text()
    assert "a test batch" in text and "gradient horizon" in text and "## Cell health" in text
    data = json.loads((tmp_path / "diagnostics.json").read_text())  # strict JSON
    assert data["flow"]["T"] == 40 and data["flow"]["layers"][0]["horizon"] < 40
    assert (tmp_path / "gradient_flow.png").read_bytes()[:8] == PNG


def test_cli_diagnose_a_textgen_model(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat and the dog ran to the door.\n" * 30)
    out = tmp_path / "report"
    rc = main(["diagnose", str(ASSET), str(text), "--out", str(out), "--seq-len", "48",
               "--batch-size", "4"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    md = (out / "report.md").read_text()
    assert "textgen" in md and "rnn.l0" in md and "4 windows of 48 char tokens" in md
    flow = json.loads((out / "diagnostics.json").read_text())["flow"]
    assert flow["T"] == 48 and flow["loss"] > 0
    assert len(flow["layers"][0]["grad_norm"]) == 48
    for name in ("gradient_flow.png", "gradient_lags.png"):
        assert (out / name).read_bytes()[:8] == PNG


def test_cli_diagnose_errors_are_one_line(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "nope"), "x.txt"]) == 2
    assert "does not exist" in capsys.readouterr().err
    fake = tmp_path / "model"
    fake.mkdir()
    (fake / "config.json").write_text(json.dumps({"format_version": 1, "task": "poetry"}))
    assert main(["diagnose", str(fake), "x.txt"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error:") and "'poetry'" in err and err.count("\n") == 1
    text = tmp_path / "t.txt"
    text.write_text("the cat")
    assert main(["diagnose", str(ASSET), str(text), "--seq-len", "64", "--out",
                 str(tmp_path / "r")]) == 2  # fmt: skip
    assert "too few" in capsys.readouterr().err


def test_register_probe_validates():
    with pytest.raises(ValueError, match="module:function"):
        register_probe("classify", "no_colon")
    with pytest.raises(ValueError, match="already has probe"):
        register_probe("textgen", "somewhere:else")
