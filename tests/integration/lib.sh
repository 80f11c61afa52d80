#!/bin/sh
# tests/integration/lib.sh -- helpers sourced by the integration scripts.
# Each script runs the real ./sluice in a fresh temporary directory $T.
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
SLUICE="$top_builddir/sluice"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
OUT="$T/.out"; ERR="$T/.err"
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$OUT"; echo "--- stderr"; cat "$ERR"; exit 1; }
note() { echo "== $*"; }
pass() { echo "PASS"; exit 0; }
expect_ok() { "$@" >"$OUT" 2>"$ERR" || fail "expected success: $*"; }
expect_fail() { want=$1; shift; "$@" >"$OUT" 2>"$ERR"; got=$?; [ $got -eq $want ] || fail "expected exit $want, got $got: $*"; }
expect_stdout_contains() { grep -qF -- "$1" "$OUT" || fail "stdout lacks: $1"; }
expect_stderr_contains() { grep -qF -- "$1" "$ERR" || fail "stderr lacks: $1"; }
