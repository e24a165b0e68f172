"""LSTM cell and layer (Hochreiter & Schmidhuber 1997; Gers et al. 2000 forget gate)."""

from __future__ import annotations

from torch import Tensor, nn

from ..functional import cells as C
from ._base import RecurrentBase, RecurrentConfig
from ._cell import CellBase
from ._state import LSTMState


class LSTMCell(CellBase):
    r"""One LSTM step, torch.nn's weights and gate order.

    .. math::
        i, f, g, o &= \sigma, \sigma, \tanh, \sigma\,(W_{ih} x + b_{ih} + W_{hh} h + b_{hh}) \\
        c' &= f \odot c + i \odot g, \qquad h' = o \odot \tanh(c')

    Variables: ``weight_ih (4H, D)``, ``weight_hh (4H, H)``, ``bias_ih``, ``bias_hh (4H,)``,
    gates stacked ``i, f, g, o``. With ``layer_norm=True`` the cell of Ba et al. (2016):
    :func:`rnnkit.functional.cells.layer_norm_lstm_step`.

    Unlike ``torch.nn.LSTMCell`` (which returns ``(h, c)``), ``cell(x, state)`` returns
    ``(h, LSTMState(h, c))``: the output and the state, as every rnnkit cell and
    ``layer.step()`` do.
    """

    MODE = "LSTM"
    TORCH_CLASS = nn.LSTMCell

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None):
        self._check_input(x)
        h = self._check(x, None if state is None else state[0], self.hidden_size, "h")
        c = self._check(x, None if state is None else state[1], self.hidden_size, "c")
        if self.layer_norm:
            h, c = C.layer_norm_lstm_step(
                x,
                h,
                c,
                self.weight_ih,
                self.weight_hh,
                self.bias_ih,
                self.bias_hh,
                self._ln("ih"),
                self._ln("hh"),
                self._ln("c"),
                self.layer_norm_eps,
            )
        else:
            h, c = C.lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h, LSTMState(h, c)


class LSTM(RecurrentBase):
    r"""Multi-layer, optionally bidirectional LSTM with torch.nn's arguments and weights.

    Drop-in for ``torch.nn.LSTM`` except that **``batch_first=True`` is the default**
    (inputs ``(B, T, D)``); pass ``batch_first=False`` for torch's ``(T, B, D)``.

    Per layer and direction, with :math:`x_t` the layer's input:

    .. math::
        i, f, g, o &= \sigma, \sigma, \tanh, \sigma\,(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1}
                      + b_{hh}) \\
        c_t &= f \odot c_{t-1} + i \odot g, \qquad h_t = W_{hr}(o \odot \tanh c_t)

    (:math:`W_{hr}` only with ``proj_size > 0``, Sak et al. 2014.) Parameters are torch's:
    ``weight_ih_l{k}[_reverse] (4H, D)``, ``weight_hh_l{k} (4H, proj_size or H)``,
    ``bias_ih_l{k}``, ``bias_hh_l{k} (4H,)``, ``weight_hr_l{k} (proj_size, H)``.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        proj_size: as ``torch.nn.LSTM`` (``dropout`` acts between layers).
        input_dropout: variational dropout on each layer's input, one mask per sequence.
        recurrent_dropout: variational dropout on ``h`` fed back into ``W_hh``.
        weight_drop: DropConnect on ``weight_hh``, one mask per forward call.
        zoneout: keep-previous probability, one rate or ``(h_rate, c_rate)``.
        layer_norm: use the layer-normalised cell (Ba et al. 2016).
        impl: ``"auto"``, ``"native"``, ``"loop"`` or ``"reference"``
            (see :func:`rnnkit.kernels.explain`).
        init: ``"default"`` (torch's), ``"orthogonal"`` or ``"chrono"`` (with
            ``chrono_t_max``, Tallec & Ollivier 2018); see :mod:`rnnkit.nn.init`.
        forget_bias: start the forget-gate bias at this value (Jozefowicz et al. 2015: 1).

    ``forward(x, state=None, lengths=None) -> (output, LSTMState(h, c))``;
    ``step(x_t, state=None) -> (y_t, LSTMState)`` for streaming.
    """

    MODES = ("LSTM",)
    TORCH_CLASS = nn.LSTM

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        weight_drop: float = 0.0,
        zoneout: float | tuple[float, float] = 0.0,
        layer_norm: bool = False,
        layer_norm_eps: float = 1e-5,
        impl: str = "auto",
        init: str = "default",
        forget_bias: float | None = None,
        chrono_t_max: float | None = None,
        device=None,
        dtype=None,
    ) -> None:
        cfg = RecurrentConfig(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            input_dropout,
            recurrent_dropout,
            weight_drop,
            zoneout,
            layer_norm,
            layer_norm_eps,
            impl,
            init,
            forget_bias,
            chrono_t_max,
        )
        super().__init__(cfg, device=device, dtype=dtype)

    @classmethod
    def _from_torch_kwargs(cls, m):
        return {**super()._from_torch_kwargs(m), "proj_size": m.proj_size}
