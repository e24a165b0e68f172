"""Plots (matplotlib, Agg backend: no display needed), written as PNG files."""

from .attention import plot_attention as plot_attention
from .forecast import plot_forecast as plot_forecast

__all__ = ["plot_attention", "plot_forecast"]
