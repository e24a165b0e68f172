"""Hand-written time loops for recurrent cells that torch cannot fuse.

The three public functions, :func:`lstm_loop`, :func:`gru_loop` and :func:`rnn_loop`, run the
recurrent part of an LSTM / GRU / Elman RNN layer over a whole sequence.  They exist for the
variants that cuDNN / oneDNN do not provide -- layer norm inside the cell, recurrent (variational)
dropout on the hidden state, zoneout, variable-length sequences -- and are written as
``torch.autograd.Function`` s with a hand-fused backward pass.

Conventions (shared by all three functions)
-------------------------------------------
Time-major shapes: ``xg (T, B, G*H)`` with G = 4 (LSTM, gates i, f, g, o), 3 (GRU, gates r, z, n)
or 1 (RNN); ``h0, c0 (B, H)``; ``w_hh (G*H, H)`` in ``torch.nn`` layout.  The input projections
(``x @ w_ih.T + biases``) are *not* computed here: they arrive precomputed for all steps as ``xg``.

Per step t (t = 0..T-1, or T-1..0 when ``reverse=True``; tensors are indexed by t either way;
``h_prev`` is the state of the previous step in processing order, starting at ``h0``):

* ``hin = h_prev * rec_mask`` (recurrent dropout; ``rec_mask (B, H)`` is constant over time);
* ``a = hin @ w_hh.T``, optionally ``a = layer_norm(a; ln_hh)`` over the last dim (size G*H);
* the cell update (see each function) gives ``h_new`` (and ``c_new``);
* ``h_t = keep_h[t] * h_prev + (1 - keep_h[t]) * h_new`` (zoneout / variable length; keep = 1
  on padded steps), likewise ``c_t`` with ``keep_c``;
* ``y[t] = h_t * valid[t]``; the returned final state is the state after the last processed step.

``rec_mask``, ``keep_h``, ``keep_c`` and ``valid`` are constants: no gradient flows to them.
Gradients flow to ``xg``, ``h0``, ``c0``, ``w_hh``, ``b_hh`` and the layer-norm weights/biases.
Double backward is not supported.

Performance notes
-----------------
* On CPU (float32 / float64) the LSTM step's elementwise work runs as one call to compiled C
  kernels, forward and backward (:mod:`rnnkit.kernels.fused`; ``_lstm_fwd_fused`` and
  ``_lstm_bwd_fused`` below); the notes that follow describe the torch-op version, which runs
  everywhere else and is what the kernels are tested against.
* Every step is a handful of torch ops writing into preallocated buffers (``out=`` into views,
  in-place ops); the only per-step allocations are the layer norms' results. The LSTM keeps
  those as the ops return them (statistics and gradients in per-step lists, stacked once
  after the loop), since the ``out=`` overloads of ``native_layer_norm(_backward)`` copy
  every result: ~6% of a layer-norm LSTM's forward+backward at (64, 128, 512).
* The recurrent weight gradient is one big matmul after the backward loop,
  ``dW_hh = dA.reshape(T*B, G*H).T @ Hin.reshape(T*B, H)`` (plus a rank-B update for the step
  that started from ``h0`` when there is no recurrent mask, which saves copying ``Hin``);
  bias and layer-norm parameter gradients are reductions over all steps.
* Activation derivatives and other factors that do not depend on the recurrence are computed
  vectorised *before* the steps that use them, in time chunks written into one reused
  workspace: on CUDA the chunk is the whole sequence (fewest kernel launches); on CPU it is a
  few steps so the workspace stays in cache.  (Fresh multi-megabyte temporaries cost more in page
  faults and memory traffic than the handful of extra small ops; see ``CPU_CHUNK_ELEMS``.)
* On CPU ``tanh(x)`` is evaluated as ``2*sigmoid(2x) - 1``, which is about three times cheaper
  with torch's CPU kernels (``SIGMOID_TANH``); the LSTM then needs one sigmoid over all four
  gates.  On CUDA plain ``tanh`` is used (fewer launches).
* Under ``torch.no_grad()`` (or when nothing requires grad) nothing is stored for backward: the
  per-step work buffers are reused.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from . import fused as _fused

__all__ = ["gru_loop", "lstm_loop", "rnn_loop"]

#: CPU backward workspace size: a chunk holds about this many ``B*H`` elements per factor slab.
CPU_CHUNK_ELEMS = 1 << 16
#: On CPU compute ``tanh(x)`` as ``2*sigmoid(2x) - 1`` (faster with torch's CPU kernels).
SIGMOID_TANH = True

_ln_fwd_out = torch.ops.aten.native_layer_norm.out
_ln_bwd_out = torch.ops.aten.native_layer_norm_backward.out
_ln_bwd = torch.ops.aten.native_layer_norm_backward.default
# Layer-norm backward computes all three outputs; the per-step gain/bias gradients are summed
# over time afterwards (cheaper than re-deriving x_hat for the whole sequence). The GRU loop
# still writes them through the copying out= overload; the LSTM loop keeps what `_ln_bwd`
# returns.
_LN_ALL = [True, True, True]


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _chunk_len(T: int, B: int, H: int, device: torch.device) -> int:
    if device.type != "cpu":
        return T
    return max(1, min(T, CPU_CHUNK_ELEMS // max(1, B * H)))


def _sig_tanh(device: torch.device) -> bool:
    return SIGMOID_TANH and device.type == "cpu"


def _consts(kw):
    """0-dim 1 and 2 (python-scalar operands cost a conversion per op on CPU)."""
    return torch.ones((), **kw), torch.full((), 2.0, **kw)


def _tanh_(x: torch.Tensor, via_sigmoid: bool, one, two) -> torch.Tensor:
    """In-place tanh, optionally as 2*sigmoid(2x) - 1."""
    if via_sigmoid:
        return torch.add(x, x, out=x).sigmoid_().mul_(two).sub_(one)
    return x.tanh_()


def _fed_back(h_prev, rec_mask, hin):
    """The state fed to the recurrent matmul: ``h_prev * rec_mask`` (written into ``hin``),
    or ``h_prev`` itself without recurrent dropout (``hin`` None)."""
    return h_prev if hin is None else torch.mul(h_prev, rec_mask, out=hin)


def _order(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


def _chunks(T: int, L: int, reverse: bool):
    """Time chunks ``[t0, t1)`` in *backward* order (the reverse of the processing order)."""
    if reverse:  # processed T-1 .. 0, so backward runs 0 .. T-1
        for t0 in range(0, T, L):
            yield t0, min(T, t0 + L)
    else:
        for t1 in range(T, 0, -L):
            yield max(0, t1 - L), t1


def _chunk_steps(t0: int, t1: int, reverse: bool) -> range:
    return range(t0, t1) if reverse else range(t1 - 1, t0 - 1, -1)


def _prev_pieces(S: torch.Tensor, s0: torch.Tensor, t0: int, t1: int, reverse: bool):
    """The states steps ``t0..t1-1`` started from, as ``(a, b, src)`` pieces: chunk rows
    ``[a, b)`` started from ``src`` (``S[t-1]``, or ``S[t+1]`` if reverse, or ``s0`` for the
    first processed step)."""
    n, T = t1 - t0, S.shape[0]
    if not reverse:
        if t0 == 0:
            pieces = [(0, 1, s0.unsqueeze(0))]
            if n > 1:
                pieces.append((1, n, S[: t1 - 1]))
            return pieces
        return [(0, n, S[t0 - 1 : t1 - 1])]
    if t1 == T:
        pieces = [(n - 1, n, s0.unsqueeze(0))]
        if n > 1:
            pieces.insert(0, (0, n - 1, S[t0 + 1 :]))
        return pieces
    return [(0, n, S[t0 + 1 : t1 + 1])]


def _weight_grad(dsrc, Hs, h0, rec_mask, reverse):
    """``sum_t dsrc[t].T @ hin[t]`` with ``hin[t]`` = the (masked) state step t started from."""
    T, B, GH = dsrc.shape
    H = Hs.shape[-1]
    if rec_mask is not None:
        hin = torch.empty_like(Hs)
        for a, b, src in _prev_pieces(Hs, h0, 0, T, reverse):
            torch.mul(src, rec_mask, out=hin[a:b])
        return dsrc.reshape(T * B, GH).t().mm(hin.reshape(T * B, H))
    first = T - 1 if reverse else 0
    if T == 1:
        return dsrc[0].t().mm(h0)
    if reverse:
        dw = dsrc[:-1].reshape(-1, GH).t().mm(Hs[1:].reshape(-1, H))
    else:
        dw = dsrc[1:].reshape(-1, GH).t().mm(Hs[:-1].reshape(-1, H))
    return dw.addmm_(dsrc[first].t(), h0)


def _next_dh(src, w, dy_t, mask, carry, dh, out, tmp):
    """``out = dy_t + mask * (src @ w) + carry * dh`` (terms dropped when None)."""
    if mask is None:
        if dy_t is None:
            torch.mm(src, w, out=out)
        else:
            torch.addmm(dy_t, src, w, out=out)
    else:
        torch.mm(src, w, out=tmp)
        if dy_t is None:
            torch.mul(tmp, mask, out=out)
        else:
            torch.addcmul(dy_t, tmp, mask, out=out)
    if carry is not None:
        out.addcmul_(carry, dh)
    return out


class _DH:
    """Two (B, H) buffers alternating as the running hidden-state gradient."""

    def __init__(self, B, H, kw, with_tmp):
        self.a = torch.empty(B, H, **kw)
        self.b = torch.empty(B, H, **kw)
        self.tmp = torch.empty(B, H, **kw) if with_tmp else None
        self.cur = None

    def first(self, dy_t, dhT):
        self.cur = torch.add(dy_t, dhT, out=self.a)
        return self.cur

    def step(self, src, w, dy_t, mask, carry):
        out = self.b if self.cur is self.a else self.a
        self.cur = _next_dh(src, w, dy_t, mask, carry, self.cur, out, self.tmp)
        return self.cur


def _buffers(shape_tail, T, store, kw, rolling=1):
    """A (T, *tail) buffer and its per-step views; when not storing, ``rolling`` reused slots."""
    buf = torch.empty(T if store else rolling, *shape_tail, **kw)
    return buf, _steps_of(buf, T)


def _steps_of(buf, T):
    """Per-step views of a (T, ...) buffer, or of a rolling (k, ...) one, as a length-T list."""
    views = buf.unbind(0)
    k = len(views)
    return views if k == T else [views[t % k] for t in range(T)]


def _prep_const(x, name, dtype, device):
    if x is None:
        return None
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a tensor or None")
    return x.detach().to(device=device, dtype=dtype).contiguous()


def _prep_ln(ln, name, size, dtype, device):
    if ln is None:
        return None, None
    if len(ln) != 2:
        raise ValueError(f"{name} must be a (weight, bias) pair")
    if ln[0] is None and ln[1] is None:
        raise ValueError(f"{name}: weight and bias are both None (pass {name}=None instead)")
    out = []
    for p in ln:
        if p is not None:
            if p.shape != (size,):
                raise ValueError(f"{name} parameters must have shape ({size},), "
                                 f"got {tuple(p.shape)}")  # fmt: skip
            p = p.to(device=device, dtype=dtype).contiguous()
        out.append(p)
    return out[0], out[1]


def _check_common(xg, h0, w_hh, G, name):
    if xg.dim() != 3:
        raise ValueError(f"{name}: xg must be (T, B, {G}*H), got {tuple(xg.shape)}")
    T, B, GH = xg.shape
    if T == 0:
        raise ValueError(f"{name}: empty sequence (T == 0)")
    if GH % G:
        raise ValueError(f"{name}: last dim of xg ({GH}) is not a multiple of {G}")
    H = GH // G
    if h0.shape != (B, H):
        raise ValueError(f"{name}: h0 must be ({B}, {H}), got {tuple(h0.shape)}")
    if w_hh.shape != (GH, H):
        raise ValueError(f"{name}: w_hh must be ({GH}, {H}), got {tuple(w_hh.shape)}")
    if not xg.is_floating_point():
        raise TypeError(f"{name}: xg must be a floating point tensor")
    return T, B, H


def _needs_backward(*tensors):
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


# ----------------------------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------------------------
class _LSTMLoop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xg, h0, c0, w_hh, lnw, lnb, lncw, lncb, lnxw, lnxb, rec_mask, keep_h,
                keep_c, valid, reverse, eps, store, consume, kern):  # fmt: skip
        ctx.kern = kern
        if kern is not None:
            return _lstm_fwd_fused(ctx, xg, h0, c0, w_hh, lnw, lnb, lncw, lncb, lnxw, lnxb,
                                   rec_mask, keep_h, keep_c, valid, reverse, eps, store,
                                   consume)  # fmt: skip
        T, B, G4 = xg.shape
        H = G4 // 4
        kw = dict(dtype=xg.dtype, device=xg.device)
        ln_hh = lnw is not None or lnb is not None
        ln_c = lncw is not None or lncb is not None
        sig_tanh = _sig_tanh(xg.device)

        if consume:  # the caller's own projections: the gates overwrite them in place
            G, Gl = xg, xg.unbind(0)
        else:
            G, Gl = _buffers((B, G4), T, store, kw)  # activated gates i, f, g, o
        C, Cl = _buffers((B, H), T, store, kw, rolling=2)  # cell states (after keep)
        TC, TCl = _buffers((B, H), T, store, kw)  # tanh(c_new) or tanh(LN(c_new))
        Hs = torch.empty(T, B, H, **kw)  # hidden states (after keep)
        Hl, Xl = Hs.unbind(0), xg.unbind(0)
        wT = w_hh.t()
        hin = torch.empty(B, H, **kw) if rec_mask is not None else None
        khl = keep_h.unbind(0) if keep_h is not None else None
        kcl = keep_c.unbind(0) if keep_c is not None else None
        one, two = _consts(kw)
        gil, gfl = _steps_of(G[:, :, :H], T), _steps_of(G[:, :, H : 2 * H], T)
        ggl, gol = _steps_of(G[:, :, 2 * H : 3 * H], T), _steps_of(G[:, :, 3 * H :], T)
        gifl = _steps_of(G[:, :, : 2 * H], T)
        if ln_hh:
            Ar, Arl = _buffers((B, G4), T, store, kw)
        # layer-norm statistics, (B, 1) per step, kept as the op returns them (no copies)
        mu_l, rsl, mucl, rscl = [None] * T, [None] * T, [None] * T, [None] * T

        h_prev, c_prev = h0, c0
        for t in _order(T, reverse):
            g = Gl[t]
            x = _fed_back(h_prev, rec_mask, hin)
            if ln_hh:
                torch.mm(x, wT, out=Arl[t])
                y_ln, mu_l[t], rsl[t] = torch.native_layer_norm(Arl[t], [G4], lnw, lnb, eps)
                if consume:
                    g.add_(y_ln)
                else:
                    torch.add(y_ln, Xl[t], out=g)
            elif consume:
                g.addmm_(x, wT)
            else:
                torch.addmm(Xl[t], x, wT, out=g)
            gi, gf, gg, go = gil[t], gfl[t], ggl[t], gol[t]
            if sig_tanh:  # one sigmoid for all gates, tanh(x) = 2 sigmoid(2x) - 1
                torch.add(gg, gg, out=gg)
                g.sigmoid_()
                gg.mul_(two).sub_(one)
            else:
                gifl[t].sigmoid_()
                gg.tanh_()
                go.sigmoid_()
            c = Cl[t]
            torch.mul(gf, c_prev, out=c)
            c.addcmul_(gi, gg)
            tc = TCl[t]
            if ln_c:
                y_ln, mucl[t], rscl[t] = torch.native_layer_norm(c, [H], lncw, lncb, eps)
                if sig_tanh:
                    torch.add(y_ln, y_ln, out=tc).sigmoid_().mul_(two).sub_(one)
                else:
                    torch.tanh(y_ln, out=tc)
            elif sig_tanh:
                torch.add(c, c, out=tc).sigmoid_().mul_(two).sub_(one)
            else:
                torch.tanh(c, out=tc)
            h = Hl[t]
            torch.mul(go, tc, out=h)
            if khl is not None:
                h.lerp_(h_prev, khl[t])
            if kcl is not None:
                c.lerp_(c_prev, kcl[t])
            h_prev, c_prev = h, c

        y = Hs if valid is None else Hs * valid
        if store:
            ctx.reverse, ctx.ln_hh, ctx.ln_c = reverse, ln_hh, ln_c
            ctx.ln_stats = (mu_l, rsl, mucl, rscl)  # plain tensors, nothing autograd tracks
            ctx.save_for_backward(
                h0, c0, w_hh, lnw, lncw, rec_mask, keep_h, keep_c, valid,
                G, C, TC, Hs if valid is not None else None,
                Ar if ln_hh else None, y if valid is None else None,
            )  # fmt: skip
        return y, h_prev.clone(), c_prev.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dhT, dcT):
        if ctx.kern is not None:
            return _lstm_bwd_fused(ctx, dy, dhT, dcT)
        (h0, c0, w_hh, lnw, lncw, rec_mask, keep_h, keep_c, valid,
         G, C, TC, Hs, Ar, y) = ctx.saved_tensors  # fmt: skip
        mu_l, rsl, mucl, rscl = ctx.ln_stats
        if Hs is None:
            Hs = y
        reverse, ln_hh, ln_c = ctx.reverse, ctx.ln_hh, ctx.ln_c
        needs = ctx.needs_input_grad
        T, B, G4 = G.shape
        H = G4 // 4
        kw = dict(dtype=G.dtype, device=G.device)
        L = _chunk_len(T, B, H, G.device)

        # ---- workspace for the per-chunk vectorised factors ----------------------------------
        # dA_o = dh * Ko ; dc_new = dh * Kc (+ carried) ; dA_{i,f,g} = dc_new * K3
        WS = torch.empty(L, B, 5 * H, **kw)  # [K3_i, K3_f, K3_g, Ko, Kc]
        K3i, K3f, K3g = WS[..., :H], WS[..., H : 2 * H], WS[..., 2 * H : 3 * H]
        K3if, Ko, Kc = WS[..., : 2 * H], WS[..., 3 * H : 4 * H], WS[..., 4 * H :]
        KoKc = WS[..., 3 * H :].view(L, B, 2, H)
        K3l, Kol, Kcl = WS[..., : 3 * H].view(L, B, 3, H).unbind(0), Ko.unbind(0), Kc.unbind(0)
        DY = torch.empty(L, B, H, **kw) if valid is not None else None
        DYl = DY.unbind(0) if DY is not None else dy.unbind(0)
        if ln_c:
            dcn_ln = torch.empty(B, H, **kw)  # grad wrt the LN_c output (before tanh')
            DGCw, DGCb = [None] * T, [None] * T  # per-step LN_c gain / bias grads
            zbc = torch.zeros_like(lncw)
            if keep_c is not None:  # LN_c saw the un-kept c_new: rebuild it per chunk
                CN = torch.empty(L, B, H, **kw)
                CNl = CN.unbind(0)
            else:
                CNl = C.unbind(0)
        if ln_hh:
            Arl = Ar.unbind(0)
            # grads wrt the LN_hh input (hin @ w_hh.T) and its gain / bias, per step as the
            # layer-norm backward returns them (its out= overload would copy each)
            dArl, DGw, DGb = [None] * T, [None] * T, [None] * T
            zb = torch.zeros_like(lnw)

        dA = torch.empty(T, B, G4, **kw)  # grad wrt gate pre-activations (== dxg)
        dAl = dA.unbind(0)
        dA_o = dA[:, :, 3 * H :].unbind(0)
        dA_ifg = dA.view(T, B, 4, H)[:, :, :3].unbind(0)
        Fl = G[:, :, H : 2 * H].unbind(0)
        khl = keep_h.unbind(0) if keep_h is not None else None
        kcl = keep_c.unbind(0) if keep_c is not None else None

        dh = _DH(B, H, kw, rec_mask is not None)
        dcn = torch.empty(B, H, **kw)
        u = torch.empty(B, H, **kw)  # grad wrt the (kept) cell state of the current step
        u.copy_(dcT)
        src_prev = carry_prev = None

        for t0, t1 in _chunks(T, L, reverse):
            n = t1 - t0
            g_ = G[t0:t1]
            i, f, gg, o = g_[..., :H], g_[..., H : 2 * H], g_[..., 2 * H : 3 * H], g_[..., 3 * H :]
            tc = TC[t0:t1]
            ko, kc = Ko[:n], Kc[:n]
            torch.mul(o, tc, out=ko)
            torch.addcmul(o, ko, tc, value=-1.0, out=kc)  # o (1 - tc^2)
            ko.addcmul_(ko, o, value=-1.0)  # tc o (1 - o)
            if keep_h is not None:
                KoKc[:n].addcmul_(KoKc[:n], keep_h[t0:t1].unsqueeze(2), value=-1.0)
            torch.mul(i, gg, out=K3i[:n])
            torch.addcmul(i, K3i[:n], gg, value=-1.0, out=K3g[:n])  # i (1 - g^2)
            for a, b, src in _prev_pieces(C, c0, t0, t1, reverse):
                torch.mul(f[a:b], src, out=K3f[a:b])
            if ln_c and keep_c is not None:
                torch.add(K3f[:n], K3i[:n], out=CN[:n])  # c_new = f c_prev + i g
            K3if[:n].addcmul_(K3if[:n], g_[..., : 2 * H], value=-1.0)  # [g i(1-i), c f(1-f)]
            if DY is not None:
                torch.mul(dy[t0:t1], valid[t0:t1], out=DY[:n])

            for t in _chunk_steps(t0, t1, reverse):
                j = t - t0
                dy_t = DYl[j] if DY is not None else DYl[t]
                if src_prev is None:
                    dht = dh.first(dy_t, dhT)
                else:
                    dht = dh.step(src_prev, w_hh, dy_t, rec_mask, carry_prev)
                torch.mul(dht, Kol[j], out=dA_o[t])
                if ln_c:
                    torch.mul(dht, Kcl[j], out=dcn_ln)
                    cn = CNl[j] if keep_c is not None else CNl[t]
                    d_ln, DGCw[t], DGCb[t] = _ln_bwd(dcn_ln, cn, [H], mucl[t], rscl[t], lncw,
                                                     zbc, _LN_ALL)  # fmt: skip
                    torch.add(d_ln, u, out=dcn)
                else:
                    torch.addcmul(u, dht, Kcl[j], out=dcn)
                if kcl is not None:
                    dcn.addcmul_(u, kcl[t], value=-1.0)  # (1 - keep_c) u
                torch.mul(dcn.unsqueeze(1), K3l[j], out=dA_ifg[t])
                if kcl is not None:
                    u.mul_(kcl[t]).addcmul_(dcn, Fl[t])
                else:
                    torch.mul(dcn, Fl[t], out=u)
                src = dAl[t]
                if ln_hh:
                    src, DGw[t], DGb[t] = _ln_bwd(src, Arl[t], [G4], mu_l[t], rsl[t], lnw, zb,
                                                  _LN_ALL)  # fmt: skip
                    dArl[t] = src
                src_prev = src
                carry_prev = khl[t] if khl is not None else None
        del WS

        dh0 = None
        if needs[1]:
            dh0 = _next_dh(src_prev, w_hh, None, rec_mask, carry_prev, dh.cur,
                           torch.empty(B, H, **kw), dh.tmp)  # fmt: skip

        # ---- parameter gradients, vectorised -------------------------------------------------
        dxg = dA if needs[0] else None
        dc0 = u if needs[2] else None
        dw = dlnw = dlnb = dlncw = dlncb = None
        if ln_hh:
            dlnw = torch.stack(DGw).sum(0) if needs[4] else None
            dlnb = torch.stack(DGb).sum(0) if needs[5] else None
            dsrc = torch.stack(dArl) if needs[3] else None
        else:
            dsrc = dA
        if needs[3]:
            dw = _weight_grad(dsrc, Hs, h0, rec_mask, reverse)
        if ln_c:
            dlncw = torch.stack(DGCw).sum(0) if needs[6] else None
            dlncb = torch.stack(DGCb).sum(0) if needs[7] else None
        return (dxg, dh0, dc0, dw, dlnw, dlnb, dlncw, dlncb, None, None,
                None, None, None, None, None, None, None, None, None)  # fmt: skip


def _addrs(buf, T):
    """Per-step addresses of a (T, ...) or rolling (k, ...) contiguous buffer (None: Nones)."""
    if buf is None:
        return [None] * T
    base, step = buf.data_ptr(), buf[0].numel() * buf.element_size()
    k = buf.shape[0]
    return [base + (t % k) * step for t in range(T)]


def _addr(x):
    return None if x is None else x.data_ptr()


def _prev_addrs(S, s0, T, reverse):
    """Address of the state each step started from: ``S[t-1]`` (``S[t+1]`` if reverse) or
    ``s0``; ``S`` may be rolling."""
    a = _addrs(S, T)
    first = T - 1 if reverse else 0
    return [s0.data_ptr() if t == first else a[t + 1 if reverse else t - 1] for t in range(T)]


def _lstm_fwd_fused(ctx, xg, h0, c0, w_hh, lnw, lnb, lncw, lncb, lnxw, lnxb, rec_mask,
                    keep_h, keep_c, valid, reverse, eps, store, consume):  # fmt: skip
    """_LSTMLoop.forward with each step's elementwise work in one compiled call
    (:mod:`rnnkit.kernels.fused`): same buffers and math, statistics in (T, B) tensors, and
    the input projections' layer norm (``ln_x``) done per step inside the kernel."""
    T, B, G4 = xg.shape
    H = G4 // 4
    kw = dict(dtype=xg.dtype, device=xg.device)
    ln_hh = lnw is not None or lnb is not None
    ln_c = lncw is not None or lncb is not None
    ln_x = lnxw is not None or lnxb is not None
    use_a = ln_hh or ln_x  # the recurrent product goes to its own buffer, the kernel adds
    in_place = consume and not (store and ln_x)  # backward needs the raw xg under ln_x
    G = xg if in_place else torch.empty(T if store else 1, B, G4, **kw)
    C = torch.empty(T if store else 2, B, H, **kw)
    TC = torch.empty(T if store else 1, B, H, **kw)
    Hs = torch.empty(T, B, H, **kw)
    Ar = torch.empty(T if store and ln_hh else 1, B, G4, **kw) if use_a else None

    def stats(on):
        return (torch.empty(T, B, **kw), torch.empty(T, B, **kw)) if store and on else (None,) * 2

    (MU, RS), (MUX, RSX), (MUC, RSC) = stats(ln_hh), stats(ln_x), stats(ln_c)
    Gl, Cl, Hl, Xl = _steps_of(G, T), _steps_of(C, T), Hs.unbind(0), xg.unbind(0)
    Arl = _steps_of(Ar, T) if use_a else None
    pg, pc, ptc, ph, px = _addrs(G, T), _addrs(C, T), _addrs(TC, T), _addrs(Hs, T), _addrs(xg, T)
    par, pkh, pkc = _addrs(Ar, T), _addrs(keep_h, T), _addrs(keep_c, T)
    pmu, prs, pmux, prsx = _addrs(MU, T), _addrs(RS, T), _addrs(MUX, T), _addrs(RSX, T)
    pmuc, prsc = _addrs(MUC, T), _addrs(RSC, T)
    pcp, php = _prev_addrs(C, c0, T, reverse), _prev_addrs(Hs, h0, T, reverse)
    plnw, plnb, plncw, plncb = _addr(lnw), _addr(lnb), _addr(lncw), _addr(lncb)
    plnxw, plnxb = _addr(lnxw), _addr(lnxb)
    wT = w_hh.t()
    hin = torch.empty(B, H, **kw) if rec_mask is not None else None
    fwd = ctx.kern.fwd
    i_hh, i_x, i_c = int(ln_hh), int(ln_x), int(ln_c)

    h_prev = h0
    for t in _order(T, reverse):
        x = _fed_back(h_prev, rec_mask, hin)
        if use_a:
            torch.mm(x, wT, out=Arl[t])
        elif in_place:
            Gl[t].addmm_(x, wT)
        else:
            torch.addmm(Xl[t], x, wT, out=Gl[t])
        fwd(B, H, eps, par[t], i_hh, plnw, plnb, px[t], i_x, plnxw, plnxb, pg[t],
            pcp[t], php[t], pkh[t], pkc[t], i_c, plncw, plncb, pc[t], ptc[t], ph[t],
            pmu[t], prs[t], pmux[t], prsx[t], pmuc[t], prsc[t])  # fmt: skip
        h_prev = Hl[t]
    c_last = Cl[T - 1 if not reverse else 0]

    y = Hs if valid is None else Hs * valid
    if store:
        ctx.reverse, ctx.ln_hh, ctx.ln_c, ctx.ln_x = reverse, ln_hh, ln_c, ln_x
        ctx.save_for_backward(
            h0, c0, w_hh, lnw, lncw, lnxw, rec_mask, keep_h, keep_c, valid,
            G, C, TC, Hs if valid is not None else None, Ar if ln_hh else None,
            xg if ln_x else None, MU, RS, MUX, RSX, MUC, RSC, y if valid is None else None,
        )  # fmt: skip
    return y, h_prev.clone(), c_last.clone()


