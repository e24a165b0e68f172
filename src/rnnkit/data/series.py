"""Time series tables: reading a CSV or DataFrame into a checked, regular, numeric matrix,
and the window arithmetic of the forecasting protocols.

A :class:`Series` is ``values (T, C)`` (float64, one column per target series), optional
``covariates (T, K)`` (past-observed), optional ``future_covariates (T, F)`` (known in
advance: a forecast reads their values over the horizon too), the ``time`` axis (a
``DatetimeIndex`` with a known frequency, or ``None`` when the row index is the time axis),
and ``notes`` said once to the user. Every way a table can be silently wrong raises
``ValueError`` saying what and where: unparseable or duplicate timestamps, an irregular step
(or ``fill=...`` to fill the gaps), NaN/inf values (count and first position, or
``fill=...``), non-numeric targets.

Windows: a window is ``L`` input rows followed by ``H`` target rows. ``window_starts`` lists
the first input row of every window whose targets lie in ``[first_target, end)``; the
long-horizon protocol of the literature (Informer/Autoformer loaders, SegRNN, PatchTST)
lets a split's inputs reach back ``L`` rows into the previous split, so a split of ``n``
rows holds ``n - H + 1`` windows (ETTh test: ``2880 - H + 1``).
"""

from __future__ import annotations

import dataclasses
import gzip
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .text import csv_delimiter

FILLS = ("ffill", "interpolate", "zero")
TIME_NAMES = ("date", "time", "timestamp", "datetime", "ds", "date_time")

# Seasonal period per pandas frequency family (one day, one week, one year...).
_SEASON_BY_UNIT = {"B": 5, "C": 5, "D": 7, "W": 52, "M": 12, "MS": 12, "ME": 12, "Q": 4,
                   "QS": 4, "QE": 4, "Y": 1, "YS": 1, "YE": 1, "A": 1}  # fmt: skip

# ETT protocol (Informer's loader): 12/4/4 months of 30 days. Rows per day: ETTh 24, ETTm 96.
ETT_MONTH_DAYS = 30


@dataclass
class Series:
    """A checked, regular multivariate series (see the module docstring)."""

    values: np.ndarray  # (T, C) float64
    targets: list[str]
    time: pd.DatetimeIndex | None = None
    freq: str | None = None
    covariates: np.ndarray | None = None  # (T, K) float64, past-observed
    covariate_names: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    long_format: dict[str, Any] | None = None  # {"id_col", "ids", "target"} for long input
    start_index: int = 0  # row-index time axis: position of the first row
    time_col: str | None = None  # the column the time axis came from
    future_covariates: np.ndarray | None = None  # (T, F) float64, known in advance
    future_covariate_names: list[str] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return self.values.shape[0]

    def slice(self, start: int, stop: int) -> Series:
        """Rows ``[start, stop)`` (the notes are kept; the time axis follows)."""
        return dataclasses.replace(
            self,
            values=self.values[start:stop],
            covariates=None if self.covariates is None else self.covariates[start:stop],
            future_covariates=None
            if self.future_covariates is None
            else self.future_covariates[start:stop],
            time=None if self.time is None else self.time[start:stop],
            start_index=self.start_index + start,
        )

    def future_index(self, horizon: int) -> pd.Index:
        """Timestamps (or row positions) of the ``horizon`` steps after the last row."""
        if self.time is None:
            first = self.start_index + len(self)
            return pd.RangeIndex(first, first + horizon, name="step")
        offset = pd.tseries.frequencies.to_offset(self.freq)
        return pd.date_range(self.time[-1] + offset, periods=horizon, freq=offset, name="time")


