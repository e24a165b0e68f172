"""Parity of rnnkit's layers with torch.nn: outputs, final states and the gradients of the
inputs, the initial states and every weight, for every backend that can run the layer.

The configuration grid (layers x directions x layout x bias x initial state x input kind x
dtype) is too large to run in full for every cell and backend, so each (cell, backend) pair
runs a covering sample of it: every combination of values of any three factors appears at
least once (all triples), and the sample differs between pairs.
"""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.nn import GRU, LSTM, RNN, LSTMState

B, T, D, H, P = 3, 5, 4, 5, 3
LENGTHS = [T, 2, 4]  # unsorted, one full length

MODES = {
    # name: (rnnkit class, torch class, extra kwargs)
    "rnn_tanh": (RNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (LSTM, torch.nn.LSTM, {}),
    "lstm_proj": (LSTM, torch.nn.LSTM, {"proj_size": P}),
    "gru": (GRU, torch.nn.GRU, {}),
}
IMPLS = ("native", "loop", "reference")

FACTORS = {
    "num_layers": [1, 2, 3],
    "bidirectional": [False, True],
    "batch_first": [True, False],
    "bias": [True, False],
    "init_state": [False, True],
    "inputs": ["dense", "lengths", "packed", "unbatched"],
    "dtype": [torch.float64, torch.float32],
}


def covering(factors: dict[str, list], seed: int, strength: int = 3) -> list[dict]:
    """A greedy covering sample of the product of ``factors`` (deterministic): every value
    combination of every ``strength`` factors appears in at least one row."""
    names = list(factors)
    rows = [dict(zip(names, vals)) for vals in itertools.product(*factors.values())]
    random.Random(seed).shuffle(rows)

    def pairs(row):
        return {
            tuple((n, row[n]) for n in group) for group in itertools.combinations(names, strength)
        }

    keys = [pairs(r) for r in rows]
    uncovered = set().union(*keys)
    chosen = []
    while uncovered:
        best = max(range(len(rows)), key=lambda i: len(keys[i] & uncovered))
        chosen.append(rows[best])
        uncovered -= keys[best]
    return chosen


def _case_id(mode, impl, row):
    dt = "f64" if row["dtype"] == torch.float64 else "f32"
    return (
        f"{mode}-{impl}-L{row['num_layers']}-{'bi' if row['bidirectional'] else 'uni'}-"
        f"{'bf' if row['batch_first'] else 'tf'}-{'bias' if row['bias'] else 'nobias'}-"
        f"{'h0' if row['init_state'] else 'zero'}-{row['inputs']}-{dt}"
    )


CASES = []
for _i, (_mode, _impl) in enumerate(itertools.product(MODES, IMPLS)):
    if _mode == "lstm_proj" and _impl == "loop":
        continue  # not eligible: see test_loop_rejects_proj_size
    for _row in covering(FACTORS, seed=_i):
        CASES.append(pytest.param(_mode, _impl, _row, id=_case_id(_mode, _impl, _row)))


def build(mode: str, impl: str, dtype=torch.float64, **cfg):
    """A torch.nn layer and an rnnkit layer holding the same weights."""
    ours_cls, torch_cls, extra = MODES[mode]
    ref = torch_cls(D, H, **extra, **cfg, dtype=dtype)
    ours = ours_cls(D, H, **extra, **cfg, impl=impl, dtype=dtype)
    ours.load_state_dict(ref.state_dict())  # strict: names and shapes are torch's
    return ours, ref


def _state_shapes(mode, num_layers, dirs, batch):
    out = P if mode == "lstm_proj" else H
    lead = (num_layers * dirs,) + (() if batch is None else (batch,))
    shapes = [(*lead, out)]
    if mode.startswith("lstm"):
        shapes.append((*lead, H))
    return shapes


def _run(layer, mode, x, state, lengths, kind, batch_first):
    """Call a layer the way ``kind`` says; returns padded output and a tuple of states."""
    is_torch = isinstance(layer, torch.nn.RNNBase)
    if kind == "lengths":
        if is_torch:
            packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
            out, st = layer(packed, state)
            out, _ = pad_packed_sequence(
                out, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0]
            )
        else:
            out, st = layer(x, state, lengths=lengths)
    elif kind == "packed":
        packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
        out, st = layer(packed, state)
        assert isinstance(out, PackedSequence)
        out, _ = pad_packed_sequence(out, batch_first=batch_first)
    else:
        out, st = layer(x, state)
    if mode.startswith("lstm"):
        if not is_torch:
            assert isinstance(st, LSTMState)
        return out, tuple(st)
    assert isinstance(st, torch.Tensor)
    return out, (st,)


