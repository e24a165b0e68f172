"""GRU cell and layer (Cho et al. 2014), torch's variant."""

from __future__ import annotations

from torch import Tensor, nn

from ..functional import cells as C
from ._base import RecurrentBase, RecurrentConfig
from ._cell import CellBase


class GRUCell(CellBase):
    r"""One GRU step, torch.nn's weights and gate order (``r, z, n``).

    .. math::
        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \quad
        h' = (1 - z) \odot n + z \odot h

    ``cell(x, h) -> (h', h')``: the output and the state, as every rnnkit cell.
    """

    MODE = "GRU"
    TORCH_CLASS = nn.GRUCell

    def forward(self, x: Tensor, state: Tensor | None = None):
        self._check_input(x)
        h = self._check(x, state, self.hidden_size, "h")
        if self.layer_norm:
            h = C.layer_norm_gru_step(
                x,
                h,
                self.weight_ih,
                self.weight_hh,
                self.bias_ih,
                self.bias_hh,
                self._ln("ih"),
                self._ln("hh"),
                self.layer_norm_eps,
            )
        else:
            h = C.gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h, h


class GRU(RecurrentBase):
    r"""Multi-layer, optionally bidirectional GRU with torch.nn's arguments and weights.

    Drop-in for ``torch.nn.GRU`` except that **``batch_first=True`` is the default**.
    Per layer and direction (gates stacked ``r, z, n``):

    .. math::
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \quad
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})), \quad
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Regularizers, ``impl``, ``init`` and ``forget_bias`` as :class:`rnnkit.nn.LSTM`
    (``zoneout`` takes one rate; the "forget" gate of a GRU is ``z``, which keeps ``h``).
    """

    MODES = ("GRU",)
    TORCH_CLASS = nn.GRU

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        weight_drop: float = 0.0,
        zoneout: float = 0.0,
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
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
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
