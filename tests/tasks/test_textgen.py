"""TextGenerator: short real runs on slices of Tiny Shakespeare and PTB, generation,
persistence, and clear errors."""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.tasks.textgen import TextGenerator

FAST = {
    "max_steps": 120,
    "batch_size": 16,
    "lr": 5e-3,
    "warmup_steps": 10,
    "progress": False,
    "val_every": 40,
    "seed": 0,
}


def real(rel: str) -> Path:
    root = os.environ.get("RNNKIT_DATA_DIR")
    if not root or not (Path(root) / rel).is_file():
        pytest.skip(f"needs RNNKIT_DATA_DIR with {rel} (CI points it at ../shared/data)")
    return Path(root) / rel


def unigram_entropy(ids: list[int]) -> float:
    counts = Counter(ids)
    n = sum(counts.values())
    return -sum(c / n * math.log(c / n) for c in counts.values())


@pytest.fixture(scope="module")
def shakespeare():
    text = real("tinyshakespeare/input.txt").read_text(encoding="utf-8")
    return text[:80_000], text[80_000:88_000]


@pytest.fixture(scope="module")
def char_model(shakespeare, tmp_path_factory):
    train, val = shakespeare
    gen = TextGenerator(level="char", hidden_size=96, num_layers=1, bptt=32)
    out = tmp_path_factory.mktemp("char")
    return gen.fit(train, val, out=out, **FAST), out


def test_char_lm_on_tiny_shakespeare_beats_the_unigram_entropy(char_model, shakespeare):
    gen, _ = char_model
    train, val = shakespeare
    h1 = unigram_entropy(gen.tokenizer.encode(train))
    m = gen.evaluate(val, mode="stream")
    history = [h["val_loss"] for h in gen.metrics["history"]]
    assert history[-1] < history[0], history  # the loss falls
    assert m["loss"] < h1 - 0.4, (m, h1)  # and beats predicting character frequencies
    assert m["bits_per_char"] == pytest.approx(m["loss"] / math.log(2), rel=0.01)
    assert m["perplexity"] == pytest.approx(math.exp(m["loss"]))


def test_model_directory_round_trip(char_model, shakespeare):
    gen, out = char_model
    assert {"config.json", "model.safetensors", "metrics.json"} <= {p.name for p in out.iterdir()}
    again = rnnkit.load(out)
    assert isinstance(again, TextGenerator)
    _, val = shakespeare
    assert again.evaluate(val[:2000]) == gen.evaluate(val[:2000])
    assert again.generate("KING", 40, seed=3) == gen.generate("KING", 40, seed=3)


def test_generation_is_reproducible_and_streams(char_model):
    gen, _ = char_model
    a = gen.generate("ROMEO:", max_new_tokens=60, temperature=0.9, seed=7)
    b = gen.generate("ROMEO:", max_new_tokens=60, temperature=0.9, seed=7)
    c = gen.generate("ROMEO:", max_new_tokens=60, temperature=0.9, seed=8)
    assert a == b and a != c
    assert a.startswith("ROMEO:") and len(a) == len("ROMEO:") + 60
    assert "ROMEO:" + "".join(gen.stream("ROMEO:", 60, 0.9, seed=7)) == a
    greedy = gen.generate("the ", 30, temperature=0)
    assert greedy == gen.generate("the ", 30, temperature=0, seed=99)


def test_windows_and_stream_evaluation_differ_as_context_does(char_model, shakespeare):
    gen, _ = char_model
    _, val = shakespeare
    stream = gen.evaluate(val, mode="stream")["loss"]
    short = gen.evaluate(val, mode="windows", window=8)["loss"]
    assert short > stream  # 8 characters of context are worse than the whole history


def test_prompt_with_unknown_characters_is_a_clear_error(char_model):
    gen, _ = char_model
    with pytest.raises(ValueError, match="unknown"):
        gen.generate("naïve ☃", 5)


def test_word_lm_on_ptb_beats_the_unigram_entropy(tmp_path):
    train = real("ptb/ptb.train.txt").read_text(encoding="utf-8")[:300_000]
    val = real("ptb/ptb.valid.txt").read_text(encoding="utf-8")[:30_000]
    gen = TextGenerator(level="word", hidden_size=64, num_layers=1, bptt=20)
    gen.fit(train, val, **{**FAST, "max_steps": 150, "lr": 1e-2})
    h1 = unigram_entropy(gen.tokenizer.encode(train))
    m = gen.evaluate(val)
    assert m["loss"] < h1, (m, h1)
    text = gen.generate("the company", 12, seed=0)
    assert text.startswith("the company") and len(text.split()) > 2


