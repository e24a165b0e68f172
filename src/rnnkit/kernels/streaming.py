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


def step(layer, x: Tensor, state: tuple[Tensor, ...]):
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
