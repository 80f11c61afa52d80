#!/bin/sh
# sluice query (issue 6): answers under an active contract, threshold release,
# every policy refusal audited and not charged, hostile text refused or killed
# without harm to the broker, --request-id replays.  Both suites.
set -u
. "$(dirname "$0")/lib.sh"

used() { sql "$D/sluice.db" "SELECT queries_used FROM contracts WHERE id = '$1'"; }
events() { sql "$D/sluice.db" "SELECT count(*) FROM audit_events WHERE action = '$1'"; }

q() { # CONTRACT [ARGS] TEXT
	c=$1
	shift
	run "$SLUICE" -d "$D" query --contract "$c" --identity "$T/$suite-buyer.key" "$@"
}

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	exchange other:buyer
	claims_product
	terms "$T/all.json" 't["columns"] = ["age","sex","region","plan","dx_chapter","claim_fen","paid_fen","inpatient_days","year","admitted"]; t["aggregates"] = ["COUNT","COUNT_DISTINCT","SUM","AVG","STDDEV","VARIANCE","MIN","MAX"]; t["release"] = {"mode": "threshold", "min_group": 2}; t["query_quota"] = 100000'
	C=$(contract "$T/all.json" "$T/$suite-all.c.json")
	terms "$T/q3.json" 't["query_quota"] = 3; t["release"] = {"mode": "threshold", "min_group": 400}'
	C3=$(contract "$T/q3.json" "$T/$suite-q3.c.json")

	note "an answer, as a table and as JSON"
	q "$C" "SELECT region, COUNT(*) AS n, SUM(paid_fen) FROM claims WHERE age BETWEEN 40 AND 65 GROUP BY region ORDER BY n DESC LIMIT 3"
	[ $? -eq 0 ] || fail "query"
	expect_stdout_contains "(3 rows from claims version 1; 0 groups suppressed"
	expect_stdout_contains "charged 5000 fen"
	q "$C" --json "SELECT sex, COUNT(*), AVG(claim_fen) FROM claims GROUP BY sex ORDER BY sex"
	json_doc
	json_eq "columns" 'd["columns"]' '["sex","COUNT(*)","AVG(claim_fen)"]'
	json_eq "rows are arrays" '[r[0] for r in d["rows"]]' '["F","M"]'
	json_eq "counts add up" 'sum(r[1] for r in d["rows"])' 5000
	json_eq "release" 'd["release"]' '{"mode":"threshold","min_group":2}'
	json_eq "charged" 'd["charged_fen"]' 5000
	json_eq "query id" 'd["query_id"][:2]' q_
	json_eq "the answer names the product version it read" '[d["product"], d["version"]]' '["claims",1]'
	json_eq "the answer's members" 'list(d)' '["query_id","contract","product","version","columns","rows","suppressed_groups","release","charged_fen"]'
	check "AVG is a real in its shortest form" grep -Eq '^      [0-9]+\.[0-9]{1,16}$' "$OUT"
	check_eq "quota counts released queries" "$(used "$C")" 2

	note "threshold: small groups are suppressed, and counted"
	q "$C3" --json "SELECT region, COUNT(*) FROM claims GROUP BY region"
	json_doc
	n=$(json 'len(d["rows"])')
	s=$(json 'd["suppressed_groups"]')
	check_eq "released + suppressed = 10 districts" "$((n + s))" 10
	check "some suppressed" [ "$s" -gt 0 ]
	check "every released group has >= 400 rows" python3 -c 'import json,sys; assert all(r[1] >= 400 for r in json.load(open(sys.argv[1]))["rows"])' "$OUT"

	note "policy refusals: audited, not charged, quota untouched"
	before=$(used "$C")
	for pair in \
		"SELECT member_id, COUNT(*) FROM claims GROUP BY member_id|privacy unit" \
		"SELECT COUNT(*) FROM claims WHERE member_id = 5|privacy unit" \
		"SELECT name, COUNT(*) FROM claims GROUP BY name|hidden" \
		"SELECT claim_fen, COUNT(*) FROM claims GROUP BY claim_fen|measure" \
		"SELECT COUNT(*) FROM claims WHERE paid_fen > 5|measure" \
		"SELECT region FROM claims|neither an aggregate nor in GROUP BY" \
		"SELECT COUNT(*) FROM imaging|the contract is for product claims" \
		"SELECT COUNT(*) FROM claims WHERE nosuch = 1|no column \"nosuch\"" \
		"SELECT region, COUNT(*) FROM claims GROUP BY region ORDER BY x|no output column"; do
		expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" "${pair%%|*}"
		expect_stderr_contains "${pair##*|}"
	done
	check_eq "refusals are not counted" "$(used "$C")" "$before"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C3" --identity "$T/$suite-buyer.key" "SELECT MIN(claim_fen) FROM claims"
	expect_stderr_contains "the contract does not allow MIN"
	# COUNT allows COUNT(*) only: COUNT(DISTINCT) is allowed by its own name.
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C3" --identity "$T/$suite-buyer.key" "SELECT COUNT(DISTINCT region) FROM claims"
	expect_stderr_contains "the contract does not allow COUNT(DISTINCT)"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C3" --identity "$T/$suite-buyer.key" "SELECT COUNT(*), AVG(inpatient_days) FROM claims"
	expect_stderr_contains "inpatient_days is not among the contract's columns"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-other.key" "SELECT COUNT(*) FROM claims"
	expect_stderr_contains "is not the buyer's key of contract $C"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" "SELECT COUNT(*) FROM claims GROUP BY"
	expect_stderr_contains "1:37: expected a column, found end of query"

	note "quota: three released queries, then refused"
	expect_ok "$SLUICE" -d "$D" query --contract "$C3" --identity "$T/$suite-buyer.key" "SELECT COUNT(*) FROM claims"
	expect_ok env SLUICE_THREADS=zz "$SLUICE" -d "$D" query --contract "$C3" --identity "$T/$suite-buyer.key" "SELECT COUNT(*) FROM claims"
	expect_stderr_contains "SLUICE_THREADS=zz: not a count of 1 to 64"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C3" --identity "$T/$suite-buyer.key" "SELECT COUNT(*) FROM claims"
	expect_stderr_contains "query quota used up (3 of 3)"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C3" --identity "$T/$suite-buyer.key" --json "SELECT COUNT(*) FROM claims"
	expect_stdout_empty
	check "with --json, a refusal is one error object on stderr" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["code"] == "policy" and e["state"] == "refused" and e["query"].startswith("q_"), e
