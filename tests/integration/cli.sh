#!/bin/sh
# The command line itself (docs/sluice.1): help, usage errors with
# exit 2, the global -d DIR / SLUICE_DIR / --passphrase-file, --json giving
# exactly one JSON document, and the worker's --version.
set -u
. "$(dirname "$0")/lib.sh"
need python3

note "help"
for h in --help -h help; do
	expect_ok "$SLUICE" $h
	expect_stderr_empty
	expect_stdout_contains "Usage: sluice [-d DIR] [--passphrase-file F] COMMAND [ARGS]"
	for c in init party keys; do
		check "--help lists the command $c" grep -q "^  $c " "$OUT"
	done
	expect_stdout_contains "Exit status: 0 ok, 1 refused or failed, 2 usage error."
done
expect_ok "$SLUICE" --version
check "--version prints 'sluice VERSION'" grep -qx 'sluice [0-9][0-9.]*.*' "$OUT"

# `sluice CMD --help` needs no data directory and names its command.
help_ok() { # WANT CMD...
	_w=$1
	shift
	expect_ok "$SLUICE" "$@" --help
	expect_stderr_empty
	expect_stdout_contains "$_w"
}
help_ok "Usage: sluice init DIR [--suite intl|gm] [--passphrase-file F]" init
help_ok "sluice party add NAME --role" party
help_ok "sluice party list" party
help_ok "Usage: sluice party add NAME --role platform|holder|operator|merchant|buyer|auditor --out FILE.key" party add
help_ok "Usage: sluice party list" party list
help_ok "sluice keys status" keys
help_ok "sluice keys rotate-master" keys
help_ok "Usage: sluice keys status" keys status
help_ok "Usage: sluice keys rotate-master [--new-passphrase-file F]" keys rotate-master
expect_ok "$SLUICE" party add -h
expect_stdout_contains "Usage: sluice party add"

note "usage errors exit 2"
expect_fail 2 "$SLUICE"
expect_stdout_empty
expect_stderr_contains "Usage: sluice"
expect_fail 2 "$SLUICE" frobnicate
expect_stderr_contains "unknown command 'frobnicate'"
expect_fail 2 "$SLUICE" --bogus
expect_stderr_contains "unknown option '--bogus'"
expect_fail 2 "$SLUICE" -d
expect_stdout_empty
expect_stderr_contains "'-d'"
expect_fail 2 "$SLUICE" party
expect_stderr_contains "sluice party add"
expect_fail 2 "$SLUICE" party frob
expect_stderr_contains "unknown subcommand 'frob'"
expect_fail 2 "$SLUICE" keys
expect_fail 2 "$SLUICE" keys frob
expect_stderr_contains "unknown subcommand 'frob'"
expect_fail 2 "$SLUICE" init
expect_stderr_contains "missing DIR"
expect_fail 2 "$SLUICE" init "$T/a" "$T/b"
expect_stderr_contains "too many arguments"
expect_fail 2 "$SLUICE" init "$T/a" --bogus
expect_stderr_contains "unknown option '--bogus'"
check "a refused init did not create \$T/a" [ ! -e "$T/a" ]
check "a refused init did not create \$T/b" [ ! -e "$T/b" ]
expect_fail 2 "$SLUICE" init "$T/a" --suite
expect_stderr_contains "'--suite'"
check "a refused init did not create \$T/a" [ ! -e "$T/a" ]

note "the data directory: -d DIR before the command, or SLUICE_DIR"
D="$T/ex"
expect_ok "$SLUICE" init "$D"
for cmd in "party list" "party add x --role buyer --out $T/x.key" "keys status" "keys rotate-master"; do
	# shellcheck disable=SC2086
	expect_fail 2 "$SLUICE" $cmd
	expect_stdout_empty
	expect_stderr_contains "no data directory: give -d DIR before the command, or set SLUICE_DIR"
