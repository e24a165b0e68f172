#!/bin/bash
/tmp/s18/shk.sh Y2 --threads 2 --seed 1 --weight-decay 0.4
/tmp/s18/shk.sh Z1 --threads 2 --seed 0 --weight-decay 0.8
