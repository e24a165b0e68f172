"""Metrics of the applications (forecasting: point, interval and baseline scores)."""

from .forecast import forecast_metrics as forecast_metrics
from .forecast import last_value as last_value
from .forecast import seasonal_naive as seasonal_naive

__all__ = ["forecast_metrics", "last_value", "seasonal_naive"]
