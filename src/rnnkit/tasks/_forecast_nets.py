r"""The networks behind :class:`rnnkit.Forecaster`: three architectures over rnnkit layers,
instance normalization, and the output heads with their losses.

Input of every network: ``x = (y_past (B, L, C), cov_past (B, L, Kp) | None,
known (B, L+H, Kf) | None, y_future (B, H, C) | None)`` on the standardized scale (z-score
with training statistics); ``y_future`` is used only for teacher forcing while training.
Output: head parameters ``(B, H, C, P)`` on the same scale.

- **Instance normalization** (``norm="revin"``, Kim et al. 2022, RevIN): each window's
  channels are scaled by their own lookback mean and standard deviation,
  :math:`\tilde x = \gamma (x - \mu) / \sigma + \beta`, and the forecast is mapped back,
  :math:`\hat y = (\tilde y - \beta) / \gamma \cdot \sigma + \mu`. ``norm="last"`` subtracts
  the last lookback value (SegRNN's default); ``"none"`` leaves the input alone.
- **Channel independence** (PatchTST, SegRNN): the ``C`` channels become ``B*C`` univariate
  series sharing the weights; covariates and calendar features go to every one of them.
- ``architecture="segment"`` (SegRNN, Lin et al. 2023, section 3): the lookback is cut into
  ``n = L/w`` segments of length ``w``; each is embedded, :math:`e_i = \mathrm{ReLU}(W x_i + b)`;
  a GRU runs over the ``n`` embeddings; then the ``m = H/w`` horizon segments are decoded in
  parallel ("PMF"): the GRU takes one step from the final state with input
  :math:`[p_j; c_k]` (a learned position embedding of segment ``j`` and channel embedding
  of channel ``k``, ``d/2`` each; with ``channel_embedding=False``, or without channel
  independence, :math:`p_j` alone, ``d`` wide, as SegRNN's ETTh2 and ETTm2 scripts run it)
  and a linear layer maps its output to the ``w`` values of segment ``j``. A lookback that
  is not a multiple of ``w`` is padded on the left with its first value; extra horizon steps
  are cut.
- ``architecture="direct"``: an RNN over the ``L`` steps; a linear head maps the last output
  (and the known-future features) to all ``H`` steps at once (the "MIMO" strategy).
- ``architecture="seq2seq"``: an encoder RNN over the lookback; a decoder RNN of the same cell,
  started from the encoder's state, steps through the horizon autoregressively (input: the
  previous value and the step's known features); at training time the previous value is the
  true one with probability ``teacher_forcing`` (Williams & Zipser 1989).
- ``highway=K`` (any architecture; LSTNet's autoregressive "highway", Lai et al. 2018): a
  linear map from the last ``K`` normalized lookback values of each target channel to its
  ``H`` horizon values (weights shared by the channels), trained with the network and added
  to its location output before the normalization is undone,
  :math:`\hat z = f_\theta(z) + W z_{L-K+1:L} + b`. LSTNet's reason: the nonlinear
  network's output is insensitive to the scale of its input, and the linear term is not.

Heads (``P`` parameters per step and channel): ``point`` (``P=1``, loss MSE or MAE),
``quantile`` (``P=Q``, pinball loss :math:`\frac1Q\sum_q \max(q e, (q-1) e)`, :math:`e=y-\hat
y_q`), ``gaussian`` (mean, scale; negative log-likelihood), ``student_t`` (mean, scale and
degrees of freedom :math:`\nu = 2 + \mathrm{softplus}(\cdot)`; NLL).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn import GRU, LSTM, RNN, LSTMState

CELLS = {"gru": GRU, "lstm": LSTM, "rnn": RNN}
ARCHITECTURES = ("segment", "direct", "seq2seq")
HEADS = ("point", "quantile", "gaussian", "student_t")
NORMS = ("revin", "last", "none")
LOSSES = ("mse", "mae")


@dataclass(frozen=True)
class ForecastConfig:
    lookback: int
    horizon: int
    n_channels: int
    architecture: str = "segment"
    cell: str = "gru"
    hidden_size: int = 512
    num_layers: int = 1
    segment_length: int = 48
    dropout: float = 0.5
    norm: str = "revin"
    revin_affine: bool = True
    channel_independence: bool = True
    channel_embedding: bool = True  # segment: decoder queries say which channel (with CI)
    head: str = "point"
    loss: str = "mae"  # point head only
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    n_past_covariates: int = 0
    n_known: int = 0  # calendar features, known for the lookback and the horizon
    teacher_forcing: float = 1.0  # seq2seq only
    highway: int = 0  # LSTNet's linear highway over the last K lookback steps; 0: none
    impl: str = "auto"

    def __post_init__(self) -> None:
        def choice(name: str, options: tuple[str, ...]) -> None:
            if getattr(self, name) not in options:
                raise ValueError(f"{name} must be one of {options}, got {getattr(self, name)!r}")

        choice("architecture", ARCHITECTURES)
        choice("head", HEADS)
        choice("norm", NORMS)
        choice("loss", LOSSES)
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {self.cell!r}")
        for name in ("lookback", "horizon", "n_channels", "hidden_size", "num_layers",
                     "segment_length"):  # fmt: skip
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if (
            isinstance(self.highway, bool)
            or not isinstance(self.highway, int)
            or not (0 <= self.highway <= self.lookback)
        ):
            raise ValueError(
                f"highway must be an integer in [0, lookback={self.lookback}] (the lookback "
                f"steps the linear highway reads; 0 turns it off), got {self.highway!r}"
            )
        if not 0.0 <= self.teacher_forcing <= 1.0:
            raise ValueError(f"teacher_forcing must be in [0, 1], got {self.teacher_forcing!r}")
        qs = tuple(float(q) for q in self.quantiles)
        if not qs or any(not 0.0 < q < 1.0 for q in qs) or list(qs) != sorted(set(qs)):
            raise ValueError(f"quantiles must be increasing levels in (0, 1), got {self.quantiles}")
        if self.head == "quantile" and 0.5 not in qs:
            raise ValueError(f"a quantile head needs the level 0.5 (the median is its point "
                             f"forecast), got {self.quantiles}; add 0.5")  # fmt: skip
        object.__setattr__(self, "quantiles", qs)
        if self.architecture == "segment" and self.segment_length > self.lookback:
            raise ValueError(
                f"segment_length {self.segment_length} is longer than the lookback "
                f"{self.lookback}; use a segment length <= lookback"
            )
        if self.architecture == "segment" and self.channel_query and self.hidden_size < 2:
            raise ValueError("hidden_size must be >= 2 for position + channel embeddings")

    @property
    def channel_query(self) -> bool:
        """Whether the segment decoder's queries carry a channel embedding."""
        return self.channel_independence and self.channel_embedding

    @property
    def n_params(self) -> int:
        return {"point": 1, "quantile": len(self.quantiles), "gaussian": 2, "student_t": 3}[
            self.head
        ]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["quantiles"] = list(self.quantiles)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ForecastConfig:
        return cls(**{**d, "quantiles": tuple(d.get("quantiles", (0.1, 0.5, 0.9)))})


