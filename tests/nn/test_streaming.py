"""Streaming: ``layer.step()`` gives the numbers of the full-sequence call (eval mode), and
the single-step cells equal torch.nn's cells."""

from __future__ import annotations

import pytest
import torch

from rnnkit.functional import layer_norm_gru_step, layer_norm_lstm_step
from rnnkit.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, LSTMState, RNNCell

B, T, D, H, P = 3, 6, 4, 5, 3

CONFIGS = {
    "rnn_tanh": (RNN, {}),
    "rnn_relu_L2": (RNN, {"nonlinearity": "relu", "num_layers": 2}),
    "lstm": (LSTM, {}),
    "lstm_L3": (LSTM, {"num_layers": 3}),
    "lstm_proj_L2": (LSTM, {"proj_size": P, "num_layers": 2}),
    "gru_L2": (GRU, {"num_layers": 2}),
    "gru_nobias": (GRU, {"bias": False}),
    "ln_lstm_L2": (LSTM, {"layer_norm": True, "num_layers": 2}),
    "ln_gru_L2": (GRU, {"layer_norm": True, "num_layers": 2}),
    "zoneout_lstm": (LSTM, {"zoneout": 0.3, "num_layers": 2}),
    "zoneout_lstm_pair": (LSTM, {"zoneout": (0.2, 0.6)}),
    "zoneout_lstm_proj": (LSTM, {"zoneout": (0.4, 0.1), "proj_size": P}),
    "zoneout_ln_lstm": (LSTM, {"zoneout": 0.25, "layer_norm": True}),
    "zoneout_gru_L2": (GRU, {"zoneout": 0.4, "num_layers": 2}),
    "zoneout_rnn": (RNN, {"zoneout": 0.5}),
    "regularized_lstm": (
        LSTM,
        {
            "input_dropout": 0.3,
            "recurrent_dropout": 0.3,
            "weight_drop": 0.3,
            "dropout": 0.3,
            "num_layers": 2,
        },
    ),
    "regularized_gru": (GRU, {"recurrent_dropout": 0.4, "weight_drop": 0.2}),
    "time_major_lstm": (LSTM, {"batch_first": False, "num_layers": 2}),
}
IDS = list(CONFIGS)


def make(name, dtype=torch.float64, **extra):
    cls, kw = CONFIGS[name]
    layer = cls(D, H, **kw, **extra, dtype=dtype)
    with torch.no_grad():  # non-trivial layer-norm gains and biases
        for n, p in layer.named_parameters():
            if n.startswith("ln_"):
                p.copy_(torch.rand_like(p) + (0.5 if "weight" in n else -0.5))
    return layer.eval()


