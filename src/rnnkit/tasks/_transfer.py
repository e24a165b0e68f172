"""Start a classifier from an rnnkit word-level language model (ULMFiT, Howard & Ruder 2018).

What is taken from a :class:`~rnnkit.TextGenerator` model directory:

- **embedding**: the classifier's vocabulary comes from its own training texts; each of its
  words that the language model knows gets the LM's row. A number the LM does not know
  (``1930s``, ``42``) gets the row of ``N`` when the LM has one (Penn Treebank writes every
  number as ``N``); every other new word starts at the mean of the LM's embedding rows (and
  ``<eos>``/``<unk>`` map to the LM's own).
- **encoder**: the LM's recurrent layers are copied into the classifier's *forward*
  direction, weight for weight (same cell, sizes, layers and layer norm: the classifier takes
  them from the LM's config). A forward LM reads left to right only, so a bidirectional
  classifier's *backward* direction keeps its fresh initialisation; pass
  ``bidirectional=False`` for the pure ULMFiT encoder (the LM's direction only). A
  *backward* LM (``TextGenerator(reverse=True)``, ULMFiT's backward model) goes into the
  backward direction instead, and the forward one keeps its fresh start; it needs a
  bidirectional classifier.
- the LM's output layer is not used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from .. import io

_NUMBER = re.compile(r"^[+-]?\d[\d,.:/-]*(s|th|st|nd|rd)?$")


def lm_model_options(lm_dir: str | Path) -> dict[str, Any]:
    """The classifier options that must match the LM at ``lm_dir`` (checked to be a
    word-level rnnkit text generator)."""
    config = io.read_config(lm_dir)
    if config.get("task") != "textgen":
        raise ValueError(
            f"pretrained={str(lm_dir)!r} holds a {config.get('task')!r} model; expected a "
            "TextGenerator model directory (rnnkit textgen train --level word ...)"
        )
    if config.get("level") != "word":
        raise ValueError(
            f"pretrained={str(lm_dir)!r} is a {config.get('level')!r}-level language model; "
            "transfer needs a word-level one (rnnkit textgen train --level word ...)"
        )
    m = config["model"]
    if m.get("residual"):
        raise ValueError(
            f"pretrained={str(lm_dir)!r} is a residual language model; transfer copies a "
            "plain stack's weights into the classifier's encoder: train the LM without "
            "--residual"
        )
    return {"cell": m["cell"], "hidden_size": m["hidden_size"], "num_layers": m["num_layers"],
            "embedding_size": m["embedding_size"] or m["hidden_size"],
            "layer_norm": m["layer_norm"]}  # fmt: skip


@torch.no_grad()
def init_from_lm(net: Any, words: list[str], lm_dir: str | Path) -> dict[str, Any]:
    """Copy the LM's embedding rows (mapped by word) and recurrent weights into ``net``.

    Returns a report: how many of the classifier's words the LM knew.
    """
    from .textgen import TextGenerator

    gen = TextGenerator.load(lm_dir)
    lm, stoi = gen.model, gen.tokenizer.stoi
    table = lm.embedding.weight
    mean = table.mean(0)
    found = numbers = 0
    rows = net.embedding.weight
    for i, word in enumerate(words):
        j = stoi.get(word)
        if j is None and "N" in stoi and _NUMBER.match(word):
            j, numbers = stoi["N"], numbers + 1
        elif j is not None:
            found += 1
        rows[i] = table[j] if j is not None else mean
    copied = []
    target = dict(net.rnn.named_parameters())
    suffix = "_reverse" if gen.reverse else ""  # torch's names for the backward direction
    if gen.reverse and not net.config.bidirectional:
        raise ValueError(
            f"pretrained={str(lm_dir)!r} is a backward (reverse) language model; its weights "
            "belong to a backward direction: use bidirectional=True"
        )
    for name, p in lm.rnn.named_parameters():
        if name + suffix not in target or target[name + suffix].shape != p.shape:
            raise ValueError(f"the LM's {name} {tuple(p.shape)} does not fit the classifier")
        target[name + suffix].copy_(p)
        copied.append(name + suffix)
    return {"pretrained": str(lm_dir), "vocab": len(words), "words_from_lm": found,
            "numbers_as_N": numbers, "new_words": len(words) - found - numbers,
            "encoder_weights": len(copied),
            "direction": "backward" if gen.reverse else "forward"}  # fmt: skip
