#!/usr/bin/env bash
# Session 17, rule R: the 10-minute Shakespeare command (control) and two lower peak learning
# rates, one after the other, alone, 2 threads.
cd /tmp/s17c/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s17out/shk; L=/work/main/benchmarks/out/s17
run() { .venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995 "$@"; }
echo "START $(date +%T) $(git rev-parse --short HEAD)"
run --out $O/r0 > $L/R0.log 2>&1; echo "R0 done $(date +%T)"
run --lr 3.5e-3 --out $O/r1 > $L/R1.log 2>&1; echo "R1 done $(date +%T)"
run --lr 2.5e-3 --out $O/r2 > $L/R2.log 2>&1; echo "R2 done $(date +%T)"
echo "ALLDONE $(date +%T)"
