#!/usr/bin/env bash
cd /work/main
export RNNKIT_DATA_DIR=/work/shared/data PYTHONPATH=src
for seed in 1 2; do
  .venv/bin/python benchmarks/textgen_shakespeare.py --time 71 --residual --lr 5e-3 --seed $seed --out /tmp/s11_shk_res_s$seed 2>&1 | grep '^{'
  .venv/bin/python benchmarks/textgen_shakespeare.py --time 71 --seed $seed --out /tmp/s11_shk_base_s$seed 2>&1 | grep '^{'
done
.venv/bin/python benchmarks/textgen_shakespeare_plain.py --time 71 --hidden 512 --batch-size 64 --lr 4e-3 2>&1 | tail -1
