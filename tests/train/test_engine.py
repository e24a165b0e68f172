"""The training engine on a tiny language model: resume, divergence recovery, and the
weight average (``ema_decay``): its arithmetic, what validation and checkpoints see,
resume, and rollbacks by the divergence guard."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnkit.data import StreamWindows, batchify
from rnnkit.tasks._lm import LanguageModel, LMConfig, lm_loss
from rnnkit.train import Batches, FixedBatches, RecurrentTask, TrainConfig, fit

TEXT_IDS = torch.randint(0, 12, (6000,), generator=torch.Generator().manual_seed(0))


def _batches(ids: torch.Tensor, batch_size: int = 8, bptt: int = 16) -> Batches:
    def make_epoch(epoch, rank, world):
        return StreamWindows(batchify(ids, batch_size), bptt)

    return Batches(
        make_epoch, lambda rank, world: len(StreamWindows(batchify(ids, batch_size), bptt))
    )


def _model(seed: int = 0) -> LanguageModel:
    torch.manual_seed(seed)
    return LanguageModel(LMConfig(vocab_size=12, hidden_size=24, num_layers=1))


def _cfg(**kw) -> TrainConfig:
    base = {
        "max_steps": 20,
        "batch_size": 8,
        "lr": 3e-3,
        "warmup_steps": 3,
        "progress": False,
        "log_every": 1,
    }
    return TrainConfig(**{**base, **kw})


class Interrupted(RecurrentTask):
    """Stops after ``stop_at`` steps, as a killed job or --max-time would, mid-epoch."""

    stop_at: int | None = None

    def training_step(self, batch, batch_idx):
        super().training_step(batch, batch_idx)
        if self.stop_at is not None and self.global_step >= self.stop_at:
            self.trainer.should_stop = True


def test_resume_equals_an_uninterrupted_run(tmp_path):
    whole = RecurrentTask(_model(), lm_loss, _cfg(max_steps=24), stateful=True)
    fit(whole, _batches(TEXT_IDS), None, tmp_path / "whole")

    first = Interrupted(_model(), lm_loss, _cfg(max_steps=24), stateful=True)
    first.stop_at = 11  # mid-epoch: an epoch here is 47 batches
    fit(first, _batches(TEXT_IDS), None, tmp_path / "split")
    second = RecurrentTask(_model(seed=123), lm_loss, _cfg(max_steps=24), stateful=True)
    trainer = fit(second, _batches(TEXT_IDS), None, tmp_path / "split", resume=True)

    assert trainer.global_step == 24
    for (name, a), b in zip(whole.model.state_dict().items(), second.model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6, msg=name)
    torch.testing.assert_close(second.carry.h, whole.carry.h, rtol=0, atol=1e-6)


class RecordsMode(RecurrentTask):
    modes: list

    def training_step(self, batch, batch_idx):
        self.modes.append(all(m.training for m in self.model.modules()))
        return super().training_step(batch, batch_idx)


def test_a_model_left_in_eval_mode_trains_in_training_mode(tmp_path):
    """Every estimator's load() ends in eval(); a resumed run must still train with dropout."""
    first = RecurrentTask(_model(), lm_loss, _cfg(max_steps=4), stateful=True)
    fit(first, _batches(TEXT_IDS), None, tmp_path / "a")
    for resume, out in ((False, "b"), (True, "a")):
        task = RecordsMode(_model().eval(), lm_loss, _cfg(max_steps=8), stateful=True)
        task.modes = []
        fit(task, _batches(TEXT_IDS), None, tmp_path / out, resume=resume)
        assert len(task.modes) == (4 if resume else 8) and all(task.modes), resume


