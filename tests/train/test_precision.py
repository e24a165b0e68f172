"""Mixed precision: bf16-mixed trains on a CPU under autocast with float32 weights; the layers
give float32's results within bfloat16's rounding; bad values are clear errors."""

from __future__ import annotations

import importlib
import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.data import StreamWindows, batchify
from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.tasks._lm import LanguageModel, LMConfig, lm_loss
from rnnkit.tasks.textgen import TextGenerator
from rnnkit.train import Batches, RecurrentTask, TrainConfig, fit

fit_module = importlib.import_module("rnnkit.train.fit")  # the module, not the function
PERIODIC_IDS = torch.arange(4000) % 7  # a sequence a small model learns in a few dozen steps


class Recording(RecurrentTask):
    """Records whether CPU autocast to bfloat16 was on in each training step, and the loss."""

    def training_loss(self, x, y):
        loss, state = super().training_loss(x, y)
        self.autocast_seen.append(
            torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        )
        self.losses.append(float(loss.detach()))
        return loss, state


def _train(tmp_path, precision):
    torch.manual_seed(0)
    model = LanguageModel(LMConfig(vocab_size=7, hidden_size=32, num_layers=1))
    cfg = TrainConfig(max_steps=40, batch_size=8, lr=1e-2, warmup_steps=3, progress=False,
                      checkpoint_every=None, accelerator="cpu", precision=precision)  # fmt: skip
    train = Batches(lambda e, r, w: StreamWindows(batchify(PERIODIC_IDS, 8), 16),
                    lambda r, w: len(StreamWindows(batchify(PERIODIC_IDS, 8), 16)))  # fmt: skip
    task = Recording(model, lm_loss, cfg)
    task.autocast_seen, task.losses = [], []
    fit(task, train, None, tmp_path)
    return task


def test_bf16_mixed_on_a_cpu_autocasts_and_keeps_float32_weights(tmp_path):
    task = _train(tmp_path / "bf16", "bf16-mixed")
    assert task.autocast_seen and all(task.autocast_seen)
    assert all(p.dtype == torch.float32 for p in task.model.parameters())
    assert task.losses[-1] < 0.5 * task.losses[0]  # it learns the period
    plain = _train(tmp_path / "fp32", None)
    assert not any(plain.autocast_seen)  # the CPU default stays float32
    assert task.losses[-1] < max(2 * plain.losses[-1], 0.2)  # as well as float32, roughly


