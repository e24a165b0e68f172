"""The shared ``train`` options: one declaration, the same names and behaviour in every task."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from rnnkit.cli import _common as C
from rnnkit.cli import classify, forecast, speech, textgen, translate

SHARED = {"--max-time", "--max-epochs", "--max-steps", "--batch-size", "--lr", "--seed",
          "--devices", "--strategy", "--accelerator", "--progress", "--val-every",
          "--clip-grad-norm", "--clip-grad-value", "--monitor-gradients",
          "--weight-decay"}  # fmt: skip
APPS = {"textgen": textgen.app, "classify": classify.app, "forecast": forecast.app,
        "speech": speech.app, "translate": translate.app}  # fmt: skip


def _train_params(app: typer.Typer) -> dict[str, object]:
    cmd = get_command(app).commands["train"]
    return {opt: p for p in cmd.params for opt in getattr(p, "opts", [])}


@pytest.mark.parametrize("task", sorted(APPS))
def test_every_train_command_has_the_shared_options(task):
    params = _train_params(APPS[task])
    assert SHARED <= set(params), SHARED - set(params)
    assert "--resume" in params  # every task can continue a run
    assert "run" not in {p.name for p in get_command(APPS[task]).commands["train"].params}


def test_task_defaults_stay_per_task():
    lr = {t: _train_params(a)["--lr"].default for t, a in APPS.items()}
    assert lr == {"textgen": 2e-3, "classify": 2e-3, "forecast": 1e-3, "speech": 3e-3,
                  "translate": 2e-3}  # fmt: skip
    assert _train_params(translate.app)["--batch-size"].default == 64
    assert _train_params(textgen.app)["--batch-size"].default == 32
    decay = {t: _train_params(a)["--weight-decay"].default for t, a in APPS.items()}
    # None: TrainConfig's default (0.0); classify keeps its own 0.01
    assert decay == {"textgen": None, "classify": 0.01, "forecast": None, "speech": None,
                     "translate": None}  # fmt: skip


def test_number_lists_parse_or_say_what_is_wrong():
    assert C.number_list("2000, 6000", "--x", int, "1,2") == [2000, 6000]
    assert C.number_list("0.9,1.1,", "--x", float, "1,2") == [0.9, 1.1]
    assert C.number_list(None, "--x", int, "1,2") is None
    with pytest.raises(ValueError, match=r"expected --x as numbers joined by commas \(1,2\)"):
        C.number_list("2000;6000", "--x", int, "1,2")


def _toy_app(seen: dict, **defaults) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @C.train_options(**defaults)
    def train(out: Path = C.OUT, width: int = typer.Option(3), run: C.Run = None) -> None:
        seen.update(out=out, width=width, run=run)

    @app.command()
    def other() -> None:  # a second command keeps "train" a subcommand
        pass

    return app


def test_the_command_gets_its_own_values_and_one_run(tmp_path):
    seen: dict = {}
    args = ["train", "--out", str(tmp_path), "--width", "5", "--max-time", "90s",
            "--clip-grad-norm", "0", "--devices", "2", "--resume"]  # fmt: skip
    r = CliRunner().invoke(_toy_app(seen, lr=5e-4), args)
    assert r.exit_code == 0, r.output
    assert seen["width"] == 5 and seen["out"] == tmp_path
    run = seen["run"]
    assert run.resume is True and run.callbacks == [] and run.main
    assert run.options == {"max_time": "90s", "batch_size": 32, "lr": 5e-4, "seed": 0,
                           "devices": 2, "strategy": "auto", "accelerator": "auto",
                           "progress": True, "clip_grad_norm": None}  # fmt: skip


def test_monitor_gradients_becomes_a_callback_and_resume_can_be_left_out(tmp_path):
    seen: dict = {}
    args = ["train", "--out", str(tmp_path), "--monitor-gradients", "7"]
    r = CliRunner().invoke(_toy_app(seen, resume=False), args)
    assert r.exit_code == 0, r.output
    (cb,) = seen["run"].callbacks
    assert type(cb).__name__ == "GradientMonitor" and seen["run"].resume is False
    r = CliRunner().invoke(_toy_app({}, resume=False), [*args, "--resume"])
    assert r.exit_code == 2  # no such option
