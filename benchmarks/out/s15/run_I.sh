#!/usr/bin/env bash
# Session 15, rule I: SST-2 four-model ensembles without length buckets, after rule H's jobs.
cd /tmp/s15/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s15out; L=benchmarks/out/s15
until grep -q ALLDONE $L/run_H.out; do sleep 10; done
echo "START $(date +%T)"
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
for g in 7 8 9; do
  slot benchmarks/classify_sst2.py --seeds ${g}0 ${g}1 --time 140 --bucket 0 --out $O/sst_I --json $L/I_${g}01.json > $L/I_${g}01.log 2>&1 &
  sleep 3
  slot benchmarks/classify_sst2.py --seeds ${g}2 ${g}3 --time 140 --bucket 0 --out $O/sst_I --json $L/I_${g}23.json > $L/I_${g}23.log 2>&1 &
  sleep 3
  wait
done
slot benchmarks/classify_sst2_ensemble.py --group $O/sst_I/seed70 $O/sst_I/seed71 $O/sst_I/seed72 $O/sst_I/seed73 \
  --group $O/sst_I/seed80 $O/sst_I/seed81 $O/sst_I/seed82 $O/sst_I/seed83 \
  --group $O/sst_I/seed90 $O/sst_I/seed91 $O/sst_I/seed92 $O/sst_I/seed93 --json $L/I_ensemble.json > $L/I_ensemble.log 2>&1
echo "ALLDONE $(date +%T)"
