"""Search for the most likely translation: greedy decoding and batched beam search.

Both decode a batch of sources at once and share the same rules, so that beam search with
``beam_size=1`` *is* greedy decoding:

- ``<pad>`` and ``<s>`` are never produced; a hypothesis ends with ``</s>``;
- a source of ``n`` positions (``</s>`` included) allows at most
  ``max(1, ceil(max_len_ratio * n))`` output tokens (``</s>`` included): at the last one
  ``</s>`` is forced;
- ``no_repeat_ngram=k`` forbids any token that would repeat an n-gram of size ``k``
  already in the hypothesis (0: off).

Beam search (as fairseq's): every step keeps the ``2K`` best extensions of the ``K`` live
hypotheses; ``</s>`` extensions ranked among the first ``K`` are finished, the first ``K``
others live on. A sentence is done once it has ``K`` finished hypotheses. Finished ones are
ranked by GNMT's length-normalised score (Wu et al. 2016, section 7),

.. math::
    s(Y) = \\frac{\\log P(Y \\mid X)}{lp(Y)}, \\qquad lp(Y) = \\frac{(5 + |Y|)^\\alpha}{6^\\alpha},

``|Y|`` counting ``</s>``; ``alpha=0`` ranks by plain log-probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import torch
from torch import Tensor

from ..data.subword import BOS_ID, EOS_ID


@dataclass(frozen=True)
class Hypothesis:
    tokens: list[int]  # without </s>
    score: float  # length-normalised
    log_prob: float


def check_options(beam_size: int, alpha: float, n_best: int, max_len_ratio: float,
                  no_repeat_ngram: int) -> None:  # fmt: skip
    """The search options as :func:`beam_search` and :func:`greedy` take them, or a
    ``ValueError`` that names the one out of range (NaN and infinity included)."""
    for name, flag, value, low in (
        ("beam_size", "--beam", beam_size, 1),
        ("n_best", "--n-best", n_best, 1),
        ("no_repeat_ngram", "--no-repeat-ngram", no_repeat_ngram, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
            raise ValueError(f"expected {name} ({flag}) an integer >= {low}, got {value!r}")
    if n_best > beam_size:
        raise ValueError(f"expected 1 <= n_best <= beam_size ({beam_size}), got {n_best}")
    if not math.isfinite(alpha):
        raise ValueError(f"expected alpha (--alpha) a finite number (0: no length penalty), "
                         f"got {alpha!r}")  # fmt: skip
    if not (math.isfinite(max_len_ratio) and max_len_ratio > 0):
        raise ValueError(f"expected max_len_ratio (--max-len-ratio) a finite number > 0, "
                         f"got {max_len_ratio!r}")  # fmt: skip


def length_penalty(length: int, alpha: float) -> float:
    return ((5.0 + length) / 6.0) ** alpha if alpha else 1.0


def max_lengths(lengths: Tensor, ratio: float) -> list[int]:
    if not ratio > 0:
        raise ValueError(f"expected max_len_ratio > 0, got {ratio}")
    return [max(1, math.ceil(ratio * int(n))) for n in lengths]


def _ban_repeats(logp: Tensor, history: list[list[int]], n: int) -> None:
    """Set ``-inf`` on tokens that would complete an n-gram already in the row's history."""
    for row, hist in enumerate(history):
        if len(hist) < n:
            continue
        prefix = tuple(hist[len(hist) - n + 1 :]) if n > 1 else ()
        for i in range(len(hist) - n + 1):
            if tuple(hist[i : i + n - 1]) == prefix:
                logp[row, hist[i + n - 1]] = float("-inf")


def _force_eos(logp: Tensor, rows: list[int]) -> None:
    if rows:
        eos = logp[rows, EOS_ID].clone()
        logp[rows] = float("-inf")
        logp[rows, EOS_ID] = eos


