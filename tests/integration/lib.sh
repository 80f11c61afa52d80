#!/bin/sh
# tests/integration/lib.sh -- helpers sourced by the integration scripts.
#
# Each script runs the real ./sluice in a fresh temporary directory $T that
# is removed on exit.  Run by `make check` (which exports top_builddir and
# top_srcdir), or by hand: `sh tests/integration/init.sh` from anywhere.
#
# Every check prints one line ("ok N: ...") so that a failing log shows the
# checks that passed and then "FAIL: ..." with the command's stdout/stderr.
# Exit status: 0 pass, 1 fail, 77 skip (a missing optional tool).

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
SLUICE="$top_builddir/sluice"
# shellcheck disable=SC2034 # for the scripts that source this
SLUICE_WORKER="$top_builddir/sluice-worker"
# shellcheck disable=SC2034
EX="$top_srcdir/examples"
# The tests say where the exchange is; a developer's environment must not.
unset SLUICE_DIR SLUICE_PASSPHRASE_FILE
# The per-contract rate limit is tested on its own (hostile.sh); the other
# scripts send bursts of queries.
SLUICE_QUERY_RATE=100000
export SLUICE_QUERY_RATE
LC_ALL=C
export LC_ALL

if [ ! -x "$SLUICE" ]; then
	echo "FAIL: $SLUICE is not built (run make)"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test.XXXXXX") || {
	echo "FAIL: mktemp -d"
	exit 1
}
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE
OUT="$T/.out"
ERR="$T/.err"
: >"$OUT"
: >"$ERR"
LAST_CMD=""
_checks=0

# $T and the build directory shortened in messages, for readable logs.
_sed_quote() { printf '%s' "$1" | sed 's/[][\.*^$|/&]/\\&/g'; }
_T_RE=$(_sed_quote "$T")
_B_RE=$(_sed_quote "$top_builddir/")
_show() { printf '%s' "$*" | sed "s|$_T_RE|\$T|g; s|$_B_RE||g"; }

note() { echo "== $*"; }
skip() {
	echo "SKIP: $*"
	exit 77
}
pass() {
	echo "PASS ($_checks checks)"
	exit 0
}
ok() {
	_checks=$((_checks + 1))
	echo "ok $_checks: $(_show "$*")"
}
fail() {
	echo "FAIL: $(_show "$*")"
	if [ -n "$LAST_CMD" ]; then
		echo "--- last command: $(_show "$LAST_CMD")"
		echo "--- stdout"
		head -n 40 "$OUT"
		echo "--- stderr"
		head -n 40 "$ERR"
	fi
	exit 1
}

# Is a tool on PATH?  need TOOL: skip the whole script without it.
have() { command -v "$1" >/dev/null 2>&1; }
need() { have "$1" || skip "$1 not found"; }

# Run CMD..., keeping stdout in $OUT and stderr in $ERR.
run() {
	LAST_CMD="$*"
	"$@" >"$OUT" 2>"$ERR"
}
expect_ok() {
	run "$@"
	_rc=$?
	[ $_rc -eq 0 ] || fail "expected exit 0, got $_rc: $*"
	ok "exit 0: $*"
}
# expect_fail CODE CMD...: the exact exit status.
expect_fail() {
	_want=$1
	shift
	run "$@"
	_rc=$?
	[ $_rc -eq "$_want" ] || fail "expected exit $_want, got $_rc: $*"
	ok "exit $_want: $*"
}
expect_stdout_contains() {
	grep -qF -- "$1" "$OUT" || fail "stdout lacks: $1"
	ok "stdout has: $1"
}
expect_stderr_contains() {
	grep -qF -- "$1" "$ERR" || fail "stderr lacks: $1"
	ok "stderr has: $1"
}
expect_stdout_empty() {
	[ ! -s "$OUT" ] || fail "stdout not empty"
	ok "stdout empty"
}
expect_stderr_empty() {
	[ ! -s "$ERR" ] || fail "stderr not empty"
	ok "stderr empty"
}

