"""Session-15 probe (throwaway, kept as the record of what ran): the 10-minute Shakespeare
benchmark with extra weight averages kept beside the engine's, all scored on windows64 at the
end. The training trajectory is the benchmark's own; the extra averages only cost time.

Averages (n = updates before this one):
  P10   decay min(0.9995, (1+n)/(10+n))   the engine's (check: equals the benchmark number)
  P6/P4/P3  decay (1+n)/(K+n)             polynomial averages over a longer tail
  E999/E9995  constant decay from zero, bias-corrected (Adam-style)
"""
import json, os, sys, time, torch
sys.path.insert(0, "benchmarks")
from rnnkit.train import module as M
import textgen_shakespeare as tb

SH = {}
_orig = M.RecurrentTask._update_average

def _patched(self):
    _orig(self)
    ps = [p.detach() for p in self.parameters()]
    n = self.global_step - 1
    if not SH:
        SH["names"] = [k for k, _ in self.named_parameters()]
        for k in ("P6", "P4", "P3"):
            SH[k] = [p.clone() for p in ps]
        for k in ("E999", "E9995"):
            SH[k] = [torch.zeros_like(p) for p in ps]
        SH["n"] = 0
    for k, K in (("P6", 6), ("P4", 4), ("P3", 3)):
        d = (1 + n) / (K + n)
        torch._foreach_lerp_(SH[k], ps, 1.0 - d)
    for k, d in (("E999", 0.999), ("E9995", 0.9995)):
        torch._foreach_mul_(SH[k], d)
        torch._foreach_add_(SH[k], ps, alpha=1.0 - d)
    SH["n"] += 1

M.RecurrentTask._update_average = _patched

_orig_eval = tb.TextGenerator.evaluate
def _eval_all(self, text, mode="stream", window=64, batch_size=64):
    r = _orig_eval(self, text, mode=mode, window=window, batch_size=batch_size)
    if mode != "windows" or "done" in SH:
        return r
    SH["done"] = True
    model = self.model
    own = {k: v.detach().clone() for k, v in model.state_dict().items()}
    res = {"P10": round(r["loss"], 4), "updates": SH["n"]}
    for k in ("P6", "P4", "P3", "E999", "E9995"):
        d = {"E999": 0.999, "E9995": 0.9995}.get(k)
        corr = 1.0 / (1.0 - d ** SH["n"]) if d else 1.0
        sd = dict(own)
        for name, t in zip(SH["names"], SH[k]):
            assert name.startswith("model."), name
            sd[name[len("model."):]] = t * corr
        model.load_state_dict(sd)
        res[k] = round(_orig_eval(self, text, mode="windows", window=window)["loss"], 4)
    model.load_state_dict(own)
    print("SHADOWS " + json.dumps(res), flush=True)
    with open("benchmarks/out/s15/shadows.jsonl", "a") as f:
        f.write(json.dumps({"argv": sys.argv[1:], **res}) + "\n")
    return r
tb.TextGenerator.evaluate = _eval_all

if __name__ == "__main__":
    sys.exit(tb.main())
