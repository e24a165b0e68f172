"""``rnnkit tour``: a short tour of the layers on this machine.

1. an rnnkit LSTM copied from torch.nn gives the same numbers (forward and gradients);
2. which backend runs each configuration, and why;
3. a regularized LSTM (recurrent dropout + zoneout) learns the adding problem
   (Hochreiter & Schmidhuber 1997) within a time budget, against the trivial MSE of 0.167;
4. streaming: one ``step()`` per time step gives the full-sequence numbers.
"""

from __future__ import annotations

import time

import torch

from .. import kernels
from ..nn import GRU, LSTM


def adding_problem(batch: int, T: int, generator: torch.Generator) -> tuple:
    """Inputs ``(B, T, 2)``: a random value and a marker at two positions, one in each half;
    the target is the sum of the two marked values. Predicting 1 scores MSE 1/6."""
    values = torch.rand(batch, T, generator=generator)
    marks = torch.zeros(batch, T)
    first = torch.randint(0, T // 2, (batch,), generator=generator)
    second = torch.randint(T // 2, T, (batch,), generator=generator)
    marks[torch.arange(batch), first] = 1.0
    marks[torch.arange(batch), second] = 1.0
    x = torch.stack([values, marks], dim=-1)
    y = (values * marks).sum(dim=1, keepdim=True)
    return x, y


def tour(seconds: float = 20.0, threads: int = 0, seed: int = 0) -> None:
    if seconds <= 0:
        raise ValueError(f"--seconds must be positive, got {seconds}")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    print(f"rnnkit tour (torch {torch.__version__}, {torch.get_num_threads()} threads)\n")

    # 1. parity with torch.nn
    ref = torch.nn.LSTM(16, 32, num_layers=2, batch_first=True)
    ours = LSTM.from_torch(ref)
    x = torch.randn(4, 25, 16, requires_grad=True)
    y_ref, _ = ref(x)
    g_ref = torch.autograd.grad(y_ref.square().sum(), [x, *ref.parameters()])
    y, _ = ours(x)
    g = torch.autograd.grad(y.square().sum(), [x, *ours.parameters()])
    grad_diff = max((a - b).abs().max().item() for a, b in zip(g, g_ref, strict=True))
    print("1. rnnkit.nn.LSTM.from_torch(torch.nn.LSTM): max |difference|")
    print(f"   output {(y - y_ref).abs().max().item():.1e}, gradients {grad_diff:.1e}\n")

    # 2. dispatch
    print("2. which backend runs what (rnnkit.kernels.explain):")
    configs = {
        "LSTM": LSTM(16, 32),
        "LSTM(recurrent_dropout=0.25)": LSTM(16, 32, recurrent_dropout=0.25),
        "GRU(layer_norm=True)": GRU(16, 32, layer_norm=True),
        "LSTM(proj_size=8, zoneout=0.1)": LSTM(16, 32, proj_size=8, zoneout=0.1),
    }
    for name, layer in configs.items():
        ex = kernels.explain(layer, x.detach())
        print(f"   {name:32s} -> {ex.impl:9s} ({ex.reason.split(' -> ')[-1]})")
    print()

    # 3. training under a time budget
    T, batch = 50, 64
    print(
        f"3. adding problem, T={T}: LSTM(2 -> 64, recurrent_dropout=0.1, zoneout=0.05), "
        f"{seconds:.0f} s budget"
    )
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.ModuleDict(
        {
            "rnn": LSTM(2, 64, recurrent_dropout=0.1, zoneout=0.05),
            "head": torch.nn.Linear(64, 1),
        }
    )
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x_val, y_val = adding_problem(512, T, gen)
    start, steps, report = time.perf_counter(), 0, 0.0
    while time.perf_counter() - start < seconds:
        model.train()
        xb, yb = adding_problem(batch, T, gen)
        out, _ = model["rnn"](xb)
        loss = torch.nn.functional.mse_loss(model["head"](out[:, -1]), yb)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= report:
            model.eval()
            with torch.no_grad():
                val = torch.nn.functional.mse_loss(
                    model["head"](model["rnn"](x_val)[0][:, -1]), y_val
                ).item()
            print(
                f"   {elapsed:5.1f} s  step {steps:5d}  train MSE {loss.item():.4f}  "
                f"val MSE {val:.4f}  (predicting 1: 0.167)"
            )
            report += max(seconds / 5, 1.0)
    model.eval()
    with torch.no_grad():
        out, _ = model["rnn"](x_val)
        val = torch.nn.functional.mse_loss(model["head"](out[:, -1]), y_val).item()
    print(f"   final validation MSE {val:.4f} after {steps} steps (predicting 1: 0.167)\n")

    # 4. streaming
    rnn = model["rnn"]
    with torch.no_grad():
        full, _ = rnn(x_val[:1])
        state, outs = None, []
        t0 = time.perf_counter()
        for t in range(T):
            y_t, state = rnn.step(x_val[:1, t], state)
            outs.append(y_t)
        per_step = (time.perf_counter() - t0) / T * 1e6
    diff = (torch.stack(outs, dim=1) - full).abs().max().item()
    print(
        f"4. streaming: {T} calls of rnn.step() match the full sequence to {diff:.1e}, "
        f"{per_step:.0f} us per step\n"
    )
    print("Next: see README.md for the Python API, and benchmarks/RESULTS.md for speed.")