# ---------------------------------------------------------------------- reading
def read_table(source: str | Path | pd.DataFrame | pd.Series,
               header: bool | None = None) -> pd.DataFrame:  # fmt: skip
    """A DataFrame from a CSV path (``.gz`` too), a DataFrame (copied) or a pandas Series (one
    column, named after it). ``header=None``
    detects a file without a header row (every field of the first line numeric); its columns
    are then named ``"0", "1", ...``. The delimiter is a comma unless the first line has
    semicolons, tabs or bars and no comma outside a number; with one of those, columns whose
    every value is a number with a decimal comma (``1,5``: European spreadsheets write
    ``;`` and decimal commas) are read as numbers."""
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if isinstance(source, pd.Series):  # one series: its name (or "value") is the column
        return source.to_frame(name=str(source.name) if source.name is not None else "value")
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"{path}: no such file; expected a CSV file or a pandas DataFrame")
    try:
        sep = _delimiter(path)
        if header is None:
            first = pd.read_csv(path, header=None, nrows=1, dtype=str, sep=sep)
            point = (lambda v: v) if sep == "," else (lambda v: str(v).replace(",", "."))
            header = not all(_is_number(point(v)) for v in first.iloc[0].tolist())
        df = pd.read_csv(path, header=0 if header else None, sep=sep)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError, OSError) as e:
        raise ValueError(f"{path}: not a readable CSV file ({e})") from e
    if not header:
        df.columns = [str(c) for c in df.columns]
    if sep != ",":  # files separated by ';' usually write decimal commas: "1,5"
        for c in [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]:
            text = df[c].dropna().astype(str).str.strip()
            decimal = text.str.fullmatch(r"[+-]?\d+(,\d+)?")
            if len(text) and decimal.all() and text.str.contains(",").any():
                df[c] = pd.to_numeric(df[c].astype(str).str.replace(",", ".", regex=False))
    return df


