#!/usr/bin/env bash
cd /tmp/s17b/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
L=/work/main/benchmarks/out/s17
benchmarks/cpu_slot.sh .venv/bin/python benchmarks/classify_sst2.py --pretrain-time 75 --pretrain-lr 3e-3 --time 200 --seeds 0 --out /tmp/s17out/Q0 --json $L/Q0_s0.json > $L/Q0_s0.log 2>&1
