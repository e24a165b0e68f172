"""rnnkit: recurrent neural networks on PyTorch."""

from . import functional as functional
from . import kernels as kernels
from . import nn as nn
from .nn import GRU as GRU
from .nn import LSTM as LSTM
from .nn import RNN as RNN
from .nn import LSTMState as LSTMState

__version__ = "0.1.0"

__all__ = ["GRU", "LSTM", "RNN", "LSTMState", "__version__", "functional", "kernels", "nn"]