def _delimiter(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
        return csv_delimiter(f.readline())


def _is_number(v: Any) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def to_series(
    df: pd.DataFrame,
    time_col: str | None = None,
    targets: list[str] | None = None,
    id_col: str | None = None,
    covariates: list[str] | None = None,
    fill: str | None = None,
    freq: str | None = None,
    future_covariates: list[str] | None = None,
) -> Series:
    """Check and convert a table (see the module docstring).

    ``time_col``: the timestamp column; ``None`` looks for a ``DatetimeIndex`` or a column
    named date/time/timestamp/datetime/ds, else the row index is the time axis (a note says
    so). ``targets``: the columns to forecast (default: every numeric column that is not the
    time, id or a covariate). ``id_col``: long format, one series per id (pivoted to
    columns). ``fill``: ``ffill``, ``interpolate`` or ``zero`` for missing steps and NaN/inf.
    ``covariates``: past-observed columns; ``future_covariates``: columns known in advance
    (planned events, a weather forecast), whose values a forecast also reads over its horizon.
    """
    if fill is not None and fill not in FILLS:
        raise ValueError(f"expected fill to be one of {FILLS}, got {fill!r}")
    if df.shape[0] == 0:
        raise ValueError("the table has no rows; expected a time series with one row per step")
    notes: list[str] = []
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    if time_col in (None, "__time__") and isinstance(df.index, pd.DatetimeIndex):
        df = df.reset_index(names="__time__")
        time_col = "__time__"
    if time_col is None:
        time_col = next((c for c in df.columns if c.lower() in TIME_NAMES), None)
        dated = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
        time_col = time_col or (dated[0] if len(dated) == 1 else None)
    elif time_col not in df.columns:
        raise ValueError(f"expected a time column {time_col!r}; the columns are {list(df.columns)}")
    future = list(future_covariates or [])
    covariates = list(covariates or [])
    _check_roles(time_col, id_col, targets, covariates, future)
    long_info = None
    if id_col is not None:
        df, targets, long_info = _pivot_long(df, time_col, id_col, targets, covariates + future)
    used = {time_col, id_col, *covariates, *future}
    if targets is None:
        targets = [c for c in df.columns if c not in used and pd.api.types.is_numeric_dtype(df[c])]
        if not targets:
            raise ValueError(
                f"no numeric column to forecast among {list(df.columns)}; name the targets "
                "(--target COLUMN)"
            )
        left = [c for c in df.columns if c not in used and c not in targets]
        if left:
            notes.append(f"columns left out (not numeric; name them as targets to see why): {left}")
    for c in [*targets, *covariates, *future]:
        if c not in df.columns:
            raise ValueError(f"expected a column {c!r}; the columns are {list(df.columns)}")
    for (a, names_a), (b, names_b) in (
        (("targets", targets), ("covariates", covariates)),
        (("targets", targets), ("future covariates", future)),
        (("covariates", covariates), ("future covariates", future)),
    ):
        overlap = set(names_a) & set(names_b)
        if overlap:
            raise ValueError(f"columns {sorted(overlap)} are both {a} and {b}; pick one")
    time = None
    if time_col is None:
        notes.append("no time column: the row index is the time axis")
    else:
        time = _parse_time(df[time_col], time_col, notes)
        df = df.drop(columns=[time_col])
        df.index = time
        if not time.is_monotonic_increasing:
            df = df.sort_index(kind="stable")
            notes.append("rows were not in time order: sorted by time")
    table = df[targets + covariates + future]
    for c in table.columns:
        table[c] = _numeric(table[c], c, "target" if c in targets else "covariate")
    if time is not None:
        table, freq, more = _regularize(table, freq, fill)
        notes += more
        time = pd.DatetimeIndex(table.index)
    table = _check_finite(table, fill, notes)
    values = table[targets].to_numpy(np.float64)
    cov = table[covariates].to_numpy(np.float64) if covariates else None
    fut = table[future].to_numpy(np.float64) if future else None
    return Series(values, list(targets), time, freq, cov, covariates, notes, long_info,
                  time_col=time_col, future_covariates=fut,
                  future_covariate_names=future)  # fmt: skip


def _check_roles(time_col: str | None, id_col: str | None, targets: list[str] | None,
                 covariates: list[str], future: list[str]) -> None:  # fmt: skip
    """A column named twice, or the time or id column named as a target or covariate, is an
    error here rather than a pandas traceback later."""
    for what, names in (("target", targets or []), ("covariate", covariates),
                        ("future covariate", future)):  # fmt: skip
        twice = sorted({c for c in names if names.count(c) > 1})
        if twice:
            raise ValueError(f"{what} column {twice[0]!r} is named twice; name each column once")
        for role, col in (("time", time_col), ("id", id_col)):
            if col is not None and col in names:
                raise ValueError(f"{col!r} is the {role} column; it cannot also be a {what}")
    if id_col is not None and id_col == time_col:
        raise ValueError(f"{id_col!r} is the time column; the id column must be another one")


def _pivot_long(df, time_col, id_col, targets, covariates):
    if id_col not in df.columns:
        raise ValueError(f"expected an id column {id_col!r}; the columns are {list(df.columns)}")
    if time_col is None:
        raise ValueError("long format (an id column) needs a time column: pass time_col")
    if covariates:
        raise ValueError("covariates are not supported with long format yet; use wide columns")
    if targets is None:
        skip = {time_col, id_col}
        targets = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]
    if len(targets) != 1:
        raise ValueError(f"long format takes exactly one target column, got {targets}")
    target = targets[0]
    if target not in df.columns:
        raise ValueError(f"expected a column {target!r}; the columns are {list(df.columns)}")
    keys = df[[time_col, id_col]].astype(str)
    dup = keys.duplicated()
    if dup.any():
        i = int(np.argmax(dup.to_numpy()))
        raise ValueError(
            f"duplicate (time, id) rows: {int(dup.sum())}, the first at row {i} "
            f"({df[time_col].iloc[i]}, {df[id_col].iloc[i]}); keep one row per time and id"
        )
    ids = [str(v) for v in pd.unique(df[id_col].astype(str))]
    wide = df.assign(**{id_col: df[id_col].astype(str)}).pivot(
        index=time_col, columns=id_col, values=target
    )
    wide = wide[ids].reset_index()
    wide.columns = [str(c) for c in wide.columns]
    return wide, ids, {"id_col": id_col, "ids": ids, "target": target}


