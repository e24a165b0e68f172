"""Mixed precision: bf16-mixed and 16-mixed train on a CPU under autocast with float32
weights; 16-mixed scales the loss, and clipping, the guard and the optimizer see unscaled
gradients; overflow skips a step and halves the scale, without a strike, until the scale
falls below 1; the layers give float32's results within the half type's rounding; bad values
are clear errors."""

from __future__ import annotations

import importlib
import json
import math
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
    """Records the CPU autocast dtype of each training step (None: off), the loss, and the
    gradients the optimizer stepped with."""

    def training_loss(self, x, y):
        loss, state = super().training_loss(x, y)
        on = torch.is_autocast_enabled("cpu")
        self.autocast_seen.append(torch.get_autocast_dtype("cpu") if on else None)
        self.losses.append(float(loss.detach()))
        return loss, state

    stop_at: int | None = None  # stop there, as a killed job would

    def training_step(self, batch, batch_idx):
        super().training_step(batch, batch_idx)
        self.grads.append([p.grad.clone() for p in self.model.parameters()])
        if self.stop_at is not None and self.global_step >= self.stop_at:
            self.trainer.should_stop = True


def _train(tmp_path, precision, steps=40, hook=None, stop_at=None, resume=False, **options):
    torch.manual_seed(0)
    model = LanguageModel(LMConfig(vocab_size=7, hidden_size=32, num_layers=1))
    if hook is not None:
        model.head.weight.register_hook(hook)
    cfg = TrainConfig(max_steps=steps, batch_size=8, lr=1e-2, warmup_steps=3, progress=False,
                      checkpoint_every=None, accelerator="cpu", precision=precision,
                      **options)  # fmt: skip
    train = Batches(lambda e, r, w: StreamWindows(batchify(PERIODIC_IDS, 8), 16),
                    lambda r, w: len(StreamWindows(batchify(PERIODIC_IDS, 8), 16)))  # fmt: skip
    task = Recording(model, lm_loss, cfg)
    task.autocast_seen, task.losses, task.grads = [], [], []
    task.stop_at = stop_at
    with warnings.catch_warnings():  # (16-mixed on a CPU says it is for GPUs)
        warnings.filterwarnings("ignore", message="precision 16-mixed on a CPU")
        trainer = fit(task, train, None, tmp_path, resume=resume)
    task.metrics = fit_module.finish(task, trainer, tmp_path, False)
    return task


def test_bf16_mixed_on_a_cpu_autocasts_and_keeps_float32_weights(tmp_path):
    task = _train(tmp_path / "bf16", "bf16-mixed")
    assert task.autocast_seen and all(d == torch.bfloat16 for d in task.autocast_seen)
    assert all(p.dtype == torch.float32 for p in task.model.parameters())
    assert task.losses[-1] < 0.5 * task.losses[0]  # it learns the period
    plain = _train(tmp_path / "fp32", None)
    assert not any(plain.autocast_seen)  # the CPU default stays float32
    assert task.losses[-1] < max(2 * plain.losses[-1], 0.2)  # as well as float32, roughly


def test_16_mixed_autocasts_to_float16_and_steps_with_unscaled_gradients(tmp_path):
    """The loss is scaled (2**16 to start) for the backward pass; clipping and the optimizer
    must see the gradients float32 training would have had, within float16's rounding (the
    default threshold, 1, is above their norm: clipping scaled ones would shrink them)."""
    fp16 = _train(tmp_path / "fp16", "16-mixed", steps=5)
    assert fp16.autocast_seen and all(d == torch.float16 for d in fp16.autocast_seen)
    assert all(p.dtype == torch.float32 for p in fp16.model.parameters())
    assert fp16.loss_scale() == 2.0**16 and fp16.metrics["overflow_skips"] == 0
    fp32 = _train(tmp_path / "fp32", None, steps=5)
    assert 0.01 < torch.cat([g.flatten() for g in fp32.grads[0]]).norm() < 1.0
    for g16, g32 in zip(fp16.grads[0], fp32.grads[0]):  # the first step: the same weights
        assert (g16 - g32).abs().max() <= 0.02 * g32.abs().max() + 1e-6
    longer = _train(tmp_path / "fp16-40", "16-mixed")
    assert longer.losses[-1] < 0.5 * longer.losses[0]  # it learns the period, clipped too
    assert longer.metrics["guard_rollbacks"] == 0


def test_16_mixed_skips_overflowing_steps_and_halves_the_scale_without_a_strike(
    tmp_path, monkeypatch
):
    scaler = torch.amp.GradScaler
    monkeypatch.setattr(torch.amp, "GradScaler", lambda *a, **k: scaler(*a, init_scale=2.0**40))
    task = _train(tmp_path, "16-mixed")
    m = task.metrics
    # float16 holds up to 65,504: scales above ~2**20 overflow here; each overflow halves it
    assert 10 <= m["overflow_skips"] <= 30 and m["guard_rollbacks"] == 0
    assert m["train_steps"] == 40 and len(task.losses) == 40 + m["overflow_skips"]
    assert task.loss_scale() < 2.0**30
    assert task.losses[-1] < 0.5 * task.losses[0]


