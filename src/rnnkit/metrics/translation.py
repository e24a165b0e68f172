"""Corpus BLEU and chrF for translations, with sacrebleu.

Two BLEU figures, never to be confused:

- ``bleu``: sacreBLEU's standard score on detokenized, cased text (``13a`` tokenization
  inside sacrebleu), reported with its signature (Post 2018), the comparable number;
- ``bleu_lc_tok``: lower-cased tokenized BLEU, the metric of older papers and tutorials
  (``multi-bleu.perl`` on lower-cased Moses-tokenized text). Computed here as sacreBLEU with
  ``lowercase=True`` and its ``13a`` tokenizer, which splits punctuation as Moses does for
  these languages; expect it within a few tenths of the papers' pipeline, not bit-equal.
"""

from __future__ import annotations

from typing import Any


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict[str, Any]:
    """``{"bleu", "bleu_signature", "chrf", "chrf_signature", "bleu_lc_tok", ...}``."""
    from sacrebleu.metrics import BLEU, CHRF

    if len(hypotheses) != len(references):
        raise ValueError(
            f"expected one reference per hypothesis, got {len(hypotheses)} hypotheses and "
            f"{len(references)} references"
        )
    if not hypotheses:
        raise ValueError("expected at least one sentence to score, got none")
    refs = [list(references)]
    bleu, chrf, lc = BLEU(), CHRF(), BLEU(lowercase=True, tokenize="13a")
    b, c, low = (bleu.corpus_score(hypotheses, refs), chrf.corpus_score(hypotheses, refs),
                 lc.corpus_score(hypotheses, refs))  # fmt: skip
    return {
        "bleu": b.score,
        "bleu_signature": str(bleu.get_signature()),
        "bleu_detail": str(b),
        "chrf": c.score,
        "chrf_signature": str(chrf.get_signature()),
        "bleu_lc_tok": low.score,
        "bleu_lc_tok_signature": str(lc.get_signature()),
        "sentences": len(hypotheses),
    }
