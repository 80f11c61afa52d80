#!/bin/sh
# bench/bound_bench.sh -- build and run bench/bound_bench (issue 15: Q1 with and
# without the contribution bound, the executor alone).
# Usage: bench/bound_bench.sh [ROWS] [RUNS]     (from the build tree, after make)
set -eu
cd "$(dirname "$0")/.."
make -s bench/bound_bench
exec ./bench/bound_bench "$@"
