#!/usr/bin/env bash
# Session 19, rule DD: six "bi pairs": forward + backward LM side by side (75 s), then two
# classifiers from both LMs side by side (200 s); one thread per process, nothing else running.
cd /tmp/s19/repo3
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
O=/tmp/s19/sst; L=/work/main/benchmarks/out/s19
echo "START $(date +%T) $(git rev-parse --short HEAD)"
lm() {  # seed extra-options...
  s=$1; shift
  .venv/bin/rnnkit textgen train /tmp/s19/sst_train.txt --level word --cell lstm --hidden-size 150 \
    --embedding-size 300 --num-layers 1 --bptt 35 --batch-size 32 --lr 3e-3 --output-dropout 0.3 \
    --no-tie-weights --max-time 75s --seed $s --no-progress "$@"
}
for s in 40 41 42 43 44 45; do
  t=$((s + 10)); echo "pair $s/$t $(date +%T)"
  lm $s --out $O/lm_F$s > $L/DD_lmF_s$s.log 2>&1 &
  lm $t --reverse --out $O/lm_B$t > $L/DD_lmB_s$t.log 2>&1 &
  wait
  for c in $s $t; do
    .venv/bin/python benchmarks/classify_sst2.py --pretrained $O/lm_F$s $O/lm_B$t --time 200 \
      --seeds $c --out $O/d --json $L/DD_s$c.json > $L/DD_s$c.log 2>&1 &
  done
  wait
done
echo "ENS start $(date +%T)"
.venv/bin/python benchmarks/classify_sst2_ensemble.py --json $L/DD_pairs.json \
  --group $O/d/seed40 $O/d/seed50 --group $O/d/seed41 $O/d/seed51 --group $O/d/seed42 $O/d/seed52 \
  --group $O/d/seed43 $O/d/seed53 --group $O/d/seed44 $O/d/seed54 --group $O/d/seed45 $O/d/seed55 \
  > $L/DD_pairs.log 2>&1
echo "ALLDONE $(date +%T)"
