"""The compiled LSTM step kernels: that they are used, that building them cannot hurt the
process, and that every way of not having them falls back to the torch-op loop.

Their numerics are tested in test_loop.py (the ``fused`` param of its ``impl`` fixtures runs
every LSTM loop test through them, against independent references).
"""

import os
import subprocess
import sys

import pytest
import torch

from rnnkit.kernels import fused
from rnnkit.kernels.loop import lstm_loop

needs_kernels = pytest.mark.skipif(not fused.enabled(), reason=f"{fused.status()}")


class _Counting:
    def __init__(self, real):
        self.real, self.calls = real, {"fwd": 0, "bwd": 0}

    def _wrap(self, name):
        fn = getattr(self.real, name)

        def call(*args):
            self.calls[name] += 1
            return fn(*args)

        return call

    @property
    def fwd(self):
        return self._wrap("fwd")

    @property
    def bwd(self):
        return self._wrap("bwd")


@needs_kernels
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_each_step_runs_one_kernel_call_forward_and_backward(dtype, monkeypatch):
    real = fused.lstm_kernels(torch.empty(0, dtype=dtype))
    counting = _Counting(real)
    monkeypatch.setattr(fused, "lstm_kernels", lambda x: counting)
    T, B, H = 6, 3, 5
    g = torch.Generator().manual_seed(0)
    xg = torch.randn(T, B, 4 * H, generator=g, dtype=dtype, requires_grad=True)
    h0, c0 = torch.zeros(B, H, dtype=dtype), torch.zeros(B, H, dtype=dtype)
    w = torch.randn(4 * H, H, generator=g, dtype=dtype, requires_grad=True)
    ln = (torch.ones(4 * H, dtype=dtype), torch.zeros(4 * H, dtype=dtype))
    y, _h, c = lstm_loop(xg, h0, c0, w, ln_hh=ln, ln_x=ln)
    assert counting.calls == {"fwd": T, "bwd": 0}
    (y.sum() + c.sum()).backward()
    assert counting.calls == {"fwd": T, "bwd": T}
    assert torch.isfinite(xg.grad).all() and xg.grad.abs().sum() > 0


def test_kernels_only_for_cpu_float32_and_float64():
    for dtype in (torch.bfloat16, torch.float16, torch.int32):
        assert fused.lstm_kernels(torch.empty(1, dtype=dtype)) is None
    with fused.disabled():
        assert fused.lstm_kernels(torch.empty(1)) is None


@needs_kernels
def test_loading_the_library_keeps_denormals():
    """Linking a shared object with -ffast-math (GCC < 13) adds a constructor that sets
    flush-to-zero for the whole process; the build links without it."""
    tiny = torch.tensor([1e-40], dtype=torch.float32)  # a float32 denormal
    assert (tiny * 1.0).item() != 0.0
    assert (tiny * 0.5).item() != 0.0


_PROBE = """
import torch
from rnnkit.kernels import fused
from rnnkit.kernels.loop import lstm_loop
print(fused.status())
x = torch.randn(4, 2, 12, requires_grad=True)
ln = (torch.ones(12), torch.zeros(12))
y, h, c = lstm_loop(x, torch.zeros(2, 3), torch.zeros(2, 3), torch.randn(12, 3), ln_x=ln)
y.sum().backward()
print("ok", bool(torch.isfinite(x.grad).all()))
"""


def _probe(tmp_path, **env):
    full = {**os.environ, "RNNKIT_CACHE_DIR": str(tmp_path / "cache"), **env}
    p = subprocess.run([sys.executable, "-c", _PROBE], env=full, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_switched_off_by_environment(tmp_path):
    status, result = _probe(tmp_path, RNNKIT_FUSED_CELL="0")
    assert status == "torch ops: disabled by RNNKIT_FUSED_CELL=0"
    assert result == "ok True"


def test_a_failing_compiler_falls_back_to_torch_ops(tmp_path):
    status, result = _probe(tmp_path, CC="false")
    assert status.startswith("torch ops: compiling with false failed"), status
    assert result == "ok True"
    assert not list((tmp_path / "cache").rglob("*.so"))  # nothing half-built left behind


@needs_kernels
def test_builds_into_the_cache_once(tmp_path):
    status, result = _probe(tmp_path)
    assert status.startswith("fused: compiled C kernels") and result == "ok True"
    (lib,) = (tmp_path / "cache").rglob("*.so")
    stamp = lib.stat().st_mtime_ns
    assert _probe(tmp_path)[0] == status
    assert lib.stat().st_mtime_ns == stamp  # reused, not rebuilt