def test_word_lm_with_adaptive_softmax_learns_and_round_trips(tmp_path):
    train = real("ptb/ptb.train.txt").read_text(encoding="utf-8")[:300_000]
    val = real("ptb/ptb.valid.txt").read_text(encoding="utf-8")[:30_000]
    gen = TextGenerator(level="word", hidden_size=64, num_layers=1, bptt=20, tie_weights=True,
                        adaptive_softmax=(500, 2000))  # fmt: skip
    gen.fit(train, val, out=tmp_path / "m", **{**FAST, "max_steps": 150, "lr": 1e-2})
    assert gen.tokenizer.vocab_size > 2000
    h1 = unigram_entropy(gen.tokenizer.encode(train))
    m = gen.evaluate(val)
    assert m["loss"] < h1, (m, h1)
    back = TextGenerator.load(tmp_path / "m")
    assert back.model.config.adaptive_cutoffs == (500, 2000)
    assert back.evaluate(val)["loss"] == pytest.approx(m["loss"], rel=1e-6)
    assert back.generate("the company", 8, seed=1) == gen.generate("the company", 8, seed=1)


def test_untrained_and_invalid_use_are_clear_errors():
    with pytest.raises(ValueError, match="not trained"):
        TextGenerator().generate("x")
    with pytest.raises(ValueError, match="level"):
        TextGenerator(level="byte")
    with pytest.raises(ValueError, match="empty"):
        TextGenerator().fit("   \n ", "abc", max_steps=1, progress=False)
    with pytest.raises(ValueError, match="unknown training options"):
        TextGenerator().fit("abcdefgh" * 100, max_step=3)
    with pytest.raises(ValueError, match="embedding_init_std"):
        TextGenerator(embedding_init_std=0.0)


@pytest.mark.parametrize(
    ("options", "std"),
    [({"level": "char"}, 1.0), ({"level": "char", "tie_weights": True}, 0.05),
     ({"level": "word"}, 0.1), ({"level": "char", "embedding_init_std": 0.3}, 0.3)],
)  # fmt: skip
def test_embedding_initial_spread_follows_level_and_tying(options, std):
    gen = TextGenerator(hidden_size=64, num_layers=1, **options)
    text = "the quick brown fox jumps over the lazy dog, " * 40 + "".join(map(chr, range(48, 123)))
    gen.fit(text, max_steps=1, lr=1e-9, warmup_steps=1, progress=False)
    assert gen.model.embedding.weight.std().item() == pytest.approx(std, rel=0.15)


FROZEN = Path(__file__).parent.parent / "assets" / "textgen_v1"


def test_a_frozen_format_1_model_directory_keeps_loading():
    import json

    gen = rnnkit.load(FROZEN)
    expected = json.loads((FROZEN / "expected.json").read_text())
    assert (
        gen.generate(expected["prompt"], expected["n"], seed=expected["seed"]) == expected["text"]
    )
    assert gen.evaluate(expected["eval_text"])["loss"] == pytest.approx(expected["loss"], rel=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_residual_stack_steps_as_it_runs_and_carries_its_state(cell):
    import torch

    from rnnkit.tasks._lm import LanguageModel, LMConfig, ResidualStack
    from rnnkit.train.module import _clone_state, _pack_state, _unpack_state, detach_state

    torch.manual_seed(0)
    config = LMConfig(vocab_size=30, cell=cell, hidden_size=24, num_layers=3, residual=True)
    model = LanguageModel(config).eval()
    assert isinstance(model.rnn, ResidualStack) and len(model.rnn.layers) == 3
    x = torch.randint(0, 30, (4, 20))
    whole, state = model(x)
    assert isinstance(state, tuple) and len(state) == 3
    s, steps = None, []
    for t in range(20):  # generation's path: one token at a time with the carried state
        logits, s = model.step(x[:, t], s)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), whole, atol=1e-5, rtol=1e-5)
    first, mid = model(x[:, :7])  # truncated BPTT's path: windows with the state carried
    for carried in (detach_state(mid), _clone_state(mid), _unpack_state(_pack_state(mid))):
        rest, _ = model(x[:, 7:], carried)
        torch.testing.assert_close(torch.cat([first, rest], 1), whole, atol=1e-5, rtol=1e-5)
    # the residual path: with every layer's output zeroed, the input passes straight through
    for layer in model.rnn.layers:
        for p in layer.parameters():
            torch.nn.init.zeros_(p)
    emb = model.embedding(x)
    torch.testing.assert_close(model.features(x)[0], model.rnn.final_norm(emb))


