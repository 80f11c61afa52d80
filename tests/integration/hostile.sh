#!/bin/sh
# The security review's findings (issue 13), tried as an attacker would:
# replays of another buyer's request id, a reused request id, a compromised
# worker that lies in its RESULT or floods its standard error
# (tests/sluice-worker-test, a query's LIMIT 9001..9007 choosing the lie; 9008
# spins after an honest RESULT, which must not delay the answer), a
# version whose manifest changed after it was published, and the rate limit.
# Each must end refused or failed, audited, nothing released or charged.
set -u
. "$(dirname "$0")/lib.sh"
FIXTURE="$top_builddir/tests/sluice-worker-test"
[ -x "$FIXTURE" ] || fail "$FIXTURE is not built"

contract() { # TERMS OUT: offered, signed by all, submitted; prints the id
	"$SLUICE" -d "$D" contract offer --product claims --buyer buyer --terms "$1" --out "$2" >/dev/null || fail "offer $1"
	for k in city acme ops buyer; do
		"$SLUICE" contract sign "$2" --identity "$T/$k.key" >/dev/null || fail "sign $k"
	done
	"$SLUICE" -d "$D" contract submit "$2" >/dev/null || fail "submit $2"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$2"
}
count() { sql "$D/sluice.db" "$1"; }
events() { count "SELECT count(*) FROM audit_events WHERE action = '$1'"; }
txns() { count "SELECT count(*) FROM ledger_transactions"; }

D="$T/x"
expect_ok "$SLUICE" init "$D"
for p in city:holder ops:operator acme:merchant buyer:buyer other:buyer; do
	expect_ok "$SLUICE" -d "$D" party add "${p%%:*}" --role "${p##*:}" --out "$T/${p%%:*}.key"
done
expect_ok "$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" \
	--merchant acme --holder city --operator ops
expect_ok "$SLUICE" -d "$D" product load claims "$EX/claims.csv"
python3 - "$EX/claims.terms.json" "$T/t.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["revenue_shares"] = {"city": 4000, "ops": 3000, "acme": 2000, "platform": 1000}
t["release"] = {"mode": "threshold", "min_group": 2}
t["query_quota"] = 1000
json.dump(t, open(sys.argv[2], "w"))
PY
C=$(contract "$T/t.json" "$T/c.json")
sed 's/"name": *"claims"/"name": "small"/' "$EX/claims.schema.json" >"$T/small.json"
sed 's/"name": *"claims"/"name": "tiny"/' "$EX/claims.schema.json" >"$T/tiny.json"
Q="SELECT sex, COUNT(*) FROM claims GROUP BY sex"

note "item 1: a request id is answered from the record only to its own buyer"
expect_ok "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" --request-id r1 "$Q"
expect_stdout_contains "charged 5000 fen"
t0=$(txns)
for who in other acme; do
	expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/$who.key" --request-id r1 --json "$Q"
	expect_stderr_contains "refused"
	[ ! -s "$OUT" ] || fail "the $who key got an answer: $(cat "$OUT")"
done
[ "$(count "SELECT count(*) FROM audit_events WHERE action = 'query.refused' AND actor != 'buyer'")" = 2 ] ||
	fail "the two foreign replays are not audited as refused"
expect_ok "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" --request-id r1 "$Q"
expect_stdout_contains "a replay, not charged again"
[ "$(events query.replayed)" = 1 ] || fail "the buyer's replay is not audited"
[ "$(txns)" = "$t0" ] || fail "a replay was charged"
expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" --request-id r1 \
	"SELECT region, COUNT(*) FROM claims GROUP BY region"
expect_stderr_contains "request id r1 was used for another query"
[ "$(txns)" = "$t0" ] || fail "a reused request id was charged"

note "items 3 and 4: a compromised worker's lies are caught, never released or charged"
for lie in 9001:"a group key appears twice" 9002:"not a value its column can hold" \
	9003:"not a value its column can hold" 9004:"more rows than the version" \
	9005:"row or unit count is out of range" 9007:"more rows than the version"; do
	n=${lie%%:*}
	expect_fail 1 env SLUICE_WORKER="$FIXTURE" "$SLUICE" -d "$D" query --contract "$C" \
		--identity "$T/buyer.key" --json "SELECT sex, COUNT(*) FROM claims GROUP BY sex LIMIT $n"
	expect_stderr_contains "implausible answer"
	expect_stderr_contains "${lie#*:}"
	[ ! -s "$OUT" ] || fail "lie $n was released: $(cat "$OUT")"
