"""The report behind ``rnnkit diagnose MODEL_DIR DATA``: Markdown, PNGs and JSON.

Tasks plug in through a *probe*: a function ``probe(estimator, data, batch_size, seq_len,
**options) -> Probe`` that turns a loaded model directory and the user's data into the
network, one batch and the loss (``rnnkit.cli._probes`` has the built-in ones).
Probes are registered by task name as ``"module:function"`` import paths (imported only
when used), like :func:`rnnkit.io.register_task`.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .flow import GradientFlow, gradient_flow
from .health import weight_health


@dataclass
class Probe:
    """What the diagnostics need from a task: the network, a batch and its loss."""

    model: torch.nn.Module
    batch: Any  # (x, y) as model and loss_fn take them
    loss_fn: Callable | None
    description: str = ""  # one line: what the batch is


_PROBES: dict[str, str] = {
    task: f"rnnkit.cli._probes:{task}_probe"
    for task in ("textgen", "classify", "forecast", "speech", "translate")
}


def register_probe(task: str, probe: str, *, replace: bool = False) -> None:
    """Let ``rnnkit diagnose`` read models of ``task`` with ``probe`` (``"module:function"``)."""
    module, _, attr = probe.partition(":") if isinstance(probe, str) else ("", "", "")
    if not isinstance(task, str) or not task or not module or not attr:
        raise ValueError(
            f"expected register_probe(task, 'module:function'), got {task!r}, {probe!r}"
        )
    if not replace and _PROBES.get(task, probe) != probe:
        raise ValueError(f"task {task!r} already has probe {_PROBES[task]}; use replace=True")
    _PROBES[task] = probe


def find_probe(task: str) -> Callable[..., Probe]:
    if task not in _PROBES:
        raise ValueError(
            f"rnnkit diagnose does not know how to read {task!r} models yet (known: "
            f"{', '.join(sorted(_PROBES))}); register one with "
            "rnnkit.diagnostics.report.register_probe"
        )
    module, _, attr = _PROBES[task].partition(":")
    return getattr(importlib.import_module(module), attr)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.3g}"
    return str(v)


def _verdict(flow: GradientFlow) -> list[str]:
    lines = []
    for f in flow.layers:
        r = f.ratio
        if max(r) > 1e3 or not all(math.isfinite(v) for v in f.jacobian_norm):
            k, worst = r.index(max(r)), max(r)
            lines.append(f"- **{f.name}: exploding.** A change {k} steps back moves the last "
                         f"state {worst:.3g}x as much as one at the last step.")  # fmt: skip
        elif f.horizon is None:
            lines.append(f"- **{f.name}: gradients reach the whole sequence** ({flow.T} steps; "
                         f"the ratio never falls below 1e-3; x{f.rate:.3g} per step).")  # fmt: skip
        else:
            lines.append(f"- **{f.name}: gradient horizon {f.horizon} steps** of {flow.T} "
                         f"(x{f.rate:.3g} per step): dependencies much longer than "
                         f"{f.horizon} steps are out of reach of gradient descent.")  # fmt: skip
    return lines


def _finite(obj: Any) -> Any:
    """NaN and infinity become null, so the JSON is strict."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_report(probe: Probe, out: str | Path, title: str = "rnnkit diagnose",
                 n_probes: int | None = None) -> Path:  # fmt: skip
    """Measure ``probe`` and write ``report.md``, ``gradient_flow.png``, ``gradient_lags.png``
    and ``diagnostics.json`` into ``out``; returns the path of ``report.md``."""
    from . import plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    flow = gradient_flow(probe.model, probe.batch, probe.loss_fn, n_probes=n_probes)
    spectra = weight_health(probe.model)
    plots.plot_flow(flow, out / "gradient_flow.png", title=title)
    plots.plot_lags({f.name: f.jacobian_norm for f in flow.layers}, out / "gradient_lags.png")
    md = [f"# {title}", ""]
    if probe.description:
        md += [probe.description, ""]
    loss = "" if flow.loss is None else f", loss {flow.loss:.4f} on it"
    md += [f"Measured on one batch of {flow.T} steps{loss}, with the reference cells in "
           "evaluation mode (`rnnkit.diagnostics.gradient_flow`).", "", "## Verdict", "",
           *_verdict(flow), "", "## Gradient flow", "",
           "| layer | horizon (steps) | rate per step | ratio at max lag | "
           "‖dL/dh_0‖ | ‖dL/dh_T‖ | Jacobian |",
           "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for f in flow.layers:
        s = f.summary()
        horizon = _fmt(f.horizon) if f.horizon is not None else f">{flow.T - 1}"
        md.append(f"| {f.name} | {horizon} | {_fmt(f.rate)} | {_fmt(s['ratio_at_max_lag'])} | "
                  f"{_fmt(s.get('grad_norm_first'))} | {_fmt(s.get('grad_norm_last'))} | "
                  f"{'exact' if f.exact else 'random projections'} |")  # fmt: skip
    if flow.skipped:
        md += ["", f"Not traced (run for a single step, no time to flow through): "
               f"{', '.join(flow.skipped)}; the loss gradient through them is in the "
               "‖dL/dh_t‖ of the layers that feed them."]  # fmt: skip
    md += ["", "![gradient flow](gradient_flow.png)", "", "![gradient vs lag](gradient_lags.png)",
           "", "## Cell health", "",
           "| layer | max sigma_1(W_hh gate) | max spectral radius | mean forget gate | "
           "saturated sigmoid | saturated tanh | saturated h |",
           "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for f in flow.layers:
        w, h = spectra.get(f.name, {}), f.health
        md.append(f"| {f.name} | {_fmt(w.get('sigma_max'))} | {_fmt(w.get('rho_max'))} | "
                  f"{_fmt(h.get('forget_mean'))} | {_fmt(h.get('sigmoid_saturated_share'))} | "
                  f"{_fmt(h.get('tanh_saturated_share'))} | "
                  f"{_fmt(h.get('hidden_saturated_share'))} |")  # fmt: skip
    md += ["", "Definitions: docs/diagnostics.md. Horizon: the first lag where "
           "‖dh_T/dh_(T-k)‖ falls below 1e-3 of its value at lag 0.", ""]  # fmt: skip
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    data = _finite({"flow": flow.to_dict(), "weights": spectra})
    (out / "diagnostics.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return out / "report.md"