def test_a_resume_with_nothing_left_to_train_is_a_clear_error(tmp_path):
    task = RecurrentTask(_model(), lm_loss, _cfg(max_steps=None, max_epochs=1), stateful=True)
    fit(task, _batches(TEXT_IDS), None, tmp_path)  # one epoch: 47 steps
    again = RecurrentTask(_model(), lm_loss, _cfg(max_steps=None, max_epochs=1), stateful=True)
    with pytest.raises(ValueError, match=r"already trained 1 epochs; give a --max-epochs above"):
        fit(again, _batches(TEXT_IDS), None, tmp_path, resume=True)
    again = RecurrentTask(_model(), lm_loss, _cfg(max_steps=47), stateful=True)
    with pytest.raises(ValueError, match=r"already made 47 steps; give a --max-steps above 47"):
        fit(again, _batches(TEXT_IDS), None, tmp_path, resume=True)
    more = RecurrentTask(_model(), lm_loss, _cfg(max_steps=50), stateful=True)
    assert fit(more, _batches(TEXT_IDS), None, tmp_path, resume=True).global_step == 50


def test_resume_after_the_last_batch_of_an_epoch_equals_an_uninterrupted_run(tmp_path):
    """Stopped right after an epoch's last batch, before Lightning closed the epoch: on
    resume Lightning asks for the rest of that epoch (nothing), then the next. The loader
    once gave one batch of the next epoch there and then skipped to the one after."""
    epoch = len(_batches(TEXT_IDS))  # 47
    whole = RecurrentTask(_model(), lm_loss, _cfg(max_steps=60), stateful=True)
    fit(whole, _batches(TEXT_IDS), None, tmp_path / "whole")
    first = Interrupted(_model(), lm_loss, _cfg(max_steps=60), stateful=True)
    first.stop_at = epoch
    fit(first, _batches(TEXT_IDS), None, tmp_path / "split")
    second = RecurrentTask(_model(seed=123), lm_loss, _cfg(max_steps=60), stateful=True)
    fit(second, _batches(TEXT_IDS), None, tmp_path / "split", resume=True)
    for (name, a), b in zip(whole.model.state_dict().items(), second.model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6, msg=name)


class Positions(RecurrentTask):
    """Records (data epoch, batch) of every training step."""

    def training_step(self, batch, batch_idx):
        self.positions.append((self.train_batches.epoch, batch_idx))
        super().training_step(batch, batch_idx)


@pytest.mark.parametrize("limit", ["max_steps", "max_epochs"])
def test_extending_a_finished_run_continues_with_its_next_data_epoch(tmp_path, limit):
    """A run that ended with its first epoch, resumed with a larger limit, trains on the
    second epoch's batches from the first (before: one batch of it, then the third epoch
    with max_steps; the first epoch again with max_epochs)."""
    epoch = len(_batches(TEXT_IDS))
    limits = {"max_steps": (epoch, epoch + 10), "max_epochs": (1, 2)}[limit]
    first = Positions(_model(), lm_loss, _cfg(**{"max_steps": None, limit: limits[0]}))
    first.positions = []
    fit(first, _batches(TEXT_IDS), None, tmp_path)
    assert first.positions[-1] == (0, epoch - 1)
    more = Positions(_model(), lm_loss, _cfg(**{"max_steps": None, limit: limits[1]}))
    more.positions = []
    fit(more, _batches(TEXT_IDS), None, tmp_path, resume=True)
    n = len(more.positions)
    assert n == (10 if limit == "max_steps" else epoch)
    assert more.positions == [(1, i) for i in range(n)]


@pytest.mark.parametrize("validated", [False, True])
@pytest.mark.parametrize("max_epochs", [1, 2])
def test_a_run_stopped_mid_epoch_by_its_step_limit_resumes_inside_that_epoch(
    tmp_path, validated, max_epochs
):
    """Lightning closes the epoch whenever a run ends: a run stopped by max_steps after 10 of
    47 batches was saved as one finished epoch. ``resume`` with max_epochs=1 then said there
    was nothing left, max_epochs=2 trained one epoch short, and after the final validation
    (which drops the loader's state) the rest of the first epoch was skipped too."""
    epoch = len(_batches(TEXT_IDS))  # 47
    val = FixedBatches(StreamWindows(batchify(TEXT_IDS[:800], 4), 16)) if validated else None
    first = Positions(_model(), lm_loss, _cfg(max_steps=10))
    first.positions = []
    fit(first, _batches(TEXT_IDS), val, tmp_path)
    assert first.positions == [(0, i) for i in range(10)]
    more = Positions(_model(), lm_loss, _cfg(max_steps=None, max_epochs=max_epochs))
    more.positions = []
    trainer = fit(more, _batches(TEXT_IDS), val, tmp_path, resume=True)
    rest = [(0, i) for i in range(10, epoch)]
    assert more.positions == rest + [(e, i) for e in range(1, max_epochs) for i in range(epoch)]
    assert trainer.global_step == max_epochs * epoch
    again = Positions(_model(), lm_loss, _cfg(max_steps=None, max_epochs=max_epochs))
    with pytest.raises(ValueError, match=rf"already trained {max_epochs} epochs"):
        fit(again, _batches(TEXT_IDS), val, tmp_path, resume=True)


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    task = RecurrentTask(_model(), lm_loss, _cfg(), stateful=True)
    with pytest.raises(ValueError, match=r"no .*last\.ckpt"):
        fit(task, _batches(TEXT_IDS), None, tmp_path, resume=True)