def test_a_residual_char_lm_learns_round_trips_and_refuses_what_it_cannot_do(shakespeare, tmp_path):
    train, val = shakespeare
    gen = TextGenerator(level="char", hidden_size=64, num_layers=2, bptt=32, residual=True)
    gen.fit(train, val, out=tmp_path / "m", **{**FAST, "max_steps": 80})
    history = [h["val_loss"] for h in gen.metrics["history"]]
    h1 = unigram_entropy(gen.tokenizer.encode(train))
    m = gen.evaluate(val, mode="stream")
    assert history[-1] < history[0] and m["loss"] < h1 - 0.3, (history, m, h1)
    back = rnnkit.load(tmp_path / "m")
    assert back.model.config.residual
    assert back.evaluate(val[:2000]) == gen.evaluate(val[:2000])
    assert back.generate("KING", 30, seed=2) == gen.generate("KING", 30, seed=2)
    with pytest.raises(ValueError, match="embedding_size == hidden_size"):
        TextGenerator(hidden_size=64, embedding_size=32, residual=True)
    from rnnkit.tasks._transfer import lm_model_options

    gen.level = "word"  # transfer reads the config: a word-level residual LM
    gen.save(tmp_path / "w")
    with pytest.raises(ValueError, match="residual language model"):
        lm_model_options(tmp_path / "w")


def test_a_reverse_model_is_the_forward_model_of_the_reversed_text(shakespeare, tmp_path):
    train, val = shakespeare[0][:20_000], shakespeare[1][:4_000]
    opts = {**FAST, "max_steps": 12, "val_every": 6}
    size = {"level": "char", "hidden_size": 32, "num_layers": 1, "bptt": 16}
    back = TextGenerator(**size, reverse=True).fit(train, val, out=tmp_path / "back", **opts)
    fwd = TextGenerator(**size).fit(train[::-1], val[::-1], **opts)
    for (name, p), q in zip(back.model.state_dict().items(), fwd.model.state_dict().values()):
        assert torch.equal(p, q), name  # same stream, same seed: the same training
    seen = train[-3_000:]  # evaluate() wants characters the vocabulary has
    assert back.evaluate(seen)["loss"] == pytest.approx(fwd.evaluate(seen[::-1])["loss"], rel=1e-6)
    again = TextGenerator.load(tmp_path / "back")
    assert again.reverse and again.evaluate(seen)["loss"] == pytest.approx(
        back.evaluate(seen)["loss"], rel=1e-6
    )
    # it writes what comes before the prompt; the forward model's sample, read backwards
    text = back.generate("ROMEO:", max_new_tokens=30, seed=3)
    assert text.endswith("ROMEO:") and len(text) == 36
    assert text[:30] == fwd.generate(":OEMOR", max_new_tokens=30, seed=3)[6:][::-1]
    with pytest.raises(ValueError, match="generate"):
        next(back.stream("ROMEO:"))


FRENCH = "Je suis allé à la fête de l'été, où j'ai mangé une crème brûlée. Ça coûte cher !\n" * 20


def test_bpe_generation_keeps_every_character_split_over_tokens(untrained):
    gen = untrained("bpe", FRENCH, bpe_vocab_size=300)
    for seed in range(3):  # untrained: many lone bytes of multi-byte characters
        ids = list(gen._sample("Je ", 80, 1.0, None, None, seed))
        whole = "Je " + gen.tokenizer.decode(ids)
        assert "Je " + "".join(gen.stream("Je ", 80, seed=seed)) == whole
        assert gen.generate("Je ", 80, seed=seed) == whole
    ids = gen.tokenizer.encode("\u4e2d\U0001f642")  # unseen: one token per byte
    assert len(ids) == 7
    assert list(gen._pieces(iter(ids), "")) == ["\u4e2d", "\U0001f642"]  # each when complete


def test_word_generation_puts_a_space_between_the_prompt_and_the_first_word(untrained):
    gen = untrained("word", "the cat sat on the mat\nthe dog ran to the door\n" * 5)
    for seed in range(4):
        text = gen.generate("the cat", 6, seed=seed)
        assert text == "the cat" + "".join(gen.stream("the cat", 6, seed=seed))
        assert text[len("the cat")] in " \n", text
        assert gen.generate("the cat ", 6, seed=seed) == text.replace("the cat\n", "the cat \n")


def test_generation_checks_options_and_prompt_when_called_before_any_text(untrained):
    gen = untrained("char", "abc\n")
    bad = [{"temperature": -1}, {"top_p": 1.5}, {"top_k": 0}, {"max_new_tokens": -1}]
    for options in bad:
        with pytest.raises(ValueError):
            gen.stream("ab", **options)  # the call itself raises, not the first piece
    with pytest.raises(ValueError, match=r"1 unknown character.*'z'; leave them out") as e:
        gen.stream("abz")
    assert "skip" not in str(e.value)  # no option of generate() or the CLI is named 'unknown'
    with pytest.raises(ValueError, match="evaluation text has 1 unknown"):
        gen.evaluate("abcz" * 10)


