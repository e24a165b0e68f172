"""The functional specification: step functions and the reference time loop.

Step functions are checked three ways: ``gradcheck`` in float64, equality with torch.nn's
cells (weights copied, so the layout is torch's), and, for the layer-normalised cells,
equality with the equations of Ba, Kiros & Hinton (2016) written out here by hand.
"""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.functional import (
    gru_step,
    layer_norm_gru_step,
    layer_norm_lstm_step,
    lstm_step,
    reference_loop,
    rnn_relu_step,
    rnn_tanh_step,
)

B, D, H, P = 3, 4, 5, 2
EPS = 1e-5


def rand(*shape, requires_grad=True, scale=1.0):
    return (scale * torch.randn(*shape, dtype=torch.float64)).requires_grad_(requires_grad)


def ln_params(size):
    """A non-trivial gain (around 1, never 1) and bias (never 0)."""
    return (rand(size) * 0.3 + 1.0).detach().requires_grad_(), rand(size) * 0.5


def manual_ln(a, gain, bias, eps=EPS):
    """Layer norm over the whole last axis, written out: biased variance, as Ba et al."""
    mean = a.mean(-1, keepdim=True)
    var = ((a - mean) ** 2).mean(-1, keepdim=True)
    return (a - mean) / torch.sqrt(var + eps) * gain + bias


