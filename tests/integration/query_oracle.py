#!/usr/bin/env python3
# tests/integration/query_oracle.py -- the query engine against SQLite.
#
# Used by query_oracle.sh, in two steps:
#
#   query_oracle.py gen DIR [--rows N]
#       Write DIR/oracle.schema.json and DIR/oracle.csv: a product with every
#       column type (INT, DECIMAL(p,s), REAL, TEXT, DATE, BOOL), NULLs, an
#       empty string that is not NULL, units repeating across rows, measures
#       with values outside their bounds (clamped by the engine), dates before
#       1970, groups of one unit with many rows.  Also DIR/edge.schema.json
#       and DIR/edge.csv: a few rows of extreme values (see edge_rows()).
#       The same seed gives the same bytes.
#
#   query_oracle.py run [--product oracle|edge] --sluice BIN --dir D
#                       --contract ID --identity KEY [--rows N]
#                       [--min-group N] [--every K] [--random N] [--verbose]
#       Build the query corpus (HAND plus --random generated ones for
#       oracle, EDGE_QUERIES for edge), run each with `sluice query --json`,
#       load the same rows into an in-memory SQLite database, translate each
#       query to SQLite SQL (parsed here, so the text compared is the text
#       sent), keep the groups with >= N distinct units and compare: the
#       released rows (as a multiset, or in order under ORDER BY), the
#       suppressed-group count and the column names.  Integers, strings,
#       booleans exact; floats to a relative 1e-9 (REAL SUM and AVG also
#       to 1e-12 of the sum of |x|, see Approx).  --every K runs every K-th
#       query only; --rows must be what gen was given.
#
# Prints "oracle: N queries, M rows compared, K mismatches (...)" and the
# first 20 mismatches.  Exit status: 0 all agree, 1 a mismatch or a failed
# query, 2 a usage or oracle error.  Python 3 standard library only.
import csv
import io
import json
import math
import random
import sqlite3
import subprocess
import sys
import time
from fractions import Fraction

SEED = 20261128
PRODUCT = "oracle"
UNIT = "pid"

# ---- the product --------------------------------------------------------

# (name, type, class, extra schema members)
COLUMNS = [
    ("pid", "INT", "unit", {}),
    ("region", "TEXT", "dimension", {}),
    ("tier", "TEXT", "dimension", {"nullable": True}),
    ("grade", "INT", "dimension", {"bounds": [0, 100]}),
    ("delta", "INT", "dimension", {"nullable": True}),
    ("opened", "DATE", "dimension", {"nullable": True}),
    ("active", "BOOL", "dimension", {}),
    ("ratio", "REAL", "dimension", {"nullable": True}),
    ("rate", "DECIMAL(6,3)", "dimension", {}),
    ("amount", "DECIMAL(12,2)", "measure", {"bounds": [0, 20000.5]}),
    ("visits", "INT", "measure", {"bounds": [0, 40], "nullable": True}),
    ("weight", "REAL", "measure", {"bounds": [0.5, 150.0], "nullable": True}),
    ("note", "TEXT", "hidden", {}),
]


class Col:
    def __init__(self, name, typ, cls, extra):
        self.name, self.cls = name, cls
        self.nullable = bool(extra.get("nullable"))
        self.scale = 0
        if typ.startswith("DECIMAL"):
            self.type = "DECIMAL"
            self.scale = int(typ[typ.index(",") + 1:-1])
        else:
            self.type = typ
        self.numeric = self.type in ("INT", "DECIMAL", "REAL")
        b = extra.get("bounds")
        # Bounds in storage units: scaled integers for DECIMAL.
        self.bounds = None
        if b is not None:
            if self.type == "DECIMAL":
                self.bounds = tuple(int(Fraction(str(x)) * 10 ** self.scale) for x in b)
            elif self.type == "REAL":
                self.bounds = (float(b[0]), float(b[1]))
            else:
                self.bounds = (int(b[0]), int(b[1]))
        # The engine clamps every aggregate but COUNT DISTINCT of a numeric
        # column with bounds (sandbox/plan.c aggregate()).
        self.clamp = self.bounds is not None and self.numeric


COLS = {c[0]: Col(*c) for c in COLUMNS}

# A second, small product of extreme values, each group made to catch one
# kind of arithmetic trouble (see EDGE_QUERIES).
EDGE_COLUMNS = [
    ("pid", "INT", "unit", {}),
    ("g", "TEXT", "dimension", {}),
    ("big", "INT", "dimension", {}),
    ("x", "REAL", "dimension", {}),
]
PRODUCTS = {"oracle": COLUMNS, "edge": EDGE_COLUMNS}


def use(product):
    """Make product's columns the ones the rest of this file sees."""
    global PRODUCT, COLUMNS, COLS
    PRODUCT, COLUMNS = product, PRODUCTS[product]
    COLS = {c[0]: Col(*c) for c in COLUMNS}


def edge_rows():
    I64_MIN, I64_MAX = -2 ** 63, 2 ** 63 - 1
    rows = []

    def add(g, big, x):
        rows.append({"pid": 1000 + len(rows), "g": g, "big": big, "x": x})

    # REAL values far from 0 and close together: (sumsq - sum^2/n) cancels.
    for i in range(3):
        add("cancel", 1000000000 + i, 1e9 + i)
    for v in (1234567.891, 1234567.892, 1234567.891, 1234567.893):
        add("near", 0, v)
    # n * sumsq above 2^127 while the sum is 0.
    for i in range(150):
        add("wide", 130000000000000000 if i % 2 else -130000000000000000, float(i))
    # sumsq itself above 2^127; the int64 sum stays in range.
    for v in (9000000000000000000, -9000000000000000000, 9000000000000000000):
        add("sqov", v, 0.0)
    # the ends of int64
    for v in (I64_MIN, I64_MIN, I64_MAX, I64_MAX - 1, 0, -1):
        add("ext", v, -0.0 if v == -1 else 0.0)
    return rows


EDGE_QUERIES = [
    "SELECT g, COUNT(*), AVG(x), VARIANCE(x), STDDEV(x) FROM edge WHERE g IN ('cancel', 'near') GROUP BY g",
    "SELECT g, COUNT(*), AVG(big), VARIANCE(big), STDDEV(big) FROM edge WHERE g = 'cancel' GROUP BY g",
    "SELECT COUNT(*), SUM(big), VARIANCE(big), STDDEV(big) FROM edge WHERE g = 'wide'",
    "SELECT COUNT(*), SUM(big), VARIANCE(big), STDDEV(big) FROM edge WHERE g = 'sqov'",
    "SELECT MIN(big), MAX(big), COUNT(DISTINCT big), COUNT(DISTINCT x) FROM edge WHERE g = 'ext'",
    "SELECT big, COUNT(*) FROM edge WHERE g = 'ext' GROUP BY big",
    "SELECT COUNT(*) FROM edge WHERE big = -9223372036854775808",
    "SELECT COUNT(*) FROM edge WHERE big > -9223372036854775808 AND g = 'ext'",
    "SELECT COUNT(*) FROM edge WHERE big >= 9223372036854775806",
    "SELECT COUNT(*) FROM edge WHERE big IN (-9223372036854775808, 9223372036854775807)",
    "SELECT BUCKET(big, 1000), COUNT(*) FROM edge WHERE g = 'ext' GROUP BY BUCKET(big, 1000)",
    "SELECT BUCKET(big, 10000000000000000), COUNT(*) FROM edge WHERE big > -9223372036854775808 GROUP BY BUCKET(big, 10000000000000000)",
]

# Answers no 64-bit engine can give: the query must fail with this message, never
# return a wrong number.  (SQLite's own answers here are floats or errors too.)
EXPECTED_FAILURES = {
    "SELECT COUNT(*), SUM(big), VARIANCE(big), STDDEV(big) FROM edge WHERE g = 'sqov'":
        "VARIANCE(big): the sum of squares overflows 128 bits",
    "SELECT BUCKET(big, 1000), COUNT(*) FROM edge WHERE g = 'ext' GROUP BY BUCKET(big, 1000)":
        "BUCKET(big, ...): a bucket lies outside the column's number range",
}


def schema_doc():
    cols = []
    for name, typ, cls, extra in COLUMNS:
        d = {"name": name, "type": typ, "class": cls}
        d.update(extra)
        cols.append(d)
    return {
        "name": PRODUCT,
        "title": "Query oracle test data",
        "category": "test",
        "description": "Synthetic rows for tests/integration/query_oracle.sh.",
        "columns": cols,
    }


def days_to_iso(days):
    # Proleptic Gregorian, days since 1970-01-01 (Hinnant's civil_from_days).
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (m <= 2)
    return "%04d-%02d-%02d" % (y, m, d)


def iso_to_days(s):
    y, m, d = int(s[0:4]), int(s[5:7]), int(s[8:10])
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def dec_text(v, scale, rng):
    """A scaled integer as DECIMAL text, sometimes with trailing zeros trimmed."""
    neg = v < 0
    mag = -v if neg else v
    ip, fp = divmod(mag, 10 ** scale)
    frac = "%0*d" % (scale, fp) if scale else ""
    if frac and rng.random() < 0.3:
        frac = frac.rstrip("0")
    s = str(ip) + ("." + frac if frac else "")
    return ("-" if neg else "") + s


