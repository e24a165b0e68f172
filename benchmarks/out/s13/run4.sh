#!/usr/bin/env bash
# Session 13: ETTm1 C2, seeds 1 and 2 with the average at every horizon, then the 3-model averages.
cd /tmp/s13
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s13out; L=benchmarks/out/s13
until grep -q ALLDONE $O/run2.log; do sleep 10; done
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
ett() { slot benchmarks/forecast_ett.py --dataset ETTm1 --lookback 720 --time 1150 --threads 1 --ema-decay 0.99 --log $L/ettm1.jsonl "$@"; }
for s in 1 2; do
  ett --horizon 336 --steps 800 --seed $s --out $O/ett_C1_s$s > $L/C1_h336_s$s.log 2>&1 & sleep 3
  ett --horizon 192 --steps 800 --seed $s --out $O/ett_C1_s$s > $L/C1_h192_s$s.log 2>&1 & sleep 3
  ett --horizon 720 --steps 400 --seed $s --out $O/ett_C1_s$s > $L/C1_h720_s$s.log 2>&1 & sleep 3
  ett --horizon 96 --steps 400 --seed $s --out $O/ett_C1_s$s > $L/C1_h96_s$s.log 2>&1 & sleep 3
done
wait
echo "ENS start $(date +%T)"
for h in 96 192 336 720; do
  slot benchmarks/forecast_ett_ensemble.py --dataset ETTm1 --horizon $h $O/ett_C1_s0/ETTm1_$h $O/ett_C1_s1/ETTm1_$h $O/ett_C1_s2/ETTm1_$h --log $L/ettm1_ensemble.jsonl > $L/ens_h$h.log 2>&1 & sleep 3
done
wait
echo "ALLDONE $(date +%T)"
