"""Scratch: test-time VTLP averaging of CTC posteriors on saved LOSO models (exploration)."""
import json, math, sys
from collections import Counter
import torch
import rnnkit
from rnnkit.data.audio import fsdd_split, fsdd_utterances
from rnnkit.data.features import LogMel
from rnnkit.tasks._ctc import error_rates

torch.set_num_threads(1)
DIGITS = "zero one two three four five six seven eight nine".split()
model_dir, speaker = sys.argv[1], sys.argv[2]
rec = rnnkit.load(model_dir)
_, test = fsdd_split(fsdd_utterances(), f"speaker:{speaker}")
refs = [u.text for u in test]
audio = [rec._load(u) for u in test]
lps = {}
for w in (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15):
    rec._features = LogMel(rec.feature_config, w)
    lps[w] = rec.log_probs(audio)
rec._features = None
res = {}
def score(name, ws):
    avg = [torch.logsumexp(torch.stack([lps[w][i] for w in ws]), 0) - math.log(len(ws)) for i in range(len(audio))]
    for beam, lex in ((1, None), (8, DIGITS)):
        dec = rec._decoder_with({"beam": beam, "lexicon": lex})
        hyps = [dec.decode(lp.numpy()) for lp in avg]
        res[f"{name} beam{beam}"] = round(error_rates(hyps, refs)["wer"], 4)
        if name == "1.0" and beam == 8:
            conf = Counter((r, h) for r, h in zip(refs, hyps) if r != h)
            print("confusions", conf.most_common(12))
for w in lps:
    score(str(w), [w])
score("tta 0.9-1.1 (5)", [0.9, 0.95, 1.0, 1.05, 1.1])
score("tta 0.85-1.15 (7)", list(lps))
print(json.dumps(res, indent=1))