def _lstm_bwd_fused(ctx, dy, dhT, dcT):
    (h0, c0, w_hh, lnw, lncw, lnxw, rec_mask, keep_h, keep_c, valid, G, C, TC, Hs, Ar, Xg,
     MU, RS, MUX, RSX, MUC, RSC, y) = ctx.saved_tensors  # fmt: skip
    if Hs is None:
        Hs = y
    reverse, ln_hh, ln_c, ln_x = ctx.reverse, ctx.ln_hh, ctx.ln_c, ctx.ln_x
    needs = ctx.needs_input_grad
    T, B, G4 = G.shape
    H = G4 // 4
    kw = dict(dtype=G.dtype, device=G.device)
    dy = dy.contiguous() if valid is None else dy * valid
    # dX: grad wrt xg (returned); dS: grad wrt hin @ w_hh.T (for the weight / state grads);
    # the raw gate gradient dA is one of them when a layer norm does not separate them
    dX = torch.empty(T, B, G4, **kw)
    dS = torch.empty(T, B, G4, **kw) if ln_hh or ln_x else dX
    dA = None if ln_hh and ln_x else (dS if ln_x else dX)

    def per_step(on, n):
        return (torch.empty(T, n, **kw), torch.empty(T, n, **kw)) if on else (None, None)

    (DGw, DGb), (DGxw, DGxb), (DGCw, DGCb) = (
        per_step(ln_hh, G4),
        per_step(ln_x, G4),
        per_step(ln_c, H),
    )
    work = torch.empty(6 * H, **kw)
    pg, ptc, pA, pAr = _addrs(G, T), _addrs(TC, T), _addrs(dA, T), _addrs(Ar, T)
    pdS, pdX, pX = _addrs(dS, T), _addrs(dX, T), _addrs(Xg, T)
    pkh, pkc = _addrs(keep_h, T), _addrs(keep_c, T)
    pmu, prs, pmux, prsx = _addrs(MU, T), _addrs(RS, T), _addrs(MUX, T), _addrs(RSX, T)
    pmuc, prsc = _addrs(MUC, T), _addrs(RSC, T)
    pgw, pgb, pgcw, pgcb = _addrs(DGw, T), _addrs(DGb, T), _addrs(DGCw, T), _addrs(DGCb, T)
    pgxw, pgxb = _addrs(DGxw, T), _addrs(DGxb, T)
    pcp = _prev_addrs(C, c0, T, reverse)
    plnw, plncw, plnxw, pwork = _addr(lnw), _addr(lncw), _addr(lnxw), work.data_ptr()
    dyl, srcl = dy.unbind(0), dS.unbind(0)
    khl = keep_h.unbind(0) if keep_h is not None else None
    bwd = ctx.kern.bwd
    i_c = int(ln_c)

    dh = _DH(B, H, kw, rec_mask is not None)
    u = dcT.contiguous().clone()  # grad wrt the (kept) cell state of the current step
    pu = u.data_ptr()
    src_prev = carry_prev = None
    for t in _order(T, not reverse):
        if src_prev is None:
            dht = dh.first(dyl[t], dhT)
        else:
            dht = dh.step(src_prev, w_hh, dyl[t], rec_mask, carry_prev)
        bwd(B, H, dht.data_ptr(), pu, pg[t], pcp[t], ptc[t], pkh[t], pkc[t], i_c, plncw,
            pmuc[t], prsc[t], pgcw[t], pgcb[t], pA[t], pAr[t], plnw, pmu[t], prs[t], pdS[t],
            pgw[t], pgb[t], pX[t], plnxw, pmux[t], prsx[t], pdX[t], pgxw[t], pgxb[t],
            pwork)  # fmt: skip
        src_prev = srcl[t]
        carry_prev = khl[t] if khl is not None else None

    dh0 = None
    if needs[1]:
        dh0 = _next_dh(src_prev, w_hh, None, rec_mask, carry_prev, dh.cur,
                       torch.empty(B, H, **kw), dh.tmp)  # fmt: skip
    dw = _weight_grad(dS, Hs, h0, rec_mask, reverse) if needs[3] else None

    def total(per_t, i):
        return per_t.sum(0) if needs[i] else None

    return (dX if needs[0] else None, dh0, u if needs[2] else None, dw,
            total(DGw, 4), total(DGb, 5), total(DGCw, 6), total(DGCb, 7), total(DGxw, 8),
            total(DGxb, 9), None, None, None, None, None, None, None, None, None)  # fmt: skip


