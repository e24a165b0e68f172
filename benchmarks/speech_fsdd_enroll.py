"""Per-speaker normalisation: how many recordings of a new voice does it need?

    RNNKIT_DATA_DIR=../shared/data python benchmarks/speech_fsdd_enroll.py \
        --runs /tmp/fsdd_seed0 [--counts 1 3 10 50]

Each ``--runs`` folder is the ``--out`` of a ``speech_fsdd.py --part loso --normalize
speaker`` run (one model directory ``loso_SPEAKER`` per held-out speaker). For every held-out
speaker, that speaker's 500 recordings are shuffled once (seed 0); the last 450 are the
evaluation set of every row, and the first ``k`` (``k`` <= 50) are the enrolment recordings
whose band statistics normalise all 450 (``SpeechRecognizer.enroll``; their transcripts are
never read). Two more rows: "alone" (no speaker given: each recording normalised by its own
statistics, which the model never saw in training) and "together" (the 450 normalised by
their joint statistics, as ``speech_fsdd.py``'s evaluation does with all 500). WER greedy and
with beam 8 restricted to the digit words, as in ``speech_fsdd.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import warnings
from pathlib import Path

import torch

from rnnkit.data.audio import DIGIT_WORDS, FSDD_SPEAKERS, fsdd_split, fsdd_utterances
from rnnkit.tasks.speech import SpeechRecognizer
from speech_fsdd_ensemble import decode

HELD_BACK = 50  # recordings reserved for enrolment; the other 450 are evaluated


DECODINGS = {
    "wer": {"beam": 1, "lexicon": None},
    "wer_beam8_lexicon": {"beam": 8, "lexicon": DIGIT_WORDS},
}


def score(rec: SpeechRecognizer, paths: list[str], refs: list[str], speakers) -> dict:
    """WER of each decoding, from one pass of the model (features and posteriors once)."""
    with warnings.catch_warnings():  # "alone" is measured on purpose
        warnings.simplefilter("ignore", UserWarning)
        log_probs = rec.log_probs(paths, speakers=speakers)
    return decode(rec, log_probs, refs, DECODINGS)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=Path, nargs="+", required=True, help="speech_fsdd.py --out's")
    p.add_argument("--speakers", nargs="*", default=list(FSDD_SPEAKERS))
    p.add_argument("--counts", type=int, nargs="*", default=[1, 3, 10, 50])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if any(not 1 <= k <= HELD_BACK for k in args.counts):
        p.error(f"--counts must lie in 1..{HELD_BACK}")
    torch.set_num_threads(args.threads)
    items = fsdd_utterances()
    rows: dict[str, list[float]] = {}
    for run in args.runs:
        for speaker in args.speakers:
            rec = SpeechRecognizer.load(run / f"loso_{speaker}")
            if rec.normalization != "speaker":
                p.error(f"{run / f'loso_{speaker}'} was not trained with --normalize speaker")
            test = fsdd_split(items, f"speaker:{speaker}")[1]
            random.Random(0).shuffle(test)
            enrol, evaluated = test[:HELD_BACK], test[HELD_BACK:]
            paths, refs = [u.path for u in evaluated], [u.text for u in evaluated]
            res = {"alone": score(rec, paths, refs, None),
                   "together": score(rec, paths, refs, [speaker] * len(paths))}  # fmt: skip
            for k in args.counts:
                rec.enroll("enrolled", [u.path for u in enrol[:k]])
                res[f"enrol_{k}"] = score(rec, paths, refs, ["enrolled"] * len(paths))
            print(f"{run.name} {speaker}: {json.dumps(res)}", flush=True)
            for key, r in res.items():
                rows.setdefault(key, []).append(r["wer_beam8_lexicon"])
                rows.setdefault(key + " (greedy)", []).append(r["wer"])
    print(json.dumps({k: round(statistics.mean(v), 4) for k, v in rows.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
