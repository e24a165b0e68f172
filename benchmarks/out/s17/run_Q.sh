#!/usr/bin/env bash
# Session 17, rule Q: rule N's SST-2 chain (LM 75 s + classifier 200 s) against a longer LM
# step (LM 125 s + classifier 150 s), seeds 0-2, one thread per job, two chains at a time.
cd /tmp/s17b/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s17out/sst; L=/work/main/benchmarks/out/s17
echo "START $(date +%T) $(git rev-parse --short HEAD)"
chain() {  # tag lm_seconds classifier_seconds seed: LM then classifier, on one core
  t=$1; s=$4
  .venv/bin/rnnkit textgen train /tmp/s17/sst_train.txt --level word --cell lstm --hidden-size 150 \
    --embedding-size 300 --num-layers 1 --bptt 35 --batch-size 32 --lr 3e-3 --output-dropout 0.3 \
    --no-tie-weights --max-time ${2}s --seed $s --no-progress --out $O/lm_$t$s > $L/${t}_lm_s$s.log 2>&1
  .venv/bin/python benchmarks/classify_sst2.py --pretrained $O/lm_$t$s --time $3 --seeds $s \
    --out $O/$t --json $L/${t}_s$s.json > $L/${t}_s$s.log 2>&1
}
export -f chain; export O L
for s in 0 1 2; do
  benchmarks/cpu_slot.sh bash -c "chain N 75 200 $s" & sleep 2
  benchmarks/cpu_slot.sh bash -c "chain Q 125 150 $s" & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
