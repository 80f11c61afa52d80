#!/bin/sh
# bench/dp_bench.sh -- issue 15's target: Q1 over ROWS generated claims (default
# 5,000,000) through `sluice query` under a dp contract (Laplace, one row per
# member) and under a threshold contract, alternating, in the same run, dp on the
# default threads and on --threads 1; prints every run, the medians and the
# difference (target: dp at most 1 ms more).
# Usage: bench/dp_bench.sh [ROWS] [RUNS]     (from the build tree, after make bench)
set -eu
ROWS=${1:-5000000}
RUNS=${2:-11}
cd "$(dirname "$0")/.."
B=$(mktemp -d /tmp/sluice-dpbench.XXXXXX)
trap 'rm -rf "$B"' EXIT
. bench/common.sh
Q1="SELECT region, COUNT(*), AVG(claim_fen), SUM(paid_fen) FROM claims WHERE age BETWEEN 40 AND 65 GROUP BY region"
S="./sluice -d $B/x"
./bench/gen claims --rows "$ROWS" --seed 7 --format csv --out "$B/claims.csv"
./sluice init "$B/x" >/dev/null
$S party add merchant --role merchant --out "$B/m.key" >/dev/null
$S party add buyer --role buyer --out "$B/b.key" >/dev/null
$S product add claims --schema examples/claims.schema.json --merchant merchant >/dev/null
$S product load claims "$B/claims.csv" >/dev/null
terms() { # FILE RELEASE
	cat >"$1" <<TERMS
{"purpose": "benchmark", "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z",
 "columns": ["age", "region", "claim_fen", "paid_fen"], "aggregates": ["COUNT", "SUM", "AVG"],
 "release": $2, "price_fen": 0, "revenue_shares": {"merchant": 10000}}
TERMS
}
contract() { # TERMS OUT
	$S contract offer --product claims --buyer buyer --terms "$1" --out "$2" >/dev/null
	$S contract sign "$2" --identity "$B/m.key" >/dev/null
	$S contract sign "$2" --identity "$B/b.key" >/dev/null
	$S contract submit "$2" >/dev/null
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$2"
}
terms "$B/t.json" '{"mode": "threshold", "min_group": 10}'
terms "$B/d.json" '{"mode": "dp", "mechanism": "laplace", "epsilon_total": 1000, "epsilon_per_query": 1}'
CT=$(contract "$B/t.json" "$B/ct.json")
CD=$(contract "$B/d.json" "$B/cd.json")
now() { date +%s%N; }
ms() { echo "scale=2; ($2 - $1) / 1000000" | bc; }
i=1
while [ "$i" -le "$RUNS" ]; do
	t0=$(now); $S query --contract "$CT" --identity "$B/b.key" "$Q1" >/dev/null; t1=$(now)
	ms "$t0" "$t1" >>"$B/t.ms"
	t0=$(now); $S query --contract "$CD" --identity "$B/b.key" "$Q1" >"$B/dp.txt"; t1=$(now)
	ms "$t0" "$t1" >>"$B/d.ms"
	t0=$(now); $S query --threads 1 --contract "$CD" --identity "$B/b.key" "$Q1" >/dev/null; t1=$(now)
	ms "$t0" "$t1" >>"$B/d1.ms"
	echo "run $i: threshold $(tail -n 1 "$B/t.ms") ms, dp $(tail -n 1 "$B/d.ms") ms, dp on 1 thread $(tail -n 1 "$B/d1.ms") ms"
	i=$((i + 1))
done
cat "$B/dp.txt"
TM=$(median <"$B/t.ms"); DM=$(median <"$B/d.ms"); D1=$(median <"$B/d1.ms")
echo "Q1 over $ROWS rows: threshold median $TM ms, dp median $DM ms (1 thread: $D1 ms); dp costs $(echo "scale=2; $DM - $TM" | bc) ms more (target: at most 1 ms)"
