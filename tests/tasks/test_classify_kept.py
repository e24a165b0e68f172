"""What a classifier keeps and reports (a second audit of the classify task): the model kept
is the one ``best_val_accuracy`` describes, also when the divergence guard stops the run;
``best_val_loss`` is that model's; ``val_batches`` validates on a random part, not on the
shortest texts; and smaller checks found beside them."""

from __future__ import annotations

import math
import random

import pytest
import torch

import rnnkit.tasks.classify as classify
from rnnkit.tasks.classify import TextClassifier

SMALL = {"hidden_size": 16, "embedding_size": 16, "dropout": 0.1}


def _reviews(n: int, seed: int, noise: float = 0.3) -> tuple[list[str], list[str]]:
    """One sentiment word among filler; a ``noise`` share of the labels flipped."""
    rng = random.Random(seed)
    pos, neg = ["good", "great", "fine", "fun"], ["bad", "dull", "awful", "slow"]
    filler = ["the", "a", "film", "plot", "is", "was", "very"]
    texts, labels = [], []
    for i in range(n):
        words = [rng.choice(filler) for _ in range(rng.randint(3, 12))]
        words.append(rng.choice(pos if i % 2 else neg))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append("pos" if (i % 2) ^ (rng.random() < noise) else "neg")
    return texts, labels


def test_a_run_the_guard_stops_keeps_its_best_validated_model(monkeypatch):
    """The loss turns NaN from the 95th training step; the guard rolls back and stops. The
    model kept was the rolled-back one (0.48 here) while best_val_accuracy said 0.65."""
    make_loss = classify._make_loss

    def poisoned(weights):
        loss_fn, calls = make_loss(weights), [0]

        def fn(logits, y):
            loss, n = loss_fn(logits, y)
            if torch.is_grad_enabled():
                calls[0] += 1
                if calls[0] >= 95:
                    loss = loss * math.nan
            return loss, n

        return fn

    monkeypatch.setattr(classify, "_make_loss", poisoned)
    (texts, labels), (vt, vl) = _reviews(300, 0), _reviews(100, 1)
    run = {"max_steps": 200, "batch_size": 16, "val_every": 10, "guard_max_strikes": 1}
    clf = TextClassifier(**SMALL).fit(texts, labels, vt, vl, progress=False, **run)
    m = clf.metrics
    assert "stopped_reason" in m
    assert clf.evaluate(vt, vl)["accuracy"] == pytest.approx(m["best_val_accuracy"])
    best = [h for h in m["history"] if h["step"] == m["best_step"]]
    assert m["best_val_loss"] == best[-1]["val_loss"]  # the kept model's, not the lowest


def test_val_batches_validate_on_a_random_part_not_the_shortest_texts(monkeypatch):
    seen = []
    original = classify._eval_batches

    def spy(ids, y, batch_size):
        seen.append([len(x) for x in ids])
        return original(ids, y, batch_size)

    monkeypatch.setattr(classify, "_eval_batches", spy)
    texts, labels = _reviews(200, 0)
    rng = random.Random(2)
    vt = [" ".join(["film"] * rng.randint(1, 60)) + " good" for _ in range(600)]
    vl = ["pos"] * 600
    TextClassifier(**SMALL).fit(texts, labels, vt, vl, max_steps=2, batch_size=16,
                                val_batches=1, progress=False)  # fmt: skip
    lengths = sorted(len(t.split()) + 1 for t in vt)  # + <eos>
    shortest = sum(lengths[:256]) / 256
    assert len(seen[0]) == 256
    assert sum(seen[0]) / 256 > shortest + 10  # a random part: about the mean, 32, not 17


def test_history_epochs_are_the_data_epochs_of_the_weights():
    """19 batches per epoch, 25 steps: validations at step 19 (epoch 0) and at the end, step
    25 (epoch 1); the end was reported as epoch 2 (Lightning had closed the loop)."""
    texts, labels = _reviews(300, 0)
    clf = TextClassifier(**SMALL).fit(texts, labels, *_reviews(40, 1), max_steps=25,
                                      batch_size=16, progress=False)  # fmt: skip
    assert [(h["step"], h["epoch"]) for h in clf.metrics["history"]] == [(19, 0), (25, 1)]


def test_predict_takes_what_predict_proba_takes():
    texts, labels = _reviews(40, 0)
    clf = TextClassifier(**SMALL).fit(texts, labels, max_steps=1, batch_size=8, progress=False)
    assert clf.predict(t for t in texts[:3]) == clf.predict(texts[:3])  # was a TypeError
    assert len(clf.predict_proba(t for t in texts[:3])) == 3


def test_layer_norm_on_a_plain_rnn_is_refused_when_built():
    with pytest.raises(ValueError, match=r"layer_norm is for cell='lstm' or 'gru'"):
        TextClassifier(cell="rnn", layer_norm=True)  # was a TypeError in fit
