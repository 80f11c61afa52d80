#!/usr/bin/env python3
# tests/faults/kill.py -- SIGKILL at random points, and what must survive it.
#
#   kill.py --sluice BIN --dir D [--kills N] [--seed S]
#
# D holds a demo exchange (`sluice demo --keep`): D/exchange, the parties'
# keys D/NAME.key, the sample files.  The loop picks an operation and a
# victim (the pair with the fewest kills so far), starts the operation, and
# kills the victim with SIGKILL after a random delay drawn from the
# operation's own measured duration:
#
#   ingest      product load of a 20,000-row file (broker or worker)
#   submit      contract submit of a fully signed contract (broker)
#   query       a threshold query without a request id (broker or worker)
#   query-rid   the same with a fresh request id, then retried (broker or worker)
#   dp          a dp query, budget charged, with or without a request id (broker or worker)
#   rotate      keys rotate-product: the store re-encrypted (broker or worker)
#   rotate-master  keys rotate-master (broker)
#   export      audit export to a file (broker)
#   serve-query POST /v1/queries to `sluice serve` with an Idempotency-Key,
#               then retried twice (the daemon, restarted after its kill, or
#               the worker running the job, one of the daemon's pre-started
#               ones; the daemon's other workers must not outlive it)
#
# The broker is the `sluice` process; the worker is its child
# (sluice-worker), found in /proc.  Only kills that land (the victim was
# alive and died of the signal) count.  After every kill, what the killed
# operation could have broken (everything, over a whole export, at the
# start, after every 50th kill and at the end):
#
#   - a fresh export --since the previous check's checkpoint verifies with
#     --since it (so the log only grew, and every new event is in the tree);
#     every 50th time a whole export verifies;
#   - sluice ledger verify passes;
#   - released queries agree everywhere: query.released events = ledger
#     transactions = the contracts' queries_used less their query.failed
#     events (a failed query uses quota, uncharged), per contract; dp budget
#     spent = per-query epsilon x the dp contract's released queries;
#   - every version of the product is published with all its rows, and a
#     COUNT(*) over the current one reads all of them;
#   - a killed export left no file, or a whole one that verifies; no file
#     anywhere is half-written (*.tmp.* files: writes are unnamed until whole);
#   - a killed submit left the contract offered (as it was) or active, and submitting it
#     again makes it active;
#   - every request id gives one answer: its retries (two, after the kill)
#     and any answer seen before are the same document;
#   - the next operation of the same kind succeeds.
#
# Prints one "ok" line per kill class and a table; exit 0 when every check
# held, 1 otherwise (the first failure printed with the command).
import argparse
import collections
import glob
import json
import os
import random
import signal
import subprocess
import sys
import time

ROWS = 20000


class Failure(Exception):
    pass


class Exchange:
    def __init__(self, sluice, d):
        self.sluice = sluice
        self.d = d
        self.x = os.path.join(d, "exchange")
        self.env = dict(os.environ, SLUICE_QUERY_RATE="100000")

    def argv(self, *args):
        return [self.sluice, "-d", self.x] + list(args)

    def run(self, *args, ok=True):
        p = subprocess.run(self.argv(*args), capture_output=True, text=True, env=self.env)
        if ok and p.returncode != 0:
            raise Failure("exit %d: sluice %s\n%s%s" % (p.returncode, " ".join(args), p.stdout[-2000:], p.stderr[-2000:]))
        return p

    def json(self, *args):
        return json.loads(self.run(*args, "--json").stdout)

    def path(self, name):
        return os.path.join(self.d, name)


