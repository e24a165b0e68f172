"""One conformance harness, run over every layer and configuration; then the user errors.

The harness checks what every recurrent layer promises (DESIGN.md, "Core contracts"):
shapes and dtypes of outputs and states (batched, unbatched, with lengths), the device,
a state_dict round trip into a fresh instance, the config round trips, determinism under a
seed (outputs and gradients), gradients reaching every parameter, and ``repr``.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from rnnkit.nn import GRU, LSTM, RNN, LSTMState, RecurrentConfig

B, T, D, H, P = 3, 5, 4, 6, 2

LAYERS = [
    ("rnn_tanh", RNN, {}),
    ("rnn_relu_L2_bi", RNN, {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True}),
    ("lstm", LSTM, {}),
    ("lstm_L2_bi_time_major", LSTM, {"num_layers": 2, "bidirectional": True, "batch_first": False}),
    ("lstm_proj", LSTM, {"proj_size": P, "num_layers": 2}),
    ("lstm_proj_bi", LSTM, {"proj_size": P, "bidirectional": True}),
    ("gru", GRU, {}),
    ("gru_nobias_L3", GRU, {"bias": False, "num_layers": 3}),
    ("ln_lstm", LSTM, {"layer_norm": True, "num_layers": 2}),
    ("ln_gru_bi", GRU, {"layer_norm": True, "bidirectional": True, "layer_norm_eps": 1e-3}),
    ("input_dropout", LSTM, {"input_dropout": 0.3, "num_layers": 2}),
    ("recurrent_dropout", GRU, {"recurrent_dropout": 0.3}),
    ("recurrent_dropout_proj", LSTM, {"recurrent_dropout": 0.3, "proj_size": P}),
    ("weight_drop", RNN, {"weight_drop": 0.3, "bidirectional": True}),
    ("zoneout", GRU, {"zoneout": 0.3, "num_layers": 2}),
    ("zoneout_pair", LSTM, {"zoneout": (0.2, 0.4)}),
    ("dropout", LSTM, {"dropout": 0.3, "num_layers": 3}),
    (
        "everything",
        LSTM,
        {
            "layer_norm": True,
            "recurrent_dropout": 0.2,
            "zoneout": 0.1,
            "weight_drop": 0.2,
            "input_dropout": 0.1,
            "dropout": 0.2,
            "num_layers": 2,
            "bidirectional": True,
        },
    ),
    ("reference_impl", GRU, {"impl": "reference", "num_layers": 2}),
    ("loop_impl", RNN, {"impl": "loop", "recurrent_dropout": 0.2}),
    ("chrono_lstm", LSTM, {"init": "chrono", "chrono_t_max": 50, "num_layers": 2}),
    ("orthogonal_gru_forget_bias", GRU, {"init": "orthogonal", "forget_bias": 1.0}),
    ("irnn", RNN, {"nonlinearity": "relu", "init": "identity"}),
]
STOCHASTIC = {"input_dropout", "recurrent_dropout", "weight_drop", "zoneout", "dropout"}


def _parts(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def run_layer_test(cls, kwargs, dtype, device):
    """The conformance harness: every recurrent layer must pass it."""
    torch.manual_seed(0)
    layer = cls(D, H, **kwargs, dtype=dtype, device=device)
    cfg = layer.config
    L, dirs = cfg.num_layers, 2 if cfg.bidirectional else 1
    out_size = cfg.proj_size or H
    is_lstm = cls is LSTM
    bf = cfg.batch_first

    def inp(batch=B):
        x = torch.randn(batch, T, D, dtype=dtype, device=device)
        return x if bf else x.transpose(0, 1)

    def check_state(state, batch):
        if is_lstm:
            assert isinstance(state, LSTMState)
            h, c = state
            assert c.shape == (L * dirs, batch, H)
            assert c.dtype == dtype and c.device.type == device
        else:
            assert isinstance(state, torch.Tensor)
            h = state
        assert h.shape == (L * dirs, batch, out_size)
        assert h.dtype == dtype and h.device.type == device

    # --- shapes, dtypes, device, in train and eval mode
    for training in (True, False):
        layer.train(training)
        out, state = layer(inp())
        assert out.shape == ((B, T) if bf else (T, B)) + (dirs * out_size,)
        assert out.dtype == dtype and out.device.type == device
        check_state(state, B)
        # the final state feeds back in
        out2, state2 = layer(inp(), state)
        assert out2.shape == out.shape
        check_state(state2, B)
        # lengths (any integer dtype, a list too): zeros past the end
        lengths = torch.tensor([T, 2, 1], dtype=torch.int32)
        out, state = layer(inp(), lengths=lengths)
        check_state(state, B)
        tmajor = out if not bf else out.transpose(0, 1)
        for b, n in enumerate(lengths.tolist()):
            assert not tmajor[n:, b].any()
        layer(inp(), lengths=lengths.tolist())
        # unbatched
        out, state = layer(torch.randn(T, D, dtype=dtype, device=device))
        assert out.shape == (T, dirs * out_size)
        for s in _parts(state):
            assert s.dim() == 2 and s.shape[0] == L * dirs and s.dtype == dtype

    # --- gradients reach every parameter, the input and the initial state
    layer.train()
    x = inp().requires_grad_()
    h0 = tuple(s.requires_grad_() for s in _parts(layer.init_state(B, like=x)))
    torch.manual_seed(1)
    out, state = layer(x, LSTMState(*h0) if is_lstm else h0[0])
    (out.square().sum() + sum(s.square().sum() for s in _parts(state))).backward()
    for name, p in [("x", x), *(("state", s) for s in h0), *layer.named_parameters()]:
        assert p.grad is not None, f"no gradient for {name}"
        assert p.grad.shape == p.shape and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"zero gradient for {name}"
    layer.zero_grad()

    # --- seeded determinism (outputs and gradients), training mode
    x = inp()

    def seeded(seed):
        torch.manual_seed(seed)
        o, s = layer(x)
        g = torch.autograd.grad(o.sum() + sum(t.sum() for t in _parts(s)), list(layer.parameters()))
        return (o, _parts(s), g)

    a, b = seeded(5), seeded(5)
    for u, v in zip([a[0], *a[1], *a[2]], [b[0], *b[1], *b[2]], strict=True):
        assert torch.equal(u, v)
    if STOCHASTIC & {k for k, v in kwargs.items() if v}:
        assert not torch.equal(seeded(6)[0], a[0]), "training noise ignores the seed"

    # --- config round trips
    assert isinstance(cfg, RecurrentConfig)
    assert cls.from_config(cfg).config == cfg
    d = cfg.to_dict()
    assert RecurrentConfig.from_dict(d) == cfg
    assert RecurrentConfig.from_dict(json.loads(json.dumps(d))) == cfg  # tuples become lists
    assert cls.from_config(json.loads(json.dumps(d))).config == cfg
    with pytest.raises(ValueError, match="hiden_size"):
        RecurrentConfig.from_dict({**d, "hiden_size": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.hidden_size = 7

    # --- state_dict round trip into a fresh instance (from the config: fresh weights)
    fresh = cls.from_config(cfg, dtype=dtype, device=device)
    sd = layer.state_dict()
    assert set(fresh.state_dict()) == set(sd)
    x = inp()
    layer.eval(), fresh.eval()
    assert not torch.allclose(fresh(x)[0], layer(x)[0]), "from_config copied the weights?"
    fresh.load_state_dict(sd)
    (o1, s1), (o2, s2) = fresh(x), layer(x)
    for u, v in zip((o1, *_parts(s1)), (o2, *_parts(s2)), strict=True):
        assert torch.equal(u, v)
    layer.train(), fresh.train()
    torch.manual_seed(3)
    a = layer(x)[0]
    torch.manual_seed(3)
    assert torch.equal(fresh(x)[0], a)

    # --- repr
    text = repr(layer)
    assert text.startswith(cls.__name__ + "(") and f"{D}, {H}" in text
    for key, value in kwargs.items():
        if key == "nonlinearity" or value == getattr(RecurrentConfig("LSTM", 1, 1), key):
            continue
        assert key in text, f"{key} missing from {text}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name, cls, kwargs", LAYERS, ids=[n for n, _, _ in LAYERS])
def test_conformance_cpu(name, cls, kwargs, dtype):
    run_layer_test(cls, kwargs, dtype, "cpu")


@pytest.mark.gpu
@pytest.mark.parametrize("name, cls, kwargs", LAYERS, ids=[n for n, _, _ in LAYERS])
def test_conformance_cuda(name, cls, kwargs):
    run_layer_test(cls, kwargs, torch.float32, "cuda")


def test_harness_catches_a_broken_layer():
    """The harness is not vacuous: a layer that returns the wrong state shape fails it."""

    class Broken(GRU):
        def forward(self, x, state=None, lengths=None):
            out, h = super().forward(x, state, lengths)
            return out, h[:1]

    with pytest.raises(AssertionError):
        run_layer_test(Broken, {"num_layers": 2}, torch.float32, "cpu")


# --------------------------------------------------------------------------- user errors
def _raises(fn, *fragments):
    with pytest.raises(ValueError) as err:
        fn()
    msg = str(err.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return msg


@pytest.mark.parametrize("shape", [(D,), (1, B, T, D)], ids=["1d", "4d"])
def test_wrong_input_rank(shape):
    _raises(lambda: LSTM(D, H)(torch.randn(*shape)), "(B, T, D)", str(tuple(shape)))


def test_wrong_input_rank_time_major_names_its_layout():
    _raises(lambda: GRU(D, H, batch_first=False)(torch.randn(D)), "(T, B, D)")


def test_not_a_tensor():
    _raises(lambda: GRU(D, H)([[0.0] * D] * T), "tensor")


def test_wrong_feature_size():
    _raises(lambda: RNN(D, H)(torch.randn(B, T, D + 2)), str(D), str(D + 2), "features")


def test_empty_sequence():
    _raises(lambda: GRU(D, H)(torch.randn(B, 0, D)), "T = 0")


@pytest.mark.parametrize(
    "cls, state",
    [
        (GRU, torch.zeros(2, B, H)),
        (GRU, torch.zeros(1, B + 1, H)),
        (GRU, torch.zeros(1, B, H + 1)),
        (GRU, torch.zeros(B, H)),
        (LSTM, (torch.zeros(1, B, H), torch.zeros(1, B, H + 1))),
        (LSTM, (torch.zeros(1, B, H + 1), torch.zeros(1, B, H))),
    ],
    ids=["layers", "batch", "hidden", "rank", "lstm_c", "lstm_h"],
)
def test_wrong_state_shape(cls, state):
    _raises(lambda: cls(D, H)(torch.randn(B, T, D), state), "shape", "(1, 3, 6)")


def test_wrong_state_shape_with_projection():
    layer = LSTM(D, H, proj_size=P)
    # h must be (L, B, proj_size), not (L, B, hidden_size)
    _raises(
        lambda: layer(torch.randn(B, T, D), (torch.zeros(1, B, H), torch.zeros(1, B, H))),
        f"(1, {B}, {P})",
    )


@pytest.mark.parametrize(
    "cls, state, fragment",
    [
        (GRU, (torch.zeros(1, B, H),), "tensor"),
        (RNN, [torch.zeros(1, B, H)], "tensor"),
        (GRU, torch.zeros(1, B, H).numpy(), "tensor"),
        (LSTM, torch.zeros(1, B, H), "(h, c)"),
        (LSTM, (torch.zeros(1, B, H),), "(h, c)"),
        (LSTM, (torch.zeros(1, B, H), torch.zeros(1, B, H), torch.zeros(1, B, H)), "(h, c)"),
    ],
    ids=["gru_tuple", "rnn_list", "gru_numpy", "lstm_tensor", "lstm_1tuple", "lstm_3tuple"],
)
def test_state_of_wrong_type(cls, state, fragment):
    _raises(lambda: cls(D, H)(torch.randn(B, T, D), state), fragment)


@pytest.mark.parametrize(
    "cls, state",
    [
        (GRU, [torch.zeros(1, H)]),
        (GRU, torch.zeros(1, H).numpy()),
        (LSTM, torch.zeros(1, H)),
    ],
    ids=["gru_list", "gru_numpy", "lstm_tensor"],
)
def test_state_of_wrong_type_unbatched(cls, state):
    """Unbatched input takes the same state types as batched input, and the same errors."""
    _raises(lambda: cls(D, H)(torch.randn(T, D), state), "state")


def test_lstm_state_as_list_unbatched_matches_tuple():
    layer = LSTM(D, H)
    x, h, c = torch.randn(T, D), torch.randn(1, H), torch.randn(1, H)
    expected = layer(x, (h, c))
    got = layer(x, [h, c])
    torch.testing.assert_close(got, expected)


def test_state_of_wrong_dtype():
    _raises(
        lambda: GRU(D, H)(torch.randn(B, T, D), torch.zeros(1, B, H, dtype=torch.float64)),
        "float64",
        "float32",
    )


def test_lengths_longer_than_t():
    _raises(
        lambda: LSTM(D, H)(torch.randn(B, T, D), lengths=torch.tensor([T, T + 1, 1])),
        f"T = {T}",
        str(T + 1),
    )


@pytest.mark.parametrize("bad", [0, -2])
def test_lengths_not_positive(bad):
    _raises(
        lambda: GRU(D, H)(torch.randn(B, T, D), lengths=torch.tensor([T, bad, 1])),
        "positive",
        str(bad),
    )


@pytest.mark.parametrize(
    "lengths",
    [torch.tensor([T, 2]), torch.tensor([[T, 2, 1]]), torch.tensor(T), [T, 1, 2, 3]],
    ids=["short", "2d", "scalar", "long_list"],
)
def test_lengths_of_wrong_shape(lengths):
    _raises(lambda: RNN(D, H)(torch.randn(B, T, D), lengths=lengths), f"({B},)")


@pytest.mark.parametrize(
    "lengths",
    [torch.tensor([5.0, 2.0, 1.0]), [5.0, 2.0, 1.0], torch.tensor([True, True, True])],
    ids=["float_tensor", "float_list", "bool"],
)
def test_lengths_not_integer(lengths):
    _raises(lambda: LSTM(D, H)(torch.randn(B, T, D), lengths=lengths), "integer")


def test_packed_input_and_lengths_together():
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.randn(B, T, D), [T, 2, 1], batch_first=True
    )
    _raises(lambda: GRU(D, H)(packed, lengths=torch.tensor([T, 2, 1])), "PackedSequence")


RATES = ["dropout", "input_dropout", "recurrent_dropout", "weight_drop", "zoneout"]


@pytest.mark.parametrize(
    "value",
    [-0.1, 1.0, 1.5, float("nan"), True],
    ids=["negative", "one", "above_one", "nan", "bool"],
)
@pytest.mark.parametrize("name", RATES)
@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_invalid_rates(cls, name, value):
    _raises(lambda: cls(D, H, num_layers=2, **{name: value}), name, "[0, 1)")


@pytest.mark.parametrize("pair", [(0.1, 1.0), (-0.1, 0.2), (0.1, 0.2, 0.3)])
def test_invalid_zoneout_pairs(pair):
    _raises(lambda: LSTM(D, H, zoneout=pair), "zoneout")


@pytest.mark.parametrize("cls", [GRU, RNN])
def test_zoneout_pair_only_for_lstm(cls):
    _raises(lambda: cls(D, H, zoneout=(0.1, 0.2)), "zoneout", "LSTM")


@pytest.mark.parametrize("proj", [H, H + 3])
def test_proj_size_must_be_smaller_than_hidden(proj):
    _raises(lambda: LSTM(D, H, proj_size=proj), "proj_size", "hidden_size", str(proj))


def test_proj_size_negative():
    _raises(lambda: LSTM(D, H, proj_size=-1), "proj_size")


@pytest.mark.parametrize("mode", ["GRU", "RNN_TANH"])
def test_proj_size_only_on_lstm(mode):
    cfg = RecurrentConfig(mode, D, H, proj_size=P)
    cls = GRU if mode == "GRU" else RNN
    _raises(lambda: cls.from_config(cfg), "proj_size", "LSTM")
    with pytest.raises(TypeError):
        cls(D, H, proj_size=P)


def test_proj_size_with_layer_norm():
    _raises(lambda: LSTM(D, H, proj_size=P, layer_norm=True), "layer_norm", "proj_size")


@pytest.mark.parametrize("impl", ["cuda", "fast", "Loop"])
def test_unknown_impl(impl):
    _raises(lambda: GRU(D, H, impl=impl), "impl", repr(impl))


@pytest.mark.parametrize(
    "name, value",
    [
        ("input_size", 0),
        ("hidden_size", -1),
        ("num_layers", 0),
        ("hidden_size", 2.5),
        ("input_size", True),
    ],
)
def test_sizes_must_be_positive_integers(name, value):
    kw = {"input_size": D, "hidden_size": H, "num_layers": 1, name: value}
    _raises(lambda: LSTM(**kw), name)


def test_nonlinearity():
    _raises(lambda: RNN(D, H, nonlinearity="sigmoid"), "nonlinearity", "sigmoid")


def test_unknown_config_keys():
    d = LSTM(D, H).config.to_dict()
    _raises(lambda: RecurrentConfig.from_dict({**d, "hidden": 3}), "hidden")
    _raises(lambda: LSTM.from_config({**d, "cell": "lstm"}), "cell")


def test_unknown_mode():
    _raises(lambda: LSTM.from_config(RecurrentConfig("MGU", D, H)), "mode", "MGU")


def test_layer_norm_on_rnn_config_is_rejected():
    """RNN has no layer-normalised cell: a config asking for one must not be silently
    ignored (the layer would create ln_* parameters that no backend uses)."""
    _raises(
        lambda: RNN.from_config(RecurrentConfig("RNN_TANH", D, H, layer_norm=True)), "layer_norm"
    )


@pytest.mark.parametrize(
    "cls, mode", [(LSTM, "GRU"), (GRU, "LSTM"), (RNN, "LSTM"), (GRU, "RNN_RELU")]
)
def test_from_config_rejects_another_layers_config(cls, mode):
    """``LSTM.from_config(gru.config)`` must not build an LSTM object running a GRU."""
    _raises(lambda: cls.from_config(RecurrentConfig(mode, D, H)), mode)
