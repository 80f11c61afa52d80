#!/bin/sh
# The kill -9 fault loop (tests/faults/kill.py): FAULT_KILLS (default 200)
# SIGKILLs of the broker, or of its worker, at random points of ingest,
# contract submission, queries with and without a request id, dp queries,
# key rotation and audit export, on the demo's exchange; after every kill
# the audit log, the ledger, the quota and budget counts, the product's
# versions and the request ids' answers are checked (the script's top
# comment lists the checks).  FAULT_SEED=S replays a run.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need python3
expect_ok "$SLUICE" demo --dir "$T/demo" --keep --rows 20000
set -- --sluice "$SLUICE" --dir "$T/demo" --kills "${FAULT_KILLS:-200}"
[ -n "${FAULT_SEED:-}" ] && set -- "$@" --seed "$FAULT_SEED"
py_suite "the fault loop failed" tests/faults/kill.py "$@"
pass
