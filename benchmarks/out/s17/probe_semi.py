import sys, time, torch, rnnkit
from rnnkit.data.labeled import read_labeled
torch.set_num_threads(1)
d='/work/shared/data/sst2/'
tx,ty=read_labeled(d+'stsa.binary.train',fmt='lines'); vx,vy=read_labeled(d+'stsa.binary.dev',fmt='lines')
lab_x,lab_y,unl=tx[:500],ty[:500],tx[500:]
arm=sys.argv[1]
pre=None if arm=='none' else {"max_steps": int(sys.argv[2]), "lr": float(sys.argv[3])}
clf=rnnkit.TextClassifier(hidden_size=150, embedding_size=300, min_freq=1, split_punct=False, embedding_dropout=0.2, input_dropout=0.2)
t=time.time()
clf.fit(lab_x,lab_y,vx,vy,max_epochs=30,batch_size=32,lr=1e-3,progress=False, pretrain=pre, unlabeled=None if pre is None else unl, seed=0, val_every=16)
h=clf.metrics["history"]
print(arm, sys.argv[2:], (clf.metrics.get("pretrain") or {}).get("val_loss"), round(clf.metrics["best_val_accuracy"],4), clf.metrics["best_step"], [round(x["val_acc"],3) for x in h][::4], round(time.time()-t))
