"""Interleaved timing, machine description and result logs for the benchmarks (no rnnkit
imports)."""

from __future__ import annotations

import datetime
import gc
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _run(fn: Callable[[], object], n: int, device: str) -> float:
    """Seconds taken by ``n`` back-to-back calls of ``fn``."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(n):
        fn()
    _sync(device)
    return time.perf_counter() - start


def calibrate(fn: Callable[[], object], min_time: float, device: str) -> int:
    """The number of calls that takes at least ``min_time`` seconds (doubling from 1)."""
    n = 1
    while _run(fn, n, device) < min_time:
        n *= 2
    return n


def interleaved(
    fns: list[Callable[[], object]], repeats: int, min_time: float, device: str
) -> list[float]:
    """Median seconds per call of each function, timed A, B, ..., A, B, ... in one loop.

    Each function is warmed up, then gets its own call count per repeat (chosen once, so a
    repeat takes >= ``min_time``); interleaving makes machine noise hit all alike.
    """
    for fn in fns:
        fn()
        fn()
    counts = [calibrate(fn, min_time, device) for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    gc.collect()
    for _ in range(repeats):
        for fn, n, acc in zip(fns, counts, samples, strict=True):
            acc.append(_run(fn, n, device) / n)
    return [statistics.median(s) for s in samples]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(threads: int, devices: list[str]) -> str:
    parts = [
        f"CPU: {cpu_model()}, {os.cpu_count()} cores",
        f"torch {torch.__version__}",
        f"threads {threads}",
    ]
    if "cuda" in devices:
        parts.append(f"GPU: {torch.cuda.get_device_name()}")
    parts.append(datetime.date.today().isoformat())
    return "; ".join(parts)


def append_row(row: dict, path: str | Path) -> None:
    """Append ``row`` as one JSON line to the log at ``path`` (its folder made if needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
