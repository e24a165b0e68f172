#!/usr/bin/env bash
# Session 14, rule E: ETTm1 seeds 0-4 of session 13's averaged command at every horizon, then the 3- and 5-model ensembles.
cd /tmp/s14
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s14out; L=benchmarks/out/s14
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
ett() { slot benchmarks/forecast_ett.py --dataset ETTm1 --lookback 720 --time 1150 --threads 1 --ema-decay 0.99 --log $L/ettm1.jsonl "$@"; }
echo "START $(date +%T)"
for s in 0 1 2 3 4; do
  ett --horizon 336 --steps 800 --seed $s --out $O/ett_s$s > $L/E_h336_s$s.log 2>&1 & sleep 2
  ett --horizon 192 --steps 800 --seed $s --out $O/ett_s$s > $L/E_h192_s$s.log 2>&1 & sleep 2
  ett --horizon 720 --steps 400 --seed $s --out $O/ett_s$s > $L/E_h720_s$s.log 2>&1 & sleep 2
  ett --horizon 96 --steps 400 --seed $s --out $O/ett_s$s > $L/E_h96_s$s.log 2>&1 & sleep 2
done
wait
echo "ENS start $(date +%T)"
for h in 96 192 336 720; do
  m="$O/ett_s0/ETTm1_$h $O/ett_s1/ETTm1_$h $O/ett_s2/ETTm1_$h"
  slot benchmarks/forecast_ett_ensemble.py --dataset ETTm1 --horizon $h $m --log $L/ettm1_E3.jsonl > $L/E3_h$h.log 2>&1 & sleep 2
  slot benchmarks/forecast_ett_ensemble.py --dataset ETTm1 --horizon $h $m $O/ett_s3/ETTm1_$h $O/ett_s4/ETTm1_$h --log $L/ettm1_E5.jsonl > $L/E5_h$h.log 2>&1 & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
