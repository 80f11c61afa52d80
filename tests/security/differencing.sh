#!/bin/sh
# The differencing pair and the timing of dp answers (issue 15), through
# `sluice query` end to end.  One member is the only one of age 95 and
# chapter XV among cixi's 2019 claims; the pair of queries below differ by
# exactly that member.  In threshold mode both pass min_group and their
# difference is the member's claim, to the fen.  In dp mode each is asked 200
# times: the two answer distributions must be as close as epsilon allows,
# their spread as the answer states it, and the response time must not
# follow the noise drawn.
set -u
. "${top_srcdir:-.}/tests/integration/lib.sh"
suite=intl
D="$T/x"
N=${DP_PAIRS_N:-200}

A="SELECT SUM(claim_fen) FROM claims WHERE region = 'cixi' AND year = 2019"
B="$A AND NOT (age = 95 AND dx_chapter = 'XV')"
MEMBER_FEN=250000

exchange
# 400 members in cixi in 2019, one claim each, none of them 95 with chapter
# XV but the one; and 200 elsewhere.
python3 - "$T/claims.csv" "$MEMBER_FEN" <<'PY'
import csv, random, sys
rnd = random.Random(15)
chapters = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV"]
w = csv.writer(open(sys.argv[1], "w", newline=""))
w.writerow(["member_id", "age", "sex", "region", "plan", "dx_chapter", "claim_fen", "paid_fen",
            "inpatient_days", "year", "admitted", "name"])
