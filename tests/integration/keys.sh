#!/bin/sh
# sluice keys status | rotate-master (keys/master.h: the key hierarchy)
# in both suites: status in text and JSON, rotation of a file master key and
# of a passphrase one, the old key refused afterwards, and rotations
# interrupted before and after their commit (simulated by the files they
# would leave), every refusal leaving the exchange as it was.
set -u
. "$(dirname "$0")/lib.sh"
need openssl
need python3

RFC3339='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
printf 'first passphrase\n' >"$T/p1"
printf 'second passphrase\n' >"$T/p2"
: >"$T/empty"
# Passphrase files, like keys, must be readable by their owner only.
chmod 600 "$T/p1" "$T/p2" "$T/empty"

# A random master key file in the right format.
random_key() { printf 'sluice-master-key-v1:%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"; }
# key_file_ok WHAT FILE: the master.key format, mode 0600.
key_file_ok() {
	check "$1: sluice-master-key-v1: and 64 hex digits" grep -qx 'sluice-master-key-v1:[0-9a-f]\{64\}' "$2"
	check_eq "$1: size" "$(stat -c %s "$2")" 86
	check_eq "$1: mode" "$(mode "$2")" 600
}
# status_is WHAT VERSION SOURCE DEKS [GLOBAL-OPTIONS...]: keys status --json
# on $D says so, and every wrapped key unwraps.
status_is() {
	_what=$1 _v=$2 _src=$3 _deks=$4
	shift 4
	expect_ok "$SLUICE" -d "$D" "$@" keys status --json
	json_doc
	json_eq "$_what: keys status --json" \
		'[d["source"], d["version"], d["data_keys"], d["secrets"], d["verified"]]' \
		"[\"$_src\",$_v,$_deks,2,true]"
}
# add_party NAME [GLOBAL-OPTIONS...]: party add works (it unwraps the CA key)
# and the certificate verifies.
add_party() {
	_n=$1
	shift
	expect_ok "$SLUICE" -d "$D" "$@" party add "$_n" --role buyer --out "$K/$_n.key"
	expect_ok openssl verify -CAfile "$D/tls/ca.crt" "$K/$_n.crt"
}

for suite in intl gm; do
	note "keys status, suite $suite"
	D="$T/$suite"
	K="$T/$suite-keys"
	mkdir "$K"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	expect_ok "$SLUICE" -d "$D" keys status
	expect_stderr_empty
	check "status line 1" grep -qx "master key: file master.key, version 1, changed $RFC3339" "$OUT"
	check "status line 2" grep -qx "wrapped keys: 0 data keys, 2 other secrets; all unwrap" "$OUT"
	check_eq "status lines" "$(wc -l <"$OUT")" 2
	check "keys status does not show the key" [ -z "$(grep -F "$(cut -c22-85 "$D/master.key")" "$OUT")" ]
	status_is "new exchange" 1 file 0
	check "changed is RFC 3339" expr "$(json 'd["changed"]')" : "$RFC3339\$"

	note "rotate-master, suite $suite"
	cp -p "$D/master.key" "$T/k1"
	expect_ok "$SLUICE" -d "$D" keys rotate-master
	expect_stderr_empty
	check_eq "rotate-master says" "$(cat "$OUT")" "master key rotated to version 2; 0 data keys and 2 secrets rewrapped"
	check_ne "master.key content changed" "$(cat "$D/master.key")" "$(cat "$T/k1")"
	key_file_ok "rotated master.key" "$D/master.key"
	check "no master.key.new left" [ ! -e "$D/master.key.new" ]
	check_eq "files in the data directory" "$(find "$D" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')" "checkpoints.log master.key platform.pub sluice.db stores tls "
	status_is "after rotation" 2 file 0
	add_party after1
	cp -p "$D/master.key" "$T/k2"
	cp -p "$T/k1" "$D/master.key"
	snap old "$D"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stderr_contains "$D/master.key: wrong master key for this data directory"
	expect_fail 1 "$SLUICE" -d "$D" party add old --role buyer --out "$K/old.key"
	expect_stderr_contains "wrong master key"
	expect_fail 1 "$SLUICE" -d "$D" keys rotate-master
	expect_stderr_contains "wrong master key"
	same old "$D" "the old master key changed nothing"
	check "no party files from the old key" [ ! -e "$K/old.key" ]
	cp -p "$T/k2" "$D/master.key"
	status_is "new key back" 2 file 0

	note "rotation with a data key, suite $suite"
	expect_ok "$SLUICE" -d "$D" party add acme --role merchant --out "$K/acme.key"
	expect_ok "$SLUICE" -d "$D" product add claims --schema "$top_srcdir/examples/claims.schema.json" --merchant acme
	status_is "a product without versions has no key" 2 file 0
	expect_ok "$SLUICE" -d "$D" product load claims "$top_srcdir/examples/claims.csv"
	status_is "with a version" 2 file 1
	expect_ok "$SLUICE" -d "$D" keys rotate-master --json
	json_doc
	json_eq "rotate-master --json" '[d["version"], d["data_keys"], d["secrets"], d["verified"]]' '[3,1,2,true]'
	status_is "data key rewrapped" 3 file 1
	expect_ok "$SLUICE" -d "$D" product show claims
	expect_stdout_contains "claims"

	note "rotation interrupted before its commit, suite $suite"
	# What a rotation that died before committing leaves: a new key file
	# that the catalog does not know.
	random_key >"$D/master.key.new"
	chmod 600 "$D/master.key.new"
	cp -p "$D/master.key.new" "$T/stray"
	cp -p "$D/master.key" "$T/k3"
	status_is "old key still the key" 3 file 1
	check "master.key kept" cmp -s "$D/master.key" "$T/k3"
	add_party after2
	check "master.key kept after party add" cmp -s "$D/master.key" "$T/k3"
	expect_ok "$SLUICE" -d "$D" keys rotate-master
	expect_stdout_contains "master key rotated to version 4"
	check_ne "master.key is not the old key" "$(cat "$D/master.key")" "$(cat "$T/k3")"
	check_ne "master.key is not the stray key" "$(cat "$D/master.key")" "$(cat "$T/stray")"
	key_file_ok "master.key after the rotation" "$D/master.key"
	check "no master.key.new left" [ ! -e "$D/master.key.new" ]
	status_is "rotated over a stray master.key.new" 4 file 1
	# The stray key is no key of this exchange.
	cp -p "$D/master.key" "$T/k4"
	cp -p "$T/stray" "$D/master.key"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stderr_contains "wrong master key"
	cp -p "$T/k4" "$D/master.key"

	note "rotation interrupted after its commit, before its rename, suite $suite"
	for first in "keys status" "party add after3 --role buyer --out $K/after3.key"; do
		cp -p "$D/master.key" "$T/before"
		expect_ok "$SLUICE" -d "$D" keys rotate-master
		cp -p "$D/master.key" "$T/after"
		mv "$D/master.key" "$D/master.key.new"
		cp -p "$T/before" "$D/master.key"
		# shellcheck disable=SC2086
		expect_ok "$SLUICE" -d "$D" $first
		ok "the next command ($first) works"
		check "rolled forward: master.key is the new key" cmp -s "$D/master.key" "$T/after"
		check "master.key.new consumed" [ ! -e "$D/master.key.new" ]
		key_file_ok "rolled-forward master.key" "$D/master.key"
	done
	status_is "after the roll-forwards" 6 file 1
	expect_ok openssl verify -CAfile "$D/tls/ca.crt" "$K/after3.crt"

	note "a file master key cannot become a passphrase one, suite $suite"
	snap file "$D"
	expect_fail 1 "$SLUICE" -d "$D" keys rotate-master --new-passphrase-file "$T/p1"
	expect_stdout_empty
	expect_stderr_contains "--new-passphrase-file: this data directory's master key comes from $D/master.key, not a passphrase"
	same file "$D" "the refused rotation changed nothing"
	check "no master.key.new" [ ! -e "$D/master.key.new" ]
	status_is "after the refused rotation" 6 file 1

	note "passphrase exchange, suite $suite"
	D="$T/$suite-pass"
	expect_ok "$SLUICE" init --suite "$suite" --passphrase-file "$T/p1" "$D"
	status_is "passphrase exchange" 1 passphrase 0 --passphrase-file "$T/p1"
	expect_ok "$SLUICE" -d "$D" --passphrase-file "$T/p1" keys status
	check "status line 1" grep -qx "master key: from passphrase, version 1, changed $RFC3339" "$OUT"
	salt1=$(sql "$D/sluice.db" 'SELECT hex(kdf_salt) FROM master_key' 2>/dev/null)
	snap pass "$D"
	expect_fail 1 "$SLUICE" -d "$D" --passphrase-file "$T/p1" keys rotate-master
	expect_stdout_empty
	expect_stderr_contains "the master key comes from a passphrase: give --new-passphrase-file F"
	expect_fail 1 "$SLUICE" -d "$D" keys rotate-master --new-passphrase-file "$T/p2"
	expect_stderr_contains "give --passphrase-file F"
	expect_fail 1 "$SLUICE" -d "$D" --passphrase-file "$T/p2" keys rotate-master --new-passphrase-file "$T/p2"
	expect_stderr_contains "wrong passphrase"
	expect_fail 1 "$SLUICE" -d "$D" --passphrase-file "$T/p1" keys rotate-master --new-passphrase-file "$T/missing"
	expect_stderr_contains "$T/missing: passphrase file not found"
	expect_fail 1 "$SLUICE" -d "$D" --passphrase-file "$T/p1" keys rotate-master --new-passphrase-file "$T/empty"
	expect_stderr_contains "$T/empty: passphrase is empty"
	same pass "$D" "the refused rotations changed nothing"
	status_is "after the refused rotations" 1 passphrase 0 --passphrase-file "$T/p1"

	# A passphrase file others can read, or a link, is refused as master.key is.
	cp -p "$T/p1" "$T/p1-open"
	chmod 644 "$T/p1-open"
	cp -p "$T/p2" "$T/p2-open"
	chmod 640 "$T/p2-open"
	ln -sf "$T/p1" "$T/p1-link"
	expect_fail 1 "$SLUICE" -d "$D" --passphrase-file "$T/p1-open" keys status
	expect_stdout_empty
	expect_stderr_contains "$T/p1-open: mode 644 lets group or others use it"
	expect_stderr_contains "(chmod 600 $T/p1-open)"
	expect_fail 1 env SLUICE_PASSPHRASE_FILE="$T/p1-open" "$SLUICE" -d "$D" party add open --role buyer --out "$K/open.key"
	expect_stderr_contains "$T/p1-open: mode 644"
	check "no party files from a refused passphrase file" [ ! -e "$K/open.key" ]
	expect_fail 1 "$SLUICE" -d "$D" --passphrase-file "$T/p1-link" keys status
	expect_stderr_contains "$T/p1-link: is a symbolic link"
	expect_fail 1 "$SLUICE" -d "$D" --passphrase-file "$T/p1" keys rotate-master --new-passphrase-file "$T/p2-open"
	expect_stderr_contains "$T/p2-open: mode 640"
	expect_stderr_contains "(chmod 600 $T/p2-open)"
	same pass "$D" "the refused passphrase files changed nothing"
	expect_fail 1 "$SLUICE" init --suite "$suite" --passphrase-file "$T/p1-open" "$T/$suite-open"
	expect_stderr_contains "$T/p1-open: mode 644"
	check "a refused init made no directory" [ ! -e "$T/$suite-open" ]

	expect_ok "$SLUICE" -d "$D" --passphrase-file "$T/p1" keys rotate-master --new-passphrase-file "$T/p2"
	expect_stdout_contains "master key rotated to version 2"
	check "no master.key" [ ! -e "$D/master.key" ]
	check "no master.key.new" [ ! -e "$D/master.key.new" ]
	expect_fail 1 "$SLUICE" -d "$D" --passphrase-file "$T/p1" keys status
	expect_stderr_contains "$T/p1: wrong passphrase for this data directory"
	expect_fail 1 env SLUICE_PASSPHRASE_FILE="$T/p1" "$SLUICE" -d "$D" party add old --role buyer --out "$K/old.key"
	expect_stderr_contains "wrong passphrase"
	check "no party files from the old passphrase" [ ! -e "$K/old.key" ]
	status_is "new passphrase" 2 passphrase 0 --passphrase-file "$T/p2"
	add_party pass1 --passphrase-file "$T/p2"
	salt2=$(sql "$D/sluice.db" 'SELECT hex(kdf_salt) FROM master_key' 2>/dev/null)
	# The same passphrase again: a new salt, so a new key.
	expect_ok env SLUICE_PASSPHRASE_FILE="$T/p2" "$SLUICE" -d "$D" keys rotate-master --new-passphrase-file "$T/p2"
	if have_sql; then
		salt3=$(sql "$D/sluice.db" 'SELECT hex(kdf_salt) FROM master_key')
		check_ne "rotation gave a new salt" "$salt2" "$salt1"
		check_ne "rotation to the same passphrase gave a new salt" "$salt3" "$salt2"
		check_eq "salt length (bytes)" "$((${#salt3} / 2))" 16
	fi
	status_is "same passphrase, rotated" 3 passphrase 0 --passphrase-file "$T/p2"
	add_party pass2 --passphrase-file "$T/p2"
done
pass
