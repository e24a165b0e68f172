"""The plain-PyTorch anchor for ``textgen_shakespeare.py``: torch.nn.LSTM in a bare loop.

Same split, metric, schedule shape (30 warm-up steps, cosine over the time budget) and
windows64 evaluation as the rnnkit benchmark, with nothing of rnnkit in it, so that the two
can be run one after the other on the same machine and compared. Session 7 used it to find
why rnnkit trailed a plain script (the embedding's initial spread, ``--embedding-std``).

    RNNKIT_DATA_DIR=../shared/data python benchmarks/textgen_shakespeare_plain.py --time 71
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=float, default=71.0, help="training seconds")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--bptt", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--beta2", type=float, default=0.99)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0: none)")
    ap.add_argument("--embedding-std", type=float, default=1.0, help="torch's default: 1")
    ap.add_argument("--stateful", type=int, default=1, help="1: carried state, 0: random windows")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    text = (Path(os.environ["RNNKIT_DATA_DIR"]) / "tinyshakespeare" / "input.txt").read_text()
    chars = sorted(set(text))
    data = torch.tensor([chars.index(c) for c in text])  # 1.1M lookups in 65: fast enough
    n = int(len(data) * 0.9)
    train, val, V = data[:n], data[n:], len(chars)

    emb = torch.nn.Embedding(V, a.hidden)
    torch.nn.init.normal_(emb.weight, std=a.embedding_std)
    rnn = (torch.nn.LSTM if a.cell == "lstm" else torch.nn.GRU)(
        a.hidden, a.hidden, a.layers, batch_first=True
    )
    head = torch.nn.Linear(a.hidden, V)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, a.lr, betas=(0.9, a.beta2), weight_decay=0.0)
    seg = len(train) // a.batch_size
    streams = train[: seg * a.batch_size].view(a.batch_size, seg)

    t0, step, pos, state = time.perf_counter(), 0, 0, None
    while (elapsed := time.perf_counter() - t0) < a.time:
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, elapsed / a.time)))
        for g in opt.param_groups:
            g["lr"] = a.lr * min(1.0, (step + 1) / 30) * cosine
        if a.stateful:
            if pos + a.bptt + 1 > seg:
                pos, state = 0, None
            x, y = streams[:, pos : pos + a.bptt], streams[:, pos + 1 : pos + a.bptt + 1]
            pos += a.bptt
        else:
            starts = torch.randint(0, len(train) - a.bptt - 1, (a.batch_size,)).tolist()
            x = torch.stack([train[i : i + a.bptt] for i in starts])
            y = torch.stack([train[i + 1 : i + a.bptt + 1] for i in starts])
            state = None
        out, state = rnn(emb(x), state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        loss = F.cross_entropy(head(out).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if a.clip:
            torch.nn.utils.clip_grad_norm_(params, a.clip)
        opt.step()
        step += 1
    train_s = time.perf_counter() - t0
    with torch.no_grad():  # windows64: non-overlapping 64-character windows from a zero state
        m = (len(val) - 1) // 64
        x, y = val[: m * 64].view(m, 64), val[1 : m * 64 + 1].view(m, 64)
        windows = F.cross_entropy(head(rnn(emb(x))[0]).reshape(-1, V), y.reshape(-1)).item()
    print(json.dumps({"config": vars(a), "steps": step, "train_seconds": round(train_s, 1),
                      "val_windows64": round(windows, 4)}))  # fmt: skip


if __name__ == "__main__":
    main()
