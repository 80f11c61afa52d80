#!/bin/sh
# sluice party add | list (README.md, "Concepts"; keys/suite.h) in both suites:
# a party of every role, its key, public key and certificate as openssl sees
# them, the fingerprint as the suite hash of the public key, the listing in
# text and JSON, and every refusal leaving the catalog and the files as they
# were.
set -u
. "$(dirname "$0")/lib.sh"
need openssl
need python3

ROLES="platform holder operator merchant buyer auditor"
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
der_of_pub() { openssl pkey -pubin -in "$1" -outform DER | od -An -tx1 | tr -d ' \n'; }

for suite in intl gm; do
	note "a party of every role, suite $suite"
	D="$T/$suite"
	K="$T/$suite-keys"
	mkdir "$K"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	if [ "$suite" = intl ]; then prefix=SHA256 keytype="ED25519"; else prefix=SM3 keytype="ASN1 OID: SM2"; fi
	start=$(now)
	for role in $ROLES; do
		name="p-$role"
		F="$K/$name"
		expect_ok "$SLUICE" -d "$D" party add "$name" --role "$role" --out "$F.key"
		expect_stdout_contains "Added party $name ($role), key $prefix:"
		added_fp=$(sed -n 's/^Added party .* key \([^ ]*\)$/\1/p' "$OUT")
		check_eq "files written for $name" "$(cd "$K" && ls "$name".*)" "$name.crt