def lstm_loop(xg, h0, c0, w_hh, *, rec_mask=None, keep_h=None, keep_c=None, valid=None,
              reverse=False, ln_hh=None, ln_c=None, ln_x=None, eps=1e-5,
              consume_xg=False):  # fmt: skip
    """LSTM recurrence over a whole sequence.

    Per step: ``gates = LN?(xg[t]; ln_x) + LN?(hin @ w_hh.T; ln_hh)``; ``i, f, g, o = σ, σ,
    tanh, σ`` of the four H-chunks; ``c_new = f*c_prev + i*g``; ``h_new = o * tanh(LN?(c_new;
    ln_c))``; then keep / valid as described in the module docstring (``c_t`` uses ``keep_c``;
    ``h_new`` uses the un-kept ``c_new``). Biases must already be in ``xg`` (or, with
    ``ln_x``, in its shift).

    On CPU, in float32 and float64, each step's elementwise work runs as one compiled call
    (:mod:`rnnkit.kernels.fused`) where the kernels could be built; otherwise as torch ops.
    Both give the same results (tested to 1e-10 in float64).

    Args:
        xg: ``(T, B, 4H)`` precomputed input projections (+ all biases).
        h0, c0: ``(B, H)`` initial states.
        w_hh: ``(4H, H)`` recurrent weight.
        rec_mask: ``(B, H)`` recurrent dropout mask (already scaled), or None.
        keep_h, keep_c: ``(T, B, H)`` keep weights in [0, 1] (zoneout / padding), or None.
        valid: ``(T, B, 1)`` output mask, or None.
        reverse: process t = T-1 .. 0.
        ln_hh: ``(weight, bias)`` each ``(4H,)`` for layer norm of ``hin @ w_hh.T``, or None.
        ln_c: ``(weight, bias)`` each ``(H,)`` for layer norm of the cell before tanh, or None.
        ln_x: ``(weight, bias)`` each ``(4H,)`` for layer norm of ``xg`` itself (the
            layer-norm LSTM's input side), or None.  Inside the fused kernel this saves a
            separate pass over the whole ``(T, B, 4H)`` projections, forward and backward.
        eps: layer-norm epsilon.
        consume_xg: write the gates into ``xg``'s memory instead of a new buffer (its values
            are destroyed): saves copying each step's projections before the recurrent matmul
            adds to them (``addmm_`` in place): 1.09x faster fwd+bwd at (64, 128, 512), one
            thread, in an A/B within one process (those reads are cold). Only for a caller that
            owns ``xg`` (a fresh contiguous tensor nothing else reads, as the layers pass).

    Returns:
        ``(y (T, B, H), h_T (B, H), c_T (B, H))``.
    """
    _, B, H = _check_common(xg, h0, w_hh, 4, "lstm_loop")
    if c0.shape != (B, H):
        raise ValueError(f"lstm_loop: c0 must be ({B}, {H}), got {tuple(c0.shape)}")
    dt, dev = xg.dtype, xg.device
    xg = xg.contiguous()
    h0 = h0.to(dt).contiguous()
    c0 = c0.to(dt).contiguous()
    w_hh = w_hh.to(dt).contiguous()
    lnw, lnb = _prep_ln(ln_hh, "ln_hh", 4 * H, dt, dev)
    lncw, lncb = _prep_ln(ln_c, "ln_c", H, dt, dev)
    lnxw, lnxb = _prep_ln(ln_x, "ln_x", 4 * H, dt, dev)
    rec_mask = _prep_const(rec_mask, "rec_mask", dt, dev)
    keep_h = _prep_const(keep_h, "keep_h", dt, dev)
    keep_c = _prep_const(keep_c, "keep_c", dt, dev)
    valid = _prep_const(valid, "valid", dt, dev)
    kern = _fused.lstm_kernels(xg)
    if kern is None and (lnxw is not None or lnxb is not None):
        # torch-op version: the input layer norm as one op over all steps; its result is a
        # fresh tensor of ours, so the loop may write the gates into it
        xg = F.layer_norm(xg, (4 * H,), lnxw, lnxb, eps)
        lnxw = lnxb = None
        consume_xg = True
    store = _needs_backward(xg, h0, c0, w_hh, lnw, lnb, lncw, lncb, lnxw, lnxb)
    return _LSTMLoop.apply(xg, h0, c0, w_hh, lnw, lnb, lncw, lncb, lnxw, lnxb, rec_mask,
                           keep_h, keep_c, valid, bool(reverse), float(eps), store,
                           bool(consume_xg), kern)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------------------------
