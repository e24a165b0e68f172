"""``step()``: one time step through a unidirectional stack, with evaluation semantics.

Plain cells call torch's fused single-step ops (``torch._VF.lstm_cell`` and friends, what
``torch.nn.LSTMCell`` calls), so streaming costs what a bare torch cell costs; layer-norm
cells use the functional steps. Zoneout uses its evaluation expectation.
"""

from __future__ import annotations

import torch
from torch import _VF, Tensor

from ..functional import cells as C


def _zone(rate: float, prev: Tensor, new: Tensor) -> Tensor:
    # Same arithmetic as the full-sequence path: k * s + (1 - k) * n with k a tensor.
    k = torch.full((), rate, dtype=new.dtype, device=new.device)
    return k * prev + (1 - k) * new


_FUSED_CELL = {
    "LSTM": _VF.lstm_cell,
    "GRU": _VF.gru_cell,
    "RNN_TANH": _VF.rnn_tanh_cell,
    "RNN_RELU": _VF.rnn_relu_cell,
}


def plain_plan(layer) -> list | None:
    """The ``(w_ih, w_hh, b_ih, b_hh)`` parameter names of each layer when every layer is a
    plain cell that torch's single-step op computes whole; ``None`` otherwise. (Names, not
    functions or tensors, so the layer stays picklable and parametrizations keep working.)"""
    cfg = layer.config
    if cfg.layer_norm or cfg.proj_size or max(layer.zoneout_rates) > 0:
        return None
    return [names[0][:4] for names in layer._cell_names]


def step(layer, x: Tensor, state: tuple[Tensor, ...]):
    plan = layer._stream_plan
    if plan is not None:
        return _plain_step(layer, plan, x, state)
    return _general_step(layer, x, state)


def _plain_step(layer, plan, x: Tensor, state: tuple[Tensor, ...]):
    # The streaming hot path: at B=1 a step is tens of microseconds, so every Python-level
    # operation here counts (benchmarks/RESULTS.md, streaming rows).
    cell = _FUSED_CELL[layer.config.mode]
    get = layer._param
    lstm = len(state) == 2
    hs, cs = [], []
    inp = x
    for l, (w_ih, w_hh, b_ih, b_hh) in enumerate(plan):
        b_ih = None if b_ih is None else get(b_ih)
        b_hh = None if b_hh is None else get(b_hh)
        if lstm:
            inp, c = cell(inp, (state[0][l], state[1][l]), get(w_ih), get(w_hh), b_ih, b_hh)
            cs.append(c)
        else:
            inp = cell(inp, state[0][l], get(w_ih), get(w_hh), b_ih, b_hh)
        hs.append(inp)
    h_new = hs[0].unsqueeze(0) if len(hs) == 1 else torch.stack(hs)
    if lstm:
        return inp, (h_new, cs[0].unsqueeze(0) if len(cs) == 1 else torch.stack(cs))
    return inp, (h_new,)


def _general_step(layer, x: Tensor, state: tuple[Tensor, ...]):
    cfg = layer.config
    mode, eps = cfg.mode, cfg.layer_norm_eps
    h_rate, c_rate = layer.zoneout_rates
    hs, cs = [], []
    inp = x
    weights = layer.weights
    for l in range(cfg.num_layers):
        w = weights(l, 0)
        h = state[0][l]
        if mode == "LSTM":
            c = state[1][l]
            if cfg.layer_norm:
                h2, c2 = C.layer_norm_lstm_step(
                    inp,
                    h,
                    c,
                    w.weight_ih,
                    w.weight_hh,
                    w.bias_ih,
                    w.bias_hh,
                    w.ln_ih,
                    w.ln_hh,
                    w.ln_c,
                    eps,
                )
            elif w.weight_hr is not None:  # the fused cell op has no projection
                h2, c2 = C.lstm_step(
                    inp, h, c, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, w.weight_hr
                )
            else:
                h2, c2 = _VF.lstm_cell(inp, (h, c), w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh)
            if c_rate > 0:
                c2 = _zone(c_rate, c, c2)
            cs.append(c2)
        elif mode == "GRU":
            if cfg.layer_norm:
                h2 = C.layer_norm_gru_step(
                    inp, h, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, w.ln_ih, w.ln_hh, eps
                )
            else:
                h2 = _VF.gru_cell(inp, h, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh)
        else:
            cell = _VF.rnn_tanh_cell if mode == "RNN_TANH" else _VF.rnn_relu_cell
            h2 = cell(inp, h, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh)
        if h_rate > 0:
            h2 = _zone(h_rate, h, h2)
        hs.append(h2)
        inp = h2
    h_new = hs[0].unsqueeze(0) if len(hs) == 1 else torch.stack(hs)
    if mode == "LSTM":
        c_new = cs[0].unsqueeze(0) if len(cs) == 1 else torch.stack(cs)
        return inp, (h_new, c_new)
    return inp, (h_new,)
