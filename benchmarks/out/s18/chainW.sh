#!/bin/bash
while pgrep -f chainU.sh > /dev/null; do sleep 5; done
/tmp/s18/shk.sh W1 --threads 2 --seed 0 --weight-decay 0.2
