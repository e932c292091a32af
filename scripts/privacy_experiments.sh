#!/usr/bin/env bash
# Reruns the comparison in docs/privacy.md (all runs, or only the names given).
exec "$(dirname "$0")/run_experiments.sh" configs/privacy/experiments.txt "$@"
