#!/usr/bin/env bash
# Session 13, phase 2: the Shakespeare follow-ups A2, A3, alone (after phase 1's jobs end).
cd /tmp/s13
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s13out; L=benchmarks/out/s13
until grep -q ALLDONE $O/run1.log && grep -q ALLDONE $O/run3.log 2>/dev/null; do sleep 10; done
echo "A2 start $(date +%T)"
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995 --out $O/shk_A2 > $L/A2.log 2>&1
echo "A3 start $(date +%T)"
.venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.999 --lr 7e-3 --out $O/shk_A3 > $L/A3.log 2>&1
echo "ALLDONE $(date +%T)"
