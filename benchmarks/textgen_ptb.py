"""Penn Treebank word-level language model under a CPU time budget.

Protocol (Zaremba et al. 2014): train on ptb.train.txt, select on ptb.valid.txt, report
test perplexity streaming through ptb.test.txt with the state carried. Vocabulary: the
files' own 10,000 words (``<eos>`` per line, their literal ``<unk>``).

Anchors (test perplexity): Zaremba small LSTM (2x200, 13 epochs) 114.5; medium (2x650,
dropout 0.5) 82.7; large (2x1500) 78.4; AWD-LSTM 57.3. Target: below 114.5 on CPU within
30 minutes of training.

    python benchmarks/textgen_ptb.py --time 1680
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from rnnkit.data import read_splits
from rnnkit.tasks.textgen import TextGenerator


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=float, default=1680.0, help="training seconds")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--output-dropout", type=float, default=0.3)
    ap.add_argument("--embedding-dropout", type=float, default=0.05)
    ap.add_argument("--tie", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument(
        "--adaptive",
        default=None,
        help="adaptive softmax cutoffs, e.g. 2000,6000 (default: full softmax)",
    )
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/out/ptb")
    args = ap.parse_args(argv)
    if not os.environ.get("RNNKIT_DATA_DIR"):
        ap.error("set RNNKIT_DATA_DIR (e.g. ../shared/data)")
    torch.set_num_threads(args.threads)
    cutoffs = [int(c) for c in args.adaptive.split(",")] if args.adaptive else None
    splits = read_splits("ptb")
    gen = TextGenerator(level="word", hidden_size=args.hidden, num_layers=args.layers,
                        dropout=args.dropout, output_dropout=args.output_dropout,
                        embedding_dropout=args.embedding_dropout, tie_weights=args.tie,
                        adaptive_softmax=cutoffs, bptt=args.bptt)  # fmt: skip
    t0 = time.perf_counter()
    gen.fit(splits["train"], splits["valid"], out=args.out, max_time=args.time,
            batch_size=args.batch_size, lr=args.lr, seed=args.seed, val_every=args.val_every,
            weight_decay=args.weight_decay, progress=False)  # fmt: skip
    train_s = time.perf_counter() - t0
    assert gen.tokenizer.vocab_size == 10_000, gen.tokenizer.vocab_size
    valid = gen.evaluate(splits["valid"])
    test = gen.evaluate(splits["test"])
    result = {"config": vars(args), "train_seconds": round(train_s, 1),
              "steps": gen.metrics.get("train_steps"), "valid_ppl": round(valid["perplexity"], 2),
              "test_ppl": round(test["perplexity"], 2), "torch": torch.__version__}  # fmt: skip
    print(json.dumps(result))
    Path("benchmarks/out").mkdir(parents=True, exist_ok=True)
    with open("benchmarks/out/ptb.jsonl", "a") as f:
        f.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
