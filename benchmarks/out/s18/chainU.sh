#!/bin/bash
/tmp/s18/shk.sh U0 --threads 2 --seed 0
/tmp/s18/shk.sh U1 --threads 2 --seed 0 --weight-decay 0.1
/tmp/s18/shk.sh U2 --threads 2 --seed 1 --weight-decay 0.1
