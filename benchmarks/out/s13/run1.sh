#!/usr/bin/env bash
# Session 13, phase 1: A (alone, 2 threads), then B and C1 in the two CPU slots (one thread each).
cd /tmp/s13
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s13out; L=benchmarks/out/s13
echo "A0 start $(date +%T)"
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --out $O/shk_A0 > $L/A0.log 2>&1
echo "A1 start $(date +%T)"
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.999 --out $O/shk_A1 > $L/A1.log 2>&1
echo "B start $(date +%T)"
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
for s in 0 1 2; do
  slot benchmarks/classify_sst2.py --seeds $s --out $O/sst_B0 --json $L/B0_s$s.json > $L/B0_s$s.log 2>&1 &
  sleep 3
  slot benchmarks/classify_sst2.py --seeds $s --ema-decay 0.99 --out $O/sst_B1 --json $L/B1_s$s.json > $L/B1_s$s.log 2>&1 &
  sleep 3
  wait
done
echo "C start $(date +%T)"
ett() { slot benchmarks/forecast_ett.py --dataset ETTm1 --lookback 720 --time 1150 --threads 1 --log $L/ettm1.jsonl "$@"; }
ett --horizon 96 --steps 400 --seed 0 --out $O/ett_C0 > $L/C0_h96.log 2>&1 &
sleep 3
ett --horizon 336 --steps 800 --seed 0 --ema-decay 0.99 --out $O/ett_C1_s0 > $L/C1_h336_s0.log 2>&1 &
sleep 3
ett --horizon 192 --steps 800 --seed 0 --ema-decay 0.99 --out $O/ett_C1_s0 > $L/C1_h192_s0.log 2>&1 &
sleep 3
ett --horizon 720 --steps 400 --seed 0 --ema-decay 0.99 --out $O/ett_C1_s0 > $L/C1_h720_s0.log 2>&1 &
sleep 3
ett --horizon 96 --steps 400 --seed 0 --ema-decay 0.99 --out $O/ett_C1_s0 > $L/C1_h96_s0.log 2>&1 &
wait
echo "ALLDONE $(date +%T)"
