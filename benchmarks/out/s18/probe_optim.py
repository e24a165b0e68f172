"""Session 18 throwaway probe: where a 10-minute Tiny Shakespeare training step's time goes
(residual 3x384 LSTM, batch 16 x 64, 2 threads), and AdamW's default (foreach) step against
its fused one. Medians of interleaved repeats; run alone."""

import statistics
import time

import torch

from rnnkit.tasks._lm import LanguageModel, LMConfig, lm_loss

torch.set_num_threads(2)
torch.manual_seed(0)
model = LanguageModel(LMConfig(65, hidden_size=384, num_layers=3, residual=True))
params = [p for p in model.parameters()]
print("parameters", sum(p.numel() for p in params))


def opt_for(fused):
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.2}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.99), fused=fused)


opts = {"foreach": opt_for(False), "fused": opt_for(True)}
ema = [p.detach().clone() for p in params]
x = torch.randint(0, 65, (16, 64))
y = torch.randint(0, 65, (16, 64))
times = {k: [] for k in ("fwd+bwd", "clip", "foreach", "fused", "ema")}
for i in range(25):
    t0 = time.perf_counter()
    out, _ = model(x)
    loss = lm_loss(out, y)[0]
    for o in opts.values():
        o.zero_grad(set_to_none=True)
    loss.backward()
    t1 = time.perf_counter()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    t2 = time.perf_counter()
    for name in ("foreach", "fused") if i % 2 else ("fused", "foreach"):
        s = time.perf_counter()
        opts[name].step()
        times[name].append(time.perf_counter() - s)
    t3 = time.perf_counter()
    torch._foreach_lerp_(ema, [p.detach() for p in params], 0.002)
    t4 = time.perf_counter()
    if i >= 5:
        times["fwd+bwd"].append(t1 - t0)
        times["clip"].append(t2 - t1)
        times["ema"].append(t4 - t3)
for k, v in times.items():
    v = v[5:] if k in ("foreach", "fused") else v
    print(f"{k:8s} median {statistics.median(v) * 1e3:7.2f} ms  (n={len(v)})")
