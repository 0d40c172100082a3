# shellcheck shell=bash
## One service's or web client's replicas, one at a time (apply_rolling.sh).
roll '__TARGET_GROUP__' __REPLICAS__