done
[ "$(txns)" = "$t0" ] || fail "a lie was charged"
n=$(count "SELECT count(*) FROM audit_events WHERE action = 'query.failed' AND CAST(event AS TEXT) LIKE '%implausible answer%'")
[ "$n" = 6 ] || fail "the lies are not audited as failed: $n events"
expect_ok env SLUICE_WORKER="$FIXTURE" "$SLUICE" -d "$D" query --contract "$C" \
	--identity "$T/buyer.key" "SELECT sex, COUNT(*) FROM claims GROUP BY sex LIMIT 9006"
if grep -q LEAKED "$ERR" "$OUT"; then fail "the worker's standard error reached the caller"; fi
# A checked RESULT is the worker's last word: the answer does not wait for the
# worker's exit, here one that spins for 3 s after its RESULT (LIMIT 9008).
started=$(date +%s%N)
expect_ok env SLUICE_WORKER="$FIXTURE" "$SLUICE" -d "$D" query --contract "$C" \
	--identity "$T/buyer.key" --json "SELECT sex, COUNT(*) FROM claims GROUP BY sex LIMIT 9008"
took=$((($(date +%s%N) - started) / 1000000))
json_eq "the lingering worker's answer is released" 'len(d["rows"]) > 0' true
check "the answer did not wait for the worker's exit (${took} ms)" [ "$took" -lt 2500 ]
t0=$(txns)
[ "$(grep -c LEAKED "$D/worker.log")" -ge 1 ] || fail "the worker's standard error is not in worker.log"
[ "$(wc -c <"$D/worker.log")" -le 70000 ] || fail "worker.log is not capped: $(wc -c <"$D/worker.log")"

