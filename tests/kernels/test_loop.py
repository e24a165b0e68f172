"""rnnkit.kernels.loop against naive step-by-step autograd references.

The references below are written independently of the kernels: plain autograd, one step at a
time, layer norm spelled out by hand (mean / biased variance), keep as ``k*h_prev + (1-k)*h_new``.
"""

import itertools

import pytest
import torch

from rnnkit.kernels import fused
from rnnkit.kernels import loop as loop_mod
from rnnkit.kernels.loop import gru_loop, lstm_loop, rnn_loop

F64 = torch.float64
TOL64 = dict(rtol=1e-10, atol=1e-10)
TOL32 = dict(rtol=1e-4, atol=1e-5)
_CHUNK_LEN = loop_mod._chunk_len  # the real policy (the fixture below patches it)


def _set_chunking(param, monkeypatch):
    if param != "default":
        L = int(param[len("chunk") :])
        monkeypatch.setattr(loop_mod, "_chunk_len", lambda T, B, H, device: min(T, L))
    return param


@pytest.fixture(params=["default", "chunk1", "chunk4"])
def chunking(request, monkeypatch):
    """The backward computes its vectorised factors in time chunks: of the default length (at
    these tiny sizes the whole sequence, as on CUDA), of 1 step, and of 4 steps (ragged for
    T = 5, 6, 7)."""
    return _set_chunking(request.param, monkeypatch)


@pytest.fixture(params=["default", "chunk1"])
def chunking_small(request, monkeypatch):
    """As ``chunking``, for tests with T <= 4."""
    return _set_chunking(request.param, monkeypatch)


def _set_impl(param, monkeypatch):
    """``fused``: the LSTM loop's compiled step kernels (rnnkit.kernels.fused); otherwise the
    torch-op version of the LSTM step, with the chunking ``param`` (GRU / RNN always run torch
    ops, so tests mixing kinds see them under every param)."""
    if param == "fused":
        if not fused.enabled():
            pytest.skip(f"compiled kernels unavailable: {fused.status()}")
        return param
    monkeypatch.setattr(fused, "lstm_kernels", lambda x: None)
    return _set_chunking(param, monkeypatch)


@pytest.fixture(params=["fused", "default", "chunk1", "chunk4"])
def impl(request, monkeypatch):
    """Both implementations of the LSTM step, the torch-op one in every chunking."""
    return _set_impl(request.param, monkeypatch)


@pytest.fixture(params=["fused", "default", "chunk1"])
def impl_small(request, monkeypatch):
    """As ``impl``, for tests with T <= 4."""
    return _set_impl(request.param, monkeypatch)


