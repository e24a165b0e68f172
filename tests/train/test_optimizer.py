"""The engine's optimizer: AdamW, decay on matrices only, fused where torch can, and the
fused update equal to the per-tensor reference."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnkit.nn import LSTM
from rnnkit.train import RecurrentTask, TrainConfig
from rnnkit.train.module import decay_groups


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(11, 6)
        self.rnn, self.norm, self.out = LSTM(6, 8), nn.LayerNorm(8), nn.Linear(8, 3)

    def forward(self, x, state=None):
        y, state = self.rnn(self.embedding(x), state)
        return self.out(self.norm(y)), state


def _task(**options) -> RecurrentTask:
    cfg = TrainConfig(max_steps=1, progress=False, **options)
    return RecurrentTask(Net(), lambda o, y: (o.sum(), 1), cfg)


def test_decay_on_matrices_only_and_frozen_parameters_left_out():
    task = _task(weight_decay=0.3, lr=2e-3, betas=(0.8, 0.95))
    task.model.norm.weight.requires_grad_(False)
    opt = task.configure_optimizers()
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["fused"] is True
    assert opt.defaults["lr"] == 2e-3 and opt.defaults["betas"] == (0.8, 0.95)
    decay, rest = opt.param_groups
    named = {id(p): n for n, p in task.model.named_parameters()}
    assert decay["weight_decay"] == 0.3 and rest["weight_decay"] == 0.0
    assert {named[id(p)] for p in decay["params"]} == {
        "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "out.weight"}  # fmt: skip
    assert {named[id(p)] for p in rest["params"]} == {
        "rnn.bias_ih_l0", "rnn.bias_hh_l0", "norm.bias", "out.bias"}  # fmt: skip


def test_decay_groups_carry_extra_keys_and_drop_empty_groups():
    w, b = nn.Parameter(torch.ones(2, 2)), nn.Parameter(torch.ones(2))
    groups = decay_groups([w, b], 0.1, lr_scale=0.5)
    assert [(len(g["params"]), g["weight_decay"], g["lr_scale"]) for g in groups] == [
        (1, 0.1, 0.5), (1, 0.0, 0.5)]  # fmt: skip
    assert [g["weight_decay"] for g in decay_groups([b], 0.1)] == [0.0]


@pytest.mark.parametrize("weight_decay", [0.0, 0.2])
def test_fused_update_equals_the_per_tensor_reference(weight_decay):
    torch.manual_seed(0)
    task = _task(weight_decay=weight_decay, lr=1e-2)
    fused = task.configure_optimizers()
    reference_params = [p.detach().clone().requires_grad_() for p in task.model.parameters()]
    by_id = dict(zip((id(p) for p in task.model.parameters()), reference_params, strict=True))
    reference = torch.optim.AdamW(  # the per-tensor loop, neither fused nor foreach
        [{**g, "params": [by_id[id(p)] for p in g["params"]], "fused": None, "foreach": False}
         for g in fused.param_groups], lr=1e-2,
    )  # fmt: skip
    start = [p.detach().clone() for p in reference_params]
    for _ in range(5):
        for p, q in zip(task.model.parameters(), reference_params, strict=True):
            g = torch.randn_like(p)
            p.grad, q.grad = g.clone(), g.clone()
        fused.step()
        reference.step()
    assert fused.param_groups[0]["fused"] and not reference.param_groups[0]["fused"]
    for p, q, p0 in zip(task.model.parameters(), reference_params, start, strict=True):
        assert (q.detach() - p0).abs().max() > 1e-3  # both moved ...
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-6)  # ... alike