class Daemon:
    """sluice serve on the exchange, on a free port, and curl with a buyer's certificate."""

    def __init__(self, ex):
        self.ex = ex
        self.proc = None
        self.ready = os.path.join(ex.d, "serve.port")

    def start(self):
        if os.path.exists(self.ready):
            os.unlink(self.ready)
        self.proc = subprocess.Popen(self.ex.argv("serve", "--listen", "127.0.0.1:0", "--ready-file", self.ready,
                                             "--log", os.path.join(self.ex.d, "serve.log")),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.ex.env)
        t0 = time.monotonic()
        while not (os.path.exists(self.ready) and os.path.getsize(self.ready) > 0):
            if self.proc.poll() is not None or time.monotonic() - t0 > 20:
                raise Failure("sluice serve did not start (exit %s)" % self.proc.poll())
            time.sleep(0.005)
        with open(self.ready) as f:
            self.port = int(f.read().strip().rsplit(":", 1)[-1])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            if self.proc.wait() != 0:
                raise Failure("sluice serve exited %d after SIGTERM" % self.proc.returncode)
        self.proc = None

    def curl(self, who, body, key):
        d = self.ex.d
        return ["curl", "-sS", "--max-time", "60", "--cacert", os.path.join(self.ex.x, "tls", "ca.crt"),
                "--cert", os.path.join(d, who + ".crt"), "--key", os.path.join(d, who + ".key"),
                "-H", "Content-Type: application/json", "-H", "Idempotency-Key: " + key,
                "--data-binary", json.dumps(body), "-w", "\n%{http_code}",
                "https://127.0.0.1:%d/v1/queries" % self.port]


