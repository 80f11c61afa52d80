#!/bin/sh
# sluice demo (issue 16): it runs to the end and exits 0, and what it says
# happened did happen.  Checked on the exchange it keeps (--dir), from the
# catalog, the audit log, the ledger and two queries of our own, not from the
# walkthrough's wording.
set -u
. "$(dirname "$0")/lib.sh"
D="$T/demo/exchange"

note "bad input is refused before anything is made"
expect_fail 2 "$SLUICE" demo --rows 5
expect_stderr_contains "--rows"
mkdir "$T/taken"
expect_fail 1 "$SLUICE" demo --dir "$T/taken"
expect_stderr_contains "the demo makes a new directory"
check_eq "an existing directory is left alone" "$(ls -A "$T/taken" | wc -l)" 0

note "the demo runs to the end"
expect_ok "$SLUICE" demo --rows 20000 --dir "$T/demo"
expect_stdout_contains "all behaved as shown"
if grep -q "$(printf '\033')" "$OUT"; then fail "colour when stdout is not a terminal"; fi
ok "no colour off a terminal"

events() { sql "$D/sluice.db" "SELECT count(*) FROM audit_events WHERE action = '$1' $2"; }
note "what it showed happened"
check "queries were released" [ "$(events query.released '')" -ge 9 ]
check "policy refusals: the unit, a column outside the contract, a measure in WHERE" \
	[ "$(events query.refused "AND (CAST(event AS TEXT) LIKE '%privacy unit%' OR CAST(event AS TEXT) LIKE '%not among the contract%' OR CAST(event AS TEXT) LIKE '%is a measure%')")" -eq 3 ]
check "a budget refusal" [ "$(events query.refused "AND CAST(event AS TEXT) LIKE '%privacy budget is spent%'")" -eq 1 ]
expect_ok "$SLUICE" -d "$D" ledger verify --json
json_eq "the ledger balances" 'd["ok"] and d["transactions"] >= 9' true
expect_ok "$SLUICE" audit verify "$T/demo/audit.jsonl" --key "$D/platform.pub"
line=$(python3 -c 'import sys; a = open(sys.argv[1]).readlines(); b = open(sys.argv[2]).readlines(); print([i for i in range(len(a)) if a[i] != b[i]][0] + 1)' "$T/demo/audit.jsonl" "$T/demo/tampered.jsonl")
expect_fail 1 "$SLUICE" audit verify "$T/demo/tampered.jsonl" --key "$D/platform.pub"
# line 1 is the export's header: the event on line k has seq k - 1
expect_stdout_contains "event seq $((line - 1)): edited"

note "the differencing pair, asked again on the kept exchange"
ids=$("$SLUICE" -d "$D" contract list --json)
cid() { printf '%s' "$ids" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("contracts", d) if isinstance(d, dict) else d; print([c["id"] for c in d if c["buyer"] == sys.argv[1] and c["product"] == sys.argv[2]][0])' "$1" "$2"; }
A="SELECT SUM(claim_fen) FROM claims WHERE region = 'cixi' AND year = 2019"
B="$A AND NOT (age = 95 AND dx_chapter = 'XV')"
one() { # CONTRACT BUYER TEXT: the answer's one value
	"$SLUICE" -d "$D" query --contract "$1" --identity "$T/demo/$2.key" --json "$3" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"][0][0])'
}
th=$(cid pacific-insurance claims)
a=$(one "$th" pacific-insurance "$A") && b=$(one "$th" pacific-insurance "$B") || fail "threshold pair"
check_eq "threshold mode: A - B is the planted member's claim" "$((a - b))" 123456
dp=$(cid deepsight-ai claims)
a=$(one "$dp" deepsight-ai "$A") && b=$(one "$dp" deepsight-ai "$B") || fail "dp pair"
check_ne "dp mode: A - B is not the member's claim" "$((a - b))" 123456
pass
