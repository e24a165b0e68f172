"""The probes of ``rnnkit diagnose``: one per task, DATA -> (network, one batch, loss).

A probe reads DATA the way the task's ``eval`` command reads it, picks ``batch_size``
examples spread over it (or the longest ones, where the length is what the report is
about), and hands the trained network, the batch and the training loss to
:func:`rnnkit.diagnostics.report.write_report`. ``options`` are the ``--option KEY=VALUE``
pairs of the command line (strings), for what the data needs besides its path
(``text_col``, ``src_lang``, ``split``, ...); a key a probe does not know is an error.

They live with the command line (the top layer): they reach into the tasks, which
``rnnkit.diagnostics`` (a lower layer) must not import.

Which layers show up: every rnnkit recurrent layer the network runs as a layer (over a
whole sequence). Cells stepped one at a time, as the translation decoder's are, are not
traced; their gradients still reach the encoder's states, which are.
"""

from __future__ import annotations

from typing import Any

import torch

from ..diagnostics.report import Probe


def _options(options: dict[str, str], allowed: dict[str, Any], task: str) -> dict[str, Any]:
    """``allowed`` (name -> default) updated with ``options``; unknown names are errors."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"--option {unknown[0]} is not one a {task} model reads (known: "
                         f"{known})")  # fmt: skip
    return {**allowed, **options}


def _spread(n: int, k: int) -> torch.Tensor:
    """``min(k, n)`` distinct indices spread evenly over ``range(n)``."""
    return torch.linspace(0, n - 1, min(k, n)).round().long().unique()


def textgen_probe(gen, data: str, batch_size: int, seq_len: int, **options: str) -> Probe:
    """A text generator on ``batch_size`` windows of ``seq_len`` tokens spread over DATA
    (a text file, a folder or ``ptb``, its test split)."""
    from ..data import chunk_windows, read_splits, read_text
    from ..tasks._lm import lm_loss

    _options(options, {}, "textgen")
    text = read_splits("ptb")["test"] if data == "ptb" else read_text(data)
    ids = gen._encode(text, "diagnosis text", drop_unknown=True)
    xs, ys = chunk_windows(ids, seq_len)
    full = int((ys[:, -1] != -100).sum())  # windows without right padding
    if full < 1:
        raise ValueError(
            f"the text has {ids.numel()} tokens, too few for one window of --seq-len {seq_len}; "
            "use a smaller --seq-len or more text"
        )
    pick = _spread(full, batch_size)
    desc = (f"Probe batch: {len(pick)} windows of {seq_len} {gen.level} tokens from {data}, "
            "each from a zero state.")  # fmt: skip
    return Probe(gen.model, (xs[pick], ys[pick]), lm_loss, desc)


def classify_probe(clf, data: str, batch_size: int, seq_len: int, **options: str) -> Probe:
    """A text classifier on the ``batch_size`` longest texts of DATA, all cut to the same
    number of tokens (at most ``seq_len``), so no sequence is padded. DATA as for
    ``rnnkit classify eval``; options ``text_col``, ``label_col``, ``format``, ``encoding``."""
    from ..tasks._classifier import pad_batch
    from ..tasks.classify import _make_loss
    from .classify import _read

    o = _options(options, {"text_col": None, "label_col": None, "format": "auto",
                           "encoding": "utf-8"}, "classify")  # fmt: skip
    texts, labels = _read(data, "test", o["text_col"], o["label_col"], o["format"], o["encoding"])
    known = [i for i, v in enumerate(labels) if v in clf.classes]
    if not known:
        raise ValueError(f"none of the labels in {data} is one the model knows ({clf.classes})")
    ids, _ = clf._encode([texts[i] for i in known])
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))[:batch_size]
    T = min(seq_len, len(ids[order[-1]]))
    if T < 2:
        raise ValueError(f"the {len(order)} longest texts of {data} have fewer than 2 tokens; "
                         "diagnose needs longer texts")  # fmt: skip
    x = pad_batch([ids[i][:T] for i in order])
    y = torch.tensor([clf.classes.index(labels[known[i]]) for i in order])
    desc = (
        f"Probe batch: the {len(order)} longest texts of {data}, cut to their first {T} "
        "tokens; loss: the classifier's cross-entropy on their labels."
    )
    return Probe(clf._ready(), (x, y), _make_loss(None), desc)


def forecast_probe(fc, data: str, batch_size: int, seq_len: int, **options: str) -> Probe:
    """A forecaster on ``batch_size`` windows (lookback + horizon) spread over DATA, a CSV
    like its training data; the sequence length is the model's (its lookback, or the number
    of segments for ``architecture="segment"``), not ``seq_len``."""
    from ..data.series import check_length, window_starts
    from ..tasks._forecast_nets import make_loss

    _options(options, {}, "forecast")
    model = fc._ready()
    s = fc._series(data, "diagnosis data")
    check_length(len(s), fc.lookback, fc.horizon, "the diagnosis data")
    starts = window_starts(len(s), fc.lookback, fc.horizon)
    starts = starts[_spread(len(starts), batch_size).numpy()]
    y_past, cov, known, y_future = fc._windows(fc._tensors(s), starts)
    desc = (
        f"Probe batch: {len(starts)} windows of {fc.lookback} inputs and {fc.horizon} "
        f"targets spread over {data}; loss: the training loss ({model.config.head} head)."
    )
    return Probe(model, ((y_past, cov, known, None), y_future), make_loss(model.config), desc)


def speech_probe(rec, data: str, batch_size: int, seq_len: int, **options: str) -> Probe:
    """A speech recognizer on ``batch_size`` recordings spread over DATA (as for ``rnnkit
    speech eval``: a manifest, a folder, or ``fsdd``, the test part of option ``split``,
    default ``official``); the sequence length is that of the audio, not ``seq_len``."""
    from ..tasks._acoustic import ctc_loss
    from ..tasks.speech import _collate, _speakers

    o = _options(options, {"split": None}, "speech")
    items = rec._items(data, o["split"], part=1)
    chosen = [items[i] for i in _spread(len(items), batch_size).tolist()]
    pairs = rec._pairs(chosen)
    # a per-speaker model: each speaker's recordings in the batch normalised together
    normalised = rec._features_of([a for a, _ in pairs], _speakers(chosen))
    feats = [(f, rec._encode(t)) for f, (_, t) in zip(normalised, pairs)]
    x, y = _collate(feats)
    seconds = float(x[1].float().mean()) * rec.feature_config.hop_ms / 1000
    desc = (
        f"Probe batch: {len(feats)} recordings spread over {data} ({x[0].shape[1]} "
        f"feature frames at most, {seconds:.2f} s on average); loss: CTC."
    )
    return Probe(rec._ready(), (x, y), ctc_loss, desc)


def translate_probe(tr, data: str, batch_size: int, seq_len: int, **options: str) -> Probe:
    """A translator on the ``batch_size`` pairs of DATA with the longest sources of at most
    ``seq_len`` tokens (DATA: a TSV of pairs, or ``multi30k`` with options ``src_lang`` and
    ``tgt_lang``, its ``split`` (``test``); ``src_col``, ``tgt_col``, ``encoding``).
    Only the encoder is traced: the decoder steps its cells one at a time."""
    from ..data.parallel import read_pairs
    from ..tasks._seq2seq import make_batch, make_loss
    from ..tasks.translate import _check_pairs

    o = _options(options, {"src_lang": None, "tgt_lang": None, "split": "test", "src_col": "0",
                           "tgt_col": "1", "encoding": "utf-8"}, "translate")  # fmt: skip
    try:
        cols = int(o["src_col"]), int(o["tgt_col"])
    except ValueError:
        raise ValueError(f"expected whole numbers for src_col and tgt_col, got "
                         f"{o['src_col']!r}, {o['tgt_col']!r}") from None  # fmt: skip
    splits = read_pairs(data, *cols, o["src_lang"], o["tgt_lang"], o["encoding"])
    if "all" not in splits and o["split"] not in splits:
        raise ValueError(f"expected --option split= one of {sorted(splits)}, got {o['split']!r}")
    pairs = _check_pairs(splits.get("all") or splits[o["split"]], "diagnosis")
    src, tgt = tr._encode_pairs(pairs)
    fits = [i for i in range(len(src)) if len(src[i]) + 1 <= seq_len]  # + </s>
    if not fits:
        raise ValueError(f"every source sentence of {data} is longer than --seq-len {seq_len} "
                         "tokens; raise --seq-len")  # fmt: skip
    order = sorted(fits, key=lambda i: -len(src[i]))[:batch_size]
    x, y = make_batch([src[i] for i in order], [tgt[i] for i in order])
    model = tr._ready()
    desc = (
        f"Probe batch: the {len(order)} pairs of {data} with the longest sources up to "
        f"{seq_len} tokens ({int(x[1].min())}-{int(x[1].max())} source tokens); loss: "
        "cross-entropy of the references under teacher forcing. Only the encoder is traced."
    )
    return Probe(model, (x, y), make_loss(model, 0.0), desc)