# py_suite WHAT SCRIPT ARGS...: the Python suite tests/.../SCRIPT run, its
# report shown; the script fails with WHAT unless it exits 0, and the
# report's last line is the check.
py_suite() {
	_what=$1 _py=$2
	shift 2
	LAST_CMD="python3 $_py $*"
	python3 "$top_srcdir/$_py" "$@" >"$OUT" 2>"$ERR"
	_rc=$?
	cat "$OUT"
	[ $_rc -eq 0 ] || fail "$_what (exit $_rc)"
	ok "$(tail -n 1 "$OUT")"
}

# check DESC CMD...: CMD must succeed (a test, a cmp, a grep...).
check() {
	_desc=$1
	shift
	"$@" >/dev/null || fail "$_desc"
	ok "$_desc"
}
# check_eq DESC GOT WANT: exact string equality.
check_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	ok "$1 = '$3'"
}
# check_ne DESC A B: the two differ.
check_ne() {
	[ "$2" != "$3" ] || fail "$1: both are '$2'"
	ok "$1"
}

mode() { stat -c %a "$1"; }

# json_doc: $OUT is exactly one JSON document (nothing before or after).
json_doc() {
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" 2>"$T/.jsonerr" ||
		fail "stdout is not one JSON document: $(tail -n 1 "$T/.jsonerr")"
	ok "stdout is one JSON document"
}
# json EXPR: the Python expression EXPR over d (the document in $OUT),
# printed as compact JSON (strings without quotes).
json() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$OUT" "$1" 2>"$T/.jsonerr" ||
		echo "<json error: $(tail -n 1 "$T/.jsonerr")>"
}
# json_eq DESC EXPR WANT
json_eq() { check_eq "$1" "$(json "$2")" "$3"; }

# table_aligned ALIGN [FILE]: the lines of FILE (default $OUT) are one table
# whose cells are two or more spaces apart: every line's Nth cell starts (for
# ALIGN's Nth letter 'l') or ends ('r') at the same column as on the others.
# A line may stop early (empty cells at its end).  Prints what is misaligned.
table_aligned() {
	python3 -c '
import re, sys
align, lines = sys.argv[1], [l.rstrip("\n") for l in open(sys.argv[2]) if l.strip()]
at = {}
for n, line in enumerate(lines, 1):
    cells = [(m.start(), m.end()) for m in re.finditer(r"\S+(?: \S+)*", line)]
    if len(cells) > len(align):
        sys.exit("line %d has %d cells, not %d: %s" % (n, len(cells), len(align), line))
    for i, (s, e) in enumerate(cells):
        pos = s if align[i] == "l" else e
        if at.setdefault(i, (pos, n))[0] != pos:
            sys.exit("cell %d of line %d is at %d, on line %d at %d:\n%s\n%s"
                     % (i + 1, n, pos, at[i][1], at[i][0], lines[at[i][1] - 1], line))' "$1" "${2:-$OUT}"
}

# SQL on a catalog, with the sqlite3 shell or else Python's sqlite3 module.
have_sql() { have sqlite3 || python3 -c 'import sqlite3' >/dev/null 2>&1; }
sql() { # DB STATEMENT: rows as "a|b" lines
	if have sqlite3; then
		sqlite3 "$1" "$2"
	else
		python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
for row in c.execute(sys.argv[2]):
    print("|".join("" if x is None else str(x) for x in row))
c.close()' "$1" "$2"
	fi
}
# The catalog's whole content (schema, rows, user_version), for comparisons.
db_dump() {
	[ -f "$1" ] || return 0
	if have sqlite3; then
		sqlite3 "$1" .dump 'PRAGMA user_version'
	elif have_sql; then
		python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
for line in c.iterdump():
    print(line)
print(c.execute("PRAGMA user_version").fetchone()[0])
c.close()' "$1"
	fi
}
# The schema version this build writes.
schema_version() {
	sed -n 's/^#define DB_SCHEMA_VERSION \([0-9][0-9]*\).*/\1/p' "$top_srcdir/broker/db.h"
}

