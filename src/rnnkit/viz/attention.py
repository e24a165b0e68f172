"""Attention heat maps: which source tokens each output token looked at."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def plot_attention(
    weights: Any,
    src_tokens: list[str],
    tgt_tokens: list[str],
    path: str | os.PathLike,
    title: str | None = None,
) -> Path:
    """Write the ``(len(tgt_tokens), len(src_tokens))`` matrix ``weights`` as a PNG heat map
    (rows: output tokens, columns: source tokens) to ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    w = np.asarray(weights, dtype=float)
    if w.shape != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(
            f"expected weights of shape ({len(tgt_tokens)}, {len(src_tokens)}) (target x "
            f"source tokens), got {w.shape}"
        )
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"expected a .png path for the attention plot, got {path}")
    fig_w = max(4.0, 0.45 * len(src_tokens) + 1.5)
    fig_h = max(3.0, 0.4 * len(tgt_tokens) + 1.2)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    try:
        im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(src_tokens)), labels=src_tokens, rotation=60, ha="right")
        ax.set_yticks(range(len(tgt_tokens)), labels=tgt_tokens)
        ax.set_xlabel("source")
        ax.set_ylabel("output")
        if title:
            ax.set_title(title)
        fig.colorbar(im, ax=ax, fraction=0.04)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
