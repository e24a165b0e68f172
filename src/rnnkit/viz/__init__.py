"""Plots (matplotlib, Agg backend: no display needed), written as PNG files."""

from .forecast import plot_forecast as plot_forecast

__all__ = ["plot_forecast"]
