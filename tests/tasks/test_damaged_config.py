"""A model folder whose ``config.json`` lost an entry, or gained one that no version wrote,
is one ``ValueError`` line saying the folder is damaged (the classify and forecast loaders
raised ``KeyError``/``TypeError`` tracebacks)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from rnnkit.tasks.classify import TextClassifier
from rnnkit.tasks.forecast import Forecaster

RUN = {"max_steps": 1, "batch_size": 4, "progress": False}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    texts = ["good fun film", "dull and slow", "a great joy", "bad plot"] * 4
    TextClassifier(hidden_size=8, embedding_size=8).fit(
        texts, ["pos", "neg"] * 8, out=root / "classify", **RUN
    )
    frame = pd.DataFrame({"y": np.sin(np.arange(120) / 5.0)})
    Forecaster(lookback=12, horizon=4, hidden_size=8).fit(
        frame, targets="y", out=root / "forecast", **RUN
    )
    return root


CASES = [
    (TextClassifier, "classify", "classes"),
    (TextClassifier, "classify", "text"),
    (TextClassifier, "classify", "model.bogus"),
    (Forecaster, "forecast", "data"),
    (Forecaster, "forecast", "season"),
    (Forecaster, "forecast", "model.bogus"),
]


@pytest.mark.parametrize(("cls", "name", "change"), CASES, ids=[f"{n}-{c}" for _, n, c in CASES])
def test_a_damaged_config_is_one_clear_error(saved, tmp_path, cls, name, change):
    folder = tmp_path / name
    shutil.copytree(saved / name, folder)
    cls.load(folder)  # the folder as saved loads
    config = json.loads((folder / "config.json").read_text())
    if change.startswith("model."):
        config["model"][change.split(".")[1]] = 1  # an entry no version wrote
    else:
        del config[change]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"the model folder is damaged \(config\.json: "):
        cls.load(folder)
