"""rnnkit.io: the model directory round trip, its error messages, atomic writes, refusal to
unpickle, and dispatch of ``load()`` through the task registry."""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
import types

import pytest
import safetensors.torch
import torch
from torch import nn

import rnnkit
from rnnkit import io

CONFIG = {"vocab": ["<pad>", "a", "b"], "hidden_size": 4, "dropout": 0.1, "scaler": None}


def tied_model(vocab: int = 10, dim: int = 4, seed: int = 0) -> nn.Sequential:
    """Embedding -> Linear whose weight IS the embedding matrix (weight tying)."""
    torch.manual_seed(seed)
    emb, to_logits = nn.Embedding(vocab, dim), nn.Linear(dim, vocab)
    to_logits.weight = emb.weight
    return nn.Sequential(emb, to_logits)


def files_in(path) -> set[str]:
    return {p.name for p in path.iterdir()}


@pytest.fixture
def saved(tmp_path):
    model = tied_model()
    metrics = {"loss": 1.25, "ppl": math.nan, "best": math.inf, "acc": torch.tensor(0.5)}
    path = io.save_model_dir(
        tmp_path / "runs" / "m", task="textgen", config=CONFIG, model=model, metrics=metrics
    )
    return path, model


def test_round_trip_restores_tied_weights(saved):
    path, model = saved
    fresh = tied_model(seed=1)
    assert not torch.equal(fresh[0].weight, model[0].weight)
    assert io.load_weights(path, fresh) == ([], [])
    for (name, a), b in zip(fresh.state_dict().items(), model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=0, rtol=0, msg=name)
    assert fresh[1].weight is fresh[0].weight
    # The tied matrix is stored once.
    assert len(safetensors.torch.load_file(path / "model.safetensors")) == 2


def test_config_round_trip_and_layout(saved):
    path, _ = saved
    assert files_in(path) == {"config.json", "model.safetensors", "metrics.json"}
    expected = {**CONFIG, "format_version": 1, "rnnkit_version": rnnkit.__version__}
    expected["task"] = "textgen"
    assert io.read_config(path) == expected
    text = (path / "config.json").read_text("utf-8")
    assert text == json.dumps(expected, sort_keys=True, indent=2) + "\n"
    # What was read back saves again unchanged.
    io.save_model_dir(path, task="textgen", config=io.read_config(path), model=tied_model())
    assert (path / "config.json").read_text("utf-8") == text


def test_metrics_nan_and_inf_become_null(saved):
    path, _ = saved
    assert io.read_metrics(path) == {"loss": 1.25, "ppl": None, "best": None, "acc": 0.5}
    assert "NaN" not in (path / "metrics.json").read_text("utf-8")
    bare = io.save_model_dir(path.parent / "bare", task="t", config={}, model=nn.Linear(2, 2))
    assert io.read_metrics(bare) == {}
    assert "metrics.json" not in files_in(bare)


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"vocab": {"itos": ["a", {1, 2}]}}, r"config\['vocab'\]\['itos'\]\[1\] is a set"),
        ({"scaler": {"mean": torch.zeros(3)}}, r"config\['scaler'\]\['mean'\] is a Tensor"),
        ({"lr": math.nan}, r"config\['lr'\] is nan"),
        ({"itos": {0: "a"}}, r"config\['itos'\] has key 0"),
    ],
)
def test_unserialisable_config_names_the_key_and_writes_nothing(tmp_path, config, where):
    with pytest.raises(ValueError, match=where):
        io.save_model_dir(tmp_path / "m", task="textgen", config=config, model=nn.Linear(2, 2))
    assert not (tmp_path / "m").exists()


def test_task_mismatch_raises(tmp_path):
    with pytest.raises(ValueError, match=r"config\['task'\] is 'classify' but task='textgen'"):
        io.save_model_dir(tmp_path, task="textgen", config={"task": "classify"}, model=nn.ReLU())


def test_writes_are_atomic_and_leave_no_temp_files(saved, monkeypatch):
    path, _ = saved
    before = {name: (path / name).read_bytes() for name in files_in(path)}

    def crash(model, filename, **kwargs):
        with open(filename, "wb") as f:
            f.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_model", crash)
    with pytest.raises(OSError, match="disk full"):
        io.save_model_dir(path, task="textgen", config={"new": 1}, model=tied_model(seed=2))
    assert files_in(path) == set(before)
    assert {name: (path / name).read_bytes() for name in files_in(path)} == before


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ("<nothing>", "does not exist"),
        ("<a file>", "is not a folder"),
        ("<empty folder>", r"is not an rnnkit model directory \(no config.json\)"),
        ('{\n  "task": "t",\n  oops\n}', r"is not valid JSON \(line 3, column 3: .*\); fix it"),
        ("[1]", "must hold a JSON object"),
        ('{"task": "t"}', "has no integer format_version"),
        ('{"format_version": 1}', r"has no 'task' \(such as 'textgen'\)"),
        (
            '{"format_version": 2, "rnnkit_version": "9.9.0", "task": "textgen"}',
            r"written by a newer rnnkit 9\.9\.0 .*; upgrade",
        ),
    ],
)
def test_read_config_errors(tmp_path, config_text, message):
    path = tmp_path / "model"
    if config_text == "<a file>":
        path.write_text("x")
    elif config_text != "<nothing>":
        path.mkdir()
        if config_text != "<empty folder>":
            (path / "config.json").write_text(config_text)
    with pytest.raises(ValueError, match=message) as info:
        io.read_config(path)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=message):
        io.load(path)


