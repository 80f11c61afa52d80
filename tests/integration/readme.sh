#!/bin/sh
# The README's Quick start is exactly the two commands .ci/run runs (issue 16).
set -u
. "$(dirname "$0")/lib.sh"

# The first ```sh block after "## Quick start": its non-empty lines.
quickstart() {
	awk '/^## Quick start/ { q = 1; next }
	     q && /^## / { exit }
	     q && /^```sh/ { b = 1; next }
	     b && /^```/ { exit }
	     b && NF { print }' "$1"
}
# QUICKSTART_N='...' in .ci/run, unquoted.
ci_cmd() { sed -n "s/^QUICKSTART_$1='\\(.*\\)'\$/\\1/p" "$top_srcdir/.ci/run"; }

quickstart "$top_srcdir/README.md" >"$T/readme"
check_eq "two commands" "$(wc -l <"$T/readme")" 2
check_eq "command 1" "$(sed -n 1p "$T/readme")" "$(ci_cmd 1)"
check_eq "command 2" "$(sed -n 2p "$T/readme")" "$(ci_cmd 2)"
check_ne "CI runs something" "$(ci_cmd 1)" ""

note "the check sees a README that drifted"
sed 's|^\./bootstrap && \./sluice demo$|./bootstrap \&\& ./sluice party list|' "$top_srcdir/README.md" >"$T/drift.md"
quickstart "$T/drift.md" >"$T/drift"
check_ne "a changed command differs" "$(sed -n 1p "$T/drift")" "$(ci_cmd 1)"
pass
