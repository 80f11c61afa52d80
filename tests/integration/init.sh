#!/bin/sh
# sluice init (docs/store-format.md, keys/suite.h) in both suites: what the data
# directory holds and with which modes, what openssl makes of the keys and
# certificates, every refusal leaving the target exactly as it was, the
# passphrase mode, a catalog from a newer sluice, and a master.key that is
# too open, damaged or missing.
set -u
. "$(dirname "$0")/lib.sh"
need openssl
need python3

SCHEMA=$(schema_version)
[ -n "$SCHEMA" ] || fail "cannot read DB_SCHEMA_VERSION from $top_srcdir/broker/db.h"
printf 'correct horse battery staple\n' >"$T/pass"
printf 'correct horse battery staple' >"$T/pass-nonl"
printf 'Correct horse battery staple\n' >"$T/wrong"
: >"$T/empty"
printf '\n' >"$T/newline"
# Passphrase files, like keys, must be readable by their owner only.
chmod 600 "$T/pass" "$T/pass-nonl" "$T/wrong" "$T/empty" "$T/newline"

# shellcheck disable=SC2317 # called through check
is_plain_file() { [ -f "$1" ] && [ ! -L "$1" ]; }
# init's staging directories (".NAME.init-XXXXXX") left in DIR.
staging_dirs() { find "$1" -mindepth 1 -maxdepth 1 -name '.*.init-*'; }

# flip_digit FILE: change the first hex digit of a master.key file in place.
flip_digit() {
	_c=$(cut -c22 "$1")
	if [ "$_c" = a ]; then _n=b; else _n=a; fi
	_line=$(cat "$1")
	printf '%s%s%s\n' "$(printf '%s' "$_line" | cut -c1-21)" "$_n" "$(printf '%s' "$_line" | cut -c23-)" >"$1"
}

