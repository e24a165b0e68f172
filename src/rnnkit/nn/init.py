r"""Initialisations that keep gradients alive through time (``init=``, ``forget_bias=``).

Every rnnkit cell and layer starts from torch.nn's initialisation, every weight and bias
drawn from :math:`U(-1/\sqrt H, 1/\sqrt H)`, then applies the options below to each layer
and direction (:func:`apply_init`). The options are part of the layer's config, so a saved
model rebuilds with the same scheme.

``init`` (the recurrent weights ``weight_hh``, and for ``"chrono"`` the gate biases):

- ``"default"``: torch.nn's uniform draw, unchanged.
- ``"orthogonal"``: each gate's ``(H, H)`` block of ``weight_hh`` a random orthogonal matrix
  (Saxe, McClelland & Ganguli 2014): :math:`\|W_{hh} v\| = \|v\|`, so the linear part of the
  recurrence neither shrinks nor grows a gradient.
- ``"identity"``: ``weight_hh = I`` and zero biases, for a ReLU RNN (IRNN; Le, Jaitly &
  Hinton 2015, section 3): at the start the state is copied forward unchanged.
  Elman RNNs only.
- ``"chrono"``: chrono initialisation (Tallec & Ollivier 2018, section 4, eq. 17): the
  forget-gate bias :math:`b_f = \log(u)`, :math:`u \sim U(1, T_{max} - 1)` per unit, and the
  input-gate bias :math:`b_i = -b_f`, so unit ``j`` starts with a memory of about
  :math:`u_j` steps, spread over ``1 .. T_max`` (set ``chrono_t_max`` to the longest
  dependency you expect). For a GRU the gate that keeps the old state is ``z``
  (:math:`h' = (1 - z) n + z h`), so ``b_z = \log(u)``. Weights stay torch's. LSTM and GRU.

``forget_bias=b`` (Gers, Schmidhuber & Cummins 2000; Jozefowicz, Zaremba & Sutskever 2015,
section 3.2 recommend ``b = 1``): the bias of the forget gate (GRU: the keep gate ``z``)
starts at ``b``. LSTM and GRU.

Biases come in two vectors (``bias_ih`` and ``bias_hh``, as in torch) that the cell adds;
the options set the gate's slice of ``bias_ih`` to the value and of ``bias_hh`` to zero, so
the sum is exactly the value.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

INITS = ("default", "orthogonal", "identity", "chrono")

# The slice (in units of H) of the gate that keeps the old state, and of the gate that
# writes new content, in torch's gate order (LSTM i,f,g,o; GRU r,z,n).
_KEEP_GATE = {"LSTM": 1, "GRU": 1}
_INPUT_GATE = {"LSTM": 0}


def check_init(
    mode: str, init: str, forget_bias: float | None, chrono_t_max: float | None, bias: bool
) -> None:
    """Raise ``ValueError`` (saying how to fix it) for an option the cell cannot take."""
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    gated = mode in _KEEP_GATE
    if init == "identity" and gated:
        raise ValueError(
            f"init='identity' (IRNN) is for Elman RNNs, got a {mode} layer; use "
            "init='orthogonal' or init='chrono' for gated cells"
        )
    if forget_bias is not None:
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)):
            raise ValueError(f"forget_bias must be a number, got {forget_bias!r}")
        if not math.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be finite, got {forget_bias!r}")
        if not gated:
            raise ValueError(f"forget_bias needs a gated cell (LSTM or GRU), got {mode}")
        if init == "chrono":
            raise ValueError("forget_bias and init='chrono' both set the forget bias; pick one")
    if init == "chrono":
        if not gated:
            raise ValueError(f"init='chrono' needs a gated cell (LSTM or GRU), got {mode}")
        if chrono_t_max is None:
            raise ValueError(
                "init='chrono' needs chrono_t_max, the longest time lag to remember "
                "(e.g. the sequence length)"
            )
    if chrono_t_max is not None:
        if isinstance(chrono_t_max, bool) or not isinstance(chrono_t_max, (int, float)):
            raise ValueError(f"chrono_t_max must be a number, got {chrono_t_max!r}")
        if not chrono_t_max > 2:
            raise ValueError(f"chrono_t_max must be greater than 2, got {chrono_t_max!r}")
        if init != "chrono":
            raise ValueError(f"chrono_t_max is used by init='chrono' only, got init={init!r}")
    if (forget_bias is not None or init in ("chrono", "identity")) and not bias:
        what = "forget_bias" if forget_bias is not None else f"init={init!r}"
        raise ValueError(f"{what} sets biases, but the layer has bias=False")


@torch.no_grad()
def orthogonal_(weight_hh: Tensor, gates: int) -> Tensor:
    """Each gate's block of ``weight_hh (G*H, P)`` a random (semi-)orthogonal matrix."""
    for block in weight_hh.chunk(gates, dim=0):
        nn.init.orthogonal_(block)
    return weight_hh


