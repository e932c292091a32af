#!/usr/bin/env bash
# Reruns the comparison in docs/compression.md (all runs, or only the names given).
exec "$(dirname "$0")/run_experiments.sh" configs/compression/experiments.txt "$@"
