#!/usr/bin/env bash
# Session 15, rule H: ETTm1 d_model 512, seeds 0-1, every horizon, then two-seed ensembles.
cd /tmp/s15/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s15out; L=benchmarks/out/s15
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
ett() { slot benchmarks/forecast_ett.py --dataset ETTm1 --lookback 720 --time 1150 --threads 1 --ema-decay 0.99 --hidden 512 --log $L/ettm1_d512.jsonl "$@"; }
echo "START $(date +%T)"
for h in "336 800" "192 800" "720 400" "96 400"; do
  set -- $h
  for s in 0 1; do
    ett --horizon $1 --steps $2 --seed $s --out $O/ett_s$s > $L/H_h$1_s$s.log 2>&1 & sleep 2
  done
done
wait
echo "ENS start $(date +%T)"
for h in 336 192 720 96; do
  slot benchmarks/forecast_ett_ensemble.py --dataset ETTm1 --horizon $h $O/ett_s0/ETTm1_$h $O/ett_s1/ETTm1_$h --log $L/ettm1_d512_E2.jsonl > $L/H2_h$h.log 2>&1 & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
