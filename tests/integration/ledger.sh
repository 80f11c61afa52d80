#!/bin/sh
# sluice ledger (issue 7): a posting per released query in the release's own
# transaction, exact largest-remainder splits, free use posted as zeros, the
# monthly cap and its adjustment account, who sees which statement, --from /
# --until / --json / --csv, exactly-once under retries and concurrent
# brokers, `ledger verify` catching tampering, and kill -9 at random points
# during 200 submissions.  Both suites (the crash test in intl only).
set -u
. "$(dirname "$0")/lib.sh"

Q="SELECT region, COUNT(*) FROM claims GROUP BY region"
q() { # CONTRACT [ARGS]: the standard query
	c=$1
	shift
	run "$SLUICE" -d "$D" query --contract "$c" --identity "$T/$suite-buyer.key" "$@" "$Q"
}
db() { sql "$D/sluice.db" "$1"; }
txns() { db "SELECT count(*) FROM ledger_transactions WHERE contract = '$1'"; }
# The amounts of one query's postings, sorted by account name, as "name=amount ..."
postings() {
	db "SELECT group_concat(name || '=' || amount_fen, ' ') FROM
	    (SELECT coalesce(pa.name, 'adjustment') AS name, p.amount_fen FROM ledger_postings p
	     JOIN ledger_transactions t ON t.id = p.txn LEFT JOIN parties pa ON pa.id = p.account
	     WHERE t.query = '$1' ORDER BY 1)"
}
ledger_ok() { # DESC
	run "$SLUICE" -d "$D" ledger verify
	[ $? -eq 0 ] || fail "$1: ledger verify: $(cat "$ERR")"
	ok "$1: ledger verify passes"
}

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	exchange other:buyer auditor:auditor
	claims_product
	C=$(contract "$EX/claims.terms.json" "$T/$suite-c.json")

	note "an empty ledger verifies and has no statements"
	ledger_ok "empty"
	expect_ok "$SLUICE" -d "$D" ledger --json
	json_eq "no statements" 'd["statements"]' '[]'

	note "each released query posts one balanced transaction: 5000 = 2000 + 1500 + 1000 + 500"
	for i in 1 2 3; do
		q "$C" --json
		[ $? -eq 0 ] || fail "query $i: $(cat "$ERR")"
	done
	QID=$(json 'd["query_id"]')
	check_eq "three transactions" "$(txns "$C")" 3
	check_eq "postings of the last" "$(postings "$QID")" \
		"acme-merchant=1000 buyer=-5000 city-health-bureau=2000 ningbo-data-ops=1500 platform=500"
	check_eq "every account sums to zero" "$(db 'SELECT sum(balance_fen) FROM ledger_accounts')" 0
	ledger_ok "three queries"
	expect_stdout_contains "buyers debited 15000 fen = parties credited 15000 fen + adjustment 0 fen"
	check_eq "the release event carries the postings" \
		"$(db "SELECT json_extract(event, '\$.details.postings[0].amount_fen') FROM audit_events WHERE subject = '$QID' AND action = 'query.released'")" -5000

	note "statements: all accounts for the platform, opening + entries = closing"
	expect_ok "$SLUICE" -d "$D" ledger --json
	json_eq "accounts" '[s["account"] for s in d["statements"]]' \
		'["acme-merchant","buyer","city-health-bureau","ningbo-data-ops","platform"]'
	json_eq "closing = opening + entries" \
		'all(s["closing_fen"] == s["opening_fen"] + sum(e["amount_fen"] for e in s["entries"]) for s in d["statements"])' true
	json_eq "buyer's closing" '[s["closing_fen"] for s in d["statements"] if s["account"] == "buyer"]' '[-15000]'
	json_eq "entries name contract and query" \
		'sorted(set((e["contract"], e["query"][:2]) for s in d["statements"] for e in s["entries"]))' "[[\"$C\",\"q_\"]]"
	expect_ok "$SLUICE" -d "$D" ledger
	expect_stdout_contains "acme-merchant (merchant)"
	expect_stdout_contains "3000 fen  (3 entries)"
	expect_ok "$SLUICE" -d "$D" ledger --csv --party acme-merchant
	check_eq "csv header" "$(head -n 1 "$OUT")" "account,role,kind,time,contract,query,transaction,amount_fen,balance_fen"
	check_eq "csv rows: opening, 3 entries, closing" "$(wc -l <"$OUT")" 6
	check_eq "csv closing" "$(tail -n 1 "$OUT")" "acme-merchant,,closing,,,,,,3000"
	check_eq "csv running balance" "$(sed -n 4p "$OUT" | cut -d, -f9)" 2000

	note "--from and --until: opening balances carry what came before"
	T2=$(db "SELECT time FROM ledger_transactions ORDER BY id LIMIT 1 OFFSET 1")
	expect_ok "$SLUICE" -d "$D" ledger --json --party acme-merchant --from 2099
	json_eq "all before: opening 3000, no entries" '[d["statements"][0]["opening_fen"], len(d["statements"][0]["entries"]), d["statements"][0]["closing_fen"]]' '[3000,0,3000]'
	expect_ok "$SLUICE" -d "$D" ledger --json --party acme-merchant --until 2000
	json_eq "none yet" '[d["statements"][0]["opening_fen"], len(d["statements"][0]["entries"])]' '[0,0]'
	expect_ok "$SLUICE" -d "$D" ledger --json --party acme-merchant --from "$T2" --until "${T2%%T*}"
	json_eq "from the second on (same-second ones included)" 'd["statements"][0]["closing_fen"]' 3000
	for bad in "yesterday" "2026-13" "26-11-28" "2026-11-28 10:00"; do
		expect_fail 2 "$SLUICE" -d "$D" ledger --from "$bad"
		expect_stderr_contains "--from '$bad': must be an RFC 3339"
	done
	expect_fail 2 "$SLUICE" -d "$D" ledger --from 2026-12 --until 2026-11
	expect_stderr_contains "is after --until"
	expect_fail 2 "$SLUICE" -d "$D" ledger --json --csv
	expect_stderr_contains "exclude each other"
	expect_fail 2 "$SLUICE" -d "$D" ledger --bogus
	expect_fail 1 "$SLUICE" -d "$D" ledger --party nobody
	expect_stderr_contains "no party named 'nobody'"

	note "who sees what: a party its own statement, the platform and auditors all"
	expect_ok "$SLUICE" -d "$D" ledger --json --identity "$T/$suite-acme-merchant.key"
	json_eq "merchant sees itself" '[s["account"] for s in d["statements"]]' '["acme-merchant"]'
	expect_ok "$SLUICE" -d "$D" ledger --json --identity "$T/$suite-buyer.key"
	json_eq "buyer sees itself" '[(s["account"], s["closing_fen"]) for s in d["statements"]]' '[["buyer",-15000]]'
	expect_fail 1 "$SLUICE" -d "$D" ledger --identity "$T/$suite-acme-merchant.key" --party buyer
	expect_stderr_contains "merchant acme-merchant sees only its own statement, not buyer's"
	check "nothing printed on refusal" [ ! -s "$OUT" ]
	expect_ok "$SLUICE" -d "$D" ledger --json --identity "$T/$suite-other.key"
	json_eq "a party with no postings has an empty statement" 'd["statements"]' '[{"account":"other","role":"buyer","opening_fen":0,"entries":[],"closing_fen":0}]'
	expect_ok "$SLUICE" -d "$D" ledger --json --identity "$T/$suite-auditor.key"
	json_eq "auditor sees all" 'len(d["statements"])' 5
	expect_ok "$SLUICE" -d "$D" ledger --json --party buyer
	json_eq "the platform (no --identity) sees any" '[s["account"] for s in d["statements"]]' '["buyer"]'

	note "refused and failed queries post nothing"
	before=$(db "SELECT count(*) FROM ledger_postings")
	run "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-buyer.key" "SELECT member_id, COUNT(*) FROM claims GROUP BY member_id"
	check_eq "refused" "$?" 1
	run "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$suite-other.key" "$Q"
	check_eq "not the buyer" "$?" 1
	check_eq "no postings" "$(db "SELECT count(*) FROM ledger_postings")" "$before"
	ledger_ok "after refusals"

	note "a retried request id posts once"
	for i in 1 2 3; do
		q "$C" --json --request-id retry-1
		[ $? -eq 0 ] || fail "retry $i"
	done
	check_eq "one transaction for the request" "$(db "SELECT count(*) FROM ledger_transactions t JOIN queries q ON q.id = t.query WHERE q.request_id = 'retry-1'")" 1
	check_eq "four transactions" "$(txns "$C")" 4

	note "uneven splits: largest remainder, ties to the earlier party"
	terms "$T/odd.json" 't["price_fen"] = 7; t["revenue_shares"] = {"city-health-bureau": 2500, "ningbo-data-ops": 2500, "acme-merchant": 2500, "platform": 2500}'
	C7=$(contract "$T/odd.json" "$T/$suite-odd.c.json")
	q "$C7" --json
	check_eq "7 fen in quarters" "$(postings "$(json 'd["query_id"]')")" \
		"acme-merchant=2 buyer=-7 city-health-bureau=2 ningbo-data-ops=2 platform=1"
	terms "$T/thirds.json" 't["price_fen"] = 10; t["revenue_shares"] = {"city-health-bureau": 3333, "ningbo-data-ops": 3333, "acme-merchant": 3334}'
	C10=$(contract "$T/thirds.json" "$T/$suite-thirds.c.json")
	q "$C10" --json
	check_eq "10 fen in thirds" "$(postings "$(json 'd["query_id"]')")" \
		"acme-merchant=4 buyer=-10 city-health-bureau=3 ningbo-data-ops=3"

	note "public welfare: free use is posted as zeros and counted"
	terms "$T/free.json" 't["purpose"] = "public_welfare"; t["price_fen"] = 0'
	CF=$(contract "$T/free.json" "$T/$suite-free.c.json")
	q "$CF" --json
	json_eq "charged nothing" 'd["charged_fen"]' 0
	check_eq "zero postings" "$(postings "$(json 'd["query_id"]')")" \
		"acme-merchant=0 buyer=0 city-health-bureau=0 ningbo-data-ops=0 platform=0"
	expect_ok "$SLUICE" -d "$D" ledger --json --party buyer
	json_eq "counted in the buyer's statement" "len([e for e in d['statements'][0]['entries'] if e['contract'] == '$CF'])" 1
	ledger_ok "after free use"

	note "monthly cap: income above it goes to the adjustment account"
	expect_ok "$SLUICE" -d "$D" ledger cap claims --json
	json_eq "no cap" 'd["monthly_fen"]' null
	for bad in -1 1.5 abc 9007199254740993 ""; do
		expect_fail 2 "$SLUICE" -d "$D" ledger cap claims --monthly "$bad"
		expect_stderr_contains "--monthly '$bad'"
	done
	expect_fail 2 "$SLUICE" -d "$D" ledger cap claims --monthly 5 --none
	expect_fail 1 "$SLUICE" -d "$D" ledger cap nosuch --monthly 5
	expect_stderr_contains "nosuch"
	month=$(db "SELECT coalesce(sum(parties_fen), 0) FROM ledger_transactions WHERE month = strftime('%Y-%m', 'now') AND product = 1")
	cap=$((month + 7000))
	expect_ok "$SLUICE" -d "$D" ledger cap claims --monthly "$cap"
	expect_stdout_contains "claims: monthly revenue cap $cap fen"
	check_eq "audited" "$(db "SELECT count(*) FROM audit_events WHERE action = 'ledger.cap_set' AND subject = 'claims'")" 1
	q "$C" --json
	check_eq "under the cap" "$(db "SELECT adjustment_fen FROM ledger_transactions ORDER BY id DESC LIMIT 1")" 0
	q "$C" --json
	Q2=$(json 'd["query_id"]')
	json_eq "the buyer still pays the price" 'd["charged_fen"]' 5000
	check_eq "2000 left under the cap, 3000 adjusted" "$(postings "$Q2")" \
		"acme-merchant=400 adjustment=3000 buyer=-5000 city-health-bureau=800 ningbo-data-ops=600 platform=200"
	q "$C" --json
	check_eq "all adjusted" "$(postings "$(json 'd["query_id"]')")" \
		"acme-merchant=0 adjustment=5000 buyer=-5000 city-health-bureau=0 ningbo-data-ops=0 platform=0"
	expect_ok "$SLUICE" -d "$D" ledger --json
	json_eq "adjustment's statement, last" '[d["statements"][-1]["account"], d["statements"][-1]["closing_fen"]]' '["adjustment",8000]'
	expect_ok "$SLUICE" -d "$D" ledger --identity "$T/$suite-acme-merchant.key"
	expect_stdout_contains "(cap: 3000 fen to adjustment)"
	expect_ok "$SLUICE" -d "$D" ledger --json --party adjustment
	json_eq "adjustment by name" 'len(d["statements"][0]["entries"])' 2
	expect_ok "$SLUICE" -d "$D" ledger cap claims --none
	expect_stdout_contains "claims: no monthly revenue cap"
	q "$C" --json
	check_eq "cap removed" "$(db "SELECT adjustment_fen FROM ledger_transactions ORDER BY id DESC LIMIT 1")" 0
	ledger_ok "after the cap"
	expect_fail 1 "$SLUICE" -d "$D" party add adjustment --role buyer --out "$T/adj.key"
	expect_stderr_contains "reserved"

	note "ledger verify finds tampering (triggers dropped, as an attacker with the file would)"
	cp "$D/sluice.db" "$T/good.db"
	tamper() { # DESC SQL WANT-IN-ERROR
		cp "$T/good.db" "$D/sluice.db"
		rm -f "$D/sluice.db-wal" "$D/sluice.db-shm"
		sql "$D/sluice.db" "$2" || fail "tamper: $2"
		run "$SLUICE" -d "$D" ledger verify
		[ $? -eq 1 ] || fail "$1: ledger verify did not fail"
		grep -qF -- "$3" "$ERR" || fail "$1: stderr lacks '$3': $(cat "$ERR")"
		ok "$1: $3"
	}
	tamper "a posting moved" "DROP TRIGGER ledger_postings_no_update;
		UPDATE ledger_postings SET amount_fen = amount_fen + 1 WHERE txn = 1 AND account = (SELECT id FROM parties WHERE name = 'platform');
		UPDATE ledger_postings SET amount_fen = amount_fen - 1 WHERE txn = 1 AND account = (SELECT id FROM parties WHERE name = 'acme-merchant')" \
		"account platform has balance"
	tamper "a balance forged" "UPDATE ledger_accounts SET balance_fen = 0 WHERE party = (SELECT id FROM parties WHERE name = 'buyer')" \
		"account buyer has balance 0 fen"
	tamper "a transaction removed" "DROP TRIGGER ledger_postings_no_delete; DROP TRIGGER ledger_transactions_no_delete; DROP TRIGGER ledger_seals_no_delete;
		PRAGMA foreign_keys = OFF; DELETE FROM ledger_postings WHERE txn = 2; DELETE FROM ledger_seals WHERE txn = 2; DELETE FROM ledger_transactions WHERE id = 2;
		UPDATE ledger_accounts SET balance_fen = (SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings WHERE account = ledger_accounts.id)" \
		"has no ledger transaction"
	tamper "a released query's charge changed" "UPDATE queries SET charged_fen = 1 WHERE id = '$QID'" \
		"disagrees with the price charged for its query"
	tamper "an audit event rewritten" "DROP TRIGGER audit_events_no_update;
		UPDATE audit_events SET event = CAST(replace(CAST(event AS TEXT), '\"amount_fen\":-5000', '\"amount_fen\":-5001') AS BLOB) WHERE subject = '$QID' AND action = 'query.released'" \
		"does not match its leaf hash"
	tamper "an audit event with its leaf rehashed elsewhere: postings differ" "DROP TRIGGER ledger_postings_no_update;
		UPDATE ledger_postings SET amount_fen = 1900 WHERE txn = 1 AND account = (SELECT id FROM parties WHERE name = 'city-health-bureau');
		UPDATE ledger_postings SET amount_fen = 1100 WHERE txn = 1 AND account = (SELECT id FROM parties WHERE name = 'acme-merchant');
		UPDATE ledger_accounts SET balance_fen = (SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings WHERE account = ledger_accounts.id)" \
		"records a posting its transaction does not have"
	# The event's charge rewritten with its leaf and the frontier recomputed, so the
	# database agrees with itself: only the transaction's price can tell.
	cp "$T/good.db" "$D/sluice.db"
	rm -f "$D/sluice.db-wal" "$D/sluice.db-shm"
	python3 "$top_srcdir/tests/integration/audit_rewrite.py" "$D/sluice.db" "$suite" \
		"action = 'query.released' AND subject = '$QID'" '"charged_fen":5000' '"charged_fen":1' >/dev/null ||
		fail "rewrite the charge in the audit event"
	run "$SLUICE" -d "$D" ledger verify
	[ $? -eq 1 ] || fail "a rewritten charged_fen: ledger verify did not fail"
	grep -qF -- "(query.released $QID) charged 1 fen, but its ledger transaction" "$ERR" ||
		fail "a rewritten charged_fen: stderr lacks the query: $(cat "$ERR")"
	ok "a rewritten charged_fen in query.released names query $QID"
	cp "$T/good.db" "$D/sluice.db"
	rm -f "$D/sluice.db-wal" "$D/sluice.db-shm"
	ledger_ok "restored"