for suite in intl gm; do
	note "init, suite $suite"
	D="$T/$suite"
	K="$T/$suite-keys"
	mkdir "$K"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	expect_stdout_contains "Created data directory $D (suite $suite, master key in master.key)"
	fp=$(sed -n 's/^Platform key \([^ ]*\), public key in .*/\1/p' "$OUT")
	check_eq "data directory mode" "$(mode "$D")" 700
	for f in sluice.db master.key platform.pub tls/ca.crt tls/server.crt tls/server.key; do
		check "$f is a regular file, not a link" is_plain_file "$D/$f"
	done
	check "stores/ is a directory" [ -d "$D/stores" ]
	check_eq "stores/ is empty" "$(ls -A "$D/stores")" ""
	check_eq "master.key mode" "$(mode "$D/master.key")" 600
	check_eq "tls/server.key mode" "$(mode "$D/tls/server.key")" 600
	check_eq "files writable by group or others" "$(find "$D" -perm /022 | wc -l)" 0
	check "master.key is the tag, 64 hex digits and a newline" \
		grep -qx 'sluice-master-key-v1:[0-9a-f]\{64\}' "$D/master.key"
	check_eq "master.key size" "$(stat -c %s "$D/master.key")" 86
	check "no staging directory left beside it" [ -z "$(staging_dirs "$T")" ]

	note "the catalog, suite $suite"
	expect_ok "$SLUICE" -d "$D" party list
	check_eq "party list: the platform party alone" \
		"$(awk 'NR > 1 { print $1, $2, $4 }' "$OUT")" "platform platform $fp"
	expect_ok "$SLUICE" -d "$D" party list --json
	json_eq "party list --json" '[(p["name"], p["role"], p["fingerprint"]) for p in d["parties"]]' \
		"[[\"platform\",\"platform\",\"$fp\"]]"
	check_eq "platform fingerprint is the suite hash of platform.pub" "$(fingerprint "$suite" "$D/platform.pub")" "$fp"
	if have_sql; then
		check_eq "journal mode" "$(sql "$D/sluice.db" 'PRAGMA journal_mode')" wal
		check_eq "schema version" "$(sql "$D/sluice.db" 'PRAGMA user_version')" "$SCHEMA"
		check_eq "suite recorded in the catalog" \
			"$(sql "$D/sluice.db" "SELECT value FROM meta WHERE key = 'suite'")" "$suite"
	else
		echo "(no sqlite3 and no python3 sqlite3 module: catalog checks skipped)"
	fi
	expect_ok "$SLUICE" -d "$D" keys status
	expect_stdout_contains "master key: file master.key, version 1"

	note "what openssl makes of it, suite $suite"
	expect_ok openssl verify -CAfile "$D/tls/ca.crt" "$D/tls/server.crt"
	check_eq "openssl verify server.crt" "$(cat "$OUT")" "$D/tls/server.crt: OK"
	expect_ok openssl verify -CAfile "$D/tls/ca.crt" "$D/tls/ca.crt"
	expect_ok openssl x509 -in "$D/tls/ca.crt" -noout -text
	expect_stdout_contains "CA:TRUE"
	expect_ok openssl x509 -in "$D/tls/server.crt" -noout -text
	expect_stdout_contains "DNS:localhost"
	expect_stdout_contains "Public Key Algorithm: id-ecPublicKey"
	expect_stdout_contains "NIST CURVE: P-256"
	expect_stdout_contains "TLS Web Server Authentication"
	openssl x509 -in "$D/tls/server.crt" -noout -pubkey >"$T/srv-cert.pub" || fail "server.crt pubkey"
	openssl pkey -in "$D/tls/server.key" -pubout >"$T/srv-key.pub" || fail "openssl reads server.key"
	check "server.key is the key of server.crt" cmp -s "$T/srv-cert.pub" "$T/srv-key.pub"
	expect_ok openssl pkey -pubin -in "$D/platform.pub" -noout -text
	if [ "$suite" = intl ]; then
		expect_stdout_contains "ED25519 Public-Key"
	else
		expect_stdout_contains "ASN1 OID: SM2"
	fi

	note "init into an existing empty directory, suite $suite"
	E="$T/$suite-empty"
	mkdir -m 755 "$E"
	expect_ok "$SLUICE" init --suite "$suite" "$E"
	check_eq "mode of the directory init filled" "$(mode "$E")" 700
	check "sluice.db in it" [ -f "$E/sluice.db" ]
	check "master.key in it" [ -f "$E/master.key" ]
	expect_ok "$SLUICE" -d "$E" keys status
	expect_stdout_contains "version 1"
	cmp -s "$E/master.key" "$D/master.key" && fail "two exchanges got the same master key"
	ok "each exchange has its own master key"

	note "refusals leave everything as it was, suite $suite"
	P="$T/$suite-refused" # the parent: targets and staging directories live here
	mkdir "$P" "$P/full" "$P/empty"
	echo precious >"$P/full/x"
	echo precious >"$P/file"
	ln -s empty "$P/link"
	# refused EXIT TEXT ARGS...: init ARGS is refused, the parent unchanged.
	refused() {
		_code=$1 _text=$2
		shift 2
		snap parent "$P"
		expect_fail "$_code" "$SLUICE" init "$@"
		expect_stdout_empty
		expect_stderr_contains "$_text"
		same parent "$P" "the refused init left $(_show "$P") as it was"
	}
	refused 1 "$P/full: directory is not empty (found 'x')" --suite "$suite" "$P/full"
	refused 1 "$P/file: exists and is not a directory" --suite "$suite" "$P/file"
	refused 1 "$P/link: exists and is not a directory" --suite "$suite" "$P/link"
	refused 2 "--suite 'rot13': must be intl or gm" --suite rot13 "$P/new"
	refused 2 "--suite 'INTL': must be intl or gm" --suite INTL "$P/new"
	refused 1 "$T/missing: passphrase file not found" --suite "$suite" --passphrase-file "$T/missing" "$P/new"
	refused 1 "$T/empty: passphrase is empty" --suite "$suite" --passphrase-file "$T/empty" "$P/new"
	refused 1 "$T/newline: passphrase is empty" --suite "$suite" --passphrase-file "$T/newline" "$P/new"
	refused 1 "$P/no/new" --suite "$suite" "$P/no/new"
	check "no staging directory beside any target" [ -z "$(staging_dirs "$P")" ]
	# An existing exchange is never overwritten.
	snap ex "$D"
	expect_fail 1 "$SLUICE" init --suite "$suite" "$D"
	expect_stderr_contains "directory is not empty"
	same ex "$D" "init over an existing exchange left it as it was"
	check "no staging directory beside the exchange" [ -z "$(staging_dirs "$T")" ]

	note "passphrase mode, suite $suite"
	PD="$T/$suite-pass"
	expect_ok "$SLUICE" init --suite "$suite" --passphrase-file "$T/pass" "$PD"
	expect_stdout_contains "master key from passphrase"
	check "no master.key with a passphrase" [ ! -e "$PD/master.key" ]
	check "sluice.db" [ -f "$PD/sluice.db" ]
	check_eq "data directory mode" "$(mode "$PD")" 700
	snap pass "$PD"
	expect_fail 1 "$SLUICE" -d "$PD" keys status
	expect_stdout_empty
	expect_stderr_contains "the master key comes from a passphrase: give --passphrase-file F"
	expect_fail 1 "$SLUICE" -d "$PD" party add a --role buyer --out "$K/a.key"
	expect_stderr_contains "give --passphrase-file F"
	check_eq "files written by a refused party add" "$(ls -A "$K")" ""
	expect_fail 1 "$SLUICE" -d "$PD" --passphrase-file "$T/wrong" keys status
	expect_stderr_contains "wrong passphrase"
	expect_fail 1 env SLUICE_PASSPHRASE_FILE="$T/wrong" "$SLUICE" -d "$PD" keys status
	expect_stderr_contains "wrong passphrase"
	expect_fail 1 "$SLUICE" -d "$PD" --passphrase-file "$T/missing" keys status
	expect_stderr_contains "passphrase file not found"
	expect_fail 1 "$SLUICE" -d "$PD" --passphrase-file "$T/empty" keys status
	expect_stderr_contains "passphrase is empty"
	same pass "$PD" "refused commands left the passphrase exchange as it was"
	expect_ok "$SLUICE" -d "$PD" --passphrase-file "$T/pass" keys status
	expect_stdout_contains "master key: from passphrase, version 1"
	expect_stdout_contains "0 data keys, 2 other secrets; all unwrap"
	expect_ok env SLUICE_PASSPHRASE_FILE="$T/pass" "$SLUICE" -d "$PD" keys status --json
	json_eq "keys status --json through SLUICE_PASSPHRASE_FILE" '[d["source"], d["version"], d["verified"]]' '["passphrase",1,true]'
	expect_ok env SLUICE_PASSPHRASE_FILE="$T/wrong" "$SLUICE" -d "$PD" --passphrase-file "$T/pass" keys status
	ok "--passphrase-file wins over SLUICE_PASSPHRASE_FILE"
	expect_ok "$SLUICE" -d "$PD" --passphrase-file "$T/pass-nonl" keys status
	ok "a trailing newline is not part of the passphrase"
	expect_ok "$SLUICE" -d "$PD" --passphrase-file "$T/pass" party add a --role buyer --out "$K/a.key"
	expect_ok openssl verify -CAfile "$PD/tls/ca.crt" "$K/a.crt"
	# The global option also serves init.
	expect_ok "$SLUICE" --passphrase-file "$T/pass" init --suite "$suite" --json "$T/$suite-pass2"
	json_eq "init --json master_key" 'd["master_key"]' passphrase
	check "no master.key with a global --passphrase-file" [ ! -e "$T/$suite-pass2/master.key" ]
	expect_fail 1 "$SLUICE" -d "$T/$suite-pass2" --passphrase-file "$T/wrong" keys status
	expect_stderr_contains "wrong passphrase"
	expect_ok "$SLUICE" -d "$T/$suite-pass2" --passphrase-file "$T/pass" keys status

	note "a catalog from a newer sluice, suite $suite"
	if have_sql; then
		sql "$D/sluice.db" 'PRAGMA user_version = 99'
		snap newer "$D"
		for cmd in "party list" "keys status" "keys rotate-master" "party add z --role buyer --out $K/z.key"; do
			# shellcheck disable=SC2086
			expect_fail 1 "$SLUICE" -d "$D" $cmd
			expect_stdout_empty
			expect_stderr_contains "schema version 99 is newer than this sluice understands ($SCHEMA)"
		done
		same newer "$D" "commands on a newer catalog left it as it was"
		check_eq "files written by a refused party add" "$(find "$K" -name 'z.*')" ""
		sql "$D/sluice.db" "PRAGMA user_version = $SCHEMA"
		expect_ok "$SLUICE" -d "$D" keys status
	else
		echo "(no sqlite3 and no python3 sqlite3 module: newer-schema checks skipped)"
	fi

	note "master.key readable by others, suite $suite"
	snap perm "$D"
	for m in 640 604 660 400; do
		chmod "$m" "$D/master.key"
		if [ "$m" = 400 ]; then
			expect_ok "$SLUICE" -d "$D" keys status
			ok "mode 400 (readable by the owner only) is accepted"
			continue
		fi
		snap perm "$D"
		expect_fail 1 "$SLUICE" -d "$D" keys status
		expect_stdout_empty
		expect_stderr_contains "$D/master.key: mode $m lets group or others use it; a key or passphrase file must be readable by its owner only (chmod 600 $D/master.key)"
		expect_fail 1 "$SLUICE" -d "$D" party add y --role buyer --out "$K/y.key"
		expect_stderr_contains "chmod 600"
		same perm "$D" "master.key mode $m: refused and nothing changed"
		check "no party files after the refusal" [ ! -e "$K/y.key" ]
	done
	chmod 600 "$D/master.key"
	expect_ok "$SLUICE" -d "$D" keys status
	expect_stdout_contains "version 1"

	note "a damaged, foreign or missing master.key, suite $suite"
	cp -p "$D/master.key" "$T/good.key"
	hex=$(cut -c22-85 "$D/master.key")
	flip_digit "$D/master.key"
	check_ne "the flipped master.key differs" "$(cat "$D/master.key")" "$(cat "$T/good.key")"
	check_eq "mode kept" "$(mode "$D/master.key")" 600
	snap bad "$D"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stdout_empty
	expect_stderr_contains "$D/master.key: wrong master key for this data directory"
	check "the error does not show the key" [ -z "$(grep -F "$hex" "$ERR")" ]
	expect_fail 1 "$SLUICE" -d "$D" party add y --role buyer --out "$K/y.key"
	expect_stderr_contains "wrong master key"
	expect_fail 1 "$SLUICE" -d "$D" keys rotate-master
	expect_stderr_contains "wrong master key"
	same bad "$D" "commands with a wrong master key left the exchange as it was"
	check "no party files after the refusal" [ ! -e "$K/y.key" ]
	# The key of another exchange is just as wrong.
	cp -p "$E/master.key" "$D/master.key"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stderr_contains "wrong master key for this data directory"
	printf 'not a key\n' >"$D/master.key"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stderr_contains "$D/master.key: not a Sluice master key file"
	rm "$D/master.key"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stderr_contains "$D/master.key: master key file missing"
	cp -p "$T/good.key" "$D/master.key"
	expect_ok "$SLUICE" -d "$D" keys status
	expect_stdout_contains "all unwrap"
	expect_ok "$SLUICE" -d "$D" party add y --role buyer --out "$K/y.key"
done
pass
