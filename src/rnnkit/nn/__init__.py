"""Recurrent modules: cells, layers, state."""

from ._base import RecurrentBase as RecurrentBase
from ._base import RecurrentConfig as RecurrentConfig
from ._state import LSTMState as LSTMState
from .attention import Attention as Attention
from .gru import GRU as GRU
from .gru import GRUCell as GRUCell
from .lstm import LSTM as LSTM
from .lstm import LSTMCell as LSTMCell
from .rnn import RNN as RNN
from .rnn import RNNCell as RNNCell

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Attention",
    "GRUCell",
    "LSTMCell",
    "LSTMState",
    "RNNCell",
    "RecurrentBase",
    "RecurrentConfig",
]