def test_bf16_mixed_warns_only_on_a_cpu_without_native_bfloat16(monkeypatch):
    cfg = TrainConfig(max_steps=1, accelerator="cpu", precision="bf16-mixed")
    monkeypatch.setattr(fit_module, "_cpu_has_bf16", lambda: False)
    with pytest.warns(UserWarning, match="no native bfloat16"):
        assert fit_module._precision(cfg) == "bf16-mixed"
    monkeypatch.setattr(fit_module, "_cpu_has_bf16", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit_module._precision(cfg) == "bf16-mixed"
    assert fit_module._precision(TrainConfig(max_steps=1, accelerator="cpu")) == "32-true"


def test_the_gpu_default_is_bf16_only_where_the_gpu_computes_it_natively(monkeypatch):
    # A V100 or T4 (before Ampere) would emulate bfloat16, slower than float32: the default
    # there is 32-true, and asking for bf16-mixed warns as on a CPU without it.
    gpu = TrainConfig(max_steps=1, accelerator="gpu")
    monkeypatch.setattr(fit_module, "_gpu_has_bf16", lambda: True)
    assert fit_module._precision(gpu) == "bf16-mixed"
    monkeypatch.setattr(fit_module, "_gpu_has_bf16", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default itself says nothing
        assert fit_module._precision(gpu) == "32-true"
    with pytest.warns(UserWarning, match="this GPU has no native bfloat16"):
        explicit = TrainConfig(max_steps=1, accelerator="gpu", precision="bf16-mixed")
        assert fit_module._precision(explicit) == "bf16-mixed"
    monkeypatch.undo()
    if not torch.cuda.is_available():
        assert fit_module._gpu_has_bf16() is False  # no device: no error, just False


@pytest.mark.parametrize("value", ["16-mixed", "fp8", "bf16"])
def test_an_unsupported_precision_is_an_error(value):
    with pytest.raises(ValueError, match="32-true or bf16-mixed"):
        TrainConfig(max_steps=1, precision=value)


def test_a_model_saved_with_a_precision_no_longer_accepted_still_loads(tmp_path):
    model_dir = tmp_path / "m"
    shutil.copytree(Path(__file__).parents[1] / "assets" / "textgen_v1", model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    config["train"]["precision"] = "16-mixed"  # passed through unchecked before validation
    (model_dir / "config.json").write_text(json.dumps(config))
    gen = rnnkit.load(model_dir)
    assert gen.train_config.precision is None  # the default, on resume
    assert isinstance(gen.generate("a", max_new_tokens=5, seed=0), str)


def test_cli_passes_precision_and_rejects_a_bad_one_in_one_line(tmp_path, monkeypatch, capsys):
    text = tmp_path / "t.txt"
    text.write_text("abc abd abe\n" * 50)
    args = ["textgen", "train", str(text), "--out", str(tmp_path / "m"), "--max-steps", "1"]
    assert main([*args, "--precision", "16-mixed"]) == 2
    err = capsys.readouterr().err.strip()
    assert "precision must be 32-true or bf16-mixed" in err and "\n" not in err
    captured = {}

    def fake_fit(self, train_text, val_text=None, out=None, resume=False, callbacks=None,
                 **options):  # fmt: skip
        captured.update(options)
        return self

    monkeypatch.setattr(TextGenerator, "fit", fake_fit)
    assert main([*args, "--precision", "bf16-mixed"]) == 0
    assert captured["precision"] == "bf16-mixed"
    captured.clear()
    assert main(args) == 0
    assert "precision" not in captured  # the engine's default


LAYERS = [
    (LSTM, {}),
    (LSTM, {"bidirectional": True, "num_layers": 2}),
    (LSTM, {"weight_drop": 0.3, "zoneout": 0.1}),
    (LSTM, {"layer_norm": True}),
    (GRU, {}),
    (GRU, {"recurrent_dropout": 0.2, "bidirectional": True}),
    (GRU, {"layer_norm": True}),
    (RNN, {"impl": "loop"}),
]


@pytest.mark.parametrize(("cls", "options"), LAYERS)
def test_layers_under_cpu_autocast_match_float32_within_bfloat16_rounding(cls, options):
    torch.manual_seed(0)
    layer = cls(8, 16, **options).train()
    x = torch.randn(3, 7, 8, requires_grad=True)
    lengths = torch.tensor([7, 5, 2])
    results = []
    for bf16 in (False, True):
        torch.manual_seed(1)  # the same dropout masks in both runs
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y, _ = layer(x, lengths=lengths)
        (grad,) = torch.autograd.grad(y.float().square().sum(), x)
        results.append((y.float(), grad))
    (y32, g32), (y16, g16) = results
    assert torch.isfinite(y16).all() and torch.isfinite(g16).all()
    # bfloat16 keeps 8 bits of mantissa: about 0.4% per rounding, a few roundings deep here.
    assert (y16 - y32).abs().max() < 0.05
    assert (g16 - g32).abs().max() < 0.05 * g32.abs().max() + 0.05
    assert (y16 - y32).abs().max() > 0  # autocast did take effect


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_state_returned_under_autocast_feeds_back_in(cls):
    # Stateful training and streaming carry the state a layer returned; under autocast it
    # comes back in bfloat16 while the next window's input is float32.
    torch.manual_seed(0)
    layer = cls(8, 16, num_layers=2)
    x = torch.randn(2, 10, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y1, state = layer(x[:, :5])
        y2, _ = layer(x[:, 5:], state)
    whole, _ = layer(x)
    split = torch.cat([y1, y2], dim=1).float()
    assert (split - whole).abs().max() < 0.05
    with pytest.raises(ValueError, match="move one to match"):  # outside autocast: an error
        layer(x, tuple(t.to(torch.float64) for t in state) if cls is LSTM else state.double())


def test_a_stateful_text_generator_trains_under_bf16_mixed(tmp_path):
    text = "to be or not to be, that is the question. " * 60
    gen = TextGenerator(level="char", hidden_size=32, num_layers=2, bptt=16, stateful=True)
    gen.fit(text, out=tmp_path / "m", max_steps=60, batch_size=4, lr=1e-2, progress=False,
            accelerator="cpu", precision="bf16-mixed")  # fmt: skip
    counts = torch.tensor([text.count(c) for c in set(text)], dtype=torch.float64)
    p = counts / counts.sum()
    unigram_entropy = float(-(p * p.log()).sum())  # 2.6 nats: what no context can beat
    assert gen.evaluate(text[:400])["loss"] < 0.7 * unigram_entropy
