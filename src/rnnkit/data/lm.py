"""Batches for language models: next-token windows over one long token stream.

Two ways to train an RNN language model, and the batching each needs:

- **Stateful, truncated BPTT** (Zaremba et al. 2014, "Recurrent Neural Network
  Regularization", section 4.1): ``batchify`` cuts the stream into ``B`` contiguous rows and
  ``StreamWindows`` walks them ``bptt`` steps at a time. Window ``k + 1`` of row ``b``
  starts exactly where window ``k`` ended, so the trainer may carry the final hidden state of
  one window (detached) into the next. ``shard_stream`` gives each DDP rank its own
  contiguous piece first, so this holds on every rank.
- **Stateless** (nanoGPT): ``RandomWindows`` samples independent windows of ``block`` tokens
  and every window starts from a zero state; ``chunk_windows`` cuts the text into
  non-overlapping windows for evaluation from a zero state.

In every window ``y`` is ``x`` shifted one step ahead in the same stream: ``y[b, t]`` is the
token after ``x[b, t]``. Ids are ``torch.long``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor
from torch.utils.data import IterableDataset


def _as_ids(ids: Tensor | Sequence[int], name: str = "ids") -> Tensor:
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() != 1:
        raise ValueError(f"expected {name} of shape (N,), got {tuple(ids.shape)}")
    return ids


def _positive(value: int, name: str) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"expected {name} to be a positive int, got {value!r}")


def batchify(ids: Tensor | Sequence[int], batch_size: int) -> Tensor:
    """``(N,) -> (batch_size, N // batch_size)``: row ``b`` is the ``b``-th contiguous piece
    of the stream; the last ``N % batch_size`` tokens are dropped (Zaremba et al.)."""
    ids = _as_ids(ids)
    _positive(batch_size, "batch_size")
    L = ids.numel() // batch_size
    if L < 2:
        raise ValueError(
            f"expected at least 2 * batch_size = {2 * batch_size} tokens, got {ids.numel()}; "
            f"use a smaller batch_size or more text"
        )
    return ids[: batch_size * L].view(batch_size, L)


def shard_stream(ids: Tensor | Sequence[int], rank: int, world_size: int) -> Tensor:
    """Rank ``rank``'s contiguous piece of the stream, ``N // world_size`` tokens long, so
    every DDP rank runs the same number of steps (the last ``N % world_size`` are dropped)."""
    ids = _as_ids(ids)
    _positive(world_size, "world_size")
    if not 0 <= rank < world_size:
        raise ValueError(f"expected 0 <= rank < world_size = {world_size}, got {rank}")
    n = ids.numel() // world_size
    if n < 1:
        raise ValueError(f"expected at least world_size = {world_size} tokens, got {ids.numel()}")
    return ids[rank * n : (rank + 1) * n]


class StreamWindows(IterableDataset):
    """``(x, y)`` windows of shape ``(B, t)``, ``t <= bptt``, over a batchified stream
    ``(B, L)``, in order. Consecutive windows continue each row exactly where the previous
    ended, so a carried hidden state stays valid; the last window may be shorter. Every token
    but the first of a row is a target exactly once per epoch (with ``random_offset=False``).

    ``random_offset=True`` starts each epoch at a random offset in ``[0, bptt)`` (the first
    ``offset`` steps are skipped that epoch), so window boundaries move between epochs and
    no token is always the first one after a truncation: the usual remedy when training does
    not carry state, or carries it only within an epoch. The offset of epoch ``e`` is drawn from
    ``seed + e``; the epoch counter advances at each ``iter()`` and can be set with
    ``set_epoch``. ``len()`` is the number of windows of the next epoch.

    Iterate directly, or wrap it as ``DataLoader(windows, batch_size=None)`` (batches are
    already formed; keep ``num_workers=0`` so the epoch counter lives in this process).
    """

    def __init__(self, stream: Tensor, bptt: int, random_offset: bool = False, seed: int = 0):
        super().__init__()
        if not isinstance(stream, Tensor) or stream.dim() != 2:
            shape = tuple(stream.shape) if isinstance(stream, Tensor) else type(stream).__name__
            raise ValueError(f"expected a stream of shape (B, L) (see batchify), got {shape}")
        _positive(bptt, "bptt")
        if stream.shape[1] < 2:
            raise ValueError(f"expected streams of at least 2 steps, got L = {stream.shape[1]}")
        self.stream = stream
        self.bptt = bptt
        self.random_offset = random_offset
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` run epoch ``epoch`` (this picks its random offset)."""
        self.epoch = epoch

    def offset(self, epoch: int | None = None) -> int:
        """Where epoch ``epoch`` (default: the next one) starts in each row."""
        if not self.random_offset:
            return 0
        epoch = self.epoch if epoch is None else epoch
        g = torch.Generator().manual_seed(self.seed + epoch)
        # Keep at least one target: a row of L steps has L - 1 of them.
        return int(torch.randint(min(self.bptt, self.stream.shape[1] - 1), (1,), generator=g))

    def __len__(self) -> int:
        n_inputs = self.stream.shape[1] - 1 - self.offset()
        return -(-n_inputs // self.bptt)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        # Not a generator itself: the epoch advances when iter() is called, not at next().
        start = self.offset()
        self.epoch += 1
        return self._windows(start)

    def _windows(self, start: int) -> Iterator[tuple[Tensor, Tensor]]:
        L = self.stream.shape[1]
        for i in range(start, L - 1, self.bptt):
            t = min(self.bptt, L - 1 - i)
            yield self.stream[:, i : i + t], self.stream[:, i + 1 : i + 1 + t]


class RandomWindows(IterableDataset):
    """Batches ``(x, y)`` of shape ``(batch_size, block)`` at independent uniformly random
    start positions (nanoGPT's ``get_batch``), for stateless training: each window starts
    from a zero hidden state, so the model learns to work from one.

    ``num_batches`` per epoch defaults to ``N // (block * batch_size)`` (at least 1), about
    one pass over the tokens. Epoch ``e`` draws from ``seed + e``; the counter advances at
    each ``iter()`` and can be set with ``set_epoch``, so runs are reproducible.
    """

    def __init__(
        self,
        ids: Tensor | Sequence[int],
        block: int,
        batch_size: int,
        seed: int = 0,
        num_batches: int | None = None,
    ):
        super().__init__()
        self.ids = _as_ids(ids)
        _positive(block, "block")
        _positive(batch_size, "batch_size")
        if self.ids.numel() < block + 1:
            raise ValueError(
                f"expected at least block + 1 = {block + 1} tokens, got {self.ids.numel()}; "
                f"use a smaller block or more text"
            )
        if num_batches is None:
            num_batches = max(1, self.ids.numel() // (block * batch_size))
        _positive(num_batches, "num_batches")
        self.block, self.batch_size, self.seed = block, batch_size, seed
        self.num_batches = num_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        return self._batches(g)

    def _batches(self, g: torch.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        n_starts = self.ids.numel() - self.block  # last start leaves room for y's final token
        steps = torch.arange(self.block)
        for _ in range(self.num_batches):
            starts = torch.randint(n_starts, (self.batch_size, 1), generator=g)
            idx = starts + steps  # (batch_size, block)
            yield self.ids[idx], self.ids[idx + 1]


def chunk_windows(
    ids: Tensor | Sequence[int], block: int, ignore_index: int = -100
) -> tuple[Tensor, Tensor]:
    """Non-overlapping windows ``x, y`` of shape ``(M, block)`` covering the whole text, for
    evaluation from a zero state: row ``m`` holds positions ``[m * block, (m + 1) * block)``
    and every token but the first is a target exactly once. The last row is padded on the
    right (``x`` with 0, ``y`` with ``ignore_index``, which ``cross_entropy`` skips by
    default), so ``M = ceil((N - 1) / block)``; right padding leaves a causal model's
    outputs at the real positions unchanged."""
    ids = _as_ids(ids)
    _positive(block, "block")
    n_inputs = ids.numel() - 1
    if n_inputs < 1:
        raise ValueError(f"expected at least 2 tokens, got {ids.numel()}")
    M = -(-n_inputs // block)
    x = torch.zeros(M * block, dtype=torch.long)
    y = torch.full((M * block,), ignore_index, dtype=torch.long)
    x[:n_inputs] = ids[:-1]
    y[:n_inputs] = ids[1:]
    return x.view(M, block), y.view(M, block)