def _rnn(cfg: ForecastConfig, input_size: int) -> nn.Module:
    return CELLS[cfg.cell](input_size, cfg.hidden_size, cfg.num_layers, impl=cfg.impl,
                           dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)  # fmt: skip


def _repeat_state(state: Any, times: int) -> Any:
    """``(layers, S, d)`` -> ``(layers, S*times, d)``, each series' state ``times`` in a row."""
    if isinstance(state, LSTMState):
        return LSTMState(*(s.repeat_interleave(times, dim=1) for s in state))
    return state.repeat_interleave(times, dim=1)


class ForecastNet(nn.Module):
    """Normalization, channel handling and the head around one of the three cores."""

    def __init__(self, config: ForecastConfig) -> None:
        super().__init__()
        self.config = c = config
        self.n_series_channels = 1 if c.channel_independence else c.n_channels
        if c.norm == "revin" and c.revin_affine:
            self.revin_weight = nn.Parameter(torch.ones(c.n_channels))
            self.revin_bias = nn.Parameter(torch.zeros(c.n_channels))
        n_in = self.n_series_channels + c.n_past_covariates + c.n_known
        n_out = self.n_series_channels * c.n_params
        d = c.hidden_size
        if c.architecture == "segment":
            w = c.segment_length
            self.n_in_segments = math.ceil(c.lookback / w)
            self.n_out_segments = math.ceil(c.horizon / w)
            self.embed = nn.Linear(w * n_in, d)
            self.encoder = _rnn(c, d)
            half = d // 2 if c.channel_query else d
            self.position = nn.Parameter(torch.randn(self.n_out_segments, half))
            if c.channel_query:
                self.channel = nn.Parameter(torch.randn(c.n_channels, d - half))
            if c.n_known:
                self.embed_known = nn.Linear(w * c.n_known, d)
            self.to_segment = nn.Linear(d, w * n_out)
        elif c.architecture == "direct":
            self.encoder = _rnn(c, n_in)
            self.to_horizon = nn.Linear(d + c.horizon * c.n_known, c.horizon * n_out)
        else:
            self.encoder = _rnn(c, n_in)
            self.decoder = _rnn(c, self.n_series_channels + c.n_known)
            self.to_step = nn.Linear(d, n_out)
        self.drop = nn.Dropout(c.dropout)
        if c.highway:
            self.highway = nn.Linear(c.highway, c.horizon)

    # ------------------------------------------------------------------ normalization
    def _normalize(self, y: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        c = self.config
        if c.norm == "none":
            return y, (torch.zeros_like(y[:, :1]), torch.ones_like(y[:, :1]))
        if c.norm == "last":
            shift = y[:, -1:].detach()
            return y - shift, (shift, torch.ones_like(shift))
        mean = y.mean(dim=1, keepdim=True).detach()
        std = torch.sqrt(y.var(dim=1, keepdim=True, unbiased=False) + 1e-5).detach()
        z = (y - mean) / std
        if c.revin_affine:
            z = z * self.revin_weight + self.revin_bias
        return z, (mean, std)

    def _denormalize(self, params: Tensor, stats: tuple[Tensor, Tensor]) -> Tensor:
        """``params (B, H, C, P)`` back to the input scale: locations shift and scale,
        spreads only scale, degrees of freedom stay."""
        c = self.config
        mean, std = stats[0].unsqueeze(-1), stats[1].unsqueeze(-1)  # (B, 1, C, 1)
        if c.norm == "revin" and c.revin_affine:
            w = self.revin_weight.view(1, 1, -1, 1)
            b = self.revin_bias.view(1, 1, -1, 1)
            if c.head in ("point", "quantile"):
                params = (params - b) / (w + 1e-10)
            else:
                loc = (params[..., :1] - b) / (w + 1e-10)
                scale = params[..., 1:2] / (w.abs() + 1e-10)
                params = torch.cat([loc, scale, params[..., 2:]], dim=-1)
        if c.head in ("point", "quantile"):
            return params * std + mean
        loc = params[..., :1] * std + mean
        return torch.cat([loc, params[..., 1:2] * std, params[..., 2:]], dim=-1)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, None]:
        y_past, cov_past, known, y_future = x
        c = self.config
        B, L, C = y_past.shape
        assert L == c.lookback and C == c.n_channels, (y_past.shape, c)
        z, stats = self._normalize(y_past)
        zf = None
        if y_future is not None and self.training and c.architecture == "seq2seq":
            zf = self._normalize_like(y_future, stats)
        extras = [t for t in (cov_past, None if known is None else known[:, :L]) if t is not None]
        known_future = None if known is None else known[:, L:]
        if c.channel_independence:  # (B, L, C) -> (B*C, L, 1)
            z = z.permute(0, 2, 1).reshape(B * C, L, 1)
            extras = [e.repeat_interleave(C, dim=0) for e in extras]
            if known_future is not None:
                known_future = known_future.repeat_interleave(C, dim=0)
            if zf is not None:
                zf = zf.permute(0, 2, 1).reshape(B * C, -1, 1)
        inputs = torch.cat([z, *extras], dim=-1) if extras else z
        core = {"segment": self._segment, "direct": self._direct, "seq2seq": self._seq2seq}
        out = core[c.architecture](inputs, z, known_future, zf)  # (S, H, n_ch, P)
        if c.highway:  # (S, K, n_ch) -> (S, H, n_ch), added to the location(s)
            ar = self.highway(z[:, -c.highway :].transpose(1, 2)).transpose(1, 2).unsqueeze(-1)
            if c.head in ("gaussian", "student_t"):
                ar = F.pad(ar, (0, c.n_params - 1))
            out = out + ar
        if c.channel_independence:  # (B*C, H, 1, P) -> (B, H, C, P)
            out = out.reshape(B, C, c.horizon, c.n_params).permute(0, 2, 1, 3)
        return self._denormalize(self._constrain(out), stats), None

    def _normalize_like(self, y: Tensor, stats: tuple[Tensor, Tensor]) -> Tensor:
        c = self.config
        z = (y - stats[0]) / stats[1]
        if c.norm == "revin" and c.revin_affine:
            z = z * self.revin_weight + self.revin_bias
        return z

    def _constrain(self, out: Tensor) -> Tensor:
        """Spreads positive (softplus), degrees of freedom > 2; quantiles left free."""
        head = self.config.head
        if head == "gaussian":
            return torch.cat([out[..., :1], F.softplus(out[..., 1:2]) + 1e-4], dim=-1)
        if head == "student_t":
            return torch.cat([out[..., :1], F.softplus(out[..., 1:2]) + 1e-4,
                              2.0 + F.softplus(out[..., 2:3])], dim=-1)  # fmt: skip
        return out

    def _segment(self, inputs: Tensor, z: Tensor, known_future: Tensor | None, zf: Any) -> Tensor:
        c = self.config
        S, L, Fin = inputs.shape
        w, n, m = c.segment_length, self.n_in_segments, self.n_out_segments
        if n * w != L:  # pad on the left with the first value
            inputs = torch.cat([inputs[:, :1].expand(S, n * w - L, Fin), inputs], dim=1)
        # (S, n*w, F) -> (S, n, w*F): each segment's values of every feature, in one vector
        segments = inputs.reshape(S, n, w, Fin).permute(0, 1, 3, 2).reshape(S, n, Fin * w)
        _, state = self.encoder(F.relu(self.embed(segments)))
        if c.channel_query:
            C = c.n_channels
            pos = self.position.unsqueeze(0).expand(C, m, -1)
            chan = self.channel.unsqueeze(1).expand(C, m, -1)
            query = torch.cat([pos, chan], dim=-1)  # (C, m, d)
            query = query.unsqueeze(0).expand(S // C, C, m, -1).reshape(S, m, -1)
        else:
            query = self.position.unsqueeze(0).expand(S, m, -1)
        if known_future is not None:
            kf = known_future
            if m * w != kf.shape[1]:  # pad the last segment with the last known step
                kf = torch.cat([kf, kf[:, -1:].expand(S, m * w - kf.shape[1], -1)], dim=1)
            kf = kf.reshape(S, m, w, -1).permute(0, 1, 3, 2).reshape(S, m, -1)
            query = query + self.embed_known(kf)
        query = query.reshape(S * m, 1, -1)
        out, _ = self.encoder(query, _repeat_state(state, m))  # all m segments at once
        values = self.to_segment(self.drop(out[:, 0]))  # (S*m, w*n_out)
        values = values.reshape(S, m, w, self.n_series_channels, c.n_params)
        return values.reshape(S, m * w, self.n_series_channels, c.n_params)[:, : c.horizon]

    def _direct(self, inputs: Tensor, z: Tensor, known_future: Tensor | None, zf: Any) -> Tensor:
        c = self.config
        out, _ = self.encoder(inputs)
        feats = self.drop(out[:, -1])
        if known_future is not None:
            feats = torch.cat([feats, known_future.reshape(known_future.shape[0], -1)], dim=-1)
        return self.to_horizon(feats).reshape(-1, c.horizon, self.n_series_channels, c.n_params)

    def _seq2seq(self, inputs: Tensor, z: Tensor, known_future: Tensor | None,
                 zf: Tensor | None) -> Tensor:  # fmt: skip
        c = self.config
        S, nc, P = inputs.shape[0], self.n_series_channels, c.n_params
        _, state = self.encoder(inputs)
        prev = z[:, -1]  # (S, nc)
        if zf is not None and c.teacher_forcing >= 1.0:  # all true previous values: one call
            dec_in = torch.cat([prev.unsqueeze(1), zf[:, :-1]], dim=1)
            if known_future is not None:
                dec_in = torch.cat([dec_in, known_future], dim=-1)
            out, _ = self.decoder(dec_in, state)
            return self.to_step(self.drop(out)).reshape(S, c.horizon, nc, P)
        steps = []
        for t in range(c.horizon):
            x_t = prev if known_future is None else torch.cat([prev, known_future[:, t]], -1)
            y_t, state = self.decoder.step(x_t, state)
            params = self.to_step(self.drop(y_t)).reshape(S, nc, P)
            steps.append(params)
            prev = point_of(self._constrain(params.unsqueeze(1)), c).squeeze(1)
            if zf is not None and c.teacher_forcing > 0:
                use_true = torch.rand(S, 1, device=prev.device) < c.teacher_forcing
                prev = torch.where(use_true, zf[:, t], prev.detach())
        return torch.stack(steps, dim=1)


# ---------------------------------------------------------------------- heads
def point_of(params: Tensor, cfg: ForecastConfig) -> Tensor:
    """The point forecast ``(..., )`` from head parameters ``(..., P)``: the value, the
    median (the 0.5 column of :func:`quantiles_of`, which sorts), or the distribution's
    location."""
    if cfg.head == "quantile":
        return quantiles_of(params, cfg)[..., cfg.quantiles.index(0.5)]
    return params[..., 0]


def quantiles_of(params: Tensor, cfg: ForecastConfig) -> Tensor:
    """``(..., Q)`` forecasts at ``cfg.quantiles`` (quantile head: sorted outputs, so levels
    never cross; Gaussian/Student-t: the distribution's inverse CDF)."""
    qs = cfg.quantiles
    if cfg.head == "quantile":
        return params.sort(dim=-1).values
    if cfg.head == "gaussian":
        z = torch.tensor([math.sqrt(2) * torch.erfinv(torch.tensor(2 * q - 1)).item() for q in qs])
        return params[..., :1] + params[..., 1:2] * z.to(params)
    if cfg.head == "student_t":
        from scipy.stats import t as student_t

        df = params[..., 2].detach().cpu().double().numpy()
        z = torch.stack([torch.from_numpy(student_t.ppf(q, df)) for q in qs], dim=-1)
        return params[..., :1] + params[..., 1:2] * z.to(params)
    raise ValueError("a point head has no quantiles; use head='quantile', 'gaussian' or "
                     "'student_t' for prediction intervals")  # fmt: skip


def make_loss(cfg: ForecastConfig):
    """``loss(params (B, H, C, P), y (B, H, C)) -> (mean loss, number of targets)``."""

    def loss(params: Tensor, y: Tensor) -> tuple[Tensor, int]:
        n = y.numel()
        if cfg.head == "point":
            e = params[..., 0] - y
            return (e.abs().mean() if cfg.loss == "mae" else e.pow(2).mean()), n
        if cfg.head == "quantile":
            q = torch.tensor(cfg.quantiles, dtype=params.dtype, device=params.device)
            e = y.unsqueeze(-1) - params
            return torch.maximum(q * e, (q - 1) * e).mean(), n
        loc, scale = params[..., 0], params[..., 1]
        if cfg.head == "gaussian":
            return (torch.log(scale) + 0.5 * ((y - loc) / scale) ** 2).mean() + 0.5 * math.log(
                2 * math.pi
            ), n
        dist = torch.distributions.StudentT(params[..., 2], loc, scale)
        return -dist.log_prob(y).mean(), n

    return loss
