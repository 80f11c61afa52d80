#!/bin/sh
# product load's progress display (issue 14): on a terminal, the rows count
# shown while the load runs is the worker's, from its PROGRESS frames (every
# INGEST_PROGRESS_ROWS rows) -- a number the broker, which never parses the
# upload, cannot know otherwise -- and the last line is the published count.
# Nothing of it without a terminal or with --json.  keys rotate-product shows
# its worker's re-sealed bytes the same way.
set -u
. "$(dirname "$0")/lib.sh"
need script
need python3

D="$T/ex"
expect_ok "$SLUICE" init "$D"
expect_ok "$SLUICE" -d "$D" party add acme --role merchant --out "$T/acme.key"
expect_ok "$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" --merchant acme

# 70000 rows: one PROGRESS frame, at row 65536 (sandbox/ingest.h), and no more.
python3 -c '
import sys
lines = open(sys.argv[1]).read().splitlines()
rows = lines[1:]
out = [lines[0]] + [rows[i % len(rows)] for i in range(70000)]
open(sys.argv[2], "w").write("\n".join(out) + "\n")' "$EX/claims.csv" "$T/big.csv"
grep -q '^#define INGEST_PROGRESS_ROWS 65536$' "$top_srcdir/sandbox/ingest.h" ||
	fail "INGEST_PROGRESS_ROWS is not 65536: update this test"

# Under a pseudo-terminal: stdout and stderr both reach it, \r-separated.
tty_load() { # ARGS: product load under script(1), its terminal's output in $OUT
	LAST_CMD="script -qec 'sluice product load $*' /dev/null"
	script -qec "\"$SLUICE\" -d \"$D\" product load $*" /dev/null </dev/null >"$OUT" 2>"$ERR"
}
tty_load claims "$T/big.csv"
rc=$?
check_eq "product load on a terminal exits" "$rc" 0
tr '\r' '\n' <"$OUT" >"$T/lines"
check "the worker's count at its PROGRESS frame is shown" \
	grep -qE "big\.csv: 65536 rows +[0-9.]+% +[0-9.]+ MB +[0-9.]+ MB/s" "$T/lines"
check "the last line is the published count" \
	grep -qE "/big\.csv: 70000 rows, [0-9.]+ MB in [0-9.]+ s" "$T/lines"
check_eq "the PROGRESS line comes first" \
	"$(grep -oE ': (65536|70000) rows' "$T/lines" | tr -d '\n')" ": 65536 rows: 70000 rows"
check "and the result" grep -q "Loaded 70000 rows into claims version 1" "$T/lines"
# Every count the display showed is one the worker sent or published: no broker-side guess.
check_eq "no other count shown" "$(grep -oE '[0-9]+ rows' "$T/lines" | sort -u | tr '\n' ' ')" \
	"65536 rows 70000 rows "

# --json on a terminal: the document only.
tty_load claims "$T/big.csv" --json
check_eq "product load --json on a terminal exits" "$?" 0
tr '\r' '\n' <"$OUT" >"$T/lines"
check "no progress with --json" sh -c "! grep -q 'big.csv:' '$T/lines'"

# Not a terminal: no progress on stderr.
expect_ok "$SLUICE" -d "$D" product load claims "$T/big.csv"
expect_stderr_empty
expect_stdout_contains "Loaded 70000 rows into claims version 3"

note "keys rotate-product on a terminal: the worker's re-sealed bytes, then the totals"
# 400000 rows seal to more than STORE_REKEY_PROGRESS_BYTES (4 MB): a frame or more.
python3 -c '
import sys
lines = open(sys.argv[1]).read().splitlines()
rows = lines[1:]
out = [lines[0]] + [rows[i % len(rows)] for i in range(400000)]
open(sys.argv[2], "w").write("\n".join(out) + "\n")' "$EX/claims.csv" "$T/bigger.csv"
expect_ok "$SLUICE" -d "$D" product load claims "$T/bigger.csv"
LAST_CMD="script -qec 'sluice keys rotate-product claims' /dev/null"
script -qec "\"$SLUICE\" -d \"$D\" keys rotate-product claims" /dev/null </dev/null >"$OUT" 2>"$ERR"
check_eq "keys rotate-product on a terminal exits" "$?" 0
tr '\r' '\n' <"$OUT" >"$T/lines"
check "a PROGRESS line: percentage, MB and MB/s" grep -qE "^claims: +[0-9.]+% +[0-9.]+ MB +[0-9.]+ MB/s" "$T/lines"
check "the last line is the re-sealed count" grep -qE "^claims: 400000 rows, [0-9.]+ MB in [0-9.]+ s" "$T/lines"
check "and the result" grep -q "Rotated the data key of claims: version 5" "$T/lines"
expect_ok "$SLUICE" -d "$D" keys rotate-product claims
expect_stderr_empty
pass
