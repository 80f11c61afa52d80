#!/usr/bin/env python3
"""Tamper with an audit export as a careful forger would, so that the
verifier's strict rules (docs/audit-format.md, "What a verifier rejects") are
what catches it, not a broken line or a stale leaf hash.

usage: audit_edit.py SUITE SRC DST OP ARGS...

  member N KEY JSON      add member KEY (value JSON) to line N's object,
                         keeping the line canonical
  body-member N KEY JSON the same inside line N's "checkpoint" object
  event-member N KEY JSON add KEY to the event on line N and recompute its
                         leaf hash (only the event's shape is then wrong)
  reformat N             write line N with spaces after ':' and ','
  insert N JSON          insert the line JSON before line N
  no-newline             drop the final newline
  cut A B                turn a whole export into one of events A..B, using
                         only the file: the prefix and suffix are computed
                         from the leaf hashes it holds
Lines are numbered from 1.
"""
import hashlib
import json
import subprocess
import sys


def h(suite, data):
    if suite == "intl":
        return hashlib.sha256(data).digest()
    try:
        return hashlib.new("sm3", data).digest()
    except ValueError:
        return subprocess.run(["openssl", "dgst", "-sm3", "-binary"], input=data,
                              capture_output=True, check=True).stdout


def canon(v):
    """RFC 8785 for the ASCII, integer-only values of these files."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def frontier(suite, leaves):
    """The roots of the perfect subtrees of leaves, largest first (RFC 6962)."""
    out, i = [], 0
    while i < len(leaves):
        k = 1
        while k * 2 <= len(leaves) - i:
            k *= 2
        level = leaves[i:i + k]
        while len(level) > 1:
            level = [h(suite, b"\x01" + level[j] + level[j + 1]) for j in range(0, len(level), 2)]
        out.append(level[0])
        i += k
    return out


def event_line(suite, ev):
    leaf = h(suite, b"\x00" + ev.encode()).hex()
    return '{"event":%s,"leaf":"%s"}' % (ev, leaf)


def main():
    suite, src, dst, op, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    text = open(src, encoding="utf-8").read()
    lines = text.rstrip("\n").split("\n")
    end = "\n"
    if op in ("member", "body-member"):
        n, key, val = int(args[0]), args[1], json.loads(args[2])
        o = json.loads(lines[n - 1])
        (o["checkpoint"] if op == "body-member" else o)[key] = val
        lines[n - 1] = canon(o)
    elif op == "event-member":
        n, key, val = int(args[0]), args[1], json.loads(args[2])
        ev = json.loads(lines[n - 1])["event"]
        ev[key] = val
        lines[n - 1] = event_line(suite, canon(ev))
    elif op == "event-text":
        # The event's bytes replaced by other text, its leaf recomputed to match.
        n, old_, new_ = int(args[0]), args[1], args[2]
        ev = canon(json.loads(lines[n - 1])["event"])
        if old_ not in ev:
            sys.exit("audit_edit.py: %r is not in event line %d" % (old_, n))
        lines[n - 1] = event_line(suite, ev.replace(old_, new_, 1))
    elif op == "reformat":
        n = int(args[0])
        lines[n - 1] = json.dumps(json.loads(lines[n - 1]), sort_keys=True, ensure_ascii=False)
    elif op == "insert":
        lines.insert(int(args[0]) - 1, args[1])
    elif op == "no-newline":
        end = ""
    elif op == "cut":
        a, b = int(args[0]), int(args[1])
        header = json.loads(lines[0])
        events = [json.loads(l) for l in lines[1:] if l.startswith('{"event":')]
        rest = [l for l in lines[1:] if not l.startswith('{"event":')]
        leaves = [bytes.fromhex(e["leaf"]) for e in events]
        n = header["tree_size"]
        assert header["from"] == 1 and header["until"] == n == len(events), "not a whole export"
        header["from"], header["until"] = a, b
        out = [canon(header)]
        if a > 1:
            out.append(canon({"frontier": [x.hex() for x in frontier(suite, leaves[:a - 1])],
                              "tree_size": a - 1, "type": "prefix"}))
        out += [l for l in lines[1:] if l.startswith('{"event":')][a - 1:b]
        if b < n:
            out.append(canon({"leaves": [x.hex() for x in leaves[b:]], "type": "suffix"}))
        lines = out + rest
    else:
        sys.exit("audit_edit.py: unknown operation " + op)
    open(dst, "w", encoding="utf-8").write("\n".join(lines) + end)


main()