# ----------------------------------------------------------------------------------------------
# naive references
# ----------------------------------------------------------------------------------------------
def _ln(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    out = (x - mean) / torch.sqrt(var + eps)
    if w is not None:
        out = out * w
    if b is not None:
        out = out + b
    return out


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def ref_lstm(xg, h0, c0, w_hh, rec_mask=None, keep_h=None, keep_c=None, valid=None,
             reverse=False, ln_hh=None, ln_c=None, ln_x=None, eps=1e-5):  # fmt: skip
    T = xg.shape[0]
    h, c = h0, c0
    ys = [None] * T
    for t in _steps(T, reverse):
        hin = h * rec_mask if rec_mask is not None else h
        a = hin @ w_hh.T
        if ln_hh is not None:
            a = _ln(a, ln_hh[0], ln_hh[1], eps)
        gates = (_ln(xg[t], ln_x[0], ln_x[1], eps) if ln_x is not None else xg[t]) + a
        gi, gf, gg, go = gates.chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(gi), torch.sigmoid(gf), torch.tanh(gg), torch.sigmoid(go)
        c_new = f * c + i * g
        cc = _ln(c_new, ln_c[0], ln_c[1], eps) if ln_c is not None else c_new
        h_new = o * torch.tanh(cc)
        h_t = keep_h[t] * h + (1 - keep_h[t]) * h_new if keep_h is not None else h_new
        c_t = keep_c[t] * c + (1 - keep_c[t]) * c_new if keep_c is not None else c_new
        ys[t] = h_t * valid[t] if valid is not None else h_t
        h, c = h_t, c_t
    return torch.stack(ys), h, c


def ref_gru(xg, h0, w_hh, b_hh, rec_mask=None, keep_h=None, valid=None, reverse=False,
            ln_hh=None, eps=1e-5):  # fmt: skip
    T = xg.shape[0]
    h = h0
    ys = [None] * T
    for t in _steps(T, reverse):
        hin = h * rec_mask if rec_mask is not None else h
        a = hin @ w_hh.T
        if ln_hh is not None:
            a = _ln(a, ln_hh[0], ln_hh[1], eps)
        gh = a + b_hh if b_hh is not None else a
        xr, xz, xn = xg[t].chunk(3, dim=-1)
        hr, hz, hn = gh.chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h_new = (1 - z) * n + z * h
        h_t = keep_h[t] * h + (1 - keep_h[t]) * h_new if keep_h is not None else h_new
        ys[t] = h_t * valid[t] if valid is not None else h_t
        h = h_t
    return torch.stack(ys), h


def ref_rnn(xg, h0, w_hh, nonlinearity="tanh", rec_mask=None, keep_h=None, valid=None,
            reverse=False):  # fmt: skip
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    T = xg.shape[0]
    h = h0
    ys = [None] * T
    for t in _steps(T, reverse):
        hin = h * rec_mask if rec_mask is not None else h
        h_new = act(xg[t] + hin @ w_hh.T)
        h_t = keep_h[t] * h + (1 - keep_h[t]) * h_new if keep_h is not None else h_new
        ys[t] = h_t * valid[t] if valid is not None else h_t
        h = h_t
    return torch.stack(ys), h


# ----------------------------------------------------------------------------------------------
# problem generation
# ----------------------------------------------------------------------------------------------
def _consts(gen, T, B, H, dtype, mask, keep, valid, two_keeps=False):
    """rec_mask (B,H), keep_h[, keep_c] (T,B,H), valid (T,B,1) -- or None."""
    rec_mask = None
    if mask:
        rec_mask = (torch.rand(B, H, generator=gen, dtype=F64) > 0.3).to(F64) / 0.7
    lengths = None
    valid_t = None
    if valid:
        lengths = torch.randint(1, T + 1, (B,), generator=gen)
        lengths[0] = T  # always include a full-length sequence
        lengths[-1] = 1 if B > 2 else lengths[-1]
        valid_t = (torch.arange(T)[:, None] < lengths[None, :]).to(F64).unsqueeze(-1)

    def one_keep():
        if keep == "off":
            return None
        if keep == "01":
            k = (torch.rand(T, B, H, generator=gen, dtype=F64) < 0.3).to(F64)
        else:  # fractional, e.g. zoneout at eval / arbitrary
            k = torch.rand(T, B, H, generator=gen, dtype=F64)
        if valid_t is not None:  # padded steps carry the state exactly
            k = torch.where(valid_t.bool(), k, torch.ones_like(k))
        return k

    keeps = [one_keep()]
    if two_keeps:
        keeps.append(one_keep())
    conv = [None if x is None else x.to(dtype) for x in (rec_mask, *keeps, valid_t)]
    return conv


def _rand(gen, *shape, dtype, scale=1.0):
    return (torch.randn(*shape, generator=gen, dtype=F64) * scale).to(dtype).requires_grad_()


def _compare(out, ref, inputs, gen, tol, names):
    """Forward values and gradients of all ``inputs`` under a random upstream gradient."""
    assert len(out) == len(ref)
    for k, (a, b) in enumerate(zip(out, ref)):
        assert a.shape == b.shape, f"output {k} shape"
        torch.testing.assert_close(a, b, **tol, msg=lambda m, k=k: f"output {k}: {m}")
    ups = [torch.randn(o.shape, generator=gen, dtype=F64).to(o.dtype) for o in out]
    g_out = torch.autograd.grad(out, inputs, ups)
    g_ref = torch.autograd.grad(ref, inputs, ups)
    for name, a, b in zip(names, g_out, g_ref):
        assert b.abs().max() > 0, f"reference grad of {name} is identically zero"
        torch.testing.assert_close(a, b, **tol, msg=lambda m, name=name: f"grad {name}: {m}")


LN_LSTM = ["none", "hh", "c", "both", "x", "all"]  # "all": hh, c and x
COMBOS = list(itertools.product([False, True], ["off", "01", "frac"], [False, True],
                                [False, True]))  # mask, keep, valid, reverse  # fmt: skip


def _lstm_case(seed, T, B, H, dtype, mask, keep, valid, reverse, ln):
    gen = torch.Generator().manual_seed(seed)
    xg = _rand(gen, T, B, 4 * H, dtype=dtype)
    h0 = _rand(gen, B, H, dtype=dtype)
    c0 = _rand(gen, B, H, dtype=dtype)
    w = _rand(gen, 4 * H, H, dtype=dtype, scale=0.5)
    inputs, names = [xg, h0, c0, w], ["xg", "h0", "c0", "w_hh"]
    ln_hh = ln_c = ln_x = None
    if ln in ("hh", "both", "all"):
        ln_hh = (_rand(gen, 4 * H, dtype=dtype, scale=0.3), _rand(gen, 4 * H, dtype=dtype))
        with torch.no_grad():
            ln_hh[0].add_(1.0)
        inputs += list(ln_hh)
        names += ["ln_hh.w", "ln_hh.b"]
    if ln in ("c", "both", "all"):
        ln_c = (_rand(gen, H, dtype=dtype, scale=0.3), _rand(gen, H, dtype=dtype))
        with torch.no_grad():
            ln_c[0].add_(1.0)
        inputs += list(ln_c)
        names += ["ln_c.w", "ln_c.b"]
    if ln in ("x", "all"):
        ln_x = (_rand(gen, 4 * H, dtype=dtype, scale=0.3), _rand(gen, 4 * H, dtype=dtype))
        with torch.no_grad():
            ln_x[0].add_(1.0)
        inputs += list(ln_x)
        names += ["ln_x.w", "ln_x.b"]
    rec_mask, keep_h, keep_c, valid_t = _consts(gen, T, B, H, dtype, mask, keep, valid, True)
    kw = dict(rec_mask=rec_mask, keep_h=keep_h, keep_c=keep_c, valid=valid_t, reverse=reverse,
              ln_hh=ln_hh, ln_c=ln_c, ln_x=ln_x)  # fmt: skip
    return gen, (xg, h0, c0, w), kw, inputs, names


@pytest.mark.parametrize("ln", LN_LSTM)
@pytest.mark.parametrize("mask,keep,valid,reverse", COMBOS)
def test_lstm_matches_reference_f64(mask, keep, valid, reverse, ln, impl):
    gen, args, kw, inputs, names = _lstm_case(1, 6, 4, 5, F64, mask, keep, valid, reverse, ln)
    out = lstm_loop(*args, **kw)
    ref = ref_lstm(*args, **kw)
    _compare(out, ref, inputs, gen, TOL64, names)


def _gru_case(seed, T, B, H, dtype, mask, keep, valid, reverse, ln, bias=True):
    gen = torch.Generator().manual_seed(seed)
    xg = _rand(gen, T, B, 3 * H, dtype=dtype)
    h0 = _rand(gen, B, H, dtype=dtype)
    w = _rand(gen, 3 * H, H, dtype=dtype, scale=0.5)
    b = _rand(gen, 3 * H, dtype=dtype) if bias else None
    inputs, names = [xg, h0, w], ["xg", "h0", "w_hh"]
    if bias:
        inputs.append(b)
        names.append("b_hh")
    ln_hh = None
    if ln:
        ln_hh = (_rand(gen, 3 * H, dtype=dtype, scale=0.3), _rand(gen, 3 * H, dtype=dtype))
        with torch.no_grad():
            ln_hh[0].add_(1.0)
        inputs += list(ln_hh)
        names += ["ln_hh.w", "ln_hh.b"]
    rec_mask, keep_h, valid_t = _consts(gen, T, B, H, dtype, mask, keep, valid)
    kw = dict(rec_mask=rec_mask, keep_h=keep_h, valid=valid_t, reverse=reverse, ln_hh=ln_hh)
    return gen, (xg, h0, w, b), kw, inputs, names


@pytest.mark.parametrize("ln", [False, True])
@pytest.mark.parametrize("mask,keep,valid,reverse", COMBOS)
def test_gru_matches_reference_f64(mask, keep, valid, reverse, ln, chunking):
    gen, args, kw, inputs, names = _gru_case(2, 6, 4, 5, F64, mask, keep, valid, reverse, ln)
    out = gru_loop(*args, **kw)
    ref = ref_gru(*args, **kw)
    _compare(out, ref, inputs, gen, TOL64, names)


@pytest.mark.parametrize("ln", [False, True])
def test_gru_without_bias(ln, chunking):
    gen, args, kw, inputs, names = _gru_case(3, 5, 3, 4, F64, True, "frac", True, False, ln,
                                             bias=False)  # fmt: skip
    out = gru_loop(*args, **kw)
    ref = ref_gru(*args, **kw)
    _compare(out, ref, inputs, gen, TOL64, names)


def _rnn_case(seed, T, B, H, dtype, mask, keep, valid, reverse):
    gen = torch.Generator().manual_seed(seed)
    xg = _rand(gen, T, B, H, dtype=dtype)
    h0 = _rand(gen, B, H, dtype=dtype)
    w = _rand(gen, H, H, dtype=dtype, scale=0.5)
    rec_mask, keep_h, valid_t = _consts(gen, T, B, H, dtype, mask, keep, valid)
    kw = dict(rec_mask=rec_mask, keep_h=keep_h, valid=valid_t, reverse=reverse)
    return gen, (xg, h0, w), kw, [xg, h0, w], ["xg", "h0", "w_hh"]


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("mask,keep,valid,reverse", COMBOS)
def test_rnn_matches_reference_f64(mask, keep, valid, reverse, nonlinearity, chunking):
    gen, args, kw, inputs, names = _rnn_case(4, 6, 4, 5, F64, mask, keep, valid, reverse)
    out = rnn_loop(*args, nonlinearity=nonlinearity, **kw)
    ref = ref_rnn(*args, nonlinearity=nonlinearity, **kw)
    _compare(out, ref, inputs, gen, TOL64, names)


# ----------------------------------------------------------------------------------------------
# edge cases: T=1, partial requires_grad, unused outputs, constants get no grad
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reverse", [False, True])
def test_single_step(reverse):
    gen, args, kw, inputs, names = _lstm_case(5, 1, 3, 4, F64, True, "frac", True, reverse,
                                              "all")  # fmt: skip
    _compare(lstm_loop(*args, **kw), ref_lstm(*args, **kw), inputs, gen, TOL64, names)
    gen, args, kw, inputs, names = _gru_case(5, 1, 3, 4, F64, True, "frac", True, reverse, True)
    _compare(gru_loop(*args, **kw), ref_gru(*args, **kw), inputs, gen, TOL64, names)
    gen, args, kw, inputs, names = _rnn_case(5, 1, 3, 4, F64, True, "frac", True, reverse)
    _compare(rnn_loop(*args, **kw), ref_rnn(*args, **kw), inputs, gen, TOL64, names)


@pytest.mark.parametrize("which", ["xg", "w_hh", "h0"])
def test_partial_requires_grad(which, impl):
    """Only one input needs a gradient (exercises the needs_input_grad skips)."""
    for kind in ("lstm", "gru", "rnn"):
        if kind == "lstm":
            gen, args, kw, inputs, names = _lstm_case(6, 5, 3, 4, F64, True, "01", True, False,
                                                      "all")  # fmt: skip
            fn, rf = lstm_loop, ref_lstm
        elif kind == "gru":
            gen, args, kw, inputs, names = _gru_case(6, 5, 3, 4, F64, True, "01", True, False,
                                                     True)  # fmt: skip
            fn, rf = gru_loop, ref_gru
        else:
            gen, args, kw, inputs, names = _rnn_case(6, 5, 3, 4, F64, True, "01", True, False)
            fn, rf = rnn_loop, ref_rnn
        keep = inputs[names.index(which)]
        for p in inputs:
            if p is not keep:
                p.requires_grad_(False)
        _compare(fn(*args, **kw), rf(*args, **kw), [keep], gen, TOL64, [which])


def test_only_y_used_and_only_state_used(impl):
    gen, args, kw, inputs, _ = _lstm_case(7, 5, 3, 4, F64, False, "frac", True, True, "hh")
    y, _, _ = lstm_loop(*args, **kw)
    yr, _, _ = ref_lstm(*args, **kw)
    up = torch.randn(y.shape, generator=gen, dtype=F64)
    for a, b in zip(torch.autograd.grad(y, inputs, up), torch.autograd.grad(yr, inputs, up)):
        torch.testing.assert_close(a, b, **TOL64)
    _, h, c = lstm_loop(*args, **kw)
    _, hr, cr = ref_lstm(*args, **kw)
    for a, b in zip(torch.autograd.grad(c.sum(), inputs), torch.autograd.grad(cr.sum(), inputs)):
        torch.testing.assert_close(a, b, **TOL64)
    gen, args, kw, inputs, _names = _gru_case(7, 5, 3, 4, F64, True, "off", False, False, False)
    _, h = gru_loop(*args, **kw)
    _, hr = ref_gru(*args, **kw)
    for a, b in zip(torch.autograd.grad(h.sum(), inputs), torch.autograd.grad(hr.sum(), inputs)):
        torch.testing.assert_close(a, b, **TOL64)


def test_constants_get_no_grad():
    _gen, args, kw, inputs, _names = _lstm_case(8, 4, 3, 4, F64, True, "frac", True, False, "none")
    for k in ("rec_mask", "keep_h", "keep_c", "valid"):
        kw[k] = kw[k].clone().requires_grad_()
    y, h, c = lstm_loop(*args, **kw)
    (y.sum() + h.sum() + c.sum()).backward()
    for k in ("rec_mask", "keep_h", "keep_c", "valid"):
        assert kw[k].grad is None, k
    assert all(p.grad is not None for p in inputs)


def test_inputs_not_modified_and_outputs_fresh():
    _gen, args, kw, _inputs, _names = _lstm_case(9, 4, 3, 4, F64, True, "01", False, False, "both")
    before = [a.detach().clone() for a in args]
    y, h, _c = lstm_loop(*args, **kw)
    for a, b in zip(args, before):
        assert torch.equal(a.detach(), b)
    # final states are separate tensors (in-place use by callers must not corrupt y)
    assert h.data_ptr() != y.data_ptr() and not h._is_view()
    torch.testing.assert_close(h, y[-1], rtol=0, atol=0)


@pytest.mark.parametrize("ln", ["none", "both", "all"])
def test_consume_xg_reuses_its_memory_and_changes_nothing_else(ln, impl):
    _gen, (xg, h0, c0, w), kw, _inputs, _names = _lstm_case(3, 5, 3, 4, F64, True, "01", True,
                                                           False, ln)  # fmt: skip
    g = torch.randn(5, 3, 4, dtype=F64)
    results = []
    for consume in (False, True):
        src = xg.detach().clone().requires_grad_(True)
        fresh = src * 1.0  # the layer's own projections
        y, h, c = lstm_loop(fresh, h0, c0, w, consume_xg=consume, **kw)
        grads = torch.autograd.grad((y * g).sum() + h.sum() + c.sum(), [src, h0, c0, w])
        results.append((y, h, c, *grads))
        # overwritten only if asked, and never under the input layer norm (its backward
        # needs the raw projections, so the gates get their own buffer)
        assert torch.equal(fresh.detach(), src.detach()) != (consume and ln != "all")
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_bad_shapes_raise():
    xg = torch.zeros(3, 2, 8, dtype=F64)
    h0 = torch.zeros(2, 2, dtype=F64)
    with pytest.raises(ValueError):
        lstm_loop(xg, h0, h0, torch.zeros(8, 3, dtype=F64))
    with pytest.raises(ValueError):
        gru_loop(xg, h0, torch.zeros(8, 2, dtype=F64), None)  # 8 not divisible by 3
    with pytest.raises(ValueError):
        rnn_loop(torch.zeros(3, 2, 2, dtype=F64), h0, torch.zeros(2, 2), nonlinearity="gelu")
    with pytest.raises(ValueError):
        rnn_loop(torch.zeros(0, 2, 2, dtype=F64), h0, torch.zeros(2, 2, dtype=F64))


# ----------------------------------------------------------------------------------------------
# float32 against the float64 reference
# ----------------------------------------------------------------------------------------------
def _to64(x):
    if isinstance(x, torch.Tensor):
        return x.detach().to(F64).requires_grad_(x.requires_grad)
    if isinstance(x, tuple):
        return tuple(_to64(v) for v in x)
    return x


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("reverse", [False, True])
def test_float32(kind, reverse, impl):
    T, B, H = 7, 4, 6
    if kind == "lstm":
        gen, args, kw, inputs, _ = _lstm_case(10, T, B, H, torch.float32, True, "frac", True,
                                              reverse, "all")  # fmt: skip
        fn, rf = lstm_loop, ref_lstm
    elif kind == "gru":
        gen, args, kw, inputs, _ = _gru_case(10, T, B, H, torch.float32, True, "frac", True,
                                             reverse, True)  # fmt: skip
        fn, rf = gru_loop, ref_gru
    else:
        gen, args, kw, inputs, _ = _rnn_case(10, T, B, H, torch.float32, True, "frac", True,
                                             reverse)  # fmt: skip
        nl = kind.split("_")[1]
        fn = lambda *a, **k: rnn_loop(*a, nonlinearity=nl, **k)  # noqa: E731
        rf = lambda *a, **k: ref_rnn(*a, nonlinearity=nl, **k)  # noqa: E731
    out = fn(*args, **kw)
    assert all(o.dtype == torch.float32 for o in out)
    ref, inputs64 = _ref64(rf, args, kw)
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b.to(torch.float32), **TOL32)
    ups = [torch.randn(o.shape, generator=gen, dtype=F64) for o in out]
    g32 = torch.autograd.grad(out, inputs, [u.float() for u in ups])
    g64 = torch.autograd.grad(ref, inputs64, ups)
    assert len(g32) == len(g64)
    for a, b in zip(g32, g64):
        torch.testing.assert_close(a, b.to(torch.float32), **TOL32)


