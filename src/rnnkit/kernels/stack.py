"""Running a stack of layers and directions for the time-loop backends.

``run_stack`` owns what every loop backend shares: time-major layout, per-layer input
masks, both directions, between-layer dropout, and stacking the final states. A backend is
one function that runs one layer in one direction: :func:`reference_direction` (the spec,
through :mod:`rnnkit.functional`) or :func:`loop_direction` (the fused loop).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..functional import cells as C
from ..functional.loop import reference_loop, valid_mask
from . import loop as K

DirectionFn = Callable[..., tuple[Tensor, tuple[Tensor, ...]]]


def run_stack(
    layer, x: Tensor, hx: tuple[Tensor, ...], lengths: Tensor | None, noise, direction: DirectionFn
) -> tuple[Tensor, tuple[Tensor, ...]]:
    cfg, dirs = layer.config, layer.num_directions
    inp = x.transpose(0, 1) if cfg.batch_first else x  # -> (T, B, D)
    finals: list[list[Tensor]] = [[] for _ in hx]
    for l in range(cfg.num_layers):
        if noise.input[l] is not None:
            inp = inp * noise.input[l]
        outs = []
        for d in range(dirs):
            i = l * dirs + d
            y, st = direction(layer, l, d, inp, tuple(s[i] for s in hx), lengths, noise)
            outs.append(y)
            for acc, s in zip(finals, st, strict=True):
                acc.append(s)
        inp = outs[0] if dirs == 1 else torch.cat(outs, dim=-1)
        if noise.between[l] is not None:
            inp = inp * noise.between[l]
    out = inp.transpose(0, 1) if cfg.batch_first else inp
    return out, tuple(torch.stack(acc) for acc in finals)


def _recurrent_weight(noise, l: int, d: int, w) -> Tensor:
    masked = noise.weight_hh[l][d]
    return w.weight_hh if masked is None else masked


def reference_direction(layer, l, d, x, state, lengths, noise):
    """One layer and direction through :func:`rnnkit.functional.loop.reference_loop`."""
    cfg = layer.config
    w = layer.weights(l, d)
    w_hh = _recurrent_weight(noise, l, d, w)
    rmask = noise.recurrent[l][d]
    eps = cfg.layer_norm_eps

    def masked(h: Tensor) -> Tensor:
        return h if rmask is None else h * rmask

    if cfg.mode == "LSTM":
        if cfg.layer_norm:

            def step(x_t, s):
                return C.layer_norm_lstm_step(
                    x_t,
                    masked(s[0]),
                    s[1],
                    w.weight_ih,
                    w_hh,
                    w.bias_ih,
                    w.bias_hh,
                    w.ln_ih,
                    w.ln_hh,
                    w.ln_c,
                    eps,
                )
        else:

            def step(x_t, s):
                return C.lstm_step(
                    x_t, masked(s[0]), s[1], w.weight_ih, w_hh, w.bias_ih, w.bias_hh, w.weight_hr
                )
    elif cfg.mode == "GRU":
        if cfg.layer_norm:

            def step(x_t, s):
                return (
                    C.layer_norm_gru_step(
                        x_t,
                        s[0],
                        w.weight_ih,
                        w_hh,
                        w.bias_ih,
                        w.bias_hh,
                        w.ln_ih,
                        w.ln_hh,
                        eps,
                        h_in=masked(s[0]),
                    ),
                )
        else:

            def step(x_t, s):
                return (
                    C.gru_step(
                        x_t, s[0], w.weight_ih, w_hh, w.bias_ih, w.bias_hh, h_in=masked(s[0])
                    ),
                )
    else:
        fn = C.rnn_tanh_step if cfg.mode == "RNN_TANH" else C.rnn_relu_step

        def step(x_t, s):
            return (fn(x_t, masked(s[0]), w.weight_ih, w_hh, w.bias_ih, w.bias_hh),)

    keep = (noise.keep_h[l][d], noise.keep_c[l][d])[: len(state)]
    if all(k is None for k in keep):
        keep = None
    return reference_loop(step, x, state, lengths, reverse=d == 1, keep=keep)


def _sum_bias(*biases: Tensor | None) -> Tensor | None:
    present = [b for b in biases if b is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else present[0] + present[1]


def _plus_bias(ln, bias: Tensor | None):
    """``LN(y) + bias`` is one layer norm whose shift is ``beta + bias``: its (gain, shift)."""
    gain, shift = ln
    if bias is not None:
        shift = bias if shift is None else shift + bias
    return gain, shift


def _layer_norm_plus(y: Tensor, ln, bias: Tensor | None, eps: float) -> Tensor:
    """``LN(y) + bias`` as one layer norm (:func:`_plus_bias`): one pass over the (T, B, G*H)
    projections instead of two, forward and backward."""
    return F.layer_norm(y, (y.shape[-1],), *_plus_bias(ln, bias), eps)


def loop_direction(layer, l, d, x, state, lengths, noise):
    """One layer and direction through the fused loop of :mod:`rnnkit.kernels.loop`."""
    cfg = layer.config
    w = layer.weights(l, d)
    w_hh = _recurrent_weight(noise, l, d, w)
    eps = cfg.layer_norm_eps
    T, B, _ = x.shape
    ln_x = None
    # Input projections of all time steps in one matmul (the recurrence needs none of them).
    if cfg.mode == "GRU":
        if w.ln_ih is not None:
            xg = _layer_norm_plus(F.linear(x, w.weight_ih), w.ln_ih, w.bias_ih, eps)
        else:
            xg = F.linear(x, w.weight_ih, w.bias_ih)
    else:
        bias = _sum_bias(w.bias_ih, w.bias_hh)
        if w.ln_ih is not None and cfg.mode == "LSTM":
            # the loop applies the input layer norm per step (fused with the cell on CPU)
            ln_x = _plus_bias(w.ln_ih, bias)
            xg = F.linear(x, w.weight_ih)
        elif w.ln_ih is not None:
            xg = _layer_norm_plus(F.linear(x, w.weight_ih), w.ln_ih, bias, eps)
        else:
            xg = F.linear(x, w.weight_ih, bias)
    xg = xg.contiguous()

    keep_h, keep_c = noise.keep_h[l][d], noise.keep_c[l][d]
    valid = None
    if lengths is not None:
        v = valid_mask(lengths.to(x.device), T).unsqueeze(-1)  # (T, B, 1)
        valid = v.to(x.dtype)
        one = torch.ones((), dtype=x.dtype, device=x.device)
        H = state[0].shape[-1]
        keep_h = torch.where(v, keep_h, one) if keep_h is not None else (1 - valid).expand(T, B, H)
        if cfg.mode == "LSTM":
            Hc = state[1].shape[-1]
            keep_c = (
                torch.where(v, keep_c, one) if keep_c is not None else (1 - valid).expand(T, B, Hc)
            )
    common = {
        "rec_mask": noise.recurrent[l][d],
        "keep_h": keep_h,
        "valid": valid,
        "reverse": d == 1,
    }
    if cfg.mode == "LSTM":
        y, h, c = K.lstm_loop(
            xg,
            state[0],
            state[1],
            w_hh,
            keep_c=keep_c,
            ln_hh=w.ln_hh,
            ln_c=w.ln_c,
            ln_x=ln_x,
            eps=eps,
            consume_xg=True,  # xg is this function's own
            **common,
        )
        return y, (h, c)
    if cfg.mode == "GRU":
        y, h = K.gru_loop(xg, state[0], w_hh, w.bias_hh, ln_hh=w.ln_hh, eps=eps, **common)
        return y, (h,)
    nonlinearity = "tanh" if cfg.mode == "RNN_TANH" else "relu"
    y, h = K.rnn_loop(xg, state[0], w_hh, nonlinearity=nonlinearity, **common)
    return y, (h,)
