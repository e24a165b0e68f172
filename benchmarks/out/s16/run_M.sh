#!/usr/bin/env bash
# Session 16, rule M: two one-thread 10-minute Shakespeare models at once, then the
# two-thread control alone, then the ensemble's score.
cd /tmp/s16/repo
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s16out/shk; L=benchmarks/out/s16
run() { .venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995 "$@"; }
echo "START $(date +%T) $(git rev-parse --short HEAD)"
OMP_NUM_THREADS=1 run --threads 1 --seed 0 --out $O/m1s0 > $L/M1_s0.log 2>&1 &
OMP_NUM_THREADS=1 run --threads 1 --seed 1 --out $O/m1s1 > $L/M1_s1.log 2>&1 &
wait
echo "M1 done $(date +%T)"
run --threads 2 --seed 0 --out $O/m0 > $L/M0.log 2>&1
echo "M0 done $(date +%T)"
.venv/bin/python benchmarks/textgen_shakespeare_ensemble.py $O/m1s0 $O/m1s1 --log $L/shakespeare_ensemble.jsonl > $L/M_ensemble.log 2>&1
echo "ALLDONE $(date +%T)"
