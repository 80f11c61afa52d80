#!/bin/sh
# make install (issue 16): into a staging directory (DESTDIR), sluice in
# bindir, its worker in pkglibexecdir, the manual and the design notes; the
# installed sluice looks for its worker where it was installed (the build
# tree's looks next to itself, which every other test shows).  make
# installcheck (run by make distcheck) runs the demo with an installed tree.
set -u
. "$(dirname "$0")/lib.sh"
[ -n "${sl_bindir:-}" ] || skip "run by make check (it says where things install)"
R="$T/root"

make -s -C "$top_builddir" install DESTDIR="$R" >"$OUT" 2>"$ERR" || fail "make install DESTDIR=$R"
ok "make install DESTDIR=\$T/root"
check "sluice in bindir" [ -x "$R$sl_bindir/sluice" ]
check "the worker in pkglibexecdir" [ -x "$R$sl_pkglibexecdir/sluice-worker" ]
check "no worker in bindir" [ ! -e "$R$sl_bindir/sluice-worker" ]
for p in sluice sluice-product sluice-contract sluice-query sluice-ledger sluice-audit sluice-keys sluice-demo; do
	check "man page $p.1" [ -f "$R$sl_man1dir/$p.1" ]
done
for d in architecture.md privacy.md audit-format.md store-format.md query-language.md contracts.md ledger.md crypto.md openapi.yaml; do
	check "docs/$d in docdir" [ -f "$R$sl_docdir/$d" ]
done

note "the installed sluice runs, and looks for its worker where it was installed"
expect_ok "$R$sl_bindir/sluice" --version
expect_ok "$R$sl_bindir/sluice" init "$T/x"
expect_ok "$R$sl_bindir/sluice" -d "$T/x" party add m --role merchant --out "$T/m.key"
expect_ok "$R$sl_bindir/sluice" -d "$T/x" product add claims --schema "$EX/claims.schema.json" --merchant m
if [ -x "$sl_pkglibexecdir/sluice-worker" ]; then
	skip "a sluice is installed on this machine at $sl_pkglibexecdir: the staged one would use it"
fi
expect_fail 1 "$R$sl_bindir/sluice" -d "$T/x" product load claims "$EX/claims.csv"
expect_stderr_contains "$sl_pkglibexecdir/sluice-worker"
# With the worker named, the staged tree works end to end.
SLUICE_WORKER="$R$sl_pkglibexecdir/sluice-worker"
export SLUICE_WORKER
expect_ok "$R$sl_bindir/sluice" -d "$T/x" product load claims "$EX/claims.csv"
pass
