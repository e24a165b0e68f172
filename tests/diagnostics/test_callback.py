"""GradientMonitor: records into the logs, warns once in plain words on explode/vanish."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

from rnnkit.diagnostics import GradientMonitor
from rnnkit.nn import LSTM, RNN
from rnnkit.train import Batches, RecurrentTask, TrainConfig, fit


class Head(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn, self.out = rnn, nn.Linear(rnn.config.hidden_size, 1)

    def forward(self, x, state=None):
        y, state = self.rnn(x, state)
        return self.out(y[:, -1]), state


def _mse(out, y):
    return nn.functional.mse_loss(out, y), y.numel()


def _exploding_rnn(H=16):
    rnn = RNN(2, H, nonlinearity="relu", init="identity")
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(1.3)  # every unit grows x1.3 per step: explodes
    return Head(rnn)


def test_warns_once_on_a_constructed_exploding_case(capsys):
    torch.manual_seed(0)
    x, y = torch.rand(4, 60, 2), torch.rand(4, 1)
    monitor = GradientMonitor(every_n_steps=1, batch=(x, y))
    model = _exploding_rnn()
    record = monitor.measure(model, _mse, step=0)
    monitor.measure(model, _mse, step=1)
    assert len(monitor.messages) == 1
    msg = monitor.messages[0]
    assert "gradients explode" in msg and "rnn.l0" in msg and "clipping" in msg
    err = capsys.readouterr().err
    assert err.count("rnnkit: warning: gradients explode") == 1
    assert record["diag/rnn.l0/max_ratio"] > 1e3 and record["diag/rnn.l0/rate"] > 1.2
    assert record["diag/rnn.l0/rho_max"] == pytest.approx(1.3, rel=1e-5)


def test_warns_on_vanishing_and_not_on_a_healthy_model():
    torch.manual_seed(0)
    x, y = torch.randn(4, 100, 2), torch.rand(4, 1)
    rnn = RNN(2, 16)
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(0.3)
    monitor = GradientMonitor(batch=(x, y), verbose=False)
    monitor.measure(Head(rnn), _mse)
    assert len(monitor.messages) == 1 and "gradients vanish" in monitor.messages[0]
    healthy = GradientMonitor(batch=(x, y), verbose=False)
    healthy.measure(Head(LSTM(2, 16, init="chrono", chrono_t_max=100)), _mse)
    assert healthy.messages == []


def test_records_into_the_training_logs(tmp_path):
    torch.manual_seed(0)
    batches = [(torch.rand(4, 30, 2), torch.rand(4, 1)) for _ in range(3)]
    cfg = TrainConfig(max_steps=4, progress=False, checkpoint_every=None, log_every=1,
                      warmup_steps=1)  # fmt: skip
    task = RecurrentTask(_exploding_rnn(), _mse, cfg)
    monitor = GradientMonitor(every_n_steps=2, verbose=False, plot_dir=tmp_path / "plots")
    train = Batches(lambda epoch, rank, world: batches, lambda rank, world: len(batches))
    fit(task, train, None, tmp_path, callbacks=[monitor])
    assert [h["step"] for h in monitor.history] == [1, 2, 4]
    assert any("explode" in m for m in monitor.messages)
    rows = list(csv.DictReader(open(next(tmp_path.glob("logs/version_*/metrics.csv")))))
    logged = [r for r in rows if r.get("diag/rnn.l0/horizon")]
    assert len(logged) == 3
    for name in ("gradient_flow.png", "gradient_history.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments():
    with pytest.raises(ValueError, match="every_n_steps"):
        GradientMonitor(every_n_steps=0)
    with pytest.raises(ValueError, match="probe batch"):
        GradientMonitor().measure(Head(LSTM(2, 3)))
