#!/usr/bin/env bash
# Session 19, rule AA: ETTh2 with the weight average on each horizon's chosen command, seeds
# 0-1, one thread, two at a time; then the two-seed pairs.
cd /tmp/s19/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s19out; L=/work/main/benchmarks/out/s19
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
ett() { slot benchmarks/forecast_ett.py --dataset ETTh2 --lookback 720 --segment 24 --no-channel-embedding --time 560 --threads 1 --ema-decay 0.99 --log $L/etth2_ema.jsonl "$@"; }
echo "START $(date +%T) $(git rev-parse --short HEAD)"
for s in 0 1; do ett --horizon 336 --lr 5e-4 --steps 500 --val-every 25 --seed $s --out $O/s$s > $L/AA_h336_s$s.log 2>&1 & sleep 2; done
for s in 0 1; do ett --horizon 192 --lr 5e-4 --steps 500 --val-every 25 --seed $s --out $O/s$s > $L/AA_h192_s$s.log 2>&1 & sleep 2; done
for s in 0 1; do ett --horizon 96 --hidden 512 --steps 150 --seed $s --out $O/s$s > $L/AA_h96_s$s.log 2>&1 & sleep 2; done
for s in 0 1; do ett --horizon 720 --lr 2e-3 --steps 150 --val-every 25 --seed $s --out $O/s$s > $L/AA_h720_s$s.log 2>&1 & sleep 2; done
wait
echo "ENS start $(date +%T)"
for h in 720 336 192 96; do
  slot benchmarks/forecast_ett_ensemble.py --dataset ETTh2 --horizon $h $O/s0/ETTh2_$h $O/s1/ETTh2_$h --log $L/etth2_ema_E2.jsonl > $L/AA2_h$h.log 2>&1 & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