done
expect_fail 2 env SLUICE_DIR= "$SLUICE" party list
expect_stderr_contains "SLUICE_DIR"
check "no party files were written without a data directory" [ ! -e "$T/x.key" ]
expect_ok "$SLUICE" -d "$D" party list
check "party list through -d shows the platform" grep -q '^platform  *platform ' "$OUT"
expect_ok "$SLUICE" -d"$D" party list
check "party list through -dDIR shows the platform" grep -q '^platform  *platform ' "$OUT"
expect_ok env SLUICE_DIR="$D" "$SLUICE" party list
check "party list through SLUICE_DIR shows the platform" grep -q '^platform  *platform ' "$OUT"
expect_ok env SLUICE_DIR="$T/nowhere" "$SLUICE" -d "$D" keys status
expect_stdout_contains "master key: file master.key, version 1"
expect_fail 1 env SLUICE_DIR="$D" "$SLUICE" -d "$T/nowhere" party list
check "-d wins over SLUICE_DIR" grep -qF "$T/nowhere" "$ERR"
expect_fail 2 "$SLUICE" party list -d "$D"
expect_stderr_contains "unknown option '-d'"
expect_stderr_contains "global options (-d, --passphrase-file) go before the command: sluice -d $D party list"
expect_fail 2 "$SLUICE" -d "$D" keys status --passphrase-file=pw
expect_stderr_contains "global options (-d, --passphrase-file) go before the command: sluice --passphrase-file pw keys status"
expect_fail 2 "$SLUICE" -d "$D" party list --bogus
check "an unknown option that is not a global one gets no hint" sh -c '! grep -q "global options" "$1"' - "$ERR"

note "a directory that is not an exchange"
mkdir "$T/plain"
for dir in "$T/plain" "$T/nowhere"; do
	snap plain "$dir"
	expect_fail 1 "$SLUICE" -d "$dir" party list
	expect_stdout_empty
	expect_stderr_contains "not a Sluice data directory"
	expect_stderr_contains "sluice init $dir"
	expect_fail 1 "$SLUICE" -d "$dir" keys status
	expect_stderr_contains "sluice init"
	same plain "$dir" "opening a non-exchange $dir leaves it as it was"
done

note "--json gives exactly one JSON document"
jsonok() { # CMD...: exit 0, one JSON document, nothing on stderr
	expect_ok "$@"
	json_doc
	expect_stderr_empty
}
jsonok "$SLUICE" init "$T/j" --suite gm --json
json_eq "init --json suite" 'd["suite"]' gm
json_eq "init --json master_key" 'd["master_key"]' file
json_eq "init --json dir" 'd["dir"]' "$T/j"
json_eq "init --json platform_fingerprint" 'd["platform_fingerprint"][:4]' "SM3:"
jsonok "$SLUICE" -d "$T/j" party list --json
json_eq "party list --json" '[p["name"] for p in d["parties"]]' '["platform"]'
jsonok "$SLUICE" -d "$T/j" party add bob --role buyer --out "$T/bob.key" --json
json_eq "party add --json" '[d["name"], d["role"]]' '["bob","buyer"]'
jsonok "$SLUICE" -d "$T/j" keys status --json
json_eq "keys status --json" '[d["source"], d["version"], d["secrets"], d["verified"]]' '["file",1,2,true]'
jsonok "$SLUICE" -d "$T/j" keys rotate-master --json
json_eq "keys rotate-master --json" '[d["version"], d["verified"]]' '[2,true]'
expect_fail 2 "$SLUICE" -d "$T/j" party list --jsonx
expect_fail 2 "$SLUICE" -d "$T/j" party list extra
expect_stderr_contains "too many arguments"
expect_fail 2 "$SLUICE" -d "$T/j" keys status --bogus
expect_stderr_contains "unknown option '--bogus'"
expect_stdout_empty

