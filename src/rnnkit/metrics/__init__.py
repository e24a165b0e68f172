"""Metrics of the applications (BLEU and chrF through sacrebleu)."""

from .translation import corpus_scores as corpus_scores

__all__ = ["corpus_scores"]
