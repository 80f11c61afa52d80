#!/bin/sh
# A full disk during every operation of the fault loop (tests/faults/diskfull.py):
# the demo's exchange on a 48 MiB tmpfs of its own, filled to 0, 4, 16, 64,
# 256 and 1024 KiB free before each of ingest, contract submit, queries with
# and without a request id, dp queries, key rotation (of a product and of
# the master key) and audit export.  Each succeeds or says the disk is full;
# with the space back every check of the fault loop holds and the operation
# succeeds.  Needs root to mount the tmpfs (it skips otherwise).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need python3
mkdir "$T/small" || fail "mkdir"
mount -t tmpfs -o size=48m tmpfs "$T/small" 2>/dev/null || skip "cannot mount a tmpfs here (not root?)"
trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT
expect_ok "$SLUICE" demo --dir "$T/small/demo" --keep --rows 20000
py_suite "a full disk lost or half-wrote something, or was not reported" tests/faults/diskfull.py --sluice "$SLUICE" --dir "$T/small/demo"
pass