assert "query quota used up (3 of 3)" in e["message"], e' "$ERR"
	check_eq "quota" "$(used "$C3")" 3

	note "--request-id: a retry returns the first answer and is not counted again"
	q "$C" --json --request-id r-1 "SELECT COUNT(*) FROM claims"
	first=$(json 'd["query_id"]')
	n=$(used "$C")
	q "$C" --json --request-id r-1 "SELECT COUNT(*) FROM claims"
	json_eq "same query id" 'd["query_id"]' "$first"
	check_eq "not counted twice" "$(used "$C")" "$n"
	check_eq "one row" "$(sql "$D/sluice.db" "SELECT count(*) FROM queries WHERE request_id = 'r-1'")" 1

	note "revoked and expired contracts"
	expect_ok "$SLUICE" -d "$D" contract revoke "$C3" --reason "audit finding"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C3" --identity "$T/$suite-buyer.key" "SELECT COUNT(*) FROM claims"
	expect_stderr_contains "was revoked"
	expect_stderr_contains "audit finding"
	until=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
	terms "$T/short.json" "t['valid_until'] = '$until'"
	CS=$(contract "$T/short.json" "$T/$suite-short.c.json")
	sleep 4
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$CS" --identity "$T/$suite-buyer.key" "SELECT COUNT(*) FROM claims"
	expect_stderr_contains "expired at $until"

	note "hostile text: clear errors, the broker unharmed"
	deep=$(python3 -c 'print("SELECT COUNT(*) FROM claims WHERE " + "(" * 10000 + "age = 1" + ")" * 10000)')
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" "$deep"
	expect_stderr_contains "nesting deeper than 64"
	python3 -c 'print("SELECT COUNT(*) FROM claims WHERE age IN (" + ", ".join(str(i % 120) for i in range(200000)) + ")")' >"$T/in.sql"
	check "the IN list is over 600 KB" [ "$(stat -c %s "$T/in.sql")" -gt 600000 ]
	run "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" - <"$T/in.sql"
	[ $? -eq 0 ] || fail "a large IN list"
	ok "a large IN list runs"
	# An OR chain of equalities near the 1 MiB limit: planned as one IN set, so it runs.
	python3 -c 'print("SELECT COUNT(*) FROM claims WHERE " + " OR ".join("age = %d" % (i % 200) for i in range(78000)))' >"$T/or.sql"
	check "the OR chain is over 900 KB" [ "$(stat -c %s "$T/or.sql")" -gt 900000 ]
	run "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" --json - <"$T/or.sql"
	[ $? -eq 0 ] || fail "a 1 MiB OR chain"
	json_eq "the OR chain counts every row (ages 0..120)" 'd["rows"][0][0]' 5000
	python3 -c 'print("SELECT COUNT(*) FROM claims WHERE region IN (" + "'"'"'x'"'"', " * 400000 + "'"'"'y'"'"')")' >"$T/huge.sql"
	before=$(events query.submitted)
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" - <"$T/huge.sql"
	expect_stderr_contains "the limit is 1048576"
	check "an oversized text is refused before it is signed or logged" \
	    [ "$(events query.submitted)" -eq "$before" ]
	expect_ok "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" "SELECT COUNT(*) FROM claims LIMIT 9223372036854775807"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" "SELECT COUNT(*) FROM claims LIMIT 99999999999999999999"
	expect_stderr_contains "LIMIT out of range"
	printf "SELECT COUNT(*) FROM claims WHERE region = 'a\0b'" >"$T/nul.sql"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" - <"$T/nul.sql"
	expect_stderr_contains "1:46: NUL byte in query"
	printf "SELECT COUNT(*) FROM claims WHERE region = '\377'" >"$T/utf.sql"
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" - <"$T/utf.sql"
	expect_stderr_contains "1:45: invalid UTF-8"
	expect_ok "$SLUICE" -d "$D" audit verify --help

	note "the audit log"
	check "query.submitted recorded" [ "$(events query.submitted)" -gt 20 ]
	check "query.refused recorded" [ "$(events query.refused)" -ge 15 ]
	check "query.planned recorded" [ "$(events query.planned)" -ge 8 ]
	check_eq "released = queries rows released" "$(events query.released)" "$(sql "$D/sluice.db" "SELECT count(*) FROM queries WHERE state = 'released'")"
	expect_ok "$SLUICE" -d "$D" audit export --out "$T/$suite-audit.jsonl"
	expect_ok "$SLUICE" audit verify "$T/$suite-audit.jsonl" --key "$D/platform.pub"
	# No plaintext row in the audit log: member names never appear.
	if grep -q "Zhou Wenyan" "$T/$suite-audit.jsonl"; then fail "a row in the audit log"; fi
done
pass
