#!/usr/bin/env bash
# Session 13: A4, the replicate of A2 with seed 1 (alone, 2 threads).
cd /tmp/s13
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s13out; L=benchmarks/out/s13
echo "A4 start $(date +%T)"
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995 --seed 1 --out $O/shk_A4 > $L/A4.log 2>&1
echo "ALLDONE $(date +%T)"