def real_text(x, rng):
    """Text for a REAL that parses (strtod and float) to exactly x."""
    r = rng.random()
    if r < 0.05:
        return "%.6e" % x if float("%.6e" % x) == x else repr(x)
    if r < 0.10:
        return repr(x)
    t = "%.3f" % x
    return t if float(t) == x else repr(x)


def generate(rows_wanted, seed=SEED):
    """The rows as dicts of typed values, and the CSV text of each."""
    rng = random.Random(seed)
    nunits = max(40, rows_wanted // 5)
    units = rng.sample(range(1, 10 ** 9), nunits - 3) + [-7, -123456789, 0]
    rng.shuffle(units)
    weights = [1.0 / (i + 1) ** 0.6 for i in range(nunits)]
    order = list(units)  # at least one row per unit, the rest weighted
    order += rng.choices(units, weights=weights, k=max(0, rows_wanted - nunits))
    rng.shuffle(order)
    counts = {}
    for u in order:
        counts[u] = counts.get(u, 0) + 1
    many = sorted((u for u in units if counts[u] >= 3), key=lambda u: (counts[u], u))
    solo = many[0]  # region 'solo': one unit, several rows -> always suppressed
    duo = set(many[1:3])  # region 'duo': two units
    plat = many[3]  # tier 'platinum': one unit
    regions = ["north", "south", "east", "west", "central", "North", "Île-de-France",
               'o\'hara, "ltd"', "", "新区", "zeta"]
    rweights = [20, 18, 16, 14, 12, 3, 4, 3, 2, 2, 0.3]
    home = {u: rng.choices(regions, weights=rweights)[0] for u in units}
    fixed_dates = ["2020-02-29", "1970-01-01", "1969-12-31", "2000-02-29", "1900-03-01",
                   "2024-12-31", "2025-01-01"]
    lo15, hi25 = iso_to_days("2015-01-01"), iso_to_days("2025-12-31")
    lo50, hi69 = iso_to_days("1950-01-01"), iso_to_days("1969-12-31")
    data, lines = [], []
    for i, u in enumerate(order):
        r = {"pid": u}
        if u == solo:
            r["region"] = "solo"
        elif u in duo:
            r["region"] = "duo"
        else:
            r["region"] = home[u] if rng.random() < 0.7 else rng.choices(regions, weights=rweights)[0]
        if u == plat:
            r["tier"] = "platinum"
        else:
            r["tier"] = rng.choices(["gold", "silver", "bronze", None, ""], weights=[20, 30, 35, 13, 2])[0]
        r["grade"] = int(rng.triangular(0, 100.999, 62))
        x = rng.random()
        r["delta"] = (None if x < 0.05 else rng.choice([4000000000000, -4000000000001, -1, 0])
                      if x < 0.053 else rng.randint(-500, 500))
        x = rng.random()
        if x < 0.10:
            r["opened"] = None
        elif x < 0.12:
            r["opened"] = rng.choice(fixed_dates)
        elif x < 0.17:
            r["opened"] = days_to_iso(rng.randint(lo50, hi69))
        else:
            r["opened"] = days_to_iso(rng.randint(lo15, hi25))
        r["active"] = rng.random() < 0.45
        x = rng.random()
        if x < 0.05:
            r["ratio"] = None
        elif x < 0.06:
            r["ratio"] = rng.choice([-0.0, 0.0, 2.5, -2.5, 1e-3])
        else:
            r["ratio"] = round(rng.gauss(0, 4), 3)
        r["rate"] = rng.randint(-50000, 150000) if rng.random() < 0.9 else rng.choice([0, 12125, -25000, 100000])
        x = rng.random()
        if x < 0.03:
            r["amount"] = rng.randint(-50000, -1)  # below the bounds: clamped to 0
        elif x < 0.06:
            r["amount"] = rng.randint(2000051, 9000000)  # above: clamped to 20000.50
        else:
            r["amount"] = int(rng.expovariate(1 / 300000.0))
        x = rng.random()
        r["visits"] = None if x < 0.2 else rng.randint(41, 90) if x < 0.25 else rng.randint(0, 30)
        x = rng.random()
        if x < 0.03:
            r["weight"] = None
        elif x < 0.06:
            r["weight"] = rng.choice([0.1, -3.0, 0.5, 150.0, 212.75, 150.01])
        else:
            r["weight"] = round(rng.gauss(70, 20), 2)
        r["note"] = "row %d" % i
        data.append(r)
        lines.append(csv_line(r, rng))
    return data, lines


def csv_quote(s):
    return '"' + s.replace('"', '""') + '"'


def csv_line(r, rng):
    f = [str(r["pid"])]
    for name in ("region", "tier"):
        v = r[name]
        if v is None:
            f.append("")
        elif v == "" or any(ch in v for ch in ',"\n') or rng.random() < 0.1:
            f.append(csv_quote(v))  # "" is an empty string, not NULL
        else:
            f.append(v)
    f.append(str(r["grade"]))
    f.append("" if r["delta"] is None else str(r["delta"]))
    f.append(r["opened"] or "")
    f.append(rng.choice(["true", "1"]) if r["active"] else rng.choice(["false", "0"]))
    f.append("" if r["ratio"] is None else real_text(r["ratio"], rng))
    f.append(dec_text(r["rate"], 3, rng))
    f.append(dec_text(r["amount"], 2, rng))
    f.append("" if r["visits"] is None else str(r["visits"]))
    f.append("" if r["weight"] is None else real_text(r["weight"], rng))
    f.append(csv_quote(r["note"]))
    return ",".join(f)


def write_product(out, lines):
    with open("%s/%s.schema.json" % (out, PRODUCT), "w") as f:
        json.dump(schema_doc(), f, indent=1, ensure_ascii=False)
    with open("%s/%s.csv" % (out, PRODUCT), "w", encoding="utf-8", newline="") as f:
        f.write(",".join(c[0] for c in COLUMNS) + "\n")
        for ln in lines:
            f.write(ln + "\n")


def cmd_gen(argv):
    out, rows = None, 3000
    i = 0
    while i < len(argv):
        if argv[i] == "--rows":
            rows = int(argv[i + 1])
            i += 2
        else:
            out = argv[i]
            i += 1
    if out is None:
        sys.exit("usage: query_oracle.py gen DIR [--rows N]")
    data, lines = generate(rows)
    write_product(out, lines)
    use("edge")
    write_product(out, [",".join([str(r["pid"]), r["g"], str(r["big"]), repr(r["x"])])
                        for r in edge_rows()])
    use("oracle")
    # The CSV must read back as the rows meant (csv module: quoting rules).
    back = list(csv.reader(io.StringIO("\n".join(lines))))
    assert len(back) == len(data) and all(b[0] == str(d["pid"]) for b, d in zip(back, data))
    print("gen: %d rows, %d units" % (len(data), len({d["pid"] for d in data})))
    return 0


# ---- the query language (README.md, "The query language"), parsed ----------------------

class QErr(Exception):
    pass


KEYWORDS = {"SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "ASC", "DESC", "LIMIT", "AS",
            "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "NULL", "LIKE", "DISTINCT", "TRUE",
            "FALSE"}
AGGS = {"COUNT", "SUM", "AVG", "STDDEV", "VARIANCE", "MIN", "MAX"}
KEYFNS = {"BUCKET", "YEAR", "MONTH"}


def tokenize(s):
    toks, i, n = [], 0, len(s)
    while i < n:
        c = s[i]
        if c in " \t\r\n":
            i += 1
        elif s.startswith("--", i):
            j = s.find("\n", i)
            i = n if j < 0 else j
        elif c.isascii() and (c.isalpha() or c == "_"):
            j = i + 1
            while j < n and s[j].isascii() and (s[j].isalnum() or s[j] == "_"):
                j += 1
            toks.append(("word", s[i:j]))
            i = j
        elif c.isdigit() or (c == "-" and i + 1 < n and s[i + 1].isdigit()):
            j = i + 1
            while j < n and (s[j].isdigit() or s[j] == "."):
                j += 1
            toks.append(("num", s[i:j]))
            i = j
        elif c in "'\"":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise QErr("unterminated quote")
                if s[j] == c:
                    if j + 1 < n and s[j + 1] == c:
                        buf.append(c)
                        j += 2
                        continue
                    break
                buf.append(s[j])
                j += 1
            toks.append(("str" if c == "'" else "qname", "".join(buf)))
            i = j + 1
        elif s.startswith(("<=", ">=", "<>", "!="), i):
            toks.append(("op", "<>" if s[i:i + 2] == "!=" else s[i:i + 2]))
            i += 2
        elif c in "<>=":
            toks.append(("op", c))
            i += 1
        elif c in ",()*;":
            toks.append((c, c))
            i += 1
        else:
            raise QErr("unexpected %r" % c)
    toks.append(("end", ""))
    return toks


def num_canon(text):
    """sql_num_format(): the canonical text of a number literal."""
    neg = text.startswith("-")
    body = text[1:] if neg else text
    if "." in body:
        ip, fp = body.split(".")
        mag = int(ip + fp)
        scale = len(fp)
        s = "%d.%0*d" % (mag // 10 ** scale, scale, mag % 10 ** scale)
        return ("-" if neg and mag else "") + s if mag else ("-" if neg else "") + s
    return str(-int(body) if neg else int(body))


class Parser:
    def __init__(self, text):
        self.t = tokenize(text)
        self.i = 0

    def peek(self, k=0):
        return self.t[self.i + k]

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def kw(self, word):
        tok = self.peek()
        return tok[0] == "word" and tok[1].upper() == word

    def expect_kw(self, word):
        if not self.kw(word):
            raise QErr("expected %s at %r" % (word, self.peek()))
        self.next()

    def expect(self, typ):
        if self.peek()[0] != typ:
            raise QErr("expected %s at %r" % (typ, self.peek()))
        return self.next()

    def name(self):
        tok = self.next()
        if tok[0] == "qname" or (tok[0] == "word" and tok[1].upper() not in KEYWORDS):
            return tok[1]
        raise QErr("expected a name at %r" % (tok,))

    def call(self):
        tok = self.peek()
        if tok[0] == "word" and self.peek(1)[0] == "(" and tok[1].upper() not in KEYWORDS:
            return tok[1].upper()
        return None

    def key(self):
        fn = self.call()
        if fn is None:
            return ("col", self.name())
        if fn not in KEYFNS:
            raise QErr("not a key function: " + fn)
        self.next()
        self.expect("(")
        col = self.name()
        if fn == "BUCKET":
            self.expect(",")
            w = self.expect("num")[1]
            self.expect(")")
            return ("bucket", col, w)
        self.expect(")")
        return (fn.lower(), col)

    def expr(self):
        fn = self.call()
        if fn in AGGS:
            self.next()
            self.expect("(")
            if fn == "COUNT":
                if self.peek()[0] == "*":
                    self.next()
                    self.expect(")")
                    return ("agg", "COUNT", None)
                self.expect_kw("DISTINCT")
                col = self.name()
                self.expect(")")
                return ("agg", "COUNT_DISTINCT", col)
            col = self.name()
            self.expect(")")
            return ("agg", fn, col)
        return ("key", self.key())

    def literal(self):
        tok = self.next()
        if tok[0] == "num":
            return ("num", tok[1])
        if tok[0] == "str":
            return ("str", tok[1])
        if tok[0] == "word" and tok[1].upper() in ("TRUE", "FALSE"):
            return ("bool", tok[1].upper() == "TRUE")
        if tok[0] == "word" and tok[1].upper() == "DATE":
            return ("date", self.expect("str")[1])
        raise QErr("expected a literal at %r" % (tok,))

    def pred(self):
        col = self.name()
        tok = self.peek()
        if tok[0] == "op":
            self.next()
            return ("cmp", col, tok[1], self.literal())
        neg = False
        if self.kw("NOT"):
            self.next()
            neg = True
        if self.kw("BETWEEN"):
            self.next()
            a = self.literal()
            self.expect_kw("AND")
            return ("between", col, neg, a, self.literal())
        if self.kw("IN"):
            self.next()
            self.expect("(")
            lits = [self.literal()]
            while self.peek()[0] == ",":
                self.next()
                lits.append(self.literal())
            self.expect(")")
            return ("in", col, neg, lits)
        if neg:
            raise QErr("NOT must be followed by BETWEEN or IN here")
        if self.kw("IS"):
            self.next()
            n = False
            if self.kw("NOT"):
                self.next()
                n = True
            self.expect_kw("NULL")
            return ("null", col, n)
        if self.kw("LIKE"):
            self.next()
            pat = self.expect("str")[1]
            if not pat.endswith("%") or "%" in pat[:-1] or "_" in pat[:-1]:
                raise QErr("LIKE supports only 'prefix%'")
            return ("like", col, pat[:-1])
        raise QErr("bad predicate at %r" % (self.peek(),))

    def cond_not(self):
        if self.kw("NOT"):
            self.next()
            return ("not", self.cond_not())
        if self.peek()[0] == "(":
            self.next()
            c = self.cond_or()
            self.expect(")")
            return c
        return self.pred()

    def chain(self, word, kind, term):
        kids = [term()]
        while self.kw(word):
            self.next()
            kids.append(term())
        return kids[0] if len(kids) == 1 else (kind, kids)

    def cond_and(self):
        return self.chain("AND", "and", self.cond_not)

    def cond_or(self):
        return self.chain("OR", "or", self.cond_and)

    def query(self):
        self.expect_kw("SELECT")
        items = []
        while True:
            e = self.expr()
            alias = None
            if self.kw("AS"):
                self.next()
                alias = self.name()
            items.append((e, alias))
            if self.peek()[0] != ",":
                break
            self.next()
        self.expect_kw("FROM")
        product = self.name()
        where = group = None
        order, limit = [], None
        if self.kw("WHERE"):
            self.next()
            where = self.cond_or()
        if self.kw("GROUP"):
            self.next()
            self.expect_kw("BY")
            group = [self.key()]
            while self.peek()[0] == ",":
                self.next()
                group.append(self.key())
        if self.kw("ORDER"):
            self.next()
            self.expect_kw("BY")
            while True:
                if self.call() is not None:
                    name = expr_name(self.expr())
                else:
                    name = self.name()
                desc = False
                if self.kw("ASC") or self.kw("DESC"):
                    desc = self.next()[1].upper() == "DESC"
                order.append((name, desc))
                if self.peek()[0] != ",":
                    break
                self.next()
        if self.kw("LIMIT"):
            self.next()
            limit = int(self.expect("num")[1])
        if self.peek()[0] == ";":
            self.next()
        self.expect("end")
        return {"items": items, "product": product, "where": where, "group": group or [],
                "order": order, "limit": limit}


def expr_name(e):
    """sql_expr_text(): the normalised name of an item without an alias."""
    if e[0] == "agg":
        if e[1] == "COUNT":
            return "COUNT(*)"
        if e[1] == "COUNT_DISTINCT":
            return "COUNT(DISTINCT %s)" % e[2]
        return "%s(%s)" % (e[1], e[2])
    k = e[1]
    if k[0] == "col":
        return k[1]
    if k[0] == "bucket":
        return "BUCKET(%s, %s)" % (k[1], num_canon(k[2]))
    return "%s(%s)" % (k[0].upper(), k[1])


# ---- SQLite: the oracle ----------------------------------------------------

def sq_str(s):
    return "'" + s.replace("'", "''") + "'"


class Oracle:
    def __init__(self, data, min_group):
        self.min_group = min_group
        db = sqlite3.connect(":memory:")
        db.execute("PRAGMA case_sensitive_like = ON")
        if db.execute("SELECT 'A' LIKE 'a%'").fetchone()[0] != 0:
            raise RuntimeError("SQLite LIKE is not case-sensitive")
        db.create_function("BUCKET", 2, self._bucket, deterministic=True)
        db.create_function("YEAR", 1, lambda d: None if d is None else int(d[0:4]), deterministic=True)
        db.create_function("MONTH", 1, lambda d: None if d is None else int(d[5:7]), deterministic=True)
        db.create_function("CLAMP", 3, lambda x, lo, hi: None if x is None else min(max(x, lo), hi),
                           deterministic=True)
        db.create_function("RLIT", 1, lambda t: float(Fraction(t)), deterministic=True)
        for name, cls in (("XSUM", XSum), ("XAVG", XAvg), ("XVAR", XVar), ("XSTD", XStd)):
            db.create_aggregate(name, 3, cls)
        names = [c[0] for c in COLUMNS]
        sqltype = {"INT": "INTEGER", "DECIMAL": "INTEGER", "REAL": "REAL", "TEXT": "TEXT",
                   "DATE": "TEXT", "BOOL": "INTEGER"}
        db.execute("CREATE TABLE t (%s)" % ", ".join(
            "%s %s" % (n, sqltype[COLS[n].type]) for n in names))
        rows = []
        for r in data:
            rows.append(tuple(int(r[n]) if COLS[n].type == "BOOL" else r[n] for n in names))
        db.executemany("INSERT INTO t VALUES (%s)" % ",".join("?" * len(names)), rows)
        self.db = db

    @staticmethod
    def _bucket(x, w):
        if x is None:
            return None
        if isinstance(x, float):
            b = math.floor(x / w) * w
            return 0.0 if b == 0 else b
        b = (x // w) * w
        # A bucket beyond int64 has no INT answer: as a float, whatever
        # integer the engine gives differs from it.
        return b if -2 ** 63 <= b < 2 ** 63 else float(b)

    # -- translation --

    def lit(self, col, l):
        c = COLS[col]
        kind, v = l
        if c.type == "TEXT":
            if kind != "str":
                raise QErr("TEXT column with a non-string literal")
            return sq_str(v)
        if c.type == "DATE":
            if kind not in ("date", "str"):
                raise QErr("DATE column with a non-date literal")
            return sq_str(v)
        if c.type == "BOOL":
            if kind != "bool":
                raise QErr("BOOL column with a non-boolean literal")
            return "1" if v else "0"
        if kind != "num":
            raise QErr("numeric column with a non-numeric literal")
        if c.type == "REAL":
            return "RLIT(%s)" % sq_str(v)
        raise QErr("integer-stored column literal outside int_cond")

    def cond(self, e):
        k = e[0]
        if k in ("and", "or"):
            return "(" + (" %s " % k.upper()).join(self.cond(x) for x in e[1]) + ")"
        if k == "not":
            return "(NOT %s)" % self.cond(e[1])
        col = e[1]
        if col not in COLS:
            raise QErr("no column " + col)
        if COLS[col].type in ("INT", "DECIMAL") and k in ("cmp", "between", "in"):
            return self.int_cond(e)
        if k == "cmp":
            return "(%s %s %s)" % (col, e[2], self.lit(col, e[3]))
        if k == "between":
            return "(%s %sBETWEEN %s AND %s)" % (col, "NOT " if e[2] else "", self.lit(col, e[3]),
                                                 self.lit(col, e[4]))
        if k == "in":
            return "(%s %sIN (%s))" % (col, "NOT " if e[2] else "",
                                       ", ".join(self.lit(col, x) for x in e[3]))
        if k == "null":
            return "(%s IS %sNULL)" % (col, "NOT " if e[2] else "")
        if k == "like":
            if COLS[col].type != "TEXT":
                raise QErr("LIKE on a non-TEXT column")
            return "(%s LIKE %s)" % (col, sq_str(e[2] + "%"))
        raise QErr("unknown condition " + k)

    def exact(self, col, l):
        """A numeric literal's exact value in col's storage unit (a Fraction)."""
        if l[0] != "num":
            raise QErr("numeric column with a non-numeric literal")
        return Fraction(l[1]) * 10 ** COLS[col].scale

    def int_cond(self, e):
        """
        A comparison on an integer-stored column (INT, DECIMAL as scaled
        integers) with exact rational literals, so that SQLite sees integers
        only: for an integer x, x < L iff x < ceil(L), x <= L iff
        x <= floor(L), x = L only when L is an integer.  "(x <> x)" is FALSE,
        or NULL for a NULL x, as a comparison with nothing equal would be.
        """
        col = e[1]
        never, always = "(%s <> %s)" % (col, col), "(%s = %s)" % (col, col)
        if e[0] == "cmp":
            op, v = e[2], self.exact(col, e[3])
            whole = v.denominator == 1
            if op == "=":
                return "(%s = %d)" % (col, v) if whole else never
            if op == "<>":
                return "(%s <> %d)" % (col, v) if whole else always
            bound = {"<": math.ceil, "<=": math.floor, ">": math.floor, ">=": math.ceil}[op](v)
            return "(%s %s %d)" % (col, op, bound)
        if e[0] == "between":
            lo, hi = math.ceil(self.exact(col, e[3])), math.floor(self.exact(col, e[4]))
            return "(%s %sBETWEEN %d AND %d)" % (col, "NOT " if e[2] else "", lo, hi)
        vals = [self.exact(col, x) for x in e[3]]
        whole = [str(v.numerator) for v in vals if v.denominator == 1]
        if not whole:
            return always if e[2] else never
        return "(%s %sIN (%s))" % (col, "NOT " if e[2] else "", ", ".join(whole))

    def key_sql(self, k):
        c = COLS[k[1]]
        if k[0] == "col":
            return k[1]
        if k[0] in ("year", "month"):
            return "%s(%s)" % (k[0].upper(), k[1])
        if c.type == "REAL":
            return "BUCKET(%s, RLIT(%s))" % (k[1], sq_str(k[2]))
        w = Fraction(k[2]) * 10 ** c.scale
        if w.denominator != 1 or w <= 0:
            raise QErr("BUCKET width not a multiple of the column's unit")
        return "BUCKET(%s, %d)" % (k[1], w.numerator)

    def arg(self, col):
        c = COLS[col]
        if c.clamp:
            return "CLAMP(%s, %r, %r)" % (col, c.bounds[0], c.bounds[1])
        return col

    def agg_sql(self, fn, col):
        if fn == "COUNT":
            return "COUNT(*)"
        if fn == "COUNT_DISTINCT":
            return "COUNT(DISTINCT %s)" % col
        if fn in ("MIN", "MAX"):
            return "%s(%s)" % (fn, self.arg(col))
        c = COLS[col]
        if not c.numeric:
            raise QErr("%s of a non-numeric column" % fn)
        f = {"SUM": "XSUM", "AVG": "XAVG", "VARIANCE": "XVAR", "STDDEV": "XSTD"}[fn]
        return "%s(%s, %d, %s)" % (f, self.arg(col), c.scale, sq_str(c.type))

    def typed(self, col, v):
        """A stored value of col as the engine's JSON shows it."""
        if v is None:
            return None
        c = COLS[col]
        if c.type == "DECIMAL":
            return float(Fraction(v, 10 ** c.scale))
        if c.type == "BOOL":
            return bool(v)
        if c.type == "REAL":
            return float(v)
        return v

    def translate(self, pq):
        if pq["product"] != PRODUCT:
            raise QErr("product " + pq["product"])
        keys = pq["group"]
        # conv: per output, a function of the whole SQLite row.  A REAL SUM
        # or AVG brings a second column, the mean or sum of |x|, for its
        # tolerance (see Approx).
        sel, conv = [], []
        for e, alias in pq["items"]:
            i = len(sel)
            if e[0] == "agg":
                fn, col = e[1], e[2]
                sel.append(self.agg_sql(fn, col))
                if fn in ("MIN", "MAX"):
                    conv.append(lambda r, i=i, col=col: self.typed(col, r[i]))
                elif fn in ("SUM", "AVG") and COLS[col].type == "REAL":
                    sel.append("XAVG(ABS(%s), 0, 'REAL')" % self.arg(col) if fn == "AVG" else
                               "XSUM(ABS(%s), 0, 'REAL')" % self.arg(col))
                    conv.append(lambda r, i=i: None if r[i] is None else Approx(r[i], r[i + 1]))
                else:
                    conv.append(lambda r, i=i: r[i])
            else:
                k = e[1]
                if k not in keys:
                    raise QErr("item %s is not in GROUP BY" % expr_name(e))
                sel.append(self.key_sql(k))
                if k[0] in ("year", "month"):
                    conv.append(lambda r, i=i: r[i])
                else:
                    conv.append(lambda r, i=i, col=k[1]: self.typed(col, r[i]))
        sel.append("COUNT(DISTINCT %s)" % UNIT)
        sql = "SELECT %s FROM t" % ", ".join(sel)
        if pq["where"] is not None:
            sql += " WHERE " + self.cond(pq["where"])
        if keys:
            sql += " GROUP BY " + ", ".join(self.key_sql(k) for k in keys)
        return sql, conv

    def answer(self, text):
        """(columns, released rows, suppressed count, ordered?, sqlite sql) for text."""
        pq = Parser(text).query()
        sql, conv = self.translate(pq)
        released, suppressed = [], 0
        for row in self.db.execute(sql):
            # The threshold rule: >= min_group distinct units, else suppressed.
            if row[-1] < self.min_group:
                suppressed += 1
                continue
            released.append([f(row) for f in conv])
        names = [alias if alias is not None else expr_name(e) for e, alias in pq["items"]]
        if pq["order"]:
            # broker/release.c: a total order (the ORDER BY terms, then every
            # column ascending), NULLs first; LIMIT after suppression.
            idx = []
            for name, desc in pq["order"]:
                if name not in names:
                    raise QErr("ORDER BY %s: no such output" % name)
                idx.append((names.index(name), desc))
            released.sort(key=lambda r: [sort_key(v) for v in r])
            for i, desc in reversed(idx):
                released.sort(key=lambda r, i=i: sort_key(r[i]), reverse=desc)
        if pq["limit"] is not None:
            released = released[:pq["limit"]]
        return names, released, suppressed, bool(pq["order"]), sql


def sort_key(v):
    return (0,) if v is None else (1, v)


class XAgg:
    """Exact sums over the clamped, non-NULL values (Fractions, no rounding)."""

    def __init__(self):
        self.n, self.s, self.q = 0, Fraction(0), Fraction(0)
        self.scale, self.type = 0, "INT"

    def step(self, x, scale, typ):
        self.scale, self.type = scale, typ
        if x is None:
            return
        f = Fraction(x)  # exact, also for a float
        self.n += 1
        self.s += f
        self.q += f * f


class XSum(XAgg):
    def finalize(self):
        if self.n == 0:
            return None
        if self.type == "INT":
            return int(self.s)
        return float(self.s / 10 ** self.scale)


class XAvg(XAgg):
    def finalize(self):
        return None if self.n == 0 else float(self.s / 10 ** self.scale / self.n)


def sample_variance(a):
    # The engine's definition (broker/release.c derive): the sample variance.
    if a.n < 2:
        return None
    var = (a.n * a.q - a.s * a.s) / (a.n * (a.n - 1)) / 10 ** (2 * a.scale)
    return max(var, Fraction(0))


class XVar(XAgg):
    def finalize(self):
        v = sample_variance(self)
        return None if v is None else float(v)


class XStd(XAgg):
    def finalize(self):
        v = sample_variance(self)
        return None if v is None else math.sqrt(float(v))


# ---- comparison ------------------------------------------------------------

REL = 1e-9  # floats: relative to the exact answer
SUM_ABS = 1e-12  # REAL SUM and AVG: also absolute, relative to the sum (mean) of |x|


class Approx(float):
    """
    The exact SUM or AVG of REAL values, with an absolute tolerance: a sum
    of n doubles in any order is within (n - 1) * 2^-53 * sum|x| of the
    exact one, so when the values cancel (an exact sum of 0, say), only the
    magnitude of the terms says how close a correct engine must come.
    Everything else float must be within REL of the exact value: VARIANCE
    and STDDEV too, whatever the cancellation.
    """

    def __new__(cls, v, mag):
        x = float.__new__(cls, v)
        x.atol = SUM_ABS * (mag or 0.0)
        return x


def cell_ok(want, got):
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    if isinstance(want, float) or isinstance(got, float):
        if not (isinstance(want, float) and isinstance(got, float)):
            return False
        err = abs(want - got)
        return err <= REL * abs(want) or err <= getattr(want, "atol", 0.0)
    return type(want) is type(got) and want == got


def row_key(r):
    # Floats rounded to the comparison's precision, so that two values equal
    # to 1e-9 (a sum added in another order: the worker's threads) sort as
    # one and the next cell decides, as it does for SQLite's rows.
    return [(0, 0) if v is None else (1, float("%.8g" % v) if isinstance(v, float) else v)
            for v in r]


def compare(want_rows, got_rows, ordered):
    """
    The (want, got) pairs that differ, None for a row missing on one side.
    In order under ORDER BY; else as multisets: rows are matched on their
    exact cells (everything but floats), then by their floats in order.
    """
    if ordered:
        pairs = [(want_rows[i] if i < len(want_rows) else None,
                  got_rows[i] if i < len(got_rows) else None)
                 for i in range(max(len(want_rows), len(got_rows)))]
    else:
        def sig(r):
            return tuple(("float",) if isinstance(v, float) else (type(v).__name__, v) for v in r)

        sides = {}
        for k, rows in ((0, want_rows), (1, got_rows)):
            for r in rows:
                sides.setdefault(sig(r), ([], []))[k].append(r)
        pairs = []
        for key in sorted(sides, key=repr):
            w, g = (sorted(x, key=row_key) for x in sides[key])
            pairs += [(w[i] if i < len(w) else None, g[i] if i < len(g) else None)
                      for i in range(max(len(w), len(g)))]
    return [(w, g) for w, g in pairs
            if w is None or g is None or len(w) != len(g) or
            not all(cell_ok(a, b) for a, b in zip(w, g))]


# ---- the corpus ------------------------------------------------------------

# Hand-written: every form at least once, with the cases that matter.
HAND = [
    # every aggregate, globally
    "SELECT COUNT(*) FROM oracle",
    "SELECT COUNT(*), COUNT(DISTINCT region), COUNT(DISTINCT tier), COUNT(DISTINCT opened) FROM oracle",
    "SELECT COUNT(DISTINCT ratio), COUNT(DISTINCT rate), COUNT(DISTINCT active), COUNT(DISTINCT delta) FROM oracle",
    "SELECT COUNT(DISTINCT amount), COUNT(DISTINCT visits), COUNT(DISTINCT weight) FROM oracle",
    "SELECT SUM(amount), AVG(amount), STDDEV(amount), VARIANCE(amount), MIN(amount), MAX(amount) FROM oracle",
    "SELECT SUM(visits), AVG(visits), STDDEV(visits), VARIANCE(visits), MIN(visits), MAX(visits) FROM oracle",
    "SELECT SUM(weight), AVG(weight), STDDEV(weight), VARIANCE(weight), MIN(weight), MAX(weight) FROM oracle",
    "SELECT SUM(grade), AVG(grade), STDDEV(grade), VARIANCE(grade), MIN(grade), MAX(grade) FROM oracle",
    "SELECT SUM(delta), AVG(delta), STDDEV(delta), VARIANCE(delta), MIN(delta), MAX(delta) FROM oracle",
    "SELECT SUM(ratio), AVG(ratio), STDDEV(ratio), VARIANCE(ratio), MIN(ratio), MAX(ratio) FROM oracle",
    "SELECT SUM(rate), AVG(rate), STDDEV(rate), VARIANCE(rate), MIN(rate), MAX(rate) FROM oracle",
    "SELECT MIN(region), MAX(region), MIN(tier), MAX(tier), MIN(opened), MAX(opened), MIN(active), MAX(active) FROM oracle",
    # lower case, aliases, quoted names, a comment, a trailing ';'
    "select region as r, count(*) as n, sum(amount) as total from oracle group by region;",
    'SELECT "region", "tier", Count(*) FROM "oracle" GROUP BY "region", "tier"',
    "SELECT tier, -- the tier\n  AVG(weight) FROM oracle GROUP BY tier",
    # NULL group keys, and '' apart from NULL
    "SELECT tier, COUNT(*), COUNT(DISTINCT region) FROM oracle GROUP BY tier",
    "SELECT YEAR(opened), COUNT(*), AVG(visits) FROM oracle GROUP BY YEAR(opened)",
    "SELECT MONTH(opened), COUNT(*), MIN(opened), MAX(opened) FROM oracle GROUP BY MONTH(opened)",
    "SELECT YEAR(opened), MONTH(opened), COUNT(*) FROM oracle GROUP BY YEAR(opened), MONTH(opened)",
    "SELECT BUCKET(delta, 100), COUNT(*), SUM(delta) FROM oracle GROUP BY BUCKET(delta, 100)",
    "SELECT BUCKET(ratio, 2.5), COUNT(*), AVG(ratio) FROM oracle GROUP BY BUCKET(ratio, 2.5)",
    "SELECT BUCKET(rate, 12.5), COUNT(*), SUM(amount) FROM oracle GROUP BY BUCKET(rate, 12.5)",
    "SELECT BUCKET(rate, 0.50), COUNT(*) FROM oracle WHERE rate BETWEEN 10 AND 20 GROUP BY BUCKET(rate, 0.50)",
    "SELECT BUCKET(grade, 10), COUNT(*), VARIANCE(weight), STDDEV(weight) FROM oracle GROUP BY BUCKET(grade, 10)",
    "SELECT BUCKET(ratio, 0.01), COUNT(*), VARIANCE(ratio), STDDEV(ratio) FROM oracle WHERE ratio > 5 GROUP BY BUCKET(ratio, 0.01)",
    "SELECT BUCKET(grade, 007), COUNT(*) FROM oracle GROUP BY BUCKET(grade, 007)",
    "SELECT BUCKET(grade, 10.0), COUNT(*) FROM oracle GROUP BY BUCKET(grade, 10.0)",
    "SELECT BUCKET(delta, 3), COUNT(*) FROM oracle WHERE delta BETWEEN -20 AND 20 GROUP BY BUCKET(delta, 3)",
    "SELECT BUCKET(ratio, 0.1), COUNT(*) FROM oracle WHERE ratio BETWEEN -1 AND 1 GROUP BY BUCKET(ratio, 0.1)",
    "SELECT active, COUNT(*), MIN(amount), MAX(weight) FROM oracle GROUP BY active",
    "SELECT opened, COUNT(*) FROM oracle WHERE opened < DATE '1970-01-01' GROUP BY opened",
    "SELECT ratio, COUNT(*) FROM oracle WHERE ratio BETWEEN -0.001 AND 0.001 GROUP BY ratio",
    "SELECT rate, COUNT(*) FROM oracle WHERE rate IN (0, 12.125, -25, 100) GROUP BY rate",
    "SELECT region, tier, active, COUNT(*) FROM oracle GROUP BY region, tier, active",
    # the single-unit groups: suppressed however many rows
    "SELECT region, COUNT(*) FROM oracle WHERE region IN ('solo', 'duo') GROUP BY region",
    "SELECT COUNT(*), SUM(amount) FROM oracle WHERE region = 'solo'",
    "SELECT COUNT(*) FROM oracle WHERE region = 'duo'",
    "SELECT tier, COUNT(*) FROM oracle WHERE tier = 'platinum' GROUP BY tier",
    # keys not in the output; the same key twice
    "SELECT COUNT(*), AVG(amount) FROM oracle GROUP BY region",
    "SELECT region, region, COUNT(*) FROM oracle GROUP BY region",
    "SELECT COUNT(*), region FROM oracle GROUP BY tier, region",
    # empty results
    "SELECT COUNT(*) FROM oracle WHERE grade > 100",
    "SELECT COUNT(*), SUM(amount), AVG(weight), MIN(region) FROM oracle WHERE region = 'nowhere'",
    "SELECT region, COUNT(*) FROM oracle WHERE grade < 0 GROUP BY region",
    "SELECT region, SUM(visits) FROM oracle WHERE delta IS NULL AND delta IS NOT NULL GROUP BY region",
    "SELECT COUNT(*) FROM oracle WHERE rate = 12.1255",
    "SELECT COUNT(*) FROM oracle WHERE grade IN (40.5, 41.25)",
    "SELECT COUNT(*) FROM oracle WHERE grade NOT IN (40.5)",
    # aggregates over only NULLs: NULL, not 0
    "SELECT COUNT(*), SUM(delta), AVG(delta), VARIANCE(delta), MIN(delta), COUNT(DISTINCT delta) FROM oracle WHERE delta IS NULL",
    "SELECT region, SUM(ratio), STDDEV(ratio), MAX(ratio), AVG(ratio) FROM oracle WHERE ratio IS NULL GROUP BY region",
    "SELECT COUNT(*), SUM(visits), AVG(visits), VARIANCE(visits), STDDEV(weight), MIN(visits) FROM oracle WHERE region = 'solo' OR region = 'duo'",
    "SELECT tier, MIN(opened), MAX(opened), MIN(tier) FROM oracle WHERE opened IS NULL GROUP BY tier",
    # comparisons of every type and operator
    "SELECT COUNT(*) FROM oracle WHERE region = 'north'",
    "SELECT COUNT(*) FROM oracle WHERE region <> 'north'",
    "SELECT COUNT(*) FROM oracle WHERE region != 'north'",
    "SELECT COUNT(*) FROM oracle WHERE region < 'north'",
    "SELECT COUNT(*) FROM oracle WHERE region <= 'north'",
    "SELECT COUNT(*) FROM oracle WHERE region > 'north'",
    "SELECT COUNT(*) FROM oracle WHERE region >= 'north'",
    "SELECT COUNT(*) FROM oracle WHERE region = ''",
    "SELECT COUNT(*) FROM oracle WHERE tier = ''",
    "SELECT COUNT(*) FROM oracle WHERE tier <> ''",
    "SELECT COUNT(*) FROM oracle WHERE region = 'o''hara, \"ltd\"'",
    "SELECT COUNT(*) FROM oracle WHERE region = 'Île-de-France' OR region = '新区'",
    "SELECT COUNT(*) FROM oracle WHERE region > 'z'",
    "SELECT COUNT(*) FROM oracle WHERE region BETWEEN 'a' AND 'n'",
    "SELECT COUNT(*) FROM oracle WHERE region NOT BETWEEN 'a' AND 'n'",
    "SELECT COUNT(*) FROM oracle WHERE tier NOT BETWEEN 'bronze' AND 'gold'",
    "SELECT COUNT(*) FROM oracle WHERE tier NOT IN ('gold', 'silver')",
    "SELECT COUNT(*) FROM oracle WHERE tier IN ('gold', 'nothing', '')",
    "SELECT COUNT(*) FROM oracle WHERE region LIKE 'nor%'",
    "SELECT COUNT(*) FROM oracle WHERE region LIKE 'Nor%'",
    "SELECT COUNT(*) FROM oracle WHERE region LIKE '%'",
    "SELECT COUNT(*) FROM oracle WHERE tier LIKE '%'",
    "SELECT COUNT(*) FROM oracle WHERE region LIKE 'Île%'",
    "SELECT COUNT(*) FROM oracle WHERE NOT region LIKE 'n%'",
    "SELECT COUNT(*) FROM oracle WHERE tier LIKE 'g%' OR tier IS NULL",
    "SELECT COUNT(*) FROM oracle WHERE grade = 62",
    "SELECT COUNT(*) FROM oracle WHERE grade <> 62",
    "SELECT COUNT(*) FROM oracle WHERE grade < 30",
    "SELECT COUNT(*) FROM oracle WHERE grade <= 30",
    "SELECT COUNT(*) FROM oracle WHERE grade > 80",
    "SELECT COUNT(*) FROM oracle WHERE grade >= 80",
    "SELECT COUNT(*) FROM oracle WHERE grade > 79.5",
    "SELECT COUNT(*) FROM oracle WHERE grade >= 79.5",
    "SELECT COUNT(*) FROM oracle WHERE grade < 30.5",
    "SELECT COUNT(*) FROM oracle WHERE grade <= 30.5",
    "SELECT COUNT(*) FROM oracle WHERE grade = 30.0",
    "SELECT COUNT(*) FROM oracle WHERE grade <> 30.5",
    "SELECT COUNT(*) FROM oracle WHERE grade BETWEEN 20.5 AND 40.5",
    "SELECT COUNT(*) FROM oracle WHERE grade BETWEEN 40 AND 20",
    "SELECT COUNT(*) FROM oracle WHERE delta < -0.5",
    "SELECT COUNT(*) FROM oracle WHERE delta <= -0.5",
    "SELECT COUNT(*) FROM oracle WHERE delta > -0.5",
    "SELECT COUNT(*) FROM oracle WHERE delta >= -0.5",
    "SELECT COUNT(*) FROM oracle WHERE delta > 9223372036854775807",
    "SELECT COUNT(*) FROM oracle WHERE delta <= 9223372036854775807",
    "SELECT COUNT(*) FROM oracle WHERE delta < -9223372036854775808",
    "SELECT COUNT(*) FROM oracle WHERE delta >= -9223372036854775808",
    "SELECT COUNT(*) FROM oracle WHERE delta BETWEEN -9223372036854775808 AND 9223372036854775807",
    "SELECT COUNT(*) FROM oracle WHERE delta > 1000000000000 OR delta < -1000000000000",
    "SELECT COUNT(*) FROM oracle WHERE delta IS NULL",
    "SELECT COUNT(*) FROM oracle WHERE grade >= 4.000000000000000001",
    "SELECT COUNT(*) FROM oracle WHERE grade > 3.999999999999999999",
    "SELECT COUNT(*) FROM oracle WHERE grade <= 3.999999999999999999",
    "SELECT COUNT(*) FROM oracle WHERE grade = 4.000000000000000000",
    "SELECT COUNT(*) FROM oracle WHERE grade IN (4.000000000000000001, 5.00)",
    "SELECT COUNT(*) FROM oracle WHERE delta < -0.000000000000000001",
    "SELECT COUNT(*) FROM oracle WHERE delta >= -0.000000000000000001",
    "SELECT COUNT(*) FROM oracle WHERE rate = 12.125000000000000",
    "SELECT COUNT(*) FROM oracle WHERE rate >= 12.125000000000001",
    "SELECT COUNT(*) FROM oracle WHERE rate BETWEEN 12.124999999999999 AND 12.125000000000001",
    "SELECT COUNT(*) FROM oracle WHERE NOT rate = 12.1251",
    "SELECT COUNT(*) FROM oracle WHERE NOT delta IN (0.5, 1.5)",
    "SELECT COUNT(*) FROM oracle WHERE delta IS NOT NULL",
    "SELECT COUNT(*) FROM oracle WHERE NOT delta > 0",
    "SELECT COUNT(*) FROM oracle WHERE NOT (delta > 0 OR delta < 0)",
    "SELECT COUNT(*) FROM oracle WHERE rate = 12.125",
    "SELECT COUNT(*) FROM oracle WHERE rate < 0",
    "SELECT COUNT(*) FROM oracle WHERE rate > 99.9995",
    "SELECT COUNT(*) FROM oracle WHERE rate >= 99.9995",
    "SELECT COUNT(*) FROM oracle WHERE rate <= -0.0005",
    "SELECT COUNT(*) FROM oracle WHERE rate BETWEEN -0.0005 AND 0.0005",
    "SELECT COUNT(*) FROM oracle WHERE rate > 10000000000000000",
    "SELECT COUNT(*) FROM oracle WHERE rate < 10000000000000000",
    "SELECT COUNT(*) FROM oracle WHERE rate > -10000000000000000",
    "SELECT COUNT(*) FROM oracle WHERE rate <> 10000000000000000",
    "SELECT COUNT(*) FROM oracle WHERE rate NOT IN (0, 100, 12.125)",
    "SELECT COUNT(*) FROM oracle WHERE ratio = 2.5",
    "SELECT COUNT(*) FROM oracle WHERE ratio = 0",
    "SELECT COUNT(*) FROM oracle WHERE ratio = -0.0",
    "SELECT COUNT(*) FROM oracle WHERE ratio <> 0",
    "SELECT COUNT(*) FROM oracle WHERE ratio < -2.5",
    "SELECT COUNT(*) FROM oracle WHERE ratio <= -2.5",
    "SELECT COUNT(*) FROM oracle WHERE ratio > 0.001",
    "SELECT COUNT(*) FROM oracle WHERE ratio >= 0.001",
    "SELECT COUNT(*) FROM oracle WHERE ratio BETWEEN -1.5 AND 1.5",
    "SELECT COUNT(*) FROM oracle WHERE ratio NOT BETWEEN -1.5 AND 1.5",
    "SELECT COUNT(*) FROM oracle WHERE ratio IN (2.5, -2.5, 0.001, 7)",
    "SELECT COUNT(*) FROM oracle WHERE ratio NOT IN (2.5, -2.5)",
    "SELECT COUNT(*) FROM oracle WHERE ratio IS NULL",
    "SELECT COUNT(*) FROM oracle WHERE opened = DATE '2020-02-29'",
    "SELECT COUNT(*) FROM oracle WHERE opened = '2020-02-29'",
    "SELECT COUNT(*) FROM oracle WHERE opened <> DATE '2020-02-29'",
    "SELECT COUNT(*) FROM oracle WHERE opened < DATE '1970-01-01'",
    "SELECT COUNT(*) FROM oracle WHERE opened <= DATE '1969-12-31'",
    "SELECT COUNT(*) FROM oracle WHERE opened > DATE '2024-12-31'",
    "SELECT COUNT(*) FROM oracle WHERE opened >= '2025-01-01'",
    "SELECT COUNT(*) FROM oracle WHERE opened BETWEEN DATE '2019-01-01' AND DATE '2019-12-31'",
    "SELECT COUNT(*) FROM oracle WHERE opened NOT BETWEEN DATE '1960-01-01' AND '2020-01-01'",
    "SELECT COUNT(*) FROM oracle WHERE opened IN (DATE '1970-01-01', DATE '1900-03-01', '2000-02-29')",
    "SELECT COUNT(*) FROM oracle WHERE opened NOT IN (DATE '1970-01-01')",
    "SELECT COUNT(*) FROM oracle WHERE opened IS NULL",
    "SELECT COUNT(*) FROM oracle WHERE opened IS NOT NULL AND opened < DATE '1900-03-02'",
    "SELECT COUNT(*) FROM oracle WHERE active = TRUE",
    "SELECT COUNT(*) FROM oracle WHERE active = FALSE",
    "SELECT COUNT(*) FROM oracle WHERE active <> TRUE",
    "SELECT COUNT(*) FROM oracle WHERE active < TRUE",
    "SELECT COUNT(*) FROM oracle WHERE active >= TRUE",
    "SELECT COUNT(*) FROM oracle WHERE active IN (TRUE)",
    "SELECT COUNT(*) FROM oracle WHERE active NOT IN (TRUE, FALSE)",
    "SELECT COUNT(*) FROM oracle WHERE active BETWEEN FALSE AND TRUE",
    "SELECT COUNT(*) FROM oracle WHERE NOT active = TRUE",
    # nesting, precedence, NULLs under NOT (three-valued)
    "SELECT COUNT(*) FROM oracle WHERE region = 'north' OR region = 'south' AND grade > 50",
    "SELECT COUNT(*) FROM oracle WHERE (region = 'north' OR region = 'south') AND grade > 50",
    "SELECT COUNT(*) FROM oracle WHERE NOT (tier = 'gold')",
    "SELECT COUNT(*) FROM oracle WHERE NOT (tier = 'gold' AND delta > 0)",
    "SELECT COUNT(*) FROM oracle WHERE NOT (tier = 'gold' OR delta > 0)",
    "SELECT COUNT(*) FROM oracle WHERE NOT NOT (ratio > 1)",
    "SELECT COUNT(*) FROM oracle WHERE NOT (NOT (ratio > 1) AND NOT (opened < DATE '2016-01-01'))",
    "SELECT COUNT(*) FROM oracle WHERE ((((grade > 10))))",
    "SELECT COUNT(*) FROM oracle WHERE tier = 'gold' OR tier <> 'gold'",
    "SELECT COUNT(*) FROM oracle WHERE NOT (tier = 'gold' OR tier <> 'gold')",
    "SELECT COUNT(*) FROM oracle WHERE delta IN (0, -1) OR ratio IN (0) OR opened IN (DATE '1970-01-01')",
    # ORDER BY (after suppression), LIMIT
    "SELECT region, COUNT(*) AS n FROM oracle GROUP BY region ORDER BY n DESC",
    "SELECT region, COUNT(*) AS n FROM oracle GROUP BY region ORDER BY n DESC LIMIT 3",
    "SELECT tier, COUNT(*) FROM oracle GROUP BY tier ORDER BY tier",
    "SELECT tier, COUNT(*) FROM oracle GROUP BY tier ORDER BY tier DESC",
    "SELECT YEAR(opened), COUNT(*) FROM oracle GROUP BY YEAR(opened) ORDER BY YEAR(opened) DESC LIMIT 5",
    "SELECT BUCKET(grade, 10) AS g, SUM(visits) FROM oracle GROUP BY BUCKET(grade, 10) ORDER BY SUM(visits) ASC, g DESC",
    "SELECT region, tier, COUNT(*) FROM oracle GROUP BY region, tier ORDER BY COUNT(*) DESC, region LIMIT 10",
    "SELECT active, MIN(region), MAX(opened) FROM oracle GROUP BY active ORDER BY active DESC",
    "SELECT region, COUNT(*) FROM oracle GROUP BY region LIMIT 0",
    "SELECT region, COUNT(*) FROM oracle GROUP BY region ORDER BY region LIMIT 100",
    "SELECT COUNT(*) FROM oracle LIMIT 9223372036854775807",
    # clamping: measures with values outside their bounds
    "SELECT MIN(amount), MAX(amount), MIN(visits), MAX(visits), MIN(weight), MAX(weight) FROM oracle",
    "SELECT region, SUM(amount), MAX(amount), SUM(weight), MIN(weight) FROM oracle GROUP BY region",
    # many groups, mostly single-unit
    "SELECT opened, COUNT(*) FROM oracle GROUP BY opened",
    "SELECT ratio, rate, COUNT(*) FROM oracle GROUP BY ratio, rate",
    "SELECT grade, region, COUNT(*), AVG(amount) FROM oracle GROUP BY grade, region",
    "SELECT delta, COUNT(*) FROM oracle GROUP BY delta",
    "SELECT rate, COUNT(DISTINCT tier) FROM oracle GROUP BY rate",
]


class Gen:
    """Random queries over the product, literals drawn from the data."""

    DIMS = ["region", "tier", "grade", "delta", "opened", "active", "ratio", "rate"]
    NUMS = ["amount", "visits", "weight", "grade", "delta", "ratio", "rate"]
    ALL = DIMS + ["amount", "visits", "weight"]
    KEYS = [("col", "region"), ("col", "tier"), ("col", "active"), ("col", "grade"),
            ("year", "opened"), ("month", "opened"), ("col", "opened"),
            ("bucket", "grade", "10"), ("bucket", "grade", "7"), ("bucket", "grade", "25"),
            ("bucket", "delta", "100"), ("bucket", "delta", "1000"), ("col", "delta"),
            ("bucket", "ratio", "2.5"), ("bucket", "ratio", "1"), ("bucket", "ratio", "0.75"),
            ("bucket", "rate", "10"), ("bucket", "rate", "0.5"), ("bucket", "rate", "12.125"),
            ("bucket", "rate", "25.000"), ("col", "rate"), ("col", "ratio")]

    def __init__(self, data, rng):
        self.rng = rng
        self.vals = {c: [r[c] for r in data if r[c] is not None] for c in self.DIMS}

    def name(self, c):
        return '"%s"' % c if self.rng.random() < 0.05 else c

    def kw(self, w):
        return w.lower() if self.lower else w

    def key_text(self, k):
        if k[0] == "col":
            return self.name(k[1])
        if k[0] == "bucket":
            return "%s(%s, %s)" % (self.kw("BUCKET"), self.name(k[1]), k[2])
        return "%s(%s)" % (self.kw(k[0].upper()), self.name(k[1]))

    def agg_text(self):
        rng = self.rng
        fn = rng.choice(["COUNT", "COUNT", "COUNT_DISTINCT", "SUM", "AVG", "STDDEV", "VARIANCE",
                         "MIN", "MAX"])
        if fn == "COUNT":
            return self.kw("COUNT") + "(*)"
        if fn == "COUNT_DISTINCT":
            return "%s(%s %s)" % (self.kw("COUNT"), self.kw("DISTINCT"), self.name(rng.choice(self.ALL)))
        if fn in ("MIN", "MAX"):
            return "%s(%s)" % (self.kw(fn), self.name(rng.choice(self.ALL)))
        return "%s(%s)" % (self.kw(fn), self.name(rng.choice(self.NUMS)))

    def lit(self, c):
        """A literal for column c: usually a value from the data, sometimes not."""
        rng = self.rng
        v = rng.choice(self.vals[c])
        t = COLS[c].type
        if t == "TEXT":
            if rng.random() < 0.15:
                v = rng.choice(["nowhere", "m", "gold ", "Z", "a", "n"])
            return sq_str(v)
        if t == "DATE":
            if rng.random() < 0.1:
                v = days_to_iso(iso_to_days(v) + rng.randint(-3, 3))
            return ("DATE " if rng.random() < 0.8 else "") + sq_str(v)
        if t == "BOOL":
            return self.kw("TRUE") if v else self.kw("FALSE")
        if t == "INT":
            r = rng.random()
            if r < 0.15:
                return "%d.5" % v if v >= 0 else "-%d.5" % -v
            if r < 0.2:
                return "%d.0" % v
            return str(v)
        if t == "DECIMAL":
            r = rng.random()
            s = num_canon_scaled(v, COLS[c].scale)
            if r < 0.15:
                return s + "5" if "." in s else s + ".0005"
            if r < 0.25 and v % 1000 == 0:
                return str(v // 1000)
            return s
        # REAL
        r = rng.random()
        if r < 0.2:
            return "%d" % round(v)
        if r < 0.3:
            return "%.1f" % v
        return "%.3f" % v

    def leaf(self):
        rng = self.rng
        c = rng.choice(self.DIMS)
        n = self.name(c)
        typ = COLS[c].type
        r = rng.random()
        if r < 0.35:
            return "%s %s %s" % (n, rng.choice(["=", "<>", "!=", "<", "<=", ">", ">="]), self.lit(c))
        if r < 0.5:
            a, b = self.lit(c), self.lit(c)
            neg = rng.random() < 0.3
            return "%s %s%s %s %s %s" % (n, self.kw("NOT ") if neg else "", self.kw("BETWEEN"), a,
                                          self.kw("AND"), b)
        if r < 0.7:
            lits = [self.lit(c) for _ in range(rng.randint(1, 5))]
            neg = rng.random() < 0.35
            return "%s %s%s (%s)" % (n, self.kw("NOT ") if neg else "", self.kw("IN"), ", ".join(lits))
        if r < 0.82 or typ != "TEXT":
            if COLS[c].nullable or rng.random() < 0.3:
                return "%s %s" % (n, self.kw(rng.choice(["IS NULL", "IS NOT NULL"])))
            return "%s %s %s" % (n, rng.choice(["=", "<>", "<", ">="]), self.lit(c))
        v = rng.choice(self.vals[c])
        prefix = v[:rng.randint(0, min(3, len(v)))]
        return "%s %s %s" % (n, self.kw("LIKE"), sq_str(prefix + "%"))

    def cond(self, depth):
        rng = self.rng
        r = rng.random()
        if depth <= 0 or r < 0.4:
            return self.leaf()
        if r < 0.55:
            inner = self.cond(depth - 1)
            return "%s (%s)" % (self.kw("NOT"), inner)
        op = self.kw(rng.choice(["AND", "OR"]))
        kids = [self.cond(depth - 1) for _ in range(rng.randint(2, 3))]
        return (" %s " % op).join("(%s)" % k if rng.random() < 0.7 else k for k in kids) \
            if op.upper() == "AND" else (" %s " % op).join("(%s)" % k for k in kids)

    def query(self):
        rng = self.rng
        self.lower = rng.random() < 0.15
        nk = rng.choices([0, 1, 2], weights=[2, 5, 3])[0]
        keys = []
        while len(keys) < nk:
            k = rng.choice(self.KEYS)
            if k not in keys and all(k[1] != x[1] or k[0] != x[0] for x in keys):
                keys.append(k)
        items = []
        for k in keys:
            if rng.random() < 0.85:
                items.append(self.key_text(k))
        for _ in range(rng.randint(1, 4)):
            a = self.agg_text()
            if rng.random() < 0.1:
                a += " %s a%d" % (self.kw("AS"), len(items))
            items.append(a)
        rng.shuffle(items)
        s = "%s %s %s %s" % (self.kw("SELECT"), ", ".join(items), self.kw("FROM"), PRODUCT)
        if rng.random() < 0.75:
            s += " %s %s" % (self.kw("WHERE"), self.cond(rng.randint(0, 3)))
        if keys:
            s += " %s %s" % (self.kw("GROUP BY"), ", ".join(self.key_text(k) for k in keys))
        return s


def num_canon_scaled(v, scale):
    neg = v < 0
    m = -v if neg else v
    return ("-" if neg else "") + "%d.%0*d" % (m // 10 ** scale, scale, m % 10 ** scale)


def corpus(data, n_random):
    rng = random.Random(SEED + 1)
    g = Gen(data, rng)
    out = list(HAND)
    seen = set(out)
    while len(out) < len(HAND) + n_random:
        s = g.query()
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


# ---- running -----------------------------------------------------------------

# sandbox/exec.h EXEC_MAX_GROUPS, and the refusal of a query that would make more.
GROUPS_MAX = 20000
GROUPS_REFUSAL = "more than 20000 groups"

def run_sluice(args, text):
    p = subprocess.run(args + [text], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def short(v, n=600):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + "..."


def cmd_run(argv):
    opts = {"--min-group": "2", "--every": "1", "--random": "220", "--rows": "3000"}
    flags = set()
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--verbose",):
            flags.add(a)
            i += 1
        elif a.startswith("--") and i + 1 < len(argv):
            opts[a] = argv[i + 1]
            i += 2
        else:
            print("query_oracle.py run: unexpected %r" % a, file=sys.stderr)
            return 2
    for need in ("--sluice", "--dir", "--contract", "--identity"):
        if need not in opts:
            print("query_oracle.py run: %s is required" % need, file=sys.stderr)
            return 2
    t0 = time.time()
    use(opts.get("--product", "oracle"))
    if PRODUCT == "edge":
        data = edge_rows()
        queries = list(EDGE_QUERIES)
    else:
        data, _ = generate(int(opts["--rows"]))
        queries = corpus(data, int(opts["--random"]))
    oracle = Oracle(data, int(opts["--min-group"]))
    every = int(opts["--every"])
    queries = queries[::every]
    base = [opts["--sluice"], "-d", opts["--dir"], "query", "--contract", opts["--contract"],
            "--identity", opts["--identity"], "--json"]
    nq = nrows = nsupp = nempty = nlimit = 0
    problems = []
    for text in queries:
        nq += 1
        if text in EXPECTED_FAILURES:
            rc, out, err = run_sluice(base, text)
            if rc != 1 or EXPECTED_FAILURES[text] not in err:
                problems.append((text, "want exit 1 with %r, got exit %d: %s" % (
                    EXPECTED_FAILURES[text], rc, (err.strip() or out.strip())[:400]), None, text))
            continue
        try:
            names, want, supp, ordered, sql = oracle.answer(text)
        except (QErr, sqlite3.Error) as e:
            print("query_oracle.py: the oracle cannot take %r: %s" % (text, e), file=sys.stderr)
            return 2
        rc, out, err = run_sluice(base, text)
        if rc != 0 and GROUPS_REFUSAL in err and len(want) + supp > GROUPS_MAX:
            # More groups than an answer may carry: the engine's refusal is the right answer.
            nlimit += 1
            continue
        if rc != 0:
            problems.append((text, "exit %d: %s" % (rc, err.strip()[:400]), None, sql))
            continue
        try:
            d = json.loads(out)
        except ValueError as e:
            problems.append((text, "stdout is not JSON: %s" % e, None, sql))
            continue
        got = d.get("rows")
        what = []
        if d.get("columns") != names:
            what.append("columns: want %s, got %s" % (short(names), short(d.get("columns"))))
        if d.get("suppressed_groups") != supp:
            what.append("suppressed_groups: want %d, got %s" % (supp, d.get("suppressed_groups")))
        if d.get("release") != {"mode": "threshold", "min_group": oracle.min_group}:
            what.append("release: %s" % short(d.get("release")))
        if not isinstance(got, list):
            what.append("no rows array")
            got = []
        bad = compare(want, got, ordered)
        nrows += len(got)
        nsupp += supp
        nempty += not got
        if bad:
            what.append("%d of %d expected row(s) differ (%s)" % (
                len(bad), len(want), "in order" if ordered else "as a multiset"))
        if what:
            problems.append((text, "; ".join(what), bad, sql))
        if "--verbose" in flags:
            print("%s %s -> %d rows, %d suppressed" % ("FAIL" if what else "ok", text, len(got), supp))
    print("oracle: %d queries, %d rows compared, %d mismatches (product %s; %d groups "
          "suppressed, %d empty answers, %d refused for more than %d groups; %.1f s)" % (
              nq, nrows, len(problems), PRODUCT, nsupp, nempty, nlimit, GROUPS_MAX,
              time.time() - t0))
    for text, what, bad, sql in problems[:20]:
        print("MISMATCH: %s" % text)
        print("  %s" % what)
        print("  (SQLite: %s)" % (sql if len(sql) < 400 else sql[:400] + "..."))
        for w, g in (bad or [])[:4]:
            print("    expected %s" % ("(no row)" if w is None else short(w)))
            print("    got      %s" % ("(no row)" if g is None else short(g)))
        if bad and len(bad) > 4:
            print("    ... and %d more" % (len(bad) - 4))
    return 1 if problems else 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("gen", "run"):
        print("usage: query_oracle.py gen DIR [--rows N] | run --sluice BIN --dir D "
              "--contract ID --identity KEY [--min-group N] [--every K] [--rows N]",
              file=sys.stderr)
        return 2
    return cmd_gen(sys.argv[2:]) if sys.argv[1] == "gen" else cmd_run(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