class _GRULoop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xg, h0, w_hh, b_hh, lnw, lnb, rec_mask, keep_h, valid, reverse, eps, store):
        T, B, G3 = xg.shape
        H = G3 // 3
        kw = dict(dtype=xg.dtype, device=xg.device)
        ln_hh = lnw is not None or lnb is not None
        sig_tanh = _sig_tanh(xg.device)

        GH, GHl = _buffers((B, G3), T, store, kw)  # gh = LN?(a) + b_hh, gates r, z, n
        RZ, RZl = _buffers((B, 2 * H), T, store, kw)  # sigmoid(r), sigmoid(z)
        N, Nl = _buffers((B, H), T, store, kw)  # n
        Hs = torch.empty(T, B, H, **kw)
        Hl = Hs.unbind(0)
        wT = w_hh.t()
        hin = torch.empty(B, H, **kw) if rec_mask is not None else None
        Xrz, Xn = xg[:, :, : 2 * H].unbind(0), xg[:, :, 2 * H :].unbind(0)
        GHrz, GHn = _steps_of(GH[:, :, : 2 * H], T), _steps_of(GH[:, :, 2 * H :], T)
        Rl, Zl = _steps_of(RZ[:, :, :H], T), _steps_of(RZ[:, :, H:], T)
        khl = keep_h.unbind(0) if keep_h is not None else None
        one, two = _consts(kw)
        if ln_hh:
            Ar, Arl = _buffers((B, G3), T, store, kw)
            mu, mu_l = _buffers((B, 1), T, store, kw)
            rs, rsl = _buffers((B, 1), T, store, kw)
            # LN(a; w, b) + b_hh == LN(a; w, b + b_hh)
            bias = lnb if b_hh is None else (b_hh if lnb is None else lnb + b_hh)

        h_prev = h0
        for t in _order(T, reverse):
            x = _fed_back(h_prev, rec_mask, hin)
            gh = GHl[t]
            if ln_hh:
                torch.mm(x, wT, out=Arl[t])
                _ln_fwd_out(Arl[t], [G3], lnw, bias, eps, out0=gh, out1=mu_l[t], out2=rsl[t])
            elif b_hh is not None:
                torch.addmm(b_hh, x, wT, out=gh)
            else:
                torch.mm(x, wT, out=gh)
            rz = RZl[t]
            torch.add(Xrz[t], GHrz[t], out=rz)
            rz.sigmoid_()
            n = Nl[t]
            torch.addcmul(Xn[t], Rl[t], GHn[t], out=n)
            _tanh_(n, sig_tanh, one, two)
            h = Hl[t]
            torch.lerp(n, h_prev, Zl[t], out=h)  # (1-z) n + z h_prev
            if khl is not None:
                h.lerp_(h_prev, khl[t])
            h_prev = h

        y = Hs if valid is None else Hs * valid
        if store:
            ctx.reverse, ctx.ln_hh = reverse, ln_hh
            ctx.save_for_backward(
                h0, w_hh, lnw, rec_mask, keep_h, valid, GH, RZ, N,
                Hs if valid is not None else None,
                Ar if ln_hh else None, mu if ln_hh else None, rs if ln_hh else None,
                y if valid is None else None,
            )  # fmt: skip
        return y, h_prev.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dhT):
        (h0, w_hh, lnw, rec_mask, keep_h, valid, GH, RZ, N, Hs, Ar, mu, rs,
         y) = ctx.saved_tensors  # fmt: skip
        if Hs is None:
            Hs = y
        reverse, ln_hh = ctx.reverse, ctx.ln_hh
        needs = ctx.needs_input_grad
        T, B, G3 = GH.shape
        H = G3 // 3
        kw = dict(dtype=GH.dtype, device=GH.device)
        L = _chunk_len(T, B, H, GH.device)
        one = torch.ones((), **kw)

        # ---- workspace for the per-chunk vectorised factors ----------------------------------
        # [dz_pre, dn_pre] = dh * Pzn ; [dr_pre, dghn] = dn_pre * Qrn ; dh_prev += Pc * dh
        Pzn = torch.empty(L, B, 2, H, **kw)
        Qrn = torch.empty(L, B, 2, H, **kw)
        Pz, Pn, Qr = Pzn[:, :, 0], Pzn[:, :, 1], Qrn[:, :, 0]
        # Pc is used one step late (possibly in the next chunk): two alternating slabs
        Pc2 = torch.empty(2, L, B, H, **kw) if keep_h is not None else None
        DY = torch.empty(L, B, H, **kw) if valid is not None else None
        Pznl, Qrnl = Pzn.unbind(0), Qrn.unbind(0)
        Pc2l = [p.unbind(0) for p in Pc2] if Pc2 is not None else None
        Zl = RZ[:, :, H:].unbind(0)
        DYl = DY.unbind(0) if DY is not None else dy.unbind(0)

        # per step layout: [dr_pre, dz_pre, dghn, dn_pre]; dgh = first 3H (matmul order r, z, n)
        D = torch.empty(T, B, 4 * H, **kw)
        D4 = D.view(T, B, 4, H)
        out_zn, out_rg = D4[:, :, 1::2].unbind(0), D4[:, :, 0::2].unbind(0)
        dnl = D[:, :, 3 * H :].unsqueeze(2).unbind(0)
        dgh = D[:, :, :G3]
        dghl = dgh.unbind(0)
        if ln_hh:
            Arl, mu_l, rsl = Ar.unbind(0), mu.unbind(0), rs.unbind(0)
            dAr = torch.empty(T, B, G3, **kw)  # grad wrt the LN_hh input (hin @ w_hh.T)
            DG = torch.empty(2, T, G3, **kw)  # per-step LN_hh gain / bias grads
            dArl, DGw, DGb = dAr.unbind(0), DG[0].unbind(0), DG[1].unbind(0)
            zb = torch.zeros_like(lnw)

        dh = _DH(B, H, kw, rec_mask is not None)
        src_prev = carry_prev = None
        for ci, (t0, t1) in enumerate(_chunks(T, L, reverse)):
            nn_ = t1 - t0
            r, z = RZ[t0:t1, :, :H], RZ[t0:t1, :, H:]
            n, ghn = N[t0:t1], GH[t0:t1, :, 2 * H :]
            pz, pn, qr = Pz[:nn_], Pn[:nn_], Qr[:nn_]
            for a, b, src in _prev_pieces(Hs, h0, t0, t1, reverse):
                torch.sub(src, n[a:b], out=pz[a:b])
            pz.mul_(z).addcmul_(pz, z, value=-1.0)  # z (1-z) (h_prev - n)
            torch.addcmul(one, n, n, value=-1.0, out=pn).addcmul_(pn, z, value=-1.0)  # (1-z)(1-n²)
            if keep_h is not None:
                k = keep_h[t0:t1]
                Pzn[:nn_].addcmul_(Pzn[:nn_], k.unsqueeze(2), value=-1.0)
                torch.lerp(z, one, k, out=Pc2[ci % 2, :nn_])  # z + k (1 - z)
            torch.mul(ghn, r, out=qr).addcmul_(qr, r, value=-1.0)  # ghn r (1-r)
            Qrn[:nn_, :, 1].copy_(r)
            if DY is not None:
                torch.mul(dy[t0:t1], valid[t0:t1], out=DY[:nn_])

            for t in _chunk_steps(t0, t1, reverse):
                j = t - t0
                dy_t = DYl[j] if DY is not None else DYl[t]
                if src_prev is None:
                    dht = dh.first(dy_t, dhT)
                else:
                    dht = dh.step(src_prev, w_hh, dy_t, rec_mask, carry_prev)
                torch.mul(dht.unsqueeze(1), Pznl[j], out=out_zn[t])
                torch.mul(dnl[t], Qrnl[j], out=out_rg[t])
                src = dghl[t]
                if ln_hh:
                    src = _ln_bwd_out(src, Arl[t], [G3], mu_l[t], rsl[t], lnw, zb, _LN_ALL,
                                      out0=dArl[t], out1=DGw[t], out2=DGb[t])[0]  # fmt: skip
                src_prev = src
                carry_prev = Pc2l[ci % 2][j] if Pc2 is not None else Zl[t]
        del Pzn, Qrn, DY

        dh0 = None
        if needs[1]:
            dh0 = _next_dh(src_prev, w_hh, None, rec_mask, carry_prev, dh.cur,
                           torch.empty(B, H, **kw), dh.tmp)  # fmt: skip

        # ---- parameter gradients, vectorised -------------------------------------------------
        dxg = torch.cat((D[..., : 2 * H], D[..., 3 * H :]), dim=-1) if needs[0] else None
        dw = db = dlnw = dlnb = None
        if needs[3] or needs[5]:
            dgh_sum = dgh.sum((0, 1))
            db = dgh_sum if needs[3] else None
            if needs[5]:  # a separate tensor: AccumulateGrad may steal either one
                dlnb = dgh_sum.clone() if needs[3] else dgh_sum
        if ln_hh:
            dlnw = DG[0].sum(0) if needs[4] else None
            dsrc = dAr
        else:
            dsrc = dgh
        if needs[2]:
            dw = _weight_grad(dsrc, Hs, h0, rec_mask, reverse)
        return dxg, dh0, dw, db, dlnw, dlnb, None, None, None, None, None, None


