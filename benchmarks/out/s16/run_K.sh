#!/usr/bin/env bash
# Session 16, rule K: benchmarks/forecast_metro.py, three variants x seeds 0-2.
cd /tmp/s16/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
L=benchmarks/out/s16
echo "START $(date +%T) $(git rev-parse --short HEAD)"
for seed in 0 1 2; do
  for v in none holiday weather; do
    benchmarks/cpu_slot.sh .venv/bin/python benchmarks/forecast_metro.py --covariates $v --seed $seed --log $L/metro.jsonl > $L/K_${v}_s$seed.log 2>&1 & sleep 2
  done
done
wait
echo "ALLDONE $(date +%T)"