note "with --json, a failure is one JSON object on stderr; the exit codes stay"
# json_err: $ERR is exactly one JSON document; its error's EXPR over e.
json_err() { # DESC EXPR WANT
	check_eq "$1" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d) == ["error"], "not one error object"
e = d["error"]
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$ERR" "$2" 2>&1 | tail -n 1)" "$3"
}
expect_fail 1 "$SLUICE" -d "$T/j" contract show nope --json
expect_stdout_empty
json_err "a missing contract: code and message" '[e["code"], e["message"]]' '["notfound","no contract nope on this exchange"]'
expect_fail 1 "$SLUICE" -d "$T/nowhere" party list --json
json_err "not an exchange: its code" 'e["code"]' notfound
check "not an exchange: the message names the directory" grep -qF "$T/nowhere" "$ERR"
expect_fail 2 "$SLUICE" -d "$T/j" party list --json --bogus
expect_stdout_empty
json_err "a usage error: code, message, help" '[e["code"], e["message"], e["help"]]' \
	"[\"usage\",\"unknown option '--bogus'\",\"sluice party list --help\"]"
expect_fail 2 "$SLUICE" -d "$T/j" party list --json -d "$T/j"
json_err "a global option after the command: the hint" 'e["hint"]' \
	"global options (-d, --passphrase-file) go before the command: sluice -d $T/j party list"
expect_fail 2 "$SLUICE" contract list --json
json_err "no data directory" 'e["code"] + ": " + e["message"]' \
	"usage: no data directory: give -d DIR before the command, or set SLUICE_DIR"
expect_fail 1 "$SLUICE" -d "$T/j" product add p --schema "$T/no-schema.json" --merchant bob --json
json_err "an unreadable input file" '[e["code"], e["message"]]' "[\"notfound\",\"$T/no-schema.json: no such file\"]"
# Without --json the same failure is a line of text.
expect_fail 1 "$SLUICE" -d "$T/j" contract show nope
check_eq "without --json: the message as text" "$(cat "$ERR")" "sluice: no contract nope on this exchange"

note "a relative data directory: every command, the directory resolved once at start-up"
# Workers get absolute paths; a relative -d DIR or SLUICE_DIR must work just
# the same, from the directory the command runs in.
mkdir "$T/rel" "$T/rel/examples" || fail "mkdir $T/rel/examples"
cp "$top_srcdir/examples/claims.csv" "$top_srcdir/examples/claims.schema.json" \
	"$top_srcdir/examples/claims.terms.json" "$T/rel/examples/" || fail "copy the examples"
cd "$T/rel" || fail "cd $T/rel"
expect_ok "$SLUICE" init x
for p in city-health-bureau:holder ningbo-data-ops:operator acme-merchant:merchant buyer:buyer; do
	expect_ok "$SLUICE" -d x party add "${p%%:*}" --role "${p##*:}" --out "${p%%:*}.key"
done
expect_ok "$SLUICE" -d x party list
expect_stdout_contains "acme-merchant"
expect_ok "$SLUICE" -d x product add claims --schema examples/claims.schema.json \
	--merchant acme-merchant --holder city-health-bureau --operator ningbo-data-ops
expect_ok "$SLUICE" -d x product load claims examples/claims.csv
expect_stdout_contains "Loaded 5000 rows into claims version 1"
expect_ok env SLUICE_DIR=x "$SLUICE" product load claims examples/claims.csv
expect_stdout_contains "Loaded 5000 rows into claims version 2"
expect_ok "$SLUICE" -d ./x/ product list
expect_stdout_contains "claims"
expect_ok "$SLUICE" -d x product show claims
expect_ok "$SLUICE" -d x contract offer --product claims --buyer buyer --terms examples/claims.terms.json --out c.json
for k in city-health-bureau ningbo-data-ops acme-merchant buyer; do
	expect_ok "$SLUICE" contract sign c.json --identity "$k.key"