@torch.no_grad()
def greedy(
    model, src: Tensor, lengths: Tensor, max_len_ratio: float = 2.0, no_repeat_ngram: int = 0
) -> list[Hypothesis]:
    """The arg-max token at every step, for each source of the batch."""
    B = src.shape[0]
    mem, state = model.encode(src, lengths)
    limits = max_lengths(lengths, max_len_ratio)
    y = torch.full((B,), BOS_ID, dtype=torch.long, device=src.device)
    out: list[list[int]] = [[] for _ in range(B)]
    score = [0.0] * B
    live = list(range(B))
    for t in range(max(limits)):
        att, state, _ = model.step(model.input_gates(y), state, mem)
        logp = model.log_probs(att)
        if no_repeat_ngram:
            _ban_repeats(logp, [out[b] if b in live else [] for b in range(B)], no_repeat_ngram)
        _force_eos(logp, [b for b in live if t == limits[b] - 1])
        best, y = logp.max(dim=-1)
        still = []
        toks, vals = y.tolist(), best.tolist()
        for b in live:
            out[b].append(toks[b])
            score[b] += vals[b]
            if toks[b] != EOS_ID:
                still.append(b)
        live = still
        if not live:
            break
    return [Hypothesis(o[:-1] if o and o[-1] == EOS_ID else o, s, s)
            for o, s in zip(out, score, strict=True)]  # fmt: skip


@torch.no_grad()
def beam_search(
    model,
    src: Tensor,
    lengths: Tensor,
    beam_size: int = 5,
    alpha: float = 0.6,
    n_best: int = 1,
    max_len_ratio: float = 2.0,
    no_repeat_ngram: int = 0,
) -> list[list[Hypothesis]]:
    """The ``n_best`` hypotheses of each source, best first (see the module docstring)."""
    if beam_size < 1:
        raise ValueError(f"expected beam_size >= 1, got {beam_size}")
    if not 1 <= n_best <= beam_size:
        raise ValueError(f"expected 1 <= n_best <= beam_size ({beam_size}), got {n_best}")
    B, K, dev = src.shape[0], beam_size, src.device
    mem, state = model.encode(src, lengths)
    expand = torch.arange(B, device=dev).repeat_interleave(K)
    mem, state = mem.select(expand), tuple(s.index_select(0, expand) for s in state)
    limits = max_lengths(lengths, max_len_ratio)
    scores = torch.full((B, K), float("-inf"), device=dev)
    scores[:, 0] = 0.0  # one real hypothesis to start with
    history: list[list[int]] = [[] for _ in range(B * K)]
    y = torch.full((B * K,), BOS_ID, dtype=torch.long, device=dev)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(max(limits)):
        att, state, _ = model.step(model.input_gates(y), state, mem)
        logp = model.log_probs(att)  # (B*K, V)
        V = logp.shape[1]
        if no_repeat_ngram:
            _ban_repeats(logp, history, no_repeat_ngram)
        _force_eos(logp, [b * K + k for b in range(B) if t == limits[b] - 1 for k in range(K)])
        cand = (scores.unsqueeze(2) + logp.view(B, K, V)).view(B, K * V)
        top_s, top_i = cand.topk(min(2 * K, K * V), dim=1)
        top_s, top_i = top_s.tolist(), top_i.tolist()
        next_scores = torch.full((B, K), float("-inf"), device=dev)
        parents = list(range(B * K))
        tokens = [EOS_ID] * (B * K)
        lp = length_penalty(t + 1, alpha)
        for b in range(B):
            if done[b]:
                continue
            kept = 0
            for rank, (s, i) in enumerate(zip(top_s[b], top_i[b], strict=True)):
                if s == float("-inf") or kept == K:
                    break
                parent, tok = b * K + i // V, i % V
                if tok == EOS_ID:
                    if rank < K:
                        finished[b].append(Hypothesis(list(history[parent]), s / lp, s))
                    continue
                parents[b * K + kept], tokens[b * K + kept] = parent, tok
                next_scores[b, kept] = s
                kept += 1
            if len(finished[b]) >= K or kept == 0:
                done[b] = True
        if all(done):
            break
        index = torch.tensor(parents, device=dev)
        history = [history[p] + [tok] for p, tok in zip(parents, tokens, strict=True)]
        state = tuple(s.index_select(0, index) for s in state)
        scores = next_scores
        y = torch.tensor(tokens, device=dev)
    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]
