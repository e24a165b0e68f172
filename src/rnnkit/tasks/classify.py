"""Text classification (sentiment analysis) with recurrent encoders.

``TextClassifier`` learns labels of any type (strings, ints) from lists of texts, a
CSV/TSV/JSONL file, a folder per class, or ``label text`` lines (SST-2's files). The model
(see :mod:`rnnkit.tasks._classifier`) is embedding -> bidirectional LSTM/GRU/RNN run with
``lengths`` -> pooling (last, mean, max, attention, concat) -> linear. The vocabulary comes from
the training texts only. The model kept is the one with the best validation accuracy.

Transfer: ``TextClassifier(pretrained=LM_DIR)`` starts the embedding and encoder from a
word-level :class:`~rnnkit.TextGenerator` (see :mod:`rnnkit.tasks._transfer`), with
discriminative learning rates (``lr_decay``: each layer group below the top trains at the
rate of the one above divided by it; ULMFiT uses 2.6) and gradual unfreezing
(``gradual_unfreeze=True``: the top group trains in epoch 1, one more group each epoch).
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import io
from ..data.labeled import as_label, read_labeled
from ..train import Batches, FixedBatches, RecurrentTask, TrainConfig, finish, fit, run_folder
from ..train.module import decay_groups
from ._classifier import ClassifierConfig, ClassifierNet, TextIds, pad_batch, valid_mask
from ._transfer import init_from_lm, lm_dirs, lm_model_options

TASK = "classify"
VAL_BATCH = 256  # texts per validation batch


class _ClassifyTask(RecurrentTask):
    """The engine's task with what classification needs: validation accuracy (model
    selection and early stopping on it, not on the loss, which climbs as a classifier grows
    confident long before its accuracy drops), layer-group learning rates and unfreezing."""

    def __init__(self, model, loss_fn, config: TrainConfig, lr_decay: float | None,
                 gradual_unfreeze: bool, patience: int | None,
                 adversarial: float = 0.0) -> None:  # fmt: skip
        super().__init__(model, loss_fn, config, stateful=False)
        self.lr_decay, self.gradual_unfreeze, self.patience = lr_decay, gradual_unfreeze, patience
        self.adversarial = adversarial
        self.best_acc, self.best_state, self.best_step, self._stale = -1.0, None, 0, 0
        self._correct = 0.0

    def configure_optimizers(self):
        groups = self.model.layer_groups()
        params = []
        for i, group in enumerate(groups):
            scale = 1.0 / (self.lr_decay ** (len(groups) - 1 - i)) if self.lr_decay else 1.0
            params += decay_groups(group, self.cfg.weight_decay, lr_scale=scale)
        return self.adamw(params)

    def training_loss(self, x, y):
        """Adversarial training (Miyato et al. 2017, s3): the loss on the clean text plus the
        loss on its embeddings pushed, as one vector per text, in the direction that raises
        its loss most (to first order). The push's norm is ``adversarial`` times the norm of
        that text's embeddings, so the model cannot outgrow it by scaling its embeddings up
        (the paper normalises the embedding table instead)."""
        if not self.adversarial:
            return super().training_loss(x, y)
        ids, lengths = x
        model = self.model
        emb = model.embed(ids)  # one embedding-dropout draw, shared by both terms
        if not emb.requires_grad:  # a frozen embedding (gradual unfreezing): push all the same
            emb = emb.detach().requires_grad_()

        loss = self.loss_fn(model.logits(emb, lengths), y)[0]
        # (scaled like the engine's backward under float16; the push is scale-free)
        (grad,) = torch.autograd.grad(loss * self.loss_scale(), emb, retain_graph=True)
        if self._scaler is not None:  # overflow: no push (the engine skips this step anyway)
            grad = torch.where(torch.isfinite(grad), grad, torch.zeros_like(grad))
        valid = valid_mask(lengths, ids.shape[1], emb.device)
        size = (emb.detach() * valid[..., None]).flatten(1).norm(dim=1) * self.adversarial
        push = grad * (size / grad.flatten(1).norm(dim=1).clamp_min(1e-12))[:, None, None]
        return loss + self.loss_fn(model.logits(emb + push, lengths), y)[0], None

    def on_train_epoch_start(self) -> None:
        if not self.gradual_unfreeze:
            return
        groups = self.model.layer_groups()
        trainable = min(len(groups), self.current_epoch + 1)
        for i, group in enumerate(groups):
            for p in group:
                p.requires_grad_(i >= len(groups) - trainable)

    def _data_epoch(self) -> int:
        """The (0-based) epoch of the data these weights were trained in: Lightning's counter
        has moved on when fit() validates the end of a run, after Lightning closed it."""
        tb = self.train_batches
        return max(tb.epoch, 0) if tb is not None else self.current_epoch

    def on_validation_epoch_start(self) -> None:
        super().on_validation_epoch_start()
        self._correct = 0.0

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)  # a resumed run keeps its best by accuracy
        checkpoint["rnnkit"]["classify"] = {
            "best_acc": self.best_acc, "best_step": self.best_step, "stale": self._stale,
            "best_state": self.best_state,
        }  # fmt: skip

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        mine = checkpoint.get("rnnkit", {}).get("classify")
        if mine:
            self.best_acc, self.best_step = mine["best_acc"], mine["best_step"]
            self._stale, self.best_state = mine["stale"], mine["best_state"]

    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        logits, _ = self.model(x)
        loss, n = self.loss_fn(logits, y)
        self._val_sum += float(loss) * n
        self._val_n += n
        self._correct += float((logits.argmax(-1) == y).sum())

    def on_validation_epoch_end(self) -> None:
        t = torch.tensor([self._val_sum, self._val_n, self._correct], dtype=torch.float64,
                         device=self.device)  # fmt: skip
        t = self.trainer.strategy.reduce(t, reduce_op="sum")
        n = float(t[1])
        loss, acc = (float(t[0]) / n, float(t[2]) / n) if n else (math.nan, math.nan)
        self.log("val_loss", loss, prog_bar=True)
        self.log("val_acc", acc, prog_bar=True)
        self.history.append({"step": float(self.global_step), "val_loss": loss, "val_acc": acc,
                             "epoch": float(self._data_epoch())})  # fmt: skip
        if acc > self.best_acc:
            self.best_acc, self.best_step, self._stale = acc, self.global_step, 0
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self._stale += 1
            if self.patience and self._stale >= self.patience:
                self.trainer.should_stop = True


class TextClassifier:
    """A recurrent text classifier: sentiment, topics, intents, any labels.

    Args:
        level: ``"word"`` (``lower`` and ``split_punct`` normalise; ``min_freq``,
            ``max_vocab`` limit the vocabulary) or ``"bpe"`` (``bpe_vocab_size``).
        max_length: tokens per text at most (longer ones keep their beginning); stated in
            ``metrics["truncated"]`` when it cuts.
        cell, embedding_size, hidden_size, num_layers, bidirectional: the encoder.
        pooling: ``"last"``, ``"mean"``, ``"max"``, ``"attention"`` or ``"concat"``
            (ULMFiT's: last, max and mean side by side).
        dropout (before the classifier), embedding_dropout (whole words), input_dropout,
        between_dropout, recurrent_dropout, weight_drop, zoneout, layer_norm: regularizers.
        class_weights: ``None``, ``"balanced"`` (n / (classes * count)) or ``{label: w}``.
        pretrained: a word-level TextGenerator model directory to start from (its cell and
            sizes replace those given here), or two: a forward and a backward
            (``reverse=True``) one, one for each direction; ``lr_decay`` and
            ``gradual_unfreeze`` as above.
        adversarial: adversarial training (Miyato et al. 2017): each step adds the loss at
            the text's embeddings pushed uphill by this fraction of their norm (0: off;
            0.02 on SST-2; a step costs about 2.3 plain ones).
        bucket: training batches of similar lengths, sorted within pools of this many
            batches (0: plain shuffled batches).

    Example::

        clf = rnnkit.TextClassifier(pooling="max")
        clf.fit(texts, labels, val_texts, val_labels, max_epochs=8)
        clf.predict(["a gorgeous, witty film"])   # -> [1]
    """

    def __init__(self, level: str = "word", lower: bool = True, split_punct: bool = True,
                 max_length: int = 256, min_freq: int = 1, max_vocab: int | None = None,
                 bpe_vocab_size: int = 8000, cell: str = "lstm", embedding_size: int = 300,
                 hidden_size: int = 256, num_layers: int = 1, bidirectional: bool = True,
                 pooling: str = "max", dropout: float = 0.5, embedding_dropout: float = 0.1,
                 input_dropout: float = 0.0, between_dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, weight_drop: float = 0.0, zoneout: float = 0.0,
                 layer_norm: bool = False, attention_size: int = 128,
                 class_weights: str | dict | None = None,
                 pretrained: str | Path | Sequence[str | Path] | None = None,
                 lr_decay: float | None = None, gradual_unfreeze: bool = False,
                 adversarial: float = 0.0, bucket: int = 0,
                 impl: str = "auto") -> None:  # fmt: skip
        self.text_options = {"level": level, "lower": lower, "split_punct": split_punct,
                             "max_length": max_length, "min_freq": min_freq,
                             "max_vocab": max_vocab, "bpe_vocab_size": bpe_vocab_size}  # fmt: skip
        self.model_options = {
            "cell": cell, "embedding_size": embedding_size, "hidden_size": hidden_size,
            "num_layers": num_layers, "bidirectional": bidirectional, "pooling": pooling,
            "dropout": dropout, "embedding_dropout": embedding_dropout,
            "input_dropout": input_dropout, "between_dropout": between_dropout,
            "recurrent_dropout": recurrent_dropout, "weight_drop": weight_drop,
            "zoneout": zoneout, "layer_norm": layer_norm, "attention_size": attention_size,
            "impl": impl,
        }  # fmt: skip
        if pretrained is not None:
            if level != "word":
                raise ValueError(f"pretrained needs level='word' (a word LM), got {level!r}")
            self.model_options.update(lm_model_options(pretrained, bidirectional))
            dirs = lm_dirs(pretrained)
            pretrained = dirs[0] if len(dirs) == 1 else dirs  # as the config stores it
        ClassifierConfig(vocab_size=2, num_classes=2, **self.model_options)  # validate now
        TextIds(level, None, lower, split_punct, max_length)
        if lr_decay is not None and not lr_decay >= 1.0:
            raise ValueError(f"lr_decay must be >= 1 (ULMFiT uses 2.6), got {lr_decay!r}")
        if not (class_weights is None or class_weights == "balanced"
                or isinstance(class_weights, dict)):  # fmt: skip
            raise ValueError(f"class_weights must be None, 'balanced' or a dict of label -> "
                             f"weight, got {class_weights!r}")  # fmt: skip
        if isinstance(class_weights, dict):
            bad = {k: w for k, w in class_weights.items()
                   if isinstance(w, bool) or not isinstance(w, (int, float))
                   or not math.isfinite(w) or w < 0}  # fmt: skip
            if bad or not any(w > 0 for w in class_weights.values()):
                raise ValueError(f"class_weights must be finite numbers >= 0, not all 0; got "
                                 f"{bad or class_weights}")  # fmt: skip
        self.class_weights, self.pretrained = class_weights, pretrained
        self.lr_decay, self.gradual_unfreeze = lr_decay, gradual_unfreeze
        if not (isinstance(adversarial, (int, float)) and 0.0 <= adversarial < 1.0):
            raise ValueError(f"adversarial must be in [0, 1) (a fraction of each text's "
                             f"embedding norm; 0 = off), got {adversarial!r}")  # fmt: skip
        self.adversarial = float(adversarial)
        if isinstance(bucket, bool) or not isinstance(bucket, int) or bucket < 0:
            raise ValueError(f"bucket must be a whole number of batches >= 0 (0 = off), "
                             f"got {bucket!r}")  # fmt: skip
        self.bucket = bucket
        self.classes: list[Any] = []
        self.text_ids: TextIds | None = None
        self.model: ClassifierNet | None = None
        self.metrics: dict[str, Any] = {}
        self.train_config: TrainConfig | None = None

    # ------------------------------------------------------------------ training
    def fit(self, texts: Any, labels: list | None = None, val_texts: Any = None,
            val_labels: list | None = None, *, text_col: str | None = None,
            label_col: str | None = None, fmt: str = "auto", encoding: str = "utf-8",
            out: str | Path | None = None, val_fraction: float = 0.1, resume: bool = False,
            callbacks: list | None = None, **train_options: Any) -> TextClassifier:  # fmt: skip
        """Train on ``texts``/``labels`` (lists), or on a file or folder given as ``texts``
        (with ``labels=None``; ``text_col``, ``label_col``, ``fmt``, ``encoding`` as in
        :func:`rnnkit.data.labeled.read_labeled`). Validation: ``val_texts``/``val_labels``
        (or a file), else a random ``val_fraction`` of the training data. ``train_options``
        are :class:`rnnkit.train.TrainConfig` fields; ``early_stopping`` counts validations
        without a better validation accuracy. Defaults: 10 epochs, weight decay 0.01 (as
        ``rnnkit classify train``). A validation part taken from the training data holds
        ``val_fraction`` of each class (stratified). ``callbacks``: extra
        Lightning callbacks, e.g. :class:`rnnkit.diagnostics.GradientMonitor`.
        ``resume=True`` continues the run saved in ``out/last.ckpt`` (same data and options;
        a loaded classifier keeps its vocabulary), with its best model so far.
        """
        io.check_resumable(self, out, resume)
        read = {"text_col": text_col, "label_col": label_col, "fmt": fmt, "encoding": encoding}
        texts, labels = _texts_and_labels(texts, labels, "training", read)
        if val_texts is not None:
            val_texts, val_labels = _texts_and_labels(val_texts, val_labels, "validation", read)
        elif len(texts) >= 20 and val_fraction > 0:
            held = _stratified_holdout(labels, val_fraction, train_options.get("seed", 0))
            kept = sorted(set(range(len(texts))) - set(held))
            val_texts, val_labels = [texts[i] for i in held], [labels[i] for i in held]
            texts, labels = [texts[i] for i in kept], [labels[i] for i in kept]
        if not any(t.strip() for t in texts):
            raise ValueError("the training texts are all empty; check --text-col (or the file)")
        if not {"max_epochs", "max_steps", "max_time"} & set(train_options):
            train_options = {**train_options, "max_epochs": 10}
        train_options = {"weight_decay": 0.01, **train_options}  # the CLI's default too
        cfg = TrainConfig.from_options(**train_options)
        patience = cfg.early_stopping  # on validation accuracy, here rather than the loss
        cfg = dataclasses.replace(cfg, early_stopping=None)

        continuing = resume and self.model is not None
        if continuing and _classes(labels) != self.classes:
            raise ValueError(f"--resume: the labels {_classes(labels)} differ from the saved "
                             f"run's {self.classes}; resume on the same data")  # fmt: skip
        self.classes = _classes(labels)
        index = {c: i for i, c in enumerate(self.classes)}
        opts = self.text_options
        if not continuing:
            self.text_ids = TextIds.build(texts, **opts)
        train_ids, truncated = self._encode(texts)
        y = torch.tensor([index[v] for v in labels])
        vocab, n_classes = self.text_ids.vocab_size, len(self.classes)
        transfer = None
        if not continuing:
            net_cfg = ClassifierConfig(vocab, n_classes, **self.model_options)
            torch.manual_seed(cfg.seed)
            self.model = ClassifierNet(net_cfg)
            if self.pretrained is not None:
                transfer = init_from_lm(self.model, self.text_ids.tokenizer.words, self.pretrained)
        weights = self._loss_weights(labels)
        loss_fn = _make_loss(weights)
        task = _ClassifyTask(self.model, loss_fn, cfg, self.lr_decay, self.gradual_unfreeze,
                             patience, self.adversarial)  # fmt: skip
        train = _train_batches(train_ids, y, cfg.batch_size, cfg.seed, self.bucket)
        val = None
        if val_texts:
            known = [i for i, v in enumerate(val_labels) if v in index]
            if not known:
                raise ValueError(_no_label_matches("validation", val_labels, self.classes))
            if len(known) < len(val_labels):
                _warn(f"{len(val_labels) - len(known)} validation labels are not among the "
                      "training labels; they are left out of validation")  # fmt: skip
            if cfg.val_batches and len(known) > cfg.val_batches * VAL_BATCH:
                # validation batches are sorted by length, and Lightning's limit takes the
                # first ones: the shortest texts. A seeded random part instead.
                known = sorted(random.Random(cfg.seed).sample(known, cfg.val_batches * VAL_BATCH))
            val_ids, _ = self._encode([val_texts[i] for i in known])
            val_y = torch.tensor([index[val_labels[i]] for i in known])
            val = FixedBatches(_eval_batches(val_ids, val_y, VAL_BATCH))
        self.train_config = cfg
        with run_folder(out, "classify", resume) as out_dir:
            trainer = fit(task, train, val, out_dir, resume=resume, callbacks=callbacks)
            # the best state by validation *accuracy* is in memory, not best.ckpt (best loss)
            self.metrics = finish(task, trainer, out_dir, restore_best=False)
        if task.best_state is not None:  # validated weights, even when the guard stopped
            self.model.load_state_dict(task.best_state)  # the run: what best_* describe
        for p in self.model.parameters():
            p.requires_grad_(True)
        self.metrics.update(
            train_examples=len(texts),
            max_length=opts["max_length"],
            truncated=truncated,
            vocab_size=self.text_ids.vocab_size,
        )
        if val is not None:
            self.metrics.update(best_val_accuracy=task.best_acc, best_step=task.best_step)
            # the kept model's validation loss (finish() gave the lowest of the run's, which
            # another step's weights may have had: the model is chosen by accuracy)
            at_best = [h["val_loss"] for h in task.history if h["step"] == task.best_step]
            if at_best:
                self.metrics["best_val_loss"] = at_best[-1]
        if transfer is not None:
            self.metrics["transfer"] = transfer
        if truncated:
            _warn(f"{truncated} training texts were longer than max_length="
                  f"{opts['max_length']} tokens and were cut to their beginning")  # fmt: skip
        if out is not None and trainer.global_rank == 0:
            self.save(out)
        return self

    def _encode(self, texts: list[str]) -> tuple[list[list[int]], int]:
        encoded = [self.text_ids.encode(t) for t in texts]
        return [ids for ids, _ in encoded], sum(cut for _, cut in encoded)

    def _loss_weights(self, labels: list) -> list[float] | None:
        cw = self.class_weights
        if cw is None:
            return None
        if cw == "balanced":
            counts = {c: 0 for c in self.classes}
            for v in labels:
                counts[v] += 1
            return [len(labels) / (len(self.classes) * counts[c]) for c in self.classes]
        unknown = [k for k in cw if k not in self.classes]
        if unknown:
            raise ValueError(f"class_weights names labels {unknown} that the training data does "
                             f"not have; its labels are {self.classes}")  # fmt: skip
        return [float(cw.get(c, 1.0)) for c in self.classes]

    # ------------------------------------------------------------------ prediction
    @torch.no_grad()
    def predict_proba(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``(N, C)``, columns in the order of ``self.classes``."""
        model = self._ready()
        texts = _as_text_list(texts)
        ids, _ = self._encode(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        probs = torch.empty(len(ids), len(self.classes))
        device = next(model.parameters()).device
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            x, lengths = pad_batch([ids[i] for i in chunk])
            logits, _ = model((x.to(device), lengths))
            probs[chunk] = logits.float().softmax(-1).cpu()
        return probs.numpy()

    def predict(self, texts: list[str], batch_size: int = 256) -> list[Any]:
        """The most likely label of each text (labels as given to ``fit``)."""
        texts = _as_text_list(texts)
        if not texts:
            return []
        best = self.predict_proba(texts, batch_size).argmax(-1)
        return [self.classes[i] for i in best]

    def evaluate(self, texts: Any, labels: list | None = None, *, text_col: str | None = None,
                 label_col: str | None = None, fmt: str = "auto",
                 encoding: str = "utf-8") -> dict[str, Any]:  # fmt: skip
        """``accuracy``, ``macro_f1`` and ``confusion`` (``{"labels", "matrix"}``: rows the
        true label, columns the predicted one) on ``texts``/``labels`` or a file.

        A label that training never saw cannot be predicted: it counts as an error, is listed
        in ``unseen_labels`` (with its count), and gets its own row with F1 0.
        """
        read = {"text_col": text_col, "label_col": label_col, "fmt": fmt, "encoding": encoding}
        texts, labels = _texts_and_labels(texts, labels, "evaluation", read)
        self._ready()
        if not any(v in self.classes for v in labels):
            raise ValueError(_no_label_matches("evaluation", labels, self.classes))
        predicted = self.predict(texts)
        unseen: dict[Any, int] = {}
        for v in labels:
            if v not in self.classes:
                unseen[v] = unseen.get(v, 0) + 1
        names = list(self.classes) + list(unseen)
        index = {c: i for i, c in enumerate(names)}
        matrix = [[0] * len(names) for _ in names]
        for t, p in zip(labels, predicted, strict=True):
            matrix[index[t]][index[p]] += 1
        f1 = []
        for i in range(len(names)):
            tp = matrix[i][i]
            row, col = sum(matrix[i]), sum(r[i] for r in matrix)
            if row == 0 and col == 0:
                continue  # a class absent from both truth and predictions
            f1.append(2 * tp / (row + col))
        if unseen:
            _warn(f"{sum(unseen.values())} evaluation labels were never seen in training "
                  f"({list(unseen)}); they count as errors")  # fmt: skip
        correct = sum(matrix[i][i] for i in range(len(names)))
        return {"accuracy": correct / len(labels), "macro_f1": sum(f1) / len(f1),
                "n": len(labels), "confusion": {"labels": names, "matrix": matrix},
                "unseen_labels": {str(k): n for k, n in unseen.items()}}  # fmt: skip

    def explain(self, text: str, target: Any = None) -> dict[str, Any]:
        """Per-token importance for one text: the attention weights with
        ``pooling="attention"``, otherwise gradient saliency (the L2 norm of the gradient of
        the ``target`` class's logit, default the predicted one, with respect to each
        token's embedding; Li et al. 2016), normalised to sum to 1."""
        model = self._ready()
        if not isinstance(text, str):
            raise ValueError(f"expected one text as str, got {type(text).__name__}")
        ids, _ = self.text_ids.encode(text)
        x, lengths = pad_batch([ids])
        x = x.to(next(model.parameters()).device)
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            emb = model.embed(x).detach().requires_grad_(True)
            pooled, attention = model.encode(emb, lengths)
            logits = model.head(pooled)[0]
            probs = logits.detach().float().softmax(-1).cpu()
            if target is None:
                k = int(probs.argmax())
            elif target in self.classes:
                k = self.classes.index(target)
            else:
                raise ValueError(f"target {target!r} is not a class; classes: {self.classes}")
            if attention is not None:
                weights, method = attention[0].detach(), "attention"
            else:
                (grad,) = torch.autograd.grad(logits[k], emb)
                weights, method = grad[0].norm(dim=-1), "saliency"
        weights = (weights / weights.sum().clamp_min(1e-12)).float().cpu().tolist()
        return {"tokens": self.text_ids.tokens(text), "weights": weights, "method": method,
                "label": self.classes[int(probs.argmax())], "target": self.classes[k],
                "probabilities": dict(zip(map(str, self.classes), probs.tolist(),
                                          strict=True))}  # fmt: skip

    def _ready(self) -> ClassifierNet:
        if self.model is None:
            raise ValueError("this TextClassifier is not trained yet: call fit() or load()")
        self.model.eval()
        return self.model

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model directory (config.json, model.safetensors, metrics.json)."""
        model = self._ready()
        cw = self.class_weights
        config = {
            "classes": self.classes, "text": self.text_ids.to_dict(),
            "text_options": self.text_options, "model": model.config.to_dict(),
            "class_weights": list(cw.items()) if isinstance(cw, dict) else cw,
            "pretrained": self.pretrained,
            "lr_decay": self.lr_decay, "gradual_unfreeze": self.gradual_unfreeze,
            "adversarial": self.adversarial, "bucket": self.bucket,
            "train": self.train_config.to_dict() if self.train_config else None,
        }  # fmt: skip
        metrics = {k: v for k, v in self.metrics.items() if k != "history"}
        return io.save_model_dir(path, task=TASK, config=config, model=model, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        """Load a model directory written by :meth:`save` (no pickle is ever read)."""
        config = io.read_config(path, task=TASK)
        with io.damaged_config(path):  # an entry missing, unknown or mistyped: one line
            net_cfg = ClassifierConfig(**config["model"])
            self = cls.__new__(cls)
            self.text_options = config["text_options"]
            self.model_options = {k: v for k, v in net_cfg.to_dict().items()
                                  if k not in ("vocab_size", "num_classes")}  # fmt: skip
            cw = config.get("class_weights")
            self.class_weights = dict(cw) if isinstance(cw, list) else cw
            self.pretrained = config.get("pretrained")
            self.lr_decay = config.get("lr_decay")
            self.gradual_unfreeze = config.get("gradual_unfreeze", False)
            self.adversarial = config.get("adversarial", 0.0)
            self.bucket = config.get("bucket", 0)
            self.classes = config["classes"]
            self.text_ids = TextIds.from_dict(config["text"])
            self.model = ClassifierNet(net_cfg)
            self.train_config = TrainConfig.from_dict(config.get("train"))
        io.load_weights(path, self.model)
        self.model.eval()
        self.metrics = io.read_metrics(path)
        return self


# ---------------------------------------------------------------------- helpers
def _texts_and_labels(texts: Any, labels: Any, what: str, read: dict) -> tuple[list, list]:
    if labels is None:
        if isinstance(texts, (str, os.PathLike)):
            return read_labeled(texts, **read)
        raise ValueError(f"expected {what} labels with the texts (or a file path as texts)")
    texts = _as_text_list(texts)
    labels = list(labels)
    if len(texts) != len(labels):
        raise ValueError(f"expected as many {what} labels as texts, got {len(labels)} labels "
                         f"for {len(texts)} texts")  # fmt: skip
    if not texts:
        raise ValueError(f"the {what} data is empty")
    return texts, [as_label(v, f"{what} label {i}") for i, v in enumerate(labels)]


def _as_text_list(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise ValueError("expected a list of texts, got one str; wrap it: [text]")
    texts = list(texts)
    bad = next((t for t in texts if not isinstance(t, str)), None)
    if bad is not None:
        raise ValueError(f"expected every text to be a str, got {type(bad).__name__}: {bad!r}")
    return texts


def _stratified_holdout(labels: list, fraction: float, seed: int) -> list[int]:
    """Indices of a validation part holding ``fraction`` of each class (at least one text of
    every class that has two or more), so that no class leaves training altogether."""
    rng = random.Random(seed)
    by_class: dict[Any, list[int]] = {}
    for i, v in enumerate(labels):
        by_class.setdefault(v, []).append(i)
    held: list[int] = []
    for members in by_class.values():
        if len(members) >= 2:
            rng.shuffle(members)
            held += members[: min(len(members) - 1, max(1, round(len(members) * fraction)))]
    return sorted(held)


def _no_label_matches(what: str, labels: list, classes: list) -> str:
    seen = sorted({repr(v) for v in labels})[:5]
    return (
        f"none of the {what} labels is a class of the model: got {', '.join(seen)}, "
        f"the classes are {classes}; check --label-col and that the labels are written "
        "the same way (1 is not '1')"
    )


def _classes(labels: list) -> list:
    classes = sorted(set(labels), key=lambda v: (type(v).__name__, v))
    if len(classes) < 2:
        raise ValueError(f"expected at least 2 different labels to learn, got {classes}")
    return classes


def _make_loss(weights: list[float] | None):
    w = None if weights is None else torch.tensor(weights)

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        weight = None if w is None else w.to(logits.device)
        return F.cross_entropy(logits.float(), y, weight=weight), int(y.numel())

    return loss_fn


def _train_batches(ids: list[list[int]], y: torch.Tensor, batch_size: int, seed: int,
                   bucket: int = 0) -> Batches:  # fmt: skip
    """Shuffled every epoch (seeded); each DDP rank takes every world-th example.

    ``bucket`` > 0: batches of similar lengths (less padding, so fewer recurrent steps per
    batch): the shuffled texts are taken ``bucket`` batches' worth at a time, sorted by
    length and cut into batches, and the batches of the epoch are shuffled. Each epoch
    still holds every text once, in as many batches.
    """

    def make_epoch(epoch: int, rank: int, world: int):
        gen = torch.Generator().manual_seed(seed + epoch)
        mine = torch.randperm(len(ids), generator=gen)[rank::world].tolist()
        if bucket:  # pools are whole batches, so no batch straddles two pools
            pool = batch_size * bucket
            pools = (mine[p : p + pool] for p in range(0, len(mine), pool))
            mine = [i for part in pools for i in sorted(part, key=lambda i: len(ids[i]))]
        chunks = [mine[s : s + batch_size] for s in range(0, len(mine), batch_size)]
        if bucket:
            chunks = [chunks[i] for i in torch.randperm(len(chunks), generator=gen).tolist()]
        for chunk in chunks:
            yield pad_batch([ids[i] for i in chunk]), y[chunk]

    def length(rank: int, world: int) -> int:
        return math.ceil(len(range(rank, len(ids), world)) / batch_size)

    return Batches(make_epoch, length)


def _eval_batches(ids: list[list[int]], y: torch.Tensor, batch_size: int) -> list:
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    return [(pad_batch([ids[i] for i in order[s : s + batch_size]]),
             y[order[s : s + batch_size]]) for s in range(0, len(order), batch_size)]  # fmt: skip


def _warn(message: str) -> None:
    print(f"rnnkit: warning: {message}", file=sys.stderr, flush=True)


__all__ = ["TextClassifier"]
