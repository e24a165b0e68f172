"""Scratch prototype: a minGRU char LM on Tiny Shakespeare in 71 s (plain torch)."""
import argparse, json, math, os, time
from pathlib import Path
import torch, torch.nn as nn, torch.nn.functional as F

def log_g(x):
    return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))

def scan(k, hraw):
    log_z, log_1mz = -F.softplus(-k), -F.softplus(k)
    a_star = torch.cumsum(log_1mz, dim=1)
    log_h = a_star + torch.logcumsumexp(log_z + log_g(hraw) - a_star, dim=1)
    return log_h.exp()

class MinGRU(nn.Module):
    def __init__(s, d, dh):
        super().__init__(); s.inp = nn.Linear(d, 2 * dh); s.out = nn.Linear(dh, d) if dh != d else nn.Identity()
    def forward(s, x):
        k, h = s.inp(x).chunk(2, -1)
        return s.out(scan(k, h))

class TorchRNN(nn.Module):
    def __init__(s, d):
        super().__init__(); s.r = (nn.LSTM if RNN == "lstm" else nn.GRU)(d, d, batch_first=True)
    def forward(s, x):
        return s.r(x)[0]

class Block(nn.Module):
    def __init__(s, d, expand, mlp, conv):
        super().__init__()
        s.n1 = nn.LayerNorm(d); s.rnn = MinGRU(d, int(d * expand)) if RNN == "mingru" else TorchRNN(d)
        s.conv = nn.Conv1d(d, d, 4, groups=d, padding=3) if conv else None
        s.n2 = nn.LayerNorm(d) if mlp else None
        s.mlp = nn.Sequential(nn.Linear(d, mlp * d), nn.GELU(), nn.Linear(mlp * d, d)) if mlp else None
    def forward(s, x):
        if s.conv is not None:
            x = x + s.conv(x.transpose(1, 2))[..., : x.shape[1]].transpose(1, 2)
        x = x + s.rnn(s.n1(x))
        if s.mlp is not None:
            x = x + s.mlp(s.n2(x))
        return x

ap = argparse.ArgumentParser()
ap.add_argument("--time", type=float, default=71.0); ap.add_argument("--dim", type=int, default=256)
ap.add_argument("--layers", type=int, default=3); ap.add_argument("--expand", type=float, default=1.0)
ap.add_argument("--mlp", type=int, default=0); ap.add_argument("--conv", type=int, default=0)
ap.add_argument("--batch-size", type=int, default=16); ap.add_argument("--bptt", type=int, default=64)
ap.add_argument("--lr", type=float, default=3e-3); ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=0); ap.add_argument("--rnn", default="mingru")
a = ap.parse_args(); RNN = a.rnn
torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
text = (Path(os.environ["RNNKIT_DATA_DIR"]) / "tinyshakespeare" / "input.txt").read_text()
chars = sorted(set(text)); idx = {c: i for i, c in enumerate(chars)}
data = torch.tensor([idx[c] for c in text]); n = int(len(data) * 0.9)
train, val, V = data[:n], data[n:], len(chars)
model = nn.Sequential(nn.Embedding(V, a.dim), *[Block(a.dim, a.expand, a.mlp, a.conv) for _ in range(a.layers)], nn.LayerNorm(a.dim), nn.Linear(a.dim, V))
params = list(model.parameters()); print("params", sum(p.numel() for p in params))
opt = torch.optim.AdamW(params, a.lr, betas=(0.9, 0.99), weight_decay=0.0)
t0, step = time.perf_counter(), 0
while (el := time.perf_counter() - t0) < a.time:
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, el / a.time)))
    for g in opt.param_groups: g["lr"] = a.lr * min(1.0, (step + 1) / 30) * cos
    st = torch.randint(0, len(train) - a.bptt - 1, (a.batch_size,)).tolist()
    x = torch.stack([train[i:i + a.bptt] for i in st]); y = torch.stack([train[i + 1:i + a.bptt + 1] for i in st])
    loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step(); step += 1
ts = time.perf_counter() - t0
model.eval()
with torch.no_grad():
    m = (len(val) - 1) // 64
    x, y = val[: m * 64].view(m, 64), val[1: m * 64 + 1].view(m, 64)
    w = sum(F.cross_entropy(model(x[i:i+256]).reshape(-1, V), y[i:i+256].reshape(-1), reduction="sum").item() for i in range(0, m, 256)) / (m * 64)
print(json.dumps({"cfg": vars(a), "steps": step, "train_s": round(ts, 1), "windows64": round(w, 4)}))
