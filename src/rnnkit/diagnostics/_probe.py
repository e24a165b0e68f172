"""Run rnnkit layers through the reference cells with every hidden state exposed.

Inside :func:`probing`, each :class:`rnnkit.nn.RecurrentBase` in a model runs a plain time
loop over the cell functions of :mod:`rnnkit.functional.cells` (the specification every
backend is tested against), with evaluation semantics (no dropout; zoneout's expectation).
At every step the new hidden state ``h_t`` becomes ``h_t + z_t`` with ``z_t`` a zero tensor
that requires grad, so ``dL/dz_t`` is the total derivative ``dL/dh_t`` (through the output
at ``t`` and through every later step), and ``dh_T/dz_t`` the Jacobian through time.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..functional import cells as C
from ..functional.loop import valid_mask
from ..nn import RecurrentBase


@dataclass
class Trace:
    """What one layer and direction did in one probed forward call (time-major lists)."""

    module: str  # the module's name inside the model ("" for the model itself)
    layer: int
    direction: int
    mode: str
    inputs: Tensor  # (T, B, D): the layer's input
    h0: Tensor  # (B, P): the initial hidden state
    weights: Any = None  # the layer's CellWeights for this layer and direction
    layer_norm_eps: float = 1e-5
    hs: list[Tensor] = field(default_factory=list)  # h_t (probed), t = 0..T-1
    probes: list[Tensor] = field(default_factory=list)  # z_t, zeros with requires_grad
    final: Tensor | None = None  # h at the end (each sequence's last valid step)

    @property
    def name(self) -> str:
        base = f"{self.module}.l{self.layer}" if self.module else f"l{self.layer}"
        return base + (".reverse" if self.direction == 1 else "")

    @property
    def reverse(self) -> bool:
        return self.direction == 1


def recurrent_layers(model: torch.nn.Module) -> list[tuple[str, RecurrentBase]]:
    """The rnnkit recurrent layers inside ``model`` (the model itself included)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, RecurrentBase)]


def _step_fn(layer: RecurrentBase, l: int, d: int):
    cfg, w = layer.config, layer.weights(l, d)
    eps = cfg.layer_norm_eps
    if cfg.mode == "LSTM" and cfg.layer_norm:
        return lambda x, s: C.layer_norm_lstm_step(
            x, s[0], s[1], w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, w.ln_ih, w.ln_hh,
            w.ln_c, eps)  # fmt: skip
    if cfg.mode == "LSTM":
        return lambda x, s: C.lstm_step(
            x, s[0], s[1], w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, w.weight_hr
        )
    if cfg.mode == "GRU" and cfg.layer_norm:
        return lambda x, s: (
            C.layer_norm_gru_step(x, s[0], w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh,
                                  w.ln_ih, w.ln_hh, eps),
        )  # fmt: skip
    if cfg.mode == "GRU":
        return lambda x, s: (C.gru_step(x, s[0], w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh),)
    fn = C.rnn_tanh_step if cfg.mode == "RNN_TANH" else C.rnn_relu_step
    return lambda x, s: (fn(x, s[0], w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh),)


def _direction(layer, l, d, x, state, lengths, trace: Trace):
    step = _step_fn(layer, l, d)
    T = x.shape[0]
    rates = layer.zoneout_rates[: len(state)]
    valid = None if lengths is None else valid_mask(lengths.to(x.device), T).unsqueeze(-1)
    outputs: list[Tensor] = [x.new_empty(0)] * T
    trace.hs, trace.probes = [x.new_empty(0)] * T, [x.new_empty(0)] * T
    for t in range(T - 1, -1, -1) if d == 1 else range(T):
        new = step(x[t], state)
        new = tuple(n if r <= 0 else r * s + (1 - r) * n for n, s, r in zip(new, state, rates))
        if valid is not None:
            new = tuple(torch.where(valid[t], n, s) for n, s in zip(new, state))
        z = torch.zeros_like(new[0]).requires_grad_(torch.is_grad_enabled())
        h = new[0] + z
        trace.hs[t], trace.probes[t] = h, z
        outputs[t] = h if valid is None else torch.where(valid[t], h, torch.zeros_like(h))
        state = (h, *new[1:])
    trace.final = state[0]
    return torch.stack(outputs), state


def _probed_forward(layer: RecurrentBase, module_name: str, sink: list[Trace]):
    def forward(x, state=None, lengths=None):
        if not isinstance(x, Tensor) or x.dim() != 3:
            raise ValueError(
                "the diagnostics need a batched (B, T, D) tensor input, got "
                f"{type(x).__name__ if not isinstance(x, Tensor) else tuple(x.shape)}"
            )
        cfg = layer.config
        B, T = (x.shape[0], x.shape[1]) if cfg.batch_first else (x.shape[1], x.shape[0])
        if lengths is not None:
            lengths = layer._check_lengths(lengths, B, T)
        hx = layer._check_state(state, B, x)
        inp = x.transpose(0, 1) if cfg.batch_first else x
        dirs = layer.num_directions
        finals: list[list[Tensor]] = [[] for _ in hx]
        for l in range(cfg.num_layers):
            outs = []
            for d in range(dirs):
                i = l * dirs + d
                s0 = tuple(s[i] for s in hx)
                trace = Trace(module_name, l, d, cfg.mode, inp, s0[0], layer.weights(l, d),
                              cfg.layer_norm_eps)  # fmt: skip
                y, st = _direction(layer, l, d, inp, s0, lengths, trace)
                sink.append(trace)
                outs.append(y)
                for acc, s in zip(finals, st):
                    acc.append(s)
            inp = outs[0] if dirs == 1 else torch.cat(outs, dim=-1)
        out = inp.transpose(0, 1) if cfg.batch_first else inp
        return out, layer._wrap_state(tuple(torch.stack(a) for a in finals))

    return forward


@contextlib.contextmanager
def probing(model: torch.nn.Module):
    """Within the block, every rnnkit layer of ``model`` runs the probed reference loop in
    evaluation mode; yields the list the :class:`Trace` records are appended to."""
    layers = recurrent_layers(model)
    if not layers:
        raise ValueError(
            f"{type(model).__name__} contains no rnnkit recurrent layer (rnnkit.nn.RNN, LSTM, "
            "GRU); the diagnostics follow the hidden states of those layers"
        )
    sink: list[Trace] = []
    was_training = model.training
    model.eval()
    for name, layer in layers:
        layer.forward = _probed_forward(layer, name, sink)
    try:
        yield sink
    finally:
        for _, layer in layers:
            del layer.forward
        model.train(was_training)
