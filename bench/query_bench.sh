#!/bin/sh
# bench/query_bench.sh -- issue 6's query target: Q1 over ROWS generated claims
# (default 5,000,000), end to end through `sluice query` (contract check,
# worker spawn, decryption of the four columns read plus the unit, plan check,
# release, the catalog transaction), against SQLite over a plaintext table of
# the same rows, in the same run; then the same query over an empty product
# (pure overhead); then DuckDB (from npm, bench/package.json, installed on first
# use) over the same CSV in an in-memory table with one thread, via
# bench/duckdb_q1.mjs.  Prints every run, the medians and the ratios.
# Usage: bench/query_bench.sh [ROWS] [RUNS]     (from the build tree, after make bench)
set -eu
ROWS=${1:-5000000}
RUNS=${2:-11}
cd "$(dirname "$0")/.."
B=$(mktemp -d /tmp/sluice-querybench.XXXXXX)
trap 'rm -rf "$B"' EXIT
. bench/common.sh
if duckdb_ready; then DUCK=1; else DUCK=0; echo "DuckDB: not measured ($DUCKDB_WHY)"; fi
Q1="SELECT region, COUNT(*), AVG(claim_fen), SUM(paid_fen) FROM claims WHERE age BETWEEN 40 AND 65 GROUP BY region"
S="./sluice -d $B/x"
./bench/gen claims --rows "$ROWS" --seed 7 --format csv --out "$B/claims.csv"
./sluice init "$B/x" >/dev/null
$S party add merchant --role merchant --out "$B/m.key" >/dev/null
$S party add buyer --role buyer --out "$B/b.key" >/dev/null
sed 's/"name": "claims"/"name": "empty"/' examples/claims.schema.json >"$B/empty.schema.json"
$S product add claims --schema examples/claims.schema.json --merchant merchant >/dev/null
$S product add empty --schema "$B/empty.schema.json" --merchant merchant >/dev/null
$S product load claims "$B/claims.csv" >/dev/null
head -n 2 "$B/claims.csv" >"$B/empty.csv" # one row: loading needs one
$S product load empty "$B/empty.csv" >/dev/null
cat >"$B/terms.json" <<TERMS
{"purpose": "benchmark", "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z",
 "columns": ["age", "region", "claim_fen", "paid_fen"], "aggregates": ["COUNT", "SUM", "AVG"],
 "release": {"mode": "threshold", "min_group": 10}, "price_fen": 0,
 "revenue_shares": {"merchant": 10000}}
TERMS
contract() { # product file
	$S contract offer --product "$1" --buyer buyer --terms "$B/terms.json" --out "$2" >/dev/null
	$S contract sign "$2" --identity "$B/m.key" >/dev/null
	$S contract sign "$2" --identity "$B/b.key" >/dev/null
	$S contract submit "$2" >/dev/null
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$2"
}
C=$(contract claims "$B/c.json")
E=$(sed 's/FROM claims/FROM empty/' <<Q1TEXT
$Q1
Q1TEXT
)
CE=$(contract empty "$B/e.json")
sqlite3 "$B/s.db" "CREATE TABLE claims(member_id INT, age INT, sex TEXT, region TEXT,
    plan TEXT, dx_chapter TEXT, claim_fen INT, paid_fen INT, inpatient_days INT,
    year INT, admitted TEXT, name TEXT);" ".mode csv" ".import --skip 1 $B/claims.csv claims"

now() { date +%s%N; }
ms() { echo "scale=2; ($2 - $1) / 1000000" | bc; }

i=1
while [ "$i" -le "$RUNS" ]; do
	# The worker's threads (issue 19): one, then two, each run; the rest as before on one.
	t0=$(now); $S query --threads 1 --contract "$C" --identity "$B/b.key" "$Q1" >"$B/out.txt"; t1=$(now)
	ms "$t0" "$t1" >>"$B/sluice.ms"
	t0=$(now); $S query --threads 2 --contract "$C" --identity "$B/b.key" "$Q1" >"$B/out2.txt"; t1=$(now)
	ms "$t0" "$t1" >>"$B/sluice2.ms"
	cmp -s "$B/out.txt" "$B/out2.txt" || { echo "query_bench: 1 and 2 threads answer differently" >&2; exit 1; }
	t0=$(now); $S query --threads 1 --contract "$CE" --identity "$B/b.key" "$E" >/dev/null; t1=$(now)
	ms "$t0" "$t1" >>"$B/empty.ms"
	t0=$(now); sqlite3 "$B/s.db" "$Q1" >"$B/sqlite.txt"; t1=$(now)
	ms "$t0" "$t1" >>"$B/sqlite.ms"
	echo "run $i: sluice $(tail -n 1 "$B/sluice.ms") ms (2 threads $(tail -n 1 "$B/sluice2.ms") ms), empty product $(tail -n 1 "$B/empty.ms") ms, sqlite $(tail -n 1 "$B/sqlite.ms") ms"
	i=$((i + 1))
done
cat "$B/out.txt"
SM=$(median <"$B/sluice.ms"); S2=$(median <"$B/sluice2.ms"); EM=$(median <"$B/empty.ms"); QM=$(median <"$B/sqlite.ms")
echo "Q1 over $ROWS rows: sluice median $SM ms (1 thread), $S2 ms (2 threads); empty product $EM ms; sqlite $QM ms"
echo "sluice is $(echo "scale=1; $QM / $SM" | bc)x faster than SQLite over plaintext"
# The scan's part: the query less what the same query costs over an empty product.
echo "scan part: $(echo "$SM - $EM" | bc) ms on 1 thread, $(echo "$S2 - $EM" | bc) ms on 2: $(awk -v a="$SM" -v b="$S2" -v e="$EM" 'BEGIN { printf "%.2f", (a - e) / (b - e) }')x (target: at least 1.7x)"
if [ "$DUCK" = 1 ]; then
	if node bench/duckdb_q1.mjs "$B/claims.csv" "$Q1" "$RUNS" >"$B/duck.out" 2>&1; then
		cat "$B/duck.out"
		DM=$(sed -n 's/^duckdb median: \([0-9.]*\) ms.*/\1/p' "$B/duck.out")
		echo "Q1 DuckDB (1 thread, in memory, query only) median $DM ms; sluice/DuckDB = $(awk -v a="$SM" -v b="$DM" 'BEGIN { printf "%.2f", a / b }') (target 0.50: sluice 2x faster; here $(faster "$SM" "$DM"))"
		if DUCKDB_THREADS=default node bench/duckdb_q1.mjs "$B/claims.csv" "$Q1" "$RUNS" >"$B/duck2.out" 2>&1; then
			D2=$(sed -n 's/^duckdb median: \([0-9.]*\) ms.*/\1/p' "$B/duck2.out")
			echo "Q1 DuckDB (default threads) median $D2 ms; sluice on 2 threads/DuckDB = $(awk -v a="$S2" -v b="$D2" 'BEGIN { printf "%.2f", a / b }') (issue 19's target: at most 0.35)"
		fi
	else
		cat "$B/duck.out"
		echo "DuckDB: not measured (node bench/duckdb_q1.mjs failed: $(tail -n 1 "$B/duck.out"))"
	fi
else
	echo "DuckDB: not measured ($DUCKDB_WHY)"
fi