@pytest.mark.parametrize("mode, impl, row", CASES)
def test_parity_with_torch(mode, impl, row, close):
    torch.manual_seed(sum(map(ord, mode + impl)))  # stable across processes
    dtype, L = row["dtype"], row["num_layers"]
    bf, kind, dirs = row["batch_first"], row["inputs"], 2 if row["bidirectional"] else 1
    ours, ref = build(
        mode,
        impl,
        dtype,
        num_layers=L,
        bias=row["bias"],
        batch_first=bf,
        bidirectional=row["bidirectional"],
    )
    # eval() == train() here (no dropout), but train() is the mode that must match torch.
    ours.train(), ref.train()

    batch = None if kind == "unbatched" else B
    x = torch.randn(*((T,) if batch is None else (B, T) if bf else (T, B)), D, dtype=dtype)
    x.requires_grad_()
    state = None
    if row["init_state"]:
        state = tuple(
            torch.randn(s, dtype=dtype, requires_grad=True)
            for s in _state_shapes(mode, L, dirs, batch)
        )
    lengths = torch.tensor(LENGTHS) if kind in ("lengths", "packed") else None

    def arg(s):
        if s is None:
            return None
        return LSTMState(*s) if mode.startswith("lstm") else s[0]

    out, st = _run(ours, mode, x, arg(state), lengths, kind, bf)
    out_t, st_t = _run(
        ref,
        mode,
        x,
        None if state is None else (state if mode.startswith("lstm") else state[0]),
        lengths,
        kind,
        bf,
    )

    close(out, out_t, dtype, "output")
    close(st, st_t, dtype, "final state")
    if lengths is not None:
        tmajor = out if not bf else out.transpose(0, 1)
        for b, n in enumerate(LENGTHS):
            assert not tmajor[n:, b].any(), "outputs past the length must be zero"

    # Gradients of everything, through a random (non-symmetric) loss.
    g_out = torch.randn_like(out)
    g_st = [torch.randn_like(s) for s in st]
    inputs = [x] + ([] if state is None else list(state))
    names = [n for n, _ in ref.named_parameters()]
    assert names == [n for n, _ in ours.named_parameters()]

    def grads(o, s, layer):
        loss = (o * g_out).sum() + sum((a * g).sum() for a, g in zip(s, g_st, strict=True))
        return torch.autograd.grad(loss, inputs + list(layer.parameters()))

    gs, gt = grads(out, st, ours), grads(out_t, st_t, ref)
    labels = ["x"] + [f"state{i}" for i in range(len(inputs) - 1)] + names
    for label, a, b in zip(labels, gs, gt, strict=True):
        close(a, b, dtype, f"grad of {label}")


# --------------------------------------------------------------------------- eligibility
def test_loop_rejects_proj_size():
    layer = LSTM(D, H, proj_size=P, impl="loop")
    with pytest.raises(ValueError, match="proj_size"):
        layer(torch.randn(B, T, D))


def test_grid_covers_all_triples():
    """The sampled grid really is a covering array (guards the sampler above)."""
    rows = covering(FACTORS, seed=3)
    for group in itertools.combinations(FACTORS, 3):
        seen = {tuple(r[n] for n in group) for r in rows}
        expected = 1
        for n in group:
            expected *= len(FACTORS[n])
        assert len(seen) == expected, group
    assert len(rows) < 0.2 * len(list(itertools.product(*FACTORS.values())))


# --------------------------------------------------------------------------- torch interop
INTEROP = [
    ("rnn_tanh", {"num_layers": 2, "batch_first": True}),
    ("rnn_relu", {"bidirectional": True, "batch_first": False, "bias": False}),
    ("lstm", {"num_layers": 2, "bidirectional": True, "batch_first": False, "dropout": 0.25}),
    ("lstm_proj", {"num_layers": 2, "batch_first": True}),
    ("gru", {"num_layers": 3, "bias": False, "batch_first": True}),
]


@pytest.mark.parametrize("mode, cfg", INTEROP, ids=[m for m, _ in INTEROP])
def test_from_torch_copies_exactly(mode, cfg, close):
    ours_cls, torch_cls, extra = MODES[mode]
    torch.manual_seed(1)
    ref = torch_cls(D, H, **extra, **cfg, dtype=torch.float64).eval()
    ours = ours_cls.from_torch(ref)
    assert type(ours) is ours_cls
    assert ours.batch_first == ref.batch_first
    assert ours.config.batch_first == cfg.get("batch_first", False)
    for name in ("input_size", "hidden_size", "num_layers", "bidirectional", "dropout"):
        assert getattr(ours.config, name) == getattr(ref, name), name
    assert ours.training is False
    assert next(ours.parameters()).dtype == torch.float64
    close(dict(ours.state_dict()), dict(ref.state_dict()), exact=True)
    x = torch.randn(B, T, D, dtype=torch.float64)
    if not ref.batch_first:
        x = x.transpose(0, 1)
    close(ours(x), ref(x))  # exact weights; backends may differ by rounding