def _parse_time(col: pd.Series, name: str, notes: list[str] | None = None) -> pd.DatetimeIndex:
    if pd.api.types.is_numeric_dtype(col):
        raise ValueError(
            f"time column {name!r} holds numbers, not timestamps; give dates such as "
            "2016-07-01 00:00, or leave the time column out to use the row index"
        )
    try:
        parsed = pd.to_datetime(col, errors="coerce", format="mixed")
    except ValueError as e:  # offsets that differ: local time across a daylight-saving change
        if "timezone" not in str(e).lower():
            raise
        parsed = pd.to_datetime(col, errors="coerce", format="mixed", utc=True)
        if notes is not None:
            notes.append(f"time column {name!r} mixes UTC offsets (a daylight-saving change?): "
                         "read as UTC")  # fmt: skip
    bad = parsed.isna() & col.notna() | col.isna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise ValueError(
            f"time column {name!r}: {int(bad.sum())} unparseable timestamps, the first at row "
            f"{i}: {col.iloc[i]!r}; fix or drop those rows"
        )
    index = pd.DatetimeIndex(parsed)
    if index.tz is not None:
        index = index.tz_convert(None)
    dup = index.duplicated()
    if dup.any():
        i = int(np.argmax(dup))
        raise ValueError(
            f"time column {name!r}: {int(dup.sum())} duplicate timestamps, the first at row {i}: "
            f"{index[i]}; keep one row per timestamp (aggregate or drop duplicates)"
        )
    return index


