"""Elman RNN cell and layer (Elman 1990), tanh or ReLU."""

from __future__ import annotations

from torch import Tensor, nn

from ..functional import cells as C
from ._base import RecurrentBase, RecurrentConfig
from ._cell import CellBase

_NONLINEARITIES = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}


def _mode(nonlinearity: str) -> str:
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _NONLINEARITIES[nonlinearity]


class RNNCell(CellBase):
    r"""One Elman step: :math:`h' = \phi(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`,
    :math:`\phi` = tanh or ReLU. ``cell(x, h) -> (h', h')``."""

    TORCH_CLASS = nn.RNNCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
        *,
        init: str = "default",
    ) -> None:
        self.MODE = _mode(nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype, init=init)

    def forward(self, x: Tensor, state: Tensor | None = None):
        self._check_input(x)
        h = self._check(x, state, self.hidden_size, "h")
        fn = C.rnn_tanh_step if self.MODE == "RNN_TANH" else C.rnn_relu_step
        h = fn(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h, h


class RNN(RecurrentBase):
    r"""Multi-layer, optionally bidirectional Elman RNN with torch.nn's arguments and weights.

    Drop-in for ``torch.nn.RNN`` except that **``batch_first=True`` is the default**.
    Per layer and direction: :math:`h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`
    with :math:`\phi` = ``nonlinearity`` (tanh or relu). Regularizers and ``impl`` as
    :class:`rnnkit.nn.LSTM` (``zoneout`` takes one rate; no ``layer_norm``).
    ``init``: ``"default"``, ``"orthogonal"``, or ``"identity"`` with ``nonlinearity="relu"``
    (IRNN, Le et al. 2015); see :mod:`rnnkit.nn.init`.
    """

    MODES = ("RNN_TANH", "RNN_RELU")
    TORCH_CLASS = nn.RNN

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        weight_drop: float = 0.0,
        zoneout: float = 0.0,
        impl: str = "auto",
        init: str = "default",
        forget_bias: float | None = None,
        chrono_t_max: float | None = None,
        device=None,
        dtype=None,
    ) -> None:
        cfg = RecurrentConfig(
            _mode(nonlinearity),
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
            False,
            1e-5,
            impl,
            init,
            forget_bias,
            chrono_t_max,
        )
        super().__init__(cfg, device=device, dtype=dtype)

    @property
    def nonlinearity(self) -> str:
        return self.config.mode[4:].lower()

    def extra_repr(self) -> str:
        base = super().extra_repr()
        return base if self.nonlinearity == "tanh" else f"{base}, nonlinearity='relu'"

    @classmethod
    def _from_torch_kwargs(cls, m):
        return {**super()._from_torch_kwargs(m), "nonlinearity": m.nonlinearity}
