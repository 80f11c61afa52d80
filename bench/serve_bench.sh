#!/bin/sh
# bench/serve_bench.sh -- issue 17's query targets through `sluice serve`:
#   1. the latency of a query on an (almost) empty product of 10 rows, one keep-alive connection,
#      pre-started workers (target: p50 at most 3 ms);
#   2. query submissions on a 10,000-row product with --max-jobs 2, CONNS
#      connections back to back for SECONDS (target: at least 500 answered/s),
#      with p50 and p99.
# Each is run RUNS times; the medians are printed last.
# The client is bench/https_load (C, wrk's model, with a client certificate).
# Usage: bench/serve_bench.sh [SECONDS] [RUNS] [CONNS]   (from the build tree, after make bench)
set -eu
SECONDS_=${1:-5}
RUNS=${2:-3}
CONNS=${3:-4}
cd "$(dirname "$0")/.."
B=$(mktemp -d /tmp/sluice-servebench.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$B"' EXIT
. bench/common.sh
S="./sluice -d $B/x"
SLUICE_QUERY_RATE=100000
export SLUICE_QUERY_RATE
./bench/gen claims --rows 10000 --seed 7 --format csv --out "$B/claims.csv"
head -n 11 "$B/claims.csv" >"$B/empty.csv" # no load takes 0 rows: 10 stand for empty
./sluice init "$B/x" >/dev/null
$S party add merchant --role merchant --out "$B/m.key" >/dev/null
$S party add buyer --role buyer --out "$B/b.key" >/dev/null
$S product add claims --schema examples/claims.schema.json --merchant merchant >/dev/null
$S product load claims "$B/claims.csv" >/dev/null
sed 's/"name": *"claims"/"name": "empty"/' examples/claims.schema.json >"$B/empty.schema.json"
$S product add empty --schema "$B/empty.schema.json" --merchant merchant >/dev/null
$S product load empty "$B/empty.csv" >/dev/null
cat >"$B/t.json" <<TERMS
{"purpose": "benchmark", "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z",
 "columns": ["age", "region", "claim_fen", "paid_fen"], "aggregates": ["COUNT", "SUM", "AVG"],
 "release": {"mode": "threshold", "min_group": 2}, "price_fen": 0, "revenue_shares": {"merchant": 10000}}
TERMS
contract() { # PRODUCT OUT
	$S contract offer --product "$1" --buyer buyer --terms "$B/t.json" --out "$2" >/dev/null
	$S contract sign "$2" --identity "$B/m.key" >/dev/null
	$S contract sign "$2" --identity "$B/b.key" >/dev/null
	$S contract submit "$2" >/dev/null
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$2"
}
CC=$(contract claims "$B/cc.json")
CE=$(contract empty "$B/ce.json")
$S serve --listen 127.0.0.1:0 --ready-file "$B/port" --log "$B/serve.log" --workers 2 --max-jobs 2 &
PID=$!
while [ ! -s "$B/port" ]; do sleep 0.1; done
P=$(cat "$B/port")
CA="$B/x/tls/ca.crt"
Q="SELECT region, COUNT(*), AVG(claim_fen) FROM claims GROUP BY region"
# load CONTRACT SQL CONNECTIONS: bench/https_load posting the query back to back on
# keep-alive mTLS connections with the buyer's certificate (one JSON line).
load() {
	./bench/https_load --host 127.0.0.1 --port "$P" --path /v1/queries --ca "$CA" \
		--cert "$B/b.crt" --key "$B/b.key" --connections "$3" --duration "$SECONDS_" \
		--post "$(python3 -c 'import json,sys; print(json.dumps({"contract": sys.argv[1], "sql": sys.argv[2]}))' "$1" "$2")"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
i=1
while [ "$i" -le "$RUNS" ]; do
	e=$(load "$CE" "$(echo "$Q" | sed 's/FROM claims/FROM empty/')" 1)
	t=$(load "$CC" "$Q" "$CONNS")
	echo "run $i: empty product, 1 connection: $e"
	echo "run $i: 10000 rows, $CONNS connections, --max-jobs 2: $t"
	echo "$e" | field p50_ms >>"$B/e.p50"
	echo "$t" | field per_second >>"$B/t.rate"
	echo "$t" | field p50_ms >>"$B/t.p50"
	echo "$t" | field p99_ms >>"$B/t.p99"
	i=$((i + 1))
done
echo "empty product through the daemon: p50 $(median <"$B/e.p50") ms (target: at most 3 ms)"
echo "10000-row product, --max-jobs 2: $(median <"$B/t.rate") queries/s (target: at least 500), p50 $(median <"$B/t.p50") ms, p99 $(median <"$B/t.p99") ms"
