#!/bin/sh
# Foundation (issue 2) through the real CLI: init in both suites, parties of
# every role, master key rotation, and every refusal with its message and no
# half-made state.  openssl reads what sluice writes.
set -u
. "$(dirname "$0")/lib.sh"

mode() { stat -c %a "$1"; }
dump() { sqlite3 "$1/sluice.db" .dump | grep -v '^PRAGMA\|^BEGIN\|^COMMIT'; }

note "CLI"
expect_ok "$SLUICE" --help
expect_stdout_contains "init"
expect_stdout_contains "Exit status: 0 ok, 1 refused or failed, 2 usage error."
expect_fail 2 "$SLUICE"
expect_fail 2 "$SLUICE" frobnicate
expect_stderr_contains "unknown command 'frobnicate'"
for c in "init" "party" "party add" "party list" "keys" "keys status" "keys rotate-master" \
	"audit export" "audit verify" "audit show" "product add" "product show"; do
	# shellcheck disable=SC2086
	expect_ok "$SLUICE" $c --help
done
expect_fail 2 "$SLUICE" party list
expect_stderr_contains "give -d DIR before the command, or set SLUICE_DIR"
expect_fail 1 "$SLUICE" -d "$T" party list
expect_stderr_contains "not a Sluice data directory"
expect_fail 2 "$SLUICE" init
expect_fail 2 "$SLUICE" init "$T/a" --suite rot13
expect_stderr_contains "--suite 'rot13': must be intl or gm"
[ ! -e "$T/a" ] || fail "a refused init created its directory"
expect_ok "$top_builddir/sluice-worker" --version

