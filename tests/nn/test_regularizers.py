"""Regularizers: what each one does to the numbers, where its masks are shared, and that
every backend sees the same masks under a seed.

- input_dropout, recurrent_dropout: variational (Gal & Ghahramani 2016): one mask per
  sequence, shared across time.
- weight_drop: DropConnect on ``weight_hh`` (Merity et al. 2017): one mask per call,
  shared by the batch and all steps.
- zoneout (Krueger et al. 2016): a fresh keep-mask per step; the expectation at eval.
- dropout: between layers, as torch.nn.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rnnkit.functional import gru_step, lstm_step, rnn_relu_step, rnn_tanh_step
from rnnkit.nn import GRU, LSTM, RNN

B, T, D, H = 4, 6, 5, 6
CLASSES = {"lstm": LSTM, "gru": GRU, "rnn": RNN}

REGS = {
    "input_dropout": {"input_dropout": 0.4},
    "recurrent_dropout": {"recurrent_dropout": 0.4},
    "weight_drop": {"weight_drop": 0.4},
    "zoneout": {"zoneout": 0.4},
    "zoneout_pair": {"zoneout": (0.3, 0.6)},
    "dropout": {"dropout": 0.4},
}
ZERO = {  # off, spelled in every accepted way
    "input_dropout": {"input_dropout": 0},
    "recurrent_dropout": {"recurrent_dropout": 0.0},
    "weight_drop": {"weight_drop": 0},
    "zoneout": {"zoneout": 0.0},
    "zoneout_pair": {"zoneout": (0.0, 0)},
    "dropout": {"dropout": 0},
}
# Backends that can run each regularizer in training mode.
TRAIN_IMPLS = {
    "input_dropout": ("auto", "native", "loop", "reference"),
    "recurrent_dropout": ("auto", "loop", "reference"),
    "weight_drop": ("auto", "native", "loop", "reference"),
    "zoneout": ("auto", "loop", "reference"),
    "zoneout_pair": ("auto", "loop", "reference"),
    "dropout": ("auto", "native", "loop", "reference"),
}


def _reg_cases(impls_of):
    cases = []
    for reg in REGS:
        for cname in CLASSES:
            if reg == "zoneout_pair" and cname != "lstm":
                continue
            for impl in impls_of(reg):
                cases.append(pytest.param(reg, cname, impl, id=f"{reg}-{cname}-{impl}"))
    return cases


def make(cname, impl="auto", dtype=torch.float64, num_layers=2, **kw):
    return CLASSES[cname](D, H, num_layers=num_layers, impl=impl, dtype=dtype, **kw)


def twin(layer, **kw):
    """The same weights in a layer with other options (train/eval mode kept)."""
    p = next(layer.parameters())
    other = type(layer).from_config(dataclasses.replace(layer.config, **kw), dtype=p.dtype)
    other.load_state_dict(layer.state_dict())
    return other.train(layer.training)


def seeded(layer, x, seed, **kw):
    torch.manual_seed(seed)
    return layer(x, **kw)


def _x(dtype=torch.float64, batch=B):
    return torch.randn(batch, T, D, dtype=dtype)


# --------------------------------------------------------------------------- rate 0, eval
@pytest.mark.parametrize("reg, cname, impl", _reg_cases(lambda r: ("native", "loop", "reference")))
def test_rate_zero_is_no_regularizer(reg, cname, impl, close):
    """Rate 0 in training mode: torch.nn's plain numbers, and no random numbers drawn."""
    torch.manual_seed(0)
    layer = make(cname, impl, **ZERO[reg]).train()
    plain = layer.to_torch().train()
    x = _x()
    rng = torch.get_rng_state()
    got = layer(x)
    assert torch.equal(rng, torch.get_rng_state()), "a rate of 0 still drew random numbers"
    close(got, plain(x.transpose(0, 1) if not plain.batch_first else x), exact=impl == "native")


@pytest.mark.parametrize(
    "reg, cname, impl",
    _reg_cases(
        lambda r: (
            ("auto", "loop", "reference")
            if "zoneout" in r
            else ("auto", "native", "loop", "reference")
        )
    ),
)
def test_eval_is_deterministic_and_plain(reg, cname, impl, close):
    torch.manual_seed(0)
    layer = make(cname, impl, **REGS[reg]).eval()
    x = _x()
    lengths = torch.tensor([T, 3, 1, 5])
    first = seeded(layer, x, 1, lengths=lengths)
    close(seeded(layer, x, 2, lengths=lengths), first, exact=True)
    plain = twin(layer, **ZERO[reg])
    expected = plain(x, lengths=lengths)
    if "zoneout" in reg:
        # the expectation, not the plain cell (its formula: test_zoneout_eval_formula)
        assert not torch.allclose(first[0], expected[0])
    else:
        close(first, expected, exact=True)


