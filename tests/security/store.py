#!/usr/bin/env python3
# tests/security/store.py -- the encrypted stores tampered with on disk.
#
#   store.py --sluice BIN --dir D [--flips N] [--seed S]
#
# D holds a demo exchange (`sluice demo --keep`) whose claims product gets
# three versions, each under a data key of its own: 1 (the demo's), 2 (the
# same file loaded again) and 3 (2 re-encrypted by keys rotate-product: the
# same rows as 2, so a chunk of 2 is the very plaintext it replaces).
# A fixed query reads the current version (3); each attack changes its
# data.mdb (docs/store-format.md), the query runs, and the file is put back:
#
#   flip-value   one byte of a sealed record the query reads (a chunk of a
#                column it names, a dictionary part, the manifest), XORed
#                with a random nonzero byte
#   flip-any     one byte anywhere in the file (LMDB's pages, free space, the
#                chunks of columns the query does not read)
#   swap         a chunk the query reads exchanged with another record
#   move         a chunk copied over another record the query reads
#   truncate     the file cut short
#   replay-chunk a chunk of version 2, or of version 1, in place of the same
#                chunk of version 3
#   replay-file  version 2's whole file (and version 1's) as version 3's
#   foreign      a chunk, and the whole file, of the imaging product
#
# Each must end in a refusal whose message names the store's integrity (or,
# for a flip in bytes a reader never looks at, in the very answer the
# untouched store gives -- never in another one), with a query.failed event
# and no charge; and after the file is put back the same query answers as
# before.  Uses mdb_dump and mdb_load (Debian's lmdb-utils) to rewrite
# chunks.  Prints the table; exit 0 when every attack was contained.
import argparse
import collections
import json
import os
import random
import shutil
import subprocess
import sys

QUERY = "SELECT region, sex, COUNT(*), SUM(claim_fen) FROM claims GROUP BY region, sex"


class Failure(Exception):
    pass


class Ex:
    def __init__(self, sluice, d):
        self.sluice, self.d = sluice, d
        self.x = os.path.join(d, "exchange")
        self.env = dict(os.environ, SLUICE_QUERY_RATE="100000")

    def run(self, *args, ok=True):
        p = subprocess.run([self.sluice, "-d", self.x] + list(args), capture_output=True, text=True,
                           env=self.env)
        if ok and p.returncode != 0:
            raise Failure("exit %d: sluice %s\n%s" % (p.returncode, " ".join(args), p.stderr[-1500:]))
        return p

    def json(self, *args):
        return json.loads(self.run(*args, "--json").stdout)

    def store(self, product, version):
        return os.path.join(self.x, "stores", product, str(version), "data.mdb")


def dump(path):
    """The store's records as [(key bytes, value bytes)], by mdb_dump."""
    p = subprocess.run(["mdb_dump", "-n", path], capture_output=True, text=True)
    if p.returncode != 0:
        raise Failure("mdb_dump %s: %s" % (path, p.stderr))
    lines = p.stdout.splitlines()
    body = lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]
    return [(bytes.fromhex(body[i].strip()), bytes.fromhex(body[i + 1].strip())) for i in range(0, len(body), 2)]


def load(path, records):
    """A new LMDB file at path holding exactly records (mdb_load)."""
    text = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"
    text += "".join(" %s\n %s\n" % (k.hex(), v.hex()) for k, v in records) + "DATA=END\n"
    tmp = path + ".new"
    if os.path.exists(tmp):
        os.unlink(tmp)
    p = subprocess.run(["mdb_load", "-n", tmp], input=text, capture_output=True, text=True)
    if p.returncode != 0:
        raise Failure("mdb_load: %s" % p.stderr)
    os.replace(tmp, path)
    lock = tmp + "-lock"
    if os.path.exists(lock):
        os.unlink(lock)


