"""Training batches that Lightning can checkpoint and resume in the middle of an epoch."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class Batches:
    """An iterable of training batches, resumable mid-epoch.

    ``make_epoch(epoch, rank, world_size)`` returns the batches of one epoch for one rank
    (so DDP ranks each get their own contiguous shard); ``length(rank, world_size)`` their
    number. The trainer records how many batches of the epoch it has *processed*
    (``consumed``: not what the loader prefetched), and Lightning saves it in checkpoints
    through :meth:`state_dict`, so a resumed run continues with the very next batch.
    The data epoch is counted here, not taken from Lightning, whose epoch counter moves on
    when a run is interrupted mid-epoch. Lightning restores this state only when it resumes
    inside an epoch, its last batch included (it then asks for the rest of that epoch, which
    may be nothing); a run resumed after a completed epoch starts at Lightning's next epoch
    (:meth:`start_at`).

    Every rank yields the same number of batches, the fewest any rank has (a rank's extra
    batch of the epoch is left out, as ``DistributedSampler(drop_last=True)`` leaves out
    examples). DDP needs this: a rank with one batch more ends its epoch, and so validates
    or stops, one step after the others, and the ranks then wait for each other forever.
    """

    def __init__(
        self,
        make_epoch: Callable[[int, int, int], Iterable[Any]],
        length: Callable[[int, int], int],
    ) -> None:
        self.make_epoch, self.length = make_epoch, length
        self._lengths: dict[int, int] = {}  # world size -> batches per rank (read every step)
        self.rank, self.world_size = 0, 1
        self.epoch = -1  # the data epoch being iterated (-1: none yet)
        self.consumed = 0  # batches of that epoch processed by the trainer
        self._resume: tuple[int, int] | None = None  # (epoch, consumed) from a checkpoint

    def bind(self, rank: int, world_size: int) -> None:
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        w = self.world_size
        if w not in self._lengths:
            self._lengths[w] = min(self.length(r, w) for r in range(w))
        return self._lengths[w]

    def __iter__(self) -> Iterator[Any]:
        # A generator: nothing below runs (no epoch is counted) until the first batch is asked.
        skip = 0
        if self._resume is not None:
            self.epoch, skip = self._resume
            self._resume = None
            if skip >= len(self):  # every batch was processed, yet Lightning had not closed
                self.consumed = skip  # the epoch: it asks for the rest (none), then the next
                return
        else:
            self.epoch += 1
        it = iter(self.make_epoch(self.epoch, self.rank, self.world_size))
        self.consumed = skip
        for _ in range(skip):
            next(it, None)
        yield from itertools.islice(it, len(self) - skip)

    def start_at(self, epoch: int) -> None:
        """A run resumed after a completed epoch (Lightning restored no state here): the first
        epoch iterated is ``epoch``, Lightning's, not 0."""
        if self._resume is None and self.epoch == -1:
            self.epoch = epoch - 1

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "consumed": self.consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._resume = (int(state.get("epoch", 0)), int(state.get("consumed", 0)))


class FixedBatches:
    """The same batches every time (validation sets): one iterable, not a list, because
    Lightning reads a list as several dataloaders."""

    def __init__(self, batches: Iterable[Any]) -> None:
        self.batches = list(batches)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.batches)
