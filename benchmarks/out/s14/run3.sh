#!/usr/bin/env bash
# Session 14, rule F: F2 (F1 with --seed 1) iff F1's windows64 is below F0's by more than 0.005.
cd /tmp/s14b
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s14out; L=benchmarks/out/s14
until grep -q ALLDONE $O/run2.log; do sleep 10; done
w() { grep '^{' $L/$1.log | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['val_windows64'])"; }
F0=$(w F0); F1=$(w F1)
echo "F0 $F0 F1 $F1"
if python3 -c "import sys; sys.exit(0 if $F1 < $F0 - 0.005 else 1)"; then
  echo "F1 adopted; F2 start $(date +%T)"
  .venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995 --precision bf16-mixed --seed 1 --out $O/shk_F2 > $L/F2.log 2>&1
else
  echo "F1 not adopted; nothing more runs"
fi
echo "ALLDONE $(date +%T)"
