"""Long-range benchmarks: the adding problem, copy memory, sequential and permuted digits.

Each run trains one cell for a fixed CPU-time budget (training time only; evaluation is
not counted) with Adam and gradient-norm clipping at 1.0, then reports the test metric
against the trivial baseline and the gradient horizon (rnnkit.diagnostics) at
initialisation and after training. Results are appended as JSON lines to ``--out``;
``--report FILE`` prints them as a Markdown table.

    python benchmarks/long_range.py --task adding --T 200 --cells lstm-chrono --budget 600 \\
        --target 0.01 --out /tmp/runs.jsonl
    python benchmarks/long_range.py --task adding --T 50 100 200 500 1000 \\
        --cells rnn irnn lstm gru lnlstm --budget 60 --out /tmp/runs.jsonl
    python benchmarks/long_range.py --report /tmp/runs.jsonl

Run through /work/wt/slot.sh with ONE torch thread (the default, --threads 1).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit import kernels
from rnnkit.data import synthetic
from rnnkit.diagnostics import gradient_flow
from rnnkit.nn import GRU, LSTM, RNN

# cell name -> (layer builder (D, H, T) -> layer, learning rate)
CELLS = {
    "rnn": (lambda D, H, T: RNN(D, H), 1e-3),
    "irnn": (lambda D, H, T: RNN(D, H, nonlinearity="relu", init="identity"), 1e-4),
    "lstm": (lambda D, H, T: LSTM(D, H), 2e-3),
    "gru": (lambda D, H, T: GRU(D, H), 2e-3),
    "lnlstm": (lambda D, H, T: LSTM(D, H, layer_norm=True), 2e-3),
    "lstm-fb1": (lambda D, H, T: LSTM(D, H, forget_bias=1.0), 2e-3),
    "lstm-chrono": (lambda D, H, T: LSTM(D, H, init="chrono", chrono_t_max=T), 2e-3),
    "gru-chrono": (lambda D, H, T: GRU(D, H, init="chrono", chrono_t_max=T), 2e-3),
    "rnn-orth": (lambda D, H, T: RNN(D, H, init="orthogonal"), 1e-3),
}


class Net(nn.Module):
    """``rnnkit layer -> linear``, on the last step (``last``) or on every step."""

    def __init__(self, layer: nn.Module, n_out: int, last: bool, vocab: int = 0) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, layer.config.input_size) if vocab else None
        self.rnn, self.head, self.last = layer, nn.Linear(layer.config.hidden_size, n_out), last

    def forward(self, x, state=None):
        if self.embed is not None:
            x = self.embed(x)
        out, state = self.rnn(x, state)
        return self.head(out[:, -1] if self.last else out), state


class Task:
    """Data, loss and metric of one benchmark task at length ``T``."""

    def __init__(self, name: str, T: int, seed: int) -> None:
        self.name, self.T, self.seed = name, T, seed
        if name == "adding":
            self.D, self.n_out, self.last, self.vocab = 2, 1, True, 0
            self.test = synthetic.adding_problem(1000, T, seed=10_000 + seed)
            self.baseline = float(((self.test[1] - 1.0) ** 2).mean())
            self.metric = "test MSE"
        elif name == "copy":
            self.D, self.n_out, self.last, self.vocab = 16, 10, False, 10
            self.test = synthetic.copy_memory(500, T, seed=10_000 + seed)
            self.baseline = synthetic.copy_memory_baseline(T)
            self.metric = "test CE (nats/step)"
        elif name in ("digits", "pdigits"):
            self.D, self.n_out, self.last, self.vocab = 1, 10, True, 0
            self.T = 64  # one pixel per step
            x, y = synthetic.sequential_digits(permute=name == "pdigits", seed=seed)
            self.train_xy, self.test = synthetic.split(x, y, 0.2, seed=seed)
            self.baseline = 1.0 - float(torch.bincount(self.test[1]).max()) / len(self.test[1])
            self.metric = "test error"
        else:
            raise ValueError(f"unknown task {name!r}")
        self._step = 0

    def batch(self, B: int):
        self._step += 1
        s = self.seed * 1_000_003 + self._step
        if self.name == "adding":
            return synthetic.adding_problem(B, self.T, seed=s)
        if self.name == "copy":
            return synthetic.copy_memory(B, self.T, seed=s)
        x, y = self.train_xy
        idx = torch.randint(0, x.shape[0], (B,), generator=torch.Generator().manual_seed(s))
        return x[idx], y[idx]

    def loss(self, out, y):
        if self.name == "adding":
            return F.mse_loss(out, y)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))

    @torch.no_grad()
    def evaluate(self, model: Net) -> float:
        model.eval()
        x, y = self.test
        total = 0.0
        for i in range(0, x.shape[0], 250):
            out, _ = model(x[i : i + 250])
            if self.name in ("digits", "pdigits"):
                total += float((out.argmax(-1) != y[i : i + 250]).sum())
            else:
                total += float(self.loss(out, y[i : i + 250])) * out.shape[0]
        model.train()
        return total / x.shape[0]


def horizon(model: Net, task: Task, n: int = 16) -> tuple[int | None, float, list[float]]:
    """Gradient horizon, rate per step, and ||dh_T/dh_(T-k)|| / lag 0 by lag k."""
    x, y = task.test
    flow = gradient_flow(model, (x[:n], y[:n]), lambda o, t: task.loss(o, t), n_probes=8)
    f = flow.layers[0]
    return f.horizon, f.rate, [float(f"{v:.4g}") for v in f.ratio]


def run(task_name: str, T: int, cell: str, budget: float, args) -> dict:
    torch.manual_seed(args.seed)
    task = Task(task_name, T, args.seed)
    build, lr = CELLS[cell]
    lr = args.lr or lr
    model = Net(build(task.D, args.hidden, T), task.n_out, task.last, task.vocab)
    x0, _ = task.batch(args.batch_size)
    xin = model.embed(x0) if model.embed is not None else x0
    backend = kernels.explain(model.rnn, xin.requires_grad_()).impl
    h0, rate0, lags0 = horizon(model, task)
    m0 = task.evaluate(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    trained, steps, evals, best, reached = 0.0, 0, [], math.inf, None
    next_eval = args.eval_every
    diverged = False
    while trained < budget:
        t0 = time.perf_counter()
        x, y = task.batch(args.batch_size)
        out, _ = model(x)
        loss = task.loss(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        trained += time.perf_counter() - t0
        steps += 1
        if not math.isfinite(float(loss.detach())):
            diverged = True
            break
        if trained >= next_eval or trained >= budget:
            next_eval += args.eval_every
            m = task.evaluate(model)
            evals.append((round(trained, 1), steps, m))
            best = min(best, m)
            print(f"  [{cell} T={T}] {trained:6.1f}s step {steps}: {task.metric} {m:.4g}",
                  file=sys.stderr, flush=True)  # fmt: skip
            if args.target is not None and m < args.target and reached is None:
                reached = (round(trained, 1), steps)
                if args.stop_at_target:
                    break
    final = task.evaluate(model)
    h1, rate1, lags1 = horizon(model, task)
    return {"task": task_name, "T": task.T, "cell": cell, "hidden": args.hidden, "lr": lr,
            "batch_size": args.batch_size, "budget_s": budget, "train_s": round(trained, 1),
            "steps": steps, "metric": task.metric, "baseline": task.baseline, "init": m0,
            "final": final, "best": min(best, final), "reached_target": reached,
            "target": args.target, "horizon_init": h0, "rate_init": rate0,
            "horizon_trained": h1, "rate_trained": rate1, "backend": backend,
            "diverged": diverged, "seed": args.seed, "evals": evals, "lags_init": lags0,
            "lags_trained": lags1,
            "threads": torch.get_num_threads()}  # fmt: skip


def figure(path: Path, T: int, hidden: int, seed: int) -> None:
    """Gradient norm vs time lag at initialisation, on adding-problem inputs of length T."""
    from rnnkit.diagnostics.plots import plot_lags

    torch.manual_seed(seed)
    x, _ = synthetic.adding_problem(32, T, seed=seed)
    curves = {}
    for cell, label in (("rnn", "RNN (tanh)"), ("irnn", "IRNN (relu, identity)"),
                        ("lstm", "LSTM"), ("gru", "GRU"), ("lstm-chrono", "LSTM, chrono init"),
                        ("gru-chrono", "GRU, chrono init")):  # fmt: skip
        layer = CELLS[cell][0](2, hidden, T)
        f = gradient_flow(layer, x, n_probes=16).layers[0]
        curves[f"{label}: horizon {f.horizon if f.horizon is not None else '>' + str(T - 1)}"] = (
            f.jacobian_norm)  # fmt: skip
        print(f"{label}: horizon {f.horizon}, rate {f.rate:.3f}", file=sys.stderr)
    plot_lags(curves, path, title=f"||dh_T/dh_(T-k)|| at initialisation, H={hidden}, T={T}")


def trained_figure(path: Path, runs: Path, T: int) -> None:
    """Gradient norm vs lag before and after training, from the runs recorded in ``runs``."""
    from rnnkit.diagnostics.plots import plot_lags

    rows = [json.loads(line) for line in runs.read_text().splitlines() if line.strip()]
    curves = {}
    for r in rows:
        if r["T"] == T and r["task"] == "adding" and "lags_trained" in r:
            h = r["horizon_trained"] if r["horizon_trained"] is not None else f">{T - 1}"
            label = f"{r['cell']} ({r['train_s']:.0f}s, MSE {r['final']:.3g}): horizon {h}"
            curves[label] = r["lags_trained"]
    if not curves:
        raise SystemExit(f"no adding-problem runs at T={T} with lag curves in {runs}")
    plot_lags(curves, path, title=f"||dh_T/dh_(T-k)|| after training, adding problem, T={T}")


def report(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print("| task | T | cell | budget s | steps | metric | trivial | final | best | "
          "horizon init -> trained | target reached (s, steps) | backend |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        h = f"{r['horizon_init'] or '>' + str(r['T'] - 1)} -> " + (
            f"{r['horizon_trained'] or '>' + str(r['T'] - 1)}")  # fmt: skip
        reached = r["reached_target"] and f"{r['reached_target'][0]}, {r['reached_target'][1]}"
        print(f"| {r['task']} | {r['T']} | {r['cell']} | {r['budget_s']:.0f} | {r['steps']} | "
              f"{r['metric']} | {r['baseline']:.3f} | {r['final']:.4g} | {r['best']:.4g} | {h} | "
              f"{reached or '-'} | {r['backend']} |")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--task", default="adding", choices=["adding", "copy", "digits", "pdigits"])
    p.add_argument("--T", type=int, nargs="+", default=[50, 100, 200, 500, 1000])
    p.add_argument("--cells", nargs="+", default=["rnn", "irnn", "lstm", "gru", "lnlstm"],
                   choices=sorted(CELLS))  # fmt: skip
    p.add_argument("--budget", type=float, default=60.0, help="training seconds per run")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--lr", type=float, default=None, help="override the per-cell default")
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--eval-every", type=float, default=20.0, help="training seconds")
    p.add_argument("--target", type=float, default=None)
    p.add_argument("--stop-at-target", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="append JSON lines here")
    p.add_argument("--report", type=Path, default=None, help="print this file as a table")
    p.add_argument("--figure", type=Path, default=None, help="write the lag figure (PNG) here")
    p.add_argument("--figure-from", type=Path, default=None,
                   help="with --figure: the trained curves of these runs")  # fmt: skip
    args = p.parse_args()
    if args.figure and args.figure_from:
        trained_figure(args.figure, args.figure_from, args.T[0])
        return
    if args.figure:
        torch.set_num_threads(args.threads)
        figure(args.figure, args.T[0], args.hidden, args.seed)
        return
    if args.report:
        report(args.report)
        return
    torch.set_num_threads(args.threads)
    if args.task in ("digits", "pdigits"):
        args.T = [64]  # one pixel per step: the length is fixed
    for T in args.T:
        for cell in args.cells:
            t0 = time.perf_counter()
            r = run(args.task, T, cell, args.budget, args)
            r["wall_s"] = round(time.perf_counter() - t0, 1)
            brief = {k: v for k, v in r.items() if k not in ("evals", "lags_init", "lags_trained")}
            print(json.dumps(brief), flush=True)
            if args.out:
                with args.out.open("a") as f:
                    f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
