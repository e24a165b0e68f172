#!/usr/bin/env bash
# Session 18, rule X: rule N's SST-2 chain (LM 75 s + classifier 200 s) with the classifier's
# AdamW weight decay 1.0 instead of 0.01, against the chain as it is; seeds 0-2, one thread
# per job, two chains at a time, nothing else running.
cd /tmp/s18/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s18/sst; L=/work/main/benchmarks/out/s18
echo "START $(date +%T) $(git rev-parse --short HEAD)"
chain() {  # tag seed classifier-options...: LM then classifier, on one core
  t=$1; s=$2; shift 2
  .venv/bin/rnnkit textgen train /tmp/s17/sst_train.txt --level word --cell lstm --hidden-size 150 \
    --embedding-size 300 --num-layers 1 --bptt 35 --batch-size 32 --lr 3e-3 --output-dropout 0.3 \
    --no-tie-weights --max-time 75s --seed $s --no-progress --out $O/lm_$t$s > $L/${t}_lm_s$s.log 2>&1
  .venv/bin/python benchmarks/classify_sst2.py --pretrained $O/lm_$t$s --time 200 --seeds $s \
    --out $O/$t --json $L/${t}_s$s.json "$@" > $L/${t}_s$s.log 2>&1
}
export -f chain; export O L
for s in 0 1 2; do
  benchmarks/cpu_slot.sh bash -c "chain N $s" & sleep 2
  benchmarks/cpu_slot.sh bash -c "chain X $s --weight-decay 1.0" & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