# --------------------------------------------------------------------------- training noise
@pytest.mark.parametrize("reg, cname, impl", _reg_cases(lambda r: TRAIN_IMPLS[r]))
def test_training_noise_varies_and_seed_reproduces(reg, cname, impl, close):
    torch.manual_seed(0)
    layer = make(cname, impl, **REGS[reg]).train()
    x = _x()
    a, b = layer(x), layer(x)
    assert not torch.allclose(a[0], b[0]), "two training calls gave the same output"
    close(seeded(layer, x, 7), seeded(layer, x, 7), exact=True)
    plain = twin(layer, **ZERO[reg])
    assert not torch.allclose(seeded(layer, x, 7)[0], seeded(plain, x, 7)[0])


# --------------------------------------------------------------------------- mask structure
def _identity_rnn(impl, n, **kw):
    """Single-layer ReLU RNN with D = H = n, W_ih = I, no bias: h_t = relu(x_t + W_hh h)."""
    layer = RNN(n, n, nonlinearity="relu", bias=False, impl=impl, dtype=torch.float64, **kw)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.eye(n))
        layer.weight_hh_l0.zero_()
    return layer.train()


@pytest.mark.parametrize("impl", ["native", "loop", "reference"])
def test_input_dropout_mask_is_shared_across_time(impl):
    """With W_hh = 0, h_t = relu(m * x_t): the dropped features are the same at every step,
    differ between sequences, and the kept ones are scaled by 1 / (1 - p)."""
    p, n = 0.5, 16
    layer = _identity_rnn(impl, n, input_dropout=p)
    x = torch.rand(B, T, n, dtype=torch.float64) + 0.1  # positive: relu is the identity
    torch.manual_seed(3)
    out, _ = layer(x)
    zero = out == 0
    assert zero.any() and (~zero).any()
    assert torch.equal(zero, zero[:, :1].expand_as(zero)), "mask changes over time"
    assert not torch.equal(zero[0, 0], zero[1, 0]) or not torch.equal(zero[1, 0], zero[2, 0])
    torch.testing.assert_close(out[~zero], (x / (1 - p))[~zero], rtol=1e-12, atol=0)


@pytest.mark.parametrize("impl", ["loop", "reference"])
def test_recurrent_dropout_mask_is_shared_across_time(impl):
    """W_hh = I: h_t - x_t = m * h_{t-1}, so the ratio recovers the mask at every step."""
    p, n = 0.5, 12
    layer = _identity_rnn(impl, n, recurrent_dropout=p)
    with torch.no_grad():
        layer.weight_hh_l0.copy_(torch.eye(n))
    x = torch.rand(B, T, n, dtype=torch.float64) + 0.1
    torch.manual_seed(4)
    out, _ = layer(x)
    masks = (out[:, 1:] - x[:, 1:]) / out[:, :-1]  # (B, T-1, n)
    torch.testing.assert_close(masks, masks[:, :1].expand_as(masks), rtol=1e-10, atol=1e-12)
    m = masks[:, 0]
    assert set(torch.unique(m.round(decimals=9)).tolist()) == {0.0, 1 / (1 - p)}
    assert not torch.equal(m[0], m[1]) or not torch.equal(m[1], m[2]), "one mask per sequence"
    # the first step sees h_0 = 0 through W_hh, so it is x_0 itself
    torch.testing.assert_close(out[:, 0], x[:, 0], rtol=0, atol=0)


@pytest.mark.parametrize("impl", ["native", "loop", "reference"])
def test_weight_drop_mask_is_shared_by_batch_and_time(impl):
    """One unit, W_hh = w: h_t - x_t = m w h_{t-1} with the same m for all t and b."""
    p, w = 0.5, 0.5
    layer = RNN(
        1, 1, nonlinearity="relu", bias=False, impl=impl, weight_drop=p, dtype=torch.float64
    ).train()
    with torch.no_grad():
        layer.weight_ih_l0.fill_(1.0)
        layer.weight_hh_l0.fill_(w)
    x = torch.rand(B, T, 1, dtype=torch.float64) + 0.1
    seen = set()
    for seed in range(12):
        torch.manual_seed(seed)
        out, _ = layer(x)
        ratio = (out[:, 1:] - x[:, 1:]) / out[:, :-1]
        torch.testing.assert_close(ratio, ratio[:1, :1].expand_as(ratio), rtol=1e-10, atol=1e-12)
        seen.add(round(ratio[0, 0, 0].item(), 9))
    assert seen == {0.0, round(w / (1 - p), 9)}, seen


