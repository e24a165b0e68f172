#!/usr/bin/env bash
# conv2d front end, short LOSO runs (SPEECH_RULE.txt), george and lucas side by side.
cd /work/main
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
common="--part loso --budget 180 --hidden 128 --connected 0 --dropout 0.3 --dynamic-range 40 --speed 0.9 1.0 1.1 --ceps 13 --frontend conv2d --maps 32 --seed 0"
for s in george lucas; do
  benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd.py $common --speakers $s --out /tmp/speech_s10/c2d_$s > benchmarks/out/speech_s10_c2d_$s.log 2>&1 &
  sleep 1
done
wait