# ----------------------------------------------------------------------------------------------
# gradcheck (float64, tiny sizes)
# ----------------------------------------------------------------------------------------------
GC = [
    (False, "off", False, False, "none"),
    (True, "frac", True, False, "both"),
    (True, "01", False, True, "hh"),
    (False, "frac", True, True, "c"),
    (True, "frac", True, True, "all"),
]


@pytest.mark.parametrize("mask,keep,valid,reverse,ln", GC)
def test_gradcheck_lstm(mask, keep, valid, reverse, ln, impl_small):
    _, _args, kw, inputs, _ = _lstm_case(11, 3, 2, 3, F64, mask, keep, valid, reverse, ln)
    present = [n for n in ("ln_hh", "ln_c", "ln_x") if kw[n] is not None]  # _lstm_case order

    def f(xg, h0, c0, w, *ln):
        k = dict(kw)
        for j, n in enumerate(present):
            k[n] = tuple(ln[2 * j : 2 * j + 2])
        return lstm_loop(xg, h0, c0, w, **k)

    assert torch.autograd.gradcheck(f, tuple(inputs))


@pytest.mark.parametrize("mask,keep,valid,reverse,ln", GC)
def test_gradcheck_gru(mask, keep, valid, reverse, ln, chunking_small):
    ln = ln in ("hh", "both")
    _, _args, kw, inputs, _ = _gru_case(12, 3, 2, 3, F64, mask, keep, valid, reverse, ln)

    def f(xg, h0, w, b, *lnp):
        k = dict(kw)
        if lnp:
            k["ln_hh"] = tuple(lnp)
        return gru_loop(xg, h0, w, b, **k)

    assert torch.autograd.gradcheck(f, tuple(inputs))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("mask,keep,valid,reverse,ln", GC)
