"""Each initialisation option has the property it promises (rnnkit.nn.init)."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from rnnkit.nn.init import INITS

H = 16


def _blocks(w, gates):
    return w.detach().chunk(gates, dim=0)


@pytest.mark.parametrize("cls, gates", [(LSTM, 4), (GRU, 3), (RNN, 1)])
def test_orthogonal_blocks(cls, gates):
    torch.manual_seed(0)
    layer = cls(5, H, num_layers=2, bidirectional=True, init="orthogonal")
    for name, p in layer.named_parameters():
        if name.startswith("weight_hh"):
            for block in _blocks(p, gates):
                torch.testing.assert_close(block @ block.T, torch.eye(H), atol=1e-5, rtol=0)
    default = cls(5, H)
    block = _blocks(default.weight_hh_l0, gates)[0]
    assert not torch.allclose(block @ block.T, torch.eye(H), atol=1e-2), "default is orthogonal?"


def test_orthogonal_with_projection_has_orthonormal_columns():
    layer = LSTM(5, H, proj_size=4, init="orthogonal")
    for block in _blocks(layer.weight_hh_l0, 4):  # (H, P): orthonormal columns
        torch.testing.assert_close(block.T @ block, torch.eye(4), atol=1e-5, rtol=0)


def test_identity_irnn():
    layer = RNN(3, H, num_layers=2, nonlinearity="relu", init="identity")
    for l in range(2):
        assert torch.equal(getattr(layer, f"weight_hh_l{l}").detach(), torch.eye(H))
        assert not getattr(layer, f"bias_ih_l{l}").any()
        assert not getattr(layer, f"bias_hh_l{l}").any()
    cell = RNNCell(3, H, nonlinearity="relu", init="identity")
    assert torch.equal(cell.weight_hh.detach(), torch.eye(H)) and not cell.bias_hh.any()
    # the point of IRNN: with zero input the state is carried forward unchanged
    h0 = torch.rand(1, 2, H)
    _, h = RNN(3, H, nonlinearity="relu", init="identity")(torch.zeros(2, 7, 3), h0)
    torch.testing.assert_close(h, h0)


@pytest.mark.parametrize("cls, keep, gates", [(LSTM, 1, 4), (GRU, 1, 3)])
def test_forget_bias(cls, keep, gates):
    layer = cls(3, H, num_layers=2, forget_bias=1.0)
    for l in range(2):
        total = getattr(layer, f"bias_ih_l{l}") + getattr(layer, f"bias_hh_l{l}")
        blocks = total.detach().chunk(gates)
        assert torch.equal(blocks[keep], torch.ones(H))
        others = torch.cat([b for i, b in enumerate(blocks) if i != keep])
        assert others.abs().max() <= 2 / math.sqrt(H) and others.std() > 0  # torch's draw
    cell = LSTMCell(3, H, forget_bias=2.5)
    assert torch.equal((cell.bias_ih + cell.bias_hh).detach()[H : 2 * H], torch.full((H,), 2.5))


def test_chrono_lstm_range_and_input_gate():
    torch.manual_seed(0)
    t_max = 200
    layer = LSTM(3, 256, init="chrono", chrono_t_max=t_max)
    total = (layer.bias_ih_l0 + layer.bias_hh_l0).detach()
    b_i, b_f = total[:256], total[256:512]
    # b_f = log(u), u ~ U(1, T_max - 1): inside the range, and spread over it
    u = b_f.exp()
    assert u.min() >= 1 - 1e-4 and u.max() <= t_max - 1 + 1e-3
    assert u.min() < 0.1 * t_max and u.max() > 0.9 * t_max
    assert abs(float(u.mean()) - t_max / 2) < 0.1 * t_max
    torch.testing.assert_close(b_i, -b_f)
    # the characteristic forgetting time 1 / (1 - sigmoid(b_f)) ~ u: long memories exist
    assert float((1 / (1 - torch.sigmoid(b_f))).max()) > 0.5 * t_max


def test_chrono_gru_keeps_state_through_z():
    torch.manual_seed(0)
    layer = GRU(3, 64, init="chrono", chrono_t_max=50)
    total = (layer.bias_ih_l0 + layer.bias_hh_l0).detach()
    b_z = total[64:128]
    assert (b_z >= 0).all() and b_z.exp().max() <= 49 + 1e-3
    cell = GRUCell(3, 8, init="chrono", chrono_t_max=10)
    assert ((cell.bias_ih + cell.bias_hh)[8:16] >= 0).all()


@pytest.mark.parametrize("init", INITS)
def test_config_round_trip_keeps_init(init):
    kw = {"chrono_t_max": 30} if init == "chrono" else {}
    cls = RNN if init == "identity" else LSTM
    extra = {"nonlinearity": "relu"} if init == "identity" else {}
    layer = cls(3, 4, init=init, **kw, **extra)
    again = cls.from_config(layer.config.to_dict())
    assert again.config == layer.config and again.config.init == init


@pytest.mark.parametrize(
    "cls, kwargs, fragment",
    [
        (LSTM, {"init": "identity"}, "Elman"),
        (LSTM, {"init": "chrono"}, "chrono_t_max"),
        (LSTM, {"init": "chrono", "chrono_t_max": 2}, "greater than 2"),
        (LSTM, {"chrono_t_max": 20}, "init='chrono' only"),
        (LSTM, {"init": "chrono", "chrono_t_max": 9, "forget_bias": 1.0}, "pick one"),
        (RNN, {"forget_bias": 1.0}, "gated"),
        (RNN, {"init": "chrono", "chrono_t_max": 9}, "gated"),
        (GRU, {"init": "glorot"}, "init must be one of"),
        (LSTM, {"forget_bias": "1"}, "number"),
        (LSTM, {"forget_bias": 1.0, "bias": False}, "bias=False"),
    ],
)
def test_bad_init_options(cls, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        cls(3, 4, **kwargs)
