"""rnnkit.sampling: greedy, temperature, top-k and top-p, checked by their definitions and by
empirical frequencies of many draws (one call with a large batch of identical rows)."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.sampling import check_options, filter_logits, sample_next

DTYPES = [torch.float32, torch.float64, torch.bfloat16]
# Probabilities with known partial sums: 0.5, 0.8, 0.95, 1.0.
PROBS = [0.5, 0.3, 0.15, 0.05]


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def known_logits(dtype=torch.float32, order=(0, 1, 2, 3)) -> torch.Tensor:
    """(1, 4) logits whose softmax is PROBS, placed at vocabulary ids ``order``."""
    logits = torch.empty(1, 4, dtype=torch.float64)
    logits[0, list(order)] = torch.tensor(PROBS, dtype=torch.float64).log()
    return logits.to(dtype)


def frequencies(ids: torch.Tensor, V: int) -> torch.Tensor:
    return torch.bincount(ids, minlength=V).double() / ids.numel()


@pytest.mark.parametrize("dtype", DTYPES)
def test_temperature_zero_is_argmax(dtype):
    logits = torch.randn(16, 50, generator=seeded()).to(dtype)
    ids = sample_next(logits, temperature=0, top_k=5, top_p=0.5)
    assert ids.dtype == torch.long and ids.shape == (16,)
    torch.testing.assert_close(ids, logits.argmax(-1))


@pytest.mark.parametrize("temperature", [0.3, 1.0, 20.0])
def test_top_k_one_is_greedy_at_any_temperature(temperature):
    logits = torch.randn(64, 30, generator=seeded(1))
    ids = sample_next(logits, temperature=temperature, top_k=1, generator=seeded(2))
    torch.testing.assert_close(ids, logits.argmax(-1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_top_k_restricts_support_to_the_k_largest(dtype):
    V, k = 40, 5
    logits = torch.randn(V, generator=seeded(3)).to(dtype)
    top = set(torch.topk(logits.float(), k).indices.tolist())
    # Temperature 5 flattens the distribution so that every kept id is drawn.
    ids = sample_next(logits.expand(4000, V), temperature=5.0, top_k=k, generator=seeded(4))
    assert set(ids.tolist()) == top
    kept = torch.isfinite(filter_logits(logits, top_k=k))
    assert set(kept.nonzero().flatten().tolist()) == top


def test_top_k_larger_than_vocabulary_keeps_all():
    logits = torch.randn(3, 7, generator=seeded(5))
    torch.testing.assert_close(filter_logits(logits, top_k=100), logits)
    assert filter_logits(logits, top_k=100) is not logits


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("order", [(0, 1, 2, 3), (2, 0, 3, 1)])
@pytest.mark.parametrize(
    ("p", "kept"), [(0.8, 2), (0.81, 3), (0.95, 3), (0.96, 4), (1.0, 4), (1e-9, 1), (0.5, 1)]
)
def test_top_p_keeps_the_smallest_set_reaching_p(dtype, order, p, kept):
    logits = known_logits(dtype, order)
    finite = torch.isfinite(filter_logits(logits, top_p=p))[0]
    expected = torch.zeros(4, dtype=torch.bool)
    expected[list(order[:kept])] = True
    assert finite.tolist() == expected.tolist(), f"p={p}"


def test_top_p_one_keeps_even_negligible_tokens():
    logits = torch.tensor([[0.0, -30.0]])  # the second token has probability ~1e-13
    assert torch.isfinite(filter_logits(logits, top_p=1.0)).all()
    assert torch.isfinite(filter_logits(logits, top_p=0.999)).tolist() == [[True, False]]


def test_top_p_samples_only_from_the_nucleus_in_proportion():
    logits = known_logits().expand(20000, 4)
    freq = frequencies(sample_next(logits, top_p=0.8, generator=seeded(6)), 4)
    # Renormalised nucleus: 0.5 / 0.8 and 0.3 / 0.8.
    torch.testing.assert_close(
        freq, torch.tensor([0.625, 0.375, 0, 0]).double(), atol=0.015, rtol=0
    )


def test_top_k_is_applied_before_top_p():
    # After top_k=2 the probabilities are [0.625, 0.375]: p=0.6 keeps one token. Applied to
    # the original probabilities first, p=0.6 would keep two (0.5 < 0.6).
    finite = torch.isfinite(filter_logits(known_logits(), top_k=2, top_p=0.6))[0]
    assert finite.tolist() == [True, False, False, False]
    ids = sample_next(known_logits().expand(500, 4), top_k=2, top_p=0.6, generator=seeded(7))
    assert set(ids.tolist()) == {0}


def test_filters_are_per_row():
    logits = torch.cat([known_logits(order=(0, 1, 2, 3)), known_logits(order=(3, 2, 1, 0))])
    finite = torch.isfinite(filter_logits(logits, top_p=0.8))
    assert finite.tolist() == [[True, True, False, False], [False, False, True, True]]


def test_seeded_generator_reproduces_draws():
    logits = torch.randn(500, 20, generator=seeded(8))
    a = sample_next(logits, top_k=10, top_p=0.9, generator=seeded(9))
    b = sample_next(logits, top_k=10, top_p=0.9, generator=seeded(9))
    c = sample_next(logits, top_k=10, top_p=0.9, generator=seeded(10))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("temperature", [1.0, 0.25, 4.0])
def test_temperature_scales_the_distribution(temperature):
    probs = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64)
    logits = probs.log().float().expand(40000, 4)
    freq = frequencies(sample_next(logits, temperature=temperature, generator=seeded(11)), 4)
    expected = torch.softmax(probs.log() / temperature, dim=-1)
    torch.testing.assert_close(freq, expected, atol=0.01, rtol=0)


def test_low_temperature_concentrates_mass_on_the_top_token():
    logits = torch.tensor([[2.0, 1.5, 1.0, 0.0]]).expand(5000, 4)
    top_share = [
        frequencies(sample_next(logits, temperature=t, generator=seeded(12)), 4)[0].item()
        for t in (2.0, 1.0, 0.5, 0.1)
    ]
    assert top_share == sorted(top_share) and top_share[-1] > 0.98, top_share
    # Temperatures so small that logits / temperature overflows, or underflows, are greedy.
    wide = torch.tensor([[100.0, 50.0, 0.0]]).expand(100, 3)
    for t in (1e-37, 1e-300):
        torch.testing.assert_close(sample_next(wide, temperature=t), torch.zeros(100).long())


def test_bfloat16_logits_sample_like_float32():
    probs = torch.tensor([0.4, 0.3, 0.2, 0.1])
    logits = probs.log().to(torch.bfloat16).expand(40000, 4)
    ids = sample_next(logits, top_p=0.95, generator=seeded(13))
    assert ids.dtype == torch.long
    # bfloat16 rounds the logits: the frequencies are close to, not equal to, the float32 ones.
    torch.testing.assert_close(frequencies(ids, 4), probs.double(), atol=0.02, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -0.5}, "temperature >= 0"),
        ({"temperature": math.nan}, "finite temperature"),
        ({"temperature": math.inf}, "finite temperature"),
        ({"temperature": "hot"}, "temperature to be a number"),
        ({"top_k": 0}, "top_k to be an integer >= 1"),
        ({"top_k": -3}, "top_k to be an integer >= 1"),
        ({"top_k": 2.5}, "top_k to be an integer >= 1"),
        ({"top_k": True}, "top_k to be an integer >= 1"),
        ({"top_p": 0.0}, r"top_p in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p in \(0, 1\]"),
        ({"top_p": -0.1}, r"top_p in \(0, 1\]"),
        ({"top_p": math.nan}, r"top_p in \(0, 1\]"),
    ],
)
def test_invalid_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_next(torch.randn(2, 5), **kwargs)
    with pytest.raises(ValueError, match=message):  # the same check before any logits exist
        check_options(**kwargs)


@pytest.mark.parametrize(
    ("logits", "message"),
    [
        (torch.randn(5), r"shape \(B, V\), got a torch.float32 tensor of shape \(5,\)"),
        (torch.randn(2, 3, 5), r"shape \(B, V\)"),
        (torch.arange(10).reshape(2, 5), "floating-point logits"),
        ([[0.1, 0.2]], "got a list"),
        (torch.randn(2, 0), "V >= 1"),
    ],
)
def test_invalid_logits_raise(logits, message):
    with pytest.raises(ValueError, match=message):
        sample_next(logits)


def test_filter_logits_validates_too():
    with pytest.raises(ValueError, match="top_k"):
        filter_logits(torch.randn(2, 5), top_k=0)
    with pytest.raises(ValueError, match="floating-point"):
        filter_logits(torch.arange(5), top_k=1)


@pytest.mark.gpu
def test_cuda_logits_with_cuda_generator():
    logits = torch.randn(8, 100, device="cuda")
    gen = torch.Generator(device="cuda").manual_seed(0)
    ids = sample_next(logits, top_k=10, top_p=0.9, generator=gen)
    assert ids.device == logits.device and ids.shape == (8,)
    assert torch.isfinite(filter_logits(logits, top_k=10, top_p=0.9)).gather(1, ids[:, None]).all()
    with pytest.raises(ValueError, match="generator is on cpu"):
        sample_next(logits, generator=torch.Generator())
