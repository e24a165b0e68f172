#!/usr/bin/env bash
# Session 20, rule EE step 2 (only if step 1 adopted concat pooling): backward chains with
# concat pooling bc10-12 (paired with step 1's fc0-2), then the replicate fc20-22 + bc30-32;
# two chains at a time, one thread each, nothing else running; then the six mixed pairs.
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
C='--pooling concat'
for job in "bc 10" "bc 11" "bc 12" "fc 20" "fc 21" "fc 22" "bc 30" "bc 31" "bc 32"; do
  set -- $job
  if [ $1 = bc ]; then
    benchmarks/cpu_slot.sh bash -c "chain bc $2 '$C' --reverse" & sleep 2
  else
    benchmarks/cpu_slot.sh bash -c "chain fc $2 '$C'" & sleep 2
  fi
done
wait
echo "ENS start $(date +%T)"
.venv/bin/python benchmarks/classify_sst2_ensemble.py --json $L/EE_pairs.json \
  --group $O/fc/seed0 $O/bc/seed10 --group $O/fc/seed1 $O/bc/seed11 --group $O/fc/seed2 $O/bc/seed12 \
  --group $O/fc/seed20 $O/bc/seed30 --group $O/fc/seed21 $O/bc/seed31 --group $O/fc/seed22 $O/bc/seed32 \
  > $L/EE_pairs.log 2>&1
echo "ALLDONE $(date +%T)"