def gru_loop(xg, h0, w_hh, b_hh, *, rec_mask=None, keep_h=None, valid=None, reverse=False,
             ln_hh=None, eps=1e-5):  # fmt: skip
    """GRU recurrence (torch's variant) over a whole sequence.

    Per step: ``gh = LN?(hin @ w_hh.T) + b_hh``; ``r = σ(xg_r + gh_r)``, ``z = σ(xg_z + gh_z)``,
    ``n = tanh(xg_n + r * gh_n)``, ``h_new = (1-z)*n + z*h_prev`` (un-masked ``h_prev``); then
    keep / valid as in the module docstring.

    Args:
        xg: ``(T, B, 3H)`` precomputed input projections (+ input bias).
        h0: ``(B, H)``; w_hh: ``(3H, H)``; b_hh: ``(3H,)`` or None.
        rec_mask, keep_h, valid, reverse, eps: as for :func:`lstm_loop`.
        ln_hh: ``(weight, bias)`` each ``(3H,)``, or None.

    Returns:
        ``(y (T, B, H), h_T (B, H))``.
    """
    H = _check_common(xg, h0, w_hh, 3, "gru_loop")[2]
    dt, dev = xg.dtype, xg.device
    if b_hh is not None:
        if b_hh.shape != (3 * H,):
            raise ValueError(f"gru_loop: b_hh must be ({3 * H},), got {tuple(b_hh.shape)}")
        b_hh = b_hh.to(dt).contiguous()
    xg = xg.contiguous()
    h0 = h0.to(dt).contiguous()
    w_hh = w_hh.to(dt).contiguous()
    lnw, lnb = _prep_ln(ln_hh, "ln_hh", 3 * H, dt, dev)
    rec_mask = _prep_const(rec_mask, "rec_mask", dt, dev)
    keep_h = _prep_const(keep_h, "keep_h", dt, dev)
    valid = _prep_const(valid, "valid", dt, dev)
    store = _needs_backward(xg, h0, w_hh, b_hh, lnw, lnb)
    return _GRULoop.apply(xg, h0, w_hh, b_hh, lnw, lnb, rec_mask, keep_h, valid, bool(reverse),
                          float(eps), store)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Elman RNN
