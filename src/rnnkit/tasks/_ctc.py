r"""CTC decoding (greedy and prefix beam search), word language models for fusion, WER/CER.

CTC (Graves et al. 2006) scores a label sequence :math:`y` by summing over every frame
alignment that collapses to it (merge repeats, then drop blanks):
:math:`P(y|x) = \sum_{a \in B^{-1}(y)} \prod_t p_t(a_t)`.

Prefix beam search (Hannun et al. 2014, "First-pass large vocabulary continuous speech
recognition using bi-directional recurrent DNNs", alg. 1) keeps, for each prefix, the
probability of its alignments ending in blank, :math:`p_b`, and in a label, :math:`p_{nb}`,
so a prefix's probability is exact; only the pruning to ``beam`` prefixes per frame
approximates. Word-level fusion adds, each time a word is completed (a space, or the end),

.. math:: \text{score} = \log P_{ctc}(y|x) + \alpha \sum_i \log P_{lm}(w_i | w_{<i}) + \beta |w|

with ``lm_weight`` :math:`\alpha` and insertion bonus :math:`\beta`; a word list restricts
every prefix to spell a prefix of a listed word.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

NEG_INF = -math.inf


def _lse(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))


class WordLM(Protocol):
    """What fusion needs from a word language model."""

    end: str  # the end-of-sentence token

    def log_prob(self, word: str, history: tuple[str, ...]) -> float: ...


class NGramLM:
    r"""Word n-gram model with interpolated absolute discounting (Ney et al. 1994):

    .. math:: P(w|h) = \frac{\max(c(h w) - d, 0)}{c(h)} + \frac{d\,N_{1+}(h\,\cdot)}{c(h)}
              P(w|h')

    down to an add-one unigram over the vocabulary plus ``<unk>``; ``h'`` drops the oldest
    word. Sentences are the lines of the text, each ended by ``</s>``.
    """

    end = "</s>"

    def __init__(self, order: int = 2, discount: float = 0.75) -> None:
        if order < 1:
            raise ValueError(f"expected an n-gram order of at least 1, got {order}")
        if not 0 < discount < 1:
            raise ValueError(f"expected a discount in (0, 1), got {discount}")
        self.order, self.discount = order, discount
        self.counts: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        self.unigrams: Counter = Counter()

    def fit(self, sentences: Iterable[str]) -> NGramLM:
        n = 0
        for line in sentences:
            words = [*line.split(), self.end]
            if len(words) == 1:
                continue
            n += 1
            self.unigrams.update(words)
            padded = ["<s>"] * (self.order - 1) + words
            for i in range(self.order - 1, len(padded)):
                for k in range(1, self.order):
                    self.counts[tuple(padded[i - k : i])][padded[i]] += 1
        if n == 0:
            raise ValueError("expected some text to build the n-gram model from, got none")
        self._total = sum(self.unigrams.values())
        return self

    def log_prob(self, word: str, history: tuple[str, ...]) -> float:
        n = self.order - 1
        context = (("<s>",) * n + tuple(history))[len(history) :] if n else ()
        return math.log(self._prob(word, context))

    def _prob(self, word: str, history: tuple[str, ...]) -> float:
        if not history:
            return (self.unigrams[word] + 1) / (self._total + len(self.unigrams) + 1)
        lower = self._prob(word, history[1:])
        seen = self.counts.get(history)
        if not seen:
            return lower
        total = sum(seen.values())
        d = self.discount
        return max(seen[word] - d, 0) / total + d * len(seen) / total * lower


class TextGeneratorLM:
    """A word-level :class:`rnnkit.TextGenerator` as a fusion LM (its ``<eos>`` ends sentences)."""

    def __init__(self, generator: Any) -> None:
        if getattr(generator, "level", None) != "word":
            raise ValueError(
                f"expected a word-level TextGenerator as language model, got level "
                f"{getattr(generator, 'level', None)!r}; train one with --level word"
            )
        self.gen = generator
        self.end = "<eos>"
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    def log_prob(self, word: str, history: tuple[str, ...]) -> float:
        import torch

        tok = self.gen.tokenizer
        if history not in self._cache:
            ids = [tok.eos_id, *(tok.stoi.get(w, tok.unk_id) for w in history)]
            with torch.no_grad():
                logits, _ = self.gen.model(torch.tensor([ids]))
            self._cache[history] = torch.log_softmax(logits[0, -1].double(), -1).numpy()
        return float(self._cache[history][tok.stoi.get(word, tok.unk_id)])


def greedy_decode(log_probs: np.ndarray, blank: int = 0) -> list[int]:
    """Best label per frame, repeats merged, blanks dropped."""
    best = np.asarray(log_probs).argmax(-1)
    out, prev = [], blank
    for k in best.tolist():
        if k != blank and k != prev:
            out.append(k)
        prev = k
    return out


class CTCDecoder:
    """Turn per-frame log-probabilities ``(T, V)`` into text.

    Args:
        vocab: the label strings, ``vocab[blank]`` being the blank (unused).
        beam: 0 or 1 for greedy decoding; more for prefix beam search with that many prefixes.
        lexicon: words allowed (``None``: any spelling).
        lm: a :class:`WordLM` (``NGramLM``, ``TextGeneratorLM``) fused with ``lm_weight``.
        word_bonus: added per completed word (counters the LM's preference for few words).
        token_min_logp: skip labels below this log-probability at a frame (speed); ``None``
            considers all.
    """

    def __init__(self, vocab: Sequence[str], beam: int = 1, blank: int = 0,
                 lexicon: Iterable[str] | None = None, lm: WordLM | None = None,
                 lm_weight: float = 0.5, word_bonus: float = 0.0,
                 token_min_logp: float | None = -12.0) -> None:  # fmt: skip
        if beam < 0:
            raise ValueError(f"expected beam >= 0 (0 or 1: greedy), got {beam}")
        self.vocab, self.blank, self.beam = list(vocab), blank, beam
        self.space = self.vocab.index(" ") if " " in self.vocab else -1
        self.lexicon = None if lexicon is None else {w for w in lexicon if w}
        if self.lexicon is not None and not self.lexicon:
            raise ValueError("the word list is empty; give at least one word")
        self.prefixes = (
            None
            if self.lexicon is None
            else {w[:i] for w in self.lexicon for i in range(len(w) + 1)}
        )
        self.lm, self.lm_weight, self.word_bonus = lm, lm_weight, word_bonus
        self.token_min_logp = token_min_logp

    @property
    def uses_words(self) -> bool:
        return self.lexicon is not None or self.lm is not None

    def text(self, labels: Sequence[int]) -> str:
        return " ".join("".join(self.vocab[k] for k in labels).split())

    def decode(self, log_probs: Any) -> str:
        """The best transcript of one utterance's ``(T, V)`` log-probabilities."""
        lp = np.asarray(log_probs, dtype=np.float64)
        if self.beam <= 1 and not self.uses_words:
            return self.text(greedy_decode(lp, self.blank))
        hyps = self.beam_search(lp)
        return self.text(hyps[0][0]) if hyps else ""

    # ------------------------------------------------------------------ beam search
    def _word_score(self, word: str, history: tuple[str, ...]) -> float | None:
        if self.lexicon is not None and word not in self.lexicon:
            return None
        lm = 0.0 if self.lm is None else self.lm_weight * self.lm.log_prob(word, history)
        return lm + self.word_bonus

    def _extend(self, ctx: tuple, k: int) -> tuple | None:
        """Word context ``(words, partial, fused score)`` after label ``k``; None: pruned."""
        words, partial, score = ctx
        if k == self.space:
            if not partial:
                return None if self.uses_words else ctx
            s = self._word_score(partial, words)
            return None if s is None else ((*words, partial), "", score + s)
        partial += self.vocab[k]
        if self.prefixes is not None and partial not in self.prefixes:
            return None
        return words, partial, score

    def _final(self, ctx: tuple) -> float | None:
        words, partial, score = ctx
        if partial:
            s = self._word_score(partial, words)
            if s is None:
                return None
            words, score = (*words, partial), score + s
        if self.lm is not None:
            score += self.lm_weight * self.lm.log_prob(self.lm.end, words)
        return score

    def beam_search(self, log_probs: np.ndarray) -> list[tuple[tuple[int, ...], float]]:
        """All surviving hypotheses ``(labels, score)``, best first (see the module docstring);
        exact when ``beam`` is at least the number of prefixes."""
        lp = np.asarray(log_probs, dtype=np.float64)
        T, V = lp.shape
        beam = max(self.beam, 1)
        # prefix -> [p_blank, p_label]; contexts hold the word-level fusion state.
        beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF]}
        ctx: dict[tuple[int, ...], tuple | None] = {(): ((), "", 0.0)}
        for t in range(T):
            row = lp[t]
            labels = range(V)
            if self.token_min_logp is not None:
                labels = [k for k in labels if row[k] >= self.token_min_logp]
            nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [NEG_INF, NEG_INF])
            for prefix, (pb, pnb) in beams.items():
                total = _lse(pb, pnb)
                for k in labels:
                    p = row[k]
                    if k == self.blank:
                        e = nxt[prefix]
                        e[0] = _lse(e[0], total + p)
                        continue
                    repeat = bool(prefix) and prefix[-1] == k
                    if repeat:  # the label goes on: the same prefix
                        same = nxt[prefix]
                        same[1] = _lse(same[1], pnb + p)
                    new = (*prefix, k)
                    if new not in ctx:
                        ctx[new] = self._extend(ctx[prefix], k)
                    source = pb if repeat else total  # a repeat needs a blank in between
                    if ctx[new] is None or source == NEG_INF:
                        continue
                    e = nxt[new]
                    e[1] = _lse(e[1], source + p)
            ranked = sorted(nxt.items(), key=lambda kv: -(_lse(*kv[1]) + ctx[kv[0]][2]))
            beams = dict(ranked[:beam])
        out = []
        for prefix, (pb, pnb) in beams.items():
            fused = self._final(ctx[prefix])
            if fused is not None:
                out.append((prefix, _lse(pb, pnb) + fused))
        out.sort(key=lambda h: -h[1])
        return out


def error_rates(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus WER and CER: edit operations over reference words (characters)."""
    if len(predictions) != len(references):
        raise ValueError(f"expected as many predictions as references, got "
                         f"{len(predictions)} and {len(references)}")  # fmt: skip
    w_err = w_tot = c_err = c_tot = 0
    for p, r in zip(predictions, references):
        w_err += _edits(p.split(), r.split())
        w_tot += len(r.split())
        c_err += _edits(list(p), list(r))
        c_tot += len(r)
    return {"wer": w_err / max(w_tot, 1), "cer": c_err / max(c_tot, 1)}


def _edits(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


__all__ = ["CTCDecoder", "NGramLM", "TextGeneratorLM", "error_rates", "greedy_decode"]
