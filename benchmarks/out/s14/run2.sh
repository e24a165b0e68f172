#!/usr/bin/env bash
# Session 14, rule F: Shakespeare 10 minutes, float32 control and bf16-mixed, alone (after rule E's jobs end).
cd /tmp/s14b
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s14out; L=benchmarks/out/s14
until grep -q ALLDONE $O/run1.log; do sleep 10; done
R="benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995"
echo "F0 start $(date +%T)"
.venv/bin/python $R --out $O/shk_F0 > $L/F0.log 2>&1
echo "F1 start $(date +%T)"
.venv/bin/python $R --precision bf16-mixed --out $O/shk_F1 > $L/F1.log 2>&1
echo "ALLDONE $(date +%T)"
