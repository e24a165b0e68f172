#!/usr/bin/env bash
cd /work/main
export RNNKIT_DATA_DIR=/work/shared/data PYTHONPATH=src
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --layers 3 --hidden 384 --out /tmp/s11_shk10_res3 2>&1 | grep '^{'
