"""Gradient clipping by value and by norm: applied by the engine, exposed on the CLI."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnkit.cli import main
from rnnkit.nn import GRU
from rnnkit.train import Batches, RecurrentTask, TrainConfig, fit


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.out = GRU(2, 8), nn.Linear(8, 1)

    def forward(self, x, state=None):
        y, state = self.rnn(x, state)
        return self.out(y[:, -1]), state


def _train_and_record_grads(tmp_path, monkeypatch, **clip) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    step = torch.optim.AdamW.step

    def recording_step(self, *args, **kwargs):
        seen.extend(p.grad.detach().clone() for g in self.param_groups for p in g["params"]
                    if p.grad is not None)  # fmt: skip
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", recording_step)
    torch.manual_seed(0)
    batches = [(torch.randn(4, 10, 2) * 10, torch.randn(4, 1) * 100) for _ in range(2)]
    cfg = TrainConfig(max_steps=2, progress=False, checkpoint_every=None, guard=False, **clip)
    train = Batches(lambda e, r, w: batches, lambda r, w: len(batches))
    fit(RecurrentTask(Head(), lambda o, y: (nn.functional.mse_loss(o, y), y.numel()), cfg),
        train, None, tmp_path)  # fmt: skip
    assert seen
    return seen


def test_value_clipping_bounds_every_gradient_entry(tmp_path, monkeypatch):
    grads = _train_and_record_grads(tmp_path, monkeypatch, clip_grad_value=1e-3,
                                    clip_grad_norm=None)  # fmt: skip
    biggest = max(float(g.abs().max()) for g in grads)
    assert 0 < biggest <= 1e-3 + 1e-9


def test_norm_clipping_bounds_the_total_norm(tmp_path, monkeypatch):
    grads = _train_and_record_grads(tmp_path, monkeypatch, clip_grad_norm=0.5)
    total = float(torch.cat([g.flatten() for g in grads[: len(grads) // 2]]).norm())
    assert total == pytest.approx(0.5, rel=1e-4)  # large targets: the norm was clipped


@pytest.mark.parametrize("name", ["clip_grad_norm", "clip_grad_value"])
def test_non_positive_clip_is_an_error(name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(max_steps=1, **{name: 0.0})


def test_cli_exposes_clipping_and_the_weight_average(tmp_path, monkeypatch):
    from rnnkit.tasks.textgen import TextGenerator

    captured = {}

    def fake_fit(self, train_text, val_text=None, out=None, resume=False, callbacks=None,
                 **options):  # fmt: skip
        assert callbacks == []  # no --monitor-gradients
        captured.update(options)
        return self

    monkeypatch.setattr(TextGenerator, "fit", fake_fit)
    text = tmp_path / "t.txt"
    text.write_text("abc abd abe\n" * 50)
    args = ["textgen", "train", str(text), "--out", str(tmp_path / "m"), "--max-steps", "1"]
    assert main([*args, "--clip-grad-value", "0.25", "--clip-grad-norm", "0",
                 "--ema-decay", "0.99"]) == 0  # fmt: skip
    assert captured["clip_grad_value"] == 0.25 and captured["clip_grad_norm"] is None
    assert captured["ema_decay"] == 0.99
    captured.clear()
    assert main(args) == 0
    assert "clip_grad_value" not in captured and captured["clip_grad_norm"] == 1.0
    assert "ema_decay" not in captured
    TrainConfig.from_options(**captured)  # the defaults stay valid options
