"""Plots (matplotlib, Agg backend: files, no display needed)."""

from .attention import plot_attention as plot_attention

__all__ = ["plot_attention"]
