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

import torch
import torch.nn.functional as F

import rnnkit
from _timing import append_row
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
def mixture_loss(models, batches, carry: bool) -> tuple[list[float], float]:
    """Cross-entropy (nats/char) of each member and of their mean probabilities over
    ``(x, y)`` batches; ``carry``: each model's state flows from batch to batch."""
    k = len(models)
    states, totals, mix, n = [None] * k, [0.0] * k, 0.0, 0
    for x, y in batches:
        lps = []
        for j, m in enumerate(models):
            lp, state = log_probs(m, x, states[j])
            states[j] = state if carry else None
            lps.append(lp)
            totals[j] += nll(lp, y)[0]
        total, count = nll(torch.logsumexp(torch.stack(lps), dim=0) - math.log(k), y)
        mix, n = mix + total, n + count
    return [t / n for t in totals], mix / n


def score(models, ids: torch.Tensor) -> dict[str, list[float] | float]:
    """Per-member and mixture cross-entropy (nats/char), windows64 and stream."""
    xs, ys = chunk_windows(ids, 64)
    windows = ((xs[i : i + 64], ys[i : i + 64]) for i in range(0, xs.shape[0], 64))
    out = {}
    out["windows64_members"], out["windows64"] = mixture_loss(models, windows, carry=False)
    stream = StreamWindows(ids.view(1, -1), 256)
    out["stream_members"], out["stream"] = mixture_loss(models, stream, carry=True)
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
    append_row(row, args.log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