@pytest.mark.parametrize("mode, cfg", INTEROP, ids=[m for m, _ in INTEROP])
def test_to_torch_round_trip(mode, cfg, close, float64):
    ours_cls, torch_cls, extra = MODES[mode]
    torch.manual_seed(2)
    ours = ours_cls(D, H, **extra, **cfg).eval()  # default dtype: float64 (fixture)
    ref = ours.to_torch()
    assert type(ref) is torch_cls
    assert all(p.dtype == float64 for p in ref.parameters())
    assert ref.batch_first == ours.config.batch_first
    assert ref.training is False
    for name in (
        "input_size",
        "hidden_size",
        "num_layers",
        "bidirectional",
        "dropout",
        "bias",
        "proj_size",
        "nonlinearity",
    ):
        if hasattr(ref, name):
            assert getattr(ref, name) == getattr(ours.config, name, getattr(ours, name, None)), name
    close(dict(ref.state_dict()), dict(ours.state_dict()), exact=True)
    x = torch.randn(B, T, D)
    if not ours.config.batch_first:
        x = x.transpose(0, 1)
    close(ref(x), ours(x))  # exact weights; backends may differ by rounding
    back = ours_cls.from_torch(ref)
    assert back.config == ours.config
    close(dict(back.state_dict()), dict(ours.state_dict()), exact=True)
    # torch's copy owns its weights: changing it leaves ours alone
    before = ours.weight_ih_l0.detach().clone()
    with torch.no_grad():
        ref.weight_ih_l0.add_(1.0)
    assert torch.equal(ours.weight_ih_l0, before)


@pytest.mark.parametrize("mode, cfg", INTEROP, ids=[m for m, _ in INTEROP])
def test_state_dict_loads_into_torch_directly(mode, cfg, close):
    ours_cls, torch_cls, extra = MODES[mode]
    ours = ours_cls(D, H, **extra, **cfg).eval()
    ref = torch_cls(D, H, **extra, **cfg).eval()
    ref.load_state_dict(ours.state_dict())  # strict
    x = torch.randn(B, T, D)
    if not cfg.get("batch_first", True):
        x = x.transpose(0, 1)
    close(ours(x), ref(x))


@pytest.mark.parametrize(
    "kw, names",
    [
        ({"layer_norm": True}, ["layer_norm"]),
        ({"zoneout": 0.1}, ["zoneout"]),
        ({"zoneout": (0.0, 0.2)}, ["zoneout"]),
        ({"input_dropout": 0.1, "recurrent_dropout": 0.2}, ["input_dropout", "recurrent_dropout"]),
        ({"weight_drop": 0.3}, ["weight_drop"]),
    ],
)
def test_to_torch_refuses_what_torch_cannot_do(kw, names):
    layer = LSTM(D, H, **kw)
    with pytest.raises(ValueError) as err:
        layer.to_torch()
    for n in names:
        assert n in str(err.value)


@pytest.mark.parametrize("cls", [GRU, RNN])
def test_to_torch_refuses_layer_norm_gru_and_zoneout_rnn(cls):
    layer = GRU(D, H, layer_norm=True) if cls is GRU else RNN(D, H, zoneout=0.2)
    with pytest.raises(ValueError, match="layer_norm" if cls is GRU else "zoneout"):
        layer.to_torch()


def test_from_torch_rejects_another_class():
    with pytest.raises(ValueError, match="LSTM"):
        LSTM.from_torch(torch.nn.GRU(D, H))


def test_from_torch_adds_rnnkit_options():
    ref = torch.nn.GRU(D, H, batch_first=True)
    ours = GRU.from_torch(ref, recurrent_dropout=0.25)
    assert ours.config.recurrent_dropout == 0.25
    torch.testing.assert_close(ours.weight_hh_l0, ref.weight_hh_l0, atol=0, rtol=0)


@pytest.mark.parametrize("cls, torch_cls", [(LSTM, torch.nn.LSTM), (GRU, torch.nn.GRU)])
def test_from_torch_with_layer_norm_starts_at_identity_norm(cls, torch_cls):
    ref = torch_cls(D, H, num_layers=2)
    ours = cls.from_torch(ref, layer_norm=True)
    assert ours.config.layer_norm
    for name, p in ours.named_parameters():
        if name.startswith("ln_"):
            expected = torch.ones_like(p) if "_weight" in name else torch.zeros_like(p)
            assert torch.equal(p, expected), name
        else:
            assert torch.equal(p, getattr(ref, name)), name


def test_public_names():
    assert rnnkit.LSTM is LSTM and rnnkit.GRU is GRU and rnnkit.RNN is RNN
    assert rnnkit.LSTMState is LSTMState
