#!/bin/bash
cd /tmp/s15/repo
export RNNKIT_DATA_DIR=/work/shared/data PYTHONPATH=src
for spec in "G0|" "G1|--min-lr-ratio 0"; do
  name=${spec%%|*}; extra=${spec#*|}
  echo "== $name start $(date -u +%FT%TZ)"
  .venv/bin/python benchmarks/out/s15/shadow_probe.py --time 600 --hidden 384 --ema-decay 0.9995 $extra --out /tmp/s15/models/$name > benchmarks/out/s15/$name.log 2>&1
  echo "== $name end $(date -u +%FT%TZ) rc=$?"
done
