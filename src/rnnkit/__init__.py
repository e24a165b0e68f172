"""rnnkit: recurrent neural networks on PyTorch."""

from . import functional as functional
from . import kernels as kernels
from . import nn as nn
from .nn import GRU as GRU
from .nn import LSTM as LSTM
from .nn import RNN as RNN
from .nn import LSTMState as LSTMState

__version__ = "0.1.0"

# Applications import Lightning and friends: load them on first use, so that
# `import rnnkit` for the layers stays light.
_LAZY = {
    "TextGenerator": "rnnkit.tasks.textgen",
    "load": "rnnkit.io",
    "Forecaster": "rnnkit.tasks.forecast",
    "SpeechRecognizer": "rnnkit.tasks.speech",
    "TextClassifier": "rnnkit.tasks.classify",
    "Translator": "rnnkit.tasks.translate",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")


__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Forecaster",
    "LSTMState",
    "SpeechRecognizer",
    "TextClassifier",
    "TextGenerator",
    "Translator",
    "__version__",
    "functional",
    "kernels",
    "load",
    "nn",
]
