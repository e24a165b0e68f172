"""Time-series forecasting: from a CSV or DataFrame to multi-step forecasts with intervals.

``Forecaster`` reads a table (wide: one column per series; or long: an id column), checks
it (:mod:`rnnkit.data.series`), standardizes it with statistics of the training rows only,
and trains one of three recurrent architectures (:mod:`rnnkit.tasks._forecast_nets`) on
windows of ``lookback`` inputs and ``horizon`` targets. ``evaluate`` scores every window of
a frame (stride 1) beside the last-value and seasonal-naive baselines on the same windows.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import io
from ..data.series import (
    Series,
    calendar_features,
    check_length,
    default_season,
    is_business_days,
    read_table,
    to_series,
    window_starts,
)
from ..metrics.forecast import coverage, forecast_metrics, last_value, mase_scale, seasonal_naive
from ..train import Batches, FixedBatches, RecurrentTask, TrainConfig, finish, fit, run_folder
from ._forecast_nets import ForecastConfig, ForecastNet, make_loss, point_of, quantiles_of

TASK = "forecast"
Data = str | Path | pd.DataFrame | pd.Series | Series


class Forecaster:
    """A recurrent forecaster of ``horizon`` steps from the last ``lookback`` steps.

    Args:
        lookback, horizon: input and output lengths, in time steps.
        cell: ``"gru"``, ``"lstm"`` or ``"rnn"``.
        architecture: ``"segment"`` (SegRNN; the strongest), ``"direct"`` or ``"seq2seq"``.
        hidden_size: the RNN width (``d_model``; default 512 for segment, 128 otherwise).
        segment_length: ``w`` of the segment architecture (default ``min(48, lookback)``).
        norm: ``"revin"`` (per-window instance normalization), ``"last"`` or ``"none"``.
        channel_independence: one shared univariate model for every series.
        channel_embedding: with channel independence, tell the segment decoder which
            channel it forecasts (SegRNN's ``channel_id``; its ETTh2/ETTm2 scripts turn it off).
        head: ``"point"``, ``"quantile"``, ``"gaussian"`` or ``"student_t"``.
        loss: ``"mae"`` or ``"mse"`` for the point head.
        quantiles: the levels of the prediction columns (and of the quantile head).
        calendar: add known-future calendar features (hour, weekday, day of year).
        season: the seasonal period of seasonal-naive and MASE (inferred from the frequency).
        train_stride: use every ``train_stride``-th training window (faster epochs).
        highway: LSTNet's linear "highway": a linear map from the last ``highway`` lookback
            values of each series to the horizon, trained with the network and added to its
            forecast (0, the default, turns it off; at most ``lookback``).

    Example::

        fc = rnnkit.Forecaster(lookback=336, horizon=96)
        fc.fit("ETTh1.csv", targets=["OT"], max_time="5m")
        fc.predict(df)   # the next 96 timestamps, one column per target
    """

    def __init__(self, lookback: int = 96, horizon: int = 24, cell: str = "gru",
                 architecture: str = "segment", hidden_size: int | None = None,
                 num_layers: int = 1, segment_length: int | None = None, dropout: float = 0.1,
                 norm: str = "revin", revin_affine: bool = True,
                 channel_independence: bool = True, channel_embedding: bool = True,
                 head: str = "point", loss: str = "mae",
                 quantiles: tuple[float, ...] = (0.1, 0.5, 0.9), calendar: bool = False,
                 season: int | None = None, train_stride: int = 1, teacher_forcing: float = 1.0,
                 highway: int = 0, impl: str = "auto") -> None:  # fmt: skip
        if hidden_size is None:
            hidden_size = 512 if architecture == "segment" else 128
        if segment_length is None:
            segment_length = max(1, min(48, lookback))
        self.model_options = {
            "lookback": lookback, "horizon": horizon, "architecture": architecture,
            "cell": cell, "hidden_size": hidden_size, "num_layers": num_layers,
            "segment_length": segment_length, "dropout": dropout, "norm": norm,
            "revin_affine": revin_affine, "channel_independence": channel_independence,
            "channel_embedding": channel_embedding,
            "head": head, "loss": loss, "quantiles": tuple(quantiles),
            "teacher_forcing": teacher_forcing, "highway": highway, "impl": impl,
        }  # fmt: skip
        ForecastConfig(n_channels=1, **self.model_options)  # validate now
        if season is not None and (not isinstance(season, int) or season < 1):
            raise ValueError(f"season must be a positive integer, got {season!r}")
        if not isinstance(train_stride, int) or train_stride < 1:
            raise ValueError(f"train_stride must be a positive integer, got {train_stride!r}")
        self.lookback, self.horizon = lookback, horizon
        self.calendar, self.season, self.train_stride = calendar, season, train_stride
        self.model: ForecastNet | None = None
        self.meta: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self.train_config: TrainConfig | None = None

    # ------------------------------------------------------------------ data
    def _series(self, data: Data, what: str, **read: Any) -> Series:
        if isinstance(data, Series):
            return data
        if self.meta:  # a trained model reads new data the way it read its training data
            table = read_table(data, header=self.meta["header"])
            time_col = self.meta["time_col"]
            if isinstance(table.index, pd.DatetimeIndex) and time_col not in (None, "__time__") \
                    and time_col not in table.columns:  # fmt: skip
                table = table.reset_index(names=time_col)  # its time as an index, not a column
            self._check_columns(table, what)
            read = {k: self.meta[k] for k in ("time_col", "targets", "id_col", "covariates")}
            read["future_covariates"] = self.meta.get("future_covariates", [])
            long = bool(self.meta["id_col"])  # long format: one target column, pivoted
            read["targets"] = [self.meta["long_target"]] if long else self.meta["targets"]
            trained = self.meta.get("freq")
            # business days: any weekdays absent from new data are its holidays, as in training
            # (inferring the calendar afresh from a short slice can fail on a holiday season)
            read["freq"] = trained if is_business_days(trained) else None
            s = _say_notes(to_series(table, fill=self.meta.get("fill"), **read))
            if trained and s.freq and not _same_step(s.freq, trained):
                raise ValueError(
                    f"the {what} data has a {s.freq} time step, but the model was trained on "
                    f"{trained} steps; resample it to {trained} (a model forecasts the step it "
                    "learned)"
                )
            return self._align_ids(s, what) if self.meta["id_col"] else s
        return _say_notes(to_series(read_table(data), **read))

    def _align_ids(self, s: Series, what: str) -> Series:
        """Long format: the series' columns in the training order of the ids (a model's
        channels, scaler and channel embedding are by position; the file's order of ids is
        whatever its rows were), and the same ids, no fewer and no others."""
        trained, got = list(self.meta["targets"]), list(s.targets)
        missing = [i for i in trained if i not in got]
        new = [i for i in got if i not in trained]
        if missing or new:
            raise ValueError(
                f"the ids in {self.meta['id_col']!r} differ from training ({what}): missing "
                f"{missing}, new {new}; the model forecasts the ids it was trained on: {trained}"
            )
        order = [got.index(i) for i in trained]
        return dataclasses.replace(s, values=s.values[:, order], targets=trained,
                                   long_format={**s.long_format, "ids": trained})  # fmt: skip

    def _check_columns(self, table: pd.DataFrame, what: str) -> None:
        cols = [str(c) for c in table.columns]
        if isinstance(table.index, pd.DatetimeIndex) and self.meta["time_col"] == "__time__":
            cols.append("__time__")
        expected = self.meta["columns"]
        missing = [c for c in expected if c not in cols]
        extra = [c for c in cols if c not in expected]
        if missing or extra:
            hint = ""
            if "__time__" in missing:
                hint = "; the model was trained on a frame indexed by time: set_index() its time"
            missing = ["<a DatetimeIndex>" if c == "__time__" else c for c in missing]
            expected = ["<a DatetimeIndex>" if c == "__time__" else c for c in expected]
            raise ValueError(
                f"the {what} columns differ from training: missing {missing}, unexpected "
                f"{extra}; expected the columns {expected}{hint}"
            )

    def _arrays(self, s: Series, future: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:  # fmt: skip
        """Standardized targets, covariates and known features of a series. The known
        features (calendar, future covariates) run ``horizon`` rows past its end: the
        calendar's are computed, the future covariates' are ``future`` ``(H, F)`` (NaN
        without it: only a forecast from the last row reads them, and it passes them)."""
        m = self.meta
        y = (s.values - np.asarray(m["mean"])) / np.asarray(m["std"])
        cov = None
        if s.covariates is not None:
            cov = (s.covariates - np.asarray(m["cov_mean"])) / np.asarray(m["cov_std"])
        parts = []
        if self.calendar:
            index = s.time if s.time is not None else pd.RangeIndex(len(s))
            fut = s.future_index(self.horizon)
            full = index.append(fut) if s.time is not None else index
            cal = calendar_features(full, m["freq"], m.get("calendar_yearly", True))
            if cal.shape[1]:
                parts.append(cal)
        if s.future_covariates is not None:
            if future is None:
                future = np.full((self.horizon, s.future_covariates.shape[1]), np.nan)
            raw = np.concatenate([s.future_covariates, future])
            parts.append((raw - np.asarray(m["fut_mean"])) / np.asarray(m["fut_std"]))
        known = np.concatenate(parts, axis=1) if parts else None
        return y, cov, known

    def _tensors(self, s: Series, future: np.ndarray | None = None
                 ) -> tuple[torch.Tensor | None, ...]:  # fmt: skip
        return tuple(None if a is None else torch.as_tensor(a, dtype=torch.float32)
                     for a in self._arrays(s, future))  # fmt: skip

    def _windows(self, arrays: tuple, starts: np.ndarray, with_future: bool = True):
        """Batch tensors ``(y_past, cov_past, known, y_future)`` of the windows at ``starts``."""
        yt, cov, known = arrays
        L, H = self.lookback, self.horizon
        idx = torch.as_tensor(starts).unsqueeze(1) + torch.arange(L + H)
        idx_past = idx[:, :L]
        y_future = yt[idx[:, L:]] if with_future else None
        c = None if cov is None else cov[idx_past]
        k = None if known is None else known[idx]
        return yt[idx_past], c, k, y_future

    # ------------------------------------------------------------------ training
    def fit(self, data: Data, val: Data | None = None, *, time_col: str | None = None,
            targets: list[str] | str | None = None, id_col: str | None = None,
            covariates: list[str] | None = None, future_covariates: list[str] | None = None,
            fill: str | None = None, out: str | Path | None = None, resume: bool = False,
            val_stride: int = 1, callbacks: list | None = None,
            **train_options: Any) -> Forecaster:  # fmt: skip
        """Train on ``data`` (validated on ``val``, else on the last 10% of ``data``).

        ``val`` should start ``lookback`` rows before its first target (as the ETT protocol's
        frames do). ``covariates``: past-observed columns, read over the lookback;
        ``future_covariates``: columns known in advance (planned events, a weather forecast),
        read over the lookback and the horizon, so :meth:`predict` needs their next values.
        ``train_options`` are :class:`rnnkit.train.TrainConfig` fields (``max_time="5m"``,
        ``max_epochs``, ``batch_size``, ``lr``, ``seed``, ...);
        ``callbacks``: extra Lightning callbacks, e.g. :class:`rnnkit.diagnostics.GradientMonitor`.
        """
        io.check_resumable(self, out, resume)
        if not {"max_epochs", "max_steps", "max_time"} & set(train_options):
            train_options = {**train_options, "max_epochs": 10}
        cfg = TrainConfig.from_options(**train_options)
        if isinstance(targets, str):
            targets = [targets]
        read = {"time_col": time_col, "targets": targets, "id_col": id_col,
                "covariates": covariates, "future_covariates": future_covariates,
                "fill": fill}  # fmt: skip
        table = data if isinstance(data, Series) else read_table(data)
        s = table if isinstance(table, Series) else _say_notes(to_series(table, **read))
        L, H = self.lookback, self.horizon
        check_length(len(s), L, H, "the training data")
        if self.calendar and s.time is None:
            raise ValueError("calendar features need a time axis, and this data has none (no "
                             "time column, no DatetimeIndex): give its time column (--time-col) "
                             "or leave calendar out")  # fmt: skip
        if val is None:
            n_val = max(H, len(s) // 10)
            if len(s) - n_val >= L + H and n_val >= H:
                s, v = s.slice(0, len(s) - n_val), s.slice(len(s) - n_val - L, len(s))
            else:
                v = None
        if not self.meta or not resume:
            self.meta = self._fit_meta(s, table, read)
        if val is not None:
            v = self._series(val, "validation")
            check_length(len(v), L, H, "the validation data")
        if self.model is None or not resume:
            known = self._arrays(s.slice(0, 1))[2]
            n_known = 0 if known is None else known.shape[1]
            mc = ForecastConfig(n_channels=len(s.targets), n_past_covariates=len(
                s.covariate_names), n_known=n_known, **self.model_options)  # fmt: skip
            torch.manual_seed(cfg.seed)
            self.model = ForecastNet(mc)
        self.train_config = cfg
        loss = make_loss(self.model.config)
        task = RecurrentTask(self.model, loss, cfg)
        train = self._train_batches(s, cfg.batch_size, cfg.seed)
        val_batches = None
        if v is not None:
            starts, arrays = window_starts(len(v), L, H, stride=val_stride), self._tensors(v)
            val_batches = FixedBatches(
                ((y_past, cov, known, None), y_future)
                for y_past, cov, known, y_future in (
                    self._windows(arrays, starts[i : i + 256]) for i in range(0, len(starts), 256)
                )
            )
        with run_folder(out, "forecast", resume) as out_dir:
            trainer = fit(task, train, val_batches, out_dir, resume=resume, callbacks=callbacks)
            self.metrics = finish(task, trainer, out_dir, restore_best=val_batches is not None)
        if out is not None and trainer.global_rank == 0:
            self.save(out)
        return self

    def _fit_meta(self, s: Series, table: Any, read: dict[str, Any]) -> dict[str, Any]:
        mean, std = _mean_std(s.values)
        cov_mean, cov_std = _mean_std(s.covariates)
        fut_mean, fut_std = _mean_std(s.future_covariates)
        season = self.season or default_season(s.freq)
        time_col = s.time_col
        if isinstance(table, pd.DataFrame):
            columns = [str(c) for c in table.columns]
            if time_col == "__time__":  # a DataFrame with a DatetimeIndex
                columns.append("__time__")
        else:  # a Series: the columns it was read from
            columns = [c for c in [time_col, *s.targets, *s.covariate_names,
                                   *s.future_covariate_names] if c]  # fmt: skip
        long = s.long_format
        time_name = time_col  # what outputs call the time: the column, or the index's name
        if time_col == "__time__" and isinstance(table, pd.DataFrame):
            time_name = None if table.index.name is None else str(table.index.name)
        return {
            "time_name": time_name,
            "targets": s.targets, "covariates": s.covariate_names, "time_col": time_col,
            "id_col": read["id_col"], "long_target": long["target"] if long else None,
            "columns": columns, "header": None, "fill": read["fill"], "freq": s.freq,
            "mean": mean, "std": std, "cov_mean": cov_mean, "cov_std": cov_std,
            "future_covariates": s.future_covariate_names,
            "fut_mean": fut_mean, "fut_std": fut_std,
            "season": season, "mase_scale": mase_scale(s.values, season).tolist(),
            "calendar_yearly": bool(s.time is not None and len(s) > 1
                                    and s.time[-1] - s.time[0] >= pd.Timedelta(days=730)),
        }  # fmt: skip

    def _train_batches(self, s: Series, batch_size: int, seed: int) -> Batches:
        starts = window_starts(len(s), self.lookback, self.horizon, stride=self.train_stride)
        arrays = self._tensors(s)

        def shard(rank: int, world: int) -> np.ndarray:
            return starts[rank::world]

        def make_epoch(epoch: int, rank: int, world: int):
            mine = shard(rank, world)
            g = torch.Generator().manual_seed(seed * 1000 + epoch)
            order = mine[torch.randperm(len(mine), generator=g).numpy()]
            for i in range(0, len(order), batch_size):
                y_past, cov, known, y_future = self._windows(arrays, order[i : i + batch_size])
                yield (y_past, cov, known, y_future), y_future

        def length(rank: int, world: int) -> int:
            return -(-len(shard(rank, world)) // batch_size)

        return Batches(make_epoch, length)

    # ------------------------------------------------------------------ inference
    def _ready(self) -> ForecastNet:
        if self.model is None:
            raise ValueError("this Forecaster is not trained yet: call fit() or load()")
        self.model.eval()
        return self.model

    @torch.no_grad()
    def _forecast(self, s: Series, starts: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Head parameters on the standardized scale ``(N, H, C, P)``."""
        model, arrays = self._ready(), self._tensors(s)
        outs = []
        for i in range(0, len(starts), batch_size):
            y_past, cov, known, _ = self._windows(arrays, starts[i : i + batch_size], False)
            outs.append(model((y_past, cov, known, None))[0])
        return torch.cat(outs).numpy() if outs else np.zeros((0, self.horizon, 0, 1))

    def _to_original(self, z: np.ndarray) -> np.ndarray:
        return z * np.asarray(self.meta["std"]) + np.asarray(self.meta["mean"])

    def predict(self, data: Data, future: Data | None = None,
                plot: str | Path | None = None) -> pd.DataFrame:  # fmt: skip
        """Forecast the ``horizon`` steps after the last row of ``data``: one row per future
        timestamp, one column per target, and ``<target>_q<level>`` columns for a
        probabilistic head. Long-format input gives long-format output. A model trained
        with ``future_covariates`` needs their values over the horizon: ``future``, a table
        (or CSV) of at least ``horizon`` rows with those columns (and, where the data have
        one, the time column, whose first ``horizon`` timestamps must be the forecast's).
        ``plot``: also write this forecast as :meth:`plot` does, to that PNG path."""
        s = self._series(data, "predict frame")
        frame = self._predict_wide(s, self._future_values(future, s))
        if plot is not None:
            self._plot(s, frame, plot)
        if self.meta.get("id_col"):
            return self._to_long(frame, list(self.meta["targets"]), self._ready().config)
        return frame

    def _future_values(self, future: Data | None, s: Series) -> np.ndarray | None:
        """The future covariates' values over the horizon after ``s``, ``(H, F)``, checked."""
        names = list(self.meta.get("future_covariates") or [])
        if not names:
            if future is not None:
                raise ValueError("this model was trained without future covariates; "
                                 "predict from the data alone (no future table)")  # fmt: skip
            return None
        H = self.horizon
        if future is None:
            raise ValueError(
                f"this model reads future covariates {names} over the horizon: pass their "
                f"next {H} values as a table with those columns (predict(data, future=...), "
                "--future FILE.csv)"
            )
        table = read_table(future)
        columns = [str(c) for c in table.columns]
        missing = [c for c in names if c not in columns]
        if missing:
            raise ValueError(f"the future table has no column {missing}; its columns are "
                             f"{columns}")  # fmt: skip
        if len(table) < H:
            raise ValueError(f"the future table has {len(table)} rows; the forecast needs "
                             f"{H} (one per step of the horizon)")  # fmt: skip
        table = table.iloc[:H]
        time_col = self.meta.get("time_col")
        if s.time is not None and time_col not in (None, "__time__") and time_col in table:
            got = pd.DatetimeIndex(pd.to_datetime(table[time_col], errors="coerce"))
            expected = s.future_index(H)
            if not (got == expected).all():
                bad = int(np.argmax(np.asarray(got != expected)))
                raise ValueError(
                    f"the future table's row {bad} is for {got[bad]}, but the forecast's step "
                    f"{bad + 1} is {expected[bad]}; give the {H} steps after the data's last "
                    f"row ({s.time[-1]})"
                )
        values = np.empty((H, len(names)))
        for j, c in enumerate(names):
            col = pd.to_numeric(table[c], errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(col)
            if bad.any():
                raise ValueError(
                    f"the future table's column {c!r} has {int(bad.sum())} missing or "
                    f"non-numeric values, the first at row {int(np.argmax(bad))}; every "
                    "step of the horizon needs a value"
                )
            values[:, j] = col
        return values

    def _predict_wide(self, s: Series, future: np.ndarray | None = None) -> pd.DataFrame:
        model = self._ready()
        check_length(len(s), self.lookback, 0, "the predict frame")
        n = len(s)
        # the future rows are not read (targets are unknown); the calendar and ``future``
        # (the future covariates' next values) cover them
        s_in = s.slice(n - self.lookback, n)
        y, cov, known = self._tensors(s_in, future)
        x = (*(None if t is None else t[None] for t in (y, cov, known)), None)
        with torch.no_grad():
            params = model(x)[0]
        cfg = model.config
        index = s_in.future_index(self.horizon)
        if s.time is not None:
            index = index.rename(self._time_name())  # as the data named its time
        frame = pd.DataFrame(self._to_original(point_of(params, cfg)[0].numpy()),
                             index=index, columns=s.targets)  # fmt: skip
        if cfg.head != "point":
            q = self._to_original_q(quantiles_of(params, cfg)[0].numpy())
            for j, level in enumerate(cfg.quantiles):
                for k, t in enumerate(s.targets):
                    frame[f"{t}_q{level:g}"] = q[:, k, j]
        return frame

    def _time_name(self) -> str:
        """The name outputs give the time axis: the data's time column, or the name of the
        DatetimeIndex it came in (``"time"`` when that had none)."""
        col = self.meta.get("time_col")
        name = self.meta.get("time_name", None if col == "__time__" else col)
        return name or "time"

    def _to_original_q(self, q: np.ndarray) -> np.ndarray:
        """``(..., C, Q)`` quantiles back to the original scale."""
        return q * np.asarray(self.meta["std"])[:, None] + np.asarray(self.meta["mean"])[:, None]

    def _to_long(self, frame: pd.DataFrame, ids: list[str], cfg: ForecastConfig) -> pd.DataFrame:
        m = self.meta
        rows = []
        for i in ids:
            part = pd.DataFrame({self._time_name(): frame.index, m["id_col"]: i,
                                 m["long_target"]: frame[i].to_numpy()})  # fmt: skip
            if cfg.head != "point":
                for level in cfg.quantiles:
                    part[f"{m['long_target']}_q{level:g}"] = frame[f"{i}_q{level:g}"].to_numpy()
            rows.append(part)
        return pd.concat(rows, ignore_index=True)

    def evaluate(self, data: Data, stride: int = 1, start: int | None = None) -> dict[str, Any]:
        """Scores over every window of ``data`` (stride 1: none dropped) whose targets start
        at row ``start`` or later (default: the first row after one lookback), beside the
        last-value and seasonal-naive baselines on the same windows."""
        s = self._series(data, "evaluation")
        check_length(len(s), self.lookback, self.horizon, "the evaluation data")
        starts = window_starts(len(s), self.lookback, self.horizon,
                               first_target=self._row_of(s, start), stride=stride)  # fmt: skip
        if len(starts) == 0:
            raise ValueError(f"no complete window with targets from row {start}; "
                             "start earlier or pass more rows")  # fmt: skip
        return self._score(s, starts)[0]

    def _forecasts_at(self, s: Series, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The windows' point forecasts ``(N, H, C)`` and, for a probabilistic head, their
        quantiles ``(N, H, C, Q)`` (else None), on the original scale."""
        cfg = self._ready().config
        params = torch.from_numpy(self._forecast(s, starts))
        pred = self._to_original(point_of(params, cfg).numpy())
        if cfg.head == "point":
            return pred, None
        return pred, self._to_original_q(quantiles_of(params, cfg).numpy())

    def _score(self, s: Series, starts: np.ndarray, per_window: bool = False):
        cfg = self._ready().config
        pred, q = self._forecasts_at(s, starts)
        idx = starts[:, None] + np.arange(self.lookback + self.horizon)
        windows = s.values[idx]
        past, true = windows[:, : self.lookback], windows[:, self.lookback :]
        mean, std = np.asarray(self.meta["mean"]), np.asarray(self.meta["std"])
        scale, season = np.asarray(self.meta["mase_scale"]), self.meta["season"]
        result: dict[str, Any] = forecast_metrics(pred, true, mean, std, scale)
        if q is not None and len(cfg.quantiles) > 1:  # one level is no interval
            result["coverage"] = coverage(q[..., 0], q[..., -1], true)
            result["interval"] = [cfg.quantiles[0], cfg.quantiles[-1]]
        result["windows"] = len(starts)
        result["season"] = season
        notes = []
        if season > self.lookback:
            notes.append(
                f"the season ({season}) is longer than the lookback ({self.lookback}): "
                "seasonal_naive reads the lookback only, so it is the last value here"
            )
        if (scale == 0).any():
            names = ", ".join(str(n) for n, z in zip(self.meta["targets"], scale == 0) if z)
            others = "; MASE is the mean over the other series" if (scale > 0).any() else ""
            notes.append(
                f"no MASE for {names}: the training data repeats exactly every season "
                f"({season}), so the seasonal-naive error MASE divides by is 0{others}"
            )
        if notes:
            result["notes"] = notes
            for note in notes:
                _note(note)
        base = {"last_value": last_value(past, self.horizon),
                "seasonal_naive": seasonal_naive(past, self.horizon, season)}  # fmt: skip
        result["baselines"] = {k: forecast_metrics(b, true, mean, std, scale)
                               for k, b in base.items()}  # fmt: skip
        if not per_window:
            return result, None
        rows = []
        for i, st in enumerate(starts):
            row = {"origin": self._origin(s, int(st) + self.lookback)}
            row.update(forecast_metrics(pred[i : i + 1], true[i : i + 1], mean, std, scale))
            for k, b in base.items():
                row[f"{k}_mse"] = forecast_metrics(b[i : i + 1], true[i : i + 1], mean, std,
                                                   scale)["mse"]  # fmt: skip
            rows.append(row)
        return result, pd.DataFrame(rows)

    @staticmethod
    def _origin(s: Series, row: int) -> Any:
        return s.time[row] if s.time is not None else s.start_index + row

    def backtest(self, data: Data, start: Any = None, stride: int | None = None) -> pd.DataFrame:
        """Rolling-origin evaluation: forecasts from origins ``start``, ``start + stride``, ...
        (``start`` a row number or a timestamp of the first forecast step; default: the first
        possible; ``stride`` default: the horizon). One row per origin with its scores; the
        totals over all origins are in ``.attrs["summary"]``. No refit: this model forecasts
        from every origin (Darts' ``retrain=False``), so start after its training period."""
        s, starts = self._origins(data, start, stride, "backtest")
        summary, table = self._score(s, starts, per_window=True)
        table.attrs["summary"] = summary
        return table

    def historical_forecasts(self, data: Data, start: Any = None,
                             stride: int | None = None) -> pd.DataFrame:  # fmt: skip
        """The forecasts themselves from every origin ``backtest`` scores (same ``start`` and
        ``stride``), in one table: ``origin`` (the first forecast step), the time of each step
        (or ``row``, its row number, when the data have no time column), ``step`` (1 ...
        horizon), the forecast of each target (quantile columns too, as in :meth:`predict`)
        and beside it ``<target>_actual``. Long-format input gives one row per series as
        well. Each window's forecast is the one :meth:`predict` makes from the rows before it."""
        s, starts = self._origins(data, start, stride, "historical forecast")
        cfg = self._ready().config
        pred, q = self._forecasts_at(s, starts)  # (N, H, C), (N, H, C, Q) or None
        rows = (starts + self.lookback)[:, None] + np.arange(self.horizon)  # (N, H)
        when = s.time[rows.ravel()] if s.time is not None else s.start_index + rows.ravel()
        time_name = self._time_name() if s.time is not None else "row"
        base = {"origin": np.repeat([self._origin(s, int(r)) for r in rows[:, 0]], self.horizon),
                time_name: np.asarray(when),
                "step": np.tile(np.arange(1, self.horizon + 1), len(starts))}  # fmt: skip
        actual = s.values[rows]  # (N, H, C)
        long = self.meta.get("id_col")
        parts = []
        for k, t in enumerate(s.targets):
            name = self.meta["long_target"] if long else t
            cols = dict(base, **({long: t} if long else {}))
            cols[name] = pred[..., k].ravel()
            if q is not None:
                for j, level in enumerate(cfg.quantiles):
                    cols[f"{name}_q{level:g}"] = q[..., k, j].ravel()
            cols[f"{name}_actual"] = actual[..., k].ravel()
            parts.append(pd.DataFrame(cols))
        if long:
            return pd.concat(parts, ignore_index=True)
        return pd.concat([parts[0], *(p.iloc[:, len(base) :] for p in parts[1:])], axis=1)

    def _origins(self, data: Data, start: Any, stride: int | None,
                 what: str) -> tuple[Series, np.ndarray]:  # fmt: skip
        """The series and the first rows of its windows from ``start``, every ``stride``."""
        s = self._series(data, what)
        check_length(len(s), self.lookback, self.horizon, f"the {what} data")
        first = self._row_of(s, start)
        stride = self.horizon if stride is None else stride
        starts = window_starts(len(s), self.lookback, self.horizon, first, stride=stride)
        if len(starts) == 0:
            raise ValueError(f"no complete forecast window from {start!r}: start earlier")
        return s, starts

    def _row_of(self, s: Series, start: Any) -> int | None:
        """The row of the first forecast step ``start`` names (a row number or a timestamp),
        with a note where it is not that row: a timestamp between two rows starts at the next
        one, and the first ``lookback`` rows are input, never a forecast step."""
        if start is None:
            return None
        if isinstance(start, (int, np.integer)) and not isinstance(start, bool):
            if start < 0:
                raise ValueError(f"start is a row number from 0 (or a timestamp), got {start}")
            row = int(start)
        elif s.time is None:
            raise ValueError(f"this data has no time column: give start as a row number, "
                             f"got {start!r}")  # fmt: skip
        else:
            try:
                ts = pd.Timestamp(start)
            except ValueError as e:
                raise ValueError(f"expected start as a row number or a timestamp, "
                                 f"got {start!r}") from e  # fmt: skip
            row = int(s.time.searchsorted(ts))
            if row < len(s) and s.time[row] != ts:
                _note(f"start {start} falls between two rows: the first forecast step is the "
                      f"next one, {s.time[row]}")  # fmt: skip
        if row < self.lookback <= len(s):
            first = s.time[self.lookback] if s.time is not None else self.lookback
            _note(
                f"start {start} leaves fewer than lookback={self.lookback} rows of input "
                f"before it: the first forecast step is row {self.lookback} ({first})"
            )
        return row

    def plot(self, data: Data, path: str | Path, history: int | None = None,
             future: Data | None = None) -> Path:  # fmt: skip
        """Write a PNG of the last ``history`` rows (default ``3 * horizon``), the forecast
        and its interval, one panel per target (the first 6); ``future`` as in
        :meth:`predict`."""
        s = self._series(data, "plot")
        return self._plot(s, self._predict_wide(s, self._future_values(future, s)), path,
                          history)  # fmt: skip

    def _plot(self, s: Series, forecast: pd.DataFrame, path: str | Path,
              history: int | None = None) -> Path:  # fmt: skip
        from ..viz.forecast import plot_forecast

        return plot_forecast(s, forecast, Path(path), history or 3 * self.horizon,
                             self._ready().config.quantiles)  # fmt: skip

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model directory (config.json, model.safetensors, metrics.json)."""
        model = self._ready()
        config = {
            "model": model.config.to_dict(), "data": self.meta, "calendar": self.calendar,
            "season": self.season, "train_stride": self.train_stride,
            "train": self.train_config.to_dict() if self.train_config else None,
        }  # fmt: skip
        metrics = {k: v for k, v in self.metrics.items() if k != "history"}
        return io.save_model_dir(path, task=TASK, config=config, model=model, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path) -> Forecaster:
        """Load a model directory written by :meth:`save` (no pickle is ever read)."""
        config = io.read_config(path, task=TASK)
        with io.damaged_config(path):  # an entry missing, unknown or mistyped: one line
            mc = ForecastConfig.from_dict(config["model"])
            options = {k: v for k, v in dataclasses.asdict(mc).items()
                       if k not in ("n_channels", "n_past_covariates", "n_known")}  # fmt: skip
            self = cls(**options, calendar=config["calendar"], season=config["season"],
                       train_stride=config["train_stride"])  # fmt: skip
            self.meta = config["data"]
            self.model = ForecastNet(mc)
            self.train_config = TrainConfig.from_dict(config.get("train"))
        io.load_weights(path, self.model)
        self.model.eval()
        self.metrics = io.read_metrics(path)
        return self


def _same_step(a: str, b: str) -> bool:
    """Whether two pandas frequency strings name the same step ("h" and "60min" do)."""
    oa, ob = pd.tseries.frequencies.to_offset(a), pd.tseries.frequencies.to_offset(b)
    try:
        return pd.Timedelta(oa) == pd.Timedelta(ob)
    except (ValueError, TypeError):  # calendar steps (months, business days): compare names
        return oa == ob


def _note(note: str) -> None:
    print(f"rnnkit: note: {note}", file=sys.stderr)


def _say_notes(s: Series) -> Series:
    for note in s.notes:
        _note(note)
    return s


def _mean_std(a: np.ndarray | None) -> tuple[list[float], list[float]]:
    """Per-column mean and standard deviation (1 where a column is constant) of ``a (T, K)``
    as lists for the model directory; empty lists for ``None``."""
    if a is None:
        return [], []
    std = a.std(axis=0)
    return a.mean(axis=0).tolist(), np.where(std > 1e-12, std, 1.0).tolist()


__all__ = ["Forecaster"]
