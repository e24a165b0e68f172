r"""Synthetic long-range tasks: the standard tests of memory in recurrent networks.

- :func:`adding_problem` (Hochreiter & Schmidhuber 1997, experiment 4; the variant of Le,
  Jaitly & Hinton 2015 and Arjovsky, Shah & Bengio 2016): each step carries a random number
  in ``[0, 1)`` and a marker; exactly two steps are marked, one in each half of the
  sequence, and the target is the sum of the two marked numbers. Predicting the mean, 1,
  scores :math:`\mathrm{Var}(u_1 + u_2) = 2/12 \approx 0.167` (:data:`ADDING_TRIVIAL_MSE`).
- :func:`copy_memory` (Arjovsky, Shah & Bengio 2016, section 4.1): ten symbols from
  ``1..8``, ``T`` blanks (``0``), with the delimiter ``9`` at the last blank, then ten more
  blanks during which the ten symbols must be reproduced. Predicting blanks, then the
  symbols uniformly, scores :math:`10 \log 8 / (T + 20)` nats per step
  (:func:`copy_memory_baseline`).
- :func:`sequential_digits` (the 8x8 digits bundled with scikit-learn, 1797 images, read
  one pixel per step, T = 64): the small-scale analogue of sequential MNIST (Le et al.
  2015), optionally with a fixed random permutation of the pixels ("permuted"), which
  spreads dependencies over the whole sequence. Majority class: about 10% accuracy.

All generators are deterministic under ``seed`` and return float32 inputs ``(N, T, D)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

ADDING_TRIVIAL_MSE = 1.0 / 6.0  # the variance of u1 + u2, u ~ U(0, 1)
COPY_SYMBOLS = 8  # symbols 1..8; 0 is the blank and 9 the delimiter
COPY_LENGTH = 10


def _check_positive(name: str, v: int, minimum: int = 1) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")


def adding_problem(n: int, T: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` sequences of the adding problem of length ``T``.

    Returns:
        ``x (n, T, 2)``: channel 0 the numbers ``U(0, 1)``, channel 1 the markers (two ones
        per sequence, one in ``[0, T/2)`` and one in ``[T/2, T)``); ``y (n, 1)`` the sum of
        the two marked numbers.
    """
    _check_positive("n", n)
    _check_positive("T", T, 2)
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n, T, generator=g)
    half = T // 2
    first = torch.randint(0, half, (n,), generator=g)
    second = torch.randint(half, T, (n,), generator=g)
    markers = torch.zeros(n, T)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)
    return torch.stack([values, markers], dim=-1), y


def copy_memory(n: int, T: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` sequences of the copy-memory task with ``T`` blanks (total length ``T + 20``).

    Returns:
        ``x (n, T + 20)`` and ``y (n, T + 20)``, token ids in ``0..9`` (0 blank, 1-8 the
        symbols, 9 the delimiter); feed ``x`` one-hot or through an embedding and train
        with cross-entropy at every step.
    """
    _check_positive("n", n)
    _check_positive("T", T)
    g = torch.Generator().manual_seed(seed)
    k = COPY_LENGTH
    symbols = torch.randint(1, COPY_SYMBOLS + 1, (n, k), generator=g)
    x = torch.zeros(n, T + 2 * k, dtype=torch.long)
    y = torch.zeros(n, T + 2 * k, dtype=torch.long)
    x[:, :k] = symbols
    x[:, T + k - 1] = COPY_SYMBOLS + 1
    y[:, T + k :] = symbols
    return x, y


def copy_memory_baseline(T: int) -> float:
    """Cross-entropy (nats per step) of the memoryless strategy: blanks, then guessing."""
    return COPY_LENGTH * math.log(COPY_SYMBOLS) / (T + 2 * COPY_LENGTH)


def sequential_digits(permute: bool = False, seed: int = 0) -> tuple[Tensor, Tensor]:
    """scikit-learn's 8x8 digits, one pixel per step: ``x (1797, 64, 1)`` in ``[0, 1]``,
    ``y (1797,)`` class ids. ``permute``: one fixed random pixel order (from ``seed``)."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    digits = load_digits()
    x = torch.as_tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.as_tensor(digits.target, dtype=torch.long)
    if permute:
        order = torch.randperm(64, generator=torch.Generator().manual_seed(seed))
        x = x[:, order]
    return x.unsqueeze(-1), y


def split(x: Tensor, y: Tensor, test_fraction: float = 0.2, seed: int = 0):
    """A seeded shuffle split: ``(x_train, y_train), (x_test, y_test)``."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    n_test = max(1, round(x.shape[0] * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


__all__ = [
    "ADDING_TRIVIAL_MSE",
    "adding_problem",
    "copy_memory",
    "copy_memory_baseline",
    "sequential_digits",
    "split",
]
