"""Shared test setup: exact numerics (TF32 off), dtype toggles, the ``gpu`` marker, and
comparison helpers handed out as fixtures (``tests/`` is not a package, so helpers travel
as fixtures rather than imports)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
import torch

# Parity tests compare against torch.nn at 1e-5 in float32: TF32 would break them on GPU.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
# Test tensors are tiny: intra-op threads only contend for the few cores CI machines have.
torch.set_num_threads(1)

# Tolerances of the parity tests (DESIGN.md: exact in float64, 1e-5 in float32).
TOLERANCES = {
    torch.float64: {"atol": 1e-10, "rtol": 1e-10},
    torch.float32: {"atol": 1e-5, "rtol": 1e-4},
}


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _restore_torch_defaults():
    """Every test starts from float32 defaults and leaves them as it found them."""
    dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(dtype)


@pytest.fixture
def float64():
    """Run the test with float64 as the default dtype (restored afterwards)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch.float64
    torch.set_default_dtype(old)


def tol(dtype: torch.dtype) -> dict[str, float]:
    return dict(TOLERANCES[dtype])


def _flatten(obj) -> list:
    if obj is None:
        return [None]
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, torch.nn.utils.rnn.PackedSequence):
        return [obj.data, obj.batch_sizes, obj.sorted_indices, obj.unsorted_indices]
    if isinstance(obj, dict):
        return [v for k in sorted(obj) for v in _flatten(obj[k])]
    if isinstance(obj, Iterable):
        return [v for item in obj for v in _flatten(item)]
    raise TypeError(f"cannot compare {type(obj).__name__}")


def assert_close_all(
    actual, expected, dtype: torch.dtype | None = None, msg: str = "", exact: bool = False
) -> None:
    """``assert_close`` over matching nested tuples / lists / dicts of tensors.

    ``None`` must match ``None`` (e.g. a missing gradient must be missing on both sides).
    """
    a, e = _flatten(actual), _flatten(expected)
    assert len(a) == len(e), f"{msg}: {len(a)} tensors vs {len(e)}"
    for i, (x, y) in enumerate(zip(a, e, strict=True)):
        where = f"{msg} [item {i}]"
        if x is None or y is None:
            assert x is None and y is None, f"{where}: {x is None=} but {y is None=}"
            continue
        if exact:
            torch.testing.assert_close(x, y, atol=0, rtol=0, msg=lambda m, w=where: f"{w}: {m}")
        else:
            d = dtype or x.dtype
            kw = tol(d) if d in TOLERANCES else {}
            torch.testing.assert_close(x, y, **kw, msg=lambda m, w=where: f"{w}: {m}")


@pytest.fixture
def close():
    """``close(actual, expected, dtype=None, msg="", exact=False)``: see assert_close_all."""
    return assert_close_all


def grads_of(tensors) -> list:
    """The ``.grad`` of each tensor (``None`` kept), then cleared for the next run."""
    out = []
    for t in tensors:
        out.append(None if t.grad is None else t.grad.detach().clone())
        t.grad = None
    return out


@pytest.fixture
def grads():
    return grads_of


def run_diagnose(model_dir, data, out, *args: str) -> dict:
    """``rnnkit diagnose MODEL_DIR DATA --out OUT ARGS`` in this process; checks the report's
    files and returns its ``diagnostics.json``."""
    import json

    from rnnkit.cli import main

    code = main(["diagnose", str(model_dir), str(data), "--out", str(out), *args])
    assert code == 0, "rnnkit diagnose failed"
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Verdict" in md and "Probe batch:" in md
    for name in ("gradient_flow.png", "gradient_lags.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "diagnostics.json").read_text(encoding="utf-8"))
    flow = data["flow"]
    assert flow["loss"] is not None and flow["loss"] > 0
    for layer in flow["layers"]:
        assert len(layer["jacobian_norm"]) == flow["T"] and layer["jacobian_norm"][0] > 0
        assert len(layer["grad_norm"]) == flow["T"]
    return data


@pytest.fixture
def diagnose():
    """``diagnose(model_dir, data, out, *args) -> diagnostics.json``: see run_diagnose."""
    return run_diagnose


def untrained_textgen(level: str, text: str, **options):
    """A small ``TextGenerator`` with its tokenizer built on ``text`` and untrained weights
    (seed 0): generation, checks and persistence need no training run."""
    from rnnkit.data import make_tokenizer
    from rnnkit.tasks._lm import LanguageModel, LMConfig
    from rnnkit.tasks.textgen import TextGenerator

    gen = TextGenerator(level=level, hidden_size=16, num_layers=1, **options)
    gen.tokenizer = make_tokenizer(level, text, **gen.tokenizer_options)
    torch.manual_seed(0)
    gen.model = LanguageModel(LMConfig(gen.tokenizer.vocab_size, **gen.model_options))
    return gen


@pytest.fixture
def untrained():
    """``untrained(level, text, **options) -> TextGenerator``: see untrained_textgen."""
    return untrained_textgen


def make_untrained_translator(pairs, tokenizer: str = "word", seed: int = 0, **options):
    """A Translator with tokenizers learned from ``pairs`` and tiny random weights, no
    training run: quick to make, for checks of what it accepts and returns."""
    from rnnkit.tasks._seq2seq import Seq2Seq, Seq2SeqConfig
    from rnnkit.tasks.translate import Translator

    tr = Translator(tokenizer=tokenizer, min_freq=1, embedding_size=8, encoder_size=8,
                    decoder_size=16, dropout=0.0, **options)  # fmt: skip
    tr._build_tokenizers(pairs)
    torch.manual_seed(seed)
    sizes = (tr.src_tok.vocab_size, tr.tgt_tok.vocab_size)
    tr.model = Seq2Seq(Seq2SeqConfig(*sizes, **tr.model_options)).eval()
    return tr


@pytest.fixture
def untrained_translator():
    """``untrained_translator(pairs, tokenizer="word", seed=0, **options)``: see
    make_untrained_translator."""
    return make_untrained_translator
