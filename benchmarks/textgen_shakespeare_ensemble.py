"""Score an ensemble of Tiny Shakespeare character models: the mean of their next-character
probabilities, on the validation text, with the benchmark's two measures (``windows64``:
non-overlapping 64-character windows from a zero state; ``stream``: the whole text with each
model's state carried). Each member is scored alone too, which must equal what
``textgen_shakespeare.py`` logged for it.

    RNNKIT_DATA_DIR=../shared/data python benchmarks/textgen_shakespeare_ensemble.py \\
        DIR_A DIR_B [--log benchmarks/out/shakespeare_ensemble.jsonl]
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F

import rnnkit
from rnnkit.data import read_text, split_text
from rnnkit.data.lm import StreamWindows, chunk_windows


def log_probs(model, x, state=None):
    logits, state = model(x, state)
    return F.log_softmax(logits.float(), dim=-1), state  # (adaptive heads: already log-probs)


def nll(lp: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
    """Summed negative log-likelihood of the targets ``y`` (padding, -100, skipped)."""
    valid = y >= 0
    picked = lp.gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -float(picked[valid].sum()), int(valid.sum())


@torch.no_grad()
def score(models, ids: torch.Tensor) -> dict[str, list[float] | float]:
    """Per-member and mixture cross-entropy (nats/char), windows64 and stream."""
    k = len(models)
    out = {}
    xs, ys = chunk_windows(ids, 64)
    totals, mix, n = [0.0] * k, 0.0, 0
    for i in range(0, xs.shape[0], 64):
        x, y = xs[i : i + 64], ys[i : i + 64]
        lps = [log_probs(m, x)[0] for m in models]
        for j, lp in enumerate(lps):
            totals[j] += nll(lp, y)[0]
        total, count = nll(torch.logsumexp(torch.stack(lps), dim=0) - math.log(k), y)
        mix, n = mix + total, n + count
    out["windows64_members"] = [t / n for t in totals]
    out["windows64"] = mix / n
    states = [None] * k
    totals, mix, n = [0.0] * k, 0.0, 0
    for x, y in StreamWindows(ids.view(1, -1), 256):
        lps = []
        for j, m in enumerate(models):
            lp, states[j] = log_probs(m, x, states[j])
            lps.append(lp)
            totals[j] += nll(lp, y)[0]
        total, count = nll(torch.logsumexp(torch.stack(lps), dim=0) - math.log(k), y)
        mix, n = mix + total, n + count
    out["stream_members"] = [t / n for t in totals]
    out["stream"] = mix / n
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="model directories written by the benchmark")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log", default="benchmarks/out/shakespeare_ensemble.jsonl")
    args = ap.parse_args(argv)
    if not os.environ.get("RNNKIT_DATA_DIR"):
        ap.error("set RNNKIT_DATA_DIR (e.g. ../shared/data)")
    torch.set_num_threads(args.threads)
    gens = [rnnkit.load(d) for d in args.models]
    vocab = gens[0].tokenizer.to_dict()
    if any(g.tokenizer.to_dict() != vocab for g in gens[1:]):
        raise SystemExit("the models have different vocabularies; they cannot be averaged")
    _, val = split_text(read_text("tinyshakespeare"), 0.1)
    ids = torch.tensor(gens[0].tokenizer.encode(val), dtype=torch.long)
    models = [g.model.eval() for g in gens]
    row = {"models": [str(d) for d in args.models],
           **{k: (round(v, 4) if isinstance(v, float) else [round(x, 4) for x in v])
              for k, v in score(models, ids).items()}}  # fmt: skip
    print(json.dumps(row))
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    with open(args.log, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
