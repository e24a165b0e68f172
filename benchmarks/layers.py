"""Throughput of rnnkit's layers against torch.nn, with identical weights.

Run from the repository root, alone on the machine::

    python benchmarks/layers.py                      # everything, 1 thread, 9 repeats
    python benchmarks/layers.py --threads 4 --markdown results.md
    python benchmarks/layers.py --quick --only plain,streaming   # smoke test, < 1 minute

Groups (``--only``):

- ``plain``: rnnkit.nn.LSTM / GRU / RNN (``impl="auto"``) against the torch.nn layer it was
  copied from (``from_torch``), batch_first, training mode; ``fwd+bwd`` takes the gradients
  of the input and of every weight, ``fwd`` runs under ``torch.no_grad()``.
- ``regularized``: fwd+bwd of rnnkit layers with one regularizer each against the plain
  torch.nn layer of the same cell, size and depth (torch has no equivalent, so the ratio is
  the price of the regularizer); plus the ``reference`` backend for recurrent dropout at
  (32, 100, 256), to show what the fused loop buys.
- ``loop``: the fused ``loop`` backend forced on plain cells against torch.nn, which
  sets the dispatcher's preference order per cell and device.
- ``streaming``: B = 1, one ``layer.step(x_t, state)`` per call (eval mode, no_grad)
  against ``torch.nn.LSTMCell`` / ``GRUCell`` with the same weights, and against calling
  ``torch.nn.LSTM`` on a (1, 1, H) input once per step; numbers are microseconds per step.

Every ratio is a speed ratio, anchor time / rnnkit time: tokens/s of rnnkit over tokens/s
of the anchor (B*T tokens per call), or anchor us/step over rnnkit us/step. Above 1 means
rnnkit is faster. Each figure is the median over ``--repeats`` repeats; rnnkit and its
anchor(s) are timed interleaved in the same loop so that machine noise hits both alike,
and each repeat calls the layer often enough to take at least ``--min-time`` seconds.
The "backend" column is what ``impl="auto"`` (or the given impl) picks, from
``rnnkit.kernels.explain``. This is a measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnnkit
from _timing import interleaved, machine_line

SHAPES = [(1, 100, 256), (32, 100, 256), (64, 128, 512), (16, 512, 128)]  # (B, T, H), D = H
REFERENCE_SHAPE = (32, 100, 256)
STREAM_SIZES = [256, 1024]
TORCH = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}
TORCH_CELL = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell}
RNNKIT = {"LSTM": rnnkit.nn.LSTM, "GRU": rnnkit.nn.GRU, "RNN": rnnkit.nn.RNN}
REGULARIZED = [  # (cell, rnnkit options, options of both layers)
    *(
        (cell, opts, {})
        for cell in ("LSTM", "GRU")
        for opts in ({"recurrent_dropout": 0.25}, {"zoneout": 0.1}, {"layer_norm": True})
    ),
    ("LSTM", {"weight_drop": 0.5}, {}),
    ("LSTM", {"input_dropout": 0.25}, {}),
    ("LSTM", {}, {"num_layers": 2, "dropout": 0.3}),
]
NUMERIC = {"B", "T", "H", "rnnkit tok/s", "anchor tok/s", "ratio"}  # right-aligned
COLUMNS = [("device", 6), ("group", 11), ("cell", 4), ("config", 38), ("B", 3), ("T", 3)]
COLUMNS += [("H", 4), ("pass", 7), ("rnnkit tok/s", 12), ("anchor tok/s", 12), ("ratio", 5)]
COLUMNS += [("backend", 9)]


def rnnkit_copy(t: nn.RNNBase, **opts) -> rnnkit.nn.RecurrentBase:
    """An rnnkit layer with ``t``'s weights and configuration, plus rnnkit's ``opts``."""
    return RNNKIT[type(t).__name__].from_torch(t, **opts)


def fwd(m: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    return lambda: m(x)  # timed under torch.no_grad()


def fwd_bwd(m: nn.Module, x: torch.Tensor, grad: torch.Tensor) -> Callable[[], object]:
    inputs = [x, *m.parameters()]
    return lambda: torch.autograd.grad(m(x)[0], inputs, grad)


def stepper(step: Callable, state) -> Callable[[], None]:
    """A call that advances ``state`` by one ``step``, as a streaming loop would."""
    box = [state]

    def call() -> None:
        box[0] = step(box[0])

    return call


def describe(opts: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in opts.items()) or "plain"


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.rows, self.failures = args, [], 0

    def time(self, fns: list[Callable[[], object]], device: str) -> list[float]:
        return interleaved(fns, self.args.repeats, self.args.min_time, device)

    def emit(self, *cells) -> None:
        self.rows.append([str(c) for c in cells])
        print(line(self.rows[-1]), flush=True)

    def case(self, name: str, fn: Callable[..., None], *args) -> None:
        try:
            fn(*args)
        except Exception as e:  # keep going: one broken backend must not lose the run
            self.failures += 1
            print(f"# FAILED {name}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)

    # ---------------------------------------------------------------- sequence layers
    def sequence(self, group: str, device: str, cell: str, shape: tuple, opts=None, both=None):
        """fwd and fwd+bwd (plain) or fwd+bwd (regularized): rnnkit with ``opts`` against
        torch.nn; ``both`` configures both layers."""
        (B, T, H), opts, both = shape, opts or {}, both or {}
        torch.manual_seed(0)
        t = TORCH[cell](H, H, batch_first=True, device=device, **both).train()
        r = rnnkit_copy(t, **opts)
        x = torch.randn(B, T, H, device=device, requires_grad=True)
        grad = torch.randn(B, T, H, device=device)
        head = [device, group, cell, describe({**opts, **both}), B, T, H]
        for p in ("fwd", "fwd+bwd") if group in ("plain", "loop") else ("fwd+bwd",):
            if p == "fwd":
                with torch.no_grad():  # the backend auto picks can depend on grad mode
                    backend = rnnkit.kernels.explain(r, x).impl
                    t_rk, t_anchor = self.time([fwd(r, x), fwd(t, x)], device)
            else:
                backend = rnnkit.kernels.explain(r, x).impl
                t_rk, t_anchor = self.time([fwd_bwd(r, x, grad), fwd_bwd(t, x, grad)], device)
            rates = [f"{B * T / t_rk:,.0f}", f"{B * T / t_anchor:,.0f}"]
            self.emit(*head, p, *rates, f"{t_anchor / t_rk:.2f}", backend)

    def plain(self, device: str, shapes: list) -> None:
        for cell in self.args.cells:
            for shape in shapes:
                self.case(f"plain {cell} {shape}", self.sequence, "plain", device, cell, shape)

    def loop(self, device: str, shapes: list) -> None:
        """The fused loop on plain cells, to set the dispatcher's order by measurement."""
        for cell in self.args.cells:
            for shape in shapes:
                name = f"loop {cell} {shape}"
                self.case(name, self.sequence, "loop", device, cell, shape, {"impl": "loop"})

    def regularized(self, device: str, shapes: list) -> None:
        ref_shape = REFERENCE_SHAPE if REFERENCE_SHAPE in shapes else shapes[0]
        cases = [(c, o, b, s) for c, o, b in REGULARIZED for s in shapes if c in self.args.cells]
        if "LSTM" in self.args.cells:
            cases.append(("LSTM", {"recurrent_dropout": 0.25, "impl": "reference"}, {}, ref_shape))
        for cell, opts, both, shape in cases:
            name = f"regularized {cell} {describe({**opts, **both})} {shape}"
            self.case(name, self.sequence, "regularized", device, cell, shape, opts, both)

    # ---------------------------------------------------------------- streaming
    def stream(self, device: str, cell: str, H: int) -> None:
        torch.manual_seed(0)
        t = TORCH[cell](H, H, batch_first=True, device=device).eval()
        r = rnnkit_copy(t)
        tc = TORCH_CELL[cell](H, H, device=device).eval()
        tc.load_state_dict({k.removesuffix("_l0"): v for k, v in t.state_dict().items()})
        x = torch.randn(1, H, device=device)
        z = torch.zeros(1, H, device=device)
        fns = [stepper(lambda s: r.step(x, s)[1], r.init_state(1))]
        if cell == "LSTM":
            fns.append(stepper(lambda s: tc(x, s), (z, z)))
            fns.append(stepper(lambda s: t(x[None], s)[1], (z[None], z[None])))
            anchors = ["vs torch.nn.LSTMCell", "vs torch.nn.LSTM, once per step"]
        else:
            fns.append(stepper(lambda s: tc(x, s), z))
            anchors = ["vs torch.nn.GRUCell"]
        with torch.no_grad():
            t_rk, *t_anchors = self.time(fns, device)
        for anchor, t_a in zip(anchors, t_anchors, strict=True):
            times = [f"{t_rk * 1e6:.1f} us", f"{t_a * 1e6:.1f} us"]
            self.emit(
                device, "streaming", cell, anchor, 1, 1, H, "step", *times, f"{t_a / t_rk:.2f}", "-"
            )

    def streaming(self, device: str, sizes: list) -> None:
        for cell in [c for c in ("LSTM", "GRU") if c in self.args.cells]:
            for H in sizes:
                self.case(f"streaming {cell} H={H}", self.stream, device, cell, H)


