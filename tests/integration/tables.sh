#!/bin/sh
# Human tables (issue 16): columns as wide as their widest cell, so that the
# long names of `sluice demo`'s exchange (city-health-bureau,
# pacific-insurance) keep every table aligned; ledger lines fit 100 columns.
set -u
. "$(dirname "$0")/lib.sh"
need python3

expect_ok "$SLUICE" demo --rows 20000 --dir "$T/demo"
D="$T/demo/exchange"

aligned() { # DESC ALIGN
	table_aligned "$2" >"$T/why" 2>&1 || { cat "$T/why"; fail "$1 is not aligned"; }
	ok "$1 is aligned"
}

note "contract list: the BUYER column holds pacific-insurance"
expect_ok "$SLUICE" -d "$D" contract list
expect_stdout_contains "pacific-insurance"
aligned "contract list" lllll
check_eq "contract list: a line per contract and the header" "$(wc -l <"$OUT")" 4

note "party list, product list, product show"
expect_ok "$SLUICE" -d "$D" party list
expect_stdout_contains "city-health-bureau"
aligned "party list" llll
expect_ok "$SLUICE" -d "$D" product list
aligned "product list" llrl
expect_ok "$SLUICE" -d "$D" product show claims
sed -n '/^COLUMN/,/^$/p' "$OUT" >"$T/columns"
cp "$T/columns" "$OUT"
expect_stdout_contains "inpatient_days"
aligned "product show's columns" llll

note "audit show: actors and subjects such as city-health-bureau"
expect_ok "$SLUICE" -d "$D" audit show
expect_stdout_contains "city-health-bureau"
aligned "audit show" rlllll

note "ledger: within 100 columns, ids shortened to their first 12 hex digits"
expect_ok "$SLUICE" -d "$D" ledger
expect_stdout_contains "pacific-insurance (buyer)"
widest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$OUT")
check "ledger lines fit 100 columns (widest $widest)" [ "$widest" -le 100 ]
check "entries show c_ and 12 hex digits, q_ and 12" grep -Eq '^  [0-9TZ:-]{20}  c_[0-9a-f]{12}  q_[0-9a-f]{12}  +[-+][0-9]+ fen' "$OUT"
check "no trailing blanks" sh -c '! grep -q " $" "$1"' - "$OUT"
check "the amounts end in one column" python3 -c '
import sys
ends = {l.index(" fen") for l in open(sys.argv[1]) if " fen" in l}
assert len(ends) == 1, ends' "$OUT"
expect_ok "$SLUICE" -d "$D" ledger --json
id=$(json '[e["contract"] for s in d["statements"] for e in s["entries"]][0]')
check_eq "--json keeps the whole id" "${#id}" 34
expect_ok "$SLUICE" -d "$D" ledger
expect_stdout_contains "$(printf '%.14s' "$id")"
pass
