"""The shared machinery of rnnkit's recurrent layers (``RNN``, ``LSTM``, ``GRU``).

Parameters are named and shaped exactly as in ``torch.nn`` (``weight_ih_l{k}[_reverse]``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``), so a
``state_dict`` moves between the two unchanged. Layer normalisation adds
``ln_ih_{weight,bias}_l{k}``, ``ln_hh_{weight,bias}_l{k}`` and (LSTM) ``ln_c_{weight,bias}_l{k}``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .. import kernels
from . import init
from ._regularizers import sample_noise
from ._state import LSTMState

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
IMPLS = ("auto", *kernels.BACKENDS)


@dataclass(frozen=True)
class RecurrentConfig:
    """Everything needed to rebuild a layer (``Layer.from_config(layer.config)``)."""

    mode: str
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = True
    dropout: float = 0.0
    bidirectional: bool = False
    proj_size: int = 0
    input_dropout: float = 0.0
    recurrent_dropout: float = 0.0
    weight_drop: float = 0.0
    zoneout: float | tuple[float, float] = 0.0
    layer_norm: bool = False
    layer_norm_eps: float = 1e-5
    impl: str = "auto"
    init: str = "default"  # rnnkit.nn.init: default, orthogonal, identity, chrono
    forget_bias: float | None = None
    chrono_t_max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RecurrentConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(
                f"unknown RecurrentConfig keys {sorted(unknown)}; known: {sorted(names)}"
            )
        d = dict(d)
        if isinstance(d.get("zoneout"), list):
            d["zoneout"] = tuple(d["zoneout"])
        return cls(**d)


class CellWeights(NamedTuple):
    """The parameters of one layer and direction (``None`` where absent)."""

    weight_ih: Tensor
    weight_hh: Tensor
    bias_ih: Tensor | None
    bias_hh: Tensor | None
    weight_hr: Tensor | None
    ln_ih: tuple[Tensor, Tensor] | None
    ln_hh: tuple[Tensor, Tensor] | None
    ln_c: tuple[Tensor, Tensor] | None


def _check_rate(name: str, p: float) -> float:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
    return float(p)


class RecurrentBase(nn.Module):
    """Base of :class:`~rnnkit.nn.RNN`, :class:`~rnnkit.nn.LSTM`, :class:`~rnnkit.nn.GRU`."""

    MODES: tuple[str, ...] = tuple(GATES)  # the modes a subclass builds
    TORCH_CLASS: type[nn.RNNBase] = nn.RNNBase

    def __init__(self, config: RecurrentConfig, device=None, dtype=None) -> None:
        super().__init__()
        self._validate(config)
        self.config = config
        factory = {"device": device, "dtype": dtype}
        self._param_names: list[list[list[str]]] = []
        self._cell_names: list[list[tuple]] = []  # CellWeights-shaped parameter names
        for l in range(config.num_layers):
            names = [self._make_params(l, d, factory) for d in range(self.num_directions)]
            self._param_names.append(names)
            self._cell_names.append([self._cell_layout(n) for n in names])
        self._stream_plan = None if config.bidirectional else kernels.plain_plan(self)
        self.reset_parameters()

    # ----------------------------------------------------------------- construction
    @staticmethod
    def _validate(cfg: RecurrentConfig) -> None:
        if cfg.mode not in GATES:
            raise ValueError(f"mode must be one of {sorted(GATES)}, got {cfg.mode!r}")
        for name in ("input_size", "hidden_size", "num_layers"):
            v = getattr(cfg, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(cfg.proj_size, int) or cfg.proj_size < 0:
            raise ValueError(f"proj_size must be a non-negative integer, got {cfg.proj_size!r}")
        if cfg.proj_size and cfg.mode != "LSTM":
            raise ValueError("proj_size is only supported by LSTM")
        if cfg.proj_size >= cfg.hidden_size:
            raise ValueError(
                f"proj_size must be smaller than hidden_size, got {cfg.proj_size} >= "
                f"{cfg.hidden_size}"
            )
        if cfg.layer_norm and cfg.mode not in ("LSTM", "GRU"):
            raise ValueError("layer_norm is supported by LSTM and GRU only")
        if cfg.proj_size and cfg.layer_norm:
            raise ValueError("layer_norm=True does not support proj_size; use one or the other")
        for name in ("dropout", "input_dropout", "recurrent_dropout", "weight_drop"):
            _check_rate(name, getattr(cfg, name))
        rates = cfg.zoneout if isinstance(cfg.zoneout, tuple) else (cfg.zoneout,)
        if isinstance(cfg.zoneout, tuple) and (cfg.mode != "LSTM" or len(rates) != 2):
            raise ValueError(
                "zoneout takes one rate, or an (h_rate, c_rate) pair for LSTM only, got "
                f"{cfg.zoneout!r}"
            )
        for r in rates:
            _check_rate("zoneout", r)
        if cfg.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {cfg.impl!r}")
        init.check_init(cfg.mode, cfg.init, cfg.forget_bias, cfg.chrono_t_max, cfg.bias)

    def _make_params(self, l: int, d: int, factory: dict) -> list[str]:
        cfg = self.config
        G, H, P = GATES[cfg.mode], cfg.hidden_size, self.output_size
        in_size = cfg.input_size if l == 0 else P * self.num_directions
        sfx = f"_l{l}" + ("_reverse" if d == 1 else "")
        shapes: dict[str, tuple[int, ...]] = {
            "weight_ih": (G * H, in_size),
            "weight_hh": (G * H, P),
        }
        if cfg.bias:
            shapes["bias_ih"] = (G * H,)
            shapes["bias_hh"] = (G * H,)
        if cfg.proj_size:
            shapes["weight_hr"] = (cfg.proj_size, H)
        if cfg.layer_norm:
            for part, size in (("ih", G * H), ("hh", G * H)) + ((("c", H),) if G == 4 else ()):
                shapes[f"ln_{part}_weight"] = (size,)
                shapes[f"ln_{part}_bias"] = (size,)
        names = []
        for base, shape in shapes.items():
            name = base + sfx
            self.register_parameter(name, nn.Parameter(torch.empty(shape, **factory)))
            names.append(name)
        return names

    @staticmethod
    def _cell_layout(names: list[str]) -> tuple:
        by_base = {n.rsplit("_l", 1)[0]: n for n in names}

        def pair(part: str):
            w = by_base.get(f"ln_{part}_weight")
            return None if w is None else (w, by_base[f"ln_{part}_bias"])

        return (
            by_base["weight_ih"],
            by_base["weight_hh"],
            by_base.get("bias_ih"),
            by_base.get("bias_hh"),
            by_base.get("weight_hr"),
            pair("ih"),
            pair("hh"),
            pair("c"),
        )

    def reset_parameters(self) -> None:
        """torch.nn's initialisation: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)).

        Layer-norm gains start at 1 and their biases at 0. Then ``config.init`` and
        ``config.forget_bias`` (:mod:`rnnkit.nn.init`).
        """
        stdv = 1.0 / math.sqrt(self.config.hidden_size)
        for name, p in self.named_parameters():
            if name.startswith("ln_"):
                nn.init.ones_(p) if "_weight" in name else nn.init.zeros_(p)
            else:
                nn.init.uniform_(p, -stdv, stdv)
        init.apply_init(self)

    # ----------------------------------------------------------------- properties
    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def num_directions(self) -> int:
        return 2 if self.config.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Size of ``h`` per direction: ``proj_size`` if set, else ``hidden_size``."""
        return self.config.proj_size or self.config.hidden_size

    @property
    def zoneout_rates(self) -> tuple[float, float]:
        z = self.config.zoneout
        return (float(z[0]), float(z[1])) if isinstance(z, tuple) else (float(z), float(z))

    def __getattr__(self, name: str):
        cfg = self.__dict__.get("config")
        if cfg is not None and name in RecurrentConfig.__dataclass_fields__:
            return getattr(cfg, name)
        return super().__getattr__(name)

    def extra_repr(self) -> str:
        cfg, default = self.config, RecurrentConfig(self.config.mode, 1, 1)
        parts = [f"{cfg.input_size}, {cfg.hidden_size}"]
        for f in dataclasses.fields(cfg):
            if f.name in ("mode", "input_size", "hidden_size"):
                continue
            v = getattr(cfg, f.name)
            if v != getattr(default, f.name):
                parts.append(f"{f.name}={v!r}")
        return ", ".join(parts)

    def weights(self, layer: int, direction: int) -> CellWeights:
        """The parameters of one layer and direction, in :class:`CellWeights` form."""
        w_ih, w_hh, b_ih, b_hh, w_hr, ln_ih, ln_hh, ln_c = self._cell_names[layer][direction]
        get = self._param
        return CellWeights(
            get(w_ih),
            get(w_hh),
            None if b_ih is None else get(b_ih),
            None if b_hh is None else get(b_hh),
            None if w_hr is None else get(w_hr),
            None if ln_ih is None else (get(ln_ih[0]), get(ln_ih[1])),
            None if ln_hh is None else (get(ln_hh[0]), get(ln_hh[1])),
            None if ln_c is None else (get(ln_c[0]), get(ln_c[1])),
        )

    def _param(self, name: str) -> Tensor:
        # Fast path for the streaming loop; getattr covers torch.nn.utils.parametrize,
        # which moves a parameter out of _parameters behind a property.
        p = self._parameters.get(name)
        return getattr(self, name) if p is None else p

    @property
    def flat_weights(self) -> list[Tensor]:
        """Weights in torch.nn's ``_flat_weights`` order (what torch's fused ops take)."""
        return [self._param(n) for per_dir in self._param_names for names in per_dir for n in names]

    # ----------------------------------------------------------------- state
    def init_state(self, batch_size: int, like: Tensor | None = None):
        """Zero state for ``batch_size`` sequences (LSTMState for LSTM, else a tensor)."""
        p = next(self.parameters())
        opts = {
            "dtype": p.dtype if like is None else like.dtype,
            "device": p.device if like is None else like.device,
        }
        n = self.config.num_layers * self.num_directions
        h = torch.zeros(n, batch_size, self.output_size, **opts)
        if self.mode == "LSTM":
            return LSTMState(h, torch.zeros(n, batch_size, self.config.hidden_size, **opts))
        return h

    def _check_state(self, state, batch: int, x: Tensor) -> tuple[Tensor, ...]:
        # On the streaming hot path: plain attribute reads and shape compares only.
        if state is None:
            s = self.init_state(batch, like=x)
            return tuple(s) if isinstance(s, tuple) else (s,)
        n = self.config.num_layers * (2 if self.config.bidirectional else 1)
        if self.config.mode == "LSTM":
            if not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise ValueError("LSTM state must be an LSTMState(h, c) or an (h, c) tuple")
            parts = tuple(state)
            sizes = (self.output_size, self.config.hidden_size)
        else:
            if not isinstance(state, Tensor):
                raise ValueError(f"{self.mode} state must be a tensor, got {type(state).__name__}")
            parts = (state,)
            sizes = (self.output_size,)
        if any(isinstance(t, Tensor) and t.dtype != x.dtype for t in parts) and (
            torch.is_autocast_enabled(x.device.type)
        ):  # under autocast a layer returns its state in the autocast dtype: take it back
            parts = tuple(t.to(x.dtype) if isinstance(t, Tensor) else t for t in parts)
        for t, size, name in zip(parts, sizes, "hc"):
            if not isinstance(t, Tensor) or t.shape != (n, batch, size):
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(
                    f"expected state {name} of shape (num_layers*num_directions, batch, size) = "
                    f"{(n, batch, size)}, got {got}"
                )
            if t.dtype != x.dtype or t.is_cuda != x.is_cuda:
                raise ValueError(
                    f"state {name} is {t.dtype} on {t.device} but the input is {x.dtype} on "
                    f"{x.device}; move one to match"
                )
        return parts

    def _wrap_state(self, parts: tuple[Tensor, ...]):
        return LSTMState(*parts) if self.mode == "LSTM" else parts[0]

    # ----------------------------------------------------------------- forward
    def forward(self, x, state=None, lengths: Tensor | None = None):
        """Run the stack over a whole sequence.

        Args:
            x: ``(B, T, input_size)`` if ``batch_first`` (rnnkit's default, unlike torch.nn),
                else ``(T, B, input_size)``; an unbatched ``(T, input_size)``; or a
                ``PackedSequence``.
            state: initial state, zeros if ``None``: an :class:`LSTMState` / ``(h, c)`` for
                LSTM, an ``(L*dirs, B, H)`` tensor for RNN and GRU.
            lengths: ``(B,)`` true lengths, on any device. Outputs past a sequence's end are
                zeros; the final state is each sequence's state at its last valid step.

        Returns:
            ``(output, state)``: ``output (B, T, dirs*H)`` (layout as the input; a
            ``PackedSequence`` for packed input) and the final state.
        """
        packed = isinstance(x, PackedSequence)
        batch_first = self.config.batch_first
        if packed:
            if lengths is not None:
                raise ValueError("pass lengths or a PackedSequence, not both")
            x, lengths = pad_packed_sequence(x, batch_first=batch_first)
        if not isinstance(x, Tensor):
            raise ValueError(f"expected a tensor or PackedSequence, got {type(x).__name__}")
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(0 if batch_first else 1)
            if isinstance(state, Tensor):
                state = state.unsqueeze(1)
            elif isinstance(state, (tuple, list)) and all(isinstance(t, Tensor) for t in state):
                state = tuple(t.unsqueeze(1) for t in state)
        if x.dim() != 3:
            layout = "(B, T, D)" if batch_first else "(T, B, D)"
            raise ValueError(
                f"expected input of shape {layout} or unbatched (T, D), got {tuple(x.shape)}"
            )
        if x.shape[-1] != self.config.input_size:
            raise ValueError(
                f"expected input with {self.config.input_size} features (last dim), got "
                f"{x.shape[-1]}"
            )
        B, T = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
        if T == 0:
            raise ValueError("expected at least one time step, got T = 0")
        if lengths is not None:
            lengths = self._check_lengths(lengths, B, T)
        hx = self._check_state(state, B, x)

        backend, _ = kernels.choose(self, x, lengths)
        # torch's fused op applies between-layer dropout itself only when the stack runs as
        # one call; input masks split it into per-layer calls that need rnnkit's masks.
        fuse = backend == "native" and not (self.training and self.config.input_dropout > 0)
        noise = sample_noise(self, T, B, x, fuse_dropout=fuse)
        out, hx = kernels.run(backend, self, x, hx, lengths, noise)

        if packed:
            out = pack_padded_sequence(
                out, lengths.cpu(), batch_first=batch_first, enforce_sorted=False
            )
        elif unbatched:
            out = out.squeeze(0 if batch_first else 1)
            hx = tuple(s.squeeze(1) for s in hx)
        return out, self._wrap_state(hx)

    @staticmethod
    def _check_lengths(lengths, B: int, T: int) -> Tensor:
        lengths = torch.as_tensor(lengths)
        if lengths.dim() != 1 or lengths.shape[0] != B:
            raise ValueError(f"expected lengths of shape ({B},), got {tuple(lengths.shape)}")
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise ValueError(f"expected integer lengths, got {lengths.dtype}")
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo <= 0:
            raise ValueError(f"lengths must be positive, got a length of {lo}")
        if hi > T:
            raise ValueError(f"lengths must be at most T = {T}, got a length of {hi}")
        return lengths.long()

    # ----------------------------------------------------------------- streaming
    def step(self, x_t: Tensor, state=None):
        """One time step through all layers, with evaluation semantics (no dropout masks).

        Gradients flow as usual (a decoder can train step by step); wrap streaming
        inference in ``torch.inference_mode()`` for speed.

        Args:
            x_t: ``(B, input_size)``.
            state: as for :meth:`forward` (``None`` means zeros).

        Returns:
            ``(y_t, state)`` with ``y_t (B, proj_size or H)``: the same numbers as
            :meth:`forward` in eval mode on the whole sequence.
        """
        cfg = self.config
        if cfg.bidirectional:
            raise ValueError(
                "step() needs a unidirectional layer: a bidirectional layer must "
                "see the whole sequence"
            )
        if x_t.dim() != 2 or x_t.shape[1] != cfg.input_size:
            raise ValueError(f"expected x_t of shape (B, {cfg.input_size}), got {tuple(x_t.shape)}")
        y, parts = kernels.step(self, x_t, self._check_state(state, x_t.shape[0], x_t))
        return y, (LSTMState(*parts) if cfg.mode == "LSTM" else parts[0])

    # ----------------------------------------------------------------- torch interop
    def _torch_kwargs(self) -> dict[str, Any]:
        cfg = self.config
        kw = {
            "input_size": cfg.input_size,
            "hidden_size": cfg.hidden_size,
            "num_layers": cfg.num_layers,
            "bias": cfg.bias,
            "batch_first": cfg.batch_first,
            "dropout": cfg.dropout,
            "bidirectional": cfg.bidirectional,
        }
        if cfg.mode == "LSTM":
            kw["proj_size"] = cfg.proj_size
        if cfg.mode.startswith("RNN_"):
            kw["nonlinearity"] = cfg.mode[4:].lower()
        return kw

    def to_torch(self) -> nn.RNNBase:
        """An equivalent ``torch.nn`` layer with copied weights (plain cells only)."""
        cfg = self.config
        extras = [
            n
            for n in ("input_dropout", "recurrent_dropout", "weight_drop", "zoneout")
            if getattr(cfg, n) not in (0, 0.0, (0.0, 0.0))
        ]
        if cfg.layer_norm:
            extras.append("layer_norm")
        if extras:
            raise ValueError(
                f"torch.nn has no equivalent of {', '.join(extras)}; "
                "to_torch() needs a layer without them"
            )
        p = next(self.parameters())
        m = self.TORCH_CLASS(**self._torch_kwargs(), device=p.device, dtype=p.dtype)
        m.load_state_dict(self.state_dict())
        m.train(self.training)
        return m

    @classmethod
    def _from_torch_kwargs(cls, m: nn.RNNBase) -> dict[str, Any]:
        return {
            "input_size": m.input_size,
            "hidden_size": m.hidden_size,
            "num_layers": m.num_layers,
            "bias": m.bias,
            "batch_first": m.batch_first,
            "dropout": float(m.dropout),
            "bidirectional": m.bidirectional,
        }

    @classmethod
    def from_torch(cls, m: nn.RNNBase, **kwargs):
        """Copy a ``torch.nn`` layer exactly (weights, ``batch_first``, everything else).

        Extra ``kwargs`` (e.g. ``recurrent_dropout=0.25``) add rnnkit's options.
        """
        if not isinstance(m, cls.TORCH_CLASS):
            raise ValueError(
                f"expected a torch.nn.{cls.TORCH_CLASS.__name__}, got {type(m).__name__}"
            )
        p = next(m.parameters())
        layer = cls(**cls._from_torch_kwargs(m), **kwargs, device=p.device, dtype=p.dtype)
        missing, unexpected = layer.load_state_dict(m.state_dict(), strict=False)
        # Only rnnkit's own additions (layer-norm gains and biases) may be absent in torch;
        # they keep their initial values (gain 1, bias 0).
        missing = [k for k in missing if not k.startswith("ln_")]
        if missing or unexpected:
            raise ValueError(
                f"cannot copy {type(m).__name__}: missing {missing}, unexpected {unexpected}"
            )
        layer.train(m.training)
        return layer

    @classmethod
    def from_config(cls, config: RecurrentConfig | dict, **factory):
        """Rebuild a layer (with fresh weights) from :attr:`config` or its ``to_dict()``."""
        if isinstance(config, dict):
            config = RecurrentConfig.from_dict(config)
        if config.mode not in cls.MODES:
            raise ValueError(
                f"{cls.__name__}.from_config needs mode in {cls.MODES}, got {config.mode!r}"
            )
        obj = cls.__new__(cls)
        RecurrentBase.__init__(obj, config, **factory)
        return obj
