#!/usr/bin/env bash
# Session 20, rule EE step 1: forward chains with max pooling (f, control) and with concat
# pooling (fc), seeds 0-2, control seed s beside candidate seed s, one thread per job.
cd /tmp/s20/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s20/sst; L=/work/main/benchmarks/out/s20
echo "START $(date +%T) $(git rev-parse --short HEAD)"
chain() {  # tag seed "classifier options" lm-options...: LM then classifier, on one core
  t=$1; s=$2; copt=$3; shift 3
  .venv/bin/rnnkit textgen train /tmp/s20/sst_train.txt --level word --cell lstm --hidden-size 150 \
    --embedding-size 300 --num-layers 1 --bptt 35 --batch-size 32 --lr 3e-3 --output-dropout 0.3 \
    --no-tie-weights --max-time 75s --seed $s --no-progress --out $O/lm_$t$s "$@" > $L/EE_${t}_lm_s$s.log 2>&1
  .venv/bin/python benchmarks/classify_sst2.py --pretrained $O/lm_$t$s --time 200 --seeds $s $copt \
    --out $O/$t --json $L/EE_${t}_s$s.json > $L/EE_${t}_s$s.log 2>&1
}
export -f chain; export O L
for s in 0 1 2; do  # one round per seed: the two chains start together
  benchmarks/cpu_slot.sh bash -c "chain f $s ''" &
  benchmarks/cpu_slot.sh bash -c "chain fc $s '--pooling concat'" &
  wait
done
echo "ALLDONE $(date +%T)"