@torch.no_grad()
def identity_(weight_hh: Tensor) -> Tensor:
    """``weight_hh = I`` (square, one gate)."""
    if weight_hh.shape[0] != weight_hh.shape[1]:
        raise ValueError(f"identity init needs a square weight_hh, got {tuple(weight_hh.shape)}")
    return nn.init.eye_(weight_hh)


def _gate(b: Tensor, index: int, H: int) -> Tensor:
    return b[index * H : (index + 1) * H]


@torch.no_grad()
def forget_bias_(bias_ih: Tensor, bias_hh: Tensor, mode: str, value: float) -> None:
    """Set the keep gate's total bias (``bias_ih + bias_hh``) to ``value``."""
    H = bias_ih.shape[0] // (4 if mode == "LSTM" else 3)
    _gate(bias_ih, _KEEP_GATE[mode], H).fill_(value)
    _gate(bias_hh, _KEEP_GATE[mode], H).zero_()


@torch.no_grad()
def chrono_bias_(
    bias_ih: Tensor, bias_hh: Tensor, mode: str, t_max: float, generator=None
) -> Tensor:
    r"""Chrono initialisation: keep-gate bias :math:`\log U(1, T_{max} - 1)`; for LSTM the
    input-gate bias its negative. Returns the keep-gate biases drawn."""
    H = bias_ih.shape[0] // (4 if mode == "LSTM" else 3)
    u = torch.rand(H, generator=generator, dtype=torch.float64) * (t_max - 2) + 1
    b = u.log().to(bias_ih)
    _gate(bias_ih, _KEEP_GATE[mode], H).copy_(b)
    _gate(bias_hh, _KEEP_GATE[mode], H).zero_()
    if mode in _INPUT_GATE:
        _gate(bias_ih, _INPUT_GATE[mode], H).copy_(-b)
        _gate(bias_hh, _INPUT_GATE[mode], H).zero_()
    return b


def init_cell_(
    mode: str,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    init: str = "default",
    forget_bias: float | None = None,
    chrono_t_max: float | None = None,
) -> None:
    """Apply ``init`` / ``forget_bias`` to one cell's parameters (after torch's draw)."""
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    if init == "orthogonal":
        orthogonal_(weight_hh, gates)
    elif init == "identity":
        identity_(weight_hh)
        with torch.no_grad():
            for b in (bias_ih, bias_hh):
                if b is not None:
                    b.zero_()
    elif init == "chrono":
        assert bias_ih is not None and bias_hh is not None and chrono_t_max is not None
        chrono_bias_(bias_ih, bias_hh, mode, chrono_t_max)
    if forget_bias is not None:
        assert bias_ih is not None and bias_hh is not None
        forget_bias_(bias_ih, bias_hh, mode, forget_bias)


def apply_init(layer) -> None:
    """Apply the layer's ``config.init`` / ``forget_bias`` to every layer and direction."""
    cfg = layer.config
    if cfg.init == "default" and cfg.forget_bias is None:
        return
    for l in range(cfg.num_layers):
        for d in range(layer.num_directions):
            w = layer.weights(l, d)
            init_cell_(cfg.mode, w.weight_hh, w.bias_ih, w.bias_hh, cfg.init, cfg.forget_bias,
                       cfg.chrono_t_max)  # fmt: skip


__all__ = [
    "INITS",
    "apply_init",
    "check_init",
    "chrono_bias_",
    "forget_bias_",
    "identity_",
    "init_cell_",
    "orthogonal_",
]
