#!/usr/bin/env python3
"""Rewrite one audit event in a catalog as an attacker with write access to
sluice.db would: drop the append-only trigger, edit the event's bytes, and
(unless told not to) recompute its leaf hash and the stored RFC 6962
frontier, so that the database is consistent with itself.

usage: audit_rewrite.py DB SUITE WHICH OLD NEW [--no-leaf] [--no-frontier]

WHICH is an event seq or an SQL condition on audit_events ("action = ...").
OLD is replaced by NEW once in the event's bytes; it must occur.
"""
import hashlib
import sqlite3
import subprocess
import sys


def h(suite, data):
    if suite == "intl":
        return hashlib.sha256(data).digest()
    try:
        return hashlib.new("sm3", data).digest()
    except ValueError:
        out = subprocess.run(["openssl", "dgst", "-sm3", "-binary"], input=data,
                             capture_output=True, check=True).stdout
        return out


def mth(suite, leaves):
    """RFC 6962 Merkle tree hash of a list of leaf hashes (non-empty)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return h(suite, b"\x01" + mth(suite, leaves[:k]) + mth(suite, leaves[k:]))


def frontier(suite, leaves):
    """The roots of the perfect subtrees of the log, largest first."""
    roots, at, n = [], 0, len(leaves)
    for bit in reversed(range(64)):
        if n & (1 << bit):
            roots.append(mth(suite, leaves[at:at + (1 << bit)]))
            at += 1 << bit
    return b"".join(roots)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    db, suite, which, old, new = args
    where = "seq = %d" % int(which) if which.isdigit() else which
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    rows = c.execute("SELECT seq, event FROM audit_events WHERE " + where).fetchall()
    if len(rows) != 1:
        sys.exit("audit_rewrite: %d events match %s" % (len(rows), where))
    seq, event = rows[0]
    event = bytes(event)
    if old.encode() not in event:
        sys.exit("audit_rewrite: event %d lacks %r" % (seq, old))
    event = event.replace(old.encode(), new.encode(), 1)
    c.execute("BEGIN")
    c.execute("UPDATE audit_events SET event = ? WHERE seq = ?", (event, seq))
    if "--no-leaf" not in flags:
        c.execute("UPDATE audit_events SET leaf = ? WHERE seq = ?",
                  (h(suite, b"\x00" + event), seq))
    if "--no-frontier" not in flags:
        leaves = [bytes(r[0]) for r in c.execute("SELECT leaf FROM audit_events ORDER BY seq")]
        c.execute("UPDATE audit_tree SET frontier = ? WHERE id = 1", (frontier(suite, leaves),))
    c.execute("COMMIT")
    c.close()
    print(seq)


main()
