r"""Cell health: the recurrent weights' spectra, and how saturated the gates and states are.

- :func:`weight_health`: per layer and direction, the spectral radius
  :math:`\rho(W) = \max |\lambda_i|` and the largest singular value :math:`\sigma_1(W)` of
  each gate's ``(H, H)`` block of ``weight_hh`` (``rho_*``, ``sigma_*`` with the gate's
  letter). For a tanh RNN, :math:`\sigma_1 < 1` guarantees vanishing gradients and
  :math:`\rho > 1` is necessary for exploding ones (Pascanu, Mikolov & Bengio 2013,
  section 3.1).
- :func:`gate_statistics`: from a probed forward pass, the share of saturated sigmoid gate
  values (``< 0.1`` or ``> 0.9``), of saturated tanh values (``|tanh| > 0.9``), the mean
  forget gate (LSTM ``f``; GRU ``z``, the gate that keeps the old state), and the share of
  saturated hidden units (``|h| > 0.9``; for a ReLU RNN the share of units at zero).
  Saturated units pass almost no gradient (:math:`\sigma' < 0.09`, :math:`\tanh' < 0.19`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._probe import Trace, recurrent_layers

GATE_LETTERS = {"LSTM": "ifgo", "GRU": "rzn", "RNN_TANH": "h", "RNN_RELU": "h"}
SIGMOID_LOW, SIGMOID_HIGH, TANH_SAT, HIDDEN_SAT = 0.1, 0.9, 0.9, 0.9


@torch.no_grad()
def weight_health(model: torch.nn.Module) -> dict[str, dict[str, float]]:
    """``{layer name: {"rho_<gate>": ..., "sigma_<gate>": ..., "rho_max", "sigma_max"}}``."""
    out: dict[str, dict[str, float]] = {}
    for module, layer in recurrent_layers(model):
        letters = GATE_LETTERS[layer.config.mode]
        for l in range(layer.config.num_layers):
            for d in range(layer.num_directions):
                w_hh = layer.weights(l, d).weight_hh.detach().double().cpu()
                stats: dict[str, float] = {}
                for letter, block in zip(letters, w_hh.chunk(len(letters), dim=0)):
                    stats[f"sigma_{letter}"] = float(torch.linalg.matrix_norm(block, ord=2))
                    if block.shape[0] == block.shape[1]:
                        rho = torch.linalg.eigvals(block).abs().max()
                        stats[f"rho_{letter}"] = float(rho)
                stats["sigma_max"] = max(v for k, v in stats.items() if k.startswith("sigma_"))
                rhos = [v for k, v in stats.items() if k.startswith("rho_")]
                if rhos:
                    stats["rho_max"] = max(rhos)
                base = f"{module}.l{l}" if module else f"l{l}"
                out[base + (".reverse" if d == 1 else "")] = stats
    return out


def _ln(a, pair, eps):
    return F.layer_norm(a, (a.shape[-1],), *pair, eps)


@torch.no_grad()
def gate_statistics(trace: Trace, layer=None) -> dict[str, float]:
    """Saturation statistics of one probed layer and direction (see the module docstring)."""
    hs = torch.stack([h.detach() for h in trace.hs])  # (T, B, P)
    prev = torch.cat([trace.h0.detach().unsqueeze(0), hs[:-1]]) if not trace.reverse else (
        torch.cat([hs[1:], trace.h0.detach().unsqueeze(0)]))  # fmt: skip
    stats: dict[str, float] = {}
    mode = trace.mode
    if mode.startswith("RNN"):
        if mode == "RNN_RELU":
            stats["hidden_dead_share"] = float((hs == 0).float().mean())
        else:
            stats["tanh_saturated_share"] = float((hs.abs() > TANH_SAT).float().mean())
        stats["hidden_saturated_share"] = float((hs.abs() > HIDDEN_SAT).float().mean())
        return stats
    w = trace.weights
    x = trace.inputs.detach()
    eps = trace.layer_norm_eps
    if w.ln_ih is not None:
        gi, gh = _ln(F.linear(x, w.weight_ih), w.ln_ih, eps), _ln(F.linear(prev, w.weight_hh),
                                                                  w.ln_hh, eps)  # fmt: skip
        if mode == "LSTM":
            gi = gi + sum(b for b in (w.bias_ih, w.bias_hh) if b is not None)
        else:
            gi = gi if w.bias_ih is None else gi + w.bias_ih
            gh = gh if w.bias_hh is None else gh + w.bias_hh
    else:
        gi, gh = F.linear(x, w.weight_ih, w.bias_ih), F.linear(prev, w.weight_hh, w.bias_hh)
    if mode == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        sig = torch.sigmoid(torch.stack([i, f, o]))
        tanh = torch.tanh(g)
        stats["forget_mean"] = float(torch.sigmoid(f).mean())
    else:
        i_r, i_z, i_n = gi.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        sig = torch.stack([r, z])
        tanh = torch.tanh(i_n + r * h_n)
        stats["forget_mean"] = float(z.mean())  # z keeps the old state: the GRU's forget gate
    stats["sigmoid_saturated_share"] = float(
        ((sig < SIGMOID_LOW) | (sig > SIGMOID_HIGH)).float().mean()
    )
    stats["tanh_saturated_share"] = float((tanh.abs() > TANH_SAT).float().mean())
    stats["hidden_saturated_share"] = float((hs.abs() > HIDDEN_SAT).float().mean())
    return stats
