#!/bin/sh
# bench/load_bench.sh -- issue 4's load target: ROWS generated claim rows
# (default 5,000,000, about 400 MB of CSV) through `sluice product load`
# (confined worker: parse, validate, encode, encrypt, publish), against
# SQLite's .import of the same file into a plaintext table and against DuckDB's
# read_csv into an in-memory table (default threads: all cores), in the same
# run, alternating; Sluice on one worker thread and on two (--threads; issue
# 19).  Prints each run, the medians, the ratios, and bytes on disk per row.  DuckDB comes from npm (bench/package.json), installed on first use.
# Usage: bench/load_bench.sh [ROWS] [RUNS]      (from the build tree, after make bench)
set -eu
ROWS=${1:-5000000}
RUNS=${2:-3}
cd "$(dirname "$0")/.."
B=$(mktemp -d /tmp/sluice-loadbench.XXXXXX)
trap 'rm -rf "$B"' EXIT
. bench/common.sh
if duckdb_ready; then DUCK=1; else DUCK=0; echo "DuckDB: not measured ($DUCKDB_WHY)"; fi
./bench/gen claims --rows "$ROWS" --seed 7 --format csv --out "$B/claims.csv"
SIZE=$(stat -c %s "$B/claims.csv")
echo "input: $ROWS rows, $SIZE bytes of CSV"
./sluice init "$B/x" >/dev/null
./sluice -d "$B/x" party add acme --role merchant --out "$B/a.key" >/dev/null
./sluice -d "$B/x" product add claims --schema examples/claims.schema.json --merchant acme >/dev/null

now() { date +%s.%N; }

i=1
while [ "$i" -le "$RUNS" ]; do
	t0=$(now)
	./sluice -d "$B/x" product load --threads 1 claims "$B/claims.csv" --json >"$B/out.json"
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$B/sluice.times"
	t0=$(now)
	./sluice -d "$B/x" product load --threads 2 claims "$B/claims.csv" --json >"$B/out2.json"
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$B/sluice2.times"
	rm -f "$B/s.db"
	sqlite3 "$B/s.db" "CREATE TABLE claims(member_id INT, age INT, sex TEXT, region TEXT,
	    plan TEXT, dx_chapter TEXT, claim_fen INT, paid_fen INT, inpatient_days INT,
	    year INT, admitted TEXT, name TEXT);"
	t0=$(now)
	sqlite3 "$B/s.db" ".mode csv" ".import --skip 1 $B/claims.csv claims"
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$B/sqlite.times"
	SQ_BYTES=$(stat -c %s "$B/s.db")
	rm -f "$B/s.db" # frees the page cache it held before DuckDB's run
	D=
	if [ "$DUCK" = 1 ]; then
		# one run per node process: it times only its CREATE TABLE ... read_csv
		if node bench/duckdb_load.mjs "$B/claims.csv" 1 >"$B/duck.out" 2>&1; then
			sed -n 's/^duckdb median: \([0-9.]*\) s .*/\1/p' "$B/duck.out" >>"$B/duck.times"
			DT=$(sed -n 's/.*; threads \([0-9]*\))$/\1/p' "$B/duck.out")
			D=", duckdb $(tail -n 1 "$B/duck.times") s"
		else
			DUCK=0; DUCKDB_WHY="node bench/duckdb_load.mjs failed: $(tail -n 1 "$B/duck.out")"
		fi
	fi
	echo "run $i: sluice $(tail -n 1 "$B/sluice.times") s, on 2 threads $(tail -n 1 "$B/sluice2.times") s, sqlite $(tail -n 1 "$B/sqlite.times") s$D"
	i=$((i + 1))
done
S=$(median <"$B/sluice.times")
S2=$(median <"$B/sluice2.times")
Q=$(median <"$B/sqlite.times")
ENC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$B/out.json")
echo "sluice load median: $S s ($(echo "$ROWS / $S" | bc) rows/s, $(echo "$SIZE / $S / 1000000" | bc) MB/s)"
echo "sluice load on 2 threads median: $S2 s ($(echo "scale=2; $S / $S2" | bc)x the one-thread load)"
echo "sqlite .import median: $Q s; sluice is $(echo "scale=2; $Q / $S" | bc)x faster"
if [ "$DUCK" = 1 ]; then
	DM=$(median <"$B/duck.times")
	echo "duckdb read_csv into memory ($DT threads) median: $DM s; sluice/DuckDB = $(awk -v a="$S" -v b="$DM" 'BEGIN { printf "%.2f", a / b }') (target 0.50: sluice 2x faster; here $(faster "$S" "$DM")); on 2 threads $(awk -v a="$S2" -v b="$DM" 'BEGIN { printf "%.2f", a / b }')"
else
	echo "DuckDB: not measured ($DUCKDB_WHY)"
fi
echo "bytes per row: sluice $(echo "scale=1; $ENC / $ROWS" | bc) (sealed chunks of one version), sqlite $(echo "scale=1; $SQ_BYTES / $ROWS" | bc) (whole file)"
