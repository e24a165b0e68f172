#!/usr/bin/env bash
# Full leave-one-speaker-out with --normalize speaker: seeds 0 and 1, two jobs per seed (RULE.txt)
cd /tmp/s12s
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
common="--part loso --budget 600 --hidden 128 --connected 0 --dropout 0.3 --dynamic-range 40 --speed 0.9 1.0 1.1 --ceps 13 --frontend conv2d --maps 32 --normalize speaker"
for seed in 0 1; do
  for grp in "george jackson lucas" "nicolas theo yweweler"; do
    tag=$(echo $grp | cut -c1-3)
    /work/main/benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd.py $common --seed $seed --speakers $grp --out /tmp/speech_s12/loso_s${seed} > /work/main/benchmarks/out/s12/loso_s${seed}_${tag}.log 2>&1 &
    sleep 1
  done
  wait
done
