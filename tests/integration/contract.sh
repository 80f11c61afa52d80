#!/bin/sh
# Contracts (issue 5), end to end through the CLI, both suites: offer with the
# terms checked against the product (every rule refused with the field and the
# terms file named, nothing recorded); offline signing; verify before and
# after completion, with no data directory; partial and complete submission
# and the platform's countersignature; tampering, reordering, wrong, missing
# and copied signatures; openssl checking Sluice's signatures over the JCS
# bytes Python computes; list and show; revocation; expiry by the clock; the
# audit trail and its offline verification.
set -u
. "$(dirname "$0")/lib.sh"
need python3
need openssl

# The shipped terms run until 2036-01-01.  Once that is near, offer a copy that
# runs a year longer, so the test does not expire with them.
BASE="$EX/claims.terms.json"
if ! python3 -c '
import datetime, json, sys
until = json.load(open(sys.argv[1]))["valid_until"]
soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
sys.exit(until <= soon.strftime("%Y-%m-%dT%H:%M:%SZ"))' "$BASE"; then
	note "examples/claims.terms.json has (nearly) expired: using it with valid_until a year on"
	python3 -c '
import datetime, json, sys
t = json.load(open(sys.argv[1]))
t["valid_until"] = (datetime.datetime.now(datetime.timezone.utc) +
                    datetime.timedelta(days=366)).strftime("%Y-%m-%dT%H:%M:%SZ")
json.dump(t, open(sys.argv[2], "w"))' "$BASE" "$T/base.json"
	BASE="$T/base.json"
fi

