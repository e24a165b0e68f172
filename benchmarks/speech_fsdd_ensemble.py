"""Leave-one-speaker-out ensembles: average the frame posteriors of saved LOSO models.

    RNNKIT_DATA_DIR=../shared/data python benchmarks/speech_fsdd_ensemble.py \
        --runs /tmp/fsdd_seed0 /tmp/fsdd_seed1

Each ``--runs`` folder is the ``--out`` of a ``speech_fsdd.py --part loso`` run (it holds one
model directory ``loso_SPEAKER`` per held-out speaker). For every speaker, the members (same
features, vocabulary and frame rate) are run on that speaker's 500 recordings, their
per-frame log-probabilities are averaged as probabilities (log of the mean), and the average
is decoded greedily, with beam 8, and with beam 8 restricted to the digit words (the last as
``speech_fsdd.py`` decodes a single model). An average of CTC models decodes badly without
the word list: where the members' label spikes fall on different frames, each is halved and
blank wins the frame (see RESULTS.md). Each member is also scored alone, so the log shows
that the folders hold the logged runs. The test recordings never enter training or the
choice of members.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import torch

from rnnkit.data.audio import DIGIT_WORDS, FSDD_SPEAKERS, fsdd_split, fsdd_utterances
from rnnkit.tasks._ctc import error_rates
from rnnkit.tasks.speech import SpeechRecognizer

DECODINGS = {  # key -> decoder options
    "wer": {"beam": 1, "lexicon": None},
    "wer_beam8": {"beam": 8, "lexicon": None},
    "wer_beam8_lexicon": {"beam": 8, "lexicon": DIGIT_WORDS},
}


def decode(rec: SpeechRecognizer, log_probs: list[torch.Tensor], refs: list[str],
           decodings: dict | None = None) -> dict:  # fmt: skip
    """WER of each decoding (``decodings``: key -> decoder options; default DECODINGS)."""
    out = {}
    for key, options in (decodings or DECODINGS).items():
        decoder = rec._decoder_with(options)
        out[key] = error_rates([decoder.decode(lp.numpy()) for lp in log_probs], refs)["wer"]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=Path, nargs="+", required=True, help="speech_fsdd.py --out's")
    p.add_argument("--speakers", nargs="*", default=list(FSDD_SPEAKERS))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    items = fsdd_utterances()
    res: dict = {}
    for speaker in args.speakers:
        _, test = fsdd_split(items, f"speaker:{speaker}")
        refs = [u.text for u in test]
        members = [SpeechRecognizer.load(run / f"loso_{speaker}") for run in args.runs]
        first = members[0]
        for m in members[1:]:
            if m.vocab != first.vocab or m.feature_config != first.feature_config:
                raise SystemExit(f"{speaker}: the members differ in vocabulary or features")
        outs = [m.log_probs(test) for m in members]
        row = {"members": [decode(m, o, refs) for m, o in zip(members, outs)]}
        mean = [
            torch.logsumexp(torch.stack([o[i] for o in outs]), 0) - math.log(len(outs))
            for i in range(len(test))
        ]
        row["ensemble"] = decode(first, mean, refs)
        res[speaker] = row
        print(f"  {speaker}: {json.dumps(row)}", flush=True)
    for key in DECODINGS:
        res[f"average_{key}"] = statistics.mean(res[s]["ensemble"][key] for s in args.speakers)
        for i in range(len(args.runs)):
            res[f"average_{key}_member{i}"] = statistics.mean(
                res[s]["members"][i][key] for s in args.speakers
            )
    print(json.dumps({k: v for k, v in res.items() if k.startswith("average")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