def children(pid):
    """pid's children, made by any of its threads."""
    kids = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return []
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def kill_at(ex, argv, victim, delay):
    """Start argv; SIGKILL the victim delay seconds after it exists.  Returns
    (landed, broker's returncode, stdout, stderr)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ex.env)
    landed = False
    if victim == "broker":
        time.sleep(delay)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
    else:
        worker = None
        while p.poll() is None and worker is None:
            kids = children(p.pid)
            worker = kids[0] if kids else None
        if worker is not None:
            time.sleep(delay)
            try:
                os.kill(worker, signal.SIGKILL)
                landed = True
            except ProcessLookupError:
                pass
    out, err = p.communicate()
    if victim == "broker":
        landed = p.returncode == -signal.SIGKILL
    elif landed:
        # The worker may have finished its reply just before the signal.
        try:
            _, status = os.waitpid(worker, os.WNOHANG)
        except ChildProcessError:
            pass
    return landed, p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class Loop:
    def __init__(self, ex, rng):
        self.ex = ex
        self.rng = rng
        self.answers = {}  # request id -> the answer document
        self.prev_cp = None
        self.duration = {}  # op -> seconds, measured unkilled
        self.landed = collections.Counter()
        self.tries = collections.Counter()
        self.outcome = collections.Counter()
        self.n = 0
        self.serial = 0
        self.strays = 0

    # ---- setup ---------------------------------------------------------------
    def setup(self):
        ex = self.ex
        import csv
        src = ex.path("claims.csv")
        with open(src, newline="") as f:
            rows = list(csv.reader(f))
        head, body = rows[0], rows[1:]
        big = ex.path("faults.csv")
        with open(big, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(head)
            for i in range(ROWS):
                w.writerow(body[i % len(body)])
        self.big = big
        # Every version of claims holds ROWS rows: the demo's first is replaced.
        ex.run("product", "load", "claims", big)
        self.dropped = set()
        for v in ex.json("product", "show", "claims")["versions"]:
            if v["rows"] != ROWS:
                ex.run("product", "drop-version", "claims", str(v["version"]))
                self.dropped.add(v["version"])
        self.threshold = self.contract("claims", "insurer.terms.json", "pacific-insurance",
                                       {"query_quota": 1000000})
        self.dp = self.contract("imaging", "imaging.terms.json", "deepsight-ai",
                                {"query_quota": 1000000,
                                 "release": {"mode": "dp", "mechanism": "laplace",
                                             "epsilon_total": "100000", "epsilon_per_query": "1/8"}})
        self.dp_per_query = (1, 8)
        self.daemon = Daemon(ex)
        self.daemon.start()
        self.measure()

    def contract(self, product, terms, buyer, edit, submit=True):
        ex = self.ex
        with open(ex.path(terms)) as f:
            t = json.load(f)
        t.update(edit)
        self.serial += 1
        tf = ex.path("faults-%d.terms.json" % self.serial)
        cf = ex.path("faults-%d.contract.json" % self.serial)
        with open(tf, "w") as f:
            json.dump(t, f)
        ex.run("contract", "offer", "--product", product, "--buyer", buyer, "--terms", tf, "--out", cf)
        for k in ("city-health-bureau", "ningbo-data-ops", "acme-merchant", buyer):
            ex.run("contract", "sign", cf, "--identity", ex.path(k + ".key"))
        with open(cf) as f:
            cid = json.load(f)["id"]
        if submit:
            ex.run("contract", "submit", cf)
            return cid
        return cid, cf

    # ---- the operations ------------------------------------------------------
    def op_argv(self, op):
        ex = self.ex
        if op == "ingest":
            return ex.argv("product", "load", "claims", self.big), None
        if op == "submit":
            cid, cf = self.contract("claims", "insurer.terms.json", "pacific-insurance", {}, submit=False)
            return ex.argv("contract", "submit", cf), (cid, cf)
        if op in ("query", "query-rid"):
            rid = None
            argv = ex.argv("query", "--contract", self.threshold, "--identity",
                           ex.path("pacific-insurance.key"), "--json")
            if op == "query-rid":
                self.serial += 1
                rid = "faults-%d" % self.serial
                argv += ["--request-id", rid]
            return argv + ["SELECT sex, region, COUNT(*), SUM(claim_fen) FROM claims GROUP BY sex, region"], rid
        if op == "dp":
            rid = None
            argv = ex.argv("query", "--contract", self.dp, "--identity", ex.path("deepsight-ai.key"), "--json")
            if self.rng.random() < 0.5:
                self.serial += 1
                rid = "faults-dp-%d" % self.serial
                argv += ["--request-id", rid]
            return argv + ["SELECT modality, COUNT(*) FROM imaging GROUP BY modality"], rid
        if op == "serve-query":
            self.serial += 1
            rid = "faults-http-%d" % self.serial
            return self.daemon.curl("pacific-insurance", self.http_body(), rid), rid
        if op == "rotate":
            return ex.argv("keys", "rotate-product", "claims"), None
        if op == "rotate-master":
            return ex.argv("keys", "rotate-master"), None
        if op == "export":
            f = ex.path("killed-export.jsonl")
            for g in (f, f + ".checkpoint.json"):
                if os.path.exists(g):
                    os.unlink(g)
            return ex.argv("audit", "export", "--out", f), f
        raise ValueError(op)

    def measure(self):
        for op in OPS:
            argv, ctx = self.op_argv(op)
            t0 = time.monotonic()
            p = subprocess.run(argv, capture_output=True, env=self.ex.env)
            self.duration[op] = time.monotonic() - t0
            if p.returncode != 0:
                raise Failure("unkilled %s failed: %s" % (op, p.stderr.decode()[-1000:]))
            self.after(op, ctx, p.returncode, p.stdout.decode(), p.stderr.decode())

    def after(self, op, ctx, rc=0, out="", err=""):
        """What the kill (or a clean run) left, put right and checked."""
        ex = self.ex
        if op == "submit":
            cid, cf = ctx
            states = [c["state"] for c in ex.json("contract", "list")["contracts"] if c["id"] == cid]
            if states not in (["offered"], ["active"]):  # as it was, or done
                raise Failure("contract %s after a killed submit: %s" % (cid, states))
            ex.run("contract", "submit", cf, ok=False)
            states = [c["state"] for c in ex.json("contract", "list")["contracts"] if c["id"] == cid]
            if states != ["active"]:
                raise Failure("contract %s resubmitted: %s" % (cid, states))
        elif op == "serve-query":
            if not self.daemon.alive():
                self.daemon.start()
            if rc == 0:
                self.http_answer(ctx, out)
            for _ in range(2):
                argv, _ = self.op_argv_rid(op, ctx)
                p = subprocess.run(argv, capture_output=True, text=True)
                if p.returncode != 0:
                    raise Failure("retry of Idempotency-Key %s: curl exit %d: %s" % (ctx, p.returncode, p.stderr))
                self.http_answer(ctx, p.stdout)
        elif op in ("query-rid", "dp") and ctx is not None:
            # A query the broker saw end (released, or failed when its worker
            # was killed) has that one answer for good; one it did not see
            # end runs afresh on the retry.
            if rc is not None and rc >= 0:
                self.answer(ctx, rc, out, err)
            for _ in range(2):
                argv, _ = self.op_argv_rid(op, ctx)
                p = subprocess.run(argv, capture_output=True, text=True, env=ex.env)
                self.answer(ctx, p.returncode, p.stdout, p.stderr)
        elif op == "export":
            f = ctx
            stray = glob.glob(f + ".tmp.*")
            if stray:
                raise Failure("a killed export left %s" % stray)
            if os.path.exists(f):
                p = subprocess.run([ex.sluice, "audit", "verify", f, "--key", os.path.join(ex.x, "platform.pub")],
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    raise Failure("a killed export left %s, which does not verify: %s" % (f, p.stdout + p.stderr))

    def http_body(self):
        return {"contract": self.threshold,
                "sql": "SELECT sex, region, COUNT(*), SUM(claim_fen) FROM claims GROUP BY sex, region"}

    def op_argv_rid(self, op, rid):
        ex = self.ex
        if op == "serve-query":
            return self.daemon.curl("pacific-insurance", self.http_body(), rid), rid
        if op == "query-rid":
            argv = ex.argv("query", "--contract", self.threshold, "--identity", ex.path("pacific-insurance.key"),
                           "--json", "--request-id", rid,
                           "SELECT sex, region, COUNT(*), SUM(claim_fen) FROM claims GROUP BY sex, region")
        else:
            argv = ex.argv("query", "--contract", self.dp, "--identity", ex.path("deepsight-ai.key"), "--json",
                           "--request-id", rid, "SELECT modality, COUNT(*) FROM imaging GROUP BY modality")
        return argv, rid

    def http_answer(self, rid, out):
        """curl's body and status: 201 (released) and 200 (a replay) are one answer."""
        body, _, status = out.rpartition("\n")
        try:
            doc = json.loads(body)
        except ValueError:
            raise Failure("Idempotency-Key %s: status %s and no JSON body: %s" % (rid, status, body[-500:]))
        if status in ("200", "201"):
            self.answer(rid, 0, body, "")
        elif status.startswith("5") or status.startswith("4"):
            self.answer(rid, 1, "", body)
        else:
            raise Failure("Idempotency-Key %s: status %s" % (rid, status))
        return doc

    def answer(self, rid, rc, out, err):
        try:
            doc = [rc, json.loads(out if rc == 0 else err)]
        except ValueError:
            raise Failure("request id %s: exit %d and no JSON document: %s%s" % (rid, rc, out[-500:], err[-500:]))
        if rc not in (0, 1):
            raise Failure("request id %s: exit %d: %s" % (rid, rc, err[-500:]))
        if rc != 0 and "state" not in doc[1].get("error", {}):
            return  # refused before the query was recorded (a full disk): no answer yet
        seen = self.answers.setdefault(rid, doc)
        if seen != doc:
            raise Failure("request id %s has two answers:\n%s\n%s" % (rid, json.dumps(seen), json.dumps(doc)))

    # ---- the checks after each kill --------------------------------------------
    def no_half_files(self):
        """Files are written unnamed and named when whole (common/file.h).
        Only a replacement, killed between naming it beside its target and
        renaming it over, may leave one: whole, so it must parse."""
        for f in glob.glob(os.path.join(self.ex.d, "**", "*.tmp.*"), recursive=True):
            try:
                with open(f) as g:
                    json.load(g)
            except ValueError as e:
                raise Failure("%s was left half-written: %s" % (f, e))
            self.strays += 1
            os.unlink(f)

    def invariants(self, op=None):
        """The checks after a kill of op: the audit log's always; the
        accounts' after an operation that releases queries; the versions'
        after one that writes a version; all of them, over a whole export,
        for op None (the start, every 50th kill, the end)."""
        ex = self.ex
        self.no_half_files()
        key = os.path.join(ex.x, "platform.pub")
        if op is None or self.prev_cp is None:
            out = ex.path("check.jsonl")
            ex.run("audit", "export", "--out", out)
            verify = [ex.sluice, "audit", "verify", out, "--key", key]
            self.released, self.failed = collections.Counter(), collections.Counter()
        else:
            # Only the events since the last check, proven to extend what it saw.
            out = ex.path("check-since.jsonl")
            with open(self.prev_cp) as f:
                seen = json.load(f)["checkpoint"]["tree_size"]
            # (Each export is an event of its own, so there is always one more.)
            ex.run("audit", "export", "--out", out, "--since", self.prev_cp, "--from", str(seen + 1))
            verify = [ex.sluice, "audit", "verify", out, "--key", key, "--since", self.prev_cp]
        p = subprocess.run(verify, capture_output=True, text=True)
        if p.returncode != 0:
            raise Failure("%s does not verify: %s" % (os.path.basename(out), p.stdout + p.stderr))
        cp = ex.path("check-%d.checkpoint.json" % (self.n % 2))
        os.replace(out + ".checkpoint.json", cp)
        self.prev_cp = cp
        with open(out) as f:
            for line in f:
                e = json.loads(line).get("event", {})
                if e.get("action") == "query.released":
                    self.released[e["details"]["contract"]] += 1
                elif e.get("action") == "query.failed":
                    self.failed[e["details"]["contract"]] += 1
        ex.run("ledger", "verify")
        if op is None or op in ("query", "query-rid", "dp", "serve-query"):
            self.accounts()
        if op is None or op in ("ingest", "rotate"):
            self.versions()

    def accounts(self):
        ex = self.ex
        released, failed = self.released, self.failed
        txns = collections.defaultdict(set)
        for s in ex.json("ledger")["statements"]:
            for e in s["entries"]:
                txns[e["contract"]].add(e["transaction"])
        used = {c["id"]: c["queries_used"] for c in ex.json("contract", "list")["contracts"]}
        for cid in set(released) | set(txns) | {k for k, v in used.items() if v}:
            # A failed query counts against the quota, uncharged.
            a, b, c = released[cid], len(txns.get(cid, ())), used.get(cid, 0) - failed[cid]
            if not a == b == c:
                raise Failure("contract %s: %d query.released events, %d ledger transactions, "
                              "%d queries used less %d failed" % (cid, a, b, c + failed[cid], failed[cid]))
        budget = ex.json("budget", "--contract", self.dp)
        num, den = self.dp_per_query
        n = released[self.dp]
        if budget["queries"] != n or frac(budget["spent"]) != reduce(n * num, den):
            raise Failure("dp budget: spent %s over %d queries, but %d released at %d/%d"
                          % (budget["spent"], budget["queries"], n, num, den))

    def versions(self):
        ex = self.ex
        for v in ex.json("product", "show", "claims")["versions"]:
            if v["version"] in self.dropped:
                continue
            if v["state"] != "published" or v["rows"] != ROWS:
                raise Failure("claims version %s: %s with %s rows" % (v["version"], v["state"], v["rows"]))
        # Through the CLI: its query.released event is counted with the next check's.
        doc = json.loads(ex.run("query", "--contract", self.threshold, "--identity",
                                ex.path("pacific-insurance.key"), "--json", "SELECT COUNT(*) FROM claims").stdout)
        if doc["rows"] != [[ROWS]]:
            raise Failure("COUNT(*) over claims version %s: %s, not %d" % (doc["version"], doc["rows"], ROWS))

    def kill_daemon_at(self, argv, victim, delay):
        """curl argv against the daemon; SIGKILL the daemon (or every worker
        of it) delay seconds in.  Landed: the request was still in flight and
        the daemon died of it, or (worker) the answer was an error."""
        d = self.daemon
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if victim == "daemon":
            time.sleep(delay)
            workers = children(d.proc.pid)
            in_flight = p.poll() is None
            if in_flight:
                os.kill(d.proc.pid, signal.SIGKILL)
        else:
            # The daemon's workers wait, started ahead; the one given the job
            # starts to run: that one, a moment later (its job takes a few ms).
            workers, in_flight = [], False
            while p.poll() is None and not workers:
                workers = [w for w in children(d.proc.pid) if state(w) == "R"]
            if workers:
                time.sleep(delay / 20)
                in_flight = p.poll() is None
                if in_flight:
                    try:
                        os.kill(workers[0], signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        out, err = p.communicate()
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        if victim == "daemon":
            landed = in_flight and d.proc.wait() == -signal.SIGKILL
            if in_flight:
                # Its pre-started workers must not outlive it.
                t0 = time.monotonic()
                while any(os.path.exists("/proc/%d" % w) and not zombie(w) for w in workers):
                    if time.monotonic() - t0 > 5:
                        raise Failure("workers %s outlived their killed daemon" % workers)
                    time.sleep(0.01)
            return landed, p.returncode, out, err
        status = out.rpartition("\n")[2]
        landed = in_flight and bool(workers) and status not in ("200", "201")
        if landed and not status.startswith("5"):
            raise Failure("workers killed: status %s, not a server error: %s" % (status, out[-300:]))
        return landed, p.returncode, out, err

    # ---- the loop ------------------------------------------------------------
    def one(self, op, victim):
        argv, ctx = self.op_argv(op)
        # The worker lives for part of the operation only.
        delay = self.rng.uniform(0, self.duration[op] * (1.1 if victim == "broker" else 0.6))
        self.tries[(op, victim)] += 1
        if op == "serve-query":
            landed, rc, out, err = self.kill_daemon_at(argv, victim, delay)
        else:
            landed, rc, out, err = kill_at(self.ex, argv, victim, delay)
        if victim == "worker" and landed and rc == 0 and op != "serve-query":
            landed = False  # the worker had sent all it had to: nothing was cut short
        if landed:
            self.landed[(op, victim)] += 1
            self.n += 1
            if victim == "worker" and rc < 0 and op != "serve-query":
                raise Failure("the broker died (%d) when its worker was killed during %s" % (rc, op))
            self.outcome["%s killed during %s" % (victim, op) if victim in ("broker", "daemon")
                         else "worker killed during %s, the %s said: %s"
                         % (op, "daemon" if op == "serve-query" else "broker",
                            said(out.rpartition("\n")[0] if op == "serve-query" else err))] += 1
        self.after(op, ctx, rc, out, err)
        if landed:
            self.invariants(None if self.n % 50 == 0 else op)
        return landed


def state(pid):
    """The process's state letter (R running, S sleeping, Z zombie); Z once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def zombie(pid):
    return state(pid) == "Z"


def frac(s):
    if "/" in s:
        a, b = s.split("/")
        return reduce(int(a), int(b))
    if "." in s:
        i, f = s.split(".")
        return reduce(int(i + f), 10 ** len(f))
    return reduce(int(s), 1)


def reduce(a, b):
    import math
    g = math.gcd(a, b) or 1
    return a // g, b // g


def said(err):
    """The broker's error, its message if it is a JSON error document, with
    the ids that differ from run to run taken out."""
    import re
    try:
        err = json.loads(err)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        pass
    lines = err.strip().splitlines()
    s = lines[0] if lines else "(nothing)"
    s = re.sub(r"q_[0-9a-f]{32}", "q_...", s)
    s = re.sub(r"worker [0-9]+", "worker N", s)
    return re.sub(r"/\S*/", "", s)[:110]


OPS = ["ingest", "submit", "query", "query-rid", "dp", "rotate", "rotate-master", "export", "serve-query"]
VICTIMS = {"ingest": ["broker", "worker"], "submit": ["broker"], "query": ["broker", "worker"],
           "query-rid": ["broker", "worker"], "dp": ["broker", "worker"], "rotate": ["broker", "worker"],
           "rotate-master": ["broker"], "export": ["broker"], "serve-query": ["daemon", "worker"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--kills", type=int, default=500)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    print("seed %d (rerun with --seed %d)" % (seed, seed))
    loop = Loop(Exchange(a.sluice, a.dir), random.Random(seed))
    classes = [(op, v) for op in OPS for v in VICTIMS[op]]
    t0 = time.monotonic()
    try:
        loop.setup()
        loop.invariants()
        while loop.n < a.kills:
            # The class with the fewest kills so far: every one gets its share.
            least = min(loop.landed[c] for c in classes)
            op, victim = loop.rng.choice([c for c in classes if loop.landed[c] == least])
            loop.one(op, victim)
            if sum(loop.tries.values()) > 20 * a.kills:
                raise Failure("only %d of %d kills landed in %d tries" % (loop.n, a.kills, sum(loop.tries.values())))
        loop.invariants()
        loop.daemon.stop()
    except Failure as e:
        print("FAIL after %d kills: %s" % (loop.n, e))
        return 1
    finally:
        if getattr(loop, "daemon", None) is not None and loop.daemon.alive():
            loop.daemon.proc.kill()
    print("%-14s %-7s %7s %7s" % ("operation", "victim", "tries", "killed"))
    for op, v in classes:
        print("%-14s %-7s %7d %7d" % (op, v, loop.tries[(op, v)], loop.landed[(op, v)]))
        if loop.landed[(op, v)] == 0:
            print("FAIL: no kill of the %s landed during %s" % (v, op))
            return 1
    for what, n in sorted(loop.outcome.items()):
        print("  %5d  %s" % (n, what))
    print("%d kills in %.0f s; after each, every check held; %d request ids, each one answer; "
          "%d whole stray files from a replacement cut short, no half-written one"
          % (loop.n, time.monotonic() - t0, len(loop.answers), loop.strays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