terms() { # OUT PYTHON: the base terms, edited by PYTHON (on t), written to OUT
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(t, open(sys.argv[2], "w"))' "$BASE" "$1" "$2" || fail "terms edit: $2"
}
edit() { # FILE PYTHON: edit the document (d) in FILE, in place
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(d, open(sys.argv[1], "w"), indent=1, ensure_ascii=False)' "$1" "$2" || fail "edit: $2"
}
jget() { # FILE EXPR: EXPR over the JSON document d in FILE (strings bare, else compact JSON)
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$1" "$2"
}
cid() { jget "$1" 'd["id"]'; }
utc_in() { # SECONDS: the UTC time that many seconds from now, and its epoch, "TIME EPOCH"
	python3 -c '
import datetime, sys
t = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t += datetime.timedelta(seconds=int(sys.argv[1]))
print(t.strftime("%Y-%m-%dT%H:%M:%SZ"), int(t.timestamp()))' "$1"
}
sign_by() { # FILE NAME...: each party signs FILE
	_f=$1
	shift
	for _k in "$@"; do
		expect_ok "$SLUICE" contract sign "$_f" --identity "$K$_k.key"
	done
}
audit_count() { sql "$D/sluice.db" "SELECT count(*) FROM audit_events"; }
# The canonical form (RFC 8785) of FILE without its signatures, by Python:
# valid JCS for these documents (ASCII member names, no floats).  Writes
# $T/canon and, for party NAME, its signature in $T/sig.bin.
canon() { # FILE NAME
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sig = [s for s in d.pop("signatures") if s["party"] == sys.argv[2]][0]["signature"]
open(sys.argv[3], "w").write(json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
open(sys.argv[4], "wb").write(bytes.fromhex(sig))' "$1" "$2" "$T/canon" "$T/sig.bin" ||
		fail "canonical form of $1"
}

HOLDER=city-health-bureau OPERATOR=ningbo-data-ops MERCHANT=acme-merchant BUYER=acme-buyer
FOUR="$HOLDER $OPERATOR $MERCHANT $BUYER"

# Can this openssl check SM2 with the distinguishing ID set?
sm2_openssl=no
if openssl genpkey -algorithm SM2 -out "$T/probe.key" 2>/dev/null &&
	printf x >"$T/probe.msg" &&
	openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:1234567812345678 \
		-inkey "$T/probe.key" -in "$T/probe.msg" -out "$T/probe.sig" 2>/dev/null; then
	sm2_openssl=yes
fi

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	K="$T/$suite-"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	for p in $HOLDER:holder $OPERATOR:operator $MERCHANT:merchant $BUYER:buyer \
		other-buyer:buyer auditor:auditor; do
		expect_ok "$SLUICE" -d "$D" party add "${p%%:*}" --role "${p##*:}" --out "$K${p%%:*}.key"
	done
	expect_ok "$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" \
		--merchant $MERCHANT --holder $HOLDER --operator $OPERATOR

	drop_short() { # LIST.json: the list without the contracts that expire mid-suite
		python3 -c 'import json, sys
drop = set(sys.argv[2:])
print(json.dumps([c for c in json.load(open(sys.argv[1]))["contracts"] if c["id"] not in drop], indent=1))' \
			"$1" "$(cid "$E1")" "$(cid "$E2")"
	}
	note "contracts that expire in a few seconds (checked at the end of the suite)"
	set -- $(utc_in 8)
	until=$1 until_epoch=$2
	terms "$T/$suite-short.json" "t['valid_until'] = '$until'"
	E1="$T/$suite-e1.json"
	E2="$T/$suite-e2.json"
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$T/$suite-short.json" --out "$E1"
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$T/$suite-short.json" --out "$E2"
	# shellcheck disable=SC2086
	sign_by "$E1" $FOUR
	expect_ok "$SLUICE" -d "$D" contract submit "$E1"
	expect_stdout_contains "active"
	# shellcheck disable=SC2086
	sign_by "$E2" $FOUR

	note "terms: each rule refused, naming the field and the terms file; nothing recorded"
	snap terms "$D"
	while IFS='|' read -r change want <&3; do
		terms "$T/bad.json" "$change"
		rm -f "$T/bad.c.json"
		expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$T/bad.json" --out "$T/bad.c.json"
		expect_stderr_contains "$T/bad.json: $want"
		check "no contract file written ($want)" [ ! -e "$T/bad.c.json" ]
	done 3<<'EOF'
t["prise_fen"] = 1|prise_fen: unknown member
del t["purpose"]|purpose: missing
t["purpose"] = ""|purpose: must be 1 to 128 bytes
t["valid_from"] = "2026-01-01"|valid_from: "2026-01-01" is not a UTC time of the form 2026-01-01T00:00:00Z
t["valid_until"] = "2027-13-01T00:00:00Z"|valid_until: "2027-13-01T00:00:00Z" is not a UTC time
t["valid_until"] = t["valid_from"]|valid_until: must be after valid_from
t["valid_from"] = "2031-01-01T00:00:00Z"; t["valid_until"] = "2030-01-01T00:00:00Z"|valid_until: must be after valid_from
t["valid_from"] = "2020-01-01T00:00:00Z"; t["valid_until"] = "2021-01-01T00:00:00Z"|valid_until: 2021-01-01T00:00:00Z is not in the future
t["columns"] = []|columns: must be a non-empty array of column names
t["columns"].append("age")|columns[6]: "age" is listed twice
t["columns"].append("nosuch")|columns[6]: product claims has no column "nosuch"
t["columns"].append("member_id")|columns[6]: member_id is a unit column, which no contract may open
t["columns"].insert(0, "name")|columns[0]: name is a hidden column, which no contract may open
t["aggregates"].append("MEDIAN")|aggregates[3]: expected one of COUNT, COUNT_DISTINCT, SUM, AVG, STDDEV, VARIANCE, MIN, MAX
t["aggregates"].append("SUM")|aggregates[3]: SUM is listed twice
t["release"]["min_group"] = 1|release.min_group: 1 is below 2
t["release"]["mode"] = "k_anonymity"|release.mode: "k_anonymity" is neither threshold nor dp
t["release"]["epsilon_total"] = 1|release.epsilon_total: unknown member
t["release"] = {"mode": "dp", "mechanism": "exponential", "epsilon_total": 1, "epsilon_per_query": 1, "max_rows_per_unit": 1}|release.mechanism: "exponential" is neither laplace nor gaussian
t["release"] = {"mode": "dp", "mechanism": "laplace", "epsilon_total": 0, "epsilon_per_query": 1, "max_rows_per_unit": 1}|release.epsilon_total: must be a number above 0
t["release"] = {"mode": "dp", "mechanism": "laplace", "epsilon_total": 1, "epsilon_per_query": 2, "max_rows_per_unit": 1}|release.epsilon_per_query: 2 is more than the whole budget 1
t["release"] = {"mode": "dp", "mechanism": "gaussian", "rho_total": 1, "rho_per_query": 0.5, "delta": 0.5}|release.delta: must be a number above 0 and at most 0.001
t["revenue_shares"]["platform"] = 999|revenue_shares: basis points sum to 9999, not exactly 10000
t["revenue_shares"]["platform"] = 1001|revenue_shares: basis points sum to 10001, not exactly 10000
t["revenue_shares"] = {"acme-merchant": 10000, "city-health-bureau": 1000, "platform": -1000}|revenue_shares.platform: must be an integer number of basis points in [0, 10000]
t["revenue_shares"] = {"city-health-bureau": 5000, "acme-buyer": 5000}|revenue_shares.acme-buyer: not a party of product claims
t["revenue_shares"] = {"city-health-bureau": 5000, "auditor": 5000}|revenue_shares.auditor: not a party of product claims
t["query_quota"] = 0|query_quota: 0 is outside [1, 9007199254740992]
t["price_fen"] = -1|price_fen: -1 is outside [0, 9007199254740992]
t["purpose"] = "public_welfare"|price_fen: a public_welfare contract is free of charge, not 5000 fen
t["versions"] = {"from": 3, "until": 2}|versions.until: 2 is before versions.from 3
EOF
	note "(a measure without bounds is refused by product add already; contract_test.c covers that rule)"
	printf '{"purpose": \n' >"$T/bad.json"
	expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$T/bad.json" --out "$T/bad.c.json"
	expect_stderr_contains "$T/bad.json:2:"
	expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer $MERCHANT --terms "$BASE" --out "$T/bad.c.json"
	expect_stderr_contains "--buyer $MERCHANT: that party is a merchant, not a buyer"
	expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer nobody --terms "$BASE" --out "$T/bad.c.json"
	expect_stderr_contains "--buyer nobody: no such party"
	expect_fail 1 "$SLUICE" -d "$D" contract offer --product imaging --buyer $BUYER --terms "$BASE" --out "$T/bad.c.json"
	expect_stderr_contains "no product named 'imaging'"
	check "no contract file written" [ ! -e "$T/bad.c.json" ]
	same terms "$D" "refused offers left the exchange as it was"

	note "valid_from may lie in the past; public_welfare free of charge is accepted"
	terms "$T/past.json" 't["valid_from"] = "2020-01-01T00:00:00Z"'
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer other-buyer --terms "$T/past.json" --out "$T/$suite-past.json"
	terms "$T/free.json" 't["purpose"] = "public_welfare"; t["price_fen"] = 0'
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer other-buyer --terms "$T/free.json" --out "$T/$suite-free.json" --json
	json_doc
	json_eq "offer --json state" 'd["state"]' offered

	note "offer: the parties, their keys and the terms; --out never overwrites"
	C="$T/$suite-c.json"
	# --identity: only the product's merchant's key, and then it is the actor.
	snap ident "$D"
	for k in $BUYER $HOLDER other-buyer; do
		expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$BASE" --out "$C" --identity "$K$k.key"
		expect_stdout_empty
		expect_stderr_contains "$K$k.key: the key of party $k, not of $MERCHANT (the merchant of product claims)"
	done
	same ident "$D" "an offer with another party's key records nothing"
	check "no contract file from a refused --identity" [ ! -e "$C" ]
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$BASE" --out "$C" --identity "$K$MERCHANT.key"
	ID=$(cid "$C")
	expect_stdout_contains "Offered contract $ID for claims to $BUYER; written to $C"
	check_eq "suite" "$(jget "$C" 'd["suite"]')" "$suite"
	check_eq "parties in role order" "$(jget "$C" '[(p["role"], p["name"]) for p in d["parties"]]')" \
		'[["holder","city-health-bureau"],["operator","ningbo-data-ops"],["merchant","acme-merchant"],["buyer","acme-buyer"],["platform","platform"]]'
	for n in $HOLDER $OPERATOR $MERCHANT $BUYER platform; do
		pub="$K$n.pub"
		[ $n = platform ] && pub="$D/platform.pub"
		check_eq "$n's fingerprint (openssl)" "$(jget "$C" "[p for p in d['parties'] if p['name'] == '$n'][0]['fingerprint']")" "$(fingerprint $suite "$pub")"
		check "$n's public key is its .pub file" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [p for p in d["parties"] if p["name"] == sys.argv[2]][0]["public_key"] == open(sys.argv[3]).read()' "$C" "$n" "$pub"
	done
	check "the terms as given, no signatures" python3 -c '
import json, sys
d, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert all(d[k] == v for k, v in t.items()) and d["signatures"] == [] and d["product"] == {"name": "claims"}' "$C" "$BASE"
	cp "$C" "$T/offered.json"
	snap out "$D"
	expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$BASE" --out "$C"
	expect_stderr_contains "$C: already exists; choose another --out"
	check "the existing file is untouched" cmp -s "$C" "$T/offered.json"
	same out "$D" "a refused --out records nothing"
	# An --out that cannot be written: the offer fails whole, recording nothing.
	expect_ok "$SLUICE" -d "$D" contract list --json
	# The short-lived contracts may expire between the two lists on a slow machine.
	drop_short "$OUT" >"$T/list.before"
	expect_fail 1 "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$BASE" --out "$T/nonexist/x.json"
	expect_stdout_empty
	expect_stderr_contains "$T/nonexist/x.json: cannot write"
	expect_stderr_contains "nothing was offered"
	same out "$D" "an --out that cannot be written records nothing (catalog and audit log as they were)"
	expect_ok "$SLUICE" -d "$D" contract list --json
	drop_short "$OUT" >"$T/list.after"
	check "contract list is as it was" cmp -s "$T/list.after" "$T/list.before"
	check "no directory made for --out" [ ! -e "$T/nonexist" ]

	note "sign: offline, only the parties, each once"
	expect_fail 1 "$SLUICE" contract sign "$C" --identity "${K}other-buyer.key"
	expect_stderr_contains "is not the key of any party of contract $ID"
	expect_fail 1 "$SLUICE" contract sign "$C" --identity "${K}auditor.key"
	expect_stderr_contains "is not the key of any party of contract $ID"
	expect_fail 1 "$SLUICE" contract sign "$C" --identity "$K$HOLDER.pub"
	check "refused signatures leave the file untouched" cmp -s "$C" "$T/offered.json"
	sign_by "$C" $HOLDER $OPERATOR
	expect_stdout_contains "Signed contract $ID as $OPERATOR (operator)"
	expect_stdout_contains "Still to sign: $MERCHANT (merchant), $BUYER (buyer)"
	sign_by "$C" $MERCHANT
	cp "$C" "$T/three.json"
	expect_fail 1 "$SLUICE" contract sign "$C" --identity "$K$MERCHANT.key"
	expect_stderr_contains "$MERCHANT (merchant) has already signed contract $ID"
	check "a second signature changes nothing" cmp -s "$C" "$T/three.json"
	check_eq "three signatures" "$(jget "$C" '[s["role"] for s in d["signatures"]]')" '["holder","operator","merchant"]'

	note "verify before completion: exit 1, naming the missing parties"
	expect_fail 1 "$SLUICE" contract verify "$C"
	expect_stdout_contains "Signed by:  $HOLDER (holder), $OPERATOR (operator), $MERCHANT (merchant)"
	expect_stdout_contains "Missing:    $BUYER (buyer), platform (platform)"
	expect_stdout_contains "INCOMPLETE: signatures are missing"
	expect_fail 1 "$SLUICE" contract verify "$C" --json
	json_doc
	json_eq "verify --json valid" 'd["valid"]' false
	json_eq "verify --json missing" 'd["missing"]' '["acme-buyer","platform"]'

	note "submit: partial, again, then complete: the platform countersigns"
	expect_ok "$SLUICE" -d "$D" contract submit "$C"
	expect_stdout_contains "Contract $ID: offered; new signatures: $HOLDER (holder), $OPERATOR (operator), $MERCHANT (merchant)"
	expect_ok "$SLUICE" -d "$D" contract show "$ID" --json
	json_eq "state after a partial submit" 'd["state"]' offered
	json_eq "signed_by" 'd["signed_by"]' '["city-health-bureau","ningbo-data-ops","acme-merchant"]'
	json_eq "missing" 'd["missing"]' '["acme-buyer","platform"]'
	n=$(audit_count)
	expect_ok "$SLUICE" -d "$D" contract submit "$C"
	expect_stdout_contains "Contract $ID: offered"
	check_eq "resubmitting the same signatures audits nothing" "$(audit_count)" "$n"
	sign_by "$C" $BUYER
	expect_stdout_contains "Every party has signed"
	cp "$C" "$T/four.json"
	expect_ok "$SLUICE" -d "$D" contract submit "$C"
	expect_stdout_contains "Contract $ID: active; new signatures: $BUYER (buyer)"
	expect_stdout_contains "The platform countersigned; queries may run under it now"
	check_eq "the file now holds all five signatures" "$(jget "$C" '[s["role"] for s in d["signatures"]]')" \
		'["holder","operator","merchant","buyer","platform"]'
	n=$(audit_count)
	expect_ok "$SLUICE" -d "$D" contract submit "$C"
	expect_stdout_contains "Contract $ID: active"
	check_eq "resubmitting an active contract audits nothing" "$(audit_count)" "$n"
	expect_ok "$SLUICE" -d "$D" contract submit "$T/four.json"
	expect_stdout_contains "Contract $ID: active"
	check_eq "an older copy gains the countersignature" "$(jget "$T/four.json" 'len(d["signatures"])')" 5

	note "verify a complete contract offline: no data directory at all"
	mv "$D" "$D.away"
	expect_ok env -u SLUICE_DIR "$SLUICE" contract verify "$C" --key "$D.away/platform.pub"
	expect_stdout_contains "Missing:    nobody"
	expect_stdout_contains "OK: every signature verifies; the contract is in force"
	expect_ok env -u SLUICE_DIR "$SLUICE" contract verify "$C" --json
	json_eq "verify --json valid" 'd["valid"]' true
	json_eq "verify --json missing" 'd["missing"]' '[]'
	expect_fail 1 env -u SLUICE_DIR "$SLUICE" contract verify "$C" --key "${K}auditor.pub"
	expect_stderr_contains "$C: the contract's platform key is not the one in ${K}auditor.pub"
	expect_fail 1 env -u SLUICE_DIR "$SLUICE" contract verify "$C" --key "$K$BUYER.key"
	expect_stderr_contains "$K$BUYER.key: not a public key"
	mv "$D.away" "$D"

	note "openssl verifies the signatures over Python's canonical form"
	for n in $HOLDER $OPERATOR $MERCHANT $BUYER platform; do
		pub="$K$n.pub"
		[ $n = platform ] && pub="$D/platform.pub"
		canon "$C" "$n"
		if [ $suite = intl ]; then
			expect_ok openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$T/canon" -sigfile "$T/sig.bin"
		elif [ $sm2_openssl = yes ]; then
			expect_ok openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -digest sm3 \
				-pkeyopt distid:1234567812345678 -in "$T/canon" -sigfile "$T/sig.bin"
		fi
	done
	if [ $suite = gm ] && [ $sm2_openssl = no ]; then
		note "SKIP: this openssl cannot verify SM2 with a distinguishing ID"
	fi
	sed 's/"price_fen":5000/"price_fen":5001/' "$T/canon" >"$T/canon2"
	check "the canonical form names the price" grep -q '"price_fen":5001' "$T/canon2"
	if [ $suite = intl ]; then
		expect_fail 1 openssl pkeyutl -verify -pubin -inkey "$D/platform.pub" -rawin -in "$T/canon2" -sigfile "$T/sig.bin"
	elif [ $sm2_openssl = yes ]; then
		expect_fail 1 openssl pkeyutl -verify -pubin -inkey "$D/platform.pub" -rawin -digest sm3 \
			-pkeyopt distid:1234567812345678 -in "$T/canon2" -sigfile "$T/sig.bin"
		# OpenSSL's default (empty) ID is not the one Sluice signs with.
		expect_fail 1 openssl pkeyutl -verify -pubin -inkey "$D/platform.pub" -rawin -digest sm3 \
			-in "$T/canon" -sigfile "$T/sig.bin"
	fi

	note "tampering: any change to the signed part is refused, by verify and by submit"
	snap tamper "$D"
	while IFS='|' read -r change want <&3; do
		cp "$C" "$T/t.json"
		edit "$T/t.json" "$change"
		expect_fail 1 "$SLUICE" contract verify "$T/t.json"
		expect_stderr_contains "$T/t.json: "
		expect_stderr_contains "$want"
		expect_fail 1 "$SLUICE" -d "$D" contract submit "$T/t.json"
	done 3<<'EOF'
d["price_fen"] = 1|the signature of city-health-bureau (holder) does not verify over this document
d["valid_until"] = "2099-01-01T00:00:00Z"|the signature of city-health-bureau (holder) does not verify
d["release"]["min_group"] = 2|the signature of city-health-bureau (holder) does not verify
d["columns"].reverse()|the signature of city-health-bureau (holder) does not verify
d["aggregates"].reverse()|the signature of city-health-bureau (holder) does not verify
d["product"]["name"] = "claimz"|the signature of city-health-bureau (holder) does not verify
d["parties"][3]["name"] = "acme-buyex"; d["signatures"][3]["party"] = "acme-buyex"|the signature of city-health-bureau (holder) does not verify
d["id"] = d["id"][:-1] + ("0" if d["id"][-1] != "0" else "1")|does not verify over this document
d["signatures"][2]["signature"] = ("0" if d["signatures"][2]["signature"][0] != "0" else "1") + d["signatures"][2]["signature"][1:]|the signature of acme-merchant (merchant) does not verify
d["signatures"][0]["signature"] = d["signatures"][3]["signature"]|the signature of city-health-bureau (holder) does not verify
del d["signatures"][3]|the platform countersigned before every other party signed
d["parties"][0]["name"] = "city-health-bureaux"|revenue_shares.city-health-bureau: not a party of this contract
d["parties"][1]["fingerprint"] = d["parties"][2]["fingerprint"]|parties[1].fingerprint: does not match its public_key
EOF
	# The same signed terms under a tampered id: submit refuses it as unknown.
	cp "$C" "$T/t.json"
	edit "$T/t.json" 'd["price_fen"] = 1'
	expect_fail 1 "$SLUICE" -d "$D" contract submit "$T/t.json"
	expect_stderr_contains "contract $ID: its terms differ from the ones recorded when it was offered"
	# Signatures dropped, price changed: a document a buyer could sign afresh.
	edit "$T/t.json" 'd["signatures"] = []'
	expect_ok "$SLUICE" contract sign "$T/t.json" --identity "$K$BUYER.key" --json
	json_eq "sign --json: who signed, and who is still to" '[d["party"], d["role"], d["complete"], "acme-merchant" in d["missing"]]' \
		"[\"$BUYER\",\"buyer\",false,true]"
	expect_fail 1 "$SLUICE" -d "$D" contract submit "$T/t.json"
	expect_stderr_contains "its terms differ from the ones recorded"
	same tamper "$D" "refused submissions left the exchange as it was"
	# Member order is not content: a reformatted document still verifies and submits.
	cp "$C" "$T/t.json"
	edit "$T/t.json" 'd = {k: (dict(reversed(list(v.items()))) if isinstance(v, dict) else v) for k, v in reversed(list(d.items()))}'
	check "the reformatted file differs" sh -c '! cmp -s "$1" "$2"' - "$C" "$T/t.json"
	expect_ok "$SLUICE" contract verify "$T/t.json" --key "$D/platform.pub"
	expect_ok "$SLUICE" -d "$D" contract submit "$T/t.json"
	expect_stdout_contains "Contract $ID: active"

	note "a signature copied from another contract with the same terms"
	C2="$T/$suite-c2.json"
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$BASE" --out "$C2"
	ID2=$(cid "$C2")
	check_ne "a fresh id" "$ID2" "$ID"
	cp "$C2" "$T/c2.offered.json"
	snap copy "$D"
	python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
b["signatures"] = [s for s in a["signatures"] if s["role"] == "holder"]
json.dump(b, open(sys.argv[2], "w"))' "$C" "$C2"
	expect_fail 1 "$SLUICE" contract verify "$C2"
	expect_stderr_contains "contract $ID2: the signature of $HOLDER (holder) does not verify"
	expect_fail 1 "$SLUICE" -d "$D" contract submit "$C2"
	expect_stderr_contains "the signature of $HOLDER (holder) does not verify"
	expect_fail 1 "$SLUICE" contract sign "$C2" --identity "$K$OPERATOR.key"
	expect_stderr_contains "the signature of $HOLDER (holder) does not verify"
	python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
b["signatures"] = a["signatures"]
json.dump(b, open(sys.argv[2], "w"))' "$C" "$C2"
	expect_fail 1 "$SLUICE" -d "$D" contract submit "$C2"
	expect_stderr_contains "does not verify"
	same copy "$D" "copied signatures recorded nothing"
	cp "$T/c2.offered.json" "$C2"

	note "list and show"
	expect_ok "$SLUICE" -d "$D" contract list
	check "list: the header" grep -Eq "^ID +PRODUCT +BUYER +STATE +QUERIES\$" "$OUT"
	check "list: the columns line up" table_aligned lllll
	check "list: $ID active, 0 of 1000 queries" grep -Eq "^$ID +claims +$BUYER +active +0 of 1000\$" "$OUT"
	check "list: $ID2 offered" grep -Eq "^$ID2 +claims +$BUYER +offered +0 of 1000\$" "$OUT"
	expect_ok "$SLUICE" -d "$D" contract list --json
	json_doc
	json_eq "list --json: one object, its contracts named" 'sorted(d.keys())' '["contracts"]'
	json_eq "list --json: states" "[x['state'] for x in d['contracts'] if x['id'] in ('$ID', '$ID2')]" '["active","offered"]'
	json_eq "list --json: no documents" '[x for x in d["contracts"] if "document" in x]' '[]'
	json_eq "list --json: as many as offered" 'len(d["contracts"])' 6
	expect_ok "$SLUICE" -d "$D" contract show "$ID"
	expect_stdout_contains "Contract $ID for product claims"
	expect_stdout_contains "Signed by:  $HOLDER (holder), $OPERATOR (operator), $MERCHANT (merchant), $BUYER (buyer), platform (platform)"
	expect_stdout_contains "Missing:    nobody"
	expect_stdout_contains "State:      active"
	expect_stdout_contains "Purpose:    insurance_product_research"
	expect_stdout_contains "Price:      5000 fen per released query"
	expect_stdout_contains "Queries:    0 of 1000"
	expect_stdout_contains "Release:    threshold, min_group 10"
	expect_ok "$SLUICE" -d "$D" contract show "$ID" --json
	json_doc
	json_eq "show --json: id" 'd["id"]' "$ID"
	json_eq "show --json: buyer" 'd["buyer"]' $BUYER
	json_eq "show --json: state" 'd["state"]' active
	json_eq "show --json: signed_by" 'd["signed_by"]' \
		'["city-health-bureau","ningbo-data-ops","acme-merchant","acme-buyer","platform"]'
	json_eq "show --json: activated" '"activated" in d' true
	json_eq "show --json: the document" 'd["document"]["id"]' "$ID"
	expect_ok "$SLUICE" -d "$D" contract show "$ID" --document
	cp "$OUT" "$T/shown.json"
	expect_ok "$SLUICE" contract verify "$T/shown.json" --key "$D/platform.pub"
	expect_fail 1 "$SLUICE" -d "$D" contract show c_00000000000000000000000000000000
	expect_stderr_contains "no contract c_00000000000000000000000000000000 on this exchange"

	note "revoke: by the merchant, the holder or the platform only, with a reason, once"
	snap revoke "$D"
	expect_fail 1 "$SLUICE" -d "$D" contract revoke "$ID" --reason "buyer wants out" --identity "$K$BUYER.key"
	expect_stderr_contains "$BUYER may not revoke contract $ID: only its merchant, holder or the platform may"
	expect_fail 1 "$SLUICE" -d "$D" contract revoke "$ID" --reason x --identity "$K$OPERATOR.key"
	expect_stderr_contains "$OPERATOR may not revoke contract $ID"
	expect_fail 1 "$SLUICE" -d "$D" contract revoke "$ID" --reason x --identity "${K}other-buyer.key"
	expect_stderr_contains "not the key of any party of contract $ID"
	expect_fail 2 "$SLUICE" -d "$D" contract revoke "$ID" --identity "$K$MERCHANT.key"
	expect_stderr_contains "missing --reason TEXT"
	expect_fail 1 "$SLUICE" -d "$D" contract revoke "$ID" --reason "" --identity "$K$MERCHANT.key"
	expect_stderr_contains "a revocation needs a reason"
	expect_fail 1 "$SLUICE" -d "$D" contract revoke c_00000000000000000000000000000000 --reason x
	expect_stderr_contains "no contract c_00000000000000000000000000000000"
	same revoke "$D" "refused revocations left the exchange as it was"
	expect_ok "$SLUICE" -d "$D" contract revoke "$ID" --reason "data sharing agreement ended" --identity "$K$MERCHANT.key"
	expect_stdout_contains "Revoked contract $ID (by $MERCHANT)"
	expect_ok "$SLUICE" -d "$D" contract show "$ID"
	expect_stdout_contains "State:      revoked"
	check "show: who revoked and why" grep -Eq "^Revoked: +[0-9T:Z-]+ by $MERCHANT: data sharing agreement ended\$" "$OUT"
	expect_ok "$SLUICE" -d "$D" contract show "$ID" --json
	json_eq "show --json: state" 'd["state"]' revoked
	json_eq "show --json: revoked_by" 'd["revoked_by"]' $MERCHANT
	json_eq "show --json: revoke_reason" 'd["revoke_reason"]' "data sharing agreement ended"
	snap revoked "$D"
	expect_fail 1 "$SLUICE" -d "$D" contract revoke "$ID" --reason again --identity "$K$HOLDER.key"
	expect_stderr_contains "contract $ID was already revoked at"
	expect_stderr_contains "by $MERCHANT"
	expect_fail 1 "$SLUICE" -d "$D" contract submit "$C"
	expect_stderr_contains "contract $ID was revoked at"
	same revoked "$D" "nothing changes a revoked contract"
	expect_ok "$SLUICE" -d "$D" contract list
	check "list: $ID revoked" grep -Eq "^$ID +claims +$BUYER +revoked " "$OUT"
	expect_ok "$SLUICE" -d "$D" contract revoke "$ID2" --reason "offer withdrawn" --identity "$K$HOLDER.key"
	expect_stdout_contains "(by $HOLDER)"
	expect_ok "$SLUICE" -d "$D" contract revoke "$(cid "$T/$suite-free.json")" --reason "pilot over"
	expect_stdout_contains "(by platform)"

	note "the audit trail"
	expect_ok "$SLUICE" -d "$D" audit show --action contract.offered --json
	json_eq "contract.offered for $ID" "[(e['actor'], e['details']['buyer']) for e in d['events'] if e['subject'] == '$ID']" \
		'[["acme-merchant","acme-buyer"]]'
	json_eq "an offer without --identity is the platform's" "[e['actor'] for e in d['events'] if e['subject'] == '$(cid "$T/$suite-free.json")']" '["platform"]'
	json_eq "only the proven offer names the merchant" "len([e for e in d['events'] if e['actor'] == '$MERCHANT'])" 1
	json_eq "every offer audited" 'len(d["events"])' 6
	expect_ok "$SLUICE" -d "$D" audit show --action contract.signed --json
	json_eq "contract.signed per party, in order" "[(e['actor'], e['details']['role']) for e in d['events'] if e['subject'] == '$ID']" \
		'[["city-health-bureau","holder"],["ningbo-data-ops","operator"],["acme-merchant","merchant"],["acme-buyer","buyer"]]'
	check_eq "contract.signed names the buyer's key" \
		"$(json "[e['details']['fingerprint'] for e in d['events'] if e['subject'] == '$ID' and e['actor'] == '$BUYER'][0]")" \
		"$(fingerprint $suite "$K$BUYER.pub")"
	expect_ok "$SLUICE" -d "$D" audit show --action contract.activated --json
	json_eq "contract.activated once, by the platform" "[e['actor'] for e in d['events'] if e['subject'] == '$ID']" '["platform"]'
	expect_ok "$SLUICE" -d "$D" audit show --action contract.revoked --json
	json_eq "contract.revoked" "[(e['actor'], e['details']['reason']) for e in d['events'] if e['subject'] == '$ID']" \
		'[["acme-merchant","data sharing agreement ended"]]'
	expect_ok "$SLUICE" -d "$D" audit export --out "$T/$suite-audit.jsonl"
	check "the export holds every contract step of $ID" python3 -c '
import json, sys
ev = [x["event"] for x in map(json.loads, open(sys.argv[1])) if "event" in x]
acts = [e["action"] for e in ev if e["subject"] == sys.argv[2]]
assert acts == ["contract.offered"] + ["contract.signed"] * 4 + ["contract.activated", "contract.revoked"], acts' \
		"$T/$suite-audit.jsonl" "$ID"
	expect_ok "$SLUICE" audit verify "$T/$suite-audit.jsonl" --key "$D/platform.pub"

	note "expiry follows the clock"
	while [ "$(date -u +%s)" -le "$until_epoch" ]; do sleep 1; done
	expect_ok "$SLUICE" -d "$D" contract list
	check "list: $(cid "$E1") expired" grep -Eq "^$(cid "$E1") +claims +$BUYER +expired " "$OUT"
	expect_fail 1 "$SLUICE" contract verify "$E1" --key "$D/platform.pub"
	expect_stdout_contains "Valid:      2026-01-01T00:00:00Z to $until (expired)"
	expect_stdout_contains "EXPIRED"
	expect_fail 1 "$SLUICE" contract verify "$E1" --json
	json_eq "verify --json: expired" 'd["expired"]' true
	json_eq "verify --json: valid" 'd["valid"]' false
	expect_ok "$SLUICE" -d "$D" contract show "$(cid "$E1")" --json
	json_eq "show --json: state" 'd["state"]' expired
	# Complete only after expiry: recorded, but the platform does not countersign.
	expect_ok "$SLUICE" -d "$D" contract submit "$E2"
	expect_stdout_contains "Contract $(cid "$E2"): signed; new signatures:"
	check "not countersigned" sh -c '! grep -q "countersigned" "$1"' - "$OUT"
	expect_fail 1 "$SLUICE" contract verify "$E2"
	expect_stdout_contains "Missing:    platform (platform)"
	expect_ok "$SLUICE" -d "$D" audit show --action contract.activated --json
	json_eq "no activation after expiry" "[e for e in d['events'] if e['subject'] == '$(cid "$E2")']" '[]'

	note "a dp contract: its terms exact, its budget in the catalog"
	terms "$T/$suite-dp.json" 't["release"] = {"mode": "dp", "mechanism": "laplace", "epsilon_total": "10", "epsilon_per_query": 0.1, "delta": "1e-7"}'
	DP="$T/$suite-dp.c.json"
	expect_ok "$SLUICE" -d "$D" contract offer --product claims --buyer $BUYER --terms "$T/$suite-dp.json" --out "$DP"
	# shellcheck disable=SC2086
	sign_by "$DP" $FOUR
	expect_ok "$SLUICE" -d "$D" contract submit "$DP"
	DPID=$(cid "$DP")
	expect_ok "$SLUICE" -d "$D" contract show "$DPID"
	expect_stdout_contains "Release:    dp (laplace), epsilon 10 in all, 0.1 per query, delta 0.0000001, 1 row per unit"
	expect_ok "$SLUICE" -d "$D" budget --contract "$DPID"
	expect_stdout_contains "Budget:     epsilon = 10 in all, 0.1 per query"
	expect_stdout_contains "Spent:      0 by 0 queries"
	expect_stdout_contains "Remaining:  10"
	expect_ok "$SLUICE" -d "$D" budget --contract "$DPID" --json --identity "$K$BUYER.key"
	json_doc
	json_eq "budget --json" '[d[k] for k in ("contract", "mechanism", "unit", "total", "per_query", "spent", "remaining", "queries", "history")]' \
		"[\"$DPID\",\"laplace\",\"epsilon\",\"10\",\"0.1\",\"0\",\"10\",0,[]]"
	expect_ok "$SLUICE" -d "$D" budget --contract "$DPID" --identity "$K$HOLDER.key"
	expect_ok "$SLUICE" -d "$D" budget --contract "$DPID" --identity "$K"auditor.key
	expect_fail 1 "$SLUICE" -d "$D" budget --contract "$DPID" --identity "$K"other-buyer.key
	expect_stderr_contains "other-buyer is not a party of contract $DPID: its budget is not theirs to see"
	# A key of no party here is refused before the contract is looked up.
	expect_ok "$SLUICE" init --suite "$suite" "$T/$suite-elsewhere"
	expect_ok "$SLUICE" -d "$T/$suite-elsewhere" party add stray --role buyer --out "${K}stray.key"
	expect_fail 1 "$SLUICE" -d "$D" budget --contract c_00000000000000000000000000000000 --identity "${K}stray.key"
	expect_stderr_contains "not the key of any party of this exchange"
	check "the stray key learns nothing of the contract" sh -c '! grep -q "no contract" "$1"' - "$ERR"
	expect_fail 1 "$SLUICE" -d "$D" budget --contract "$ID"
	expect_stderr_contains "contract $ID is not in dp mode: it has no budget"
	expect_fail 1 "$SLUICE" -d "$D" budget --contract c_00000000000000000000000000000000
	expect_stderr_contains "no contract c_00000000000000000000000000000000 on this exchange"
	expect_fail 2 "$SLUICE" -d "$D" budget
	expect_stderr_contains "missing --contract"
done
pass