def test_16_mixed_resume_continues_with_the_loss_scale_it_had(tmp_path, monkeypatch):
    """The scale is part of the run: resumed from a fresh 2**40 it would overflow ~20 more
    times and consume other batches than the uninterrupted run."""
    scaler = torch.amp.GradScaler
    monkeypatch.setattr(torch.amp, "GradScaler", lambda *a, **k: scaler(*a, init_scale=2.0**40))
    whole = _train(tmp_path / "whole", "16-mixed", steps=30)
    _train(tmp_path / "split", "16-mixed", steps=30, stop_at=12)
    second = _train(tmp_path / "split", "16-mixed", steps=30, resume=True)
    assert second.metrics["train_steps"] == 30 and second.metrics["overflow_skips"] == 0
    assert second.loss_scale() == whole.loss_scale() < 2.0**30
    for a, b in zip(whole.model.parameters(), second.model.parameters()):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6)


def test_16_mixed_overflow_below_scale_one_is_divergence(tmp_path, capsys):
    """Gradients that stay infinite at every scale are the guard's: after the scale has
    fallen below 1 (17 halvings from 2**16) the guard rolls back, and it stops at last."""
    calls = []

    def poison(grad):  # infinite gradients from the 6th backward pass on
        calls.append(1)
        return grad if len(calls) <= 5 else torch.full_like(grad, math.inf)

    task = _train(tmp_path, "16-mixed", hook=poison, guard_max_strikes=2)
    m = task.metrics
    assert m["overflow_skips"] == 17 and m["guard_rollbacks"] == 2
    assert "stopped_reason" in m and "diverged 2 times" in m["stopped_reason"]
    assert "gradient" in capsys.readouterr().err


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


def test_16_mixed_autocasts_itself_and_warns_only_on_a_cpu():
    """Lightning gets 32-true (the module autocasts and scales the loss); a CPU warns."""
    with pytest.warns(UserWarning, match="16-mixed on a CPU: float16 is for GPUs"):
        assert fit_module._precision(TrainConfig(max_steps=1, accelerator="cpu",
                                                 precision="16-mixed")) == "32-true"  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gpu = TrainConfig(max_steps=1, accelerator="gpu", precision="16-mixed")
        assert fit_module._precision(gpu) == "32-true"


@pytest.mark.parametrize("value", ["16-true", "fp8", "bf16"])
def test_an_unsupported_precision_is_an_error(value):
    with pytest.raises(ValueError, match="32-true, bf16-mixed or 16-mixed"):
        TrainConfig(max_steps=1, precision=value)


def test_a_model_saved_with_a_precision_no_longer_accepted_still_loads(tmp_path):
    model_dir = tmp_path / "m"
    shutil.copytree(Path(__file__).parents[1] / "assets" / "textgen_v1", model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    config["train"]["precision"] = "transformer-engine"  # passed through unchecked before
    (model_dir / "config.json").write_text(json.dumps(config))
    gen = rnnkit.load(model_dir)
    assert gen.train_config.precision is None  # the default, on resume
    assert isinstance(gen.generate("a", max_new_tokens=5, seed=0), str)


def test_cli_passes_precision_and_rejects_a_bad_one_in_one_line(tmp_path, monkeypatch, capsys):
    text = tmp_path / "t.txt"
    text.write_text("abc abd abe\n" * 50)
    args = ["textgen", "train", str(text), "--out", str(tmp_path / "m"), "--max-steps", "1"]
    assert main([*args, "--precision", "16-true"]) == 2
    err = capsys.readouterr().err.strip()
    assert "precision must be 32-true, bf16-mixed or 16-mixed" in err and "\n" not in err
    captured = {}

    def fake_fit(self, train_text, val_text=None, out=None, resume=False, callbacks=None,
                 **options):  # fmt: skip
        captured.update(options)
        return self

    monkeypatch.setattr(TextGenerator, "fit", fake_fit)
    for value in ("bf16-mixed", "16-mixed"):
        assert main([*args, "--precision", value]) == 0
        assert captured["precision"] == value
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


# bfloat16 keeps 8 bits of mantissa (about 0.4% per rounding), float16 11 (0.05%); the
# layers are a few roundings deep here.
HALF = {torch.bfloat16: 0.05, torch.float16: 0.01}


@pytest.mark.parametrize("dtype", list(HALF))
@pytest.mark.parametrize(("cls", "options"), LAYERS)
def test_layers_under_cpu_autocast_match_float32_within_the_half_types_rounding(
    cls, options, dtype
):
    torch.manual_seed(0)
    layer = cls(8, 16, **options).train()
    x = torch.randn(3, 7, 8, requires_grad=True)
    lengths = torch.tensor([7, 5, 2])
    results = []
    for half in (False, True):
        torch.manual_seed(1)  # the same dropout masks in both runs
        with torch.autocast("cpu", dtype=dtype, enabled=half):
            y, _ = layer(x, lengths=lengths)
        (grad,) = torch.autograd.grad(y.float().square().sum(), x)
        results.append((y.float(), grad))
    (y32, g32), (y16, g16) = results
    assert torch.isfinite(y16).all() and torch.isfinite(g16).all()
    tol = HALF[dtype]
    assert (y16 - y32).abs().max() < tol
    assert (g16 - g32).abs().max() < tol * g32.abs().max() + tol
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