def test_gradcheck_rnn(mask, keep, valid, reverse, ln, nonlinearity, chunking_small):
    _, _args, kw, inputs, _ = _rnn_case(13, 3, 2, 3, F64, mask, keep, valid, reverse)
    assert torch.autograd.gradcheck(
        lambda xg, h0, w: rnn_loop(xg, h0, w, nonlinearity=nonlinearity, **kw), tuple(inputs)
    )


# ----------------------------------------------------------------------------------------------
# other execution paths
# ----------------------------------------------------------------------------------------------
def _all_cases(dtype=F64):
    """One demanding configuration per kind (everything on), both directions."""
    for reverse in (False, True):
        gen, args, kw, inputs, names = _lstm_case(20, 5, 3, 4, dtype, True, "frac", True,
                                                  reverse, "all")  # fmt: skip
        yield "lstm", lstm_loop, ref_lstm, gen, args, kw, inputs, names
        gen, args, kw, inputs, names = _gru_case(20, 5, 3, 4, dtype, True, "frac", True,
                                                 reverse, True)  # fmt: skip
        yield "gru", gru_loop, ref_gru, gen, args, kw, inputs, names
        for nl in ("tanh", "relu"):
            gen, args, kw, inputs, names = _rnn_case(20, 5, 3, 4, dtype, True, "frac", True,
                                                     reverse)  # fmt: skip
            kw = dict(kw, nonlinearity=nl)
            yield "rnn_" + nl, rnn_loop, ref_rnn, gen, args, kw, inputs, names