for i in range(600):
    region, year = ("cixi", 2019) if i < 400 else ("yuyao", 2020)
    fen = rnd.randint(1000, 500000)
    w.writerow([10000 + i, rnd.randint(20, 70), rnd.choice("FM"), region, "urban_employee",
                rnd.choice(chapters), fen, fen // 2, 0, year, "", "x"])
fen = int(sys.argv[2])
w.writerow([99999, 95, "F", "cixi", "urban_employee", "XV", fen, fen // 2, 3, 2019, "", "x"])
PY
claims_product "$T/claims.csv"
cols='t["columns"] = ["age", "sex", "region", "dx_chapter", "claim_fen", "year"]; t["query_quota"] = 100000'
terms "$T/th.json" "$cols"
terms "$T/dp.json" "$cols; t[\"release\"] = {\"mode\": \"dp\", \"mechanism\": \"laplace\", \"epsilon_total\": \"1000\", \"epsilon_per_query\": \"1\"}"
TH=$(contract "$T/th.json" "$T/th.c.json")
DP=$(contract "$T/dp.json" "$T/dp.c.json")

note "threshold mode: the pair isolates the member's claim"
q() { run "$SLUICE" -d "$D" query --contract "$1" --identity "$T/$suite-buyer.key" --json "$2"; }
q "$TH" "$A" || fail "threshold A"
json_doc
a=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"][0][0])' "$OUT")
q "$TH" "$B" || fail "threshold B"
b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"][0][0])' "$OUT")
check_eq "A - B is the member's claim" "$((a - b))" "$MEMBER_FEN"

note "dp mode: $N answers to each, their spread, and their timing"
run python3 - "$SLUICE" "$D" "$DP" "$T/$suite-buyer.key" "$N" "$a" "$b" "$A" "$B" <<'PY'
import json, math, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor

sluice, d, contract, key, n, exact_a, exact_b, qa, qb = sys.argv[1:]
n, exact = int(n), {qa: int(exact_a), qb: int(exact_b)}

def ask(text):
    t0 = time.perf_counter()
    p = subprocess.run([sluice, "-d", d, "query", "--contract", contract, "--identity", key,
                        "--json", text], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("query failed: " + p.stderr)
    doc = json.loads(p.stdout)
    return text, doc["rows"][0][0], dt, doc["release"]

with ThreadPoolExecutor(2) as pool:
    runs = list(pool.map(ask, [qa, qb] * n))
rel = runs[0][3]
noise = {x["quantity"]: x for x in rel["noise"]}
mid = 5000000  # claim_fen's bounds [0, 10^7]: the shifted sum's midpoint
ok = True

def check(what, good, detail):
    global ok
    print(("ok" if good else "FAIL") + ": " + what + " (" + detail + ")")
    ok = ok and good

# One group, public: the epsilon of 1 is split between the rows and the sum.
check("the answer states one public group, rows and sum at epsilon 1/2 each",
      rel["groups"] == "public" and sorted(noise) == ["rows", "sum"] and rel["share"] == "0.5",
      json.dumps(rel, sort_keys=True))

# Laplace at scale t has variance 2 r / (1 - r)^2, r = e^(-1/t); the released
# SUM is s1 + noise_s + mid * (rows + noise_r).
def lap_var(t):
    r = math.exp(-1 / t)
    return 2 * r / (1 - r) ** 2
t_s, t_r = float(noise["sum"]["scale"]), float(noise["rows"]["scale"])
want_var = lap_var(t_s) + mid * mid * lap_var(t_r)
err = [v - exact[text] for text, v, _, _ in runs]
var = sum(e * e for e in err) / len(err)
check("the noise's variance is the stated scales'", abs(var / want_var - 1) < 0.4,
      "%.3g against %.3g" % (var, want_var))
half = noise["sum"]["ci95"] + mid * noise["rows"]["ci95"]
inside = sum(abs(e) <= half for e in err) / len(err)
check("the stated 95 % half-widths hold", inside >= 0.9, "%.3f of answers within %d" % (inside, half))

# Two-sample Kolmogorov-Smirnov distance between the answers to A and to B.
# Under epsilon-DP (epsilon 1 for the whole answer) their total variation is
# at most tanh(1/2) = 0.462; 0.195 is the KS critical value at 0.001 for 200
# and 200 samples.  Without noise the distance is 1.
va = sorted(v for text, v, _, _ in runs if text == qa)
vb = sorted(v for text, v, _, _ in runs if text == qb)
ks, i, j = 0, 0, 0
while i < len(va) and j < len(vb):
    x = min(va[i], vb[j])
    while i < len(va) and va[i] == x: i += 1
    while j < len(vb) and vb[j] == x: j += 1
    ks = max(ks, abs(i / len(va) - j / len(vb)))
bound = math.tanh(0.5) + 1.949 * math.sqrt((len(va) + len(vb)) / (len(va) * len(vb)))
check("the pair's answers are as close as epsilon allows", ks <= bound,
      "KS distance %.3f, at most %.3f; means differ by %.0f fen, the member's claim is %d"
      % (ks, bound, sum(va) / len(va) - sum(vb) / len(vb), exact[qa] - exact[qb]))

# The response time against the noise drawn: Pearson's r over all answers.
def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)
dts = [dt for _, _, dt, _ in runs]
mag = [abs(e) for e in err]
r_abs, r_signed = pearson(dts, mag), pearson(dts, err)
limit = 4 / math.sqrt(len(dts))  # four standard errors of r under no correlation
check("the response time does not follow the noise", abs(r_abs) < limit and abs(r_signed) < limit,
      "r = %.3f against |noise|, %.3f against the noise, limit %.3f; median %.1f ms"
      % (r_abs, r_signed, limit, 1000 * sorted(dts)[len(dts) // 2]))
# The same statistic sees a planted leak: one time spread per noise spread.
sd_t = math.sqrt(sum((t - sum(dts) / len(dts)) ** 2 for t in dts) / len(dts))
sd_m = math.sqrt(sum((m - sum(mag) / len(mag)) ** 2 for m in mag) / len(mag))
leaky = [t + sd_t * m / sd_m for t, m in zip(dts, mag)]
check("a planted dependence of the time on the noise is caught", pearson(leaky, mag) >= limit,
      "r = %.3f" % pearson(leaky, mag))
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] || fail "dp pairs"
cat "$OUT"
expect_ok "$SLUICE" -d "$D" budget --contract "$DP" --json
json_eq "every dp answer charged once" 'd["queries"]' "$((2 * N))"
pass
