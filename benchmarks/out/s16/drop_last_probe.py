"""Session 16 context probe: how much the "drop_last" test loader of several published
ETT results (the last incomplete test batch left out) changes a test MSE here.

For each saved model, the test MSE over every window (this project's protocol) and over
the windows a loader with batch size 128 and drop_last=True would score (the first
128 * floor(N / 128) windows; PatchTST's ETTh2 script uses batch 128). Not a result of
rnnkit's: a measure of the protocol difference between rnnkit's numbers and the anchors.

    RNNKIT_DATA_DIR=../shared/data python benchmarks/out/s16/drop_last_probe.py DIR/ETTh2_96 ...
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/

import rnnkit
from forecast_ett import load

BATCH = 128
for d in sys.argv[1:]:
    fc = rnnkit.load(d)
    _, split = load("ETTh2", fc.lookback)
    test = split["test"]
    n = len(test) - fc.lookback - fc.horizon + 1
    kept = BATCH * (n // BATCH)
    full = fc.evaluate(test)["mse"]
    dropped = fc.evaluate(test.slice(0, kept + fc.lookback + fc.horizon - 1))
    assert dropped["windows"] == kept, (dropped["windows"], kept)
    print(f"{d}: H {fc.horizon}: every window ({n}) {full:.4f}; "
          f"drop_last 128 ({kept}) {dropped['mse']:.4f}")
