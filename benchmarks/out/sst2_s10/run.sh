#!/usr/bin/env bash
cd /work/main
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
for s in 0 1 2; do
  benchmarks/cpu_slot.sh .venv/bin/python benchmarks/classify_sst2.py --adversarial 0.01 --seeds $s --threads 1 --out /tmp/sst10/e001_s$s --json benchmarks/out/sst2_s10/e0.01_s$s.json > benchmarks/out/sst2_s10/e0.01_s$s.log 2>&1 &
  sleep 1
done
benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd.py --part stream --budget 300 --hidden 128 --connected 300 --connected-test 100 --out /tmp/speech_s10/stream300 > benchmarks/out/speech_stream_s10_conv2d.log 2>&1 &
wait
