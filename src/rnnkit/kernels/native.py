"""The ``native`` backend: torch's fused RNN ops, called as torch.nn calls them.

No wrapper work beyond what torch.nn itself does when no regularizer is active: one
``torch._VF`` call over all layers. ``weight_drop`` swaps the masked recurrent weights into
the flat weight list; ``input_dropout`` and rnnkit-sampled between-layer masks run the
stack one layer per call.
"""

from __future__ import annotations

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

_FUSED = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}


def _flat_weights(layer, noise) -> list[Tensor]:
    flat = layer.flat_weights
    if not any(w is not None for row in noise.weight_hh for w in row):
        return flat
    # Each layer-direction's block starts with weight_ih, then weight_hh.
    per_block = len(flat) // (layer.config.num_layers * layer.num_directions)
    flat = list(flat)
    for l, row in enumerate(noise.weight_hh):
        for d, w in enumerate(row):
            if w is not None:
                flat[(l * layer.num_directions + d) * per_block + 1] = w
    return flat


def _call(
    layer,
    x: Tensor,
    hx: tuple[Tensor, ...],
    lengths: Tensor | None,
    weights: list[Tensor],
    num_layers: int,
    dropout: float,
):
    cfg = layer.config
    fn = _FUSED[cfg.mode]
    h0 = hx if cfg.mode == "LSTM" else hx[0]
    if lengths is None:
        res = fn(
            x,
            h0,
            weights,
            cfg.bias,
            num_layers,
            dropout,
            layer.training,
            cfg.bidirectional,
            cfg.batch_first,
        )
        return res[0], tuple(res[1:])
    T = x.shape[1] if cfg.batch_first else x.shape[0]
    packed = pack_padded_sequence(
        x, lengths.cpu(), batch_first=cfg.batch_first, enforce_sorted=False
    )
    sort, unsort = packed.sorted_indices, packed.unsorted_indices
    h0 = (
        tuple(h.index_select(1, sort) for h in hx)
        if cfg.mode == "LSTM"
        else hx[0].index_select(1, sort)
    )
    res = fn(
        packed.data,
        packed.batch_sizes,
        h0,
        weights,
        cfg.bias,
        num_layers,
        dropout,
        layer.training,
        cfg.bidirectional,
    )
    out = PackedSequence(res[0], packed.batch_sizes, sort, unsort)
    out, _ = pad_packed_sequence(out, batch_first=cfg.batch_first, total_length=T)
    return out, tuple(s.index_select(1, unsort) for s in res[1:])


def run(layer, x: Tensor, hx: tuple[Tensor, ...], lengths: Tensor | None, noise):
    """Run ``layer`` on ``x`` (in the layer's layout) with torch's fused ops."""
    weights = _flat_weights(layer, noise)
    per_layer = any(m is not None for m in noise.input + noise.between)
    if not per_layer:
        return _call(layer, x, hx, lengths, weights, layer.config.num_layers, noise.fused_dropout)
    # One fused call per layer, rnnkit's masks applied between the calls.
    cfg, dirs = layer.config, layer.num_directions
    per_layer_weights = len(weights) // cfg.num_layers
    states: list[tuple[Tensor, ...]] = []
    for l in range(cfg.num_layers):
        if noise.input[l] is not None:
            x = x * noise.input[l].unsqueeze(1 if cfg.batch_first else 0)
        w = weights[l * per_layer_weights : (l + 1) * per_layer_weights]
        x, st = _call(layer, x, tuple(s[l * dirs : (l + 1) * dirs] for s in hx), lengths, w, 1, 0.0)
        if noise.between[l] is not None:
            mask = noise.between[l]  # (T, B, P*dirs)
            x = x * (mask.transpose(0, 1) if cfg.batch_first else mask)
        states.append(st)
    return x, tuple(torch.cat([st[i] for st in states]) for i in range(len(hx)))
