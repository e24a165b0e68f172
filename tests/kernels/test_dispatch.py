"""The dispatcher: which backend runs a layer, why, and clear errors for ineligible ones."""

from __future__ import annotations

import pytest
import torch

import rnnkit.kernels as kernels
from rnnkit.kernels import BACKENDS, Explanation, explain
from rnnkit.nn import GRU, LSTM, RNN

B, T, D, H = 2, 4, 3, 5


def x_for(layer, dtype=torch.float32):
    return torch.randn(B, T, D, dtype=dtype)


PLAIN = [
    ("lstm", lambda **k: LSTM(D, H, **k)),
    ("lstm_proj", lambda **k: LSTM(D, H, proj_size=2, **k)),
    ("gru", lambda **k: GRU(D, H, **k)),
    ("rnn_tanh", lambda **k: RNN(D, H, **k)),
    (
        "rnn_relu_bi_L2",
        lambda **k: RNN(D, H, nonlinearity="relu", bidirectional=True, num_layers=2, **k),
    ),
    (
        "lstm_native_regs",
        lambda **k: LSTM(D, H, num_layers=2, dropout=0.3, input_dropout=0.2, weight_drop=0.2, **k),
    ),
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name, build", PLAIN, ids=[p[0] for p in PLAIN])
def test_auto_picks_native_for_plain_layers_without_grad(name, build, train):
    layer = build().train(train)
    with torch.no_grad():
        e = explain(layer, x_for(layer))
    assert isinstance(e, Explanation)
    assert e.impl == "native"
    assert isinstance(e.reason, str) and e.reason
    assert e.candidates["native"][0] is True
    assert "native" in str(e)
    assert set(e.candidates) == set(BACKENDS)
    assert all(isinstance(ok, bool) and why for ok, why in e.candidates.values())


@pytest.mark.parametrize("name, build", PLAIN, ids=[p[0] for p in PLAIN])
def test_auto_with_grad_on_cpu_prefers_loop_for_gru_and_rnn(name, build):
    # Measured (benchmarks/RESULTS.md): torch's CPU GRU/RNN backward is ATen's per-step loop,
    # which the fused loop beats; torch's CPU LSTM reaches oneDNN, which it does not.
    layer = build()
    e = explain(layer, x_for(layer))
    if layer.mode == "LSTM":
        assert e.impl == "native"
    else:
        assert e.impl == "loop"
        assert "measured faster" in e.reason
        # without any gradient to compute, torch's op is as fast: native again
        layer.requires_grad_(False)
        assert explain(layer, x_for(layer)).impl == "native"


LOOPED = [
    ("layer_norm_lstm", lambda: LSTM(D, H, layer_norm=True), "layer_norm"),
    ("layer_norm_gru", lambda: GRU(D, H, layer_norm=True), "layer_norm"),
    ("recurrent_dropout_lstm", lambda: LSTM(D, H, recurrent_dropout=0.3), "recurrent_dropout"),
    ("recurrent_dropout_rnn", lambda: RNN(D, H, recurrent_dropout=0.3), "recurrent_dropout"),
    ("zoneout_gru", lambda: GRU(D, H, zoneout=0.2), "zoneout"),
    ("zoneout_lstm_c_only", lambda: LSTM(D, H, zoneout=(0.0, 0.2)), "zoneout"),
]


@pytest.mark.parametrize("name, build, why", LOOPED, ids=[p[0] for p in LOOPED])
def test_auto_picks_loop_when_torch_cannot_fuse(name, build, why):
    layer = build().train()
    e = explain(layer, x_for(layer))
    assert e.impl == "loop"
    assert why in e.reason, e.reason  # says why native was skipped
    assert e.candidates["native"][0] is False and why in e.candidates["native"][1]
    assert e.candidates["loop"][0] is True
    text = str(e)
    assert "loop" in text and "native" in text and why in text


@pytest.mark.parametrize("kw", [{"recurrent_dropout": 0.3}, {"zoneout": 0.3}])
def test_auto_picks_reference_for_projection_with_recurrent_noise(kw):
    layer = LSTM(D, H, proj_size=2, **kw).train()
    e = explain(layer, x_for(layer))
    assert e.impl == "reference"
    assert "proj_size" in e.reason
    assert e.candidates["loop"] == (False, e.candidates["loop"][1])
    assert "proj_size" in e.candidates["loop"][1]


def test_recurrent_dropout_is_native_eligible_in_eval_mode():
    layer = LSTM(D, H, recurrent_dropout=0.5)
    assert explain(layer.train(), x_for(layer)).impl == "loop"
    assert explain(layer.eval(), x_for(layer)).impl == "native"
    proj = LSTM(D, H, proj_size=2, recurrent_dropout=0.5)
    assert explain(proj.train(), x_for(proj)).impl == "reference"
    assert explain(proj.eval(), x_for(proj)).impl == "native"


def test_zoneout_is_never_native_eligible():
    """At eval zoneout is its expectation, still not a plain cell."""
    layer = GRU(D, H, zoneout=0.3).eval()
    assert explain(layer, x_for(layer)).impl == "loop"


def test_dtype_unsupported_by_fused_ops_falls_back():
    layer = LSTM(D, H, dtype=torch.float16)
    e = explain(layer, x_for(layer, torch.float16))
    assert e.impl != "native"
    assert "float16" in e.candidates["native"][1]


INELIGIBLE = [
    ("native", lambda: LSTM(D, H, layer_norm=True, impl="native"), "layer_norm"),
    ("native", lambda: GRU(D, H, zoneout=0.1, impl="native"), "zoneout"),
    ("native", lambda: RNN(D, H, recurrent_dropout=0.1, impl="native"), "recurrent_dropout"),
    ("loop", lambda: LSTM(D, H, proj_size=2, impl="loop"), "proj_size"),
]


@pytest.mark.parametrize("impl, build, why", INELIGIBLE, ids=[f"{i}-{w}" for i, _, w in INELIGIBLE])
def test_explicit_ineligible_impl_raises_with_reason(impl, build, why):
    layer = build().train()
    x = x_for(layer)
    for call in (lambda: layer(x), lambda: explain(layer, x)):
        with pytest.raises(ValueError) as err:
            call()
        msg = str(err.value)
        assert why in msg and impl in msg, msg


def test_explicit_eligible_impl_is_used():
    layer = LSTM(D, H, impl="reference")
    e = explain(layer, x_for(layer))
    assert e.impl == "reference" and "reference" in e.reason
    assert explain(LSTM(D, H, layer_norm=True, impl="reference"), x_for(layer)).impl == "reference"


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
@pytest.mark.parametrize("impl", ["cudnn", "Native", "", "triton_"])
def test_impl_is_validated_at_construction(cls, impl):
    with pytest.raises(ValueError, match="impl") as err:
        cls(D, H, impl=impl)
    for name in ("auto", *BACKENDS):
        assert name in str(err.value)


def test_explain_runs_nothing():
    layer = LSTM(D, H, recurrent_dropout=0.5, zoneout=0.3).train()
    x = x_for(layer)
    rng = torch.get_rng_state()
    explain(layer, x)
    assert torch.equal(rng, torch.get_rng_state()), "explain() drew random numbers"


CHOSEN = [
    ("native", lambda: LSTM(D, H, num_layers=2)),
    ("loop", lambda: GRU(D, H, num_layers=2)),
    ("loop", lambda: GRU(D, H, layer_norm=True)),
    ("loop", lambda: LSTM(D, H, zoneout=0.2, bidirectional=True)),
    ("reference", lambda: LSTM(D, H, proj_size=2, recurrent_dropout=0.2)),
]


@pytest.mark.parametrize(
    "expected, build", CHOSEN, ids=[f"{e}-{i}" for i, (e, _) in enumerate(CHOSEN)]
)
def test_forward_runs_the_backend_explain_names(expected, build, monkeypatch):
    layer = build().train()
    x = x_for(layer)
    assert explain(layer, x).impl == expected
    ran = []
    real_run = kernels.run

    def spy(backend, *args, **kw):
        ran.append(backend)
        return real_run(backend, *args, **kw)

    monkeypatch.setattr(kernels, "run", spy)
    layer(x)
    assert ran == [expected]


def test_explain_accepts_lengths():
    layer = LSTM(D, H)
    e = explain(layer, x_for(layer), torch.tensor([T, 2]))
    assert e.impl == "native"
