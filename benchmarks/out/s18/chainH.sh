#!/bin/bash
cd /tmp/ci18b/repo
( time env -u RNNKIT_DATA_DIR make quickstart ; echo RC=$? ) > /tmp/s18/quickstart.log 2>&1
RNNKIT_DATA_DIR=/work/shared/data PYTHONPATH=src .venv/bin/python benchmarks/textgen_shakespeare.py --time 600 --hidden 384 --ema-decay 0.9995 --lr 3.5e-3 --weight-decay 0.4 --out /tmp/s18/out_H > /work/main/benchmarks/out/s18/H.log 2>&1
