#!/bin/bash
# usage: shk.sh NAME ARGS...   (run in the frozen clone, log to /work/main/benchmarks/out/s18/NAME.log)
name=$1; shift
cd /tmp/s18/repo
export RNNKIT_DATA_DIR=/work/shared/data PYTHONPATH=src
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995 --lr 3.5e-3 --out /tmp/s18/out_$name "$@" > /work/main/benchmarks/out/s18/$name.log 2>&1