# tree_snapshot DIR: a text that changes when anything under DIR changes:
# every entry's path, type and mode (and size, but not for directories,
# which grow and never shrink), every regular file's SHA-256, and the
# catalog's content.  sluice.db's bytes are left out when its content
# can be dumped (every command that opens it commits a schema check, which
# bumps SQLite's change counter); its WAL and shared-memory files are
# SQLite's business.  A missing DIR gives "absent".
tree_snapshot() {
	if [ ! -e "$1" ] && [ ! -L "$1" ]; then
		echo absent
		return 0
	fi
	if [ -L "$1" ] || [ ! -d "$1" ]; then
		stat -c '%F %a %s' "$1"
		if [ -L "$1" ]; then readlink "$1"; else sha256sum <"$1"; fi
		return 0
	fi
	(
		cd "$1" || exit 1
		echo ". d $(stat -c %a .)"
		{
			find . -mindepth 1 -type d -printf '%P d %m\n'
			find . -mindepth 1 ! -type d -printf '%P %y %m %s %l\n'
		} | grep -v '^sluice\.db-\(wal\|shm\) ' | sort
		find . -type f ! -name sluice.db ! -name sluice.db-wal ! -name sluice.db-shm \
			-printf '%P\n' | sort | while IFS= read -r f; do
			sha256sum "$f"
		done
	) | if have_sql; then sed 's/^\(sluice\.db f [0-7]*\) [0-9]* $/\1/'; else cat; fi
	db_dump "$1/sluice.db"
}
# snap NAME DIR / same NAME DIR DESC: save a snapshot, later compare.
snap() { tree_snapshot "$2" >"$T/.snap.$1"; }
same() {
	tree_snapshot "$2" >"$T/.snap.$1.now"
	if ! cmp -s "$T/.snap.$1" "$T/.snap.$1.now"; then
		echo "--- changes:"
		diff "$T/.snap.$1" "$T/.snap.$1.now" | head -n 40
		fail "$3"
	fi
	ok "$3"
}

# The suite's fingerprint of a PEM public key file: "SHA256:hex" or "SM3:hex".
fingerprint() { # SUITE FILE.pub
	if [ "$1" = intl ]; then
		echo "SHA256:$(openssl pkey -pubin -in "$2" -outform DER | sha256sum | cut -d' ' -f1)"
	else
		echo "SM3:$(openssl pkey -pubin -in "$2" -outform DER | openssl dgst -sm3 -r | cut -d' ' -f1)"
	fi
}

# ---- contracts on the sample claims (query.sh, ledger.sh, dp.sh) ----------
# Their parties: city-health-bureau, ningbo-data-ops, acme-merchant and buyer,
# with keys $T/$suite-NAME.key; $EX is the examples directory, $D the exchange.

# exchange [NAME:ROLE...]: $D made for $suite, with the four parties of a
# contract and any others given; keys in $T/$suite-NAME.key.
exchange() {
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	for _p in city-health-bureau:holder ningbo-data-ops:operator acme-merchant:merchant buyer:buyer "$@"; do
		expect_ok "$SLUICE" -d "$D" party add "${_p%%:*}" --role "${_p##*:}" --out "$T/$suite-${_p%%:*}.key"
	done
}
# claims_product [FILE]: the claims product listed, and FILE (default: the
# sample) loaded.
claims_product() {
	expect_ok "$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" \
		--merchant acme-merchant --holder city-health-bureau --operator ningbo-data-ops
	expect_ok "$SLUICE" -d "$D" product load claims "${1:-$EX/claims.csv}"
}
terms() { # FILE PYTHON-EDIT: the shipped terms with an edit applied to t
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(t, open(sys.argv[2], "w"))' "$EX/claims.terms.json" "$1" "$2"
}

contract() { # TERMS OUT: offered, signed by all, submitted; prints the id
	"$SLUICE" -d "$D" contract offer --product claims --buyer buyer --terms "$1" --out "$2" >/dev/null || fail "offer $1"
	for k in city-health-bureau ningbo-data-ops acme-merchant buyer; do
		"$SLUICE" contract sign "$2" --identity "$T/$suite-$k.key" >/dev/null || fail "sign $k"
	done
	"$SLUICE" -d "$D" contract submit "$2" >/dev/null || fail "submit $2"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$2"
}
# json_file FILE EXPR: json EXPR over the document in FILE instead of $OUT.
json_file() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$1" "$2"
}
