"""Pure math: one step of each cell and the reference time loop (the specification)."""

from .cells import gru_step as gru_step
from .cells import layer_norm_gru_step as layer_norm_gru_step
from .cells import layer_norm_lstm_step as layer_norm_lstm_step
from .cells import lstm_step as lstm_step
from .cells import rnn_relu_step as rnn_relu_step
from .cells import rnn_tanh_step as rnn_tanh_step
from .loop import reference_loop as reference_loop

__all__ = [
    "gru_step",
    "layer_norm_gru_step",
    "layer_norm_lstm_step",
    "lstm_step",
    "reference_loop",
    "rnn_relu_step",
    "rnn_tanh_step",
]
