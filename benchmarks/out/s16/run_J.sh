#!/usr/bin/env bash
# Session 16, rule J: ETTh2 with --highway 720 (150 and 400 steps) and a same-day control
# (the session-9 command, 150 steps), every horizon, seed 0, one thread, two at a time.
cd /tmp/s16/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s16out; L=benchmarks/out/s16
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
ett() { slot benchmarks/forecast_ett.py --dataset ETTh2 --lookback 720 --time 560 --threads 1 --segment 24 --no-channel-embedding "$@"; }
echo "START $(date +%T) $(git rev-parse --short HEAD)"
for h in 96 192 336 720; do
  ett --horizon $h --steps 400 --highway 720 --out $O/hw400 --log $L/etth2_hw.jsonl > $L/J_hw400_h$h.log 2>&1 & sleep 2
done
for h in 96 192 336 720; do
  ett --horizon $h --steps 150 --highway 720 --out $O/hw150 --log $L/etth2_hw.jsonl > $L/J_hw150_h$h.log 2>&1 & sleep 2
  ett --horizon $h --steps 150 --out $O/ctl --log $L/etth2_ctl.jsonl > $L/J_ctl_h$h.log 2>&1 & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
