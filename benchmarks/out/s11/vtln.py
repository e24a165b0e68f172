"""Scratch: test-time warp selection (VTLN by maximum CTC likelihood) on saved LOSO models."""
import json, sys
import numpy as np, torch
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
WARPS = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2)
dec = rec._decoder_with({"beam": 8, "lexicon": DIGITS})
hyp, score, gscore, ghyp = {}, {}, {}, {}
g = rec._decoder_with({"beam": 1})
for w in WARPS:
    rec._features = LogMel(rec.feature_config, w)
    lps = [lp.numpy() for lp in rec.log_probs(audio)]
    out = [dec.beam_search(lp) for lp in lps]
    hyp[w] = [dec.text(o[0][0]) if o else "" for o in out]
    score[w] = np.array([o[0][1] if o else -1e9 for o in out])
    ghyp[w] = [g.decode(lp) for lp in lps]
    gscore[w] = np.array([lp.max(1).sum() for lp in lps])
res = {f"fixed {w}": error_rates(hyp[w], refs)["wer"] for w in WARPS}
for name, ws in (("0.9-1.1", [0.9, 0.95, 1.0, 1.05, 1.1]), ("0.85-1.15", [0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15]), ("0.8-1.2", list(WARPS))):
    for kind, H, S in (("lex", hyp, score), ("greedy", ghyp, gscore)):
        S_ = np.stack([S[w] for w in ws])  # (K, N)
        pick = S_.argmax(0)
        res[f"{kind} per-utt {name}"] = error_rates([H[ws[k]][i] for i, k in enumerate(pick)], refs)["wer"]
        best = ws[int(S_.sum(1).argmax())]
        res[f"{kind} per-speaker {name} (warp {best})"] = error_rates(H[best], refs)["wer"]
        # per speaker from the first 50 utterances only (an enrolment set)
        b50 = ws[int(S_[:, :50].sum(1).argmax())]
        res[f"{kind} per-speaker-50 {name} (warp {b50})"] = error_rates(H[b50], refs)["wer"]
print(json.dumps({k: round(v, 4) for k, v in res.items()}, indent=1))