def line(cells: list[str]) -> str:
    return "  ".join(
        f"{c:>{w}}" if n in NUMERIC else f"{c:<{w}}"
        for c, (n, w) in zip(cells, COLUMNS, strict=True)
    ).rstrip()


def markdown(rows: list[list[str]], header: str) -> str:
    names = [n for n, _ in COLUMNS]
    lines = [
        header,
        "",
        "| " + " | ".join(names) + " |",
        "|" + "|".join("---:" if n in NUMERIC else ":---" for n in names) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    groups = ("plain", "regularized", "streaming", "loop")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = ap.add_argument
    add("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    add("--repeats", type=int, help="timed repeats, median reported (default 9; --quick: 3)")
    add("--min-time", type=float, default=0.05, help="seconds per repeat, at least (0.05)")
    add("--quick", action="store_true", help="smoke test: 3 repeats, smallest shape, H=256")
    add("--only", default=",".join(groups), help="comma list of " + "|".join(groups))
    add("--shapes", help="B,T,H shapes joined by ';' (default: the four of the issue)")
    add("--cells", default="LSTM,GRU,RNN", help="comma list of cells for the layer groups")
    add(
        "--device",
        default="cpu,cuda" if torch.cuda.is_available() else "cpu",
        help="cpu, cuda or cpu,cuda (default: cpu, plus cuda when available)",
    )
    add("--markdown", metavar="FILE", help="also write the table as Markdown")
    args = ap.parse_args(argv)
    only = args.only.split(",")
    devices = args.device.split(",")
    bad = [g for g in only if g not in groups] + [d for d in devices if d not in ("cpu", "cuda")]
    if bad:
        ap.error(f"unknown group or device {bad}")
    if "cuda" in devices and not torch.cuda.is_available():
        ap.error("--device cuda but torch.cuda.is_available() is False")
    if args.repeats is None:
        args.repeats = 3 if args.quick else 9
    torch.set_num_threads(args.threads)
    shapes, sizes = (SHAPES[:1], STREAM_SIZES[:1]) if args.quick else (SHAPES, STREAM_SIZES)
    if args.shapes:
        shapes = [tuple(int(v) for v in s.split(",")) for s in args.shapes.split(";")]
        if any(len(s) != 3 for s in shapes):
            ap.error(f"--shapes wants B,T,H triples joined by ';', got {args.shapes!r}")
    args.cells = args.cells.split(",")
    if set(args.cells) - set(TORCH):
        ap.error(f"unknown cell in --cells {args.cells}; choose from {sorted(TORCH)}")

    header = machine_line(args.threads, devices) + f"; median of {args.repeats} repeats"
    print(header)
    print("ratio = anchor time / rnnkit time (> 1: rnnkit faster); step rows in us/step\n")
    bench = Bench(args)
    print(line([n for n, _ in COLUMNS]))
    for device in devices:
        for group in only:
            getattr(bench, group)(device, sizes if group == "streaming" else shapes)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(bench.rows, header))
        print(f"\nwrote {args.markdown}")
    if bench.failures:
        print(f"{bench.failures} case(s) failed, see above", file=sys.stderr)
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
