"""Compiled step kernels for the ``loop`` backend on CPU (the LSTM cell, for now).

The ``loop`` backend's time loop spends its time in two kinds of work per step: one matrix
product (MKL, through torch) and a dozen small elementwise ops (layer norms, activations, the
cell update, zoneout), each a separate torch call that reads and writes the whole ``(B, 4H)``
step from memory.  ``csrc/lstm_cell.c`` does all the elementwise work of a step in one pass
over each batch row, forward and backward.  It is plain C (no torch headers, so it compiles in
about a second), built on first use with the system's C compiler into a per-user cache, and
called through :mod:`ctypes` with the addresses of the loop's preallocated buffers.

Where there is no C compiler, or the build fails, or ``RNNKIT_FUSED_CELL=0`` is set, the loop
runs its torch-op version of the same step (:mod:`rnnkit.kernels.loop`); both are tested equal.
:func:`status` says which one runs and why.

Build details:

* ``-O3 -march=native -ffast-math``: the build machine is the machine that runs it (the cache
  key includes the CPU's model and flags), and ``-ffast-math`` is what lets the compiler call
  glibc's vectorised ``expf``.  The object is linked in a second compiler call
  *without* ``-ffast-math``: linking a shared library with it (GCC < 13) adds a constructor
  that turns on flush-to-zero for the whole process.
* The cache is ``$RNNKIT_CACHE_DIR/kernels`` (default ``~/.cache/rnnkit/kernels``, beside
  the downloads); the library is written under a temporary name and renamed, so concurrent
  first uses (DDP ranks, test workers) do not see a half-written file.
* glibc's vectorised ``tanhf`` costs ~1.6x its ``expf``, so the float kernel computes tanh
  through ``expf`` (``lstm_cell.c``).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

__all__ = ["ENV_SWITCH", "disabled", "enabled", "lstm_kernels", "status"]

#: Set to ``0`` to run the torch-op version of the loop instead of the compiled kernels.
ENV_SWITCH = "RNNKIT_FUSED_CELL"
_ABI = 2
_SRC = Path(__file__).with_name("csrc")
_SOURCES = ("lstm_cell.c", "lstm_cell.h")
_FLAGS = ["-O3", "-ffast-math", "-fPIC", "-std=c99"]
_lock = threading.Lock()
_loaded: dict[str, object] = {}  # "lib": CDLL or None, "why": str


def _cpu_key() -> str:
    model = flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{platform.machine()}|{model}|{flags}"


def _cache_dir() -> Path:
    """rnnkit's cache, as for downloads (:mod:`rnnkit.data.registry`)."""
    root = os.environ.get("RNNKIT_CACHE_DIR", "")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "rnnkit"


def _compiler() -> str | None:
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


def _run(cmd: list[str]) -> str | None:
    """Run a build command; None on success, else the last line of what it printed."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return f"{type(e).__name__}: {e}"
    if p.returncode == 0:
        return None
    lines = (p.stderr or p.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {p.returncode}"


def _build(cc: str, target: Path) -> str | None:
    """Compile the kernels into ``target``; None on success, else why not."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        obj, lib = Path(tmp) / "lstm_cell.o", Path(tmp) / target.name
        err = "not tried"
        for arch in (["-march=native"], []):  # some compilers / CPUs reject -march=native
            err = _run([cc, *_FLAGS, *arch, "-c", str(_SRC / "lstm_cell.c"), "-o", str(obj)])
            if err is None:
                break
        if err is not None:
            return f"compiling with {cc} failed: {err}"
        err = _run([cc, "-shared", str(obj), "-o", str(lib), "-lm"])
        if err is not None:
            return f"linking with {cc} failed: {err}"
        os.replace(lib, target)  # atomic: a concurrent build loses the race harmlessly
    return None


def _load() -> tuple[object | None, str]:
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return None, f"disabled by {ENV_SWITCH}=0"
    cc = _compiler()
    h = hashlib.sha256()
    for name in _SOURCES:
        h.update((_SRC / name).read_bytes())
    h.update(" ".join([cc or "", *_FLAGS, _cpu_key()]).encode())
    target = _cache_dir() / "kernels" / f"lstm_cell-{h.hexdigest()[:16]}.so"
    if not target.exists():
        if cc is None:
            return None, "no C compiler found (set CC)"
        try:
            err = _build(cc, target)
        except OSError as e:
            err = f"cannot write the kernel cache {target.parent}: {e}"
        if err is not None:
            return None, err
    try:
        lib = ctypes.CDLL(str(target))
        if lib.rk_abi_version() != _ABI:
            return None, f"{target} has a different ABI version"
    except OSError as e:
        return None, f"cannot load {target}: {e}"
    return lib, f"compiled C kernels ({target})"


def _lib():
    if "lib" not in _loaded:
        with _lock:
            if "lib" not in _loaded:
                _loaded["lib"], _loaded["why"] = _load()
    return _loaded["lib"]


def status() -> str:
    """Which version of the loop's step runs on CPU, and why."""
    return ("fused: " if _lib() is not None else "torch ops: ") + str(_loaded["why"])


def enabled() -> bool:
    """True when the compiled kernels are built and loaded (and not switched off)."""
    return _lib() is not None


class _LSTMKernels:
    """``fwd`` / ``bwd``: the C step functions for one dtype, taking addresses (ints or None)."""

    def __init__(self, lib, suffix: str, real) -> None:
        p, i = ctypes.c_void_p, ctypes.c_int
        self.fwd = getattr(lib, f"rk_lstm_fwd_{suffix}")
        self.fwd.argtypes = [i, i, real, p, i, p, p, p, i, *[p] * 7, i, *[p] * 11]
        self.fwd.restype = None
        self.bwd = getattr(lib, f"rk_lstm_bwd_{suffix}")
        self.bwd.argtypes = [i, i, *[p] * 7, i, *[p] * 21]
        self.bwd.restype = None


_kernels: dict[torch.dtype, _LSTMKernels] = {}
_off = [0]


@contextmanager
def disabled() -> Iterator[None]:
    """Run the torch-op version of the loop inside this block (for comparisons and tests)."""
    _off[0] += 1
    try:
        yield
    finally:
        _off[0] -= 1


def lstm_kernels(x: torch.Tensor) -> _LSTMKernels | None:
    """The LSTM step kernels for ``x``'s dtype, or None where they do not apply (not CPU, not
    float32/float64, or not built)."""
    if _off[0] or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return None
    k = _kernels.get(x.dtype)
    if k is None:
        lib = _lib()
        if lib is None:
            return None
        if x.dtype == torch.float32:
            k = _LSTMKernels(lib, "f32", ctypes.c_float)
        else:
            k = _LSTMKernels(lib, "f64", ctypes.c_double)
        _kernels[x.dtype] = k
    return k
