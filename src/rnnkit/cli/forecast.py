"""``rnnkit forecast train | predict | eval | backtest``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .. import io
from . import _common as C

app = typer.Typer(help="Multi-step time-series forecasting from a CSV.", no_args_is_help=True)

TIME_COL = typer.Option(None, "--time-col", help="Timestamp column (default: date/time/...; "
                        "none: the row index is the time axis).")  # fmt: skip


@app.command()
@C.train_options(lr=1e-3, lr_help="Peak learning rate (AdamW).")
def train(
    data: Path = typer.Argument(..., help="A CSV file (.csv or .csv.gz)."),
    out: Path = C.OUT,
    time_col: str = TIME_COL,
    target: list[str] = typer.Option(
        None, "--target", help="Column to forecast (repeatable; default: every numeric column)."
    ),
    id_col: str = typer.Option(None, "--id-col", help="Long format: the series id column."),
    covariate: list[str] = typer.Option(
        None, "--covariate", help="Past-observed covariate column (repeatable)."
    ),
    future_covariate: list[str] = typer.Option(
        None,
        "--future-covariate",
        help="Column known in advance (planned events, a weather forecast; repeatable): "
        "predict then needs its next values (--future).",
    ),
    fill: str = typer.Option(
        None, "--fill", help="Fill missing steps and NaN: ffill, interpolate or zero."
    ),
    val: Path = typer.Option(None, "--val", help="Validation CSV (default: the last 10%)."),
    horizon: int = typer.Option(24, help="Steps to forecast."),
    lookback: int = typer.Option(96, help="Steps of history the model reads."),
    architecture: str = typer.Option("segment", help="segment (SegRNN), direct or seq2seq."),
    cell: str = typer.Option("gru", help="gru, lstm or rnn."),
    hidden_size: int = typer.Option(None, help="RNN width (default 512 segment, 128 others)."),
    num_layers: int = typer.Option(1, help="Stacked layers."),
    segment_length: int = typer.Option(None, help="Segment length w (default min(48, L))."),
    dropout: float = typer.Option(0.1, help="Dropout before the output layer."),
    norm: str = typer.Option("revin", help="revin, last or none (per-window normalization)."),
    channel_independence: bool = typer.Option(True, help="One shared model for every series."),
    channel_embedding: bool = typer.Option(
        True, help="Segment decoder queries name their channel (with channel independence)."
    ),
    head: str = typer.Option("point", help="point, quantile, gaussian or student_t."),
    loss: str = typer.Option("mae", help="mae or mse (point head)."),
    quantile: list[float] = typer.Option(
        None, "--quantile", help="Interval level (repeatable; default 0.1 0.5 0.9)."
    ),
    calendar: bool = typer.Option(False, help="Add calendar features (hour, weekday, day)."),
    season: int = typer.Option(None, help="Seasonal period for seasonal-naive and MASE."),
    train_stride: int = typer.Option(1, help="Use every N-th training window."),
    highway: int = typer.Option(
        0, help="LSTNet's linear highway over the last N lookback steps (0: off)."
    ),
    run: C.Run = None,
) -> None:
    """Train a forecaster on DATA and write it to --out."""
    from ..data.series import read_table, to_series

    to_series(
        read_table(data),
        time_col=time_col,
        targets=target or None,
        id_col=id_col,
        covariates=covariate or None,
        fill=fill,
        future_covariates=future_covariate or None,
    )  # bad input fails before Lightning
    from ..tasks.forecast import Forecaster

    if run.continues(out):
        fc = Forecaster.load(out)
    else:
        fc = Forecaster(lookback=lookback, horizon=horizon, cell=cell, architecture=architecture,
                        hidden_size=hidden_size, num_layers=num_layers,
                        segment_length=segment_length, dropout=dropout, norm=norm,
                        channel_independence=channel_independence,
                        channel_embedding=channel_embedding, head=head, loss=loss,
                        quantiles=tuple(quantile) if quantile else (0.1, 0.5, 0.9),
                        calendar=calendar, season=season, train_stride=train_stride,
                        highway=highway)  # fmt: skip
    fc.fit(data, val, time_col=time_col, targets=target or None, id_col=id_col,
           covariates=covariate or None, future_covariates=future_covariate or None,
           fill=fill, out=out, resume=run.resume,
           callbacks=run.callbacks, **run.options)  # fmt: skip
    if not run.main:
        return
    best = fc.metrics.get("best_val_loss")
    if best is not None:
        what = fc.model.config.loss if head == "point" else head
        typer.echo(f"best validation loss {best:.4f} ({what})")
    typer.echo(f"model written to {out}; forecast with: rnnkit forecast predict {out} DATA.csv")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    data: Path = typer.Argument(..., help="CSV whose last rows are the history to extend."),
    output: Path = typer.Option(None, "--output", help="Write the forecast CSV here."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of history and forecast."),
    future: Path = typer.Option(
        None,
        "--future",
        help="CSV of the future covariates' values over the horizon (models trained with "
        "--future-covariate).",
    ),
) -> None:
    """Forecast the horizon after the last row of DATA."""
    from ..tasks.forecast import Forecaster

    fc = Forecaster.load(model_dir)
    forecast = fc.predict(data, future, plot=plot)  # one read of the data, one forward
    if output is not None:
        forecast.to_csv(output, index=not fc.meta.get("id_col"))
        typer.echo(f"forecast of {len(forecast)} rows written to {output}")
    else:
        typer.echo(forecast.to_csv(index=not fc.meta.get("id_col")), nl=False)
    if plot is not None:
        typer.echo(f"plot written to {plot}")


def _print_scores(m: dict) -> None:
    extra = ""
    if "coverage" in m:  # the share of actual values inside the model's widest interval
        lo, hi = m["interval"]
        extra = f"  coverage {m['coverage']:.3f} ({lo:g}-{hi:g} interval)"
    typer.echo(f"model           MSE {m['mse']:.4f}  MAE {m['mae']:.4f}  (standardized)  "
               f"MAE {m['orig_mae']:.4g}  RMSE {m['orig_rmse']:.4g}  sMAPE {m['smape']:.2f}%  "
               f"MASE {m['mase']:.3f}{extra}")  # fmt: skip
    for name, b in m["baselines"].items():
        typer.echo(f"{name:<15} MSE {b['mse']:.4f}  MAE {b['mae']:.4f}  (standardized)  "
                   f"MAE {b['orig_mae']:.4g}  RMSE {b['orig_rmse']:.4g}  sMAPE {b['smape']:.2f}%  "
                   f"MASE {b['mase']:.3f}")  # fmt: skip
    typer.echo(f"({m['windows']} windows, season {m['season']})")


@app.command("eval")
def evaluate(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    data: Path = typer.Argument(..., help="CSV to score: every complete window in it."),
    stride: int = typer.Option(1, help="Score every N-th window."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Score MODEL_DIR on DATA beside the last-value and seasonal-naive baselines."""
    from ..tasks.forecast import Forecaster

    m = Forecaster.load(model_dir).evaluate(data, stride=stride)
    if as_json:  # strict JSON: a metric that does not exist (NaN) is null
        typer.echo(json.dumps(io._plain(m, "metrics", lenient=True), indent=2))
    else:
        _print_scores(m)


@app.command()
def backtest(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    data: Path = typer.Argument(..., help="CSV to backtest on."),
    start: str = typer.Option(None, help="First forecast step: a row number or a timestamp."),
    stride: int = typer.Option(None, help="Steps between origins (default: the horizon)."),
    output: Path = typer.Option(None, "--output", help="Write the per-origin table (CSV)."),
    forecasts: Path = typer.Option(
        None, "--forecasts", help="Write every origin's forecast beside the actual values (CSV)."
    ),
) -> None:
    """Rolling-origin evaluation: forecast from successive origins and score each."""
    from ..tasks.forecast import Forecaster

    fc = Forecaster.load(model_dir)
    first = int(start) if start is not None and start.lstrip("-").isdigit() else start
    series = fc._series(data, "backtest")  # read (and its notes said) once for both tables
    table = fc.backtest(series, start=first, stride=stride)
    if output is not None:
        table.to_csv(output, index=False)
        typer.echo(f"{len(table)} origins written to {output}")
    if forecasts is not None:
        frame = fc.historical_forecasts(series, start=first, stride=stride)
        frame.to_csv(forecasts, index=False)
        typer.echo(f"the forecasts from {len(table)} origins written to {forecasts}")
    _print_scores(table.attrs["summary"])
