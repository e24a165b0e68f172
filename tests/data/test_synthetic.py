"""The synthetic long-range tasks: shapes, structure, and their trivial baselines."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.data import synthetic as S


def test_adding_problem_structure_and_trivial_mse():
    x, y = S.adding_problem(20_000, 50, seed=1)
    assert x.shape == (20_000, 50, 2) and y.shape == (20_000, 1) and x.dtype == torch.float32
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert (markers.sum(1) == 2).all()
    assert (markers[:, :25].sum(1) == 1).all() and (markers[:, 25:].sum(1) == 1).all()
    torch.testing.assert_close(y[:, 0], (values * markers).sum(1))
    # predicting the mean (1.0) scores Var(u1 + u2) = 1/6
    trivial = float(((y - 1.0) ** 2).mean())
    assert trivial == pytest.approx(S.ADDING_TRIVIAL_MSE, abs=0.005)
    assert trivial == pytest.approx(0.167, abs=0.005)
    # deterministic under a seed, different across seeds
    assert torch.equal(S.adding_problem(5, 50, seed=1)[0], S.adding_problem(5, 50, seed=1)[0])
    assert not torch.equal(S.adding_problem(5, 50, seed=1)[0], S.adding_problem(5, 50, seed=2)[0])


def test_copy_memory_structure_and_baseline():
    T = 30
    x, y = S.copy_memory(64, T, seed=0)
    assert x.shape == y.shape == (64, T + 20) and x.dtype == torch.long
    assert ((x[:, :10] >= 1) & (x[:, :10] <= 8)).all()
    assert (
        (x[:, 10 : T + 9] == 0).all() and (x[:, T + 9] == 9).all() and (x[:, T + 10 :] == 0).all()
    )
    assert (y[:, : T + 10] == 0).all() and torch.equal(y[:, T + 10 :], x[:, :10])
    # the memoryless strategy: blanks right, then a uniform guess over 8 symbols
    logits = torch.full((64, T + 20, 10), -1e9)
    logits[:, : T + 10, 0] = 0.0
    logits[:, T + 10 :, 1:9] = 0.0
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 10), y.reshape(-1))
    assert float(ce) == pytest.approx(S.copy_memory_baseline(T), rel=1e-5)
    assert S.copy_memory_baseline(T) == pytest.approx(10 * math.log(8) / (T + 20))


def test_sequential_digits_and_permutation():
    x, y = S.sequential_digits()
    assert x.shape == (1797, 64, 1) and y.shape == (1797,) and x.min() >= 0 and x.max() <= 1
    assert sorted(y.unique().tolist()) == list(range(10))
    majority = float(torch.bincount(y).max()) / len(y)
    assert majority < 0.11  # about 10%: the trivial accuracy
    xp, yp = S.sequential_digits(permute=True, seed=3)
    assert torch.equal(yp, y) and not torch.equal(xp, x)
    assert torch.equal(xp.sort(1).values, x.sort(1).values)  # the same pixels, reordered
    assert torch.equal(S.sequential_digits(permute=True, seed=3)[0], xp)
    (xtr, ytr), (xte, yte) = S.split(x, y, 0.2, seed=0)
    assert len(xte) == len(yte) == 359 and len(xtr) + len(xte) == 1797 and len(ytr) == len(xtr)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: S.adding_problem(0, 10), "n must be"),
        (lambda: S.adding_problem(4, 1), "T must be"),
        (lambda: S.copy_memory(4, 0), "T must be"),
        (lambda: S.split(torch.zeros(3), torch.zeros(3), 1.5), "test_fraction"),
    ],
)
def test_bad_arguments(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()