done
expect_ok "$SLUICE" -d x contract submit c.json
C=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' c.json)
expect_ok "$SLUICE" contract verify c.json --key x/platform.pub
expect_ok "$SLUICE" -d x contract list
expect_stdout_contains "$C"
expect_ok "$SLUICE" -d x contract show "$C"
relquery() {
	expect_ok "$SLUICE" -d x query --contract "$C" --identity buyer.key --json "SELECT sex, COUNT(*) FROM claims GROUP BY sex"
	json_eq "$1: the query counts every row" 'sum(r[1] for r in d["rows"])' 5000
}
relquery "relative -d"
expect_ok "$SLUICE" -d x ledger
expect_ok "$SLUICE" -d x ledger verify
expect_ok "$SLUICE" -d x ledger cap claims --monthly 1000000
expect_ok "$SLUICE" -d x audit show
expect_ok "$SLUICE" -d x audit export --out audit.jsonl
expect_ok "$SLUICE" audit verify audit.jsonl --key x/platform.pub
expect_ok "$SLUICE" -d x keys status
expect_ok "$SLUICE" -d x keys rotate-product claims
relquery "after rotate-product"
expect_ok "$SLUICE" -d x keys rotate-master
relquery "after rotate-master"
expect_ok "$SLUICE" -d x product drop-version claims 1 --json
json_eq "drop-version --json" '[d["product"], d["version"], d["state"]]' '["claims",1,"dropped"]'
expect_ok "$SLUICE" -d x contract revoke "$C" --reason "test over" --json
json_eq "revoke --json" '[d["state"], d["by"], d["reason"]]' '["revoked","platform","test over"]'
check_eq "nothing was made outside x but the files asked for" "$(ls | tr '\n' ' ')" \
	"acme-merchant.crt acme-merchant.key acme-merchant.pub audit.jsonl audit.jsonl.checkpoint.json buyer.crt buyer.key buyer.pub c.json city-health-bureau.crt city-health-bureau.key city-health-bureau.pub examples ningbo-data-ops.crt ningbo-data-ops.key ningbo-data-ops.pub x "
cd "$T" || fail "cd $T"

note "the command table: every synopsis, each command's --help and usage errors"
# `sluice help --synopsis` is the table's own account of every command; each
# command's --help must start with the same synopsis and describe each of its
# options, and an unknown option, an option without its value, a missing
# argument or required option must exit 2 naming it, before any work.
expect_ok "$SLUICE" help --synopsis
expect_stderr_empty
cp "$OUT" "$T/synopsis"
for c in "init DIR" "party add NAME" "product load NAME FILE" "contract offer --product NAME" \
	"query --contract ID" "ledger [--party NAME]" "ledger cap PRODUCT" "audit verify FILE" \
	"keys rotate-master" "help [--synopsis]"; do
	check "help --synopsis has 'sluice $c'" grep -q "^sluice $c" "$T/synopsis"
done
check "help --synopsis has one line a command" [ "$(wc -l <"$T/synopsis")" -ge 26 ]
# One line a check: PATH<TAB>KIND<TAB>WHAT, from each synopsis line.
python3 - "$T/synopsis" >"$T/checks" <<'PY' || fail "cannot read the synopses"
import re, sys
for line in open(sys.argv[1]):
    words = line.split()[1:]
    path = []
    while words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
        path.append(words.pop(0))
    rest = " ".join(words)
    print("%s\thelp\t%s" % (" ".join(path), line.strip()))
    for m in re.finditer(r"(\[)?(--[a-z-]+)( [^][ |]+)?", rest):
        print("%s\topt\t%s" % (" ".join(path), m.group(2)))
        if m.group(3) and not m.group(3).strip().startswith("-"):
            print("%s\tvalue\t%s" % (" ".join(path), m.group(2)))
    # Required: an argument, or an option outside brackets.
    outside = re.sub(r"\[[^]]*\]", "", rest)
    if re.search(r"\S", outside):
        print("%s\trequired\t" % " ".join(path))
