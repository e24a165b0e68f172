"""Shared machinery of the single-step cells (``RNNCell``, ``LSTMCell``, ``GRUCell``).

Parameters are named and shaped as in ``torch.nn``'s cells (``weight_ih (G*H, D)``,
``weight_hh (G*H, H)``, ``bias_ih``, ``bias_hh``), plus ``ln_*`` gains and biases with
``layer_norm=True``. A cell answers ``cell(x_t, state) -> (y_t, state)``, the same contract
as a layer's ``step()``; the runner for whole sequences is the layer.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._base import GATES
from .init import check_init, init_cell_


class CellBase(nn.Module):
    MODE = ""
    TORCH_CLASS: type[nn.Module] = nn.Module

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        layer_norm: bool = False,
        layer_norm_eps: float = 1e-5,
        device=None,
        dtype=None,
        *,
        init: str = "default",
        forget_bias: float | None = None,
        chrono_t_max: float | None = None,
    ) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.layer_norm, self.layer_norm_eps = layer_norm, layer_norm_eps
        check_init(self.mode, init, forget_bias, chrono_t_max, bias)
        self.init, self.forget_bias, self.chrono_t_max = init, forget_bias, chrono_t_max
        f = {"device": device, "dtype": dtype}
        G = GATES[self.mode]
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size, **f))
        self.weight_hh = nn.Parameter(torch.empty(G * hidden_size, hidden_size, **f))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * hidden_size, **f))
            self.bias_hh = nn.Parameter(torch.empty(G * hidden_size, **f))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        if layer_norm:
            parts = [("ih", G * hidden_size), ("hh", G * hidden_size)]
            if G == 4:
                parts.append(("c", hidden_size))
            for part, size in parts:
                setattr(self, f"ln_{part}_weight", nn.Parameter(torch.ones(size, **f)))
                setattr(self, f"ln_{part}_bias", nn.Parameter(torch.zeros(size, **f)))
        self.reset_parameters()

    @property
    def mode(self) -> str:
        return self.MODE

    def reset_parameters(self) -> None:
        """torch.nn's initialisation, U(-1/sqrt(H), 1/sqrt(H)); layer-norm gains 1, biases 0;
        then ``init`` / ``forget_bias`` (:mod:`rnnkit.nn.init`)."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for name, p in self.named_parameters():
            if name.startswith("ln_"):
                nn.init.ones_(p) if name.endswith("_weight") else nn.init.zeros_(p)
            else:
                nn.init.uniform_(p, -stdv, stdv)
        init_cell_(self.mode, self.weight_hh, self.bias_ih, self.bias_hh, self.init,
                   self.forget_bias, self.chrono_t_max)  # fmt: skip

    def _ln(self, part: str) -> tuple[Tensor, Tensor]:
        return getattr(self, f"ln_{part}_weight"), getattr(self, f"ln_{part}_bias")

    def _check(self, x: Tensor, state: Tensor | None, size: int, name: str) -> Tensor:
        if state is None:
            return torch.zeros(x.shape[0], size, dtype=x.dtype, device=x.device)
        if tuple(state.shape) != (x.shape[0], size):
            raise ValueError(
                f"expected state {name} of shape {(x.shape[0], size)}, got {tuple(state.shape)}"
            )
        return state

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"expected x_t of shape (B, {self.input_size}), got {tuple(x.shape)}")

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.layer_norm:
            s += ", layer_norm=True"
        for name, default in (("init", "default"), ("forget_bias", None), ("chrono_t_max", None)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)!r}"
        return s

    @classmethod
    def from_torch(cls, m: nn.Module):
        """Copy a ``torch.nn`` cell exactly."""
        if not isinstance(m, cls.TORCH_CLASS):
            raise ValueError(
                f"expected a torch.nn.{cls.TORCH_CLASS.__name__}, got {type(m).__name__}"
            )
        p = m.weight_ih
        kw = {"nonlinearity": m.nonlinearity} if hasattr(m, "nonlinearity") else {}
        cell = cls(m.input_size, m.hidden_size, m.bias, **kw, device=p.device, dtype=p.dtype)
        cell.load_state_dict(m.state_dict())
        return cell

    def to_torch(self) -> nn.Module:
        """An equivalent ``torch.nn`` cell with copied weights (not for ``layer_norm``)."""
        if self.layer_norm:
            raise ValueError(
                "torch.nn has no layer-normalised cell; to_torch() needs layer_norm=False"
            )
        kw = {"nonlinearity": self.nonlinearity} if hasattr(self, "nonlinearity") else {}
        p = self.weight_ih
        m = self.TORCH_CLASS(
            self.input_size, self.hidden_size, self.bias, **kw, device=p.device, dtype=p.dtype
        )
        m.load_state_dict(self.state_dict())
        return m