def test_no_grad_forward_is_identical(impl_small):
    """Without autograd nothing is stored (rolling work buffers); results must not change."""
    for _, fn, _, _, args, kw, _, _ in _all_cases():
        with_grad = fn(*args, **kw)
        assert with_grad[0].requires_grad
        with torch.no_grad():
            without = fn(*args, **kw)
        detached = fn(*[a.detach() if isinstance(a, torch.Tensor) else a for a in args],
                      **{k: (tuple(p.detach() for p in v) if isinstance(v, tuple) else v)
                         for k, v in kw.items()})  # fmt: skip
        for a, b, c in zip(with_grad, without, detached):
            assert not b.requires_grad and not c.requires_grad
            torch.testing.assert_close(b, a.detach(), rtol=0, atol=0)
            torch.testing.assert_close(c, a.detach(), rtol=0, atol=0)


def test_plain_tanh_path(monkeypatch, impl_small):
    """The CUDA code path evaluates tanh directly; check it on CPU too."""
    monkeypatch.setattr(loop_mod, "SIGMOID_TANH", False)
    for _, fn, rf, gen, args, kw, inputs, names in _all_cases():
        _compare(fn(*args, **kw), rf(*args, **kw), inputs, gen, TOL64, names)


def test_backward_twice_with_retain_graph(impl_small):
    for _, fn, _, gen, args, kw, inputs, _ in _all_cases():
        out = fn(*args, **kw)
        ups = [torch.randn(o.shape, generator=gen, dtype=F64) for o in out]
        g1 = torch.autograd.grad(out, inputs, ups, retain_graph=True)
        g2 = torch.autograd.grad(out, inputs, ups)
        for a, b in zip(g1, g2):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_separate_grad_tensors_for_shared_bias_grads():
    _gen, args, kw, inputs, names = _gru_case(21, 4, 2, 3, F64, False, "off", False, False, True)
    y, h = gru_loop(*args, **kw)
    (y.sum() + h.sum()).backward()
    b_hh, ln_b = inputs[names.index("b_hh")], inputs[names.index("ln_hh.b")]
    torch.testing.assert_close(b_hh.grad, ln_b.grad, rtol=0, atol=0)
    assert b_hh.grad.data_ptr() != ln_b.grad.data_ptr()


