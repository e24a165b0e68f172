#!/usr/bin/env bash
# After loso.sh: same-day control (george, lucas, 600 s, no --normalize), then the enrolment
# evaluation of both seeds' models and the official split with --normalize speaker (RULE.txt).
while pgrep -f "benchmarks/out/s12/loso.sh" > /dev/null; do sleep 10; done
export PYTHONPATH=src RNNKIT_DATA_DIR=/work/shared/data
O=/work/main/benchmarks/out/s12
cd /tmp/s12c   # frozen HEAD 71c781d: the session-10 command as it was
common="--part loso --budget 600 --hidden 128 --connected 0 --dropout 0.3 --dynamic-range 40 --speed 0.9 1.0 1.1 --ceps 13 --frontend conv2d --maps 32 --seed 0"
for s in george lucas; do
  /work/main/benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd.py $common --speakers $s --out /tmp/speech_s12/control > $O/control_$s.log 2>&1 &
  sleep 1
done
wait
cd /tmp/s12e   # the working tree with enroll()
.venv/bin/python -m pytest -q -x tests/tasks/test_speech_augment.py tests/data/test_audio.py > $O/chain_pytest.log 2>&1
/work/main/benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd.py --part official --budget 600 --hidden 128 --connected 500 --frontend conv2d --maps 32 --normalize speaker --seed 0 --out /tmp/speech_s12/official > $O/official_speaker.log 2>&1 &
sleep 2
for seed in 0 1; do
  /work/main/benchmarks/cpu_slot.sh .venv/bin/python benchmarks/speech_fsdd_enroll.py --runs /tmp/speech_s12/loso_s$seed > $O/enroll_s$seed.log 2>&1
done
wait
