"""The ETT results table from ``forecast_ett.py``'s log, each row chosen on validation.

Every (dataset, horizon) may have several logged runs (e.g. schedules of different lengths);
the one with the lowest validation MSE (``val_mse``: every validation window, the target's
metric) is the result, and test numbers never enter the choice. Prints a Markdown table with
the candidates, the chosen run, and the four-horizon averages beside PatchTST and DLinear
(published, and rerun on every test window: ``forecast_ett.AVERAGE_ANCHORS``).

    python benchmarks/forecast_ett_table.py benchmarks/out/forecast_ett_s4.jsonl [more.jsonl]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

from forecast_ett import AVERAGE_ANCHORS, HORIZONS


def schedule(r: dict) -> str:
    c = r["config"]
    name = f"{c['steps']} steps" if c.get("steps") else f"{c['time']:.0f} s"
    if c.get("segment", 48) != 48:
        name = f"{name}, w = {c['segment']}"
    if c.get("hidden", 256) != 256:
        name = f"{name}, d = {c['hidden']}"
    if c.get("lr", 2e-3) != 2e-3:
        name = f"{name}, lr {c['lr']:g}"
    if c.get("highway"):
        name = f"{name}, highway {c['highway']}"
    if c.get("val_every", 100) != 100:
        name = f"{name}, validated every {c['val_every']}"
    return name if c.get("channel_embedding", True) else f"{name}, no channel embedding"


def main(paths: list[str]) -> int:
    runs = defaultdict(list)
    for path in paths:
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            if r.get("val_mse") is not None:  # older lines cannot be chosen on validation
                runs[(r["dataset"], r["horizon"])].append(r)
    print(
        "| dataset | H | candidates: schedule (val MSE) | chosen | train s | test MSE | test MAE "
        "| last value MSE | PatchTST/64 | DLinear |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    chosen = {}
    for (ds, h), rs in sorted(runs.items()):
        best = min(rs, key=lambda r: r["val_mse"])
        chosen[ds, h] = best
        cands = ", ".join(f"{schedule(r)} ({r['val_mse']:.4f})" for r in rs)
        i = HORIZONS.index(h) if h in HORIZONS else None
        anchors = [AVERAGE_ANCHORS[a].get(ds, (None,) * 4)[i] if i is not None else None
                   for a in ("PatchTST/64", "DLinear")]  # fmt: skip
        cells = [f"{a:.3f}" if a is not None else "" for a in anchors]
        print(
            f"| {ds} | {h} | {cands} | {schedule(best)} | {best['train_s']:.0f} | "
            f"**{best['mse']:.4f}** | {best['mae']:.4f} | {best['last_value'][0]:.4f} | "
            f"{cells[0]} | {cells[1]} |"
        )
    print()
    for ds in sorted({d for d, _ in chosen}):
        got = [chosen.get((ds, h)) for h in HORIZONS]
        if any(r is None for r in got):
            missing = [h for h, r in zip(HORIZONS, got) if r is None]
            print(f"- {ds}: horizons {missing} not measured, no average")
            continue
        mse = sum(r["mse"] for r in got) / 4
        mae = sum(r["mae"] for r in got) / 4
        refs = {a: sum(v[ds]) / 4 for a, v in AVERAGE_ANCHORS.items() if ds in v}
        verdict = all(mse <= v + 5e-5 for v in refs.values())
        print(
            f"- {ds}: average test MSE {mse:.4f} (MAE {mae:.4f}) against "
            + ", ".join(f"{a} {v:.4f}" for a, v in refs.items())
            + (" -> at or below every one" if verdict else " -> above at least one")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
