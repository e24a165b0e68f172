"""CTC decoding against brute-force enumeration of every alignment, the n-gram LM, WER/CER."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from rnnkit.tasks._ctc import CTCDecoder, NGramLM, TextGeneratorLM, error_rates, greedy_decode

VOCAB = ["", "a", "b", " "]  # blank, two letters, the word separator


def random_log_probs(T: int, V: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (T, V))
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    out, prev = [], 0
    for k in path:
        if k != 0 and k != prev:
            out.append(k)
        prev = k
    return tuple(out)


def brute_force(lp: np.ndarray) -> dict[tuple[int, ...], float]:
    """log P(labels | x) for every label sequence: a sum over all V^T alignments."""
    T, V = lp.shape
    scores: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(V), repeat=T):
        s = sum(lp[t, k] for t, k in enumerate(path))
        y = collapse(path)
        scores[y] = np.logaddexp(scores.get(y, -math.inf), s)
    return scores


class TableLM:
    """A toy word LM: fixed log-probabilities by (history tail, word)."""

    end = "</s>"

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.table: dict = {}

    def log_prob(self, word, history):
        key = (history[-1:] if history else (), word)
        if key not in self.table:
            self.table[key] = float(np.log(self.rng.uniform(0.05, 0.9)))
        return self.table[key]


def fused_brute_force(lp, lexicon, lm, weight, bonus) -> dict[tuple[int, ...], float]:
    """The fused score of every label sequence that spells words of the lexicon."""
    out = {}
    for labels, ctc in brute_force(lp).items():
        text = "".join(VOCAB[k] for k in labels)
        if text.startswith(" ") or "  " in text:
            continue  # an empty word
        words = text[:-1].split(" ") if text.endswith(" ") else text.split(" ")
        words = [w for w in words if w]
        if not all(w in lexicon for w in words):
            continue
        score = ctc
        for i, w in enumerate(words):
            score += weight * lm.log_prob(w, tuple(words[:i])) + bonus
        score += weight * lm.log_prob(lm.end, tuple(words))
        out[labels] = score
    return out


@pytest.mark.parametrize("seed", range(4))
def test_prefix_beam_search_equals_brute_force(seed):
    lp = random_log_probs(T=5, V=len(VOCAB), seed=seed)
    exact = brute_force(lp)
    # a beam wide enough to keep every prefix is exact: every sequence with its probability
    hyps = CTCDecoder(VOCAB, beam=10_000, token_min_logp=None).beam_search(lp)
    got = dict(hyps)
    assert set(got) == set(exact)
    for labels, score in exact.items():
        assert got[labels] == pytest.approx(score, abs=1e-9)
    best = max(exact, key=exact.get)
    assert hyps[0][0] == best
    # and the probabilities of all label sequences sum to one
    assert np.logaddexp.reduce(list(exact.values())) == pytest.approx(0.0, abs=1e-9)
    # a narrow beam still finds the best sequence on these easy cases, never a better one
    narrow = CTCDecoder(VOCAB, beam=8, token_min_logp=None).beam_search(lp)
    assert narrow[0][1] <= exact[best] + 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_word_list_and_lm_fusion_equal_brute_force(seed):
    lp = random_log_probs(T=6, V=len(VOCAB), seed=10 + seed)
    lexicon, weight, bonus = {"a", "ab", "ba"}, 0.7, 0.4
    lm = TableLM(seed)
    exact = fused_brute_force(lp, lexicon, lm, weight, bonus)
    dec = CTCDecoder(VOCAB, beam=100_000, lexicon=lexicon, lm=lm, lm_weight=weight,
                     word_bonus=bonus, token_min_logp=None)  # fmt: skip
    got = dict(dec.beam_search(lp))
    assert set(got) == set(exact)
    for labels, score in exact.items():
        assert got[labels] == pytest.approx(score, abs=1e-9)
    best = max(exact, key=exact.get)
    assert dec.decode(lp) == dec.text(best)
    assert set(dec.decode(lp).split()) <= lexicon


def test_greedy_merges_repeats_and_drops_blanks():
    path = [1, 1, 0, 1, 2, 2, 3, 0, 0, 2]
    lp = np.log(np.eye(4)[path] * 0.97 + 0.01)
    assert greedy_decode(lp) == [1, 1, 2, 3, 2]
    assert CTCDecoder(VOCAB).decode(lp) == "aab b"


def test_matches_torch_ctc_loss():
    """The prefix search's sequence probability is CTC's: -log P equals torch's CTC loss."""
    lp = random_log_probs(T=5, V=len(VOCAB), seed=7)
    hyps = dict(CTCDecoder(VOCAB, beam=10_000, token_min_logp=None).beam_search(lp))
    for labels in [(1,), (1, 2), (2, 2), (1, 3, 2)]:
        loss = torch.nn.functional.ctc_loss(torch.tensor(lp)[:, None], torch.tensor([labels]),
                                            torch.tensor([5]), torch.tensor([len(labels)]),
                                            reduction="sum")  # fmt: skip
        assert -hyps[labels] == pytest.approx(float(loss), abs=1e-6)


def test_ngram_lm_is_a_distribution():
    lm = NGramLM(order=2).fit(["one two three", "two three", "three one"])
    words = ["one", "two", "three", "</s>"]
    for history in [(), ("one",), ("three",), ("unseen",)]:
        total = sum(math.exp(lm.log_prob(w, history)) for w in words)
        total += math.exp(lm.log_prob("<unk>", history))  # the unseen-word mass
        assert total == pytest.approx(1.0, abs=1e-9)
    assert lm.log_prob("three", ("two",)) > lm.log_prob("one", ("two",))
    with pytest.raises(ValueError, match="order"):
        NGramLM(order=0)


def test_error_rates():
    m = error_rates(["one two", "three", ""], ["one two", "four", "five six"])
    assert m["wer"] == pytest.approx(3 / 5)  # one substitution, two deletions
    assert error_rates(["abc"], ["abd"])["cer"] == pytest.approx(1 / 3)


def test_a_word_level_text_generator_is_a_fusion_lm(tmp_path):
    from rnnkit.tasks.textgen import TextGenerator

    text = "one two three\ntwo three four\n" * 40
    gen = TextGenerator(level="word", hidden_size=16, num_layers=1, bptt=8)
    gen.fit(text, max_steps=20, batch_size=4, progress=False, lr=1e-2, warmup_steps=2)
    lm = TextGeneratorLM(gen)
    words = gen.tokenizer.words  # <eos>, <unk>, the words
    for history in [(), ("one",), ("two", "three")]:
        total = sum(math.exp(lm.log_prob(w, history)) for w in words)
        assert total == pytest.approx(1.0, abs=1e-6)
    assert lm.log_prob("two", ("one",)) > lm.log_prob("one", ("one",))  # it learned the text
    vocab = ["", *"efhnortuw", " "]
    lp = np.full((12, len(vocab)), -9.0)
    for t, ch in enumerate("one two"):
        lp[t, vocab.index(ch)] = -0.01
    lp[7:, 0] = -0.01
    dec = CTCDecoder(vocab, beam=8, lm=lm, lm_weight=0.5, lexicon=["one", "two", "three"])
    assert dec.decode(lp) == "one two"
    with pytest.raises(ValueError, match="word-level"):
        TextGeneratorLM(TextGenerator(level="char"))