def _numeric(col: pd.Series, name: str, what: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        return col.astype(np.float64)
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(np.float64)
    converted = pd.to_numeric(col, errors="coerce")
    bad = converted.isna() & col.notna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise ValueError(
            f"{what} column {name!r} is not numeric: {int(bad.sum())} values such as "
            f"{col.iloc[i]!r} at row {i}; forecast numeric columns only (or clean them)"
        )
    return converted.astype(np.float64)


def infer_frequency(index: pd.DatetimeIndex) -> tuple[str | None, list[str]]:
    """pandas' frequency string of a regular index (``"h"``, ``"15min"``, ``"B"``, ``"MS"``
    ...), or a business-day calendar with holidays; ``(None, [why])`` when irregular."""
    if len(index) < 3:
        return None, ["fewer than 3 timestamps: cannot infer a frequency"]
    with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(index)
    if freq is not None:
        return getattr(freq, "freqstr", freq), []
    weekdays = index.day_of_week < 5
    gaps = np.asarray((index[1:] - index[:-1]) / pd.Timedelta(days=1))
    if weekdays.all() and (index.normalize() == index).all() and gaps.max() <= 5:
        full = pd.bdate_range(index[0], index[-1])
        missing = len(full) - len(index)
        if missing <= 0.05 * len(full):
            return "B", [_holidays_note(missing)]
    return None, []


def _holidays_note(missing: int) -> str:
    return (f"business-day calendar: {missing} weekdays absent (holidays), the forecast "
            "continues on business days")  # fmt: skip


def is_business_days(freq: str | None) -> bool:
    """Whether ``freq`` is pandas' business day (``"B"``)."""
    return freq is not None and pd.tseries.frequencies.to_offset(freq) == pd.offsets.BDay()


def _regularize(table: pd.DataFrame, freq: str | None, fill: str | None):
    notes: list[str] = []
    index = pd.DatetimeIndex(table.index)
    if freq is None:
        freq, notes = infer_frequency(index)
        if freq == "B" and notes:  # holidays absent: keep the observed rows as they are
            return table, freq, notes
    if freq is not None:
        grid = pd.date_range(index[0], index[-1], freq=freq)
        if len(grid) == len(index) and (grid == index).all():
            return table, freq, notes
        if is_business_days(freq) and index.isin(grid).all():  # a model trained on them
            return table, freq, [*notes, _holidays_note(len(grid) - len(index))]
    else:
        if len(index) < 2:
            raise ValueError(
                f"expected at least 2 timestamps to find the time step, got {len(index)}; "
                "a forecast needs a series at least lookback + horizon rows long"
            )
        step = pd.Series(index[1:] - index[:-1]).mode().iloc[0]
        freq = pd.tseries.frequencies.to_offset(step).freqstr
        grid = pd.date_range(index[0], index[-1], freq=freq)
        if len(grid) == len(index) and (grid == index).all():
            return table, freq, notes  # regular, if too short for pandas to infer it
    off_grid = index.difference(grid)
    missing = grid.difference(index)
    if len(off_grid):
        raise ValueError(
            f"irregular time steps: {len(off_grid)} timestamps off the {freq} grid, the first "
            f"{off_grid[0]}; resample the data to a regular step first"
        )
    if fill is None:
        raise ValueError(
            f"irregular time steps: {len(missing)} timestamps missing from the {freq} grid, "
            f"the first {missing[0]}; pass fill='ffill', 'interpolate' or 'zero' "
            "(--fill) to fill them"
        )
    notes.append(f"{len(missing)} missing {freq} steps filled ({fill}), the first {missing[0]}")
    return table.reindex(grid), freq, notes


def _check_finite(table: pd.DataFrame, fill: str | None, notes: list[str]) -> pd.DataFrame:
    arr = table.to_numpy(np.float64)
    bad = ~np.isfinite(arr)
    if not bad.any():
        return table
    rows, cols = np.nonzero(bad)
    first = (int(rows[0]), table.columns[int(cols[0])])
    where = table.index[first[0]] if isinstance(table.index, pd.DatetimeIndex) else first[0]
    if fill is None:
        raise ValueError(
            f"{int(bad.sum())} NaN/inf values, the first at row {first[0]} ({where}) in column "
            f"{first[1]!r}; pass fill='ffill', 'interpolate' or 'zero' (--fill) or clean the data"
        )
    table = table.mask(~np.isfinite(table.astype(np.float64)))
    if fill == "zero":
        table = table.fillna(0.0)
    elif fill == "interpolate":
        table = table.interpolate(method="linear", limit_direction="both")
    else:
        table = table.ffill().bfill()
    if table.isna().to_numpy().any():
        raise ValueError("a column holds no finite value at all; drop it")
    notes.append(f"{int(bad.sum())} NaN/inf values filled ({fill})")
    return table


def default_season(freq: str | None) -> int:
    """Seasonal period for seasonal-naive and MASE: one day of sub-daily steps, a week of
    days (5 business days), a year of weeks/months/quarters; 1 when unknown."""
    if freq is None:
        return 1
    offset = pd.tseries.frequencies.to_offset(freq)
    base = getattr(offset, "rule_code", "").upper().split("-")[0]  # W-SUN, QS-JAN: W, QS
    if base in _SEASON_BY_UNIT:
        return _SEASON_BY_UNIT[base] if offset.n == 1 else 1
    try:
        step = pd.Timedelta(offset)
    except (ValueError, TypeError):
        return 1
    if step < pd.Timedelta(days=1):
        return max(1, int(pd.Timedelta(days=1) / step))
    return 7 if step == pd.Timedelta(days=1) else 1


# ---------------------------------------------------------------------- windows
def window_starts(n_rows: int, lookback: int, horizon: int, first_target: int | None = None,
                  end: int | None = None, stride: int = 1) -> np.ndarray:  # fmt: skip
    """First input row of each window whose ``horizon`` targets lie in ``[first_target, end)``
    and whose ``lookback`` inputs start at row >= 0; every ``stride``-th one."""
    if stride < 1:
        raise ValueError(f"expected a positive stride, got {stride}")
    first_target = lookback if first_target is None else max(first_target, lookback)
    end = n_rows if end is None else min(end, n_rows)
    last_start = end - horizon - lookback  # the latest window ends exactly at `end`
    first_start = first_target - lookback
    if last_start < first_start:
        return np.zeros(0, dtype=np.int64)
    return np.arange(first_start, last_start + 1, stride, dtype=np.int64)


def check_length(n_rows: int, lookback: int, horizon: int, what: str = "the series") -> None:
    if n_rows < lookback + horizon:
        need = (f"lookback + horizon = {lookback} + {horizon} = {lookback + horizon}" if horizon
                else f"the lookback, {lookback}")  # fmt: skip
        raise ValueError(
            f"{what} has {n_rows} rows, shorter than {need}; use a shorter lookback or more data"
        )


def ett_borders(name: str, lookback: int) -> dict[str, tuple[int, int]]:
    """Row ranges ``[start, stop)`` of train/val/test *frames* under the ETT protocol:
    targets in [0, 12 mo), [12, 16), [16, 20) months of 30 days; the val/test frames start
    ``lookback`` rows early so that their first window's targets begin at the split."""
    per_day = {"etth": 24, "ettm": 96}.get(name.lower()[:4])
    if per_day is None:
        raise ValueError(f"expected an ETT name (ETTh1, ETTh2, ETTm1, ETTm2), got {name!r}")
    month = ETT_MONTH_DAYS * per_day
    train, val, test = 12 * month, 16 * month, 20 * month
    return {"train": (0, train), "val": (train - lookback, val), "test": (val - lookback, test)}


def ratio_borders(n_rows: int, lookback: int, ratios: tuple[float, float, float] = (0.7, 0.1, 0.2)
                  ) -> dict[str, tuple[int, int]]:  # fmt: skip
    """The custom-dataset split of the Autoformer loader: ``int(0.7 n)`` train rows,
    ``int(0.2 n)`` test rows, the rest validation; val/test frames reach back ``lookback``."""
    if abs(sum(ratios) - 1.0) > 1e-9 or min(ratios) <= 0:
        raise ValueError(f"expected three positive split ratios summing to 1, got {ratios}")
    n_train, n_test = int(n_rows * ratios[0]), int(n_rows * ratios[2])
    n_val = n_rows - n_train - n_test
    return {"train": (0, n_train), "val": (n_train - lookback, n_train + n_val),
            "test": (n_rows - n_test - lookback, n_rows)}  # fmt: skip


def calendar_features(index: pd.Index, freq: str | None, yearly: bool = True) -> np.ndarray:
    """Known-future calendar features ``(T, K)``: sin/cos of the hour of day (sub-daily
    data), of the day of week (daily or finer) and, with ``yearly``, of the day of year (a
    model sees it generalize only from more than a year of training data). A row-index time
    axis has none (``K = 0``)."""
    if not isinstance(index, pd.DatetimeIndex):
        return np.zeros((len(index), 0))
    cols = []
    step = _step(freq)
    if step is not None and step < pd.Timedelta(days=1):
        hour = index.hour + index.minute / 60.0
        cols += [np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)]
    if step is None or step <= pd.Timedelta(days=1):
        week = 2 * np.pi * index.day_of_week / 7
        cols += [np.sin(week), np.cos(week)]
    if yearly:
        day = index.day_of_year - 1
        cols += [np.sin(2 * np.pi * day / 365.25), np.cos(2 * np.pi * day / 365.25)]
    if not cols:
        return np.zeros((len(index), 0))
    return np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1)


def _step(freq: str | None) -> pd.Timedelta | None:
    """About how far apart ``freq``'s steps are (``None``: unknown). Calendar offsets have no
    fixed length: a month start or a week ending on Sunday is measured between two of its
    own dates (29 and 7 days here), which is all the calendar features need to know."""
    if freq is None:
        return None
    if freq.upper().startswith(("B", "C")):
        return pd.Timedelta(days=1)
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        return None
    try:
        return pd.Timedelta(offset)
    except (ValueError, TypeError):
        first = pd.Timestamp("2000-01-01") + offset  # on the offset's own grid
        return (first + offset) - first
