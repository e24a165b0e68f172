#!/usr/bin/env bash
# Session 19, rule CC: a replicate of the mixed pairs, forward chains 20-22 and backward chains 30-32,
# one thread per job, two chains at a time, nothing else running; then the pairs.
cd /tmp/s19/repo2
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s19/sst; L=/work/main/benchmarks/out/s19
echo "START $(date +%T) $(git rev-parse --short HEAD)"
chain() {  # tag seed lm-options...: LM then classifier, on one core
  t=$1; s=$2; shift 2
  .venv/bin/rnnkit textgen train /tmp/s19/sst_train.txt --level word --cell lstm --hidden-size 150 \
    --embedding-size 300 --num-layers 1 --bptt 35 --batch-size 32 --lr 3e-3 --output-dropout 0.3 \
    --no-tie-weights --max-time 75s --seed $s --no-progress --out $O/lm_$t$s "$@" > $L/CC_${t}_lm_s$s.log 2>&1
  .venv/bin/python benchmarks/classify_sst2.py --pretrained $O/lm_$t$s --time 200 --seeds $s \
    --out $O/$t --json $L/CC_${t}_s$s.json > $L/CC_${t}_s$s.log 2>&1
}
export -f chain; export O L
for s in 0 1 2; do
  benchmarks/cpu_slot.sh bash -c "chain f $((s + 20))" & sleep 2
  benchmarks/cpu_slot.sh bash -c "chain b $((s + 30)) --reverse" & sleep 2
done
wait
echo "ENS start $(date +%T)"
.venv/bin/python benchmarks/classify_sst2_ensemble.py --json $L/CC_pairs_fb.json \
  --group $O/f/seed20 $O/b/seed30 --group $O/f/seed21 $O/b/seed31 --group $O/f/seed22 $O/b/seed32 > $L/CC_pairs_fb.log 2>&1
echo "ALLDONE $(date +%T)"
