"""The model directory: a trained model on disk, never a pickle (DESIGN.md "Model directory").

``config.json`` (versions, task, architecture, vocab or scaler statistics), ``model.safetensors``
(tied weights stored once), optional ``metrics.json`` and ``last.ckpt`` (Lightning; left alone).
Files are written under a temporary name, then ``os.replace``-d: a crash leaves the old file or
the new one, never half of one. ``load(path)`` finds the task's estimator through a registry of
import paths, so that opening a text generator does not import the speech pipeline.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import math
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

PathLike = str | os.PathLike
Device = str | torch.device | None
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"

# Task name -> "module:Attribute". Imported only when a model of that task is loaded.
_TASKS: dict[str, str] = {
    "textgen": "rnnkit.tasks.textgen:TextGenerator",
    "forecast": "rnnkit.tasks.forecast:Forecaster",
    "speech": "rnnkit.tasks.speech:SpeechRecognizer",
    "classify": "rnnkit.tasks.classify:TextClassifier",
    "translate": "rnnkit.tasks.translate:Translator",
}


def save_model_dir(
    path: PathLike, *, task: str, config: dict, model: torch.nn.Module, metrics: dict | None = None
) -> Path:
    """Write ``model`` with its ``config`` (and ``metrics``) as a model directory at ``path``.

    ``config`` (what rebuilds the model and its data pipeline) must be plain JSON: a tensor
    or a set inside raises ``ValueError`` naming where, before anything is written. The
    format and rnnkit versions are set here (a config read back can be saved again).
    """
    import rnnkit  # lazily: rnnkit/__init__ may import this module before __version__

    if not isinstance(task, str) or not task:
        raise ValueError(f"expected a task name such as 'textgen', got {task!r}")
    if config.get("task", task) != task:
        raise ValueError(f"config['task'] is {config['task']!r} but task={task!r}; drop one")
    full = {**config, "format_version": FORMAT_VERSION, "rnnkit_version": rnnkit.__version__}
    full["task"] = task
    config_text = _dumps(_plain(full, "config"))
    metrics_text = None if metrics is None else _dumps(_plain(metrics, "metrics", lenient=True))

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    # force_contiguous: a transposed or sliced parameter is saved as a copy, not an error.
    save = functools.partial(safetensors.torch.save_model, model, force_contiguous=True)
    _atomic_write(folder / WEIGHTS_FILE, save)
    if metrics_text is not None:
        _atomic_write(folder / METRICS_FILE, lambda tmp: tmp.write_text(metrics_text, "utf-8"))
    # config.json last: it marks the folder as a model, so it appears only when the rest did.
    _atomic_write(folder / CONFIG_FILE, lambda tmp: tmp.write_text(config_text, "utf-8"))
    return folder


def read_config(path: PathLike, task: str | None = None) -> dict:
    """The ``config.json`` of a model directory, checked: a readable format and a task
    (``task``: the one it must be, for an estimator's ``load``)."""
    folder = _model_dir(path)
    file = folder / CONFIG_FILE
    config = _read_json(file)
    if not isinstance(config, dict):
        raise ValueError(f"{file} must hold a JSON object, got {type(config).__name__}")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"{file} has no integer format_version (got {version!r}); re-save it")
    if version > FORMAT_VERSION:
        writer = config.get("rnnkit_version", "?")
        raise ValueError(
            f"{folder} was written by a newer rnnkit {writer} (model format {version}; this "
            f"rnnkit reads up to {FORMAT_VERSION}); upgrade: pip install -U rnnkit"
        )
    if not isinstance(config.get("task"), str):
        raise ValueError(f"{file} has no 'task' (such as 'textgen'); re-save the model")
    if task is not None and config["task"] != task:
        raise ValueError(f"{path} holds a {config['task']!r} model, not {task!r}")
    return config


