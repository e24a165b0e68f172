"""See vanishing and exploding gradients in your own recurrent model.

- :func:`gradient_flow`: per layer and time step ``||dL/dh_t||`` and ``||dh_T/dh_t||``,
  the gradient horizon and the per-step growth or decay rate.
- :func:`weight_health`, :func:`gate_statistics`: spectra of ``weight_hh``; saturated gates
  and states.
- :class:`GradientMonitor`: a Lightning callback for :func:`rnnkit.train.fit` that records
  these every N steps and warns once, in plain words, when gradients vanish or explode.
- :mod:`rnnkit.diagnostics.plots`: PNG heatmaps and curves; :func:`write_report`: the
  Markdown report behind ``rnnkit diagnose``.
"""

from .flow import GradientFlow as GradientFlow
from .flow import LayerFlow as LayerFlow
from .flow import gradient_flow as gradient_flow
from .flow import horizon_and_rate as horizon_and_rate
from .health import gate_statistics as gate_statistics
from .health import weight_health as weight_health

__all__ = [
    "GradientFlow",
    "GradientMonitor",
    "LayerFlow",
    "gate_statistics",
    "gradient_flow",
    "horizon_and_rate",
    "weight_health",
    "write_report",
]


def __getattr__(name: str):
    # The callback imports Lightning and the report matplotlib: only on first use.
    if name == "GradientMonitor":
        from .callback import GradientMonitor

        return GradientMonitor
    if name == "write_report":
        from .report import write_report

        return write_report
    raise AttributeError(f"module 'rnnkit.diagnostics' has no attribute {name!r}")