# --------------------------------------------------------------------------- gradcheck
GB, GD, GH, GP = 2, 3, 3, 2  # gradcheck is O(inputs): keep it tiny


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("fn", [rnn_tanh_step, rnn_relu_step], ids=["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_rnn(fn, bias):
    B, D, H = GB, GD, GH
    args = (rand(B, D), rand(B, H), rand(H, D), rand(H, H))
    if bias:
        args += (rand(H), rand(H))
    assert gradcheck(fn, args)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("proj", [False, True])
def test_gradcheck_lstm(bias, proj):
    B, D, H, P = GB, GD, GH, GP
    hs = P if proj else H

    def f(x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr):
        return lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr)

    args = (
        rand(B, D),
        rand(B, hs),
        rand(B, H),
        rand(4 * H, D),
        rand(4 * H, hs),
        rand(4 * H) if bias else None,
        rand(4 * H) if bias else None,
        rand(P, H) if proj else None,
    )
    assert gradcheck(f, args)


@pytest.mark.parametrize("h_in", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_gru(h_in, bias):
    B, D, H = GB, GD, GH

    def f(x, h, w_ih, w_hh, b_ih, b_hh, hin):
        return gru_step(x, h, w_ih, w_hh, b_ih, b_hh, h_in=hin)

    args = (
        rand(B, D),
        rand(B, H),
        rand(3 * H, D),
        rand(3 * H, H),
        rand(3 * H) if bias else None,
        rand(3 * H) if bias else None,
        rand(B, H) if h_in else None,
    )
    assert gradcheck(f, args)


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_layer_norm_lstm(bias):
    B, D, H = GB, GD, GH

    def f(x, h, c, w_ih, w_hh, b_ih, b_hh, g1, b1, g2, b2, g3, b3):
        return layer_norm_lstm_step(
            x, h, c, w_ih, w_hh, b_ih, b_hh, (g1, b1), (g2, b2), (g3, b3), EPS
        )

    args = (
        rand(B, D),
        rand(B, H),
        rand(B, H),
        rand(4 * H, D),
        rand(4 * H, H),
        rand(4 * H) if bias else None,
        rand(4 * H) if bias else None,
        *ln_params(4 * H),
        *ln_params(4 * H),
        *ln_params(H),
    )
    assert gradcheck(f, args)


@pytest.mark.parametrize("h_in", [False, True])
def test_gradcheck_layer_norm_gru(h_in):
    B, D, H = GB, GD, GH

    def f(x, h, w_ih, w_hh, b_ih, b_hh, g1, b1, g2, b2, hin):
        return layer_norm_gru_step(x, h, w_ih, w_hh, b_ih, b_hh, (g1, b1), (g2, b2), EPS, h_in=hin)

    args = (
        rand(B, D),
        rand(B, H),
        rand(3 * H, D),
        rand(3 * H, H),
        rand(3 * H),
        rand(3 * H),
        *ln_params(3 * H),
        *ln_params(3 * H),
        rand(B, H) if h_in else None,
    )
    assert gradcheck(f, args)


# --------------------------------------------------------------------------- torch.nn parity
def _torch_cell_args(cell):
    return cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_step_equals_torch_rnncell(nonlinearity, bias, dtype, close):
    cell = torch.nn.RNNCell(D, H, bias=bias, nonlinearity=nonlinearity, dtype=dtype)
    x, h = torch.randn(B, D, dtype=dtype), torch.randn(B, H, dtype=dtype)
    fn = rnn_tanh_step if nonlinearity == "tanh" else rnn_relu_step
    close(fn(x, h, *_torch_cell_args(cell)), cell(x, h))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_step_equals_torch_lstmcell(bias, dtype, close):
    cell = torch.nn.LSTMCell(D, H, bias=bias, dtype=dtype)
    x = torch.randn(B, D, dtype=dtype)
    h, c = torch.randn(B, H, dtype=dtype), torch.randn(B, H, dtype=dtype)
    close(lstm_step(x, h, c, *_torch_cell_args(cell)), cell(x, (h, c)))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_lstm_step_with_projection_equals_torch_lstm(dtype, close):
    m = torch.nn.LSTM(D, H, proj_size=P, dtype=dtype)
    x = torch.randn(B, D, dtype=dtype)
    h, c = torch.randn(B, P, dtype=dtype), torch.randn(B, H, dtype=dtype)
    _, (h_t, c_t) = m(x[None], (h[None], c[None]))
    got = lstm_step(
        x, h, c, m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0, w_hr=m.weight_hr_l0
    )
    assert got[0].shape == (B, P)
    close(got, (h_t[0], c_t[0]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bias", [True, False])
def test_gru_step_equals_torch_grucell(bias, dtype, close):
    cell = torch.nn.GRUCell(D, H, bias=bias, dtype=dtype)
    x, h = torch.randn(B, D, dtype=dtype), torch.randn(B, H, dtype=dtype)
    close(gru_step(x, h, *_torch_cell_args(cell)), cell(x, h))
    # h_in = h is the same as no h_in.
    close(gru_step(x, h, *_torch_cell_args(cell), h_in=h), cell(x, h))


def _gru_by_hand(gi, gh, h):
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def test_gru_h_in_enters_only_w_hh(close):
    """Recurrent dropout (Gal & Ghahramani): the masked state feeds W_hh, the interpolation
    ``z * h`` uses the state itself."""
    cell = torch.nn.GRUCell(D, H, dtype=torch.float64)
    x, h = rand(B, D, requires_grad=False), rand(B, H, requires_grad=False)
    h_in = h * (torch.rand(B, H, dtype=torch.float64) > 0.5) * 2.0
    gi = x @ cell.weight_ih.T + cell.bias_ih
    gh = h_in @ cell.weight_hh.T + cell.bias_hh
    close(gru_step(x, h, *_torch_cell_args(cell), h_in=h_in), _gru_by_hand(gi, gh, h))


# --------------------------------------------------------------------------- layer norm
@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_lstm_step_equals_ba_et_al(bias, close):
    x, h, c = rand(B, D), rand(B, H), rand(B, H)
    w_ih, w_hh = rand(4 * H, D), rand(4 * H, H)
    b_ih, b_hh = (rand(4 * H), rand(4 * H)) if bias else (None, None)
    ln_ih, ln_hh, ln_c = ln_params(4 * H), ln_params(4 * H), ln_params(H)

    gates = manual_ln(x @ w_ih.T, *ln_ih) + manual_ln(h @ w_hh.T, *ln_hh)
    if bias:
        gates = gates + (b_ih + b_hh)
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(manual_ln(c_new, *ln_c))

    got = layer_norm_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh, ln_ih, ln_hh, ln_c, EPS)
    close(got, (h_new, c_new))


@pytest.mark.parametrize("h_in", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_gru_step_equals_ba_et_al(bias, h_in, close):
    x, h = rand(B, D), rand(B, H)
    hin = rand(B, H) if h_in else h
    w_ih, w_hh = rand(3 * H, D), rand(3 * H, H)
    b_ih, b_hh = (rand(3 * H), rand(3 * H)) if bias else (None, None)
    ln_ih, ln_hh = ln_params(3 * H), ln_params(3 * H)

    a = manual_ln(x @ w_ih.T, *ln_ih) + (b_ih if bias else 0)
    b = manual_ln(hin @ w_hh.T, *ln_hh) + (b_hh if bias else 0)
    a_r, a_z, a_n = (a[:, k * H : (k + 1) * H] for k in range(3))
    b_r, b_z, b_n = (b[:, k * H : (k + 1) * H] for k in range(3))
    r, z = torch.sigmoid(a_r + b_r), torch.sigmoid(a_z + b_z)
    n = torch.tanh(a_n + r * b_n)
    expected = (1 - z) * n + z * h

    got = layer_norm_gru_step(
        x, h, w_ih, w_hh, b_ih, b_hh, ln_ih, ln_hh, EPS, h_in=hin if h_in else None
    )
    close(got, expected)


def test_layer_norm_eps_is_used(close):
    x, h, c = rand(B, D), rand(B, H), rand(B, H)
    w_ih, w_hh = rand(4 * H, D, scale=0.01), rand(4 * H, H, scale=0.01)
    ln = ln_params(4 * H), ln_params(4 * H), ln_params(H)
    got = layer_norm_lstm_step(x, h, c, w_ih, w_hh, None, None, *ln, eps=0.5)
    gates = manual_ln(x @ w_ih.T, *ln[0], eps=0.5) + manual_ln(h @ w_hh.T, *ln[1], eps=0.5)
    i, f, g, o = gates.chunk(4, -1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    close(got, (torch.sigmoid(o) * torch.tanh(manual_ln(c_new, *ln[2], eps=0.5)), c_new))


# --------------------------------------------------------------------------- reference loop
T = 6


def _lstm_stepper():
    w_ih, w_hh, b_ih, b_hh = rand(4 * H, D), rand(4 * H, H), rand(4 * H), rand(4 * H)

    def step(x_t, s):
        return lstm_step(x_t, s[0], s[1], w_ih, w_hh, b_ih, b_hh)

    return step, (w_ih, w_hh, b_ih, b_hh)


def _manual(step, x, state):
    outs = []
    for t in range(x.shape[0]):
        state = step(x[t], state)
        outs.append(state[0])
    return torch.stack(outs), state


def test_reference_loop_equals_manual_loop(close):
    step, _ = _lstm_stepper()
    x, s0 = rand(T, B, D), (rand(B, H), rand(B, H))
    out, state = reference_loop(step, x, s0)
    assert out.shape == (T, B, H)
    close((out, state), _manual(step, x, s0), exact=True)


def test_reference_loop_single_state_entry(close):
    w_ih, w_hh = rand(H, D), rand(H, H)

    def step(x_t, s):
        return (rnn_tanh_step(x_t, s[0], w_ih, w_hh),)

    x, s0 = rand(T, B, D), (rand(B, H),)
    close(reference_loop(step, x, s0), _manual(step, x, s0), exact=True)


def test_reference_loop_reverse_equals_flipped_input(close):
    step, _ = _lstm_stepper()
    x, s0 = rand(T, B, D), (rand(B, H), rand(B, H))
    out, state = reference_loop(step, x, s0, reverse=True)
    out_f, state_f = _manual(step, x.flip(0), s0)
    close((out, state), (out_f.flip(0), state_f), exact=True)
    # and it is not just the forward loop
    assert not torch.allclose(out, reference_loop(step, x, s0)[0])


@pytest.mark.parametrize("reverse", [False, True])
def test_reference_loop_lengths(reverse, close):
    step, _ = _lstm_stepper()
    lengths = torch.tensor([T, 2, 1, 4])
    x, s0 = rand(T, 4, D), (rand(4, H), rand(4, H))
    out, (h, c) = reference_loop(step, x, s0, lengths=lengths, reverse=reverse)
    for b, n in enumerate(lengths.tolist()):
        xb, sb = x[:n, b : b + 1], (s0[0][b : b + 1], s0[1][b : b + 1])
        if reverse:
            # runs backwards from the sequence's own last valid step
            ob, (hb, cb) = _manual(step, xb.flip(0), sb)
            ob = ob.flip(0)
        else:
            ob, (hb, cb) = _manual(step, xb, sb)
        close(out[:n, b : b + 1], ob, msg=f"outputs of sequence {b}")
        # final state = state at step length - 1 (reverse: at step 0 after starting at n-1)
        close((h[b : b + 1], c[b : b + 1]), (hb, cb), msg=f"state of sequence {b}")
        assert torch.equal(out[n:, b], torch.zeros_like(out[n:, b])), "outputs past length"


def test_reference_loop_lengths_on_full_length_equal_no_lengths(close):
    step, _ = _lstm_stepper()
    x, s0 = rand(T, B, D), (rand(B, H), rand(B, H))
    close(
        reference_loop(step, x, s0, lengths=torch.full((B,), T)),
        reference_loop(step, x, s0),
        exact=True,
    )


@pytest.mark.parametrize("reverse", [False, True])
def test_reference_loop_keep_is_zoneout(reverse, close):
    step, _ = _lstm_stepper()
    x, s0 = rand(T, B, D), (rand(B, H), rand(B, H))
    keep_h = torch.bernoulli(torch.full((T, B, H), 0.4, dtype=torch.float64))
    keep_c = torch.rand(T, B, H, dtype=torch.float64)  # soft keep, as at evaluation
    out, state = reference_loop(step, x, s0, reverse=reverse, keep=(keep_h, keep_c))

    s, outs = s0, [None] * T
    for t in range(T - 1, -1, -1) if reverse else range(T):
        h_new, c_new = step(x[t], s)
        s = (keep_h[t] * s[0] + (1 - keep_h[t]) * h_new, keep_c[t] * s[1] + (1 - keep_c[t]) * c_new)
        outs[t] = s[0]
    close((out, state), (torch.stack(outs), s))


def test_reference_loop_keep_none_entry_leaves_that_state_alone(close):
    step, _ = _lstm_stepper()
    x, s0 = rand(T, B, D), (rand(B, H), rand(B, H))
    keep_h = torch.rand(T, B, H, dtype=torch.float64)
    out, state = reference_loop(step, x, s0, keep=(keep_h, None))
    s, outs = s0, []
    for t in range(T):
        h_new, c_new = step(x[t], s)
        s = (keep_h[t] * s[0] + (1 - keep_h[t]) * h_new, c_new)
        outs.append(s[0])
    close((out, state), (torch.stack(outs), s))


def test_reference_loop_keep_with_lengths(close):
    step, _ = _lstm_stepper()
    lengths = torch.tensor([3, T, 1])
    x, s0 = rand(T, B, D), (rand(B, H), rand(B, H))
    keep = torch.rand(T, B, H, dtype=torch.float64)
    out, state = reference_loop(step, x, s0, lengths=lengths, keep=(keep, keep))
    for b, n in enumerate(lengths.tolist()):
        s = (s0[0][b], s0[1][b])
        for t in range(n):
            h_new, c_new = step(x[t, b : b + 1], tuple(v[None] for v in s))
            s = (
                keep[t, b] * s[0] + (1 - keep[t, b]) * h_new[0],
                keep[t, b] * s[1] + (1 - keep[t, b]) * c_new[0],
            )
            close(out[t, b], s[0])
        close((state[0][b], state[1][b]), s)
        assert not out[n:, b].any()


def test_reference_loop_gradcheck_with_lengths_reverse_keep():
    w_ih, w_hh, b = rand(3 * 3, 2), rand(3 * 3, 3), rand(3 * 3)
    lengths = torch.tensor([3, 1])
    keep = torch.rand(3, 2, 3, dtype=torch.float64)

    def f(x, h0, w_ih, w_hh, b):
        def step(x_t, s):
            return (gru_step(x_t, s[0], w_ih, w_hh, b, None),)

        out, (h,) = reference_loop(step, x, (h0,), lengths=lengths, reverse=True, keep=(keep,))
        return out, h

    assert gradcheck(f, (rand(3, 2, 2), rand(2, 3), w_ih, w_hh, b))


def test_reference_loop_gradients_match_manual_loop(close, grads):
    step, weights = _lstm_stepper()
    x, s0 = rand(T, B, D), (rand(B, H), rand(B, H))
    leaves = [x, *s0, *weights]
    out, (h, c) = reference_loop(step, x, s0)
    (out.square().sum() + h.sum() + c.sum()).backward()
    g_ref = grads(leaves)
    out, (h, c) = _manual(step, x, s0)
    (out.square().sum() + h.sum() + c.sum()).backward()
    close(g_ref, grads(leaves))
