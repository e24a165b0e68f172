#!/usr/bin/env bash
# Session 17, rule P: ETTh2 at d_model 512 (the session-9 command plus --hidden 512), seeds 0-1,
# every horizon, one thread, two at a time; then the two-seed ensembles.
cd /tmp/s17/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s17out; L=/work/main/benchmarks/out/s17
slot() { benchmarks/cpu_slot.sh .venv/bin/python "$@"; }
ett() { slot benchmarks/forecast_ett.py --dataset ETTh2 --lookback 720 --time 560 --threads 1 --segment 24 --no-channel-embedding --steps 150 --hidden 512 --log $L/etth2_d512.jsonl "$@"; }
echo "START $(date +%T) $(git rev-parse --short HEAD)"
for h in 720 336 192 96; do
  for s in 0 1; do
    ett --horizon $h --seed $s --out $O/ett_s$s > $L/P_h${h}_s$s.log 2>&1 & sleep 2
  done
done
wait
echo "ENS start $(date +%T)"
for h in 720 336 192 96; do
  slot benchmarks/forecast_ett_ensemble.py --dataset ETTh2 --horizon $h $O/ett_s0/ETTh2_$h $O/ett_s1/ETTh2_$h --log $L/etth2_d512_E2.jsonl > $L/P2_h$h.log 2>&1 & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
