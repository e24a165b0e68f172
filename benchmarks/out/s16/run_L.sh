#!/usr/bin/env bash
# Session 16, rule L: exchange_rate h96, controls and candidates, seed 0, two at a time.
cd /work/main
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/tmp/s16out/ex; L=benchmarks/out/s16
ex() { benchmarks/cpu_slot.sh .venv/bin/python benchmarks/forecast_ett.py --dataset exchange_rate --horizon 96 --lookback 96 --segment 24 --batch-size 32 --lr 1e-3 --val-every 50 --val-stride 1 --threads 1 --log $L/exchange.jsonl "$@"; }
echo "START $(date +%T) $(git rev-parse --short HEAD)"
for st in 100 300; do
  ex --steps $st --out $O/C$st > $L/L_C$st.log 2>&1 & sleep 2
  ex --steps $st --norm last --out $O/N$st > $L/L_N$st.log 2>&1 & sleep 2
  ex --steps $st --highway 96 --out $O/W$st > $L/L_W$st.log 2>&1 & sleep 2
done
wait
echo "ALLDONE $(date +%T)"
