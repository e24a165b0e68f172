"""``rnnkit forecast`` end to end, and one clear line for every bad input.

One command runs in a subprocess, as a user runs it (one error line, no traceback); the
rest call the same entry point (``rnnkit.cli.main``, what the script runs) in-process, to
keep the suite fast."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

RNNKIT = Path(sys.executable).with_name("rnnkit")
TINY = ["--horizon", "24", "--lookback", "96", "--hidden-size", "32", "--segment-length", "24",
        "--batch-size", "32", "--no-progress"]  # fmt: skip


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([str(RNNKIT), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)  # fmt: skip


def main(capsys, *args: str) -> subprocess.CompletedProcess:
    """``rnnkit ARGS`` in this process (the script's own entry point)."""
    from rnnkit.cli import main as cli_main

    code = cli_main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


@pytest.fixture(scope="module")
def csvs(tmp_path_factory) -> dict[str, Path]:
    root = os.environ.get("RNNKIT_DATA_DIR")
    src = Path(root or "") / "ett" / "ETTh1.csv"
    if not root or not src.is_file():
        pytest.skip("needs RNNKIT_DATA_DIR with ett/ETTh1.csv (CI points it at ../shared/data)")
    folder = tmp_path_factory.mktemp("csv")
    df = pd.read_csv(src).iloc[:2000][["date", "HUFL", "OT"]]
    paths = {"train": folder / "train.csv", "test": folder / "test.csv"}
    df.iloc[:1600].to_csv(paths["train"], index=False)
    df.iloc[1600 - 96 :].to_csv(paths["test"], index=False)
    return paths


@pytest.fixture(scope="module")
def trained(csvs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model")
    with pytest.MonkeyPatch.context() as mp:
        out_buf, err_buf = io.StringIO(), io.StringIO()
        mp.setattr(sys, "stdout", out_buf)
        mp.setattr(sys, "stderr", err_buf)
        from rnnkit.cli import main as cli_main

        code = cli_main(["forecast", "train", str(csvs["train"]), "--time-col", "date",
                         "--target", "OT",
            "--target", "HUFL", "--out", str(out), "--max-steps", "40", "--head", "quantile",
            "--monitor-gradients", "20", *TINY])  # fmt: skip
    assert code == 0, err_buf.getvalue()
    assert "model written to" in out_buf.getvalue()
    return out


def test_train_predict_eval_backtest(trained, csvs, tmp_path, capsys):
    assert {"config.json", "model.safetensors", "metrics.json"} <= {
        p.name for p in trained.iterdir()
    }
    out_csv, png = tmp_path / "f.csv", tmp_path / "f.png"
    r = main(capsys, "forecast", "predict", str(trained), str(csvs["train"]),
             "--output", str(out_csv),
            "--plot", str(png))  # fmt: skip
    assert r.returncode == 0, r.stderr
    f = pd.read_csv(out_csv, index_col=0, parse_dates=True)
    assert f.index.name == "date"  # the time column keeps the data's name
    assert list(f.columns) == ["OT", "HUFL", "OT_q0.1", "HUFL_q0.1", "OT_q0.5", "HUFL_q0.5",
                               "OT_q0.9", "HUFL_q0.9"]  # fmt: skip
    last = pd.Timestamp(pd.read_csv(csvs["train"])["date"].iloc[-1])
    assert len(f) == 24 and f.index[0] == last + pd.Timedelta(hours=1)
    assert png.read_bytes()[:4] == b"\x89PNG"
    r = main(capsys, "forecast", "eval", str(trained), str(csvs["test"]))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("model") and "MASE" in lines[0] and "coverage" in lines[0]
    assert lines[1].startswith("last_value") and lines[2].startswith("seasonal_naive")
    assert "(377 windows, season 24)" in r.stdout  # 400 test rows - 24 + 1
    r = main(capsys, "forecast", "backtest", str(trained), str(csvs["test"]), "--stride", "48",
             "--output", str(tmp_path / "bt.csv"),
             "--forecasts", str(tmp_path / "hf.csv"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    origins = (400 - 24) // 48 + 1
    assert len(pd.read_csv(tmp_path / "bt.csv")) == origins
    hf = pd.read_csv(tmp_path / "hf.csv")
    assert len(hf) == origins * 24 and {"origin", "date", "step", "OT", "OT_actual"} <= set(hf)
    assert (hf["OT_q0.1"] <= hf["OT_q0.9"]).all()  # the quantile head's interval, per step


def one_line_error(r: subprocess.CompletedProcess, pattern: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnkit: error: "), r.stderr
    assert pattern in lines[0], lines[0]


def test_a_negative_start_and_a_resume_with_new_model_options(trained, csvs, tmp_path, capsys):
    r = main(capsys, "forecast", "backtest", str(trained), str(csvs["test"]), "--start", "-100")
    one_line_error(r, "start is a row number from 0")
    out = tmp_path / "m"
    shutil.copytree(trained, out)
    r = main(capsys, "forecast", "train", str(csvs["train"]), "--time-col", "date", "--target",
             "OT", "--target", "HUFL", "--out", str(out), "--max-steps", "41", "--horizon", "12",
             "--resume", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "--horizon on this command line are not read (train anew" in r.stderr
    assert json.loads((out / "config.json").read_text())["model"]["horizon"] == 24


def test_predict_with_different_columns_is_one_line(trained, csvs, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.read_csv(csvs["train"]).drop(columns=["HUFL"]).to_csv(bad, index=False)
    one_line_error(main(capsys, "forecast", "predict", str(trained), str(bad)),
                   "columns differ from training: missing ['HUFL']")  # fmt: skip


def test_eval_of_a_missing_file_is_one_line(trained, capsys, tmp_path):
    r = main(capsys, "forecast", "eval", str(trained), str(tmp_path / "none.csv"))
    one_line_error(r, "no such file")


def make(tmp_path: Path, name: str, edit) -> Path:
    n = 300
    df = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="h").astype(str),
                       "y": np.sin(np.arange(n) / 4.0)})  # fmt: skip
    df = edit(df)
    path = tmp_path / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


def _set(df, row, col, value):
    df[col] = df[col].astype(object)
    df.loc[row, col] = value
    return df


BAD = {
    "unparseable": (lambda d: _set(d, 7, "date", "yesterday"), "unparseable timestamps"),
    "duplicate": (lambda d: _set(d, 8, "date", d.loc[7, "date"]), "duplicate timestamps"),
    "irregular": (lambda d: d.drop(index=[20, 21]), "irregular time steps"),
    "nan": (lambda d: _set(d, 9, "y", np.nan), "1 NaN/inf values, the first at row 9"),
    "text": (lambda d: _set(d, 5, "y", "oops"), "target column 'y' is not numeric"),
    "short": (lambda d: d.iloc[:100], "shorter than lookback + horizon"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_training_data_is_one_clear_line(case, tmp_path, capsys):
    edit, message = BAD[case]
    path = make(tmp_path, case, edit)
    r = main(capsys, "forecast", "train", str(path), "--target", "y", "--out", str(tmp_path / "m"),
            "--max-steps", "1", *TINY)  # fmt: skip
    one_line_error(r, message)


def test_bad_data_in_a_real_subprocess(tmp_path):
    path = make(tmp_path, "dup", BAD["duplicate"][0])
    r = run("forecast", "train", str(path), "--out", str(tmp_path / "m"), "--max-steps", "1")
    one_line_error(r, "1 duplicate timestamps, the first at row 8")


def test_fill_repairs_gaps_with_a_note(tmp_path, capsys):
    path = make(tmp_path, "gaps", lambda d: d.drop(index=[20, 21]))
    r = main(capsys, "forecast", "train", str(path), "--target", "y", "--fill", "interpolate",
             "--out",
            str(tmp_path / "m"), "--max-steps", "2", "--architecture", "direct", *TINY)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "note: 2 missing h steps filled (interpolate)" in r.stderr


def test_diagnose_a_forecaster(trained, csvs, tmp_path, diagnose):
    data = diagnose(trained, csvs["test"], tmp_path / "r", "--batch-size", "4")
    assert data["flow"]["T"] == 96 // 24  # the segment GRU runs over lookback / segment steps
    assert data["flow"]["skipped"] == ["encoder.l0"]  # its one parallel decoding step
    # the fixture trained with --monitor-gradients 20: the callback ran on this model too
    png = trained / "diagnostics" / "training" / "gradient_history.png"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_future_covariates_on_the_command_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    promo = rng.standard_normal(400)
    sales = 3 * promo + 0.1 * rng.standard_normal(400)
    df = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=400, freq="h"),
                       "promo": promo, "sales": sales})  # fmt: skip
    data, ahead, out = tmp_path / "sales.csv", tmp_path / "ahead.csv", tmp_path / "m"
    df.iloc[:388].to_csv(data, index=False)
    df.iloc[388:][["date", "promo"]].to_csv(ahead, index=False)
    r = main(capsys, "forecast", "train", str(data), "--target", "sales", "--future-covariate",
             "promo", "--out", str(out), "--max-steps", "5", "--horizon", "12", "--lookback",
             "48", "--architecture", "direct", "--hidden-size", "8", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = main(capsys, "forecast", "predict", str(out), str(data), "--future", str(ahead))
    assert r.returncode == 0, r.stderr
    f = pd.read_csv(io.StringIO(r.stdout), index_col=0, parse_dates=True)
    assert list(f.columns) == ["sales"] and (f.index == pd.DatetimeIndex(df["date"][388:])).all()
    one_line_error(main(capsys, "forecast", "predict", str(out), str(data)),
                   "reads future covariates ['promo'] over the horizon")  # fmt: skip
    one_line_error(main(capsys, "forecast", "predict", str(out), str(data), "--future",
                        str(tmp_path / "missing.csv")), "missing.csv")  # fmt: skip