for suite in intl gm; do
	note "init, suite $suite"
	D="$T/$suite"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	[ "$(mode "$D")" = 700 ] || fail "data directory mode $(mode "$D")"
	[ "$(mode "$D/master.key")" = 600 ] || fail "master.key mode"
	[ "$(mode "$D/tls/server.key")" = 600 ] || fail "server.key mode"
	for f in sluice.db platform.pub tls/ca.crt tls/server.crt; do
		[ -f "$D/$f" ] || fail "missing $f"
	done
	[ -d "$D/stores" ] || fail "missing stores/"
	[ "$(sqlite3 "$D/sluice.db" 'PRAGMA journal_mode')" = wal ] || fail "not WAL"
	[ "$(sqlite3 "$D/sluice.db" 'PRAGMA user_version')" = "$(schema_version)" ] || fail "schema version"
	openssl verify -CAfile "$D/tls/ca.crt" "$D/tls/server.crt" >"$OUT" 2>&1 || fail "server cert"
	openssl x509 -in "$D/tls/server.crt" -noout -text >"$OUT"
	expect_stdout_contains "DNS:localhost"
	expect_stdout_contains "NIST CURVE: P-256"
	openssl pkey -pubin -in "$D/platform.pub" -noout -text >"$OUT" 2>&1 || fail "platform.pub"
	if [ "$suite" = intl ]; then expect_stdout_contains "ED25519"; else expect_stdout_contains "SM2"; fi
	SLUICE_DIR="$D" expect_ok "$SLUICE" party list --json
	python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["parties"]; assert [x["name"] for x in p]==["platform"] and p[0]["role"]=="platform"' "$OUT" ||
		fail "party list --json"

	note "parties of every role, suite $suite"
	for role in platform holder operator merchant buyer auditor; do
		K="$T/$suite-$role"
		expect_ok "$SLUICE" -d "$D" party add "p-$role" --role "$role" --out "$K.key"
		[ "$(mode "$K.key")" = 600 ] || fail "$K.key mode"
		openssl pkey -in "$K.key" -pubout >"$T/derived.pub" 2>"$ERR" || fail "openssl pkey reads $K.key"
		cmp -s "$T/derived.pub" "$K.pub" || fail "$K.pub is not the public half of $K.key"
		openssl verify -CAfile "$D/tls/ca.crt" "$K.crt" >"$OUT" 2>&1 || fail "$K.crt does not verify"
		openssl x509 -in "$K.crt" -noout -subject >"$OUT"
		expect_stdout_contains "OU = $role, CN = p-$role"
		openssl x509 -in "$K.crt" -noout -pubkey | cmp -s - "$K.pub" || fail "$K.crt certifies another key"
		# The fingerprint is the suite hash of the SPKI DER.
		if [ "$suite" = intl ]; then
			fp="SHA256:$(openssl pkey -pubin -in "$K.pub" -outform DER | sha256sum | cut -d' ' -f1)"
		else
			fp="SM3:$(openssl pkey -pubin -in "$K.pub" -outform DER | openssl dgst -sm3 -r | cut -d' ' -f1)"
		fi
		expect_ok "$SLUICE" -d "$D" party list
		expect_stdout_contains "$fp"
	done

	note "refusals leave the exchange as it was, suite $suite"
	before=$(dump "$D")
	expect_fail 1 "$SLUICE" -d "$D" party add p-buyer --role buyer --out "$T/dup.key"
	expect_stderr_contains "party 'p-buyer' already exists"
	expect_fail 2 "$SLUICE" -d "$D" party add x --role king --out "$T/x.key"
	expect_stderr_contains "--role 'king': must be one of platform|holder|operator|merchant|buyer|auditor"
	for bad in Upper -dash 'a/b' '' "$(printf '%065d' 0)"; do
		expect_fail 1 "$SLUICE" -d "$D" party add --role buyer --out "$T/bad.key" -- "$bad"
		expect_stderr_contains "must be 1-64 characters"
	done
	echo keep >"$T/exists.key"
	expect_fail 1 "$SLUICE" -d "$D" party add newp --role buyer --out "$T/exists.key"
	expect_stderr_contains "exists; party files are never overwritten"
	[ "$(cat "$T/exists.key")" = keep ] || fail "an existing file was overwritten"
	expect_fail 1 "$SLUICE" -d "$D" party add newp --role buyer --out "$T/nodir/x.key"
	expect_fail 2 "$SLUICE" -d "$D" party add newp --out "$T/y.key"
	expect_fail 2 "$SLUICE" -d "$D" party add newp --role buyer
	[ "$(dump "$D")" = "$before" ] || fail "a refused party add changed the catalog"
	ls "$T" | grep -q '^bad\.\|^dup\.\|^y\.' && fail "a refused party add left files"
	: >"$T/nonempty-$suite"
	mkdir "$T/full-$suite" && : >"$T/full-$suite/x"
	expect_fail 1 "$SLUICE" init "$T/full-$suite"
	expect_stderr_contains "directory is not empty (found 'x')"
	expect_fail 1 "$SLUICE" init "$T/nonempty-$suite"
	expect_stderr_contains "exists and is not a directory"
	ls -a "$T" | grep -q '\.init-' && fail "init left a staging directory"
	mkdir "$T/empty-$suite"
	expect_ok "$SLUICE" init --suite "$suite" "$T/empty-$suite"

	note "master key rotation, suite $suite"
	cp "$D/master.key" "$T/old.key"
	expect_ok "$SLUICE" -d "$D" keys rotate-master --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["version"]==2 and d["secrets"]==2 and d["verified"]' "$OUT" ||
		fail "rotate-master --json"
	cmp -s "$T/old.key" "$D/master.key" && fail "master.key unchanged"
	[ "$(mode "$D/master.key")" = 600 ] || fail "new master.key mode"
	[ ! -e "$D/master.key.new" ] || fail "master.key.new left behind"
	expect_ok "$SLUICE" -d "$D" party add after --role buyer --out "$T/$suite-after.key"
	cp "$D/master.key" "$T/new.key"
	cp "$T/old.key" "$D/master.key"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stderr_contains "wrong master key for this data directory"
	# The state between the commit and the rename: the next command finishes it.
	cp "$T/new.key" "$D/master.key.new"
	expect_ok "$SLUICE" -d "$D" keys status
	cmp -s "$T/new.key" "$D/master.key" || fail "rotation not rolled forward"
	[ ! -e "$D/master.key.new" ] || fail "master.key.new not consumed"
	chmod 640 "$D/master.key"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stderr_contains "chmod 600"
	chmod 600 "$D/master.key"
	mv "$D/master.key" "$T/real-master.key"
	ln -s "$T/real-master.key" "$D/master.key"
	expect_fail 1 "$SLUICE" -d "$D" keys status
	expect_stderr_contains "$D/master.key: is a symbolic link"
	rm "$D/master.key"
	mv "$T/real-master.key" "$D/master.key"
	expect_fail 1 "$SLUICE" -d "$D" keys rotate-master --new-passphrase-file "$T/old.key"
	expect_stderr_contains "not a passphrase"
	sqlite3 "$D/sluice.db" 'PRAGMA user_version = 99'
	expect_fail 1 "$SLUICE" -d "$D" party list
	expect_stderr_contains "schema version 99 is newer than this sluice understands"
	[ "$(sqlite3 "$D/sluice.db" 'PRAGMA user_version')" = 99 ] || fail "newer schema was touched"