$name.key
$name.pub"
		check_eq "$name.key mode" "$(mode "$F.key")" 600
		check_eq "$name.pub mode" "$(mode "$F.pub")" 644
		expect_ok openssl pkey -in "$F.key" -noout -text
		expect_stdout_contains "$keytype"
		expect_ok openssl pkey -pubin -in "$F.pub" -noout -text
		expect_stdout_contains "$keytype"
		openssl pkey -in "$F.key" -pubout -out "$T/derived.pub" 2>"$ERR" || fail "openssl derives the public key of $name.key"
		check_eq "the public key of $name.key is $name.pub" "$(der_of_pub "$T/derived.pub")" "$(der_of_pub "$F.pub")"
		expect_ok openssl verify -CAfile "$D/tls/ca.crt" "$F.crt"
		check_eq "openssl verify $name.crt" "$(cat "$OUT")" "$F.crt: OK"
		expect_ok openssl x509 -in "$F.crt" -noout -subject -nameopt RFC2253
		check "$name.crt subject has CN=$name" grep -q "[=,]CN=$name\(,\|\$\)" "$OUT"
		check "$name.crt subject has OU=$role" grep -q "[=,]OU=$role\(,\|\$\)" "$OUT"
		check_eq "CN entries in the subject" "$(grep -o 'CN=' "$OUT" | wc -l)" 1
		expect_ok openssl x509 -in "$F.crt" -noout -text
		expect_stdout_contains "TLS Web Client Authentication"
		expect_stdout_contains "CA:FALSE"
		openssl x509 -in "$F.crt" -noout -pubkey >"$T/cert.pub" || fail "openssl reads the key in $name.crt"
		check_eq "$name.crt certifies $name.pub" "$(der_of_pub "$T/cert.pub")" "$(der_of_pub "$F.pub")"
		fp=$(fingerprint "$suite" "$F.pub")
		check_eq "fingerprint printed by party add" "$added_fp" "$fp"
		eval "fp_$role=\$fp"
	done
	end=$(now)

	note "party list, suite $suite"
	expect_ok "$SLUICE" -d "$D" party list --json
	json_doc
	json_eq "names in order" '[p["name"] for p in d["parties"]]' \
		'["platform","p-platform","p-holder","p-operator","p-merchant","p-buyer","p-auditor"]'
	json_eq "roles in order" '[p["role"] for p in d["parties"]]' \
		'["platform","platform","holder","operator","merchant","buyer","auditor"]'
	json_eq "fields of each party" 'sorted(set(tuple(sorted(p)) for p in d["parties"]))' \
		'[["created","fingerprint","name","role"]]'
	cp "$OUT" "$T/list.json"
	for role in $ROLES; do
		name="p-$role"
		eval "fp=\$fp_$role"
		json_eq "party list --json: fingerprint of $name" "[p['fingerprint'] for p in d['parties'] if p['name'] == '$name']" "[\"$fp\"]"
		created=$(json "[p['created'] for p in d['parties'] if p['name'] == '$name'][0]")
		check "created time of $name is RFC 3339 UTC" \
			expr "$created" : '[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z$'
		check "created time of $name ($created) is within the test ($start..$end)" \
			[ "$(printf '%s\n' "$start" "$created" "$end" | sort | tr '\n' ' ')" = "$start $created $end " ]
		eval "created_$role=\$created"
	done
	expect_ok "$SLUICE" -d "$D" party list
	expect_stderr_empty
	check_eq "party list header" "$(head -n 1 "$OUT" | tr -s ' ')" "NAME ROLE CREATED FINGERPRINT"
	check_eq "party list rows" "$(($(wc -l <"$OUT") - 1))" 7
	for role in $ROLES; do
		eval "fp=\$fp_$role created=\$created_$role"
		check_eq "party list row of p-$role" "$(awk -v n="p-$role" '$1 == n { print $2, $3, $4 }' "$OUT")" "$role $created $fp"
	done
	check_eq "distinct fingerprints" "$(awk 'NR > 1 { print $4 }' "$OUT" | sort -u | wc -l)" 7

	note "names at the edge of the rule, suite $suite"
	n64=$(printf 'a%063d' 0)
	for good in "$n64" 0day a_b-c; do
		expect_ok "$SLUICE" -d "$D" party add "$good" --role auditor --out "$K/good.key"
		rm "$K/good.key" "$K/good.pub" "$K/good.crt"
	done

	note "refusals leave the catalog and the files as they were, suite $suite"
	# refused EXIT TEXT ARGS...: `party add ARGS` is refused, nothing changed.
	refused() {
		_code=$1 _text=$2
		shift 2
		snap db "$D"
		snap keys "$K"
		expect_fail "$_code" "$SLUICE" -d "$D" party add "$@"
		expect_stdout_empty
		expect_stderr_contains "$_text"
		same db "$D" "the catalog is as it was"
		same keys "$K" "the key directory is as it was"
	}
	refused 1 "party 'p-buyer' already exists" p-buyer --role buyer --out "$K/dup.key"
	refused 1 "party 'p-buyer' already exists" p-buyer --role auditor --out "$K/dup.key"
	refused 2 "--role 'king': must be one of platform|holder|operator|merchant|buyer|auditor" \
		newp --role king --out "$K/x.key"
	refused 2 "--role 'Buyer': must be one of" newp --role Buyer --out "$K/x.key"
	for bad in Upper -dash a/b '' "$(printf 'a%064d' 0)" 'a b' _under '../x'; do
		refused 1 "party name '$bad': must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit" \
			--role buyer --out "$K/bad.key" -- "$bad"
	done
	echo keep >"$K/exists.key"
	refused 1 "$K/exists.key: exists; party files are never overwritten" newp --role buyer --out "$K/exists.key"
	check_eq "the existing file" "$(cat "$K/exists.key")" keep
	echo keep >"$K/half.crt"
	refused 1 "$K/half.crt: exists; party files are never overwritten" newp --role buyer --out "$K/half.key"
	check_eq "the existing file" "$(cat "$K/half.crt")" keep
	# A dangling link where FILE.crt goes: found only when the .key and .pub are
	# already written, so this checks that they are taken back.
	ln -s "$T/nowhere/x.crt" "$K/dangle.crt"
	refused 1 "$K/dangle.crt" newp --role buyer --out "$K/dangle.key"
	check "the dangling link's target was not created" [ ! -e "$T/nowhere" ]
	refused 1 "$K/nodir/x.key" newp --role buyer --out "$K/nodir/x.key"
	check "no directory was made for --out" [ ! -e "$K/nodir" ]
	refused 2 "missing --role" newp --out "$K/y.key"
	refused 2 "missing --out FILE.key" newp --role buyer
	refused 2 "missing NAME" --role buyer --out "$K/y.key"
	refused 2 "too many arguments" newp extra --role buyer --out "$K/y.key"
	refused 2 "unknown option '--bogus'" newp --role buyer --out "$K/y.key" --bogus
	refused 2 "'--role'" newp --out "$K/y.key" --role
	expect_ok "$SLUICE" -d "$D" party list --json
	json_eq "parties after the refusals (7 + 3 at the edge)" 'len(d["parties"])' 10
	# The refused names are still free for a correct add.
	expect_ok "$SLUICE" -d "$D" party add newp --role buyer --out "$K/newp.key"
	expect_ok openssl verify -CAfile "$D/tls/ca.crt" "$K/newp.crt"

	note "--identity: a key file others can read, or a link, is refused as master.key is, suite $suite"
	expect_ok "$SLUICE" -d "$D" ledger --identity "$K/p-buyer.key"
	cp -p "$K/p-buyer.key" "$K/open.key"
	chmod 640 "$K/open.key"
	ln -s "$K/p-buyer.key" "$K/link.key"
	snap db "$D"
	expect_fail 1 "$SLUICE" -d "$D" ledger --identity "$K/open.key"
	expect_stdout_empty
	expect_stderr_contains "$K/open.key: mode 640 lets group or others use it"
	expect_stderr_contains "(chmod 600 $K/open.key)"
	chmod 604 "$K/open.key"
	expect_fail 1 "$SLUICE" -d "$D" ledger --identity "$K/open.key"
	expect_stderr_contains "$K/open.key: mode 604"
	expect_fail 1 "$SLUICE" -d "$D" ledger --identity "$K/link.key"
	expect_stdout_empty
	expect_stderr_contains "$K/link.key: is a symbolic link"
	expect_stderr_contains "chmod 600"
	same db "$D" "the refused key files changed nothing"
	check_eq "the refused key's mode is left to its owner" "$(mode "$K/open.key")" 604
	chmod 600 "$K/open.key"
	expect_ok "$SLUICE" -d "$D" ledger --identity "$K/open.key"
done
pass