def _ref64(rf, args, kw):
    """The naive reference on float64 CPU copies; returns (outputs, inputs needing grad)."""
    args64 = [_to64(a) for a in args]
    kw64 = {k: _to64(v) for k, v in kw.items()}
    inputs64 = [a for a in args64 if isinstance(a, torch.Tensor) and a.requires_grad]
    for v in kw64.values():
        if isinstance(v, tuple):
            inputs64 += list(v)
    return rf(*args64, **kw64), inputs64


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [F64, torch.float32])
def test_cuda_matches_reference(dtype):
    tol = TOL64 if dtype == F64 else TOL32

    def cuda(x):
        if isinstance(x, torch.Tensor):
            return x.detach().cuda().requires_grad_(x.requires_grad)
        if isinstance(x, tuple):
            return tuple(cuda(v) for v in x)
        return x

    for kind, fn, rf, gen, args, kw, _, _ in _all_cases(dtype):
        args_c = [cuda(a) for a in args]
        kw_c = {k: cuda(v) for k, v in kw.items()}
        inputs_c = [a for a in args_c if isinstance(a, torch.Tensor) and a.requires_grad]
        for v in kw_c.values():
            if isinstance(v, tuple):
                inputs_c += list(v)
        out = fn(*args_c, **kw_c)
        ref, inputs64 = _ref64(rf, args, kw)
        for a, b in zip(out, ref):
            assert a.is_cuda and a.dtype == dtype, kind
            torch.testing.assert_close(a.cpu().to(F64), b.detach(), **tol)
        ups = [torch.randn(o.shape, generator=gen, dtype=F64) for o in out]
        g = torch.autograd.grad(out, inputs_c, [u.to(dtype).cuda() for u in ups])
        g64 = torch.autograd.grad(ref, inputs64, ups)
        assert len(g) == len(g64)
        for a, b in zip(g, g64):
            torch.testing.assert_close(a.cpu().to(F64), b, **tol)


def test_chunk_len_policy():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    n = loop_mod.CPU_CHUNK_ELEMS
    assert _CHUNK_LEN(100, 32, 256, cpu) == max(1, min(100, n // (32 * 256)))
    assert _CHUNK_LEN(100, 512, 1024, cpu) == 1
    assert _CHUNK_LEN(3, 2, 3, cpu) == 3
    assert _CHUNK_LEN(100, 32, 256, cuda) == 100