def _parts(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def _stream(layer, x_bt, state):
    ys = []
    for t in range(x_bt.shape[1]):
        y, state = layer.step(x_bt[:, t], state)
        ys.append(y)
    return torch.stack(ys, 1), state


@pytest.mark.parametrize("init", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("name", IDS)
def test_step_equals_full_forward(name, init, close):
    torch.manual_seed(IDS.index(name))
    layer = make(name)
    x = torch.randn(B, T, D, dtype=torch.float64)
    state = None
    if init:
        z = layer.init_state(B)
        state = (
            type(z)(*(torch.randn_like(s) for s in z))
            if isinstance(z, tuple)
            else torch.randn_like(z)
        )
    bf = layer.config.batch_first
    out, final = layer(x if bf else x.transpose(0, 1), state)
    out = out if bf else out.transpose(0, 1)

    ys, streamed = _stream(layer, x, state)
    assert ys.shape == out.shape == (B, T, layer.output_size)
    assert type(streamed) is type(final)
    close(ys, out, msg="outputs")
    close(_parts(streamed), _parts(final), msg="final state")


BACKEND_CASES = [
    (n, i)
    for n in (
        "ln_lstm_L2",
        "zoneout_lstm",
        "zoneout_gru_L2",
        "zoneout_rnn",
        "lstm_proj_L2",
        "regularized_gru",
    )
    for i in ("native", "loop", "reference")
    if not (i == "native" and ("zoneout" in n or "ln_" in n)) and not (i == "loop" and "proj" in n)
]


@pytest.mark.parametrize("name, impl", BACKEND_CASES)
def test_step_equals_each_backend(name, impl, close):
    layer = make(name, impl=impl)
    x = torch.randn(B, T, D, dtype=torch.float64)
    out, final = layer(x)
    ys, streamed = _stream(layer, x, None)
    close((ys, _parts(streamed)), (out, _parts(final)))


def test_step_chunks_continue_the_sequence(close):
    """Carrying the state between two forward calls equals one call, equals streaming."""
    layer = make("zoneout_lstm")
    x = torch.randn(B, T, D, dtype=torch.float64)
    out, final = layer(x)
    out1, s1 = layer(x[:, :2])
    out2, s2 = layer(x[:, 2:], s1)
    close((torch.cat([out1, out2], 1), s2), (out, final))


@pytest.mark.parametrize("name", ["zoneout_lstm_pair", "regularized_lstm"])
def test_step_uses_evaluation_semantics_in_training_mode(name, close):
    layer = make(name)
    x = torch.randn(B, D, dtype=torch.float64)
    expected = layer.step(x)
    layer.train()
    torch.manual_seed(0)
    close(layer.step(x), expected, exact=True)


@pytest.mark.parametrize("name", ["lstm_proj_L2", "gru_L2", "rnn_tanh", "ln_lstm_L2"])
def test_step_with_none_state_equals_zeros(name, close):
    layer = make(name)
    x = torch.randn(B, D, dtype=torch.float64)
    y0, s0 = layer.step(x, None)
    y1, s1 = layer.step(x, layer.init_state(B))
    close((y0, _parts(s0)), (y1, _parts(s1)), exact=True)
    # and it is not the same as a non-zero state
    z = layer.init_state(B)
    ones = type(z)(*(s + 1 for s in z)) if isinstance(z, tuple) else z + 1
    assert not torch.allclose(layer.step(x, ones)[0], y0)


def test_step_returns_lstm_state_and_shapes():
    layer = make("lstm_proj_L2")
    y, state = layer.step(torch.randn(B, D, dtype=torch.float64))
    assert isinstance(state, LSTMState)
    assert y.shape == (B, P)
    assert state.h.shape == (2, B, P) and state.c.shape == (2, B, H)


@pytest.mark.parametrize("name", ["lstm_L3", "ln_gru_L2", "zoneout_lstm_pair", "rnn_relu_L2"])
def test_step_gradients_equal_full_forward_gradients(name, close):
    """A decoder can train step by step: gradients flow through step() as through forward."""
    layer = make(name)
    x = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    g = torch.randn(B, T, layer.output_size, dtype=torch.float64)
    params = list(layer.parameters())
    out, _ = layer(x)
    expected = torch.autograd.grad((out * g).sum(), [x, *params])
    ys, _ = _stream(layer, x, None)
    assert ys.requires_grad
    close(torch.autograd.grad((ys * g).sum(), [x, *params]), expected)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_bidirectional_step_raises(cls):
    layer = cls(D, H, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional"):
        layer.step(torch.randn(B, D))


@pytest.mark.parametrize("bad", [(B, D + 1), (B, 1, D), (D,)])
def test_step_rejects_bad_input_shape(bad):
    with pytest.raises(ValueError, match=f"\\(B, {D}\\)"):
        LSTM(D, H).step(torch.randn(*bad))


def test_step_rejects_bad_state_shape():
    layer = GRU(D, H, num_layers=2)
    with pytest.raises(ValueError, match="shape"):
        layer.step(torch.randn(B, D), torch.zeros(1, B, H))


# --------------------------------------------------------------------------- cells
CELLS = [
    (RNNCell, torch.nn.RNNCell, {"nonlinearity": "tanh"}),
    (RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    (LSTMCell, torch.nn.LSTMCell, {}),
    (GRUCell, torch.nn.GRUCell, {}),
]
CELL_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("ours_cls, torch_cls, kw", CELLS, ids=CELL_IDS)
def test_cell_equals_torch_cell(ours_cls, torch_cls, kw, bias, dtype, close):
    ref = torch_cls(D, H, bias=bias, **kw, dtype=dtype)
    cell = ours_cls(D, H, bias=bias, **kw, dtype=dtype)
    cell.load_state_dict(ref.state_dict())
    x = torch.randn(B, D, dtype=dtype, requires_grad=True)
    is_lstm = ours_cls is LSTMCell
    s0 = (
        (
            torch.randn(B, H, dtype=dtype, requires_grad=True),
            torch.randn(B, H, dtype=dtype, requires_grad=True),
        )
        if is_lstm
        else torch.randn(B, H, dtype=dtype, requires_grad=True)
    )

    y, state = cell(x, s0)
    expected = ref(x, s0)
    if is_lstm:
        assert isinstance(state, LSTMState)
        close(y, expected[0])
        close(tuple(state), expected)
        outs, outs_t = (y, state.c), expected
    else:
        assert isinstance(state, torch.Tensor)
        assert y is state or torch.equal(y, state)
        close(y, expected)
        outs, outs_t = (y,), (expected,)

    leaves = [x, *(s0 if is_lstm else (s0,))]
    gy = [torch.randn_like(o) for o in outs]

    def g(o, m):
        loss = sum((a * b).sum() for a, b in zip(o, gy, strict=True))
        return torch.autograd.grad(loss, leaves + list(m.parameters()))

    close(g(outs, cell), g(outs_t, ref))


@pytest.mark.parametrize("ours_cls, torch_cls, kw", CELLS, ids=CELL_IDS)
def test_cell_state_none_is_zeros_and_torch_round_trip(ours_cls, torch_cls, kw, close):
    ref = torch_cls(D, H, **kw, dtype=torch.float64)
    cell = ours_cls.from_torch(ref)
    x = torch.randn(B, D, dtype=torch.float64)
    y, _ = cell(x)
    close(y, ref(x)[0] if ours_cls is LSTMCell else ref(x))
    back = cell.to_torch()
    assert type(back) is torch_cls
    if "nonlinearity" in kw:
        assert back.nonlinearity == kw["nonlinearity"]
    close(dict(back.state_dict()), dict(ref.state_dict()), exact=True)


@pytest.mark.parametrize("ours_cls", [LSTMCell, GRUCell])
def test_layer_norm_cell_is_the_functional_step(ours_cls, close):
    cell = ours_cls(D, H, layer_norm=True, layer_norm_eps=1e-3, dtype=torch.float64)
    with torch.no_grad():
        for n, p in cell.named_parameters():
            if n.startswith("ln_"):
                p.copy_(torch.rand_like(p) + (0.5 if "weight" in n else -0.5))
    x, h = torch.randn(B, D, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    w = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    if ours_cls is LSTMCell:
        c = torch.randn(B, H, dtype=torch.float64)
        y, state = cell(x, (h, c))
        expected = layer_norm_lstm_step(
            x,
            h,
            c,
            *w,
            (cell.ln_ih_weight, cell.ln_ih_bias),
            (cell.ln_hh_weight, cell.ln_hh_bias),
            (cell.ln_c_weight, cell.ln_c_bias),
            1e-3,
        )
        close((y, tuple(state)), (expected[0], expected))
    else:
        y, state = cell(x, h)
        expected = layer_norm_gru_step(
            x,
            h,
            *w,
            (cell.ln_ih_weight, cell.ln_ih_bias),
            (cell.ln_hh_weight, cell.ln_hh_bias),
            1e-3,
        )
        close((y, state), (expected, expected))
    with pytest.raises(ValueError, match="layer_norm"):
        cell.to_torch()


@pytest.mark.parametrize("layer_cls, cell_cls", [(LSTM, LSTMCell), (GRU, GRUCell)])
def test_layer_norm_cell_equals_layer_step(layer_cls, cell_cls, close):
    layer = layer_cls(D, H, layer_norm=True, dtype=torch.float64).eval()
    cell = cell_cls(D, H, layer_norm=True, dtype=torch.float64)
    with torch.no_grad():
        for n, p in layer.named_parameters():
            p.copy_(torch.randn_like(p))
            getattr(cell, n.removesuffix("_l0")).copy_(p)
    x = torch.randn(B, D, dtype=torch.float64)
    y_layer, s_layer = layer.step(x)
    y_cell, s_cell = cell(x)
    close(y_cell, y_layer)
    close(_parts(s_cell), tuple(s[0] for s in _parts(s_layer)))


def test_cell_rejects_bad_shapes():
    cell = LSTMCell(D, H)
    with pytest.raises(ValueError, match="x_t"):
        cell(torch.randn(B, D + 1))
    with pytest.raises(ValueError, match="state h"):
        cell(torch.randn(B, D), (torch.zeros(B, H + 1), torch.zeros(B, H)))
    with pytest.raises(ValueError, match="state c"):
        cell(torch.randn(B, D), (torch.zeros(B, H), torch.zeros(B + 1, H)))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNCell(D, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        GRUCell(D, 0)
