"""SST-2: average the class probabilities of classifiers that `classify_sst2.py` trained.

Each ``--group`` is one ensemble (model directories written by ``classify_sst2.py --out``);
the script reports each member's and each ensemble's dev and test accuracy, and the mean and
spread over the groups, as ``classify_sst2.py`` does over seeds.  Members of one group are
meant to be trained at the same time, one per CPU core (two ``classify_sst2.py`` processes
with different ``--seeds``), so an ensemble of two costs the issue's 5 minutes on 2 cores.

    RNNKIT_DATA_DIR=../shared/data python benchmarks/classify_sst2_ensemble.py \\
        --group OUT_A/seed0 OUT_B/seed10 --group OUT_A/seed1 OUT_B/seed11 ...
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

import rnnkit
from rnnkit.data import dataset_path
from rnnkit.data.labeled import read_labeled


def accuracy(probs: np.ndarray, classes: list, labels: list) -> float:
    pred = [classes[i] for i in probs.argmax(1)]
    return float(np.mean([p == y for p, y in zip(pred, labels, strict=True)]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--group", nargs="+", action="append", required=True, metavar="MODEL_DIR")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    if not os.environ.get("RNNKIT_DATA_DIR"):
        ap.error("set RNNKIT_DATA_DIR (e.g. ../shared/data)")
    torch.set_num_threads(args.threads)
    splits = {s: read_labeled(dataset_path("sst2", s)) for s in ("dev", "test")}

    groups = []
    for members in args.group:
        models = [rnnkit.load(m) for m in members]
        classes = models[0].classes
        if any(m.classes != classes for m in models):
            ap.error(f"the models of group {members} have different label sets")
        row = {"members": members, "member_acc": {}, "ensemble": {}}
        for split, (texts, labels) in splits.items():
            probs = [m.predict_proba(texts) for m in models]
            row["member_acc"][split] = [accuracy(p, classes, labels) for p in probs]
            row["ensemble"][split] = accuracy(np.mean(probs, axis=0), classes, labels)
        groups.append(row)
        members_txt = ", ".join(f"{a:.4f}" for a in row["member_acc"]["test"])
        ens = row["ensemble"]
        print(f"{' + '.join(members)}: members test {members_txt} -> ensemble dev "
              f"{ens['dev']:.4f} test {ens['test']:.4f}", flush=True)  # fmt: skip
    tests = [g["ensemble"]["test"] for g in groups]
    single = [a for g in groups for a in g["member_acc"]["test"]]
    spread = statistics.stdev(tests) if len(tests) > 1 else 0.0
    print(f"\nensemble test accuracy: mean {statistics.mean(tests):.4f}, std {spread:.4f} over "
          f"{len(tests)} ensembles; single models: mean {statistics.mean(single):.4f} over "
          f"{len(single)}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"groups": groups, "mean": statistics.mean(tests),
                                               "std": spread}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
