r"""Gradient flow through time: how much of a change at step ``t`` survives to the end.

:func:`gradient_flow` runs a model once with every hidden state exposed
(:mod:`rnnkit.diagnostics._probe`) and measures, per layer (and direction) and time step:

- ``grad_norm[t]`` :math:`= \|\partial L / \partial h_t\|`, the total derivative of the
  loss (through the output at ``t`` and every later step), over the whole ``(B, H)``
  batch of hidden states;
- ``jacobian_norm[k]`` :math:`= \|\partial h_T / \partial h_{T-k}\|_F`, by time lag
  ``k`` (root mean square over the batch). Exactly, with one backward pass per hidden unit
  (``H`` passes), or estimated with ``n_probes`` random projections:
  :math:`\mathbb E_v \|v^\top J\|^2 = \|J\|_F^2` for :math:`v \sim N(0, I)`.

Summary numbers, on :math:`r_k = \|\partial h_T / \partial h_{T-k}\| / \|\partial h_T / \partial
h_T\|`: the **gradient horizon**, the first lag with :math:`r_k < 10^{-3}` (``None`` when the
ratio stays above it over the whole sequence), and the **rate** per step, :math:`10^s` with
``s`` the least-squares slope of :math:`\log_{10} r_k` over lags ``0 .. horizon`` (< 1:
vanishing, > 1: exploding). For an LSTM the Jacobian is taken with respect to ``h`` (the cell
state ``c`` is held fixed at ``t``), which is what the layer exposes.

For a bidirectional layer the reverse direction's "end" is step 0, and its lags count from
there. Lags count from the last position ``T - 1`` even when ``lengths`` shortens some
sequences.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ._probe import Trace, probing

HORIZON_RATIO = 1e-3
EXACT_MAX_UNITS = 64  # exact Jacobians up to this many hidden units by default
_CHUNK = 64  # projections per batched backward pass


@dataclass
class LayerFlow:
    """The gradient flow of one layer and direction."""

    name: str
    mode: str
    grad_norm: list[float] | None  # ||dL/dh_t|| for t = 0..T-1 (None without a loss)
    jacobian_norm: list[float]  # ||dh_T/dh_{T-k}|| for lag k = 0..T-1
    exact: bool
    horizon: int | None = None
    rate: float = math.nan
    health: dict[str, float] = field(default_factory=dict)
    reverse: bool = False  # the reverse direction of a bidirectional layer: its end is t = 0

    @property
    def ratio(self) -> list[float]:
        """``jacobian_norm`` relative to lag 0."""
        j0 = self.jacobian_norm[0]
        return [v / j0 if j0 > 0 else math.nan for v in self.jacobian_norm]

    def summary(self) -> dict[str, Any]:
        r = self.ratio
        out = {"horizon": self.horizon, "rate": self.rate, "ratio_at_max_lag": r[-1],
               "max_ratio": max(r)}  # fmt: skip
        if self.grad_norm is not None:
            out["grad_norm_first"] = self.grad_norm[0]
            out["grad_norm_last"] = self.grad_norm[-1]
        return {**out, **self.health}


@dataclass
class GradientFlow:
    """Result of :func:`gradient_flow`: one :class:`LayerFlow` per layer and direction."""

    T: int  # time steps of the longest traced layer
    loss: float | None
    layers: list[LayerFlow]
    skipped: list[str] = field(default_factory=list)  # layers run for one step only

    def summary(self) -> dict[str, dict[str, Any]]:
        return {f.name: f.summary() for f in self.layers}

    def to_dict(self) -> dict[str, Any]:
        return {"T": self.T, "loss": self.loss, "layers": [vars(f) for f in self.layers],
                "skipped": self.skipped}  # fmt: skip


def horizon_and_rate(jacobian_norm: list[float], ratio: float = HORIZON_RATIO):
    """``(horizon, rate)`` of a ``||dh_T/dh_{T-k}||`` curve (see the module docstring)."""
    j0 = jacobian_norm[0]
    if not j0 > 0 or not math.isfinite(j0):
        return None, math.nan
    r = [v / j0 for v in jacobian_norm]
    horizon = next((k for k, v in enumerate(r) if v < ratio), None)
    end = len(r) if horizon is None else horizon + 1
    pts = [(k, math.log10(v)) for k, v in enumerate(r[:end]) if v > 0 and math.isfinite(v)]
    if len(pts) < 2:
        return horizon, math.nan
    n = len(pts)
    mk = sum(k for k, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    var = sum((k - mk) ** 2 for k, _ in pts)
    slope = sum((k - mk) * (v - mv) for k, v in pts) / var
    return horizon, 10.0**slope


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    return batch, None


def _scalar_loss(value) -> Tensor:
    loss = value[0] if isinstance(value, (tuple, list)) else value
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError(
            f"loss_fn must return a scalar tensor or (scalar, count), got {type(loss).__name__}"
        )
    return loss.reshape(())


def _jacobian_norms(trace: Trace, n_probes: int | None, generator) -> tuple[list[float], bool]:
    hT, probes = trace.final, trace.probes
    B, P = hT.shape
    exact = n_probes is None
    if exact:  # the unit vectors e_k: sum_k ||e_k^T J||^2 = ||J||_F^2
        V = torch.eye(P, dtype=hT.dtype, device=hT.device).unsqueeze(1).expand(P, B, P)
    else:
        V = torch.randn(n_probes, B, P, generator=generator, dtype=torch.float64).to(hT)
    sq = torch.zeros(len(probes), B, dtype=torch.float64)
    for chunk in V.split(_CHUNK):
        # One backward pass, vectorised over the projections (torch's batched grads).
        grads = torch.autograd.grad(hT, probes, grad_outputs=chunk.contiguous(),
                                    retain_graph=True, allow_unused=True,
                                    is_grads_batched=True)  # fmt: skip
        for t, g in enumerate(grads):
            if g is not None:
                sq[t] += g.detach().double().pow(2).sum((0, 2)).cpu()
    per_t = (sq.mean(1) / (1 if exact else V.shape[0])).sqrt()  # RMS over the batch of ||J||_F
    T = len(probes)
    by_lag = [float(per_t[k] if trace.reverse else per_t[T - 1 - k]) for k in range(T)]
    return by_lag, exact


def gradient_flow(
    model: torch.nn.Module,
    batch,
    loss_fn: Callable | None = None,
    *,
    n_probes: int | None = None,
    exact: bool | None = None,
    health: bool = True,
    seed: int = 0,
) -> GradientFlow:
    """Measure gradient flow through time in every rnnkit layer of ``model``.

    Args:
        model: an rnnkit layer, or any module holding some (``model(x)`` returns the output
            or ``(output, state)``, as task models do). It runs in evaluation mode.
        batch: ``x``, or ``(x, y)`` with targets for ``loss_fn``; ``x`` as ``model`` takes it
            (a ``(B, T, D)`` tensor, token ids, ``(ids, lengths)``, ...).
        loss_fn: ``loss_fn(output, y)`` -> scalar or ``(scalar, count)``; without it (or
            without ``y``) only the Jacobians are measured.
        n_probes: random projections per Jacobian (default: 8 when ``exact`` is False).
        exact: one backward pass per hidden unit (default: when ``H <= 64``).
        health: also record the cell-health statistics (:mod:`rnnkit.diagnostics.health`).
        seed: for the random projections.

    Returns:
        a :class:`GradientFlow` (per layer: ``grad_norm`` by time, ``jacobian_norm`` by lag,
        ``horizon``, ``rate``, and ``health``).
    """
    from .health import gate_statistics

    x, y = _split_batch(batch)
    generator = torch.Generator().manual_seed(seed)
    with torch.enable_grad(), probing(model) as traces:
        result = model(x)
        out = result[0] if isinstance(result, tuple) else result
        loss = None
        if loss_fn is not None and y is not None:
            loss = _scalar_loss(loss_fn(out, y))
        if not traces:
            raise ValueError("the model ran none of its rnnkit layers on this batch")
        # A layer run for a single step (a parallel decoder started from the encoder's
        # state) has no time to flow through; its gradient reaches the layers before it.
        skipped = [tr.name for tr in traces if len(tr.probes) < 2]
        traces = [tr for tr in traces if len(tr.probes) >= 2]
        if not traces:
            raise ValueError("every rnnkit layer of the model ran a single time step on this "
                             "batch; gradient flow through time needs at least two")  # fmt: skip
        names, seen = [], {}
        for tr in traces:  # a layer run twice gets its calls numbered
            seen[tr.name] = seen.get(tr.name, 0) + 1
            names.append(tr.name if seen[tr.name] == 1 else f"{tr.name} (call {seen[tr.name]})")
        grads: list = [None] * len(traces)
        if loss is not None:
            flat = [z for tr in traces for z in tr.probes]
            g_all = torch.autograd.grad(loss, flat, retain_graph=True, allow_unused=True)
            i = 0
            for n, tr in enumerate(traces):
                gs = g_all[i : i + len(tr.probes)]
                i += len(tr.probes)
                grads[n] = [0.0 if g is None else float(g.detach().double().norm()) for g in gs]
        flows = []
        for tr, g, name in zip(traces, grads, names):
            P = tr.final.shape[-1]
            use_exact = exact if exact is not None else (n_probes is None and P <= EXACT_MAX_UNITS)
            jac, was_exact = _jacobian_norms(tr, None if use_exact else (n_probes or 8), generator)
            horizon, rate = horizon_and_rate(jac)
            stats = gate_statistics(tr) if health else {}
            flows.append(LayerFlow(name, tr.mode, g, jac, was_exact, horizon, rate, stats,
                                   tr.reverse))  # fmt: skip
    T = max(len(tr.probes) for tr in traces)
    return GradientFlow(T, None if loss is None else float(loss.detach()), flows, skipped)
