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
  bidirectional classifier. In a bidirectional stack of several layers each upper layer
  reads both directions' outputs (twice the LM's width): the LM's input weights fill the
  columns that read its own direction's outputs, and the others start at 0.
- **both directions**: given a forward and a backward LM (same cell and sizes), each fills
  its own direction. Their embeddings differ, so the classifier's embedding is the two side
  by side (``embedding_size`` = the sum): a word's row is the forward LM's row followed by
  the backward LM's, and each direction's input weights read their own LM's block (the
  other block's weights start at 0 and learn from there).
- the LM's output layer is not used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .. import io

_NUMBER = re.compile(r"^[+-]?\d[\d,.:/-]*(s|th|st|nd|rd)?$")
_INPUT_WEIGHTS = re.compile(r"weight_ih_l(\d+)$")
_BACKWARD_NEEDS_BOTH_WAYS = (
    "a backward (reverse) language model's weights belong to a backward direction: "
    "use bidirectional=True"
)


def lm_dirs(pretrained: str | Path | Sequence[str | Path]) -> list[str]:
    """``pretrained`` as a list of one or two LM directories (checked to be one or two)."""
    one = isinstance(pretrained, (str, Path))
    dirs = [str(d) for d in ([pretrained] if one else pretrained)]
    if len(dirs) not in (1, 2):
        raise ValueError(
            f"pretrained takes one language model directory, or two (a forward one and a "
            f"backward one, textgen train --reverse); got {len(dirs)}"
        )
    return dirs


def _lm_config(lm_dir: str | Path) -> dict[str, Any]:
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
    if config["model"].get("residual"):
        raise ValueError(
            f"pretrained={str(lm_dir)!r} is a residual language model; transfer copies a "
            "plain stack's weights into the classifier's encoder: train the LM without "
            "--residual"
        )
    return config


def lm_model_options(
    pretrained: str | Path | Sequence[str | Path], bidirectional: bool = True
) -> dict[str, Any]:
    """The classifier options that must match the LM(s) at ``pretrained`` (checked to be
    word-level rnnkit text generators: one, or a forward and a backward one of the same
    cell and sizes, whose embeddings the classifier's embedding then concatenates)."""
    dirs = lm_dirs(pretrained)
    configs = [_lm_config(d) for d in dirs]
    if any(c.get("reverse") for c in configs) and not bidirectional:
        raise ValueError(_BACKWARD_NEEDS_BOTH_WAYS)
    options = []
    for c in configs:
        m = c["model"]
        options.append({"cell": m["cell"], "hidden_size": m["hidden_size"],
                        "num_layers": m["num_layers"], "layer_norm": m["layer_norm"],
                        "embedding_size": m["embedding_size"] or m["hidden_size"]})  # fmt: skip
    if len(configs) == 2:
        if sorted(bool(c.get("reverse")) for c in configs) != [False, True]:
            raise ValueError(
                "two pretrained language models must be one forward and one backward "
                "(textgen train --reverse), one for each direction of the classifier"
            )
        shape = [{k: v for k, v in o.items() if k != "embedding_size"} for o in options]
        if shape[0] != shape[1]:
            raise ValueError(
                f"the forward and backward language models differ: {shape[0]} against "
                f"{shape[1]}; train both with the same cell, sizes, layers and layer norm"
            )
        return {**shape[0], "embedding_size": sum(o["embedding_size"] for o in options)}
    return options[0]


@torch.no_grad()
def init_from_lm(
    net: Any, words: list[str], pretrained: str | Path | Sequence[str | Path]
) -> dict[str, Any]:
    """Copy the LM's embedding rows (mapped by word) and recurrent weights into ``net``; with
    a forward and a backward LM, each fills its own direction and its own block of the
    embedding's columns (the other direction's input weights on that block start at 0).

    Returns a report: how many of the classifier's words the LM(s) knew.
    """
    from .textgen import TextGenerator

    dirs = lm_dirs(pretrained)
    gens = sorted((TextGenerator.load(d) for d in dirs), key=lambda g: g.reverse)
    if any(g.reverse for g in gens) and not net.config.bidirectional:
        raise ValueError(_BACKWARD_NEEDS_BOTH_WAYS)
    rows, target = net.embedding.weight, dict(net.rnn.named_parameters())
    known = [True] * len(words)
    numbers = [False] * len(words)
    start, copied = 0, []
    for gen in gens:
        lm, stoi = gen.model, gen.tokenizer.stoi
        table = lm.embedding.weight
        cols = slice(start, start + table.shape[1])
        mean = table.mean(0)
        for i, word in enumerate(words):
            j = stoi.get(word)
            if j is None and "N" in stoi and _NUMBER.match(word):
                j, numbers[i] = stoi["N"], True
            known[i] = known[i] and word in stoi
            rows[i, cols] = table[j] if j is not None else mean
        suffix = "_reverse" if gen.reverse else ""  # torch's names for the backward direction
        for name, p in lm.rnn.named_parameters():
            t = target.get(name + suffix)
            block = _input_block(name, p, t, cols, gen.reverse)
            if block is not None:  # the t's columns that read what the LM's layer read
                t.zero_()
                t[:, block] = p
            elif t is not None and t.shape == p.shape:
                t.copy_(p)
            else:
                raise ValueError(f"the LM's {name} {tuple(p.shape)} does not fit the classifier")
            copied.append(name + suffix)
        start = cols.stop
    found = sum(known)
    n_numbers = sum(n and not k for n, k in zip(numbers, known, strict=True))
    directions = ["backward" if g.reverse else "forward" for g in gens]
    return {"pretrained": dirs if len(dirs) > 1 else dirs[0], "vocab": len(words),
            "words_from_lm": found,
            "numbers_as_N": n_numbers, "new_words": len(words) - found - n_numbers,
            "encoder_weights": len(copied),
            "direction": directions[0] if len(gens) == 1 else "both"}  # fmt: skip


def _input_block(name: str, p: torch.Tensor, t: torch.Tensor | None, cols: slice,
                 reverse: bool) -> slice | None:  # fmt: skip
    """Where the LM's input weights ``p`` go in the classifier's wider ``t``, or None when
    they are copied whole (same shape) or do not fit. Layer 0 reads the embedding, whose
    columns ``cols`` are this LM's; an upper layer of a bidirectional stack reads the
    forward outputs then the backward ones, and the LM's layer read its own direction's."""
    m = _INPUT_WEIGHTS.match(name)
    if m is None or t is None or t.shape == p.shape or t.shape[0] != p.shape[0]:
        return None
    if m.group(1) == "0":
        return cols if cols.stop - cols.start == p.shape[1] else None
    h = p.shape[1]
    if t.shape[1] != 2 * h:
        return None
    return slice(h, 2 * h) if reverse else slice(0, h)
