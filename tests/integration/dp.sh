#!/bin/sh
# dp release mode (issue 15): a query under a dp contract is released with
# noise of the stated scale, charged to the budget in the catalog, and refused
# once the budget is spent, with its cost and what is left; a replay charges
# nothing; what dp mode does not release is refused before it costs anything.
set -u
. "$(dirname "$0")/lib.sh"

q() { # CONTRACT [ARGS] TEXT
	c=$1
	shift
	run "$SLUICE" -d "$D" query --contract "$c" --identity "$T/$suite-buyer.key" "$@"
}

charges() { sql "$D/sluice.db" "SELECT count(*) FROM dp_charges WHERE contract = '$1'"; }

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	exchange
	claims_product
	terms "$T/dp.json" 't["aggregates"] = ["COUNT", "SUM", "AVG", "VARIANCE"]; t["release"] = {"mode": "dp", "mechanism": "laplace", "epsilon_total": "3", "epsilon_per_query": "1"}'
	C=$(contract "$T/dp.json" "$T/$suite-dp.c.json")

	note "a released dp answer states its noise and its spend"
	q "$C" --json --request-id r1 "SELECT sex, COUNT(*), SUM(paid_fen) FROM claims GROUP BY sex"
	[ $? -eq 0 ] || fail "dp query"
	json_doc
	cp "$OUT" "$T/$suite-first.json"
	json_eq "mode" 'd["release"]["mode"]' dp
	json_eq "mechanism" 'd["release"]["mechanism"]' laplace
	json_eq "epsilon spent" 'd["release"]["epsilon"]' 1
	json_eq "budget after" '[d["release"]["budget_spent"], d["release"]["budget_remaining"]]' '["1","2"]'
	# sex has a public domain: both groups are released whatever their counts,
	# so no unit count is noised and the epsilon is split two ways.
	json_eq "public groups" '[d["release"]["groups"], d["release"]["public_groups"], d["release"]["share"]]' '["public",2,"0.5"]'
	json_eq "two noisy quantities a group, each with its 95 % half-width" '[(n["quantity"], n["ci95"] > 0) for n in d["release"]["noise"]]' \
		'[["rows",true],["sum",true]]'
	# One row a member (max_rows_per_unit 1): the counts are of the 623 members,
	# not of the 5,000 claims, to within the noise (scale 3 a group).
	members=$(python3 -c 'import csv, sys; print(len({r["member_id"] for r in csv.DictReader(open(sys.argv[1]))}))' "$EX/claims.csv")
	json_eq "both sexes, the bounded counts near the $members members" \
		"sorted(r[0] for r in d['rows']) == ['F', 'M'] and abs(sum(r[1] for r in d['rows']) - $members) < 60" true
	check_eq "charged once" "$(charges "$C")" 1

	note "a replay returns the first noisy answer and charges nothing"
	q "$C" --json --request-id r1 "SELECT sex, COUNT(*), SUM(paid_fen) FROM claims GROUP BY sex"
	json_eq "the same rows" 'd["rows"]' "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["rows"], separators=(",", ":")))' "$T/$suite-first.json")"
	check_eq "still charged once" "$(charges "$C")" 1

	note "what dp mode does not release is refused, and costs nothing"
	q "$C" "SELECT sex, MAX(paid_fen) FROM claims GROUP BY sex"
	[ $? -eq 1 ] || fail "MAX in dp mode"
	expect_stderr_contains "MAX"
	# paid_fen's squares reach 2.5e13 fen^2 a member: no noise scale covers them
	q "$C" "SELECT sex, VARIANCE(paid_fen) FROM claims GROUP BY sex"
	[ $? -eq 1 ] || fail "VARIANCE of a measure too wide for dp mode"
	expect_stderr_contains "VARIANCE(paid_fen): its bounds are too wide for dp mode's noise"
	check_eq "not charged" "$(charges "$C")" 1

	note "the budget: spent exactly, then refused with its cost and what is left"
	q "$C" "SELECT COUNT(*) FROM claims"
	[ $? -eq 0 ] || fail "second dp query"
	expect_stdout_contains "(dp, laplace: epsilon 1 spent, 1 left; 95 % of the noise within: rows +-"
	# age declares no domain: its groups are selected by their noisy unit
	# counts, and a handful of members an age is far below tau.
	q "$C" --json "SELECT age, COUNT(*) FROM claims WHERE age > 40 GROUP BY age"
	[ $? -eq 0 ] || fail "third dp query"
	json_doc
	json_eq "selected groups" '[d["release"]["groups"], d["release"]["tau"] > 20, [n["quantity"] for n in d["release"]["noise"]]]' '["selected",true,["units","rows"]]'
	json_eq "most ages suppressed" 'd["suppressed_groups"] > 40 and len(d["rows"]) + d["suppressed_groups"] <= 63' true
	q "$C" "SELECT COUNT(*) FROM claims"
	[ $? -eq 1 ] || fail "a query past the budget"
	expect_stderr_contains "the privacy budget is spent: needs epsilon = 1; 0 of 3 left"
	check_eq "three charges" "$(charges "$C")" 3
	expect_ok "$SLUICE" -d "$D" budget --contract "$C" --json
	json_eq "budget" '[d["spent"], d["remaining"], d["queries"], len(d["history"])]' '["3","0",3,3]'
	n=$(sql "$D/sluice.db" "SELECT count(*) FROM audit_events WHERE action = 'query.refused' AND CAST(event AS TEXT) LIKE '%privacy budget is spent%'")
	check_eq "the refusal is audited" "$n" 1
	if grep -q '"noise"' "$D/worker.log" 2>/dev/null; then fail "noise in the worker log"; fi
done
pass
