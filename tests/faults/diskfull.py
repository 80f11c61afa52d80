#!/usr/bin/env python3
# tests/faults/diskfull.py -- a full disk in the middle of the exchange's work.
#
#   diskfull.py --sluice BIN --dir D
#
# D is a demo exchange (`sluice demo --keep`) on a small filesystem of its
# own (a tmpfs, mounted by diskfull.sh).  For every operation of the fault
# loop (tests/faults/kill.py: ingest, contract submit, queries with and
# without a request id, dp queries, key rotation, audit export) and for each
# of several amounts of free space, from none to more than the operation
# needs, a filler file takes all the rest; the operation runs; the filler
# goes.  The operation must succeed, or fail with a message that says the
# disk is full (or that nothing was loaded), and leave no file behind at an
# export's --out.  Then, with the space back, kill.py's checks all hold
# (audit export and verify, --since the last checkpoint, ledger verify,
# released = transactions = quota used, budgets, versions, one answer per
# request id) and the same operation succeeds.  Prints a table; exit 0 when
# every check held.
import argparse
import collections
import os
import subprocess
import sys
import random

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kill  # noqa: E402

FREE_KIB = [0, 4, 16, 64, 256, 1024]
FULL_WORDS = ("disk is full", "No space left on device", "nothing loaded", "MDB_MAP_FULL")


class Filler:
    def __init__(self, d):
        self.path = os.path.join(d, "filler")

    def leave(self, kib):
        """Take every free byte of the filesystem but kib KiB."""
        self.free()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            for block in (1 << 20, 4096):
                try:
                    while True:
                        os.write(fd, b"\0" * block)
                except OSError:
                    pass
        finally:
            os.close(fd)
        size = os.path.getsize(self.path)
        os.truncate(self.path, max(0, size - kib * 1024))

    def free(self):
        if os.path.exists(self.path):
            os.unlink(self.path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    loop = kill.Loop(kill.Exchange(a.sluice, a.dir), random.Random(20))
    filler = Filler(a.dir)
    table = collections.Counter()
    n = 0
    try:
        loop.setup()
        loop.invariants()
        for kib in FREE_KIB:
            for op in kill.OPS:
                argv, ctx = loop.op_argv(op)
                filler.leave(kib)
                p = subprocess.run(argv, capture_output=True, text=True, env=loop.ex.env)
                leftover = op == "export" and (os.path.exists(ctx) or os.path.exists(ctx + ".checkpoint.json"))
                filler.free()
                n += 1
                if p.returncode == 0:
                    table[(op, "succeeded")] += 1
                else:
                    said = kill.said(p.stderr)
                    if p.returncode < 0 or not any(w in p.stderr for w in FULL_WORDS):
                        raise kill.Failure("%s with %d KiB free: exit %d, and the message does not say the disk "
                                           "is full: %s" % (op, kib, p.returncode, p.stderr[-800:]))
                    if leftover:
                        raise kill.Failure("export with %d KiB free failed but left %s" % (kib, ctx))
                    table[(op, "refused: " + said.split(": ", 1)[-1][:70])] += 1
                loop.after(op, ctx, p.returncode, p.stdout, p.stderr)
                loop.invariants()
                argv, ctx = loop.op_argv(op)
                q = subprocess.run(argv, capture_output=True, text=True, env=loop.ex.env)
                if q.returncode != 0:
                    raise kill.Failure("%s with the space back: %s" % (op, q.stderr[-800:]))
                loop.after(op, ctx, q.returncode, q.stdout, q.stderr)
        loop.invariants()
        loop.daemon.stop()
    except kill.Failure as e:
        filler.free()
        print("FAIL after %d full-disk runs: %s" % (n, e))
        return 1
    finally:
        # The fault loop's setup starts a daemon: it must not outlive the test.
        if getattr(loop, "daemon", None) is not None and loop.daemon.alive():
            loop.daemon.proc.kill()
    for (op, what), k in sorted(table.items()):
        print("%4d  %-14s %s" % (k, op, what))
    print("%d operations on a full disk (%s KiB free), every check held after each"
          % (n, ", ".join(map(str, FREE_KIB))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
