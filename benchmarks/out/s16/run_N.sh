#!/usr/bin/env bash
# Session 16, rule N: SST-2 classifier from an LM pretrained on the SST-2 training sentences,
# against same-day controls; one thread per job, two jobs at a time.
cd /tmp/s16/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s16out/sst; L=benchmarks/out/s16
echo "START $(date +%T) $(git rev-parse --short HEAD)"
chain() {  # seed: LM then classifier, on one core
  s=$1
  .venv/bin/rnnkit textgen train /tmp/s16/sst_train.txt --level word --cell lstm --hidden-size 150 \
    --embedding-size 300 --num-layers 1 --bptt 35 --batch-size 32 --lr 3e-3 --output-dropout 0.3 \
    --no-tie-weights --max-time 75s --seed $s --no-progress --out $O/lm$s > $L/N_lm_s$s.log 2>&1
  .venv/bin/python benchmarks/classify_sst2.py --pretrained $O/lm$s --time 200 --seeds $s \
    --out $O/pre --json $L/N_pre_s$s.json > $L/N_pre_s$s.log 2>&1
}
export -f chain; export O L
for s in 0 1 2; do
  benchmarks/cpu_slot.sh bash -c "chain $s" & sleep 2
  benchmarks/cpu_slot.sh .venv/bin/python benchmarks/classify_sst2.py --time 285 --seeds $s --out $O/ctl --json $L/N_ctl_s$s.json > $L/N_ctl_s$s.log 2>&1 & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