# ----------------------------------------------------------------------------------------------
class _RNNLoop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xg, h0, w_hh, rec_mask, keep_h, valid, reverse, relu, store):
        T, B, H = xg.shape
        kw = dict(dtype=xg.dtype, device=xg.device)
        sig_tanh = _sig_tanh(xg.device)
        Hs = torch.empty(T, B, H, **kw)  # states (after keep)
        if keep_h is None:
            A, Al = Hs, Hs.unbind(0)  # h_new is the state
        else:
            A, Al = _buffers((B, H), T, store, kw)  # h_new = act(pre)
        wT = w_hh.t()
        hin = torch.empty(B, H, **kw) if rec_mask is not None else None
        Hl, Xl = Hs.unbind(0), xg.unbind(0)
        khl = keep_h.unbind(0) if keep_h is not None else None
        one, two = _consts(kw)

        h_prev = h0
        for t in _order(T, reverse):
            x = _fed_back(h_prev, rec_mask, hin)
            a = Al[t]
            torch.addmm(Xl[t], x, wT, out=a)
            if relu:
                a.relu_()
            else:
                _tanh_(a, sig_tanh, one, two)
            if khl is not None:
                h = Hl[t]
                torch.lerp(a, h_prev, khl[t], out=h)
                h_prev = h
            else:
                h_prev = a

        y = Hs if valid is None else Hs * valid
        if store:
            ctx.reverse, ctx.relu = reverse, relu
            y_is_h = valid is None
            ctx.save_for_backward(
                h0, w_hh, rec_mask, keep_h, valid,
                None if (y_is_h and keep_h is None) else A,
                None if y_is_h else Hs,
                y if y_is_h else None,
            )  # fmt: skip
        return y, h_prev.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dhT):
        h0, w_hh, rec_mask, keep_h, valid, A, Hs, y = ctx.saved_tensors
        if Hs is None:
            Hs = y
        if A is None:
            A = Hs
        reverse, relu = ctx.reverse, ctx.relu
        needs = ctx.needs_input_grad
        T, B, H = A.shape
        kw = dict(dtype=A.dtype, device=A.device)
        L = _chunk_len(T, B, H, A.device)

        Dd = torch.empty(L, B, H, **kw)  # act'(pre) (1 - keep)
        DY = torch.empty(L, B, H, **kw) if valid is not None else None
        Ddl = Dd.unbind(0)
        DYl = DY.unbind(0) if DY is not None else dy.unbind(0)
        one = torch.ones((), **kw)
        dA = torch.empty(T, B, H, **kw)
        dAl = dA.unbind(0)
        khl = keep_h.unbind(0) if keep_h is not None else None

        dh = _DH(B, H, kw, rec_mask is not None)
        src_prev = carry_prev = None
        for t0, t1 in _chunks(T, L, reverse):
            nn_ = t1 - t0
            d, a = Dd[:nn_], A[t0:t1]
            if relu:
                torch.gt(a, 0, out=d)
            else:
                torch.addcmul(one, a, a, value=-1.0, out=d)
            if keep_h is not None:
                d.addcmul_(d, keep_h[t0:t1], value=-1.0)
            if DY is not None:
                torch.mul(dy[t0:t1], valid[t0:t1], out=DY[:nn_])
            for t in _chunk_steps(t0, t1, reverse):
                j = t - t0
                dy_t = DYl[j] if DY is not None else DYl[t]
                if src_prev is None:
                    dht = dh.first(dy_t, dhT)
                else:
                    dht = dh.step(src_prev, w_hh, dy_t, rec_mask, carry_prev)
                src = dAl[t]
                torch.mul(dht, Ddl[j], out=src)
                src_prev = src
                carry_prev = khl[t] if khl is not None else None
        del Dd, DY

        dh0 = None
        if needs[1]:
            dh0 = _next_dh(src_prev, w_hh, None, rec_mask, carry_prev, dh.cur,
                           torch.empty(B, H, **kw), dh.tmp)  # fmt: skip
        dw = _weight_grad(dA, Hs, h0, rec_mask, reverse) if needs[2] else None
        dxg = dA if needs[0] else None
        return dxg, dh0, dw, None, None, None, None, None, None


