#!/usr/bin/env bash
# Run a long CPU job (benchmark, training > 60 s) in one of two CPU slots, waiting for a free one.
# Usage: benchmarks/cpu_slot.sh COMMAND ARGS...   (the job must use ONE torch thread: torch.set_num_threads(1))
# Prints which slot it got and how long it waited.
start=$(date +%s)
while true; do
  for s in 0 1; do
    exec {fd}>/tmp/rnnkit_slot$s.lock
    if flock -n $fd; then
      echo "[slot.sh] got CPU slot $s after $(( $(date +%s) - start )) s at $(date +%H:%M:%S)" >&2
      export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
      "$@"; rc=$?
      flock -u $fd
      exit $rc
    fi
    exec {fd}>&-
  done
  sleep 5
done