done

suite=intl
D="$T/intl"

note "concurrent brokers on one contract: quota and postings stay exact"
terms "$T/q30.json" 't["query_quota"] = 30'
C30=$(contract "$T/q30.json" "$T/intl-q30.c.json")
for w in 1 2 3 4; do
	(
		i=0
		while [ $i -lt 12 ]; do
			"$SLUICE" -d "$D" query --contract "$C30" --identity "$T/intl-buyer.key" --request-id "w$w-$i" "$Q" >/dev/null 2>>"$T/conc.$w.err"
			i=$((i + 1))
		done
	) &
done
wait
check_eq "30 released" "$(db "SELECT count(*) FROM queries WHERE contract = '$C30' AND state = 'released'")" 30
check_eq "18 refused for quota" "$(db "SELECT count(*) FROM queries WHERE contract = '$C30' AND state = 'refused' AND reason LIKE '%quota%'")" 18
check_eq "30 transactions" "$(txns "$C30")" 30
check_eq "quota used" "$(db "SELECT queries_used FROM contracts WHERE id = '$C30'")" 30
ledger_ok "after concurrent brokers"

note "kill -9 at random points during 200 submissions, then retry each"
terms "$T/crash.json" 't["query_quota"] = 100000'
CC=$(contract "$T/crash.json" "$T/intl-crash.c.json")
python3 - "$SLUICE" "$D" "$CC" "$T/intl-buyer.key" "$Q" <<'EOF' || fail "crash loop"
import random, subprocess, sys, time
sluice, d, c, key, q = sys.argv[1:]
rng = random.Random(7)
killed = 0
for i in range(200):
    p = subprocess.Popen([sluice, "-d", d, "query", "--contract", c, "--identity", key,
                          "--request-id", "crash-%d" % i, q],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.002, 0.06))
    if p.poll() is None:
        p.kill()
        killed += 1
    p.wait()
# Retry every request: a finished one replays, a killed one runs now.
for i in range(200):
    r = subprocess.run([sluice, "-d", d, "query", "--contract", c, "--identity", key,
                        "--request-id", "crash-%d" % i, q],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("retry crash-%d: %s" % (i, r.stderr.decode()))
print("killed %d of 200 mid-run" % killed)
EOF
ok "200 submissions under kill -9, then retried"
check_eq "200 released, once each" "$(db "SELECT count(*) FROM queries WHERE contract = '$CC' AND state = 'released'")" 200
check_eq "200 transactions" "$(txns "$CC")" 200
check_eq "every released query has exactly one posting to its buyer" \
	"$(db "SELECT count(*) FROM queries q WHERE state = 'released' AND (SELECT count(*) FROM ledger_transactions t JOIN ledger_postings p ON p.txn = t.id WHERE t.query = q.id AND p.account = (SELECT id FROM parties WHERE name = 'buyer')) != 1")" 0
ledger_ok "after kill -9"
expect_ok "$SLUICE" -d "$D" audit export --out "$T/audit.jsonl"
expect_ok "$SLUICE" audit verify "$T/audit.jsonl" --key "$D/platform.pub"

pass
