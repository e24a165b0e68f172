"""Session 16 throwaway probe (kept so that its numbers can be checked; not an rnnkit model).

RevIN + one linear map from the 720-step lookback to the horizon, channel independent (the
"RLinear" shape), fitted in closed form by ridge regression (lambda 1000) on every training
window of the ETT protocol. Training windows whose RevIN-scaled target exceeds 20 in
absolute value (~1% of them: near-constant lookbacks, whose standard deviation is ~0.003,
blow their targets up to ~1,300 and swamp a least-squares fit) are left out of the fit;
every validation and test window is scored, on the z-scored scale like forecast_ett.py.

    RNNKIT_DATA_DIR=../shared/data python benchmarks/out/s16/linear_probe.py ETTh2 [--test]
"""

import os
import sys

import numpy as np
import pandas as pd

name = sys.argv[1]
k = 4 if name.startswith("ETTm") else 1
x = pd.read_csv(os.path.join(os.environ["RNNKIT_DATA_DIR"], "ett", f"{name}.csv"))
x = x.iloc[:, 1:].to_numpy(float)
tr, va, te = 8640 * k, 11520 * k, 14400 * k
z = (x - x[:tr].mean(0)) / x[:tr].std(0)
L, LAM = 720, 1e3


def windows(lo, hi, H, stride=1):
    starts = np.arange(lo - L, hi - L - H + 1, stride)
    w = z[starts[:, None] + np.arange(L + H)].transpose(0, 2, 1).reshape(-1, L + H)
    past, fut = w[:, :L], w[:, L:]
    m, s = past.mean(1, keepdims=True), np.sqrt(past.var(1, keepdims=True) + 1e-5)
    return np.hstack([(past - m) / s, np.ones((len(past), 1))]), fut, m, s


scores = []
for H in (96, 192, 336, 720):
    A, F, m, s = windows(L, tr, H, k)
    Fn = (F - m) / s
    keep = np.abs(Fn).max(1) < 20
    A, Fn = A[keep], Fn[keep]
    W = np.linalg.solve(A.T @ A + LAM * np.eye(A.shape[1]), A.T @ Fn)
    row = [H, f"kept {keep.mean():.3f}"]
    for what, lo, hi in (("val", tr, va), ("test", va, te)):
        if what == "test" and "--test" not in sys.argv:
            continue
        A2, F2, m2, s2 = windows(lo, hi, H)
        mse = float((((A2 @ W) * s2 + m2 - F2) ** 2).mean())
        row.append(f"{what} MSE {mse:.4f}")
        if what == "test":
            scores.append(mse)
    print(name, *row)
if scores:
    print(name, f"four-horizon test MSE {np.mean(scores):.4f}")
