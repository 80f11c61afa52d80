#!/bin/sh
# bench/load_bench.sh -- issue 4's load target: ROWS generated claim rows
# (default 5,000,000, about 400 MB of CSV) through `sluice product load`
# (confined worker: parse, validate, encode, encrypt, publish), against
# SQLite's .import of the same file into a plaintext table, in the same run.
# Prints each run, the medians, the ratio, and bytes on disk per row.
# Usage: bench/load_bench.sh [ROWS] [RUNS]      (from the build tree, after make bench)
set -eu
ROWS=${1:-5000000}
RUNS=${2:-3}
cd "$(dirname "$0")/.."
B=$(mktemp -d /tmp/sluice-loadbench.XXXXXX)
trap 'rm -rf "$B"' EXIT
./bench/gen claims --rows "$ROWS" --seed 7 --format csv --out "$B/claims.csv"
SIZE=$(stat -c %s "$B/claims.csv")
echo "input: $ROWS rows, $SIZE bytes of CSV"
./sluice init "$B/x" >/dev/null
./sluice -d "$B/x" party add acme --role merchant --out "$B/a.key" >/dev/null
./sluice -d "$B/x" product add claims --schema examples/claims.schema.json --merchant acme >/dev/null

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

i=1
while [ "$i" -le "$RUNS" ]; do
	t0=$(now)
	./sluice -d "$B/x" product load claims "$B/claims.csv" --json >"$B/out.json"
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$B/sluice.times"
	rm -f "$B/s.db"
	sqlite3 "$B/s.db" "CREATE TABLE claims(member_id INT, age INT, sex TEXT, region TEXT,
	    plan TEXT, dx_chapter TEXT, claim_fen INT, paid_fen INT, inpatient_days INT,
	    year INT, admitted TEXT, name TEXT);"
	t0=$(now)
	sqlite3 "$B/s.db" ".mode csv" ".import --skip 1 $B/claims.csv claims"
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$B/sqlite.times"
	echo "run $i: sluice $(tail -n 1 "$B/sluice.times") s, sqlite $(tail -n 1 "$B/sqlite.times") s"
	i=$((i + 1))
done
S=$(median <"$B/sluice.times")
Q=$(median <"$B/sqlite.times")
ENC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$B/out.json")
echo "sluice load median: $S s ($(echo "$ROWS / $S" | bc) rows/s, $(echo "$SIZE / $S / 1000000" | bc) MB/s)"
echo "sqlite .import median: $Q s; sluice is $(echo "scale=2; $Q / $S" | bc)x faster"
echo "bytes per row: sluice $(echo "scale=1; $ENC / $ROWS" | bc) (sealed chunks of one version), sqlite $(echo "scale=1; $(stat -c %s "$B/s.db") / $ROWS" | bc) (whole file)"
