"""The adaptive softmax output layer of the word language model (rnnkit.tasks._lm)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.tasks._lm import AdaptiveSoftmax, LanguageModel, LMConfig, lm_loss
from rnnkit.tasks.textgen import TextGenerator


@pytest.fixture
def head():
    torch.manual_seed(0)
    return AdaptiveSoftmax(8, 30, (5, 12, 20)).double()


def test_log_probabilities_are_a_distribution_over_the_whole_vocabulary(head):
    h = torch.randn(4, 7, 8, dtype=torch.float64)
    lp = head(h)
    assert lp.shape == (4, 7, 30)
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(4, 7, dtype=torch.float64))


def test_the_training_loss_equals_the_full_distributions_nll_in_value_and_gradient(head):
    h = torch.randn(50, 8, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 30, (50,))
    y[:3] = torch.tensor([0, 12, 29])  # a head word and the first and last words of clusters
    y[7] = -100  # ignored
    loss, n = head.loss(h, y)
    keep = y != -100
    ref = F.nll_loss(head(h)[keep], y[keep])
    assert n == int(keep.sum()) == 49
    torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-12)
    params = [h, *head.parameters()]
    got = torch.autograd.grad(loss, params)
    want = torch.autograd.grad(ref, params)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


def test_a_cluster_without_targets_is_skipped_and_still_normalised(head):
    h = torch.randn(6, 8, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 4, 0])  # frequent words only
    loss, _ = head.loss(h, y)
    torch.testing.assert_close(loss, F.nll_loss(head(h), y))


def test_tied_language_model_trains_on_features_and_evaluates_log_probabilities():
    torch.manual_seed(0)
    cfg = LMConfig(vocab_size=40, hidden_size=16, num_layers=1, tie_weights=True,
                   adaptive_cutoffs=[10, 25])  # fmt: skip
    model = LanguageModel(cfg)
    assert cfg.adaptive_cutoffs == (10, 25)
    assert model.head.weight is model.embedding.weight
    x, y = torch.randint(0, 40, (3, 9)), torch.randint(0, 40, (3, 9))
    model.train()
    features, _ = model.features(x)
    assert features.shape == (3, 9, 16)
    loss, _ = model.training_loss(x, y)
    torch.testing.assert_close(loss, model.head.loss(features, y)[0])
    loss.backward()
    assert model.embedding.weight.grad is not None
    assert model(x)[0].shape == (3, 9, 40)  # log-probabilities in training mode too
    model.eval()
    with torch.no_grad():
        lp, _ = model(x)
        eval_loss, n = lm_loss(lp, y)
        step_lp, _ = model.step(x[:, 0])
    assert lp.shape == (3, 9, 40)
    torch.testing.assert_close(step_lp, lp[:, 0])
    assert n == 27
    torch.testing.assert_close(eval_loss, loss.detach(), rtol=1e-5, atol=1e-6)  # no dropout


def test_bad_cutoffs_are_clear_errors():
    with pytest.raises(ValueError, match="increasing"):
        LMConfig(vocab_size=40, adaptive_cutoffs=(20, 10))
    with pytest.raises(ValueError, match="increasing"):
        LMConfig(vocab_size=40, adaptive_cutoffs=())
    with pytest.raises(ValueError, match="vocabulary of more than 50"):
        LanguageModel(LMConfig(vocab_size=40, adaptive_cutoffs=(10, 50)))
    with pytest.raises(ValueError, match="increasing"):
        TextGenerator(level="word", adaptive_softmax=[])  # empty is an error, not "off"
    with pytest.raises(ValueError, match="level='word'"):
        TextGenerator(level="char", adaptive_softmax=[10])
