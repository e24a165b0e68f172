#!/usr/bin/env bash
# Session 13, D: SST-2 four-model ensembles, members capped at 140 s, two per core one after the other.
cd /tmp/s13
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s13out; L=benchmarks/out/s13
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
for g in 4 5 6; do
  slot benchmarks/classify_sst2.py --seeds ${g}0 ${g}1 --time 140 --out $O/sst_D --json $L/D_${g}01.json > $L/D_${g}01.log 2>&1 &
  sleep 3
  slot benchmarks/classify_sst2.py --seeds ${g}2 ${g}3 --time 140 --out $O/sst_D --json $L/D_${g}23.json > $L/D_${g}23.log 2>&1 &
  sleep 3
  wait
done
slot benchmarks/classify_sst2_ensemble.py --group $O/sst_D/seed40 $O/sst_D/seed41 $O/sst_D/seed42 $O/sst_D/seed43 \
  --group $O/sst_D/seed50 $O/sst_D/seed51 $O/sst_D/seed52 $O/sst_D/seed53 \
  --group $O/sst_D/seed60 $O/sst_D/seed61 $O/sst_D/seed62 $O/sst_D/seed63 --json $L/D_ensemble.json > $L/D_ensemble.log 2>&1
echo "ALLDONE $(date +%T)"
