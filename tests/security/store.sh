#!/bin/sh
# The stores tampered with on disk (tests/security/store.py): STORE_FLIPS
# (default 100) one-byte flips in the sealed records a query reads and as many
# anywhere in the file, chunks swapped and moved, the file cut short, chunks
# and whole files of older versions and of another product replayed.  Every
# one must be refused as an integrity error, audited and uncharged (a flip in
# bytes no reader uses may give the very same answer, never another), and the
# store put back must answer as before.  STORE_SEED=S replays a run.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need python3
need mdb_dump
need mdb_load
expect_ok "$SLUICE" demo --dir "$T/demo" --keep --rows 20000
set -- --sluice "$SLUICE" --dir "$T/demo" --flips "${STORE_FLIPS:-100}"
[ -n "${STORE_SEED:-}" ] && set -- "$@" --seed "$STORE_SEED"
py_suite "an attack on the store was not contained" tests/security/store.py "$@"
pass