note "item 2: a published version that changed is refused"
m=$(count "SELECT hex(manifest) FROM product_versions WHERE version = 1")
[ ${#m} -eq 64 ] || fail "no manifest digest recorded: '$m'"
count "SELECT json_extract(event, '$.details.manifest') FROM audit_events WHERE action = 'product.version_published'" |
	tr a-f A-F | grep -qx "$m" || fail "version.published does not name the digest"
sql "$D/sluice.db" "UPDATE product_versions SET manifest = zeroblob(32) WHERE version = 1" >/dev/null
expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" "$Q"
expect_stderr_contains "failed: the store failed its integrity check"
# The worker's own words reach the operators' log, not the buyer.
grep -q "manifest differs from the one published" "$D/worker.log" ||
	fail "worker.log lacks the worker's account of the integrity failure"
sql "$D/sluice.db" "UPDATE product_versions SET manifest = x'$m' WHERE version = 1" >/dev/null
[ "$(txns)" = "$t0" ] || fail "an integrity failure was charged"

note "item 6: the per-contract rate counts every submission"
SLUICE_QUERY_RATE=100000
n=$(count "SELECT count(*) FROM queries WHERE contract = '$C'")
# One under the limit runs; then the limit is reached.
n=$((n + 1))
expect_ok env SLUICE_QUERY_RATE="$n" "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" "$Q"
[ "$(count "SELECT count(*) FROM queries WHERE contract = '$C'")" = "$n" ] || fail "the query under the limit was not recorded"
[ "$(count "SELECT group_concat(seq) = group_concat(rn) FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM queries WHERE contract = '$C')")" = 1 ] ||
	fail "a contract's queries are not numbered 1, 2, ..."
expect_fail 1 env SLUICE_QUERY_RATE="$n" "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" "$Q"
expect_stderr_contains "queries in the last minute; the limit is $n a minute"
# Submitted more than a minute ago, the submission $n places back no longer counts.
back="contract = '$C' AND seq = (SELECT max(seq) FROM queries WHERE contract = '$C') - $n + 1"
was=$(count "SELECT submitted FROM queries WHERE $back")
sql "$D/sluice.db" "UPDATE queries SET submitted = '2020-01-01T00:00:00Z' WHERE $back" >/dev/null
expect_ok env SLUICE_QUERY_RATE="$n" "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" "$Q"
expect_fail 1 env SLUICE_QUERY_RATE="$n" "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" "$Q"
expect_stderr_contains "queries in the last minute; the limit is $n a minute"
sql "$D/sluice.db" "UPDATE queries SET submitted = '$was' WHERE submitted = '2020-01-01T00:00:00Z'" >/dev/null
n=$(count "SELECT count(*) FROM queries WHERE contract = '$C'")
[ "$(count "SELECT text FROM queries ORDER BY rowid DESC LIMIT 1")" = "" ] ||
	fail "a refused query's text is stored twice"
# A refusal by the rate is transient: it must not hold the request id, or the
# retry after the minute would replay the refusal for good.
n=$(count "SELECT count(*) FROM queries WHERE contract = '$C'")
expect_fail 1 env SLUICE_QUERY_RATE="$n" "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" --request-id r9 "$Q"
expect_stderr_contains "queries in the last minute"
expect_ok "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" --request-id r9 "$Q"
expect_stdout_contains "charged 5000 fen"
t0=$(txns)

note "item 8: a load that runs out of room leaves nothing and says why"
big="$T/big.csv"
head -n 1 "$EX/claims.csv" >"$big"
i=0
while [ $i -lt 40 ]; do tail -n +2 "$EX/claims.csv" >>"$big"; i=$((i + 1)); done
expect_ok "$SLUICE" -d "$D" product add small --schema "$T/small.json" --merchant acme --max-bytes 1200000
expect_fail 1 "$SLUICE" -d "$D" product load small "$big"
expect_stderr_contains "nothing loaded"
expect_stderr_contains "$D/stores/small/.staging-1-"
[ -z "$(ls -A "$D/stores/small")" ] || fail "a failed load left files: $(ls -A "$D/stores/small")"
[ "$(events product.load_failed)" = 1 ] || fail "the failed load is not audited"
expect_stderr_contains "MDB_MAP_FULL"
expect_ok "$SLUICE" -d "$D" product add tiny --schema "$T/tiny.json" --merchant acme --max-bytes 1000
expect_fail 1 "$SLUICE" -d "$D" product load tiny "$EX/claims.csv"
expect_stderr_contains "product tiny has 1000 of its 1000 bytes (--max-bytes) left, too little for a load"
if mkdir "$T/tiny" && mount -t tmpfs -o size=3m tmpfs "$T/tiny" 2>/dev/null; then
	trap 'umount "$T/tiny" 2>/dev/null; rm -rf "$T"' EXIT
	expect_ok "$SLUICE" init "$T/tiny/x"
	expect_ok "$SLUICE" -d "$T/tiny/x" party add acme --role merchant --out "$T/tiny-acme.key"
	expect_ok "$SLUICE" -d "$T/tiny/x" product add small --schema "$T/small.json" --merchant acme
	expect_fail 1 "$SLUICE" -d "$T/tiny/x" product load small "$big"
	expect_stderr_contains "nothing loaded"
	[ -z "$(ls -A "$T/tiny/x/stores/small")" ] || fail "a full disk left files"
	expect_ok "$SLUICE" -d "$T/tiny/x" product list
	expect_ok "$SLUICE" -d "$T/tiny/x" audit show --action product.load_failed --json
	expect_stdout_contains "product.load_failed"
	umount "$T/tiny"
else
	note "(no tmpfs mount here: the full-disk case is skipped)"
fi

note "item 1: after revocation nothing is answered, not even a replay"
expect_ok "$SLUICE" -d "$D" contract revoke "$C" --reason "test"
expect_fail 1 "$SLUICE" -d "$D" query --contract "$C" --identity "$T/buyer.key" --request-id r1 --json "$Q"
expect_stderr_contains "revoked"
[ ! -s "$OUT" ] || fail "a revoked contract's replay was answered"
expect_ok "$SLUICE" -d "$D" ledger verify
pass
