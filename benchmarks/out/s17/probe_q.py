"""Throwaway: why does the classifier learn slower after both-ways LM pretraining?"""
import sys, time, torch, rnnkit
from rnnkit.tasks import classify as C
from rnnkit.data.labeled import read_labeled
torch.set_num_threads(1)
d='/work/shared/data/sst2/'
tx,ty=read_labeled(d+'stsa.binary.train',fmt='lines'); vx,vy=read_labeled(d+'stsa.binary.dev',fmt='lines')
tx,ty=tx[:3000],ty[:3000]
orig=C._pretrain_lm
def fwd_only(net, ids, held, cfg):
    r=orig(net, ids, held, cfg)
    fresh=C.ClassifierNet(net.config)
    with torch.no_grad():
        for n,p in net.rnn.named_parameters():
            if n.endswith('_reverse'): p.copy_(dict(fresh.rnn.named_parameters())[n])
    return r
arm=sys.argv[1]
pooling = sys.argv[4] if len(sys.argv) > 4 else 'max'
pre = None if arm=="none" or arm=="nonem" else {"max_steps": int(sys.argv[2]), "lr": float(sys.argv[3])}
if arm=='fwd': C._pretrain_lm=fwd_only
clf=rnnkit.TextClassifier(hidden_size=100, embedding_size=100, min_freq=1, split_punct=False, pooling=pooling, embedding_dropout=0.2, input_dropout=0.2)
t=time.time()
clf.fit(tx,ty,vx,vy,max_epochs=6,batch_size=32,lr=1e-3,progress=False, pretrain=pre, seed=0, val_every=47)
h=clf.metrics["history"]
print(arm, (clf.metrics.get("pretrain") or {}).get("val_loss"), round(clf.metrics["best_val_accuracy"],4), clf.metrics["best_step"], [round(x["val_acc"],3) for x in h][::2], round(time.time()-t))
