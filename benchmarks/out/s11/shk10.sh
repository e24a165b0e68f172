#!/usr/bin/env bash
cd /work/main
export RNNKIT_DATA_DIR=/work/shared/data PYTHONPATH=src
.venv/bin/python benchmarks/textgen_shakespeare_plain.py --time 71 --hidden 512 --batch-size 64 --lr 4e-3 2>&1 | tail -1
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 448 --residual --lr 5e-3 --out /tmp/s11_shk10_res 2>&1 | grep '^{'
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 448 --lr 6e-3 --out /tmp/s11_shk10_base 2>&1 | grep '^{'
