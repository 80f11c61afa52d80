#!/bin/sh
# The web console (web/, served by `sluice serve`) in a real browser: Debian's
# chromium driven by playwright-core (tests/console/), against the real daemon
# with the demo's data.  The merchant uploads a version and sees a bad file's
# line:column errors, the buyer's released rows and suppression count match
# `sluice query` for the same query, the ledger chart has a series per party,
# the auditor's export verifies (in the browser, and the downloaded file with
# `sluice audit verify`), and another buyer's query is not found.  Then, with
# curl: a login link works once and expires, a console request that changes
# something needs its CSRF token, and a cross-site one is refused.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need curl
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || skip "chromium is not installed (apt-get install chromium)"
PW="${top_srcdir:-.}/tests/console/node_modules/playwright-core"
[ -d "$PW" ] || skip "playwright-core is not installed (cd tests/console && npm ci)"
need node

. "${top_srcdir:-.}/tests/integration/serve_lib.sh"
trap 'kill -KILL $PID 2>/dev/null; rm -rf "$T"' EXIT
OUTDIR=${CONSOLE_OUT:-"$T/console"}
mkdir -p "$OUTDIR"

# A product of the merchant's own for the uploads, so the buyer's queries see the demo's data.
python3 -c 'import json,sys; s = json.load(open(sys.argv[1])); s["name"] = "claims2"; print(json.dumps(s))' "$D/claims.schema.json" >"$T/claims2.schema.json"
expect_ok "$SLUICE" -d "$X" product add claims2 --schema "$T/claims2.schema.json" --merchant acme-merchant
head -n 1001 "$D/claims.csv" >"$T/good.csv"
sed '500s/^\([0-9]*\),[0-9]*,/\1,old,/' "$T/good.csv" >"$T/bad.csv"
"$SLUICE" -d "$X" product load claims2 "$T/bad.csv" --json >/dev/null 2>"$T/cli-errors.json" && fail "the CLI loaded the bad file"

C=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$D/pacific-insurance-claims.contract.json")
SQL="SELECT region, COUNT(*), AVG(claim_fen) FROM claims WHERE age >= 80 GROUP BY region"
expect_ok "$SLUICE" -d "$X" query --contract "$C" --identity "$D/pacific-insurance.key" --json "$SQL"
cp "$OUT" "$T/cli-answer.json"

start --workers 2 --max-jobs 2 --web "${top_srcdir:-.}/web" \
	--console-token acme-merchant,pacific-insurance,deepsight-ai,audit-office,city-health-bureau,ningbo-data-ops,platform
check "the daemon prints a login link per party" test "$(grep -c '^console login for ' "$T/serve.out")" -eq 7

note "the console in chromium"
(cd "${top_srcdir:-.}/tests/console" &&
	BASE="https://127.0.0.1:$PORT" OUT="$OUTDIR" LINKS="$T/serve.out" CLI_ANSWER="$T/cli-answer.json" \
		CLI_ERRORS="$T/cli-errors.json" SQL="$SQL" GOOD_CSV="$T/good.csv" BAD_CSV="$T/bad.csv" \
		CHROMIUM="$CHROMIUM" node console_test.mjs) >"$T/browser.out" 2>&1
rc=$?
cat "$T/browser.out"
[ $rc -eq 0 ] || fail "the browser test failed (screenshots in $OUTDIR)"
ok "the browser test passed: $(cat "$OUTDIR/result.txt")"
for p in merchant-catalog merchant-product buyer-query buyer-query-390px auditor-audit auditor-ledger \
	holder-contract operator-ledger platform-ledger; do
	check "a screenshot of $p" test -s "$OUTDIR/$p.png"
done
expect_ok "$SLUICE" audit verify "$OUTDIR/audit.jsonl" --key "$X/platform.pub"

note "a login link works once"
URL1=$(sed -n 's/^console login for acme-merchant .*: //p' "$T/serve.out")
code=$(curl -s --cacert "$CA" -o "$T/l.json" -w '%{http_code}' "$URL1")
check_eq "a spent link is refused" "$code" 401
check "it says so" grep -q 'used already or has expired' "$T/l.json"
code=$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/v1/products")
check_eq "without a certificate or a session" "$code" 401
code=$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/")
check_eq "the console's own page is public" "$code" 200
stop

note "a login link expires, and changes need the CSRF token"
start --workers 1 --max-jobs 1 --web "${top_srcdir:-.}/web" --console-token pacific-insurance,deepsight-ai --login-ttl 2
LATE=$(sed -n 's/^console login for deepsight-ai .*: //p' "$T/serve.out")
NOW=$(sed -n 's/^console login for pacific-insurance .*: //p' "$T/serve.out")
code=$(curl -s --cacert "$CA" -H 'Sec-Fetch-Site: cross-site' -o /dev/null -w '%{http_code}' "$NOW")
check_eq "a login another site's page starts" "$code" 403
code=$(curl -s --cacert "$CA" -c "$T/jar" -D "$T/h" -o /dev/null -w '%{http_code}' "$NOW")
check_eq "a fresh link logs in" "$code" 303
check "the cookie is Secure, HttpOnly and SameSite=Strict" grep -qi '^set-cookie: sluice_session=[0-9a-f]*; Path=/; Max-Age=[0-9]*; Secure; HttpOnly; SameSite=Strict' "$T/h"
sleep 3
code=$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "$LATE")
check_eq "a link past --login-ttl is refused" "$code" 401
CSRF=$(curl -s --cacert "$CA" -b "$T/jar" "https://127.0.0.1:$PORT/v1/session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])')
BODY="{\"contract\": \"$C\", \"sql\": \"SELECT COUNT(*) FROM claims\"}"
code=$(curl -s --cacert "$CA" -b "$T/jar" -o "$T/r.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$BODY" "https://127.0.0.1:$PORT/v1/queries")
check_eq "a session's query without the CSRF token" "$code" 403
check "refused as csrf" grep -q '"csrf"' "$T/r.json"
code=$(curl -s --cacert "$CA" -b "$T/jar" -o /dev/null -w '%{http_code}' -H "X-CSRF-Token: $CSRF" -H 'Sec-Fetch-Site: cross-site' -H 'Content-Type: application/json' -d "$BODY" "https://127.0.0.1:$PORT/v1/queries")
check_eq "a cross-site request, even with the token" "$code" 403
code=$(curl -s --cacert "$CA" -b "$T/jar" -o "$T/r.json" -w '%{http_code}' -H "X-CSRF-Token: $CSRF" -H 'Sec-Fetch-Site: same-origin' -H 'Content-Type: application/json' -d "$BODY" "https://127.0.0.1:$PORT/v1/queries")
check_eq "with the token, from the console's own origin" "$code" 201
code=$(curl -s --cacert "$CA" -b "$T/jar" -o /dev/null -w '%{http_code}' -H 'Sec-Fetch-Site: cross-site' -H 'Sec-Fetch-Mode: no-cors' "https://127.0.0.1:$PORT/v1/ledger")
check_eq "a read another site embeds" "$code" 403
code=$(curl -s --cacert "$CA" -b "$T/jar" -o /dev/null -w '%{http_code}' -H 'Sec-Fetch-Site: cross-site' -H 'Sec-Fetch-Mode: navigate' "https://127.0.0.1:$PORT/v1/ledger")
check_eq "following another site's link" "$code" 200
expect_ok "$SLUICE" -d "$X" audit show --action http.refused --json
json_eq "the refusals are audited" '[e["details"]["reason"] for e in d["events"] if e["details"]["reason"] in ("csrf", "console login")][-4:]' '["console login","csrf","csrf","csrf"]'
stop
pass
