#!/bin/sh
# Contracts (issue 5): offer with terms checked against the product, offline
# signing and verification, submit and countersign, tampering, wrong and copied
# signatures, revocation, expiry, the audit trail.  Both suites.
set -u
. "$(dirname "$0")/lib.sh"
EX="$top_srcdir/examples"

terms() { # FILE PYTHON-EDIT
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(t, open(sys.argv[2], "w"))' "$EX/claims.terms.json" "$1" "$2"
}
edit() { # FILE PYTHON-EDIT (on d, the document), in place
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(d, open(sys.argv[1], "w"), indent=1)' "$1" "$2"
}
cid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$1"; }

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	K="$T/$suite-"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	for p in city-health-bureau:holder ningbo-data-ops:operator acme-merchant:merchant acme-buyer:buyer other-buyer:buyer auditor:auditor; do
		expect_ok "$SLUICE" -d "$D" party add "${p%%:*}" --role "${p##*:}" --out "$K${p%%:*}.key"
	done
	expect_ok "$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" \
		--merchant acme-merchant --holder city-health-bureau --operator ningbo-data-ops

	note "terms are checked, with the field named, and nothing is recorded"
	before=$(db_dump "$D/sluice.db")
	for pair in \
		't["columns"].append("member_id")|columns[6]: member_id is a unit column' \
		't["columns"].append("name")|columns[6]: name is a hidden column' \
		't["columns"].append("nosuch")|product claims has no column "nosuch"' \
		't["release"]["min_group"] = 1|release.min_group: 1 is below 2' \
		't["revenue_shares"]["platform"] = 999|basis points sum to 9999, not exactly 10000' \
		't["revenue_shares"] = {"city-health-bureau": 5000, "acme-buyer": 5000}|revenue_shares.acme-buyer: not a party of product claims' \
		't["valid_until"] = "2025-06-01T00:00:00Z"|valid_until: must be after valid_from' \
		't["valid_from"] = "2020-01-01T00:00:00Z"; t["valid_until"] = "2021-01-01T00:00:00Z"|valid_until: 2021-01-01T00:00:00Z is not in the future' \
		't["aggregates"].append("MEDIAN")|aggregates[3]: expected one of' \
		't["prise_fen"] = 1|prise_fen: unknown member' \
		't["purpose"] = "public_welfare"|price_fen: a public_welfare contract is free of charge' \
		't["release"] = {"mode": "dp", "mechanism": "laplace", "epsilon_total": 1, "epsilon_per_query": 2, "max_rows_per_unit": 1}|release.epsilon_per_query: 2 is more than the whole budget'; do
		terms "$T/bad.json" "${pair%%|*}"
		rm -f "$T/bad.c.json"
		expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer acme-buyer --terms "$T/bad.json" --out "$T/bad.c.json"
		expect_stderr_contains "${pair##*|}"
		expect_stderr_contains "$T/bad.json"
		check "no file written" [ ! -e "$T/bad.c.json" ]
	done
	check_eq "catalog unchanged by refused offers" "$(db_dump "$D/sluice.db")" "$before"
	expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer acme-merchant --terms "$EX/claims.terms.json" --out "$T/x.json"
	expect_stderr_contains "that party is a merchant, not a buyer"

	note "offer, sign offline, verify, submit, countersign"
	C="$T/$suite-c.json"
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer acme-buyer --terms "$EX/claims.terms.json" --out "$C"
	ID=$(cid "$C")
	expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer acme-buyer --terms "$EX/claims.terms.json" --out "$C"
	expect_stderr_contains "already exists"
	expect_fail 1 "$SLUICE" contract sign "$C" --identity "${K}other-buyer.key"
	expect_stderr_contains "is not the key of any party of contract $ID"
	for k in city-health-bureau ningbo-data-ops acme-merchant; do
		expect_ok env -u SLUICE_DIR "$SLUICE" contract sign "$C" --identity "$K$k.key"
	done
	expect_fail 1 "$SLUICE" contract sign "$C" --identity "${K}acme-merchant.key"
	expect_stderr_contains "has already signed"
	expect_fail 1 env -u SLUICE_DIR "$SLUICE" contract verify "$C"
	expect_stdout_contains "Missing:    acme-buyer (buyer), platform (platform)"
	expect_stdout_contains "INCOMPLETE"
	expect_ok "$SLUICE" -d "$D" contract submit "$C"
	expect_stdout_contains "offered"
	expect_ok "$SLUICE" contract sign "$C" --identity "${K}acme-buyer.key"
	cp "$C" "$T/signed-by-four.json"
	expect_ok "$SLUICE" -d "$D" contract submit "$C"
	expect_stdout_contains "active"
	expect_stdout_contains "The platform countersigned"
	expect_ok env -u SLUICE_DIR "$SLUICE" contract verify "$C" --key "$D/platform.pub"
	expect_stdout_contains "OK: every signature verifies"
	expect_fail 1 "$SLUICE" contract verify "$C" --key "$K"auditor.pub
	expect_stderr_contains "the contract's platform key is not the one in"
	expect_ok "$SLUICE" -d "$D" contract submit "$C"
	expect_ok "$SLUICE" -d "$D" contract show "$ID" --json
	json_eq "state" 'd["state"]' active
	json_eq "missing" 'd["missing"]' '[]'

	note "an Ed25519 signature verifies outside Sluice (openssl, over the JCS bytes)"
	if [ "$suite" = intl ]; then
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sig = [s for s in d.pop("signatures") if s["party"] == "acme-buyer"][0]["signature"]
open(sys.argv[2], "w").write(json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
open(sys.argv[3], "wb").write(bytes.fromhex(sig))' "$C" "$T/canon" "$T/sig.bin"
		expect_ok openssl pkeyutl -verify -pubin -inkey "${K}acme-buyer.pub" -rawin -in "$T/canon" -sigfile "$T/sig.bin"
	fi

	note "tampering: a changed term, a reordered array, a copied signature"
	cp "$C" "$T/t.json"
	edit "$T/t.json" 'd["price_fen"] = 1'
	expect_fail 1 "$SLUICE" contract verify "$T/t.json"
	expect_stderr_contains "does not verify over this document"
	expect_fail 1 "$SLUICE" -d "$D" contract submit "$T/t.json"
	expect_stderr_contains "its terms differ from the ones recorded"
	cp "$C" "$T/t.json"
	edit "$T/t.json" 'd["columns"].reverse()'
	expect_fail 1 "$SLUICE" contract verify "$T/t.json"
	expect_stderr_contains "does not verify"
	cp "$C" "$T/t.json"
	edit "$T/t.json" 'd["parties"][0]["name"] = "city-health-bureaux"'
	expect_fail 1 "$SLUICE" contract verify "$T/t.json"
	cp "$C" "$T/t.json"
	edit "$T/t.json" 'd = dict(reversed(list(d.items())))'
	expect_ok "$SLUICE" contract verify "$T/t.json"
	ok "reordered members still verify: the canonical form is the same"
	C2="$T/$suite-c2.json"
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer acme-buyer --terms "$EX/claims.terms.json" --out "$C2"
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
b["signatures"] = [s for s in a["signatures"] if s["role"] == "holder"]
json.dump(b, open(sys.argv[2], "w"))' "$C" "$C2"
	expect_fail 1 "$SLUICE" contract verify "$C2"
	expect_stderr_contains "the signature of city-health-bureau (holder) does not verify"
	expect_fail 1 "$SLUICE" -d "$D" contract submit "$C2"

	note "revocation and the audit trail"
	expect_fail 1 "$SLUICE" -d "$D" contract revoke "$ID" --reason x --identity "${K}acme-buyer.key"
	expect_stderr_contains "may not revoke"
	expect_ok "$SLUICE" -d "$D" contract revoke "$ID" --reason "holder withdrew the authorization" --identity "${K}city-health-bureau.key"
	expect_fail 1 "$SLUICE" -d "$D" contract revoke "$ID" --reason again
	expect_stderr_contains "already revoked"
	expect_fail 1 "$SLUICE" -d "$D" contract submit "$C"
	expect_stderr_contains "was revoked"
	expect_ok "$SLUICE" -d "$D" contract list
	expect_stdout_contains "revoked"
	for a in contract.offered contract.signed contract.activated contract.revoked; do
		expect_ok "$SLUICE" -d "$D" audit show --action "$a" --json
		check "$a audited" python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["events"]' "$OUT"
	done
	check_eq "one contract.signed per party" "$(sql "$D/sluice.db" "SELECT count(*) FROM audit_events WHERE action = 'contract.signed' AND subject = '$ID'")" 4

	note "expiry follows the clock"
	until=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
	terms "$T/short.json" "t['valid_until'] = '$until'"
	C3="$T/$suite-c3.json"
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer acme-buyer --terms "$T/short.json" --out "$C3"
	for k in city-health-bureau ningbo-data-ops acme-merchant acme-buyer; do
		expect_ok "$SLUICE" contract sign "$C3" --identity "$K$k.key"
	done
	expect_ok "$SLUICE" -d "$D" contract submit "$C3"
	sleep 4
	expect_fail 1 "$SLUICE" contract verify "$C3"
	expect_stdout_contains "EXPIRED"
	expect_ok "$SLUICE" -d "$D" contract show "$(cid "$C3")" --json
	json_eq "expired" 'd["state"]' expired
done
pass
