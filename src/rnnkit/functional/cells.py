"""One time step of each recurrent cell, as pure functions.

These functions are the specification of every cell in rnnkit: each backend (torch's
fused ops, our loop kernels, GPU kernels) is tested against them. Weight layout and gate
order follow ``torch.nn`` exactly, so weights copy between the two without reordering.

Shapes: ``x (B, D)``, ``h (B, H)`` (LSTM with projection: ``(B, P)``), ``c (B, H)``,
``w_ih (G*H, D)``, ``w_hh (G*H, H or P)``, ``b_ih, b_hh (G*H,)`` with G gates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def rnn_tanh_step(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    r"""Elman RNN step: :math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`."""
    return torch.tanh(F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh))


def rnn_relu_step(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    r"""Elman RNN step with ReLU: :math:`h' = \max(0, W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`."""
    return torch.relu(F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh))


def lstm_step(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    w_hr: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""LSTM step (Hochreiter & Schmidhuber 1997, with forget gate; torch.nn layout).

    .. math::
        i, f, g, o &= \sigma, \sigma, \tanh, \sigma (W_{ih} x + b_{ih} + W_{hh} h + b_{hh}) \\
        c' &= f \odot c + i \odot g \\
        h' &= W_{hr} (o \odot \tanh c') \quad (\text{or without } W_{hr})

    Gates are stacked ``i, f, g, o`` along the first axis of ``w_ih``/``w_hh`` (``(4H, .)``).
    ``w_hr (P, H)`` is the optional projection of Sak et al. (2014), as ``proj_size`` in torch.
    """
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, dim=-1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(c_new)
    if w_hr is not None:
        h_new = F.linear(h_new, w_hr)
    return h_new, c_new


def gru_step(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    h_in: Tensor | None = None,
) -> Tensor:
    r"""GRU step, torch's variant (Cho et al. 2014 with the reset gate applied after ``W_hn``).

    .. math::
        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \\
        z &= \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})) \\
        h' &= (1 - z) \odot n + z \odot h

    Gates are stacked ``r, z, n`` (``(3H, .)``). ``h_in`` is ``h`` as it enters ``W_hh``
    (after recurrent dropout, Gal & Ghahramani 2016); the interpolation uses ``h`` itself.
    """
    gi = F.linear(x, w_ih, b_ih)
    gh = F.linear(h if h_in is None else h_in, w_hh, b_hh)
    return _gru_combine(gi, gh, h)


def _gru_combine(gi: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def _ln(a: Tensor, weight: Tensor, bias: Tensor, eps: float) -> Tensor:
    return F.layer_norm(a, (a.shape[-1],), weight, bias, eps)


def layer_norm_lstm_step(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    ln_ih: tuple[Tensor, Tensor],
    ln_hh: tuple[Tensor, Tensor],
    ln_c: tuple[Tensor, Tensor],
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor]:
    r"""Layer-normalised LSTM step (Ba, Kiros & Hinton 2016, section 3.1, eq. 20-22).

    .. math::
        (i, f, g, o) &= \mathrm{LN}(W_{ih} x) + \mathrm{LN}(W_{hh} h) + b_{ih} + b_{hh} \\
        c' &= \sigma(f) \odot c + \sigma(i) \odot \tanh(g) \\
        h' &= \sigma(o) \odot \tanh(\mathrm{LN}(c'))

    Each LN normalises the whole pre-activation vector (``4H`` or ``H``) with its own gain
    and bias (``ln_ih``, ``ln_hh``, ``ln_c`` are ``(weight, bias)`` pairs).
    """
    gates = _ln(F.linear(x, w_ih), *ln_ih, eps) + _ln(F.linear(h, w_hh), *ln_hh, eps)
    if b_ih is not None:
        gates = gates + b_ih
    if b_hh is not None:
        gates = gates + b_hh
    i, f, g, o = gates.chunk(4, dim=-1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(_ln(c_new, *ln_c, eps))
    return h_new, c_new


def layer_norm_gru_step(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    ln_ih: tuple[Tensor, Tensor],
    ln_hh: tuple[Tensor, Tensor],
    eps: float = 1e-5,
    h_in: Tensor | None = None,
) -> Tensor:
    r"""Layer-normalised GRU step (Ba et al. 2016), torch's GRU variant.

    .. math::
        a &= \mathrm{LN}(W_{ih} x) + b_{ih}, \qquad b = \mathrm{LN}(W_{hh} h) + b_{hh} \\
        r &= \sigma(a_r + b_r), \quad z = \sigma(a_z + b_z), \quad
        n = \tanh(a_n + r \odot b_n) \\
        h' &= (1 - z) \odot n + z \odot h

    ``h_in`` as in :func:`gru_step`.
    """
    gi = _ln(F.linear(x, w_ih), *ln_ih, eps)
    gh = _ln(F.linear(h if h_in is None else h_in, w_hh), *ln_hh, eps)
    if b_ih is not None:
        gi = gi + b_ih
    if b_hh is not None:
        gh = gh + b_hh
    return _gru_combine(gi, gh, h)
