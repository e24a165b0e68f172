#!/usr/bin/env bash
# conv2d front end, full leave-one-speaker-out, 600 s per model, two groups side by side.
cd /work/main
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
seed=${1:-0}
common="--part loso --budget 600 --hidden 128 --connected 0 --dropout 0.3 --dynamic-range 40 --speed 0.9 1.0 1.1 --ceps 13 --frontend conv2d --maps 32 --seed $seed"
benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd.py $common --speakers george jackson lucas --out /tmp/speech_s10/loso_A_seed$seed > benchmarks/out/speech_loso_s10_A_seed$seed.log 2>&1 &
sleep 1
benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd.py $common --speakers nicolas theo yweweler --out /tmp/speech_s10/loso_B_seed$seed > benchmarks/out/speech_loso_s10_B_seed$seed.log 2>&1 &
wait
