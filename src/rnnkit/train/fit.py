"""``fit()``: build a Lightning Trainer from a :class:`TrainConfig` and run it.

Logs go to ``OUT/logs`` (CSV, and TensorBoard when ``tensorboard`` or ``tensorboardX`` is
installed), the best checkpoint to ``OUT/checkpoints/best.ckpt``, and the state at the end
of the run to ``OUT/last.ckpt``, which ``resume=True`` continues from (same run, same
step count, same data position, same carried state). With ``ema_decay`` the model ends
holding the weight average, and both checkpoints hold it as their weights.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from .batches import Batches
from .config import TrainConfig
from .module import RecurrentTask

# Lightning's advice lines (litlogger tips, "GPU available: False", ...) are noise in a CLI.
for _name in ("lightning.pytorch", "lightning.fabric", "lightning"):
    logging.getLogger(_name).setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
warnings.filterwarnings("ignore", message=r".*LitLogger.*")
# Our periodic checkpoint is meant to hold the state after the step (with the data position
# of the batch just processed), which is what this Lightning warning describes.
warnings.filterwarnings("ignore", message=r".*no pre-optimization state was saved.*")
warnings.filterwarnings("ignore", message=r".*Checkpoint directory .* exists and is not empty.*")
# Printed by every run on this torch: Lightning's own use of a torch API, nothing a user can do.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated.*")
# Short epochs log fewer rows; the logs stay correct, and there is nothing to change.
warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")
# A run that ends before its first validation: fit() validates the end itself (below), so
# the best checkpoint exists; the warning's hint (call self.log('val_loss')) misleads.
warnings.filterwarnings("ignore", message=r".*could not find the monitored key.*")
# Under DDP: the validation loss is reduced over the ranks before it is logged (module.py),
# every rank logs the same value, and Lightning's advice to add sync_dist=True does not apply.
warnings.filterwarnings("ignore", message=r".*sync_dist=True.*when logging on epoch level.*")
# A run without validation data (--val-fraction 0) is asked for; Lightning's note about the
# model's validation_step, printed with its own file path, says nothing the user can act on.
warnings.filterwarnings("ignore", message=r".*but have no `val_dataloader`.*")


class _ProgressBar(TQDMProgressBar):
    def get_metrics(self, trainer, pl_module):  # the logger's version number is noise here
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics


def _precision(cfg: TrainConfig) -> str:
    gpu = cfg.accelerator in ("gpu", "cuda") or (
        cfg.accelerator == "auto" and torch.cuda.is_available()
    )
    if cfg.precision is None:  # bf16 where the GPU computes it natively (Ampere on), else fp32
        return "bf16-mixed" if gpu and _gpu_has_bf16() else "32-true"
    if cfg.precision == "16-mixed":  # the module autocasts and scales the loss itself
        if not gpu:
            warnings.warn(
                "precision 16-mixed on a CPU: float16 is for GPUs; CPUs rarely compute it "
                "faster than float32 (a 3x384 character LSTM's step took 1.15x float32's time "
                "on an AVX-512 EPYC); use bf16-mixed or 32-true",
                stacklevel=2,
            )
        return "32-true"
    if cfg.precision == "bf16-mixed" and not (_gpu_has_bf16() if gpu else _cpu_has_bf16()):
        what = (
            "this GPU has no native bfloat16 arithmetic (it came with Ampere, compute "
            "capability 8.0)"
            if gpu
            else "this CPU has no native bfloat16 arithmetic (AVX512-BF16 or AMX)"
        )
        warnings.warn(
            f"precision bf16-mixed: {what}, so training will run slower than with 32-true",
            stacklevel=2,
        )
    return cfg.precision


def _cpu_has_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def _gpu_has_bf16() -> bool:
    """Native bfloat16 on the current CUDA device (ROCm: always); emulation does not count."""
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except (AssertionError, RuntimeError):  # no usable CUDA device
        return False


def _loggers(out: Path) -> list:
    # One version folder per (resumed) segment of a run: logs/version_N/metrics.csv and the
    # TensorBoard events beside it; a resumed run never overwrites the earlier segment.
    loggers: list = [CSVLogger(out, name="logs")]
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        loggers.append(TensorBoardLogger(out, name="logs", version=loggers[0].version))
    return loggers


def _check_more_to_train(ckpt_path: Path, cfg: Any) -> None:
    """A resumed run whose step or epoch limit it has already reached would train nothing
    (max_steps) or stop in a Lightning traceback (max_epochs): say so instead."""
    saved = torch.load(ckpt_path, map_location="cpu", weights_only=False, mmap=True)
    step, epoch = int(saved.get("global_step", 0)), int(saved.get("epoch", 0))
    if cfg.max_steps is not None and step >= cfg.max_steps:
        raise ValueError(f"--resume: the saved run already made {step} steps; give a "
                         f"--max-steps above {step} to train further")  # fmt: skip
    if cfg.max_epochs is not None and epoch >= cfg.max_epochs:
        raise ValueError(f"--resume: the saved run already trained {epoch} epochs; give a "
                         f"--max-epochs above {epoch} to train further")  # fmt: skip


@contextlib.contextmanager
def run_folder(out: str | Path | None, task_name: str, resume: bool = False) -> Iterator[Path]:
    """The folder an estimator's :func:`fit` and :func:`finish` write into: ``out``, or,
    when ``out`` is None, a temporary folder that is removed once training is done (the
    model is kept in memory, so its checkpoints and logs would be litter in the system's
    temporary folder, one per call). ``resume`` needs ``out``: it names the run to continue.
    """
    if out is not None:
        yield Path(out)
        return
    if resume:
        raise ValueError("resume=True needs out=, the folder of the run to continue")
    with tempfile.TemporaryDirectory(prefix=f"rnnkit-{task_name}-",
                                     ignore_cleanup_errors=True) as tmp:  # fmt: skip
        yield Path(tmp)


def best_checkpoint(out: str | Path) -> Path:
    """Where a run in ``out`` keeps its weights with the best validation loss."""
    return Path(out) / "checkpoints" / "best.ckpt"


def fit(
    task: RecurrentTask,
    train: Batches,
    val: Any | None,
    out: str | Path,
    resume: bool = False,
    callbacks: list | None = None,
) -> L.Trainer:
    """Train ``task`` on ``train`` (validating on ``val``), writing into ``out``.

    ``callbacks``: extra Lightning callbacks, e.g. :class:`rnnkit.diagnostics.GradientMonitor`.
    """
    cfg, out = task.cfg, Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = None
    if resume:
        ckpt_path = out / "last.ckpt"
        if not ckpt_path.is_file():
            raise ValueError(f"--resume: no {ckpt_path} to resume from; train without --resume")
        _check_more_to_train(ckpt_path, cfg)
    else:
        # A new run in an old directory: an earlier run's best checkpoint must not be taken
        # for this run's (finish() restores it, and a run stopped by max_time before its
        # first validation writes none of its own).
        best_checkpoint(out).unlink(missing_ok=True)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    task.train_batches = train
    callbacks = list(callbacks or [])
    if val is not None:
        callbacks.append(
            ModelCheckpoint(dirpath=best_checkpoint(out).parent, filename="best",
                            monitor="val_loss", mode="min", save_top_k=1, save_last=False,
                            enable_version_counter=False)
        )  # fmt: skip
        if cfg.early_stopping:
            callbacks.append(EarlyStopping("val_loss", patience=cfg.early_stopping, mode="min"))
    if cfg.checkpoint_every:  # so that a killed run can --resume, not only a finished one
        callbacks.append(
            ModelCheckpoint(dirpath=out, filename="last", every_n_train_steps=cfg.checkpoint_every,
                            save_top_k=1, enable_version_counter=False)
        )  # fmt: skip
    if cfg.progress:
        callbacks.append(_ProgressBar(refresh_rate=max(1, cfg.log_every // 2)))
    if cfg.val_every is None:
        val_kw: dict = {"check_val_every_n_epoch": 1, "val_check_interval": 1.0}
    else:
        val_kw = {"check_val_every_n_epoch": None, "val_check_interval": cfg.val_every}
    trainer = L.Trainer(
        max_epochs=cfg.max_epochs if cfg.max_epochs is not None else -1,
        max_steps=cfg.max_steps if cfg.max_steps is not None else -1,
        max_time=dt.timedelta(seconds=cfg.max_time) if cfg.max_time else None,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        strategy=cfg.strategy,
        precision=_precision(cfg),
        logger=_loggers(out),
        callbacks=callbacks,
        enable_progress_bar=cfg.progress,
        enable_model_summary=False,
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        num_sanity_val_steps=0,
        limit_val_batches=cfg.val_batches if cfg.val_batches else 1.0,
        log_every_n_steps=cfg.log_every,
        default_root_dir=out,
        use_distributed_sampler=False,  # each rank gets its own contiguous shard instead
        **val_kw,
    )
    # A loaded model (every estimator's load() ends in eval()) must train with its dropout:
    # Lightning keeps the modes it finds, so a --resume would otherwise train in eval mode.
    task.train()
    trainer.fit(task, train_dataloaders=train, val_dataloaders=val, ckpt_path=ckpt_path)
    if val is not None and task.stopped_reason is None and trainer.global_step > 0:
        _validate_the_end(task, trainer, val, out)
    _save_last(trainer, train, out / "last.ckpt")  # after the final validation: it knows the best
    task.use_average()  # with ema_decay the trained model is the average (last.ckpt: both)
    return trainer


def _save_last(trainer: L.Trainer, train: Batches, path: Path) -> None:
    """Save the end of the run for ``resume=True``, as the point in the epoch where it stopped.

    Lightning closes the epoch whenever a run ends, so a run stopped by ``max_steps`` or
    ``max_time`` in the middle of an epoch was saved as having finished it: a resumed run
    then counted that epoch as done (``max_epochs`` trained one epoch short, and its error
    said one epoch too many), and after the final validation, which drops the loader's state
    from Lightning's checkpoint, also skipped the rest of the epoch's batches. A killed run's
    periodic checkpoint was right; this saves the end of a run in the same form: the epoch
    open, and the data position (``Batches.state_dict``) with it.
    """
    trainer.save_checkpoint(path)
    if not isinstance(train, Batches) or not 0 < train.consumed < len(train):
        return  # stopped at the end of an epoch: Lightning's own record is right
    if trainer.is_global_zero:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        loop = ckpt["loops"]["fit_loop"]
        for count in (loop["epoch_progress"]["total"], loop["epoch_progress"]["current"]):
            count["processed"] = count["completed"] = count["started"] - 1
        ckpt["epoch"] = loop["epoch_progress"]["current"]["completed"]
        loop["state_dict"]["combined_loader"] = [train.state_dict()]
        torch.save(ckpt, path)
    trainer.strategy.barrier()


def _validate_the_end(task: RecurrentTask, trainer: L.Trainer, val: Any, out: Path) -> None:
    """Make the final weights a candidate for the best checkpoint.

    Lightning validates on its schedule only, so a run that stops on ``max_time`` or
    ``max_steps`` between two validations would otherwise be represented by its last
    validated weights, losing its final stretch (with a cosine schedule, the best one).
    """
    if task.history and task.history[-1]["step"] >= trainer.global_step:
        return  # the schedule already validated the final weights
    n = len(task.history)
    # The best so far: this run's validations and, after --resume, the earlier segments'
    # (the checkpoint callback's restored score; our history starts empty on resume).
    watchers = [
        cb for cb in trainer.checkpoint_callbacks if getattr(cb, "monitor", None) == "val_loss"
    ]
    earlier = [h["val_loss"] for h in task.history]
    earlier += [float(cb.best_model_score) for cb in watchers if cb.best_model_score is not None]
    trainer.validate(task, dataloaders=val, verbose=False)
    if len(task.history) == n:
        return
    final = task.history[-1]["val_loss"]
    if not earlier or final <= min(earlier):
        best = best_checkpoint(out)
        trainer.save_checkpoint(best)
        for cb in watchers:  # so that a resumed run knows this best (fit() saves last.ckpt)
            cb.best_model_score = torch.tensor(final)
            cb.best_model_path = str(best)


def finish(task: RecurrentTask, trainer: L.Trainer, out: str | Path,
           restore_best: bool = True) -> dict[str, Any]:  # fmt: skip
    """What every estimator does after :func:`fit`.

    Puts back the weights of ``OUT/checkpoints/best.ckpt`` (the best validation loss) when
    ``restore_best`` (pass whether this run validated: an older run's checkpoint may lie
    there) and the divergence guard did not stop the run (its last rollback already left
    the weights it trusts), switches the model to evaluation mode, and returns the metrics
    every task reports: ``train_steps``, ``history``, ``guard_rollbacks``, ``best_val_loss``
    (when validated), ``stopped_reason`` (when the guard stopped the run) and, under
    ``precision="16-mixed"``, ``overflow_skips``.
    """
    best = best_checkpoint(out)
    if restore_best and best.is_file() and task.stopped_reason is None:
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
        task.model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
    task.model.eval()
    metrics: dict[str, Any] = {
        "train_steps": int(trainer.global_step),
        "history": task.history,
        "guard_rollbacks": task.guard.strikes if task.guard else 0,
    }
    if task.cfg.precision == "16-mixed":  # steps skipped for float16 overflow (this segment)
        metrics["overflow_skips"] = task.overflow_skips
    if task.history:
        metrics["best_val_loss"] = min(h["val_loss"] for h in task.history)
    if task.stopped_reason:
        metrics["stopped_reason"] = task.stopped_reason
    return metrics
