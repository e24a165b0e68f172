"""Language-model batching: exact arithmetic of streams, windows, shards and chunks.

``ids = arange(N)`` makes every check readable: a token's value is its position, so "y is x
shifted by one" is ``y == x + 1`` and coverage is a comparison with ``arange``.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils.data import DataLoader

from rnnkit.data import RandomWindows, StreamWindows, batchify, chunk_windows, shard_stream


def test_batchify_contiguous_rows_drop_tail():
    stream = batchify(torch.arange(23), 4)
    assert stream.shape == (4, 5) and stream.dtype == torch.long
    assert torch.equal(stream, torch.arange(20).view(4, 5))
    assert batchify([5, 6, 7, 8], 2).tolist() == [[5, 6], [7, 8]]
    with pytest.raises(ValueError, match=r"at least 2 \* batch_size = 8 tokens, got 7"):
        batchify(torch.arange(7), 4)
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        batchify(torch.zeros(2, 3), 1)


def test_stream_windows_shapes_shift_and_continuity():
    stream = batchify(torch.arange(44), 4)  # (4, 11): 10 input steps per row
    windows = StreamWindows(stream, bptt=3)
    got = list(windows)
    assert len(windows) == len(got) == 4
    assert [x.shape for x, _ in got] == [(4, 3), (4, 3), (4, 3), (4, 1)]
    for x, y in got:
        assert torch.equal(y, x + 1)
    # window k + 1 starts where window k ended, in every row: a carried state stays valid
    for (x0, _), (x1, _) in itertools.pairwise(got):
        assert torch.equal(x1[:, 0], x0[:, -1] + 1)
    assert torch.equal(torch.cat([x for x, _ in got], 1), stream[:, :-1])
    assert torch.equal(torch.cat([y for _, y in got], 1), stream[:, 1:])
    assert len(list(windows)) == 4  # re-iterable, same epoch after epoch


def test_stream_windows_exact_multiple_and_dataloader():
    stream = batchify(torch.arange(14), 2)  # (2, 7): 6 inputs, bptt 3 -> 2 full windows
    windows = StreamWindows(stream, bptt=3)
    assert len(windows) == 2
    loaded = list(DataLoader(windows, batch_size=None))
    direct = list(StreamWindows(stream, bptt=3))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(loaded, direct))


def test_stream_windows_random_offset():
    stream = batchify(torch.arange(2 * 101), 2)  # (2, 101)
    windows = StreamWindows(stream, bptt=7, random_offset=True, seed=3)
    offsets = []
    for _ in range(12):
        offset, n = windows.offset(), len(windows)
        got = list(windows)
        assert len(got) == n and 0 <= offset < 7
        assert torch.equal(torch.cat([x for x, _ in got], 1), stream[:, offset:-1])
        assert torch.equal(torch.cat([y for _, y in got], 1), stream[:, offset + 1 :])
        offsets.append(offset)
    assert len(set(offsets)) > 1  # it does move between epochs
    again = StreamWindows(stream, bptt=7, random_offset=True, seed=3)
    assert [again.offset(e) for e in range(12)] == offsets  # reproducible from the seed
    again.set_epoch(5)
    assert next(iter(again))[0][0, 0].item() == offsets[5]
    short = StreamWindows(batchify(torch.arange(3), 1), bptt=10, random_offset=True)
    assert all(short.offset(e) in (0, 1) for e in range(20))  # keeps at least one target
    assert StreamWindows(stream, bptt=7).offset() == 0


def test_stream_windows_errors():
    with pytest.raises(ValueError, match=r"shape \(B, L\)"):
        StreamWindows(torch.arange(10), bptt=3)
    with pytest.raises(ValueError, match=r"bptt to be a positive int, got 0"):
        StreamWindows(torch.zeros(2, 5, dtype=torch.long), bptt=0)


def test_shard_stream_equal_contiguous_pieces():
    ids = torch.arange(103)
    shards = [shard_stream(ids, r, 4) for r in range(4)]
    assert [s.numel() for s in shards] == [25] * 4
    assert torch.equal(torch.cat(shards), torch.arange(100))
    with pytest.raises(ValueError, match=r"0 <= rank < world_size = 4, got 4"):
        shard_stream(ids, 4, 4)
    with pytest.raises(ValueError, match=r"at least world_size = 4 tokens, got 3"):
        shard_stream(torch.arange(3), 0, 4)


def test_random_windows_shapes_range_and_seed():
    ids = torch.arange(1000) + 7
    windows = RandomWindows(ids, block=16, batch_size=8, seed=1)
    assert len(windows) == 1000 // (16 * 8)
    epoch0 = list(windows)
    assert len(epoch0) == len(windows)
    for x, y in epoch0:
        assert x.shape == y.shape == (8, 16)
        assert torch.equal(x[:, 1:], x[:, :-1] + 1) and torch.equal(y, x + 1)
        assert x.min() >= 7 and y.max() <= 1006
    epoch1 = list(windows)
    assert not torch.equal(epoch0[0][0], epoch1[0][0])  # fresh windows each epoch
    same = RandomWindows(ids, block=16, batch_size=8, seed=1)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(epoch0, same))
    same.set_epoch(1)
    assert torch.equal(next(iter(same))[0], epoch1[0][0])


def test_random_windows_reach_both_ends():
    ids = torch.arange(6)  # block 4: starts 0 and 1 only; y must end on the last token
    windows = RandomWindows(ids, block=4, batch_size=64, seed=0, num_batches=2)
    starts = torch.cat([x[:, 0] for x, _ in windows])
    assert set(starts.tolist()) == {0, 1}
    with pytest.raises(ValueError, match=r"at least block \+ 1 = 7 tokens, got 6"):
        RandomWindows(ids, block=6, batch_size=1)


@pytest.mark.parametrize("n, block, rows", [(10, 4, 3), (9, 4, 2), (2, 5, 1)])
def test_chunk_windows_cover_every_target_once(n, block, rows):
    ids = torch.arange(n) + 1
    x, y = chunk_windows(ids, block)
    assert x.shape == y.shape == (rows, block)
    valid = y != -100
    assert torch.equal(y[valid], ids[1:]) and torch.equal(x[valid], ids[:-1])
    assert torch.equal(x[:, 0], ids[torch.arange(rows) * block])  # non-overlapping starts
    assert int((~valid).sum()) == rows * block - (n - 1)
    with pytest.raises(ValueError, match=r"at least 2 tokens"):
        chunk_windows(ids[:1], block)


def test_chunk_windows_padding_is_ignored_by_cross_entropy():
    ids = torch.arange(10)
    x, y = chunk_windows(ids, 4)
    logits = torch.randn(*x.shape, 10)
    loss = torch.nn.functional.cross_entropy(logits.view(-1, 10), y.view(-1), reduction="sum")
    valid = y.view(-1) != -100
    expected = torch.nn.functional.cross_entropy(
        logits.view(-1, 10)[valid], y.view(-1)[valid], reduction="sum"
    )
    torch.testing.assert_close(loss, expected)