def test_missing_weights_file(saved):
    path, _ = saved
    (path / "model.safetensors").unlink()
    with pytest.raises(ValueError, match=r"model.safetensors is missing"):
        io.load_weights(path, tied_model())


def test_shape_mismatch_names_the_keys(saved):
    path, _ = saved
    with pytest.raises(
        ValueError, match=r"shapes \(file vs model\): 0.weight \(10, 4\) vs \(11, 4\)"
    ):
        io.load_weights(path, tied_model(vocab=11))


def test_missing_and_unexpected_keys_are_named(saved):
    path, model = saved
    untied = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10))  # 1.weight is its own tensor
    with pytest.raises(ValueError, match=r"missing keys 1.weight, unexpected keys none"):
        io.load_weights(path, untied)
    assert io.load_weights(path, untied, strict=False) == (["1.weight"], [])
    torch.testing.assert_close(untied[0].weight, model[0].weight, atol=0, rtol=0)
    bigger = nn.Sequential(*tied_model(), nn.Linear(10, 2))
    with pytest.raises(ValueError, match=r"missing keys 2.weight, 2.bias"):
        io.load_weights(path, bigger)
    with pytest.raises(ValueError, match=r"unexpected keys 1.bias"):
        io.load_weights(path, nn.Sequential(nn.Embedding(10, 4)))


class _Planted:
    """Unpickling this creates ``marker``: proof that a loader executed the file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [0, pickle.HIGHEST_PROTOCOL, "torch.save"])
def test_a_planted_pickle_is_refused_not_executed(saved, tmp_path, protocol):
    path, _ = saved
    marker, weights = tmp_path / "executed", path / "model.safetensors"
    if protocol == "torch.save":  # a zip archive holding a pickle
        torch.save({"w": _Planted(marker)}, weights)
    else:
        weights.write_bytes(pickle.dumps(_Planted(marker), protocol=protocol))
    with pytest.raises(ValueError, match=r"model.safetensors is not a valid safetensors file"):
        io.load_weights(path, tied_model())
    assert not marker.exists()


class FakeEstimator:
    def __init__(self, path, model, options):
        self.path, self.model, self.options = path, model, options

    @classmethod
    def load(cls, path, **options):
        model = tied_model(seed=3)
        io.load_weights(path, model)
        return cls(path, model, options)


@pytest.fixture
def fake_task(monkeypatch):
    monkeypatch.setattr(io, "_TASKS", io.registered_tasks())
    module = types.ModuleType("fake_rnnkit_tasks")
    module.FakeEstimator = FakeEstimator
    monkeypatch.setitem(sys.modules, "fake_rnnkit_tasks", module)
    io.register_task("fake", "fake_rnnkit_tasks:FakeEstimator")
    return "fake"


def test_load_dispatches_to_the_registered_task(tmp_path, fake_task):
    model = tied_model()
    path = io.save_model_dir(tmp_path / "m", task=fake_task, config={}, model=model)
    est = io.load(path, device="cpu")
    assert isinstance(est, FakeEstimator) and est.path == path and est.options == {"device": "cpu"}
    torch.testing.assert_close(est.model[0].weight, model[0].weight, atol=0, rtol=0)


def test_unknown_task_lists_known_ones(tmp_path, fake_task):
    path = io.save_model_dir(tmp_path / "m", task="telepathy", config={}, model=nn.Linear(1, 1))
    known = r"unknown task 'telepathy'; known tasks: .*fake, .*textgen"
    with pytest.raises(ValueError, match=known):
        io.load(path)


def test_unimportable_loader_says_which(tmp_path, fake_task):
    io.register_task("ghost", "no_such_module_rnnkit:Thing")
    path = io.save_model_dir(tmp_path / "m", task="ghost", config={}, model=nn.Linear(1, 1))
    with pytest.raises(ImportError, match="registered to no_such_module_rnnkit:Thing"):
        io.load(path)


def test_register_task_validates(fake_task):
    assert io.registered_tasks()["textgen"] == "rnnkit.tasks.textgen:TextGenerator"
    for bad in ["no_colon", "module:", ":Class"]:
        with pytest.raises(ValueError, match="'module:Class'"):
            io.register_task("x", bad)
    with pytest.raises(ValueError, match=r"already registered.*replace=True"):
        io.register_task("fake", "elsewhere:Other")
    io.register_task("fake", "fake_rnnkit_tasks:FakeEstimator")  # the same again is fine
    io.register_task("fake", "elsewhere:Other", replace=True)
    assert io.registered_tasks()["fake"] == "elsewhere:Other"


def test_model_files_get_ordinary_permissions(tmp_path):
    model = torch.nn.Linear(2, 2)
    out = io.save_model_dir(tmp_path / "m", task="textgen", config={}, model=model)
    mask = os.umask(0)
    os.umask(mask)
    for name in ("config.json", "model.safetensors"):
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~mask, name
