"""``rnnkit quickstart``: train a character-level LSTM and generate text, in minutes.

The corpus is Tiny Shakespeare when ``RNNKIT_DATA_DIR`` has it, else a fixed slice of the
Python standard library's own source files (always there, no network).
"""

from __future__ import annotations

import math
import os
import sysconfig
import time
from pathlib import Path

import torch

CORPUS_BYTES = 2_000_000


def stdlib_corpus(limit: int = CORPUS_BYTES) -> str:
    """The first ``limit`` bytes of the standard library's ``*.py`` files in sorted order,
    skipping files that are not UTF-8 (a few test files are deliberately not)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts, size = [], 0
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        parts.append(text)
        size += len(text)
        if size >= limit:
            break
    if not parts:
        raise ValueError(f"no readable Python sources under {root}")
    return "\n".join(parts)[:limit]


def corpus() -> tuple[str, str]:
    """(name, text) of the quickstart corpus."""
    from ..data import dataset_path

    if os.environ.get("RNNKIT_DATA_DIR"):
        try:
            path = dataset_path("tinyshakespeare")
            return "Tiny Shakespeare", path.read_text(encoding="utf-8")
        except (ValueError, OSError):
            pass
    return "the Python standard library's sources", stdlib_corpus()


def quickstart(out: Path, max_time: str = "150s", threads: int = 0, seed: int = 0,
               progress: bool = True) -> None:  # fmt: skip
    from ..data import split_text
    from ..tasks.textgen import TextGenerator

    if threads:
        torch.set_num_threads(threads)
    name, text = corpus()
    train_text, val_text = split_text(text, 0.1)
    print(f"rnnkit quickstart: a 2-layer character LSTM learns {name} "
          f"({len(train_text):,} characters) for {max_time} on {torch.get_num_threads()} "
          f"threads, then writes.\n")  # fmt: skip
    gen = TextGenerator(level="char", cell="lstm", hidden_size=256, num_layers=2, bptt=64)
    t0 = time.perf_counter()
    gen.fit(train_text, val_text, out=out, max_time=max_time, batch_size=32, lr=3e-3,
            seed=seed, val_every=200, val_batches=20, progress=progress)  # fmt: skip
    minutes = (time.perf_counter() - t0) / 60
    m = gen.evaluate(val_text[:20_000], mode="windows", window=64)
    uniform = math.log(gen.tokenizer.vocab_size)
    print(
        f"\ntrained {gen.metrics.get('train_steps', 0)} steps in {minutes:.1f} min; "
        f"validation loss {m['loss']:.3f} nats/char ({m['bits_per_char']:.2f} bits/char, "
        f"64-character windows; guessing uniformly: {uniform:.2f})"
    )
    prompt = "ROMEO:\n" if name.startswith("Tiny") else "def "
    print("\nsample (temperature 0.8):\n" + "-" * 60)
    print(gen.generate(prompt, max_new_tokens=400, temperature=0.8, seed=seed))
    print("-" * 60)
    print(f"\nmodel directory: {out}")
    print(
        f'generate more:   rnnkit textgen predict {out} --prompt "{prompt.strip()}" '
        "--max-new-tokens 500"
    )
