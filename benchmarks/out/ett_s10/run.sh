#!/usr/bin/env bash
# ETTh2 session-10 candidates; each run one thread in a CPU slot.
cd /work/main
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
common="--dataset ETTh2 --lookback 720 --segment 24 --no-channel-embedding --time 560 --val-every 25 --threads 1 --seed 0 --log benchmarks/out/forecast_ett_s10.jsonl"
run() { benchmarks/cpu_slot.sh .venv/bin/python benchmarks/forecast_ett.py $common "$@" --out /tmp/ett_s10/$(echo "$@" | tr ' -' '__'); }
mkdir -p /tmp/ett_s10
run --horizon 720 --lr 5e-4 --steps 350 &
sleep 2
run --horizon 336 --lr 5e-4 --steps 500 &
sleep 2
run --horizon 192 --lr 5e-4 --steps 500 &
sleep 2
run --horizon 96 --lr 5e-4 --steps 500 &
wait
for h in 720 336 192 96; do run --horizon $h --lr 2e-3 --steps 150 & sleep 2; done
wait
echo ALLDONE