@contextlib.contextmanager
def damaged_config(path: PathLike) -> Iterator[None]:
    """Around building an estimator from a checked :func:`read_config`: an entry missing,
    unknown or not matching the others (``KeyError``, ``TypeError``, ``ValueError``) becomes
    one ``ValueError`` line that says the model folder is damaged."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as e:
        what = f"no {e.args[0]!r} entry" if isinstance(e, KeyError) else str(e)
        raise ValueError(f"{path}: the model folder is damaged (config.json: {what}); copy or "
                         "save it again from the original, or train anew") from None  # fmt: skip


def check_resumable(estimator: Any, out: PathLike | None, resume: bool) -> None:
    """``resume=True`` on a new estimator (no model) whose ``out`` holds a saved model would
    build a new vocabulary, scaler or label set from the data for the weights saved there,
    which silently mismatch when the data changed: a ``ValueError`` that says to load the
    model first. (A run killed before it saved a model has no ``config.json`` yet: it resumes
    from ``last.ckpt`` on the same data.)"""
    if resume and getattr(estimator, "model", None) is None and out is not None:
        if (Path(out) / CONFIG_FILE).is_file():
            name = type(estimator).__name__
            raise ValueError(
                f"resume=True on a new {name} would rebuild what the model saved in {out} was "
                f"trained with (vocabulary, scaling, labels); load it first: "
                f"rnnkit.load({str(out)!r}).fit(..., resume=True)"
            )


def read_metrics(path: PathLike) -> dict:
    """The ``metrics.json`` of a model directory, or ``{}`` when it has none."""
    file = _model_dir(path) / METRICS_FILE
    return _read_json(file) if file.exists() else {}


def load_weights(
    path: PathLike, model: torch.nn.Module, strict: bool = True, *, device: Device = None
) -> tuple[list[str], list[str]]:
    """Load ``model.safetensors`` into ``model`` in place; returns ``(missing, unexpected)``.

    Checked before any weight is copied: a shape mismatch, or with ``strict`` a missing or
    unexpected key, raises ``ValueError`` naming the keys; a key tied to a saved one (shared
    storage) is not missing. ``device``: where to read to; default, the model's device.
    """
    file = _model_dir(path) / WEIGHTS_FILE
    if not file.is_file():
        raise ValueError(f"{file} is missing: the model directory has no weights; re-save it")
    try:
        with safetensors.safe_open(str(file), framework="pt") as f:
            saved = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (safetensors.SafetensorError, OSError) as e:
        raise ValueError(f"{file} is not a valid safetensors file ({e}); re-save the model") from e

    state = model.state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    wrong = [f"{k} {saved[k]} vs {shapes[k]}" for k in saved if shapes.get(k, saved[k]) != saved[k]]
    if wrong:
        raise ValueError(f"{file} does not fit the model; shapes (file vs model): {_few(wrong)}")
    storage = {k: _storage_key(v) for k, v in state.items()}
    saved_storage = {storage[k] for k in saved if k in storage}
    missing = [k for k in state if k not in saved and storage[k] not in saved_storage]
    unexpected = [k for k in saved if k not in state]
    if strict and (missing or unexpected):
        raise ValueError(
            f"{file} does not fit the model: missing keys {_few(missing)}, unexpected keys "
            f"{_few(unexpected)}; build the model from this directory's config.json"
        )
    device = device if device is not None else next((t.device for t in state.values()), "cpu")
    try:
        safetensors.torch.load_model(model, str(file), strict=False, device=str(device))
    except safetensors.SafetensorError as e:  # a header that parses but data that does not
        raise ValueError(f"{file} is not a valid safetensors file ({e}); re-save the model") from e
    return missing, unexpected


def register_task(name: str, loader: str, *, replace: bool = False) -> None:
    """Make ``load()`` open models of task ``name`` with ``loader``, ``"module:Class"``.

    The class needs a ``load(path, **kwargs)`` classmethod; its module is imported only when
    such a model is loaded. Re-registering a name to another loader needs ``replace=True``.
    """
    module, _, attr = loader.partition(":") if isinstance(loader, str) else ("", "", "")
    if not isinstance(name, str) or not name or not module or not attr:
        raise ValueError(f"expected register_task(name, 'module:Class'), got {name!r}, {loader!r}")
    if not replace and _TASKS.get(name, loader) != loader:
        raise ValueError(f"task {name!r} is already registered to {_TASKS[name]}; use replace=True")
    _TASKS[name] = loader


def registered_tasks() -> dict[str, str]:
    """A copy of the registry: task name -> ``"module:Class"``."""
    return dict(_TASKS)


def load(path: PathLike, **kwargs: Any) -> Any:
    """Open the model directory at ``path`` as its task's estimator: ``Class.load(path)``."""
    config = read_config(path)
    task = config["task"]
    if task not in _TASKS:
        known = ", ".join(sorted(_TASKS)) or "none"
        raise ValueError(
            f"{path} holds a model of unknown task {task!r}; known tasks: {known} "
            "(register others with rnnkit.io.register_task)"
        )
    module_name, _, attr = _TASKS[task].partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ImportError(f"task {task!r} is registered to {_TASKS[task]}, which fails: {e}") from e
    return obj.load(path, **kwargs)


def _model_dir(path: PathLike) -> Path:
    folder = Path(path)
    if not folder.exists():
        raise ValueError(f"{folder} does not exist; expected an rnnkit model directory")
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; expected an rnnkit model directory")
    if not (folder / CONFIG_FILE).is_file():
        raise ValueError(f"{folder} is not an rnnkit model directory (no {CONFIG_FILE})")
    return folder


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text("utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{file} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
            "fix it or re-save the model"
        ) from e
    except UnicodeDecodeError as e:
        raise ValueError(f"{file} is not UTF-8 text ({e.reason}); re-save the model") from e


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _plain(obj: Any, where: str, lenient: bool = False) -> Any:
    """``obj`` as plain JSON, or ``ValueError`` naming the first value JSON cannot hold.

    ``lenient`` (metrics): scalar tensors and arrays become numbers, NaN and infinity null.
    """
    if lenient and getattr(obj, "ndim", None) == 0 and hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        if lenient:
            return None
        raise ValueError(f"{where} is {obj}, which JSON cannot hold; store a finite number")
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, str):
                raise ValueError(f"{where} has key {key!r}; JSON keys must be str, use str(key)")
        return {k: _plain(v, f"{where}[{k!r}]", lenient) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", lenient) for i, v in enumerate(obj)]
    raise ValueError(
        f"{where} is a {type(obj).__name__}, which is not JSON-serialisable; convert it to "
        "plain Python (tensor.tolist(), sorted(a_set), str(a_path))"
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(final: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` to a fresh name next to ``final``, flush it to disk, then rename."""
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # Some writers (safetensors) create files 0600; a model is shared like any file.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _storage_key(t: torch.Tensor) -> tuple:
    # Tied weights share one storage; empty tensors all have data_ptr 0, so keep them apart.
    alone = t.numel() == 0 or t.device.type == "meta"
    return ("own", id(t)) if alone else (t.device.type, t.untyped_storage().data_ptr())


def _few(keys: list[str], n: int = 8) -> str:
    more = f" and {len(keys) - n} more" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more if keys else "none"
