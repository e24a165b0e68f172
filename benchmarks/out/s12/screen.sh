#!/usr/bin/env bash
# usage: screen.sh REPO NAME EXTRA_ARGS...   (180 s LOSO screens on george and lucas, RULE.txt)
repo=$1; shift
cd $repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
name=$1; shift
common="--part loso --budget 180 --hidden 128 --connected 0 --dropout 0.3 --dynamic-range 40 --ceps 13 --frontend conv2d --maps 32 --speed 0.9 1.0 1.1 --seed 0"
for s in george lucas; do
  /work/main/benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd.py $common "$@" --speakers $s --out /tmp/speech_s12/${name}_$s > /work/main/benchmarks/out/s12/screen_${name}_$s.log 2>&1 &
  sleep 1
done
wait
