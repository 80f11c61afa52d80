#!/bin/sh
# The manual (issue 16): a page per command, made from the same tables as
# --help (`sluice help --man`, kept in docs/ by `make man`), so each page is
# what the binary makes, lints clean with mandoc, and documents exactly the
# options each command's --help lists.
set -u
. "$(dirname "$0")/lib.sh"
need mandoc
DOCS="$top_srcdir/docs"

# The long options of one command as --help lists them, sorted.
help_opts() { "$SLUICE" "$@" --help | sed -n 's/^  \(-[a-z], \)\{0,1\}\(-\{1,2\}[a-z][a-z-]*\).*/\2/p' | sort -u; }
# The same for the command's section (.SS "sluice PATH") of page FILE.
man_opts() { # FILE PATH
	awk -v want="sluice $2" '
		/^\.SS / { s = $0; sub(/^\.SS "/, "", s); sub(/"$/, "", s); gsub(/\\-/, "-", s); in_cmd = (s == want); next }
		/^\.SH / { in_cmd = 0 }
		in_cmd && prev == ".TP" && /^\.B / { o = $0; sub(/^\.B /, "", o); gsub(/\\-/, "-", o); print o }
		{ prev = $0 }' "$1" |
		sed -n 's/^\(-[a-z], \)\{0,1\}\(-\{1,2\}[a-z][a-z-]*\).*/\2/p' | sort -u
}

note "every page is what the binary makes, and lints clean"
for p in sluice sluice-init sluice-party sluice-product sluice-contract sluice-query \
	sluice-ledger sluice-budget sluice-audit sluice-keys sluice-demo; do
	"$SLUICE" help --man "$p" >"$T/$p.1" || fail "help --man $p"
	cmp -s "$T/$p.1" "$DOCS/$p.1" || fail "docs/$p.1 is not what \`sluice help --man $p\` makes: run make man"
	ok "docs/$p.1 is current"
	mandoc -Tlint -Wwarning "$DOCS/$p.1" >"$T/lint" 2>&1
	check_eq "docs/$p.1 lints clean" "$(cat "$T/lint")" ""
done
expect_fail 2 "$SLUICE" help --man sluice-nonesuch
expect_stderr_contains "--man sluice-nonesuch: no such page"

note "every command's --help and its page list the same options"
"$SLUICE" help --synopsis | sed -n 's/^sluice \([a-z-]*\)\( \([a-z][a-z-]*\)\)\{0,1\}.*/\1 \3/p' |
	while read -r group sub; do
		# "sluice query --contract ..." has no subcommand: the second word is an option
		case "$sub" in "" | [A-Z]*) sub="" ;; esac
		[ "$group" = help ] && continue
		path="$group${sub:+ $sub}"
		page="$DOCS/sluice-$group.1"
		# shellcheck disable=SC2086 # path is words
		help_opts $path | grep -v -e '^--help$' -e '^-h$' >"$T/h" || true
		man_opts "$page" "$path" | grep -v -e "^--help$" >"$T/m"
		if ! cmp -s "$T/h" "$T/m"; then
			echo "FAIL: sluice $path: --help and $page differ:"
			diff "$T/h" "$T/m"
			exit 1
		fi
		[ -s "$T/h" ] || [ "$path" = "ledger verify" ] || [ "$path" = "keys status" ] ||
			{ echo "FAIL: sluice $path: no options found"; exit 1; }
		echo "ok: sluice $path: $(tr '\n' ' ' <"$T/h")"
	done || fail "a page differs from --help"
ok "every command matches its page"

note "the comparison sees a page that lost an option"
grep -v -x '\.B \\-\\-reason TEXT' "$DOCS/sluice-contract.1" >"$T/lost.1"
man_opts "$T/lost.1" "contract revoke" | grep -v -e "^--help$" >"$T/m"
help_opts contract revoke | grep -v -e '^--help$' -e '^-h$' >"$T/h"
check "a missing --reason differs" sh -c "! cmp -s '$T/h' '$T/m'"
pass