def test_guard_recovers_from_an_injected_nan(tmp_path, capsys):
    calls = {"n": 0}

    def poisoned(logits, y):
        loss, n = lm_loss(logits, y)
        calls["n"] += 1
        if calls["n"] == 12:  # one bad step in the middle of the run
            loss = loss * torch.tensor(math.nan)
        return loss, n

    task = RecurrentTask(_model(), poisoned, _cfg(max_steps=20), stateful=True)
    trainer = fit(task, _batches(TEXT_IDS), None, tmp_path)
    assert task.guard.strikes == 1
    assert task.base_lr == pytest.approx(3e-3 / 2)
    assert trainer.global_step == 20  # the bad step did not count, training went on
    assert all(torch.isfinite(p).all() for p in task.model.parameters())
    assert "rolled back" in capsys.readouterr().err


class Drifting(RecurrentTask):
    """A validation loss that rises smoothly from the 4th validation on, whatever the model
    does; records what each rollback left behind."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.evals, self.rollbacks = 0, []

    def on_validation_epoch_start(self):
        super().on_validation_epoch_start()
        self.evals += 1

    def validation_step(self, batch, batch_idx):
        super().validation_step(batch, batch_idx)
        self._val_sum += max(0, self.evals - 3) * 0.4 * batch[1].numel()

    def _rollback(self, snap, reason):
        holding_before = self._holding_average
        super()._rollback(snap, reason)
        self.rollbacks.append({
            "reason": reason, "to_best": snap is self._best, "snap": snap,
            "model": {k: v.clone() for k, v in self.model.state_dict().items()},
            "average": None if self._ema is None else [a.clone() for a in self._ema],
            "holding_before": holding_before, "holding": self._holding_average,
        })  # fmt: skip


def test_guard_rolls_back_a_gradual_validation_climb_to_the_best_model(tmp_path):
    # The guard must roll back to the best snapshot, not to a recent one.
    val = FixedBatches(StreamWindows(batchify(TEXT_IDS[:2000], 4), 16))
    task = Drifting(_model(), lm_loss, _cfg(max_steps=60, val_every=6), stateful=True)
    fit(task, _batches(TEXT_IDS), val, tmp_path)
    assert task.rollbacks, "the climb was not caught"
    first = task.rollbacks[0]
    assert "climbed" in first["reason"] and first["to_best"]
    for k, v in first["snap"]["model"].items():
        torch.testing.assert_close(first["model"][k], v, rtol=0, atol=0)
    assert task.base_lr < 3e-3


class Crashing(RecurrentTask):
    crash_at = 12

    def training_step(self, batch, batch_idx):
        if self.global_step == self.crash_at:
            raise RuntimeError("simulated crash")
        super().training_step(batch, batch_idx)


def test_a_killed_run_resumes_from_its_periodic_checkpoint(tmp_path):
    whole = RecurrentTask(_model(), lm_loss, _cfg(max_steps=24), stateful=True)
    fit(whole, _batches(TEXT_IDS), None, tmp_path / "whole")

    crashed = Crashing(_model(), lm_loss, _cfg(max_steps=24, checkpoint_every=5), stateful=True)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(crashed, _batches(TEXT_IDS), None, tmp_path / "run")
    assert (tmp_path / "run" / "last.ckpt").is_file()  # written at step 10, before the kill
    again = RecurrentTask(_model(seed=5), lm_loss, _cfg(max_steps=24, checkpoint_every=5),
                          stateful=True)  # fmt: skip
    trainer = fit(again, _batches(TEXT_IDS), None, tmp_path / "run", resume=True)
    assert trainer.global_step == 24
    for (name, a), b in zip(whole.model.state_dict().items(), again.model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6, msg=name)


def test_a_new_run_never_restores_an_older_runs_best_checkpoint(tmp_path):
    from rnnkit.train import finish

    val = FixedBatches(StreamWindows(batchify(TEXT_IDS[:800], 4), 16))
    old = RecurrentTask(_model(seed=1), lm_loss, _cfg(max_steps=6, val_every=3), stateful=True)
    fit(old, _batches(TEXT_IDS), val, tmp_path)
    assert (tmp_path / "checkpoints" / "best.ckpt").is_file()
    # The next run does not validate: nothing of its own to restore, so finish() must
    # leave its trained weights alone.
    new = RecurrentTask(_model(seed=2), lm_loss, _cfg(max_steps=4), stateful=True)
    fit(new, _batches(TEXT_IDS), None, tmp_path)
    trained = {k: v.clone() for k, v in new.model.state_dict().items()}
    finish(new, new.trainer, tmp_path, restore_best=True)
    for k, v in new.model.state_dict().items():
        assert torch.equal(v, trained[k]), k


def test_a_run_stopping_between_validations_validates_its_final_weights(tmp_path):
    from rnnkit.train import finish

    val = FixedBatches(StreamWindows(batchify(TEXT_IDS[:800], 4), 16))
    task = RecurrentTask(_model(), lm_loss, _cfg(max_steps=7, val_every=5), stateful=True)
    trainer = fit(task, _batches(TEXT_IDS), val, tmp_path)
    assert [h["step"] for h in task.history] == [5.0, 7.0]
    final = {k: v.clone() for k, v in task.model.state_dict().items()}
    metrics = finish(task, trainer, tmp_path, restore_best=True)
    assert metrics["best_val_loss"] == min(h["val_loss"] for h in task.history)
    # Still learning at step 7, so the final weights are the best and must be the ones kept
    # (before, the step-5 weights were restored: the last two steps were lost).
    assert task.history[1]["val_loss"] < task.history[0]["val_loss"]
    for k, v in task.model.state_dict().items():
        assert torch.equal(v, final[k]), k


def test_resume_after_a_final_validation_equals_an_uninterrupted_run(tmp_path):
    val = FixedBatches(StreamWindows(batchify(TEXT_IDS[:800], 4), 16))
    whole = RecurrentTask(_model(), lm_loss, _cfg(max_steps=24, val_every=5), stateful=True)
    fit(whole, _batches(TEXT_IDS), val, tmp_path / "whole")

    first = Interrupted(_model(), lm_loss, _cfg(max_steps=24, val_every=5), stateful=True)
    first.stop_at = 12  # stops between validations: fit() validates step 12 at the end
    fit(first, _batches(TEXT_IDS), val, tmp_path / "split")
    assert [h["step"] for h in first.history] == [5.0, 10.0, 12.0]
    second = RecurrentTask(_model(seed=123), lm_loss, _cfg(max_steps=24, val_every=5),
                           stateful=True)  # fmt: skip
    fit(second, _batches(TEXT_IDS), val, tmp_path / "split", resume=True)
    for (name, a), b in zip(whole.model.state_dict().items(), second.model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6, msg=name)
    best_whole = min(h["val_loss"] for h in whole.history)
    best_split = min(h["val_loss"] for h in first.history + second.history)
    assert best_split <= best_whole + 1e-6


# ------------------------------------------------------------------ the weight average
VAL_IDS = TEXT_IDS[:800]


def _val() -> FixedBatches:
    return FixedBatches(StreamWindows(batchify(VAL_IDS, 4), 16))


class Recording(RecurrentTask):
    """Keeps the raw weights after every optimizer step."""

    def on_train_start(self):
        super().on_train_start()
        self.trajectory = [[p.detach().clone() for p in self.parameters()]]

    def training_step(self, batch, batch_idx):
        super().training_step(batch, batch_idx)
        raw = self._ema if self._holding_average else list(self.parameters())
        self.trajectory.append([p.detach().clone() for p in raw])


def _loss_on_val(model) -> float:
    total = n = 0.0
    state = None
    with torch.no_grad():
        model.eval()
        for x, y in _val():
            out, state = model(x, state)
            loss, k = lm_loss(out, y)
            total, n = total + float(loss) * k, n + k
        model.train()
    return total / n


def test_the_average_is_the_stated_recurrence_over_the_raw_steps(tmp_path):
    task = Recording(_model(), lm_loss, _cfg(max_steps=15, ema_decay=0.8), stateful=True)
    fit(task, _batches(TEXT_IDS), None, tmp_path)
    expected = [t.clone() for t in task.trajectory[0]]
    for n, weights in enumerate(task.trajectory[1:]):
        decay = min(0.8, (1 + n) / (10 + n))
        expected = [decay * a + (1 - decay) * w for a, w in zip(expected, weights)]
    assert len(task.trajectory) == 16
    for got, want, raw in zip(task.parameters(), expected, task.trajectory[-1]):
        torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(got.detach(), raw)  # the model ends holding the average

    # Averaging changes nothing about training itself: the raw weights are the plain run's.
    plain = Recording(_model(), lm_loss, _cfg(max_steps=15), stateful=True)
    fit(plain, _batches(TEXT_IDS), None, tmp_path / "plain")
    for a, b in zip(plain.trajectory[-1], task.trajectory[-1]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    ckpt = torch.load(tmp_path / "last.ckpt", weights_only=False)
    raw = [ckpt["rnnkit"]["raw_state_dict"][n] for n, _ in task.named_parameters()]
    for a, b in zip(raw, task.trajectory[-1]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for n, p in task.named_parameters():  # the checkpoint's weights are the average
        torch.testing.assert_close(ckpt["state_dict"][n], p.detach(), rtol=0, atol=0)


def test_validation_and_the_best_checkpoint_see_the_average(tmp_path):
    from rnnkit.train import finish

    task = RecurrentTask(_model(), lm_loss, _cfg(max_steps=12, val_every=12, ema_decay=0.9),
                         stateful=True)  # fmt: skip
    trainer = fit(task, _batches(TEXT_IDS), _val(), tmp_path)
    assert [h["step"] for h in task.history] == [12.0]
    assert task.history[0]["val_loss"] == pytest.approx(_loss_on_val(task.model), abs=1e-6)
    raw = _model(seed=7)
    state = torch.load(tmp_path / "last.ckpt", weights_only=False)["rnnkit"]["raw_state_dict"]
    raw.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
    assert abs(_loss_on_val(raw) - task.history[0]["val_loss"]) > 1e-4  # a different model
    averaged = {k: v.clone() for k, v in task.model.state_dict().items()}
    finish(task, trainer, tmp_path, restore_best=True)  # best.ckpt holds the average too
    for k, v in task.model.state_dict().items():
        torch.testing.assert_close(v, averaged[k], rtol=0, atol=0, msg=k)


def test_resume_with_an_average_equals_an_uninterrupted_run(tmp_path):
    cfg = _cfg(max_steps=24, val_every=5, ema_decay=0.9)
    whole = RecurrentTask(_model(), lm_loss, cfg, stateful=True)
    fit(whole, _batches(TEXT_IDS), _val(), tmp_path / "whole")

    first = Interrupted(_model(), lm_loss, cfg, stateful=True)
    first.stop_at = 12
    fit(first, _batches(TEXT_IDS), _val(), tmp_path / "split")
    second = RecurrentTask(_model(seed=123), lm_loss, cfg, stateful=True)
    fit(second, _batches(TEXT_IDS), _val(), tmp_path / "split", resume=True)
    for (name, a), b in zip(whole.model.state_dict().items(), second.model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6, msg=name)
    assert whole.history[-1]["val_loss"] == pytest.approx(second.history[-1]["val_loss"], abs=1e-6)


def test_a_rollback_during_validation_restores_raw_weights_and_average(tmp_path):
    task = Drifting(_model(), lm_loss, _cfg(max_steps=60, val_every=6, ema_decay=0.9),
                    stateful=True)  # fmt: skip
    fit(task, _batches(TEXT_IDS), _val(), tmp_path)
    assert task.rollbacks, "the climb was not caught"
    first = task.rollbacks[0]
    assert first["holding_before"] and not first["holding"]  # it acted inside validation
    snap = first["snap"]
    for k, v in snap["model"].items():
        torch.testing.assert_close(first["model"][k], v, rtol=0, atol=0)
    for a, b in zip(first["average"], snap["average"]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # The snapshot's raw weights are not its average (the model held the average when
    # the snapshot was taken, inside validation).
    raw = [snap["model"][n.removeprefix("model.")] for n, _ in task.named_parameters()]
    assert any(not torch.equal(r, a) for r, a in zip(raw, snap["average"]))
    assert all(torch.isfinite(p).all() for p in task.model.parameters())


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_a_decay_outside_zero_one_is_an_error(decay):
    with pytest.raises(ValueError, match="ema_decay must lie strictly between 0 and 1"):
        TrainConfig(max_steps=1, ema_decay=decay)


def test_a_plain_run_resumed_with_an_average_rolls_back_to_its_older_snapshots(tmp_path):
    first = Interrupted(_model(), lm_loss, _cfg(max_steps=40, val_every=5), stateful=True)
    first.stop_at = 10  # its best snapshot, kept in last.ckpt, holds no average
    fit(first, _batches(TEXT_IDS), _val(), tmp_path)
    second = Drifting(_model(seed=3), lm_loss, _cfg(max_steps=40, val_every=5, ema_decay=0.9),
                      stateful=True)  # fmt: skip
    second.evals = 3  # every validation of the resumed run climbs
    fit(second, _batches(TEXT_IDS), _val(), tmp_path, resume=True)
    older = [r for r in second.rollbacks if "average" not in r["snap"]]
    assert older, "no rollback to the first run's snapshot"
    restored = [older[0]["model"][n.removeprefix("model.")] for n, _ in second.named_parameters()]
    for a, r in zip(older[0]["average"], restored):  # the average restarts from those weights
        torch.testing.assert_close(a, r, rtol=0, atol=0)


@pytest.mark.parametrize(
    "option,good,bad",
    [
        ("seed", [0, np.int64(7), 2**32 - 1], [-1, 2**32, 1.5, True]),
        ("devices", [1, -1, "auto", "2", "0,1", [0, 1], np.int64(2)], [0, "0", -2, [], ["a"]]),
        ("accelerator", ["auto", "cpu", "gpu", "cuda", "mps"], ["tpu", "CPU"]),
        ("weight_decay", [0.0, 0.1], [-0.01, float("nan")]),
    ],
)
def test_trainer_options_are_checked_before_lightning_sees_them(option, good, bad):
    for value in good:
        TrainConfig(max_steps=1, **{option: value})
    for value in bad:
        with pytest.raises(ValueError, match=rf"^{option} must be"):
            TrainConfig(max_steps=1, **{option: value})


def test_every_rank_gets_as_many_batches_as_the_rank_with_fewest():
    """Seven batches over two ranks: rank 0 had four and rank 1 three, so under DDP rank 1
    ended its epoch (and validated) a step before rank 0, and both waited forever (found with
    ``translate train --devices 2`` on 400 pairs)."""

    def make_epoch(epoch, rank, world):
        return [(epoch, b) for b in range(7)][rank::world]

    counts = []
    for rank in (0, 1):
        batches = Batches(make_epoch, lambda rank, world: len(range(rank, 7, world)))
        batches.bind(rank, 2)
        counts.append((len(batches), len(list(batches)), len(list(batches))))
    assert counts == [(3, 3, 3), (3, 3, 3)]
    alone = Batches(make_epoch, lambda rank, world: len(range(rank, 7, world)))
    assert len(alone) == 7 and len(list(alone)) == 7  # one process keeps every batch
