# Throwaway: ms per training step (fwd+bwd+AdamW) of the Shakespeare 3x384 residual LSTM,
# batch 16 x 64, under fp32 / bf16 autocast / fp16 autocast (+GradScaler), 2 threads.
import time, torch, sys
torch.set_num_threads(2)
from rnnkit.tasks._lm import LanguageModel, LMConfig, lm_loss
torch.manual_seed(0)
m = LanguageModel(LMConfig(vocab_size=65, hidden_size=384, num_layers=3, residual=True, embedding_size=384))
opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
x = torch.randint(0, 65, (16, 64)); y = torch.randint(0, 65, (16, 64))
res = {}
for name in sys.argv[1:]:
    dt = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[name]
    sc = torch.amp.GradScaler("cpu") if name == "fp16" else None
    ts = []
    for i in range(25):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=dt or torch.float32, enabled=dt is not None):
            out, _ = m(x)
            loss = lm_loss(out, y)[0]
        opt.zero_grad()
        (sc.scale(loss) if sc else loss).backward()
        if sc: sc.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        if sc: sc.step(opt); sc.update()
        else: opt.step()
        ts.append(time.perf_counter() - t)
    ts = sorted(ts[5:]); res[name] = ts[len(ts)//2] * 1000
    print(name, "median ms/step %.1f" % res[name], flush=True)
