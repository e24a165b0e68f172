"""Metrics of the applications: forecasting (point, interval and baseline scores) and
translation (BLEU and chrF through sacrebleu)."""

from .forecast import forecast_metrics as forecast_metrics
from .forecast import last_value as last_value
from .forecast import seasonal_naive as seasonal_naive
from .translation import corpus_scores as corpus_scores

__all__ = ["corpus_scores", "forecast_metrics", "last_value", "seasonal_naive"]