class Suite:
    def __init__(self, ex, rng):
        self.ex, self.rng = ex, rng
        self.table = collections.Counter()
        self.n = 0

    def setup(self):
        ex = self.ex
        ex.run("product", "load", "claims", os.path.join(ex.d, "claims.csv"))
        ex.run("keys", "rotate-product", "claims")
        vs = ex.json("product", "show", "claims")["versions"]
        if [v["version"] for v in vs] != [1, 2, 3]:
            raise Failure("the versions are not as the attacks need: %s" % vs)
        self.contract = [c["id"] for c in ex.json("contract", "list")["contracts"]
                         if c["product"] == "claims" and c["purpose"] != "public_welfare"][0]
        self.key = os.path.join(ex.d, "pacific-insurance.key")
        self.target = ex.store("claims", 3)
        self.original = open(self.target, "rb").read()
        self.records = dump(self.target)
        self.v2 = dict(dump(ex.store("claims", 2)))
        self.v1 = dict(dump(ex.store("claims", 1)))
        self.imaging = dump(ex.store("imaging", 1))
        self.baseline = self.query()
        if self.baseline[0] != 0:
            raise Failure("the untouched store does not answer: %s" % self.baseline[1])
        # Where the sealed records the query reads lie in the file: a flip there must be caught.
        self.read = [i for i, (k, v) in enumerate(self.records) if reads(k)]
        self.value_spans = []
        for i in self.read:
            v = self.records[i][1]
            at = self.original.find(v[:32])
            if at >= 0 and len(v) > 32:
                self.value_spans.append((at, len(v)))
        if len(self.value_spans) < len(self.read) // 2 or not self.value_spans:
            raise Failure("found only %d of %d records in the file" % (len(self.value_spans), len(self.read)))

    def query(self):
        p = self.ex.run("query", "--contract", self.contract, "--identity", self.key, "--json", QUERY, ok=False)
        if p.returncode == 0:
            doc = json.loads(p.stdout)
            return 0, {k: doc[k] for k in ("columns", "rows", "suppressed_groups", "version")}
        return p.returncode, p.stderr.strip()

    def counts(self):
        released = failed = 0
        for e in self.ex.json("audit", "show")["events"]:
            if e["action"] == "query.released":
                released += 1
            elif e["action"] == "query.failed":
                failed += 1
        txns = {e["transaction"] for s in self.ex.json("ledger")["statements"] for e in s["entries"]}
        return released, failed, len(txns)

    def put_back(self):
        os.chmod(self.target, 0o600)
        with open(self.target, "wb") as f:
            f.write(self.original)
        os.chmod(self.target, 0o400)

    def attack(self, kind, change, may_pass=False):
        """Apply change() to the target, query, judge, put the file back."""
        before = self.counts()
        os.chmod(self.target, 0o600)
        change()
        os.chmod(self.target, 0o400)
        rc, got = self.query()
        after = self.counts()
        self.put_back()
        self.n += 1
        if rc == 0:
            if not may_pass or got != self.baseline[1]:
                raise Failure("%s: answered %s" % (kind, json.dumps(got)[:300]))
            if after[0] != before[0] + 1 or after[2] != before[2] + 1:
                raise Failure("%s: answered but not charged once: %s -> %s" % (kind, before, after))
            self.table[(kind, "same answer (bytes no reader uses)")] += 1
        else:
            if "integrity" not in got and "store" not in got:
                raise Failure("%s: refused without naming the store: %s" % (kind, got))
            if after != (before[0], before[1] + 1, before[2]):
                raise Failure("%s: refused, but events/charges went %s -> %s" % (kind, before, after))
            self.table[(kind, "refused: " + reason(got))] += 1
        rc, got = self.query()
        if rc != 0 or got != self.baseline[1]:
            raise Failure("%s: the store put back does not answer as before: %s" % (kind, got))

    def flip(self, offset):
        def change():
            b = bytearray(self.original)
            b[offset] ^= self.rng.randrange(1, 256)
            with open(self.target, "wb") as f:
                f.write(b)
        return change

    def records_with(self, edit):
        def change():
            recs = list(self.records)
            edit(recs)
            load(self.target, recs)
        return change

    def run(self, flips):
        rng = self.rng
        for _ in range(flips):
            at, n = rng.choice(self.value_spans)
            self.attack("flip-value", self.flip(at + rng.randrange(n)))
        for _ in range(flips):
            self.attack("flip-any", self.flip(rng.randrange(len(self.original))), may_pass=True)
        chunks = [i for i in self.read if len(self.records[i][1]) > 32]
        for _ in range(20):
            i = rng.choice(chunks)
            j = rng.choice([j for j in range(len(self.records)) if j != i])

            def swap(recs, i=i, j=j):
                recs[i], recs[j] = (recs[i][0], recs[j][1]), (recs[j][0], recs[i][1])
            self.attack("swap", self.records_with(swap))

            # over a record the query reads, which must then fail to open
            k = rng.choice([k for k in self.read if k != i])

            def move(recs, i=i, k=k):
                recs[k] = (recs[k][0], recs[i][1])
            self.attack("move", self.records_with(move))
        for cut in (0, 4096, len(self.original) // 2, len(self.original) - 1):
            def truncate(cut=cut):
                with open(self.target, "wb") as f:
                    f.write(self.original[:cut])
            self.attack("truncate", truncate)
        for name, other in (("version 2", self.v2), ("version 1", self.v1)):
            keys = [self.records[i][0] for i in chunks if self.records[i][0] in other]
            for k in rng.sample(keys, min(10, len(keys))):
                def replay(recs, k=k, other=other):
                    recs[:] = [(kk, other[k] if kk == k else v) for kk, v in recs]
                self.attack("replay-chunk from " + name, self.records_with(replay))
        for name, version in (("version 2", 2), ("version 1", 1)):
            src = self.ex.store("claims", version)
            self.attack("replay-file from " + name, lambda src=src: shutil.copyfile(src, self.target))
        mine = dict(self.records)
        shared = [k for k, v in self.imaging if k in mine and reads(k) and len(v) > 32]
        for k in rng.sample(shared, min(10, len(shared))):
            theirs = dict(self.imaging)[k]

            def foreign(recs, k=k, theirs=theirs):
                recs[:] = [(kk, theirs if kk == k else v) for kk, v in recs]
            self.attack("foreign chunk (imaging)", self.records_with(foreign))
        self.attack("foreign file (imaging)", lambda: shutil.copyfile(self.ex.store("imaging", 1), self.target))


# The columns of claims QUERY reads: member_id (the unit), sex, region, claim_fen.
READ_COLUMNS = {0, 2, 3, 6}


def reads(key):
    """Whether QUERY opens the record under key: a chunk or a dictionary part
    of a column it reads, or the manifest."""
    column = int.from_bytes(key[:4], "big")
    return column == 0xFFFFFFFF or (column & 0x7FFFFFFF) in READ_COLUMNS


def reason(err):
    """The broker's words, from its JSON error document, the query id left out."""
    try:
        msg = json.loads(err)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        msg = err
    i = msg.find("failed: ")
    return (msg[i + 8:] if i >= 0 else msg)[:80]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--flips", type=int, default=100)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    print("seed %d (rerun with --seed %d)" % (seed, seed))
    s = Suite(Ex(a.sluice, a.dir), random.Random(seed))
    try:
        s.setup()
        s.run(a.flips)
    except Failure as e:
        print("FAIL after %d attacks: %s" % (s.n, e))
        return 1
    for (kind, outcome), n in sorted(s.table.items()):
        print("%5d  %-34s %s" % (n, kind, outcome))
    print("%d attacks on the store, all contained" % s.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
