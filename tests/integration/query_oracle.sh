#!/bin/sh
# The query engine against an oracle: the same generated rows loaded into
# Sluice and into SQLite, a corpus of a few hundred queries (every aggregate,
# every filter form, BUCKET/YEAR/MONTH keys, NULLs, empty answers, ORDER BY
# and LIMIT) run in threshold mode with min_group 2, and every released row
# compared with SQLite's answer to the same query restricted to groups of
# >= 2 distinct units; the suppressed-group counts too.  Integers exact,
# floats to a relative 1e-9.  Then a small product of extreme values (int64
# ends, sums of squares past 2^127, REAL values far from 0 and close
# together) against the same oracle.  query_oracle.py does the generating,
# the translating and the comparing.  The whole corpus under intl, every
# 7th query under gm.
set -u
. "$(dirname "$0")/lib.sh"
need python3
python3 -c 'import sqlite3' 2>/dev/null || skip "python3 has no sqlite3 module"
PY="$top_srcdir/tests/integration/query_oracle.py"
ROWS=${ORACLE_ROWS:-3000}
disagree=""

terms() { # FILE PYTHON-EDIT: the shipped terms with an edit applied to t
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(t, open(sys.argv[2], "w"))' "$EX/claims.terms.json" "$1" "$2"
}

contract() { # PRODUCT TERMS OUT: offered, signed by all, submitted; prints the id
	"$SLUICE" -d "$D" contract offer --product "$1" --buyer buyer --terms "$2" --out "$3" >/dev/null || fail "offer $2"
	for k in city-health-bureau ningbo-data-ops acme-merchant buyer; do
		"$SLUICE" contract sign "$3" --identity "$T/$suite-$k.key" >/dev/null || fail "sign $k"
	done
	"$SLUICE" -d "$D" contract submit "$3" >/dev/null || fail "submit $3"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$3"
}

# oracle_run LABEL PRODUCT ROWS EVERY: the corpus against SQLite on $D's contract $C,
# going on after a disagreement so that the log shows every one.
oracle_run() {
	LAST_CMD="python3 query_oracle.py run --product $2 ($1)"
	python3 "$PY" run --product "$2" --sluice "$SLUICE" --dir "$D" --contract "$C" \
		--identity "$T/$suite-buyer.key" --rows "$3" --min-group 2 --every "$4" >"$OUT" 2>"$ERR"
	_rc=$?
	cat "$OUT"
	[ -s "$ERR" ] && cat "$ERR"
	if [ $_rc -eq 0 ]; then
		ok "every released row agrees with SQLite ($1)"
	else
		echo "DISAGREE: $1 (exit $_rc)"
		disagree="$disagree $(echo "$1" | tr ' ,' '_/')"
	fi
}

note "the data"
mkdir "$T/data" || fail "mkdir"
expect_ok python3 "$PY" gen "$T/data" --rows "$ROWS"
expect_stdout_contains "gen: $ROWS rows"
check "the schema is JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/data/oracle.schema.json"

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	exchange
	for prod in oracle edge; do
		expect_ok "$SLUICE" -d "$D" product add "$prod" --schema "$T/data/$prod.schema.json" \
			--merchant acme-merchant --holder city-health-bureau --operator ningbo-data-ops
		expect_ok "$SLUICE" -d "$D" product load "$prod" "$T/data/$prod.csv"
	done
	# Every column but the unit and the hidden one, every aggregate, min_group 2.
	terms "$T/$suite-oracle.json" 't["columns"] = ["region","tier","grade","delta","opened","active","ratio","rate","amount","visits","weight"]; t["aggregates"] = ["COUNT","COUNT_DISTINCT","SUM","AVG","STDDEV","VARIANCE","MIN","MAX"]; t["release"] = {"mode": "threshold", "min_group": 2}; t["query_quota"] = 1000000'
	terms "$T/$suite-edge.json" 't["columns"] = ["g","big","x"]; t["aggregates"] = ["COUNT","COUNT_DISTINCT","SUM","AVG","STDDEV","VARIANCE","MIN","MAX"]; t["release"] = {"mode": "threshold", "min_group": 2}; t["query_quota"] = 1000000'

	for prod in oracle edge; do
		C=$(contract "$prod" "$T/$suite-$prod.json" "$T/$suite-$prod.c.json")
		check "contract $C for $prod" [ -n "$C" ]
		if [ "$prod" = oracle ]; then
			expect_ok "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" --json "SELECT COUNT(*) FROM oracle"
			json_eq "all rows loaded" 'd["rows"][0][0]' "$ROWS"
		fi

		note "$prod against SQLite ($suite)"
		every=1
		[ "$suite" = gm ] && [ "$prod" = oracle ] && every=7
		oracle_run "$prod, $suite" "$prod" "$ROWS" "$every"
		if [ "$suite" = intl ] && [ "$prod" = oracle ]; then
			n=$(sed -n 's/^oracle: \([0-9]*\) queries.*/\1/p' "$OUT")
			check "at least 200 queries (${n:-none})" [ "${n:-0}" -ge 200 ]
		fi
	done
done
# The worker's threads (sandbox/exec.c): a product of three chunks (one is
# 65,536 rows), where each thread scans chunks of its own, and every 12th query
# of the corpus on 1, 2 and 4 threads, each against SQLite.
TROWS=${ORACLE_THREAD_ROWS:-140000}
note "threads: $TROWS rows, 1, 2 and 4 threads"
suite=intl
D="$T/threads"
rm -f "$T"/intl-*.key "$T"/intl-*.crt "$T"/intl-*.pub # the parties' files are made anew
exchange
mkdir "$T/tdata" || fail "mkdir"
expect_ok python3 "$PY" gen "$T/tdata" --rows "$TROWS"
expect_ok "$SLUICE" -d "$D" product add oracle --schema "$T/tdata/oracle.schema.json" \
	--merchant acme-merchant --holder city-health-bureau --operator ningbo-data-ops
expect_ok "$SLUICE" -d "$D" product load oracle "$T/tdata/oracle.csv"
C=$(contract oracle "$T/intl-oracle.json" "$T/threads-oracle.c.json")
for th in 1 2 4; do
	SLUICE_THREADS=$th
	export SLUICE_THREADS
	oracle_run "$th threads" oracle "$TROWS" 12
done
unset SLUICE_THREADS
LAST_CMD=""
[ -z "$disagree" ] || fail "the engine and SQLite disagree:$disagree (the MISMATCH lines above)"
pass
