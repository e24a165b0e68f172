#!/usr/bin/env bash
# Session 16, rule O: rule N's pretrained chain for seeds 10-12, then the pairs.
cd /tmp/s16/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s16out/sst; L=benchmarks/out/s16
echo "START $(date +%T) $(git rev-parse --short HEAD)"
chain() {
  s=$1
  .venv/bin/rnnkit textgen train /tmp/s16/sst_train.txt --level word --cell lstm --hidden-size 150 \
    --embedding-size 300 --num-layers 1 --bptt 35 --batch-size 32 --lr 3e-3 --output-dropout 0.3 \
    --no-tie-weights --max-time 75s --seed $s --no-progress --out $O/lm$s > $L/O_lm_s$s.log 2>&1
  .venv/bin/python benchmarks/classify_sst2.py --pretrained $O/lm$s --time 200 --seeds $s \
    --out $O/pre --json $L/O_pre_s$s.json > $L/O_pre_s$s.log 2>&1
}
export -f chain; export O L
for s in 10 11 12; do
  benchmarks/cpu_slot.sh bash -c "chain $s" & sleep 2
done
wait
echo "PAIRS $(date +%T)"
.venv/bin/python benchmarks/classify_sst2_ensemble.py --group $O/pre/seed0 $O/pre/seed10 \
  --group $O/pre/seed1 $O/pre/seed11 --group $O/pre/seed2 $O/pre/seed12 > $L/O_pairs.log 2>&1
echo "ALLDONE $(date +%T)"
