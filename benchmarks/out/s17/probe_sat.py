import torch, rnnkit
from rnnkit.tasks import classify as C
from rnnkit.tasks._classifier import ClassifierConfig, ClassifierNet, TextIds, pad_batch
from rnnkit.data.labeled import read_labeled
torch.set_num_threads(1); torch.manual_seed(0)
d='/work/shared/data/sst2/'
tx,ty=read_labeled(d+'stsa.binary.train',fmt='lines'); vx,vy=read_labeled(d+'stsa.binary.dev',fmt='lines')
tx=tx[:3000]
clf=rnnkit.TextClassifier(hidden_size=100, embedding_size=100, split_punct=False, input_dropout=0.2, embedding_dropout=0.2)
ti=TextIds.build(tx, split_punct=False)
net=ClassifierNet(ClassifierConfig(ti.vocab_size,2,**clf.model_options))
ids=[ti.encode(t)[0] for t in tx]; held=[ti.encode(t)[0] for t in vx[:500]]
def feats(tag):
    net.eval()
    with torch.no_grad():
        x=pad_batch(held); emb=net.embed(x[0]); pooled,_=net.encode(emb,x[1]); out,_=net.rnn(emb,lengths=x[1])
    H=100
    for name,sl in (("fwd",slice(0,H)),("bwd",slice(H,2*H))):
        p=pooled[:,sl]
        print(tag,name,"pooled mean %.3f  std-across-texts %.3f  frac>0.9 %.3f | |h| mean %.3f" % (p.mean(), p.std(0).mean(), (p>0.9).float().mean(), out[...,sl].abs().mean()))
feats("init")
cfg=C.TrainConfig.from_options(max_steps=150, lr=1e-2, batch_size=32, progress=False)
print(C._pretrain_lm(net, ids, held, cfg)["val_loss"])
feats("lm150")