def rnn_loop(xg, h0, w_hh, *, nonlinearity="tanh", rec_mask=None, keep_h=None, valid=None,
             reverse=False):  # fmt: skip
    """Elman RNN recurrence over a whole sequence: ``h_new = act(xg[t] + hin @ w_hh.T)`` with
    ``act`` = tanh or relu; keep / valid as in the module docstring. Biases must already be
    folded into ``xg``.

    Args:
        xg: ``(T, B, H)``; h0: ``(B, H)``; w_hh: ``(H, H)``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        rec_mask, keep_h, valid, reverse: as for :func:`lstm_loop`.

    Returns:
        ``(y (T, B, H), h_T (B, H))``.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_loop: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    _check_common(xg, h0, w_hh, 1, "rnn_loop")
    dt, dev = xg.dtype, xg.device
    xg = xg.contiguous()
    h0 = h0.to(dt).contiguous()
    w_hh = w_hh.to(dt).contiguous()
    rec_mask = _prep_const(rec_mask, "rec_mask", dt, dev)
    keep_h = _prep_const(keep_h, "keep_h", dt, dev)
    valid = _prep_const(valid, "valid", dt, dev)
    store = _needs_backward(xg, h0, w_hh)
    return _RNNLoop.apply(xg, h0, w_hh, rec_mask, keep_h, valid, bool(reverse),
                          nonlinearity == "relu", store)  # fmt: skip
