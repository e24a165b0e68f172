#!/usr/bin/env bash
# Session 17, rule S: a seed-1 replicate of rule R's choice, and lr 1.8e-3 if R2 beat R1.
# Usage: run_S.sh CHOSEN_LR RUN_S2(0|1)
cd /tmp/s17c/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s17out/shk; L=/work/main/benchmarks/out/s17
run() { .venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995 "$@"; }
echo "START $(date +%T) $(git rev-parse --short HEAD) lr=$1 s2=$2"
run --lr $1 --seed 1 --out $O/s1 > $L/S1.log 2>&1; echo "S1 done $(date +%T)"
if [ "$2" = 1 ]; then run --lr 1.8e-3 --out $O/s2 > $L/S2.log 2>&1; echo "S2 done $(date +%T)"; fi
echo "ALLDONE $(date +%T)"
