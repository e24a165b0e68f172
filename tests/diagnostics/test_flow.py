"""gradient_flow against autograd on tiny models; the horizon tells cells apart."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnnkit.diagnostics import gradient_flow, horizon_and_rate, weight_health
from rnnkit.nn import GRU, LSTM, RNN

B, T, D, H = 3, 7, 2, 4


class Head(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn, self.out = rnn, nn.Linear(rnn.config.hidden_size, 1)

    def forward(self, x, state=None):
        y, state = self.rnn(x, state)
        return self.out(y).squeeze(-1), state


def _mse(out, y):
    return nn.functional.mse_loss(out, y), y.numel()


def _manual(model, x):
    """torch.nn cells copied from the rnnkit stack, stepped by hand: every h_t kept."""
    rnn = model.rnn
    L = rnn.config.num_layers
    cells = []
    for l in range(L):
        kind = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell}.get(rnn.mode, nn.RNNCell)
        cell = kind(D if l == 0 else H, H, dtype=torch.float64)
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, n).data.copy_(getattr(rnn, f"{n}_l{l}").data)
        cells.append(cell)
    hs = [[] for _ in range(L)]
    inp = x
    for l, cell in enumerate(cells):
        h = torch.zeros(B, H, dtype=torch.float64)
        c = torch.zeros(B, H, dtype=torch.float64)
        outs = []
        for t in range(T):
            if rnn.mode == "LSTM":
                h, c = cell(inp[:, t], (h, c))
            else:
                h = cell(inp[:, t], h)
            h.retain_grad()
            hs[l].append(h)
            outs.append(h)
        inp = torch.stack(outs, 1)
    return model.out(inp).squeeze(-1), hs, cells


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_grad_norms_equal_autograd(cls):
    torch.manual_seed(0)
    model = Head(cls(D, H, num_layers=2, dtype=torch.float64)).double()
    x, y = torch.randn(B, T, D, dtype=torch.float64), torch.randn(B, T, dtype=torch.float64)
    flow = gradient_flow(model, (x, y), _mse)
    # the measurement leaves no gradients on the model's parameters
    assert all(p.grad is None for p in model.parameters())
    out, hs, _ = _manual(model, x)
    loss = _mse(out, y)[0]
    loss.backward()
    assert flow.loss == pytest.approx(float(loss.detach()), rel=1e-12)
    assert [f.name for f in flow.layers] == ["rnn.l0", "rnn.l1"]
    for l, f in enumerate(flow.layers):
        expected = [float(h.grad.norm()) for h in hs[l]]
        assert f.grad_norm == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_jacobian_norms_equal_autograd(cls):
    torch.manual_seed(1)
    model = Head(cls(D, H, dtype=torch.float64)).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    flow = gradient_flow(model, x)
    f = flow.layers[0]
    assert f.exact and f.grad_norm is None
    _, hs, (cell,) = _manual(model, x)
    # the reference: restart from h_t (c_t held fixed), step to T - 1, full Jacobian per sample
    c_states = []
    if cls is LSTM:
        h, c = torch.zeros(B, H, dtype=torch.float64), torch.zeros(B, H, dtype=torch.float64)
        for t in range(T):
            h, c = cell(x[:, t], (h, c))
            c_states.append(c.detach())
    for lag in range(T):
        t = T - 1 - lag

        def run_from(h_t, t=t):
            h, c = h_t, (c_states[t] if c_states else None)
            for s in range(t + 1, T):
                if cls is LSTM:
                    h, c = cell(x[:, s], (h, c))
                else:
                    h = cell(x[:, s], h)
            return h

        J = torch.autograd.functional.jacobian(run_from, hs[0][t].detach())  # (B, H, B, H)
        per_sample = torch.stack([J[b, :, b, :].norm() for b in range(B)])
        expected = float(per_sample.pow(2).mean().sqrt())
        assert f.jacobian_norm[lag] == pytest.approx(expected, rel=1e-9), lag
    assert f.jacobian_norm[0] == pytest.approx(math.sqrt(H))  # lag 0: the identity


def test_random_projections_estimate_the_exact_norm():
    torch.manual_seed(2)
    layer = LSTM(D, 24)
    x = torch.randn(4, 20, D)
    exact = gradient_flow(layer, x, exact=True).layers[0].jacobian_norm
    est = gradient_flow(layer, x, n_probes=512).layers[0]
    assert not est.exact
    for k in (0, 5, 19):
        assert est.jacobian_norm[k] == pytest.approx(exact[k], rel=0.15)


def test_bidirectional_and_lengths_run_and_count_lags_from_each_end():
    torch.manual_seed(3)
    layer = GRU(D, H, bidirectional=True)
    x = torch.randn(B, T, D)
    flow = gradient_flow(layer, (x, None))
    names = [f.name for f in flow.layers]
    assert names == ["l0", "l0.reverse"]
    for f in flow.layers:  # lag 0 is the identity in both directions
        assert f.jacobian_norm[0] == pytest.approx(math.sqrt(H), rel=1e-5)
        assert f.jacobian_norm[1] < f.jacobian_norm[0]
    flow = gradient_flow(LSTM(D, H), x, exact=True)
    assert len(flow.layers[0].jacobian_norm) == T


def test_horizon_longer_for_lstm_than_small_weight_rnn():
    torch.manual_seed(0)
    T_long = 120
    x = torch.randn(8, T_long, D)
    rnn = RNN(D, 32)
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(0.5)  # small recurrent weights: sigma_1 well below 1
    assert weight_health(rnn)["l0"]["sigma_max"] < 1.0
    f_rnn = gradient_flow(rnn, x).layers[0]
    f_lstm = gradient_flow(LSTM(D, 32), x).layers[0]
    f_chrono = gradient_flow(LSTM(D, 32, init="chrono", chrono_t_max=T_long), x).layers[0]
    assert f_rnn.horizon is not None and f_lstm.horizon is not None
    assert f_lstm.horizon > f_rnn.horizon
    assert f_chrono.horizon is None or f_chrono.horizon > 3 * f_lstm.horizon
    assert f_rnn.rate < f_lstm.rate < 1.0


def test_horizon_and_rate_on_known_curves():
    geometric = [0.5**k for k in range(30)]
    horizon, rate = horizon_and_rate(geometric)
    assert horizon == 10  # 0.5**10 < 1e-3 <= 0.5**9
    assert rate == pytest.approx(0.5)
    horizon, rate = horizon_and_rate([1.1**k for k in range(30)])
    assert horizon is None and rate == pytest.approx(1.1)


def test_identity_init_keeps_gradients_and_health_numbers():
    torch.manual_seed(0)
    irnn = RNN(D, 16, nonlinearity="relu", init="identity")
    x = torch.rand(4, 50, D)
    f = gradient_flow(irnn, x).layers[0]
    assert f.horizon is None  # an identity recurrence with active ReLUs forgets nothing
    spectra = weight_health(irnn)["l0"]
    assert spectra["rho_h"] == pytest.approx(1.0) and spectra["sigma_h"] == pytest.approx(1.0)
    lstm = LSTM(D, 16, forget_bias=3.0)
    stats = gradient_flow(lstm, x).layers[0].health
    assert stats["forget_mean"] > 0.9  # sigmoid(3) = 0.95
    assert 0.0 <= stats["sigmoid_saturated_share"] <= 1.0


def test_models_without_rnnkit_layers_are_refused():
    with pytest.raises(ValueError, match="no rnnkit recurrent layer"):
        gradient_flow(nn.LSTM(2, 3), torch.randn(1, 4, 2))
    with pytest.raises(ValueError, match="loss_fn must return"):
        gradient_flow(Head(LSTM(D, H)), (torch.randn(B, T, D), torch.randn(B, T)),
                      lambda o, y: "nope")  # fmt: skip


class EncodeThenStep(nn.Module):
    """A GRU over the input, again over a second sequence from its final state, then one
    parallel step (as the segment forecaster decodes)."""

    def __init__(self):
        super().__init__()
        self.rnn = GRU(D, H)

    def forward(self, x, state=None):
        _, h = self.rnn(x)
        y2, h = self.rnn(x[:, :4], h)
        y1, _ = self.rnn(x[:, :1], h)
        return torch.cat([y2, y1], 1).sum(-1), None


def test_single_step_calls_are_skipped_and_repeated_calls_numbered(tmp_path):
    from rnnkit.diagnostics.plots import plot_flow

    torch.manual_seed(0)
    x = torch.randn(B, T, D)
    flow = gradient_flow(EncodeThenStep(), (x, torch.randn(B, 5)), _mse)
    assert [f.name for f in flow.layers] == ["rnn.l0", "rnn.l0 (call 2)"]
    assert flow.skipped == ["rnn.l0"] and flow.T == T
    assert [len(f.jacobian_norm) for f in flow.layers] == [T, 4]
    # the gradient of the one-step call reaches the second call's last state
    assert flow.layers[1].grad_norm[-1] > 0
    assert plot_flow(flow, tmp_path / "f.png").stat().st_size > 2000  # rows of unequal length
    with pytest.raises(ValueError, match="single time step"):
        gradient_flow(GRU(D, H), torch.randn(B, 1, D))
