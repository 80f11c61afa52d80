#!/bin/sh
# Threshold mode's promise, tested as an attacker would: PRIVACY_QUERIES
# (default 600) random queries (tests/integration/query_oracle.py: random
# filters, groupings, aggregates, ORDER BY and LIMIT) over skewed data --
# units with many rows, groups of a single unit, a region where one member
# lives alone -- against a contract with min_group 5.  SQLite computes every
# group and its distinct units from the same rows; the released rows must be
# exactly the groups with 5 or more units and the suppressed count the rest,
# for every query.  (That threshold mode alone still leaks an individual to
# two differencing queries, and that dp mode does not, is
# tests/security/differencing.sh.)
set -u
. "${top_srcdir:-.}/tests/integration/lib.sh"
need python3
python3 -c 'import sqlite3' 2>/dev/null || skip "python3 has no sqlite3 module"
PY="$top_srcdir/tests/integration/query_oracle.py"
ROWS=3000
N=${PRIVACY_QUERIES:-600}
MIN_GROUP=5
suite=intl
D="$T/x"
exchange
mkdir "$T/data" || fail "mkdir"
expect_ok python3 "$PY" gen "$T/data" --rows "$ROWS"
expect_ok "$SLUICE" -d "$D" product add oracle --schema "$T/data/oracle.schema.json" \
	--merchant acme-merchant --holder city-health-bureau --operator ningbo-data-ops
expect_ok "$SLUICE" -d "$D" product load oracle "$T/data/oracle.csv"
python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
t["columns"] = ["region","tier","grade","delta","opened","active","ratio","rate","amount","visits","weight"]
t["aggregates"] = ["COUNT","COUNT_DISTINCT","SUM","AVG","STDDEV","VARIANCE","MIN","MAX"]
t["release"] = {"mode": "threshold", "min_group": int(sys.argv[3])}
t["query_quota"] = 1000000
json.dump(t, open(sys.argv[2], "w"))' "$EX/claims.terms.json" "$T/terms.json" "$MIN_GROUP"
"$SLUICE" -d "$D" contract offer --product oracle --buyer buyer --terms "$T/terms.json" --out "$T/c.json" >/dev/null ||
	fail "offer"
for k in city-health-bureau ningbo-data-ops acme-merchant buyer; do
	"$SLUICE" contract sign "$T/c.json" --identity "$T/$suite-$k.key" >/dev/null || fail "sign $k"
done
expect_ok "$SLUICE" -d "$D" contract submit "$T/c.json"
C=$(json_file "$T/c.json" 'd["id"]')

LAST_CMD="python3 query_oracle.py run --random $N --min-group $MIN_GROUP"
python3 "$PY" run --product oracle --sluice "$SLUICE" --dir "$D" --contract "$C" \
	--identity "$T/$suite-buyer.key" --rows "$ROWS" --min-group "$MIN_GROUP" --every 1 \
	--random "$N" >"$OUT" 2>"$ERR"
_rc=$?
cat "$OUT"
[ $_rc -eq 0 ] || fail "a group below min_group was released, or an answer differs (exit $_rc)"
line=$(sed -n 's/^oracle: //p' "$OUT")
nq=$(echo "$line" | sed 's/ queries.*//')
ns=$(echo "$line" | sed -n 's/.*; \([0-9]*\) groups suppressed.*/\1/p')
check "at least $N random queries ($nq)" [ "$nq" -ge "$N" ]
check "groups below $MIN_GROUP units were there to suppress ($ns)" [ "${ns:-0}" -ge "$N" ]
ok "every released group has $MIN_GROUP or more units; every smaller one was suppressed"
pass