PY
while IFS="$(printf '\t')" read -r path kind what; do
	# shellcheck disable=SC2086 # path is words
	case $kind in
	help)
		expect_ok "$SLUICE" $path --help
		expect_stderr_empty
		check_eq "$path --help starts with its synopsis" "$(head -n 1 "$OUT")" "Usage: $what"
		expect_fail 2 "$SLUICE" $path --no-such-option
		expect_stdout_empty
		expect_stderr_contains "sluice $path: unknown option '--no-such-option'"
		expect_stderr_contains "Try 'sluice $path --help'."
		;;
	opt)
		expect_ok "$SLUICE" $path --help
		check "$path --help describes $what" grep -q -- "^  \(-., \)\?$what\( \|$\)" "$OUT"
		;;
	value)
		expect_fail 2 "$SLUICE" $path "$what"
		expect_stdout_empty
		expect_stderr_contains "sluice $path: option '$what' needs a value"
		;;
	required)
		expect_fail 2 "$SLUICE" $path
		expect_stdout_empty
		expect_stderr_contains "sluice $path: missing "
		;;
	esac
done <"$T/checks"
check "the checks cover options and required arguments" \
	[ "$(grep -c "$(printf '\t')value$(printf '\t')" "$T/checks")" -ge 30 ]
expect_fail 2 "$SLUICE" -d "$D" contract offer --product p --buyer b --terms t.json
expect_stderr_contains "sluice contract offer: missing --out C.json"
expect_fail 2 "$SLUICE" -d "$D" product drop-version claims
expect_stderr_contains "sluice product drop-version: missing VERSION"
expect_fail 2 "$SLUICE" -d "$D" product drop-version claims 0
expect_stderr_contains "VERSION '0': must be a number >= 1"
expect_fail 2 "$SLUICE" -d "$D" product add p --schema s.json --merchant m --max-bytes 0
expect_stderr_contains "sluice product add: --max-bytes '0': must be a number of bytes >= 1"
expect_fail 2 "$SLUICE" -d "$D" audit export --out x --from x
expect_stderr_contains "sluice audit export: --from 'x': must be a seq >= 1"
expect_fail 2 "$SLUICE" -d "$D" product load p f.csv --format xml
expect_stderr_contains "--format 'xml': must be csv or jsonl"
expect_fail 2 "$SLUICE" -d "$D" party list --json=yes
expect_stderr_contains "option '--json' takes no value"
expect_fail 2 "$SLUICE" -d "$D" ledger cap claims --monthly 5 --none
expect_stderr_contains "sluice ledger cap: --monthly and --none exclude each other"
expect_fail 2 "$SLUICE" -d "$D" contract show
expect_stderr_contains "sluice contract show: missing ID"
expect_fail 2 "$SLUICE" -d "$D" query --contract c --identity k.key
expect_stderr_contains "sluice query: missing the query text"
# getopt's conventions still hold: --name=value, a unique prefix, "--".
expect_ok "$SLUICE" -d "$D" keys status --js
json_doc
expect_ok "$SLUICE" --passphrase-file=/nonexistent -d "$D" party list
expect_ok "$SLUICE" init -- "$T/dashdash"
check "init -- DIR made DIR" [ -f "$T/dashdash/sluice.db" ]

note "every command that prints has --json"
# but demo, whose walkthrough is for a person (demo.sh reads what it made), and help
"$SLUICE" help --synopsis >"$T/synopsis" || fail "help --synopsis"
check_eq "no command without --json" \
	"$(grep -v -e '^sluice help' -e '^sluice demo' -e -- '--json' "$T/synopsis" | tr '\n' ';')" ""

note "sluice-worker"
expect_ok "$SLUICE_WORKER" --version
check "sluice-worker --version prints its version" grep -q '^sluice-worker [0-9]' "$OUT"
pass
