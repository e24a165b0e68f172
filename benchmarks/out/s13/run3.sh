#!/usr/bin/env bash
# Session 13: same-day plain seed-0 ETTm1 runs (C0) for h192, h336, h720, in the CPU slots.
cd /tmp/s13
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s13out; L=benchmarks/out/s13
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
ett() { slot benchmarks/forecast_ett.py --dataset ETTm1 --lookback 720 --time 1150 --threads 1 --log $L/ettm1.jsonl "$@"; }
ett --horizon 336 --steps 800 --seed 0 --out $O/ett_C0 > $L/C0_h336.log 2>&1 &
sleep 3
ett --horizon 192 --steps 800 --seed 0 --out $O/ett_C0 > $L/C0_h192.log 2>&1 &
sleep 3
ett --horizon 720 --steps 400 --seed 0 --out $O/ett_C0 > $L/C0_h720.log 2>&1 &
wait
echo "ALLDONE $(date +%T)"