@pytest.mark.parametrize("level", ["char", "bpe"])
def test_an_empty_prompt_starts_from_a_line_end(level, untrained):
    gen = untrained(level, FRENCH)
    read, forward = [], gen.model.forward

    def reading(x, state=None):
        read.append(x.tolist())
        return forward(x, state)

    gen.model.forward = reading
    for seed in range(2):
        assert gen.generate("", 20, seed=seed) == gen.generate("\n", 20, seed=seed)[1:]
    assert read == [[gen.tokenizer.encode("\n")]] * 4  # not token 0, which BPE spells "!"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("level"), "no 'level' field"),
        (lambda c: c.pop("tokenizer"), "no 'tokenizer' field"),
        (lambda c: c.update(level="sentence"), "'level' must be one of"),
        (lambda c: c.update(level="word"), "'tokenizer' is of type 'char'"),
        (lambda c: c.update(bptt=None), "'bptt' must be int, got null"),
        (lambda c: c["model"].update(bogus=1), r"'model': unknown options \['bogus'\]"),
        (lambda c: c["model"].update(hidden_size="16"), "'hidden_size' must be int"),
        (lambda c: c["model"].update(vocab_size=10), "4 tokens but its 'model' a vocab_size of 10"),
        (lambda c: c["tokenizer"].update(chars=["a", "b", "c"]), "3 tokens"),
        (lambda c: c.update(train={"batch_size": 4}), "'train' has no 'betas'"),
    ],
    ids=["level", "tokenizer", "bad-level", "tokenizer-type", "bptt", "model-key",
         "model-type", "model-vocab", "tokenizer-vocab", "train"],
)  # fmt: skip
def test_a_corrupted_config_is_one_error_naming_the_field(tmp_path, edit, message, untrained):
    import json

    untrained("char", "abc\n").save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    edit(config)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message) as e:
        TextGenerator.load(tmp_path)
    assert str(e.value).startswith(str(tmp_path / "config.json"))


def test_errors_name_the_options_a_user_gives(untrained):
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        TextGenerator(hidden_size=0)  # the layer would name it input_size, later
    with pytest.raises(ValueError, match="embedding_size must be a positive integer"):
        TextGenerator(embedding_size=-1)
    with pytest.raises(ValueError, match="window must be a positive integer, got 0"):
        untrained("char", "abc\n").evaluate("abcabc", mode="windows", window=0)
    with pytest.raises(ValueError, match="empty: it has only whitespace"):
        TextGenerator().fit(" \n\t \n", "abc", max_steps=1, progress=False)
    with pytest.raises(ValueError, match="bpe_vocab_size sizes a BPE vocabulary"):
        TextGenerator(level="char", bpe_vocab_size=300)
    with pytest.raises(ValueError, match="min_freq and max_vocab limit a word vocabulary"):
        TextGenerator(level="bpe", max_vocab=50)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """A character model fitted for two steps, its validation text with a character ('9')
    that the training text lacks, and the warnings the fit gave."""
    import warnings

    out = tmp_path_factory.mktemp("short")
    train, val = "the cat sat on the mat.\n" * 40, "the 9 cats sat.\n" * 5
    gen = TextGenerator(level="char", hidden_size=16, num_layers=1, bptt=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gen.fit(train, val, out=out, max_steps=2, batch_size=4, progress=False)
    return gen, out, (train, val), [str(w.message) for w in caught]


def test_validation_characters_unknown_to_training_are_left_out_with_one_warning(short_run):
    *_, warned = short_run
    mine = [m for m in warned if "unknown character" in m]
    assert mine == ["the validation text has 5 unknown character(s), not in the training text "
                    "('9'); they are left out"], warned  # fmt: skip


def test_resume_with_another_batch_size_names_the_option(short_run):
    gen, out, (train, val), _ = short_run
    with pytest.raises(ValueError, match=r"--resume needs the saved run's --batch-size 4 "):
        gen.fit(train, val, out=out, resume=True, max_steps=4, batch_size=2, progress=False)
    fresh = TextGenerator(level="char", hidden_size=16, num_layers=1, bptt=8)
    with pytest.raises(ValueError, match=r"load it first: rnnkit\.load\("):  # not a new one
        fresh.fit(train, val, out=out, resume=True, max_steps=4, batch_size=2, progress=False)