done

note "init into the current directory, and readers beside a writer"
mkdir "$T/here"
(cd "$T/here" && "$SLUICE" init . >"$OUT" 2>"$ERR") || fail "sluice init . in an empty directory"
[ -f "$T/here/sluice.db" ] || fail "init . created nothing"
ls -a "$T" | grep -q '\.init-' && fail "init . left a staging directory"
# A reader must not wait for a writer's lock (WAL): hold one for 5 s and read.
(printf "BEGIN IMMEDIATE;\nINSERT INTO meta VALUES ('lock', 'x');\n"; sleep 5; printf 'ROLLBACK;\n') |
	sqlite3 "$T/here/sluice.db" &
sleep 1
timeout 3 "$SLUICE" -d "$T/here" party list >"$OUT" 2>"$ERR" || fail "party list waited for a writer's lock"
wait

note "passphrase"
printf 'correct horse battery\n' >"$T/pass"
printf 'wrong\n' >"$T/wrong"
printf 'n3w passphrase' >"$T/new"
: >"$T/empty"
chmod 600 "$T/pass" "$T/wrong" "$T/new" "$T/empty"
expect_fail 1 "$SLUICE" init --passphrase-file "$T/empty" "$T/p0"
expect_stderr_contains "passphrase is empty"
expect_fail 1 "$SLUICE" init --passphrase-file "$T/missing" "$T/p0"
expect_stderr_contains "passphrase file not found"
[ ! -e "$T/p0" ] || fail "a refused init created its directory"
expect_ok "$SLUICE" init --passphrase-file "$T/pass" "$T/p"
[ ! -e "$T/p/master.key" ] || fail "passphrase init wrote master.key"
expect_fail 1 "$SLUICE" -d "$T/p" keys status
expect_stderr_contains "give --passphrase-file F"
expect_fail 1 "$SLUICE" -d "$T/p" --passphrase-file "$T/wrong" keys status
expect_stderr_contains "wrong passphrase"
SLUICE_PASSPHRASE_FILE="$T/pass" expect_ok "$SLUICE" -d "$T/p" keys status
expect_stdout_contains "from passphrase"
expect_fail 1 "$SLUICE" -d "$T/p" --passphrase-file "$T/pass" keys rotate-master
expect_stderr_contains "give --new-passphrase-file F"
expect_ok "$SLUICE" -d "$T/p" --passphrase-file "$T/pass" keys rotate-master --new-passphrase-file "$T/new"
expect_fail 1 "$SLUICE" -d "$T/p" --passphrase-file "$T/pass" keys status
expect_ok "$SLUICE" -d "$T/p" --passphrase-file "$T/new" party add q --role auditor --out "$T/q.key"
pass
