"""Writes tests/assets/textgen_v1: a tiny model directory frozen at format version 1.

Run once when the format version changes (never to "fix" a failing compatibility test:
that test exists to catch loaders that stop reading old directories).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from rnnkit.tasks.textgen import TextGenerator

HERE = Path(__file__).parent / "textgen_v1"
TEXT = "the quick brown fox jumps over the lazy dog.\n" * 40

if __name__ == "__main__":
    torch.manual_seed(0)
    gen = TextGenerator(level="char", hidden_size=16, num_layers=1, bptt=16)
    gen.fit(TEXT, TEXT[:200], out=HERE, max_steps=30, batch_size=4, progress=False)
    for extra in ("last.ckpt", "checkpoints", "logs"):
        path = HERE / extra
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    expected = {"prompt": "the ", "n": 30, "seed": 0, "eval_text": TEXT[:300]}
    expected["text"] = gen.generate("the ", 30, seed=0)
    expected["loss"] = gen.evaluate(expected["eval_text"])["loss"]
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote {HERE}")