@pytest.mark.parametrize("cname", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("impl", ["native", "loop", "reference"])
def test_identical_sequences_share_weight_drop_but_not_variational_masks(cname, impl):
    torch.manual_seed(5)
    seq = torch.randn(1, T, D, dtype=torch.float64)
    x = seq.expand(B, T, D).contiguous()
    wd = make(cname, impl, weight_drop=0.5).train()
    out, _ = seeded(wd, x, 1)
    # equal up to rounding (BLAS may block batch rows differently)
    torch.testing.assert_close(out, out[:1].expand_as(out), rtol=1e-12, atol=1e-14)
    regs = [{"input_dropout": 0.5}]
    if impl != "native":
        regs.append({"recurrent_dropout": 0.5})
    for kw in regs:
        out, _ = seeded(twin(wd, weight_drop=0.0, **kw), x, 1)
        assert not torch.allclose(out[0], out[1]) or not torch.allclose(out[1], out[2]), kw


@pytest.mark.parametrize("cname", ["gru", "rnn"])
@pytest.mark.parametrize("impl", ["loop", "reference"])
def test_zoneout_training_keeps_or_updates_each_unit_with_fresh_masks(cname, impl):
    """Each unit at each step is either its previous value or the cell's update."""
    torch.manual_seed(6)
    layer = make(cname, impl, num_layers=1, zoneout=0.25).train()
    x = _x()
    torch.manual_seed(2)
    out, _ = layer(x)
    w = layer.weights(0, 0)
    step = gru_step if cname == "gru" else rnn_tanh_step
    prev = torch.zeros(B, H, dtype=torch.float64)
    kept = []
    for t in range(T):
        new = step(x[:, t], prev, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh)
        is_prev = torch.isclose(out[:, t], prev, rtol=0, atol=1e-13)
        is_new = torch.isclose(out[:, t], new, rtol=0, atol=1e-13)
        assert (is_prev | is_new).all(), f"step {t}: neither kept nor updated"
        kept.append(is_prev & ~is_new)
        prev = out[:, t].detach()
    kept = torch.stack(kept)
    frac = kept.double().mean().item()
    assert 0.1 < frac < 0.45, frac  # keeps with probability 0.25
    assert not all(torch.equal(kept[0], k) for k in kept[1:]), "zoneout mask must be per step"


# --------------------------------------------------------------------------- zoneout at eval
def _manual_zoneout(cname, layer, x, rates):
    w = layer.weights(0, 0)
    args = (w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh)
    rh, rc = rates
    h = torch.zeros(B, layer.output_size, dtype=x.dtype)
    c = torch.zeros(B, H, dtype=x.dtype)
    outs = []
    for t in range(x.shape[1]):
        if cname == "lstm":
            h_new, c_new = lstm_step(x[:, t], h, c, *args, w_hr=w.weight_hr)
            c = rc * c + (1 - rc) * c_new
        else:
            fn = {"gru": gru_step, "rnn": rnn_tanh_step, "rnn_relu": rnn_relu_step}[cname]
            h_new = fn(x[:, t], h, *args)
        h = rh * h + (1 - rh) * h_new
        outs.append(h)
    return torch.stack(outs, 1), (h, c)


ZONEOUT_EVAL = [
    ("lstm", 0.4, {}),
    ("lstm", (0.3, 0.7), {}),
    ("lstm", (0.0, 0.5), {}),
    ("lstm", (0.5, 0.0), {}),
    ("lstm", (0.2, 0.6), {"proj_size": 3}),
    ("gru", 0.35, {}),
    ("rnn", 0.5, {}),
    ("rnn_relu", 0.25, {}),
]


@pytest.mark.parametrize(
    "cname, rate, extra, impl",
    [
        pytest.param(c, r, e, i, id=f"{c}-{r}-{'proj-' if e else ''}{i}")
        for c, r, e in ZONEOUT_EVAL
        for i in ("auto", "loop", "reference")
        if not (i == "loop" and e.get("proj_size"))
    ],
)
def test_zoneout_eval_formula(cname, rate, extra, impl, close):
    torch.manual_seed(8)
    cls = CLASSES["rnn" if cname.startswith("rnn") else cname]
    kw = {"nonlinearity": "relu"} if cname == "rnn_relu" else {}
    layer = cls(D, H, zoneout=rate, impl=impl, dtype=torch.float64, **kw, **extra).eval()
    x = _x()
    out, state = layer(x)
    rates = rate if isinstance(rate, tuple) else (rate, rate)
    m_out, (h, c) = _manual_zoneout(cname, layer, x, rates)
    close(out, m_out)
    if cname == "lstm":
        close(tuple(state), (h[None], c[None]))
    else:
        close(state, h[None])


# --------------------------------------------------------------------------- backends agree
CROSS = [
    ("ln_lstm", LSTM, {"layer_norm": True, "num_layers": 2, "bidirectional": True, "dropout": 0.3}),
    ("ln_gru", GRU, {"layer_norm": True, "num_layers": 2}),
    ("rd_lstm", LSTM, {"recurrent_dropout": 0.3, "num_layers": 2}),
    ("rd_gru", GRU, {"recurrent_dropout": 0.4, "bidirectional": True}),
    ("rd_rnn", RNN, {"recurrent_dropout": 0.4, "num_layers": 2}),
    ("zo_lstm", LSTM, {"zoneout": (0.3, 0.5), "bidirectional": True}),
    ("zo_gru", GRU, {"zoneout": 0.3, "num_layers": 2}),
    ("zo_rnn_relu", RNN, {"zoneout": 0.4, "nonlinearity": "relu"}),
    ("wd_lstm", LSTM, {"weight_drop": 0.4, "num_layers": 2, "bidirectional": True}),
    ("wd_gru", GRU, {"weight_drop": 0.4}),
    ("id_rnn", RNN, {"input_dropout": 0.3, "num_layers": 2}),
    ("id_lstm", LSTM, {"input_dropout": 0.3, "dropout": 0.3, "num_layers": 3}),
    (
        "all_lstm",
        LSTM,
        {
            "layer_norm": True,
            "recurrent_dropout": 0.2,
            "zoneout": 0.2,
            "weight_drop": 0.2,
            "input_dropout": 0.2,
            "dropout": 0.2,
            "num_layers": 2,
            "bidirectional": True,
        },
    ),
    (
        "all_gru",
        GRU,
        {
            "layer_norm": True,
            "recurrent_dropout": 0.2,
            "zoneout": 0.2,
            "weight_drop": 0.2,
            "input_dropout": 0.2,
            "num_layers": 2,
        },
    ),
]


def _train_pass(layer, x, state, lengths, seed, g):
    torch.manual_seed(seed)
    out, st = layer(x, state, lengths=lengths)
    parts = tuple(st) if isinstance(st, tuple) else (st,)
    leaves = [x] + ([] if state is None else list(state if isinstance(state, tuple) else (state,)))
    loss = (out * g).sum() + sum(s.square().sum() for s in parts)
    return out, parts, torch.autograd.grad(loss, leaves + list(layer.parameters()))


def _randomize(layer):
    with torch.no_grad():
        for n, p in layer.named_parameters():
            if n.startswith("ln_"):
                p.copy_(torch.rand_like(p) + (0.5 if "weight" in n else -0.5))


@pytest.mark.parametrize("with_lengths", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("name, cls, kw", CROSS, ids=[c[0] for c in CROSS])
def test_loop_and_reference_share_masks_in_training(name, cls, kw, with_lengths, close):
    torch.manual_seed(9)
    loop = cls(D, H, impl="loop", dtype=torch.float64, **kw).train()
    _randomize(loop)
    ref = twin(loop, impl="reference")
    x = _x().requires_grad_()
    lengths = torch.tensor([T, 2, 5, 1]) if with_lengths else None
    state = None
    if with_lengths:
        z = loop.init_state(B)
        state = (
            type(z)(*(torch.randn_like(s).requires_grad_() for s in z))
            if isinstance(z, tuple)
            else torch.randn_like(z).requires_grad_()
        )
    g = torch.randn(B, T, H * loop.num_directions, dtype=torch.float64)
    a = _train_pass(loop, x, state, lengths, 11, g)
    b = _train_pass(ref, x, state, lengths, 11, g)
    close(a, b)
    if set(kw) - {"layer_norm", "num_layers", "bidirectional", "nonlinearity"}:
        # the noise is really there: another seed changes the result
        c = _train_pass(ref, x, state, lengths, 12, g)
        assert not torch.allclose(c[0], b[0])


NATIVE_CROSS = [
    ("id_lstm", LSTM, {"input_dropout": 0.3, "num_layers": 2, "bidirectional": True}),
    ("id_gru", GRU, {"input_dropout": 0.3, "num_layers": 2}),
    ("wd_lstm", LSTM, {"weight_drop": 0.4, "num_layers": 2}),
    ("wd_rnn", RNN, {"weight_drop": 0.4, "bidirectional": True}),
    ("id_wd_gru", GRU, {"input_dropout": 0.3, "weight_drop": 0.3, "bidirectional": True}),
    (
        "id_wd_lstm_proj",
        LSTM,
        {"input_dropout": 0.3, "weight_drop": 0.3, "proj_size": 3, "num_layers": 2},
    ),
]


@pytest.mark.parametrize("with_lengths", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("name, cls, kw", NATIVE_CROSS, ids=[c[0] for c in NATIVE_CROSS])
def test_native_and_reference_share_masks_in_training(name, cls, kw, with_lengths, close):
    torch.manual_seed(10)
    native = cls(D, H, impl="native", dtype=torch.float64, **kw).train()
    ref = twin(native, impl="reference")
    x = _x().requires_grad_()
    lengths = torch.tensor([3, T, 1, 4]) if with_lengths else None
    P = kw.get("proj_size") or H
    g = torch.randn(B, T, P * native.num_directions, dtype=torch.float64)
    close(_train_pass(native, x, None, lengths, 13, g), _train_pass(ref, x, None, lengths, 13, g))


# --------------------------------------------------------------------------- between layers
@pytest.mark.parametrize("impl", ["native", "loop", "reference"])
@pytest.mark.parametrize("cname", ["lstm", "gru"])
def test_dropout_between_layers(cname, impl, close):
    torch.manual_seed(14)
    layer = make(cname, impl, num_layers=3, dropout=0.5).train()
    plain = twin(layer, dropout=0.0)
    x = _x()
    a, b = layer(x), layer(x)
    assert not torch.allclose(a[0], b[0])
    assert not torch.allclose(seeded(layer, x, 1)[0], seeded(plain, x, 1)[0])
    layer.eval(), plain.eval()
    close(layer(x), plain(x), exact=True)


@pytest.mark.parametrize("impl", ["native", "loop", "reference"])
def test_dropout_does_not_touch_the_last_layer(impl, close):
    torch.manual_seed(15)
    layer = make("gru", impl, num_layers=1, dropout=0.5).train()
    plain = twin(layer, dropout=0.0)
    x = _x()
    close(seeded(layer, x, 1), seeded(plain, x, 1), exact=True)


@pytest.mark.parametrize("other", [{"input_dropout": 0.2}, {"weight_drop": 0.2}])
@pytest.mark.parametrize("impl", ["native", "loop", "reference"])
def test_dropout_between_layers_still_acts_with_other_regularizers(impl, other):
    """Adding another regularizer must not switch the between-layer dropout off."""
    torch.manual_seed(16)
    layer = make("lstm", impl, num_layers=2, dropout=0.5, **other).train()
    no_between = twin(layer, dropout=0.0)
    x = _x()
    a, b = seeded(layer, x, 1)[0], seeded(no_between, x, 1)[0]
    assert not torch.allclose(a, b), "dropout between layers had no effect"


@pytest.mark.parametrize("impl", ["native", "loop", "reference"])
def test_dropout_between_layers_is_inverted_dropout_per_element(impl):
    """Layer 2 reads relu(m * h1) through W_ih = I (W_hh = 0, no bias): each element of
    layer 1's output is dropped or scaled by 1 / (1 - p), independently over time."""
    p, n = 0.5, 8
    layer = RNN(
        n,
        n,
        num_layers=2,
        nonlinearity="relu",
        bias=False,
        dropout=p,
        impl=impl,
        dtype=torch.float64,
    ).train()
    with torch.no_grad():
        layer.weight_ih_l1.copy_(torch.eye(n))
        layer.weight_hh_l1.zero_()
        layer.weight_ih_l0.copy_(torch.eye(n) + 0.1)
        layer.weight_hh_l0.mul_(0.1)
    x = torch.rand(B, T, n, dtype=torch.float64) + 0.5  # layer 1 output stays positive
    first = RNN(n, n, nonlinearity="relu", bias=False, dtype=torch.float64)
    first.weight_ih_l0, first.weight_hh_l0 = layer.weight_ih_l0, layer.weight_hh_l0
    h1, _ = first(x)
    assert (h1 > 0).all()
    torch.manual_seed(18)
    out, _ = layer(x)
    dropped = out == 0
    assert 0.25 < dropped.double().mean().item() < 0.75
    torch.testing.assert_close(out[~dropped], (h1 / (1 - p))[~dropped], rtol=1e-12, atol=0)
    assert not torch.equal(dropped[:, 0], dropped[:, 1]), "a fresh mask at every step"
